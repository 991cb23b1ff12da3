/**
 * The pack in n8n's editor, in headless Debian Chromium (playwright-core): sign in through the form,
 * open the imported template `whatsapp-capture-archive`, open each of our nodes' parameter panels, and
 * find our nodes through the node panel search.
 *
 * Screenshots go to $E2E_DIR/screenshots; with UPDATE_DOCS_IMG=1 also to docs/img/ (the README's).
 */
import { copyFileSync, mkdirSync, readFileSync } from 'node:fs';
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
const TEMPLATE = JSON.parse(
	readFileSync(path.join(REPO, 'workflows', 'whatsapp-capture-archive.json'), 'utf8'),
);
const SHOTS = path.join(E2E_DIR, 'screenshots');
const DOCS_IMG = path.join(REPO, 'docs', 'img');

describe('the pack in the n8n editor (headless Chromium)', () => {
	let userFolder: string;
	let n8n: N8nInstance;
	let session: Session;
	let workflowId: string;
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

	const openTemplate = async () => {
		await page.goto(`${n8n.baseUrl}/workflow/${workflowId}`);
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
		// the credential names the template refers to; throw-away values
		await create('whatsAppCaptureApi', 'WhatsApp Capture (Meta App)', {
			appSecret: randomBytes(16).toString('hex'),
			verifyToken: randomBytes(12).toString('hex'),
			graphApiBaseUrl: 'https://graph.facebook.com',
			graphApiVersion: 'v24.0',
		});
		await create('openPgpPublicKeysApi', 'OpenPGP Public Keys', {
			publicKeys: gpg.publicKeyArmored,
			expectedFingerprints: gpg.fingerprint,
		});
		await create('s3ArchiveApi', 'S3 Archive Store', {
			endpoint: 'http://127.0.0.1:7480',
			region: 'us-east-1',
			accessKeyId: randomBytes(8).toString('hex'),
			secretAccessKey: randomBytes(16).toString('hex'),
			forcePathStyle: true,
			checksumMode: 'WHEN_REQUIRED',
			bucket: 'chat-archive',
			indexKey: randomBytes(32).toString('hex'),
		});
		await gpg.cleanup();
		const nodes = TEMPLATE.nodes.map((node: any) => {
			const copy = structuredClone(node);
			for (const type of Object.keys(copy.credentials ?? {})) copy.credentials[type].id = ids[type];
			return copy;
		});
		const workflow = await api(n8n.baseUrl, session.apiKey, 'POST', '/workflows', {
			name: TEMPLATE.name,
			nodes,
			connections: TEMPLATE.connections,
			settings: TEMPLATE.settings,
		});
		workflowId = workflow.id;
		await api(n8n.baseUrl, session.apiKey, 'POST', `/workflows/${workflowId}/activate`);
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

	it('signs in through the form and shows the template with our three nodes on the canvas', async () => {
		await signIn(page, n8n.baseUrl, session.email, session.password);
		await openTemplate();
		const nodes = await page.$$eval('[data-test-id="canvas-node"]', (els: Element[]) =>
			els.map((e) => [e.getAttribute('data-node-name'), e.getAttribute('data-node-type')]),
		);
		expect(nodes).toEqual(
			expect.arrayContaining([
				['WhatsApp Capture Trigger', `${PACK}.whatsAppCaptureTrigger`],
				['Encrypt Record', `${PACK}.openPgp`],
				['Archive Record', `${PACK}.s3Archive`],
			]),
		);
		// the edges of the template: trigger → encrypt → archive
		expect(await page.locator('[data-test-id="edge"]').count()).toBeGreaterThanOrEqual(2);
		await page.waitForTimeout(800); // let the canvas finish its fit-view animation
		await screenshot('whatsapp-capture-archive-canvas');
	});

	it.each([
		[
			'WhatsApp Capture Trigger',
			'node-whatsapp-capture-trigger',
			['Output', 'Respond'],
			'WhatsApp Capture (Meta App)',
		],
		['Encrypt Record', 'node-openpgp', ['Operation', 'Output Format'], 'OpenPGP Public Keys'],
		['Archive Record', 'node-s3-archive', ['Operation'], 'S3 Archive Store'],
	])('opens the parameter panel of %s', async (nodeName, shot, labels, credentialName) => {
		await openTemplate();
		await page.dblclick(`[data-test-id="canvas-node"][data-node-name="${nodeName}"]`);
		const ndv = page.locator('[data-test-id="ndv"]');
		await ndv.waitFor({ timeout: 20_000 });
		await page.locator('[data-test-id="node-parameters"]').waitFor({ timeout: 20_000 });
		const text = await page.locator('[data-test-id="node-parameters"]').innerText();
		for (const label of labels) expect(text).toContain(label);
		// the credential created through the API is selected, not "Connect to …"
		const slot = page.locator('[data-test-id="node-credentials-slot"]');
		const slotText = `${await slot.innerText()} ${await slot
			.locator('input')
			.first()
			.inputValue()
			.catch(() => '')}`;
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
