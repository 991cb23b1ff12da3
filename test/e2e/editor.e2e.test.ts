/**
 * The pack in n8n's editor, in headless Debian Chromium (playwright-core): every template of
 * workflows/ is imported through the public API with credentials created for it (so each is proven to
 * import into a real n8n) and shown on the canvas; sign in through the form, open the parameter panels
 * of the capture template's nodes (the trigger with its Encrypt and Archive at Capture settings and
 * their two credentials besides the Meta app's, Quarantine Record), of the Retention Sweeper (nightly
 * sweep template) and of an OpenPGP node (a one-node workflow made through the API: the capture
 * template encrypts in its trigger), and find our nodes through the node panel search.
 *
 * Screenshots go to $E2E_DIR/screenshots; with UPDATE_DOCS_IMG=1 also to docs/img/ (the README's).
 */
import { copyFileSync, mkdirSync, readdirSync, readFileSync } from 'node:fs';
import path from 'node:path';

import { randomBytes } from 'node:crypto';

import { makeGpgHome } from '../helpers/gpg';
import { launchBrowser, signIn, type Browser, type Page } from './helpers/browser';
import {
	api,
	E2E_DIR,
	makeUserFolder,
	PACK,
	type N8nInstance,
	type Session,
	setupOwner,
	startN8n,
	stopN8n,
} from './helpers/n8n';

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
const OPENPGP = 'openpgp-encrypt (e2e)';
const SHOTS = path.join(E2E_DIR, 'screenshots');
const DOCS_IMG = path.join(REPO, 'docs', 'img');

describe('the pack in the n8n editor (headless Chromium)', () => {
	let userFolder: string;
	let n8n: N8nInstance;
	let session: Session;
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

	const openTemplate = async (name = CAPTURE) => {
		await page.goto(`${n8n.baseUrl}/workflow/${workflowIds[name]}`);
		await page.waitForSelector('[data-test-id="canvas-node"]', { timeout: 60_000 });
	};

	beforeAll(async () => {
		mkdirSync(SHOTS, { recursive: true });
		userFolder = makeUserFolder('editor');
		n8n = startN8n(userFolder);
		session = await setupOwner(n8n.baseUrl);
		const gpg = await makeGpgHome({ userId: 'Archive Team <archive-team@example.invalid>' });
		const ids: Record<string, string> = {};
		const create = async (type: string, name: string, data: Record<string, unknown>) => {
			ids[type] = (
				await api(n8n.baseUrl, session.apiKey, 'POST', '/credentials', { name, type, data })
			).id;
		};
		// the credential names the templates refer to; throw-away values
		const indexKey = randomBytes(32).toString('hex');
		await create('whatsAppCaptureApi', 'WhatsApp Capture (Meta App)', {
			appSecret: randomBytes(16).toString('hex'),
			verifyToken: randomBytes(12).toString('hex'),
			accessToken: randomBytes(16).toString('hex'),
			// closed loopback port: nothing leaves the host
			graphApiBaseUrl: 'http://127.0.0.1:9',
			graphApiVersion: 'v24.0',
			// Encrypt at Capture: equal to the S3 Archive Store credential's
			indexKey,
		});
		await create('metaMessagingCaptureApi', 'Meta Messaging Capture (Messenger, Instagram)', {
			appSecret: randomBytes(16).toString('hex'),
			verifyToken: randomBytes(12).toString('hex'),
			pageAccessToken: randomBytes(16).toString('hex'),
			indexKey,
			graphApiBaseUrl: 'http://127.0.0.1:9',
			graphApiVersion: 'v24.0',
		});
		await create('telegramBotCaptureApi', 'Telegram Bot API', {
			botToken: `7000000001:${randomBytes(18).toString('base64url')}`,
			secretToken: randomBytes(16).toString('hex'),
			indexKey,
			// closed loopback port: nothing leaves the host
			apiBaseUrl: 'http://127.0.0.1:9',
		});
		await create('openPgpPublicKeysApi', 'OpenPGP Public Keys', {
			publicKeys: gpg.publicKeyArmored,
			expectedFingerprints: gpg.fingerprint,
		});
		await create('openPgpPrivateKeyApi', 'OpenPGP Private Key', {
			privateKey: gpg.secretKeyArmored,
			passphrase: '',
		});
		await create('s3ArchiveApi', 'S3 Archive Store', {
			endpoint: 'http://127.0.0.1:7480',
			region: 'us-east-1',
			accessKeyId: randomBytes(8).toString('hex'),
			secretAccessKey: randomBytes(16).toString('hex'),
			forcePathStyle: true,
			checksumMode: 'WHEN_REQUIRED',
			bucket: 'chat-archive',
			indexKey,
		});
		await gpg.cleanup();
		const importWorkflow = async (key: string, template: any) => {
			const nodes = template.nodes.map((node: any) => {
				const copy = structuredClone(node);
				for (const type of Object.keys(copy.credentials ?? {})) {
					expect(ids[type]).toBeDefined();
					copy.credentials[type].id = ids[type];
				}
				return copy;
			});
			const workflow = await api(n8n.baseUrl, session.apiKey, 'POST', '/workflows', {
				name: template.name,
				nodes,
				connections: template.connections,
				settings: template.settings ?? {},
			});
			expect(workflow.id).toBeTruthy();
			workflowIds[key] = workflow.id;
		};
		// every template of workflows/ imports into a real n8n through the public API
		for (const [key, template] of Object.entries(TEMPLATES)) await importWorkflow(key, template);
		// one OpenPGP node (the capture template has none since it encrypts at capture)
		await importWorkflow(OPENPGP, {
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
					credentials: { openPgpPublicKeysApi: { id: ids.openPgpPublicKeysApi, name: 'OpenPGP Public Keys' } },
				},
			],
			connections: { Run: { main: [[{ node: 'Encrypt Record', type: 'main', index: 0 }]] } },
			settings: {},
		});
		await api(n8n.baseUrl, session.apiKey, 'POST', `/workflows/${workflowIds[CAPTURE]}/activate`);
		({ browser } = await launchBrowser().then(async (b) => {
			page = await b.context.newPage();
			return b;
		}));
	});

	afterAll(async () => {
		await browser?.close().catch(() => undefined);
		if (userFolder) stopN8n(userFolder);
		if (shots.length) console.log(`[e2e] screenshots: ${shots.join(' ')}`);
	});

	const canvasNodes = async () =>
		page.$$eval('[data-test-id="canvas-node"]', (els: Element[]) =>
			els.map((e) => [e.getAttribute('data-node-name'), e.getAttribute('data-node-type')]),
		);

	it('signs in through the form and shows the capture template with our nodes on the canvas', async () => {
		await signIn(page, n8n.baseUrl, session.email, session.password);
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
});
