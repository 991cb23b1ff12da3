/**
 * Counters of the reliability suite: each test appends one line per category to a shared JSONL file
 * (`$RELIABILITY_DIR/counters.jsonl`, set by the suite's globalSetup; a temp dir otherwise) and the
 * globalTeardown prints the summary table (tried / passed / lost / leaked).
 */
import { appendFileSync, mkdirSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';

export interface CounterLine {
	category: string;
	tried: number;
	passed: number;
	lost: number;
	leaked: number;
	note?: string;
}

export function countersFile(): string {
	const dir = process.env.RELIABILITY_DIR || path.join(tmpdir(), `chat-archive-reliability-${process.pid}`);
	mkdirSync(dir, { recursive: true });
	return path.join(dir, 'counters.jsonl');
}

export function record(line: CounterLine): void {
	appendFileSync(countersFile(), JSON.stringify(line) + '\n');
}
