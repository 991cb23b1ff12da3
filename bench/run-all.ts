/**
 * Runs every benchmark (each in its own process), prints their tables, saves each section under
 * $BENCH_RESULTS_DIR (default <tmp>/chat-archive-bench-results), and rewrites the block between
 * `<!-- bench:start -->` and `<!-- bench:end -->` at the end of README.md (appended when absent).
 * Benchmarks report; they never fail CI, and a failing benchmark leaves its section saying so.
 *
 *   npx tsx bench/run-all.ts [--only ingest,media-encrypt,sweep,export] [--assemble] [--no-readme]
 *                            [-- extra args are not forwarded; set per-bench args with BENCH_ARGS_<NAME>]
 *
 * `--assemble` runs nothing: it rebuilds the README block from the saved sections (e.g. after running
 * benchmarks one at a time with `BENCH_RESULTS_DIR=… npx tsx bench/run-all.ts --only sweep`).
 * Per-bench arguments: BENCH_ARGS_INGEST="--n 2000", BENCH_ARGS_MEDIA_ENCRYPT="--sizes 100", …
 */
import { spawn } from 'node:child_process';
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';

import { machineLine } from './lib/machine';
import { flag, hasFlag, progress } from './lib/stats';

const ALL = ['media-encrypt', 'ingest', 'sweep', 'export'];
const START = '<!-- bench:start -->';
const END = '<!-- bench:end -->';

async function runBench(name: string, resultsDir: string): Promise<void> {
	const envName = `BENCH_ARGS_${name.toUpperCase().replace(/-/g, '_')}`;
	const args = (process.env[envName] ?? '').split(/\s+/).filter(Boolean);
	progress(`run-all: ${name} ${args.join(' ')}`);
	const child = spawn(process.execPath, ['--import', 'tsx', path.join(__dirname, `${name}.ts`), ...args], {
		stdio: ['ignore', 'pipe', 'inherit'],
		env: process.env,
	});
	let stdout = '';
	child.stdout.on('data', (d: Buffer) => {
		stdout += d.toString('utf8');
		process.stdout.write(d);
	});
	const code = await new Promise<number | null>((resolve) => child.on('close', resolve));
	const section = code === 0 ? stdout.trim() : `### ${name}\n\nDid not complete (exit ${code}); see the console output. ${stdout.trim()}`;
	writeFileSync(path.join(resultsDir, `${name}.md`), `${section}\n<!-- ran ${new Date().toISOString()} -->\n`);
}

/** A section for the README: the tables without the long profile and packet listings (those stay in docs). */
function forReadme(section: string): string {
	let text = section.replace(/<!--.*?-->/g, '').trim();
	const profile = text.search(/^CPU profile/m);
	if (profile >= 0) text = text.slice(0, profile).trim();
	text = text.replace(/^`gpg --list-packets`[\s\S]*?```[\s\S]*?```\n?/m, '').trim();
	return text;
}

function assemble(resultsDir: string): string {
	const sections = ALL.map((name) => path.join(resultsDir, `${name}.md`))
		.filter((file) => existsSync(file))
		.map((file) => forReadme(readFileSync(file, 'utf8')));
	return [
		START,
		`Last assembled ${new Date().toISOString().slice(0, 16)}Z (\`npx tsx bench/run-all.ts\`) on ${machineLine(['node'])}.`,
		'Shared 2-core VM under load: read the ratios, not the absolute figures; profiles and raw output in docs/benchmarks.md.',
		'',
		...sections.map((s) => s.replace(/^### /m, '#### ') + '\n'),
		END,
	].join('\n');
}

function writeReadme(block: string): void {
	const readme = path.join(__dirname, '..', 'README.md');
	const text = readFileSync(readme, 'utf8');
	const start = text.indexOf(START);
	const end = text.indexOf(END);
	const next = start >= 0 && end > start ? text.slice(0, start) + block + text.slice(end + END.length) : `${text.replace(/\s*$/, '')}\n\n${block}\n`;
	writeFileSync(readme, next);
}

async function main(): Promise<void> {
	const resultsDir = process.env.BENCH_RESULTS_DIR ?? path.join(os.tmpdir(), 'chat-archive-bench-results');
	mkdirSync(resultsDir, { recursive: true });
	const only = (flag('only') ?? ALL.join(',')).split(',').filter((name) => ALL.includes(name));
	if (!hasFlag('assemble')) {
		for (const name of only) await runBench(name, resultsDir);
	}
	const block = assemble(resultsDir);
	if (!hasFlag('no-readme')) {
		writeReadme(block);
		progress('run-all: README.md benchmark block rewritten');
	}
	progress(`run-all: sections saved in ${resultsDir}`);
}

main().catch((error) => {
	process.stderr.write(`${(error as Error).stack}\n`);
	process.exitCode = 0; // benchmarks report; they never fail the build
});
