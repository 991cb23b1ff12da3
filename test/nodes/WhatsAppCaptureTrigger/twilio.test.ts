/**
 * Provider = Twilio WhatsApp through the trigger's webhook() in real n8n-core (in-process runner):
 * form-encoded POSTs signed like Twilio (reference implementation of the documented algorithm over
 * the configured URL) → one record; bad signatures → 401, no run; GET → 405; with Encrypt at Capture
 * the item carries only ciphertext that gpg decrypts to the record.
 */
import { createHash, createHmac, randomBytes } from 'node:crypto';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { readFileSync } from 'node:fs';
import path from 'node:path';

import type { INodeExecutionData, INodeParameters, IRun } from 'n8n-workflow';

import { gpgDecrypt, makeGpgHome } from '../../helpers/gpg';
import { InProcessN8n, binaryBytes, newWebhookId } from '../../helpers/n8n-runner';

const AUTH_TOKEN = randomBytes(16).toString('hex');
const INDEX_KEY = randomBytes(32).toString('hex');
const TWILIO = path.join(__dirname, '..', '..', 'fixtures', 'twilio');
const form = (name: string) => readFileSync(path.join(TWILIO, `${name}.form`));

/** Twilio's documented algorithm, written independently of lib/capture. */
function twilioSignature(url: string, body: Buffer, token = AUTH_TOKEN): string {
	const params = new URLSearchParams(body.toString('utf8'));
	let data = url;
	for (const name of [...new Set(params.keys())].sort()) for (const value of params.getAll(name).sort()) data += name + value;
	return createHmac('sha1', token).update(data, 'utf8').digest('base64');
}

const output = (run: IRun | undefined): INodeExecutionData[] =>
	run?.data.resultData.runData['WhatsApp Capture Trigger']?.[0]?.data?.main?.[0] ?? [];

describe('WhatsApp Capture Trigger, Provider = Twilio WhatsApp (n8n-core)', () => {
	const runners: InProcessN8n[] = [];
	let gpg: Awaited<ReturnType<typeof makeGpgHome>>;

	async function start(parameters: INodeParameters, credentialFields: Record<string, string> = {}) {
		const webhookId = newWebhookId();
		const n8n = new InProcessN8n({
			workflow: {
				name: 'twilio capture',
				nodes: [
					{
						id: 't',
						name: 'WhatsApp Capture Trigger',
						type: 'n8n-nodes-chat-archive.whatsAppCaptureTrigger',
						typeVersion: 1,
						position: [0, 0],
						webhookId,
						parameters: { provider: 'twilio', ...parameters },
						credentials: {
							twilioWhatsAppApi: { id: '1', name: 'Twilio' },
							openPgpPublicKeysApi: { id: '2', name: 'Keys' },
						},
					},
				],
				connections: {},
			},
			credentials: {
				twilioWhatsAppApi: { accountSid: 'AC00000000000000000000000000000001', authToken: AUTH_TOKEN, indexKey: INDEX_KEY, ...credentialFields },
				openPgpPublicKeysApi: { publicKeys: gpg.publicKeyArmored, expectedFingerprints: '' },
			},
		});
		await n8n.start();
		runners.push(n8n);
		return n8n;
	}

	const post = async (n8n: InProcessN8n, url: string, body: Buffer, signature?: string) => {
		const headers: Record<string, string> = { 'content-type': 'application/x-www-form-urlencoded' };
		if (signature !== undefined) headers['x-twilio-signature'] = signature;
		const response = await fetch(url, { method: 'POST', headers, body: new Uint8Array(body) });
		await n8n.idle();
		return { status: response.status, run: n8n.exchanges[n8n.exchanges.length - 1].run };
	};

	beforeAll(async () => {
		gpg = await makeGpgHome();
	});
	afterAll(async () => {
		for (const n8n of runners) await n8n.stop();
		await gpg?.cleanup();
	});

	it.each([
		['inbound-text', 'message', 'text'],
		['inbound-image-reply', 'message', 'image'],
		['status-read', 'status', 'read'],
		['status-failed', 'status', 'undelivered'],
	])('%s signed over the configured URL → one %s record (%s)', async (name, kind, type) => {
		const n8n = await start({});
		const configured = n8n.webhookUrl();
		// the Twilio Signature URL option says which URL Twilio signs (here: the URL the request is sent to)
		n8n.trigger.parameters.options = { twilioSignatureUrl: configured };
		const body = form(name);
		const { status, run } = await post(n8n, configured, body, twilioSignature(configured, body));
		expect(status).toBe(200);
		const items = output(run);
		expect(items).toHaveLength(1);
		expect(items[0].json).toMatchObject({ provider: 'twilio', record_kind: kind, type, signature_verified: true });
	});

	it('a request with a query string is checked against the configured URL plus that query string', async () => {
		const n8n = await start({});
		n8n.trigger.parameters.options = { twilioSignatureUrl: n8n.webhookUrl() + '?tenant=7' };
		const body = form('inbound-text');
		const signed = twilioSignature(n8n.webhookUrl() + '?tenant=7', body);
		expect((await post(n8n, n8n.webhookUrl() + '?tenant=7', body, signed)).status).toBe(200);
		// signed over the bare URL: refused
		expect((await post(n8n, n8n.webhookUrl() + '?tenant=7', body, twilioSignature(n8n.webhookUrl(), body))).status).toBe(401);
	});

	it.each([
		['no header', (_u: string, _b: Buffer) => undefined],
		['wrong token', (u: string, b: Buffer) => twilioSignature(u, b, 'not-the-token')],
		['signed over another URL (proxy changed the scheme)', (u: string, b: Buffer) => twilioSignature(u.replace('http:', 'https:'), b)],
		['signed body differs by one parameter', (u: string, b: Buffer) => twilioSignature(u, Buffer.from(b.toString().replace('Body=Hi', 'Body=Ho')))],
	])('%s → 401, no run', async (_label, signer) => {
		const n8n = await start({});
		n8n.trigger.parameters.options = { twilioSignatureUrl: n8n.webhookUrl() };
		const body = form('inbound-text');
		const { status, run } = await post(n8n, n8n.webhookUrl(), body, signer(n8n.webhookUrl(), body));
		expect(status).toBe(401);
		expect(run).toBeUndefined();
	});

	it('a form over Options → Max Body Size → 413 before the form is parsed; more than 500 parameters or an ill-shaped header → 401, no run', async () => {
		const n8n = await start({});
		n8n.trigger.parameters.options = { twilioSignatureUrl: n8n.webhookUrl(), maxBodySizeMb: 0.001 };
		const body = form('inbound-text');
		const large = Buffer.from(body.toString() + '&Pad=' + 'x'.repeat(1100));
		const tooLarge = await post(n8n, n8n.webhookUrl(), large, twilioSignature(n8n.webhookUrl(), large));
		expect(tooLarge.status).toBe(413);
		expect(tooLarge.run).toBeUndefined();
		n8n.trigger.parameters.options = { twilioSignatureUrl: n8n.webhookUrl() };
		const many = Buffer.from(body.toString() + Array.from({ length: 500 }, (_v, i) => `&P${i}=1`).join(''));
		const tooMany = await post(n8n, n8n.webhookUrl(), many, twilioSignature(n8n.webhookUrl(), many));
		expect(tooMany.status).toBe(401);
		expect(tooMany.run).toBeUndefined();
		expect((await post(n8n, n8n.webhookUrl(), body, 'x'.repeat(100))).status).toBe(401);
		expect((await post(n8n, n8n.webhookUrl(), body, twilioSignature(n8n.webhookUrl(), body))).status).toBe(200);
	});

	it('GET is answered 405 (Twilio has no handshake)', async () => {
		const n8n = await start({});
		expect((await fetch(n8n.webhookUrl())).status).toBe(405);
	});

	it('Encrypt at Capture: only routing fields and ciphertext leave the trigger; gpg decrypts to the record', async () => {
		const n8n = await start({ encryptAtCapture: true });
		n8n.trigger.parameters.options = { twilioSignatureUrl: n8n.webhookUrl() };
		const body = form('inbound-text');
		const { status, run } = await post(n8n, n8n.webhookUrl(), body, twilioSignature(n8n.webhookUrl(), body));
		expect(status).toBe(200);
		const [item] = output(run);
		const visible = JSON.stringify(item.json);
		for (const marker of ['Dana Example', '15550100123', 'SM0f1e2d3c4b5a69788796a5b4c3d2e1f0', 'order ready']) {
			expect(visible).not.toContain(marker);
		}
		expect(item.json).toMatchObject({ provider: 'twilio', encrypted: true, record_kind: 'message', phone_number_id: '15550100999' });
		expect(item.json.counterparty_pseudonym).toMatch(/^[0-9a-f]{32}$/);
		// eslint-disable-next-line @typescript-eslint/no-require-imports
		const core = require('n8n-core') as typeof import('n8n-core');
		// eslint-disable-next-line @typescript-eslint/no-require-imports
		const { Container } = require(require.resolve('@n8n/di', { paths: [path.dirname(require.resolve('n8n-core'))] })) as typeof import('@n8n/di');
		const ciphertext = await Container.get(core.BinaryDataService).getAsBuffer(item.binary!.data);
		const record = JSON.parse(gpgDecrypt(gpg.home, ciphertext).toString('utf8'));
		expect(record).toMatchObject({ provider: 'twilio', wamid: 'SM0f1e2d3c4b5a69788796a5b4c3d2e1f0', counterparty: { name: 'Dana Example' } });
	});
	it('SMS and MMS: channel sms; Download Media fetches the MMS media with the account\'s Basic auth, sent to the Twilio API host only', async () => {
		const picture = randomBytes(3000);
		const seen: Array<[string, string | undefined]> = [];
		const api = createServer((req, res) => {
			seen.push([String(req.url), req.headers.authorization]);
			if (req.url?.startsWith('/2010-04-01/')) res.writeHead(307, { location: `http://localhost:${(api.address() as AddressInfo).port}/cdn/picture.jpg` }).end();
			else if (req.url === '/cdn/picture.jpg') res.writeHead(200, { 'content-type': 'image/jpeg' }).end(picture);
			else res.writeHead(404).end();
		});
		await new Promise<void>((resolve) => api.listen(0, '127.0.0.1', resolve));
		const apiBase = `http://127.0.0.1:${(api.address() as AddressInfo).port}`;
		try {
			const n8n = await start({ downloadMedia: true }, { apiBaseUrl: apiBase });
			n8n.trigger.parameters.options = { twilioSignatureUrl: n8n.webhookUrl(), mediaRetryDelayMs: 0 };
			const sms = form('sms-inbound-text');
			const text = await post(n8n, n8n.webhookUrl(), sms, twilioSignature(n8n.webhookUrl(), sms));
			expect(text.status).toBe(200);
			expect(output(text.run)[0].json).toMatchObject({ channel: 'sms', account_id: '15550100999', phone_number_id: null, type: 'text' });
			expect(output(text.run)[0].json.media_status).toBeUndefined();

			const mms = Buffer.from(form('mms-inbound-image').toString().replace(/MediaUrl0=[^&]+/, `MediaUrl0=${encodeURIComponent(`${apiBase}/2010-04-01/Accounts/AC00000000000000000000000000000001/Messages/MM6b7c8d9e0f1122334455667788990011/Media/ME00000000000000000000000000000001`)}`));
			const image = await post(n8n, n8n.webhookUrl(), mms, twilioSignature(n8n.webhookUrl(), mms));
			expect(image.status).toBe(200);
			const [item] = output(image.run);
			expect(item.json).toMatchObject({
				channel: 'sms',
				type: 'image',
				media_status: 'downloaded',
				media_sha256: createHash('sha256').update(picture).digest('hex'),
				media_size: picture.length,
				media_mime_type: 'image/jpeg',
			});
			expect((await binaryBytes(item.binary!.media)).equals(picture)).toBe(true);
			const basic = `Basic ${Buffer.from(`AC00000000000000000000000000000001:${AUTH_TOKEN}`).toString('base64')}`;
			// the API host gets the account's credentials; the CDN it redirects to (another host) none
			expect(seen).toEqual([
				['/2010-04-01/Accounts/AC00000000000000000000000000000001/Messages/MM6b7c8d9e0f1122334455667788990011/Media/ME00000000000000000000000000000001', basic],
				['/cdn/picture.jpg', undefined],
			]);
		} finally {
			await new Promise<void>((resolve) => api.close(() => resolve()));
		}
	});
});
