/**
 * Small statistics and timing helpers for the benchmarks (no dependency).
 * Every figure in these benchmarks is a ratio against a peer measured in the same run, with the runs
 * interleaved (peer, ours, peer, ours, …) so background load hits both sides alike; medians are reported.
 */
import { performance } from 'node:perf_hooks';

/** Median of `values` (the mean of the two middle values for an even count); NaN when empty. */
export function median(values: number[]): number {
	if (values.length === 0) return Number.NaN;
	const sorted = [...values].sort((a, b) => a - b);
	const middle = sorted.length >> 1;
	return sorted.length % 2 === 1 ? sorted[middle] : (sorted[middle - 1] + sorted[middle]) / 2;
}

/** Nearest-rank percentile (p in 0..100) of a copy of `values`; NaN when empty. */
export function percentile(values: number[], p: number): number {
	if (values.length === 0) return Number.NaN;
	const sorted = [...values].sort((a, b) => a - b);
	const rank = Math.min(sorted.length, Math.max(1, Math.ceil((p / 100) * sorted.length)));
	return sorted[rank - 1];
}

export function now(): number {
	return performance.now();
}

/** Runs `fn` and returns its duration in milliseconds along with its result. */
export async function timed<T>(fn: () => Promise<T>): Promise<{ ms: number; value: T }> {
	const start = performance.now();
	const value = await fn();
	return { ms: performance.now() - start, value };
}

/**
 * Interleaves the contenders: round r runs each contender once, in an order rotated by r (so no
 * contender always runs first, right after a cleanup or a warm cache). Returns every sample per name.
 */
export async function interleave<T>(
	rounds: number,
	contenders: Array<{ name: string; run: (round: number) => Promise<T> }>,
	onSample?: (name: string, round: number, sample: T) => void,
): Promise<Map<string, T[]>> {
	const samples = new Map<string, T[]>(contenders.map((c) => [c.name, []]));
	for (let round = 0; round < rounds; round++) {
		for (let i = 0; i < contenders.length; i++) {
			const contender = contenders[(i + round) % contenders.length];
			const sample = await contender.run(round);
			samples.get(contender.name)!.push(sample);
			onSample?.(contender.name, round, sample);
		}
	}
	return samples;
}

/** Runs `worker` over `items` with at most `limit` in flight. */
export async function mapLimit<T, R>(items: readonly T[], limit: number, worker: (item: T, index: number) => Promise<R>): Promise<R[]> {
	const results = new Array<R>(items.length);
	let next = 0;
	await Promise.all(
		Array.from({ length: Math.max(1, Math.min(limit, items.length)) }, async () => {
			while (next < items.length) {
				const index = next++;
				results[index] = await worker(items[index], index);
			}
		}),
	);
	return results;
}

export const MiB = 1024 * 1024;

export function fmt(value: number, digits = 1): string {
	if (!Number.isFinite(value)) return '–';
	return value.toFixed(digits);
}

export function ratio(ours: number, peer: number, digits = 2): string {
	if (!Number.isFinite(ours) || !Number.isFinite(peer) || peer === 0) return '–';
	return `${(ours / peer).toFixed(digits)}×`;
}

/** Reads a `--name value` or `--name=value` flag. */
export function flag(name: string, fallback?: string): string | undefined {
	const args = process.argv.slice(2);
	for (let i = 0; i < args.length; i++) {
		if (args[i] === `--${name}`) return args[i + 1];
		if (args[i].startsWith(`--${name}=`)) return args[i].slice(name.length + 3);
	}
	return fallback;
}

export function hasFlag(name: string): boolean {
	return process.argv.slice(2).includes(`--${name}`);
}

export function numberFlag(name: string, fallback: number): number {
	const value = flag(name);
	if (value === undefined) return fallback;
	const parsed = Number(value);
	if (!Number.isFinite(parsed)) throw new Error(`--${name} must be a number (got "${value}")`);
	return parsed;
}

/** Prints a progress line to stderr (stdout carries the tables). */
export function progress(message: string): void {
	process.stderr.write(`[${new Date().toISOString().slice(11, 19)}] ${message}\n`);
}
