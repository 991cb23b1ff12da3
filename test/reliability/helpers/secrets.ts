/**
 * "No secrets in output": captures what failure tests print (console, process stdout/stderr) and the
 * errors they see, and scans it all for secret values.
 */
import { inspect } from 'node:util';

/** Deep text of an error (message, stack, description, cause chain, every own property, inspected). */
export function errorText(error: unknown): string {
	const seen = new Set<unknown>();
	const parts: string[] = [];
	const walk = (value: unknown, depth: number) => {
		if (value === null || value === undefined || depth > 6 || seen.has(value)) return;
		if (typeof value !== 'object' && typeof value !== 'function') {
			parts.push(String(value));
			return;
		}
		seen.add(value);
		for (const name of Object.getOwnPropertyNames(value)) {
			try {
				walk((value as Record<string, unknown>)[name], depth + 1);
			} catch {
				/* getters may throw */
			}
		}
	};
	walk(error, 0);
	try {
		parts.push(inspect(error, { depth: 8, showHidden: true }));
	} catch {
		/* ignore */
	}
	try {
		parts.push(JSON.stringify(error));
	} catch {
		/* cycles */
	}
	return parts.join('\n');
}

/** Collects console output and stdout/stderr writes while installed. */
export class OutputCapture {
	readonly chunks: string[] = [];
	private restore: Array<() => void> = [];

	install(): this {
		for (const method of ['log', 'info', 'warn', 'error', 'debug'] as const) {
			const original = console[method];
			console[method] = (...args: unknown[]) => {
				this.chunks.push(args.map((a) => (typeof a === 'string' ? a : inspect(a, { depth: 6 }))).join(' '));
			};
			this.restore.push(() => (console[method] = original));
		}
		for (const stream of [process.stdout, process.stderr]) {
			const original = stream.write.bind(stream);
			stream.write = ((chunk: unknown, ...rest: unknown[]) => {
				this.chunks.push(typeof chunk === 'string' ? chunk : Buffer.from(chunk as Uint8Array).toString('utf8'));
				// swallowed (the suite's own summary is printed by globalTeardown); VERBOSE=1 shows it
				if (process.env.VERBOSE === '1') return (original as (...a: unknown[]) => boolean)(chunk, ...rest);
				return true;
			}) as typeof stream.write;
			this.restore.push(() => (stream.write = original as typeof stream.write));
		}
		return this;
	}

	add(text: string): void {
		this.chunks.push(text);
	}

	uninstall(): void {
		for (const undo of this.restore.reverse()) undo();
		this.restore = [];
	}
}

/** Lines naming each secret found in the texts (the secret itself is never echoed). */
export function findSecrets(texts: string[], secrets: Record<string, string>): string[] {
	const hits: string[] = [];
	for (const [name, value] of Object.entries(secrets)) {
		if (!value || value.length < 6) continue;
		const probes = [value];
		// armored key blocks: also look for any one base64 line of the block body
		if (value.includes('-----BEGIN')) {
			probes.push(...value.split('\n').filter((l) => l.length >= 40 && !l.startsWith('-----')).slice(0, 20));
		}
		texts.forEach((text, index) => {
			if (probes.some((p) => text.includes(p))) hits.push(`${name} found in output #${index}`);
		});
	}
	return hits;
}
