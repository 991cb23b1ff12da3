/** Reads a V8 `.cpuprofile` (node --cpu-prof) and sums self time per function and per area. */
import { readFileSync } from 'node:fs';
import path from 'node:path';

interface ProfileNode {
	id: number;
	callFrame: { functionName: string; url: string; lineNumber: number };
	children?: number[];
}
interface Profile {
	nodes: ProfileNode[];
	samples: number[];
	timeDeltas: number[];
}

export interface ProfileSummary {
	totalMs: number;
	functions: Array<{ name: string; where: string; ms: number; share: number }>;
	areas: Array<{ area: string; ms: number; share: number }>;
}

/** Which part of the stack a frame belongs to. */
function areaOf(url: string, name: string): string {
	if (name === '(garbage collector)') return 'GC';
	if (name === '(idle)') return 'idle (waiting for I/O)';
	if (name === '(program)') return 'native / runtime (program)';
	if (url.includes('openpgp')) return 'OpenPGP.js (JS)';
	if (url.includes('/tsx/') || /register-[\w-]+\.c?js/.test(url)) return 'tsx loader';
	if (url.includes('webstreams')) return 'Node web streams';
	if (url.includes('node:internal/streams') || url.includes('node:stream')) return 'Node streams';
	if (url.includes('node:internal/crypto') || url.includes('node:crypto')) return 'Node crypto (calls into OpenSSL)';
	if (url.includes('node:internal/fs') || url.includes('node:fs')) return 'Node fs';
	if (url.startsWith('node:')) return 'Node internals (other)';
	if (url.includes('/bench/')) return 'bench code';
	if (url.includes('/lib/')) return 'lib/ engine code';
	if (url === '') return `native: ${name || '(anonymous)'}`;
	return 'other JS';
}

export function summarizeProfile(file: string, top = 12): ProfileSummary {
	const profile = JSON.parse(readFileSync(file, 'utf8')) as Profile;
	const byId = new Map(profile.nodes.map((n) => [n.id, n]));
	const selfUs = new Map<number, number>();
	for (let i = 0; i < profile.samples.length; i++) {
		const id = profile.samples[i];
		selfUs.set(id, (selfUs.get(id) ?? 0) + (profile.timeDeltas[i] ?? 0));
	}
	let total = 0;
	const fn = new Map<string, { name: string; where: string; us: number }>();
	const areas = new Map<string, number>();
	for (const [id, us] of selfUs) {
		const node = byId.get(id)!;
		const { functionName, url, lineNumber } = node.callFrame;
		// The profiler's own start/stop calls (inspector session in the same thread) are not the workload.
		if (url === 'node:inspector' || url.startsWith('node:internal/inspector')) continue;
		total += us;
		const where = url ? `${path.basename(url)}:${lineNumber + 1}` : '';
		const key = `${functionName}@${where}`;
		const entry = fn.get(key) ?? { name: functionName || '(anonymous)', where, us: 0 };
		entry.us += us;
		fn.set(key, entry);
		const area = areaOf(url, functionName);
		areas.set(area, (areas.get(area) ?? 0) + us);
	}
	const share = (us: number) => (total ? us / total : 0);
	return {
		totalMs: total / 1000,
		functions: [...fn.values()]
			.sort((a, b) => b.us - a.us)
			.slice(0, top)
			.map((f) => ({ name: f.name, where: f.where, ms: f.us / 1000, share: share(f.us) })),
		areas: [...areas.entries()].sort((a, b) => b[1] - a[1]).map(([area, us]) => ({ area, ms: us / 1000, share: share(us) })),
	};
}
