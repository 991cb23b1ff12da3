/**
 * Counters of the reliability suite: each test appends one line per category to a shared JSONL file
 * (`$RELIABILITY_DIR/counters.jsonl`, set by the suite's globalSetup; nothing is written without it) and the
 * globalTeardown prints the summary table (tried / passed / lost / leaked).
 */
import { appendFileSync, mkdirSync } from 'node:fs';
import path from 'node:path';

export interface CounterLine {
	category: string;
	tried: number;
	passed: number;
	lost: number;
	leaked: number;
	note?: string;
}

export function countersFile(): string | null {
	const dir = process.env.RELIABILITY_DIR;
	if (!dir) return null; // run outside test/reliability/jest.config.js: no summary table
	mkdirSync(dir, { recursive: true });
	return path.join(dir, 'counters.jsonl');
}

export function record(line: CounterLine): void {
	const file = countersFile();
	if (file) appendFileSync(file, JSON.stringify(line) + '\n');
}
