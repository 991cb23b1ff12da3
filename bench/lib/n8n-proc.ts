/**
 * What an n8n process costs, seen from outside: CPU time of its whole process group (main process,
 * every thread, the task runner and any other child), and a CPU profile of its main thread through
 * the V8 inspector (Chrome DevTools Protocol over WebSocket), filtered to the frames of one package.
 */
import { readdirSync, readFileSync } from 'node:fs';

/** Clock ticks per second of /proc/<pid>/stat times (USER_HZ; 100 on Linux for x86 and arm). */
const TICKS_PER_SECOND = 100;

/**
 * CPU time (user + system, ms) of every live process whose process group is `pgid`, including what
 * their waited-for children used (cutime, cstime). Per-process times in /proc/<pid>/stat are the sum
 * over all threads (proc(5): fields 14–17).
 */
export function groupCpuMs(pgid: number): number {
	let ticks = 0;
	for (const entry of readdirSync('/proc')) {
		if (!/^\d+$/.test(entry)) continue;
		let stat: string;
		try {
			stat = readFileSync(`/proc/${entry}/stat`, 'utf8');
		} catch {
			continue; // exited meanwhile
		}
		// the command name (field 2) may contain spaces and parentheses: split after the last ')'
		const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
		// fields[0] is field 3 (state); pgrp is field 5, utime..cstime are fields 14..17
		if (Number(fields[2]) !== pgid) continue;
		ticks += Number(fields[11]) + Number(fields[12]) + Number(fields[13]) + Number(fields[14]);
	}
	return (ticks * 1000) / TICKS_PER_SECOND;
}

interface ProfileNode {
	id: number;
	callFrame: { functionName: string; url: string };
	children?: number[];
}
export interface CpuProfile {
	nodes: ProfileNode[];
	samples: number[];
	timeDeltas: number[];
}

/**
 * Main-thread time of a profile: `busyMs` (samples that are not idle) and, per marker, the time of
 * samples with at least one frame whose url contains the marker anywhere on the stack (self time
 * plus callees, each sample counted once).
 */
export function profileTime(profile: CpuProfile, markers: string[]): { busyMs: number; byMarker: Record<string, number> } {
	const parent = new Map<number, number>();
	for (const node of profile.nodes) for (const child of node.children ?? []) parent.set(child, node.id);
	const byId = new Map(profile.nodes.map((n) => [n.id, n]));
	const memo = new Map<number, boolean[]>();
	const hits = (id: number): boolean[] => {
		const known = memo.get(id);
		if (known) return known;
		const node = byId.get(id)!;
		const up = parent.has(id) ? hits(parent.get(id)!) : markers.map(() => false);
		const mine = markers.map((marker, i) => up[i] || node.callFrame.url.includes(marker));
		memo.set(id, mine);
		return mine;
	};
	let busyUs = 0;
	const us = markers.map(() => 0);
	for (let i = 0; i < profile.samples.length; i++) {
		const node = byId.get(profile.samples[i]);
		const delta = profile.timeDeltas[i] ?? 0;
		if (!node || node.callFrame.functionName === '(idle)') continue;
		busyUs += delta;
		hits(node.id).forEach((hit, m) => {
			if (hit) us[m] += delta;
		});
	}
	return { busyMs: busyUs / 1000, byMarker: Object.fromEntries(markers.map((m, i) => [m, us[i] / 1000])) };
}

/**
 * A CDP session with a Node process's inspector (`--inspect-port`, opened by SIGUSR1): starts and
 * stops the sampling profiler of its main thread.
 */
export class InspectorProfiler {
	private socket?: WebSocket;
	private nextId = 1;
	private pending = new Map<number, { resolve: (v: any) => void; reject: (e: Error) => void }>();

	constructor(
		private readonly pid: number,
		private readonly port: number,
	) {}

	/** Opens the inspector of `pid` (SIGUSR1, Node's documented way) and connects to it. */
	async connect(timeoutMs = 15_000): Promise<void> {
		process.kill(this.pid, 'SIGUSR1');
		const t0 = Date.now();
		let targets: Array<{ webSocketDebuggerUrl: string }> | undefined;
		while (!targets?.length) {
			try {
				targets = (await (await fetch(`http://127.0.0.1:${this.port}/json/list`)).json()) as typeof targets;
			} catch {
				if (Date.now() - t0 > timeoutMs) throw new Error(`the inspector of pid ${this.pid} did not open on port ${this.port}`);
				await new Promise((r) => setTimeout(r, 200));
			}
		}
		const socket = new WebSocket(targets[0].webSocketDebuggerUrl);
		await new Promise<void>((resolve, reject) => {
			socket.onopen = () => resolve();
			socket.onerror = () => reject(new Error('inspector WebSocket failed'));
		});
		socket.onmessage = (event) => {
			const message = JSON.parse(String(event.data));
			const waiter = message.id === undefined ? undefined : this.pending.get(message.id);
			if (!waiter) return;
			this.pending.delete(message.id);
			if (message.error) waiter.reject(new Error(`inspector: ${message.error.message}`));
			else waiter.resolve(message.result);
		};
		this.socket = socket;
		await this.send('Profiler.enable');
	}

	private send(method: string, params: Record<string, unknown> = {}): Promise<any> {
		const id = this.nextId++;
		return new Promise((resolve, reject) => {
			this.pending.set(id, { resolve, reject });
			this.socket!.send(JSON.stringify({ id, method, params }));
		});
	}

	async start(intervalUs = 500): Promise<void> {
		await this.send('Profiler.setSamplingInterval', { interval: intervalUs });
		await this.send('Profiler.start');
	}

	async stop(): Promise<CpuProfile> {
		return (await this.send('Profiler.stop')).profile as CpuProfile;
	}

	close(): void {
		this.socket?.close();
	}
}
