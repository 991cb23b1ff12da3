/**
 * Where a run's wall time goes, per S3 command: each HTTP request's start and end are recorded by a
 * client middleware; the report gives, per command, the number of requests, the summed request time,
 * and the wall time covered by at least one request of that command (the union of their intervals,
 * so parallel requests are not counted twice). What is left of the run's wall time is the engine's
 * own work between requests (planning, report building, signing).
 */
import type { S3Client } from '@aws-sdk/client-s3';

import { fmt, now } from './stats';

interface Interval {
	start: number;
	end: number;
}

export class PhaseClock {
	private readonly intervals = new Map<string, Interval[]>();
	private enabled = false;

	/** Adds the timing middleware to `client` (once). */
	attach(client: S3Client): this {
		client.middlewareStack.add(
			(next, context) => async (args) => {
				if (!this.enabled) return await next(args);
				const start = now();
				try {
					return await next(args);
				} finally {
					const name = (context.commandName ?? 'unknown').replace(/Command$/, '');
					const list = this.intervals.get(name) ?? [];
					list.push({ start, end: now() });
					this.intervals.set(name, list);
				}
			},
			{ step: 'finalizeRequest', name: 'benchPhaseClock', override: true },
		);
		return this;
	}

	start(): void {
		this.intervals.clear();
		this.enabled = true;
	}

	stop(): void {
		this.enabled = false;
	}

	/** Wall milliseconds covered by at least one of `list`. */
	private static covered(list: Interval[]): number {
		const sorted = [...list].sort((a, b) => a.start - b.start);
		let total = 0;
		let current: Interval | null = null;
		for (const interval of sorted) {
			if (!current || interval.start > current.end) {
				if (current) total += current.end - current.start;
				current = { ...interval };
			} else if (interval.end > current.end) {
				current.end = interval.end;
			}
		}
		if (current) total += current.end - current.start;
		return total;
	}

	/** e.g. "DeleteObjects 100 req, 95.1 s wall (89 %), 380.2 s summed; …; between requests 2.0 s". */
	describe(wallMs: number): string {
		const rows = [...this.intervals.entries()]
			.map(([name, list]) => ({ name, count: list.length, wall: PhaseClock.covered(list), summed: list.reduce((s, i) => s + i.end - i.start, 0) }))
			.sort((a, b) => b.wall - a.wall);
		const anyRequest = PhaseClock.covered([...this.intervals.values()].flat());
		const parts = rows.map(
			(r) => `${r.name} ${r.count} req: ${fmt(r.wall / 1000, 1)} s wall (${fmt((100 * r.wall) / wallMs, 0)} %), ${fmt(r.summed / 1000, 1)} s summed`,
		);
		parts.push(`no request in flight ${fmt((wallMs - anyRequest) / 1000, 1)} s (${fmt((100 * (wallMs - anyRequest)) / wallMs, 0)} %)`);
		return parts.join('; ');
	}
}
