/**
 * What gets published: package.json's metadata (as n8n and npm read it), the file list of `npm pack`
 * (what a user installs: nothing more, nothing missing) and the publish workflow (tag → npm with
 * provenance, https://docs.n8n.io/integrations/creating-nodes/deploy/submit-community-nodes/).
 *
 * The pack checks read dist/, so they need a build first (`npx n8n-node build`; scripts/test.sh and the
 * publish workflow build before jest).
 */
import { execFileSync } from 'node:child_process';
import { existsSync, readdirSync, readFileSync, statSync } from 'node:fs';
import { builtinModules } from 'node:module';
import path from 'node:path';

const ROOT = path.join(__dirname, '..');
const pkg = JSON.parse(readFileSync(path.join(ROOT, 'package.json'), 'utf8')) as {
	name: string;
	version: string;
	license?: string;
	main?: string;
	homepage?: string;
	keywords?: string[];
	repository?: { type?: string; url?: string } | string;
	engines?: { node?: string };
	scripts?: Record<string, string>;
	dependencies?: Record<string, string>;
	peerDependencies?: Record<string, string>;
	n8n: { nodes: string[]; credentials: string[] };
};

// semver and js-yaml come with the dev tooling (ts-jest, eslint); typed here by what the test uses
const semver = require('semver') as { satisfies(version: string, range: string): boolean; validRange(range: string): string | null };
const yaml = require('js-yaml') as { load(text: string): unknown };

const rel = (...parts: string[]) => path.join(ROOT, ...parts);
/** `dist/nodes/X/X.node.js` → `nodes/X/X.node.ts` */
const sourceOf = (distPath: string) => distPath.replace(/^dist\//, '').replace(/\.js$/, '.ts');

describe('package.json', () => {
	it('is named and tagged as an n8n community package', () => {
		expect(pkg.name).toMatch(/^n8n-nodes-/);
		expect(pkg.keywords).toContain('n8n-community-node-package');
	});

	it('names its repository (git, https) and homepage', () => {
		expect(typeof pkg.repository).toBe('object');
		const repo = pkg.repository as { type?: string; url?: string };
		expect(repo.type).toBe('git');
		expect(repo.url).toMatch(/^https:\/\/\S+$/);
		expect(pkg.homepage).toMatch(/^https:\/\/\S+$/);
	});

	it('is MIT-licensed, and LICENSE holds the MIT text', () => {
		expect(pkg.license).toBe('MIT');
		const text = readFileSync(rel('LICENSE'), 'utf8');
		expect(text).toMatch(/^MIT License\b/);
		expect(text).toContain('Permission is hereby granted, free of charge, to any person obtaining a copy');
		expect(text).toContain('THE SOFTWARE IS PROVIDED "AS IS", WITHOUT WARRANTY OF ANY KIND');
	});

	it('accepts Node 20.19 (n8n 1.x) and Node 24 (n8n 2.x)', () => {
		const range = pkg.engines?.node ?? '';
		expect(semver.validRange(range)).not.toBeNull();
		for (const version of ['20.19.0', '24.0.0', '24.11.1']) expect([version, semver.satisfies(version, range)]).toEqual([version, true]);
	});

	it('has no `main` pointing at a missing file (n8n loads the pack through its `n8n` section)', () => {
		if (pkg.main !== undefined) expect(existsSync(rel(pkg.main))).toBe(true);
	});

	it('maps every n8n.nodes and n8n.credentials entry to a source file', () => {
		for (const entry of pkg.n8n.nodes) {
			expect(entry).toMatch(/^dist\/nodes\/([^/]+)\/\1\.node\.js$/);
			expect([entry, existsSync(rel(sourceOf(entry)))]).toEqual([entry, true]);
		}
		for (const entry of pkg.n8n.credentials) {
			expect(entry).toMatch(/^dist\/credentials\/[^/]+\.credentials\.js$/);
			expect([entry, existsSync(rel(sourceOf(entry)))]).toEqual([entry, true]);
		}
	});

	it('lists every node folder and every credential file of the source', () => {
		const nodeFolders = readdirSync(rel('nodes')).filter((name) => existsSync(rel('nodes', name, `${name}.node.ts`)));
		expect(nodeFolders.length).toBeGreaterThan(0);
		expect([...pkg.n8n.nodes].sort()).toEqual(nodeFolders.map((name) => `dist/nodes/${name}/${name}.node.js`).sort());
		// a folder of nodes/ without a <Name>.node.ts must be shared code, not a node n8n would miss
		expect(readdirSync(rel('nodes')).filter((name) => statSync(rel('nodes', name)).isDirectory() && !nodeFolders.includes(name))).toEqual(['shared']);
		const credentialFiles = readdirSync(rel('credentials')).filter((name) => name.endsWith('.credentials.ts'));
		expect(credentialFiles.length).toBeGreaterThan(0);
		expect([...pkg.n8n.credentials].sort()).toEqual(credentialFiles.map((name) => `dist/credentials/${name.replace(/\.ts$/, '.js')}`).sort());
	});

	it('refuses a local `npm publish` (prepublishOnly) and releases through n8n-node release', () => {
		expect(pkg.scripts?.prepublishOnly).toBe('n8n-node prerelease');
		expect(pkg.scripts?.release).toBe('n8n-node release');
	});
});

interface PackFile {
	path: string;
	size: number;
}

describe('npm pack', () => {
	let files: PackFile[] = [];
	let paths = new Set<string>();
	let tarballSize = 0;
	let unpackedSize = 0;

	beforeAll(() => {
		if (!existsSync(rel('dist', 'nodes'))) {
			throw new Error('dist/ is missing: run `npx n8n-node build` first (scripts/test.sh builds before jest)');
		}
		const out = execFileSync('npm', ['pack', '--dry-run', '--json', '--ignore-scripts'], {
			cwd: ROOT,
			encoding: 'utf8',
			stdio: ['ignore', 'pipe', 'pipe'],
			maxBuffer: 64 * 1024 * 1024,
		});
		const [result] = JSON.parse(out) as Array<{ files: PackFile[]; size: number; unpackedSize: number }>;
		files = result.files;
		paths = new Set(files.map((file) => file.path));
		tarballSize = result.size;
		unpackedSize = result.unpackedSize;
	}, 120000);

	const missing = (wanted: string[]) => wanted.filter((file) => !paths.has(file));

	it('holds package.json, README.md, LICENSE, every n8n.nodes / n8n.credentials entry and every template', () => {
		const templates = readdirSync(rel('workflows'))
			.filter((name) => name.endsWith('.json'))
			.map((name) => `workflows/${name}`);
		expect(templates.length).toBeGreaterThan(0);
		expect(missing(['package.json', 'README.md', 'LICENSE', ...pkg.n8n.nodes, ...pkg.n8n.credentials, ...templates])).toEqual([]);
	});

	it("holds each node's codex and the icon files each node and credential names", () => {
		const wanted: string[] = [];
		for (const entry of [...pkg.n8n.nodes, ...pkg.n8n.credentials]) {
			const source = readFileSync(rel(sourceOf(entry)), 'utf8');
			const icons = [...source.matchAll(/['"]file:([^'"]+)['"]/g)].map((match) => match[1]);
			expect([entry, icons.length > 0]).toEqual([entry, true]);
			for (const icon of icons) wanted.push(path.posix.join(path.posix.dirname(entry), icon));
			if (entry.startsWith('dist/nodes/')) wanted.push(entry.replace(/\.js$/, '.json'));
		}
		expect(missing(wanted)).toEqual([]);
	});

	it('holds every file the compiled code requires; anything else it requires is a dependency or built in', () => {
		const runtime = new Set([...Object.keys(pkg.dependencies ?? {}), ...Object.keys(pkg.peerDependencies ?? {})]);
		const problems: string[] = [];
		for (const file of files.filter((f) => f.path.endsWith('.js'))) {
			const code = readFileSync(rel(file.path), 'utf8');
			for (const [, spec] of code.matchAll(/\brequire\(\s*["']([^"']+)["']\s*\)/g)) {
				if (spec.startsWith('.')) {
					const base = path.posix.join(path.posix.dirname(file.path), spec);
					const found = [base, `${base}.js`, `${base}.json`, `${base}/index.js`].some((candidate) => paths.has(candidate));
					if (!found) problems.push(`${file.path}: ${spec} is not in the pack`);
				} else if (spec.startsWith('node:') || builtinModules.includes(spec)) {
					continue;
				} else {
					const name = spec.startsWith('@') ? spec.split('/').slice(0, 2).join('/') : spec.split('/')[0];
					if (!runtime.has(name)) problems.push(`${file.path}: ${spec} is not a dependency or peer dependency`);
				}
			}
		}
		expect(problems).toEqual([]);
	});

	it('holds nothing outside the allow-list (no docs, tests, benchmarks, scripts, sources, maps, types, build info)', () => {
		const allowed = [
			/^(package\.json|README\.md|LICENSE)$/,
			/^dist\/(nodes|credentials|lib)\/.+\.js$/,
			/^dist\/nodes\/([^/]+)\/\1\.node\.json$/, // codex
			/^dist\/(nodes|credentials)\/.+\.(svg|png)$/, // icons
			/^workflows\/[^/]+\.json$/, // templates
		];
		expect(files.map((file) => file.path).filter((file) => !allowed.some((pattern) => pattern.test(file)))).toEqual([]);
	});

	it('ships the licence of any third-party file it ships', () => {
		// a folder of the source holding a LICENSE holds third-party material (lib/archive/rsmf/schema/:
		// Relativity's RSMF schema, BSD-3-Clause, read by the tests only): if any file of it ships, its
		// LICENSE ships beside it
		const problems: string[] = [];
		for (const file of paths) {
			if (file === 'LICENSE') continue;
			const source = file.replace(/^dist\//, '');
			for (let dir = path.posix.dirname(source); dir !== '.'; dir = path.posix.dirname(dir)) {
				const licence = readdirSync(rel(dir)).find((name) => /^(LICEN[CS]E|COPYING)(\.|$)/i.test(name));
				if (!licence) continue;
				const shipped = path.posix.join(path.posix.dirname(file), path.posix.relative(path.posix.dirname(source), dir), licence);
				if (!paths.has(shipped)) problems.push(`${file} ships without ${shipped}`);
			}
		}
		expect(problems).toEqual([]);
	});

	it('stays small (today about 350 kB packed, 1.3 MB unpacked, under 200 files)', () => {
		expect(tarballSize).toBeLessThan(600_000);
		expect(unpackedSize).toBeLessThan(2_000_000);
		expect(files.length).toBeLessThan(300);
	});
});

describe('.github/workflows/publish.yml', () => {
	type Step = { name?: string; run?: string; uses?: string; with?: Record<string, unknown>; env?: Record<string, unknown> };
	const workflow = yaml.load(readFileSync(rel('.github', 'workflows', 'publish.yml'), 'utf8')) as {
		on: { push?: { tags?: string[]; branches?: string[] } };
		jobs: Record<string, { permissions?: Record<string, string>; steps: Step[] }>;
	};
	const jobs = Object.values(workflow.jobs);
	const publishing = jobs.filter((job) => job.steps.some((step) => /\bnpm (run release|publish)\b/.test(step.run ?? '')));

	it('runs on version tag pushes only', () => {
		expect(workflow.on.push?.tags?.length).toBeGreaterThan(0);
		expect(workflow.on.push?.branches).toBeUndefined();
		expect(Object.keys(workflow.on)).toEqual(['push']);
	});

	it('publishes from one job holding id-token: write and contents: read', () => {
		expect(publishing).toHaveLength(1);
		expect(publishing[0].permissions).toEqual({ 'id-token': 'write', contents: 'read' });
	});

	it('publishes with provenance to registry.npmjs.org on Node 24', () => {
		const steps = publishing[0].steps;
		const setup = steps.find((step) => step.uses?.startsWith('actions/setup-node@'));
		expect(String(setup?.with?.['node-version'])).toBe('24');
		expect(setup?.with?.['registry-url']).toBe('https://registry.npmjs.org/');
		const publish = steps.find((step) => /\bnpm (run release|publish)\b/.test(step.run ?? ''))!;
		// `n8n-node release` publishes with NPM_CONFIG_PROVENANCE=true in GitHub Actions; the step says so too
		const provenance = /--provenance\b/.test(publish.run ?? '') || String(publish.env?.NPM_CONFIG_PROVENANCE) === 'true';
		expect(provenance).toBe(true);
		if (/\bnpm run release\b/.test(publish.run ?? '')) expect(pkg.scripts?.release).toBe('n8n-node release');
	});

	it('installs without install scripts and checks types, the package and lint before publishing', () => {
		const runs = publishing[0].steps.map((step) => step.run ?? '');
		const at = (pattern: RegExp) => runs.findIndex((run) => pattern.test(run));
		const publishAt = at(/\bnpm (run release|publish)\b/);
		expect(at(/\bnpm ci --ignore-scripts\b/)).toBeGreaterThanOrEqual(0);
		for (const check of [/\bnpm run typecheck\b|\btsc --noEmit\b/, /\bjest\b.*test\/package\.test\.ts/, /\bnpm run lint\b|\bn8n-node lint\b/]) {
			const index = at(check);
			expect([String(check), index >= 0 && index < publishAt]).toEqual([String(check), true]);
		}
	});
});
