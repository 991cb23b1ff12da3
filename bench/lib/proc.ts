/**
 * Child processes with wall time, peak RSS, CPU time and minor page faults, from GNU time
 * (`/usr/bin/time -f '%M %U %S %R'`: getrusage of the waited-for child), so gpg and Node children
 * are measured the same way.
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
	/** User + system CPU time in ms, from GNU time (10 ms resolution); NaN without it. */
	cpuMs: number;
	/** Minor page faults (first touches of memory), from GNU time; NaN without it. */
	minorFaults: number;
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
	const argv = haveTime ? ['-f', '%M %U %S %R', '-o', timeFile, cmd, ...args] : args;
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
	let [peakRssMB, cpuMs, minorFaults] = [Number.NaN, Number.NaN, Number.NaN];
	if (haveTime && existsSync(timeFile)) {
		const [kib, user, system, faults] = readFileSync(timeFile, 'utf8').trim().split('\n').pop()!.split(' ').map(Number);
		if (Number.isFinite(kib)) peakRssMB = (kib * 1024) / 1e6;
		cpuMs = (user + system) * 1000;
		minorFaults = faults;
	}
	rmSync(dir, { recursive: true, force: true });
	return { code, wallMs, peakRssMB, cpuMs, minorFaults, stdout, stderr };
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

export const REPO_DIR = path.join(__dirname, '..', '..');

const bundles = new Map<string, string>();

/**
 * Compiles a bench TypeScript entry into one CommonJS file (esbuild, packages left external and
 * resolved through NODE_PATH=<repo>/node_modules), so measured children run on plain `node` like an
 * n8n process does, without the tsx loader in their memory (≈ 30 MB) or start-up. Cached per process;
 * the temp folder is removed at exit. Returns null when esbuild is unavailable.
 */
export function compileChild(entry: string): string | null {
	const cached = bundles.get(entry);
	if (cached) return cached;
	try {
		// eslint-disable-next-line @typescript-eslint/no-require-imports
		const esbuild = require('esbuild') as typeof import('esbuild');
		const dir = mkdtempSync(path.join(os.tmpdir(), 'chat-archive-bench-child-'));
		process.on('exit', () => rmSync(dir, { recursive: true, force: true }));
		const outfile = path.join(dir, `${path.basename(entry, '.ts')}.cjs`);
		esbuild.buildSync({ entryPoints: [entry], bundle: true, platform: 'node', format: 'cjs', target: 'node20', packages: 'external', outfile, logLevel: 'error' });
		bundles.set(entry, outfile);
		return outfile;
	} catch {
		return null;
	}
}

/**
 * Command and arguments that run a bench TypeScript file in a fresh Node process: the esbuild bundle
 * on plain node when possible (see {@link compileChild}), else through the tsx loader. Pass
 * {@link childEnv} as its environment.
 */
export function tsNodeArgs(file: string, args: string[], nodeFlags: string[] = []): [string, string[]] {
	const bundle = compileChild(file);
	if (bundle) return [process.execPath, [...nodeFlags, bundle, ...args]];
	return [process.execPath, [...nodeFlags, '--import', 'tsx', file, ...args]];
}

/** Environment for {@link tsNodeArgs} children: NODE_PATH to the repo's node_modules, BENCH_REPO_DIR. */
export function childEnv(env: NodeJS.ProcessEnv = process.env): NodeJS.ProcessEnv {
	const modules = path.join(REPO_DIR, 'node_modules');
	return { ...env, NODE_PATH: env.NODE_PATH ? `${modules}${path.delimiter}${env.NODE_PATH}` : modules, BENCH_REPO_DIR: REPO_DIR };
}
