/**
 * Child processes with wall time and peak RSS. Peak RSS comes from GNU time (`/usr/bin/time -f %M`,
 * getrusage of the waited-for child, in KiB), so gpg and Node children are measured the same way.
 * Children are started by us and waited for; `killChildren()` ends any still running (by pid).
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { performance } from 'node:perf_hooks';

export interface ChildResult {
	code: number | null;
	wallMs: number;
	/** Peak RSS in MB (10^6 bytes), from GNU time; NaN when /usr/bin/time is missing. */
	peakRssMB: number;
	stdout: string;
	stderr: string;
}

const running = new Set<ChildProcess>();

export function killChildren(): void {
	for (const child of running) {
		if (child.pid && child.exitCode === null) {
			try {
				process.kill(child.pid, 'SIGTERM');
			} catch {
				/* already gone */
			}
		}
	}
}
process.on('exit', killChildren);

const TIME = '/usr/bin/time';

/**
 * Runs `cmd args` (stdin/stdout from files when given, else ignored/captured), under GNU time.
 * `stdoutFile: '/dev/null'` discards the output without a pipe.
 */
export async function runMeasured(
	cmd: string,
	args: string[],
	options: { env?: NodeJS.ProcessEnv; stdinFile?: string; stdoutFile?: string; timeoutMs?: number } = {},
): Promise<ChildResult> {
	const dir = mkdtempSync(path.join(os.tmpdir(), 'chat-archive-bench-time-'));
	const timeFile = path.join(dir, 'time');
	const haveTime = existsSync(TIME);
	const argv = haveTime ? ['-f', '%M', '-o', timeFile, cmd, ...args] : args;
	const { openSync, closeSync } = await import('node:fs');
	const stdinFd = options.stdinFile ? openSync(options.stdinFile, 'r') : 'ignore';
	const stdoutFd = options.stdoutFile ? openSync(options.stdoutFile, 'w') : 'pipe';
	const start = performance.now();
	const child = spawn(haveTime ? TIME : cmd, argv, { env: options.env ?? process.env, stdio: [stdinFd, stdoutFd, 'pipe'] });
	running.add(child);
	let stdout = '';
	let stderr = '';
	child.stdout?.on('data', (d: Buffer) => (stdout += d.toString('utf8')));
	child.stderr?.on('data', (d: Buffer) => (stderr += d.toString('utf8')));
	const timer = options.timeoutMs ? setTimeout(() => child.kill('SIGTERM'), options.timeoutMs) : undefined;
	const code = await new Promise<number | null>((resolve) => child.on('close', (c) => resolve(c)));
	const wallMs = performance.now() - start;
	if (timer) clearTimeout(timer);
	running.delete(child);
	if (typeof stdinFd === 'number') closeSync(stdinFd);
	if (typeof stdoutFd === 'number') closeSync(stdoutFd);
	let peakRssMB = Number.NaN;
	if (haveTime && existsSync(timeFile)) {
		const kib = Number(readFileSync(timeFile, 'utf8').trim().split('\n').pop());
		if (Number.isFinite(kib)) peakRssMB = (kib * 1024) / 1e6;
	}
	rmSync(dir, { recursive: true, force: true });
	return { code, wallMs, peakRssMB, stdout, stderr };
}

/** Peak RSS of this process so far (VmHWM), in MB. */
export function selfPeakRssMB(): number {
	try {
		const kib = Number(/VmHWM:\s+(\d+) kB/.exec(readFileSync('/proc/self/status', 'utf8'))?.[1]);
		return (kib * 1024) / 1e6;
	} catch {
		return Number.NaN;
	}
}

/** Arguments that run a bench TypeScript file in a fresh Node process (tsx loader). */
export function tsNodeArgs(file: string, args: string[], nodeFlags: string[] = []): [string, string[]] {
	return [process.execPath, [...nodeFlags, '--import', 'tsx', file, ...args]];
}
