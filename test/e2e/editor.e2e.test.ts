/**
 * `bash scripts/demo.sh --n8n` in n8n's editor, in headless Debian Chromium (playwright-core). The demo is
 * started as a user starts it (its own process group; the suite's `npm pack` tarball), and the checks use
 * only what it printed: sign in with its login, find every template of workflows/ and the demo workflow
 * in the workflow list, execute the demo workflow and find every archived object of the store in S3 Archive
 * List's output and the sweep plan beside it, execute the eDiscovery template and get its RSMF file, open
 * the parameter panels of the capture template's nodes (the trigger with its Encrypt and Archive at Capture
 * settings and their credentials, Quarantine Record), of the Retention Sweeper (nightly sweep template)
 * and of an OpenPGP node (a one-node workflow made through the REST API: the capture template encrypts in
 * its trigger), find our nodes through the node panel search; then Ctrl-C (SIGINT to the demo's process
 * group) must leave no process behind.
 *
 * Screenshots go to $E2E_DIR/screenshots; with UPDATE_DOCS_IMG=1 also to docs/img/ (the README's).
 */
import { type ChildProcess, execFileSync, spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { copyFileSync, existsSync, mkdirSync, readdirSync, readFileSync, readlinkSync } from 'node:fs';
import path from 'node:path';

import type { S3Client } from '@aws-sdk/client-s3';

import { createS3Client } from '../../lib/s3';
import { listAllKeys, s3Settings } from '../helpers/s3';
import { launchBrowser, signIn, type Browser, type Page } from './helpers/browser';
import { countInFile, E2E_DIR, login, PACK, rest, scanDataFolder } from './helpers/n8n';

const REPO = path.resolve(__dirname, '..', '..');
const WORKFLOWS = path.join(REPO, 'workflows');
/** Every template of workflows/, by file name without .json. */
const TEMPLATES: Record<string, any> = Object.fromEntries(
	readdirSync(WORKFLOWS)
		.filter((f) => f.endsWith('.json'))
		.sort()
		.map((f) => [f.replace(/\.json$/, ''), JSON.parse(readFileSync(path.join(WORKFLOWS, f), 'utf8'))]),
);
const CAPTURE = 'whatsapp-capture-archive';
const SWEEP = 'retention-sweep-nightly';
const EDISCOVERY = 'ediscovery-export';
const LOOK = 'Chat archive demo: what the store holds';
const OPENPGP = 'openpgp-encrypt (e2e)';
const SHOTS = path.join(E2E_DIR, 'screenshots');
const DOCS_IMG = path.join(REPO, 'docs', 'img');
const PORT = 5678;

const alive = (pid: number) => {
	try {
		return readFileSync(`/proc/${pid}/stat`, 'utf8').split(' ')[2] !== 'Z';
	} catch {
		return false;
	}
};
/** Processes whose working folder is `dir` or below it. */
const processesIn = (dir: string) =>
	readdirSync('/proc')
		.filter((entry) => /^\d+$/.test(entry))
		.filter((pid) => {
			try {
				const cwd = readlinkSync(`/proc/${pid}/cwd`);
				return cwd === dir || cwd.startsWith(`${dir}/`);
			} catch {
				return false;
			}
		});
/** `promise`, or undefined after `ms` (the timer cleared either way, so that jest can exit). */
const within = async <T>(promise: Promise<T>, ms: number): Promise<T | undefined> => {
	let clear = () => {};
	try {
		return await Promise.race([
			promise,
			new Promise<undefined>((r) => {
				const timer = setTimeout(r, ms);
				clear = () => clearTimeout(timer);
			}),
		]);
	} finally {
		clear();
	}
};
const listening = (port: number) =>
	execFileSync('ss', ['-Hltn', `sport = :${port}`], { encoding: 'utf8' }).trim() !== '';

describe('bash scripts/demo.sh --n8n in the n8n editor (headless Chromium)', () => {
	const demoDir = path.join(E2E_DIR, 'runs', `demo-${randomBytes(3).toString('hex')}`);
	let demo: ChildProcess;
	let demoExit: Promise<{ code: number | null; signal: string | null }>;
	let output = '';
	let baseUrl: string;
	let email: string;
	let password: string;
	let bucket: string;
	let cookie: string;
	let s3: S3Client;
	const workflowIds: Record<string, string> = {};
	let browser: Browser;
	let page: Page;
	const shots: string[] = [];

	const screenshot = async (name: string) => {
		const file = path.join(SHOTS, `${name}.png`);
		await page.screenshot({ path: file });
		shots.push(file);
		if (process.env.UPDATE_DOCS_IMG === '1') {
			mkdirSync(DOCS_IMG, { recursive: true });
			copyFileSync(file, path.join(DOCS_IMG, `${name}.png`));
		}
	};

	/**
	 * One OpenPGP node (the capture template has none since it encrypts at capture), made through the
	 * REST API when a test first opens it: after the workflow list is checked, so that list is the demo's.
	 */
	const makeOpenPgpWorkflow = async () => {
		const credentials = (await rest(baseUrl, cookie, 'GET', '/credentials')).data as Array<{ id: string; name: string }>;
		const publicKeys = credentials.find((c) => c.name === 'OpenPGP Public Keys')!;
		const created = await rest(baseUrl, cookie, 'POST', '/workflows', {
			name: 'OpenPGP encrypt (e2e)',
			nodes: [
				{
					id: '0b9a8c7d-6e5f-4a3b-9c2d-1e0f9a8b7c01',
					name: 'Run',
					type: 'n8n-nodes-base.manualTrigger',
					typeVersion: 1,
					position: [0, 0],
					parameters: {},
				},
				{
					id: '0b9a8c7d-6e5f-4a3b-9c2d-1e0f9a8b7c02',
					name: 'Encrypt Record',
					type: `${PACK}.openPgp`,
					typeVersion: 1,
					position: [260, 0],
					parameters: {
						operation: 'encrypt',
						source: 'json',
						jsonMode: 'wholeItem',
						outputFormat: 'binary',
						outputBinaryPropertyName: 'data',
					},
					credentials: { openPgpPublicKeysApi: { id: publicKeys.id, name: publicKeys.name } },
				},
			],
			connections: { Run: { main: [[{ node: 'Encrypt Record', type: 'main', index: 0 }]] } },
			settings: {},
			active: false,
		});
		workflowIds[OPENPGP] = created.data.id;
	};

	const openTemplate = async (name = CAPTURE) => {
		if (name === OPENPGP && !workflowIds[OPENPGP]) await makeOpenPgpWorkflow();
		await page.goto(`${baseUrl}/workflow/${workflowIds[name]}`);
		await page.waitForSelector('[data-test-id="canvas-node"]', { timeout: 60_000 });
	};

	/** The editor's Execute workflow button; resolves once `lastNode` shows its success mark. */
	const executeWorkflow = async (lastNodes: string[]) => {
		await page.locator('[data-test-id="execute-workflow-button"]').first().click();
		for (const node of lastNodes)
			await page
				.locator(`[data-test-id="canvas-node"][data-node-name="${node}"] [data-test-id="canvas-node-status-success"]`)
				.waitFor({ timeout: 120_000 });
	};

	/** Open a node's panel; its output panel's text once it shows. */
	const openOutput = async (node: string): Promise<string> => {
		await page.dblclick(`[data-test-id="canvas-node"][data-node-name="${node}"]`);
		const panel = page.locator('[data-test-id="output-panel"]');
		await panel.waitFor({ timeout: 20_000 });
		await page.waitForTimeout(500);
		return panel.innerText();
	};

	beforeAll(async () => {
		mkdirSync(SHOTS, { recursive: true });
		s3 = createS3Client(s3Settings());
		const pack = readdirSync(path.join(E2E_DIR, 'pack')).find((f) => f.endsWith('.tgz'));
		expect(pack).toBeDefined();
		const t0 = Date.now();
		// its own process group, as in a terminal: Ctrl-C reaches the group
		demo = spawn('bash', [path.join(REPO, 'scripts', 'demo.sh'), '--n8n'], {
			cwd: REPO,
			detached: true,
			stdio: ['ignore', 'pipe', 'pipe'],
			env: {
				...process.env,
				CHAT_ARCHIVE_DEMO_DIR: demoDir,
				DEMO_N8N_PORT: String(PORT),
				CHAT_ARCHIVE_PACK: path.join(E2E_DIR, 'pack', pack!),
			},
		});
		demoExit = new Promise((resolve) => demo.on('exit', (code, signal) => resolve({ code, signal })));
		demo.stderr!.on('data', (chunk) => process.stderr.write(chunk));
		const ready = await new Promise<string>((resolve, reject) => {
			const timer = setTimeout(() => reject(new Error(`the demo printed no "== ready" in 10 min:\n${output}`)), 600_000);
			demo.stdout!.on('data', (chunk) => {
				output += chunk;
				const match = /== ready: (\S+).*\n.*email\s+(\S+)\n.*password\s+(\S+)\n/.exec(output);
				if (match) {
					clearTimeout(timer);
					resolve(match[0]);
					[, baseUrl, email, password] = match;
				}
			});
			demo.on('exit', (code) => reject(new Error(`the demo exited (${code}) before "ready":\n${output}`)));
		});
		console.log(`[e2e] demo ready after ${Date.now() - t0} ms: ${ready.split('\n')[0]}`);
		bucket = /objects in s3:\/\/(\S+?)\)/.exec(ready)![1];

		cookie = await login(baseUrl, email, password);
		const workflows = (await rest(baseUrl, cookie, 'GET', '/workflows')).data as Array<{ id: string; name: string }>;
		for (const [key, template] of Object.entries(TEMPLATES))
			workflowIds[key] = workflows.find((w) => w.name === template.name)!.id;
		workflowIds[LOOK] = workflows.find((w) => w.name === LOOK)!.id;
		({ browser } = await launchBrowser().then(async (b) => {
			page = await b.context.newPage();
			return b;
		}));
	});

	afterAll(async () => {
		await browser?.close().catch(() => undefined);
		// a failed test before the Ctrl-C test: stop the demo as its Ctrl-C would
		if (demo && demo.exitCode === null && demo.signalCode === null) {
			process.kill(-demo.pid!, 'SIGINT');
			await within(demoExit, 60_000);
		}
		s3?.destroy();
		if (shots.length) console.log(`[e2e] screenshots: ${shots.join(' ')}`);
	});

	it('signs in with the login the demo printed and finds every template and the demo workflow in the workflow list', async () => {
		await signIn(page, baseUrl, email, password);
		await page.goto(`${baseUrl}/home/workflows`);
		const names = page.locator('[data-test-id="workflow-card-name"]');
		await names.first().waitFor({ timeout: 30_000 });
		const expected = [...Object.values(TEMPLATES).map((t: any) => t.name), LOOK];
		await page.waitForFunction(
			(count: number) => document.querySelectorAll('[data-test-id="workflow-card-name"]').length >= count,
			expected.length,
			{ timeout: 30_000 },
		);
		const shown = (await names.allInnerTexts()).map((t: string) => t.trim());
		console.log(`[e2e] workflow list: ${JSON.stringify(shown)}`);
		// the demo's workflows and nothing else
		expect([...shown].sort()).toEqual([...expected].sort());
		await screenshot('demo-workflows');
	});

	it('finds the archived objects: Execute workflow on the demo workflow lists every object the trigger archived', async () => {
		const stored = (await listAllKeys(s3, bucket, 'archive/')).filter((key) => !key.startsWith('archive/_'));
		expect(stored.length).toBeGreaterThanOrEqual(22);
		await openTemplate(LOOK);
		await executeWorkflow(['List archived objects', 'Sweep plan (dry run)']);
		const text = await openOutput('List archived objects');
		expect(text).toContain(`${stored.length} items`);
		expect(text).toContain(stored[0].slice(0, 40));
		// object keys carry no phone number: the fixture counterparty's number is nowhere in the output
		expect(text).not.toContain('15550100123');
		await screenshot('demo-archived-objects');
		await page.keyboard.press('Escape');
	});

	it('shows the sweep plan: nothing is due for deletion, every record is kept', async () => {
		await openTemplate(LOOK);
		await executeWorkflow(['Sweep plan (dry run)']);
		await openOutput('Sweep plan (dry run)');
		// the JSON view shows the plan's totals
		await page.locator('[data-test-id="output-panel"]').getByText('JSON', { exact: true }).first().click();
		await page.waitForTimeout(500);
		const text = await page.locator('[data-test-id="output-panel"]').innerText();
		expect(text).toContain('"plan"');
		expect(text).toMatch(/"delete":\s*\{\s*"count":\s*0/);
		await screenshot('demo-sweep-plan');
		await page.keyboard.press('Escape');
	});

	it('runs the eDiscovery template from the editor: an RSMF file encrypted to the legal team, kept under exports/', async () => {
		const before = await listAllKeys(s3, bucket, 'exports/');
		expect(before).toHaveLength(1); // the demo's own run
		await openTemplate(EDISCOVERY);
		await executeWorkflow(['Keep export']);
		const text = await openOutput('Export conversation');
		// Encrypt Files: the RSMF file is in n8n's binary store encrypted to the legal team's key
		expect(text).toMatch(/C1-\d{4}-\d{2}-\d{2}-001\.rsmf\.pgp/);
		expect(text).toContain('application/pgp-encrypted');
		await screenshot('demo-ediscovery-export');
		await page.keyboard.press('Escape');
		const after = await listAllKeys(s3, bucket, 'exports/');
		expect(after).toHaveLength(2);
		expect(after.every((key) => key.endsWith('.rsmf.pgp'))).toBe(true);
	});

	it('shows the capture template, active, with our nodes on the canvas', async () => {
		await openTemplate();
		const nodes = await canvasNodes();
		expect(nodes).toEqual(
			expect.arrayContaining([
				['WhatsApp Capture Trigger', `${PACK}.whatsAppCaptureTrigger`],
				['Quarantine Record', `${PACK}.s3Archive`],
			]),
		);
		// the trigger encrypts and archives at capture: no OpenPGP node, and Quarantine Record is the
		// only write node
		expect(nodes.filter(([, type]: Array<string | null>) => type === `${PACK}.openPgp`)).toEqual([]);
		expect(nodes.filter(([, type]: Array<string | null>) => type === `${PACK}.s3Archive`)).toEqual([
			['Quarantine Record', `${PACK}.s3Archive`],
		]);
		// the edge of the template: trigger (the records it could not store) → quarantine
		expect(await page.locator('[data-test-id="edge"]').count()).toBeGreaterThanOrEqual(1);
		await page.waitForTimeout(800); // let the canvas finish its fit-view animation
		await screenshot('whatsapp-capture-archive-canvas');
	});

	const canvasNodes = async () =>
		page.$$eval('[data-test-id="canvas-node"]', (els: Element[]) =>
			els.map((e) => [e.getAttribute('data-node-name'), e.getAttribute('data-node-type')]),
		);

	it.each(Object.keys(TEMPLATES).filter((key) => key !== CAPTURE))(
		'shows the imported template %s on the canvas with all its nodes',
		async (key) => {
			await openTemplate(key);
			const expected = TEMPLATES[key].nodes
				.filter((n: any) => n.type !== 'n8n-nodes-base.stickyNote')
				.map((n: any) => [n.name, n.type]);
			expect(await canvasNodes()).toEqual(expect.arrayContaining(expected));
			await page.waitForTimeout(800);
			await screenshot(`${key}-canvas`);
		},
	);

	it.each([
		[
			'WhatsApp Capture Trigger',
			'node-whatsapp-capture-trigger',
			// Archive at Capture on: its settings show, Respond does not (the trigger answers once stored)
			[
				'Output',
				'Encrypt at Capture',
				'Archive at Capture',
				'Retention Class',
				'Object Lock Mode',
				'Retain For',
				'Archive Options',
			],
			'WhatsApp Capture (Meta App)',
			CAPTURE,
		],
		['Quarantine Record', 'node-s3-archive', ['Resource', 'Operation'], 'S3 Archive Store', CAPTURE],
		['Encrypt Record', 'node-openpgp', ['Operation', 'Output Format'], 'OpenPGP Public Keys', OPENPGP],
		['Plan (dry run)', 'node-retention-sweeper', ['Operation'], 'S3 Archive Store', SWEEP],
	])('opens the parameter panel of %s', async (nodeName, shot, labels, credentialName, workflow) => {
		await openTemplate(workflow);
		await page.dblclick(`[data-test-id="canvas-node"][data-node-name="${nodeName}"]`);
		const ndv = page.locator('[data-test-id="ndv"]');
		await ndv.waitFor({ timeout: 20_000 });
		await page.locator('[data-test-id="node-parameters"]').waitFor({ timeout: 20_000 });
		const text = await page.locator('[data-test-id="node-parameters"]').innerText();
		for (const label of labels) expect(text).toContain(label);
		if (nodeName === 'WhatsApp Capture Trigger') {
			expect(text).not.toMatch(/^Respond$/m);
			// the values as shipped: prefix archive, retention class default, Governance for P1Y
			const inputs = await page
				.locator('[data-test-id="node-parameters"] input, [data-test-id="node-parameters"] textarea')
				.all();
			const values = await Promise.all(inputs.map((i: any) => i.inputValue().catch(() => '')));
			expect(values).toEqual(expect.arrayContaining(['archive', 'default', 'Governance', 'P1Y']));
			// the screenshot shows the archive settings: the panel scrolled to Encrypt at Capture
			await page
				.locator('[data-test-id="node-parameters"]')
				.getByText('Encrypt at Capture', { exact: true })
				.first()
				.evaluate((label: Element) => label.scrollIntoView({ block: 'start' }));
		}
		// the credentials created through the API are selected, not "Connect to …"
		const slots = page.locator('[data-test-id="node-credentials-slot"]');
		let slotText = '';
		for (const slot of await slots.all()) {
			const inputs = await slot.locator('input').all();
			const values = await Promise.all(inputs.map((i: any) => i.inputValue().catch(() => '')));
			slotText += ` ${await slot.innerText()} ${values.join(' ')}`;
		}
		// the trigger has three: the Meta app, the public keys (Encrypt at Capture), the store (Archive at Capture)
		if (nodeName === 'WhatsApp Capture Trigger') {
			expect(slotText).toContain('OpenPGP Public Keys');
			expect(slotText).toContain('S3 Archive Store');
		}
		expect(slotText).not.toMatch(/Connect to/);
		expect(slotText).toContain(credentialName);
		await page.waitForTimeout(500);
		await screenshot(shot);
		await page.keyboard.press('Escape');
		await ndv.waitFor({ state: 'hidden', timeout: 10_000 });
	});

	it.each([
		['WhatsApp Capture', 'WhatsApp Capture Trigger'],
		['OpenPGP', 'OpenPGP'],
		['S3 Archive', 'S3 Archive'],
	])('finds our node in the node panel search: "%s"', async (term, expectedName) => {
		await openTemplate();
		await page.click('[data-test-id="node-creator-plus-button"]');
		await page.locator('[data-test-id="node-creator"]').waitFor({ timeout: 10_000 });
		await page
			.locator(
				'[data-test-id="node-creator-search-bar"] input, input[data-test-id="node-creator-search-bar"]',
			)
			.first()
			.fill(term);
		const names = page.locator(
			'[data-test-id="node-creator"] [data-test-id="node-creator-item-name"]',
		);
		// the default categories show first; wait for the filtered result (fails after 15 s if absent)
		await names
			.filter({ hasText: new RegExp(`^\\s*${expectedName}\\s*$`) })
			.first()
			.waitFor({ timeout: 15_000 });
		const found = (await names.allInnerTexts()).map((t: string) => t.trim());
		console.log(`[e2e] node panel search "${term}": ${JSON.stringify(found)}`);
		expect(found).toContain(expectedName);
		if (term === 'S3 Archive') await screenshot('node-panel-search');
		await page.keyboard.press('Escape');
	});
	it('Ctrl-C stops everything the demo started and says how to remove its data folder', async () => {
		const n8nPid = Number(readFileSync(path.join(demoDir, 'n8n', 'n8n.pid'), 'utf8'));
		expect(alive(n8nPid)).toBe(true);
		expect(processesIn(demoDir).length).toBeGreaterThan(0);
		process.kill(-demo.pid!, 'SIGINT');
		const exit = await within(demoExit, 90_000);
		expect(exit).toBeDefined();
		console.log(`[e2e] demo after Ctrl-C: ${JSON.stringify(exit)}; ${output.split('== stopping')[1]?.trim().replace(/\n\s*/g, ' | ')}`);
		expect(output).toContain(`remove it with: rm -rf ${demoDir}`);
		// no n8n, task runner or shell left: nothing alive in the demo's folder, its process group empty
		expect(alive(n8nPid)).toBe(false);
		expect(processesIn(demoDir)).toEqual([]);
		const groupGone = async () => {
			for (let i = 0; i < 50; i++) {
				try {
					process.kill(-demo.pid!, 0);
				} catch {
					return true;
				}
				await new Promise((r) => setTimeout(r, 100));
			}
			console.log(execFileSync('ps', ['-o', 'pid,stat,cmd', '-g', String(demo.pid)], { encoding: 'utf8' }));
			return false;
		};
		expect(await groupGone()).toBe(true);
		expect(listening(PORT)).toBe(false);
		expect(listening(PORT + 1)).toBe(false);
		// the store was running before the demo: the demo leaves it running
		expect(output).not.toContain('stopped the local store');
		expect(output).toContain('the local store was running before the demo: it keeps running');
		expect((await listAllKeys(s3, bucket, 'archive/')).length).toBeGreaterThan(0);
		expect(existsSync(path.join(demoDir, 'n8n', '.n8n'))).toBe(true);
	});

	it("leaves no private key and no message content in the demo's folder, n8n's database and logs included", () => {
		// the private key is only in the OpenPGP Private Key credential (n8n encrypts credentials); the
		// captures, the demo workflow's saved execution and the editor's runs leave no message text behind
		const markers = ['PRIVATE KEY BLOCK', 'Can you confirm the bond order', 'Shall we settle the bond order', 'Dana Example'];
		const scan = scanDataFolder(path.join(demoDir, 'n8n'), markers);
		const logs = ['n8n/n8n.log', 'install.log', 'pack.log']
			.map((file) => path.join(demoDir, file))
			.filter((file) => existsSync(file))
			.map((file) => [file, countInFile(file, markers)] as const)
			.filter(([, counts]) => Object.values(counts).some((n) => n > 0));
		console.log(`[e2e] demo folder scan: ${scan.filesScanned} files of .n8n, hits ${JSON.stringify(scan.hits)}; logs ${JSON.stringify(logs)}`);
		expect(scan.filesScanned).toBeGreaterThan(0);
		expect(scan.hits).toEqual({});
		expect(logs).toEqual([]);
		expect(output).not.toContain('PRIVATE KEY');
	});
});
