/**
 * Telegram Business Capture Trigger on real n8n-core: `webhook()` in-process behind a loopback
 * server (secret-token refusals, records, Download Files from the Bot API stand-in), `webhookMethods`
 * through n8n-core's `HookContext` (setWebhook / deleteWebhook against the stand-in), and the
 * credential test.
 */
import { createHash, randomBytes } from 'node:crypto';
import { readFileSync } from 'node:fs';
import path from 'node:path';

import { HookContext } from 'n8n-core';
import type { ICredentialDataDecryptedObject, INodeExecutionData, INodeParameters, IRun, IWorkflowExecuteAdditionalData } from 'n8n-workflow';

import { normalizeTelegramUpdate, TELEGRAM_UPDATE_TYPES } from '../../../lib/capture';
import { testTelegramBotCredential } from '../../../nodes/TelegramBusinessCaptureTrigger/methods/credentialTest';
import { TelegramBusinessCaptureTrigger } from '../../../nodes/TelegramBusinessCaptureTrigger/TelegramBusinessCaptureTrigger.node';
import { InProcessN8n, binaryBytes, newWebhookId, StaticCredentialsHelper } from '../../helpers/n8n-runner';
import { TelegramStandIn } from '../../helpers/telegram-stand-in';

const FIXTURES = path.join(__dirname, '..', '..', 'fixtures', 'telegram');
const fixture = (name: string) => readFileSync(path.join(FIXTURES, `${name}.json`));
const SECRET = randomBytes(24).toString('base64url');
const TRIGGER = 'Telegram Business Capture Trigger';
const output = (run: IRun | undefined): INodeExecutionData[] => run?.data.resultData.runData[TRIGGER]?.[0]?.data?.main?.[0] ?? [];

describe('Telegram Business Capture Trigger (in-process n8n-core, Bot API stand-in)', () => {
	const telegram = new TelegramStandIn();
	const runners: InProcessN8n[] = [];

	beforeAll(async () => {
		await telegram.start();
	});
	afterAll(async () => {
		for (const n8n of runners) await n8n.stop();
		await telegram.stop();
	});

	const credentialData = (overrides: ICredentialDataDecryptedObject = {}): ICredentialDataDecryptedObject => ({
		botToken: telegram.token,
		secretToken: SECRET,
		indexKey: '',
		apiBaseUrl: telegram.baseUrl,
		...overrides,
	});

	async function triggerWith(parameters: INodeParameters, overrides: ICredentialDataDecryptedObject = {}) {
		const credentials = { telegramBotCaptureApi: credentialData(overrides) };
		const n8n = new InProcessN8n({
			workflow: {
				name: 'telegram capture',
				nodes: [
					{
						id: 't',
						name: TRIGGER,
						type: 'n8n-nodes-chat-archive.telegramBusinessCaptureTrigger',
						typeVersion: 1,
						position: [0, 0],
						webhookId: newWebhookId(),
						parameters,
						credentials: { telegramBotCaptureApi: { id: '1', name: 'Bot' } },
					},
				],
				connections: {},
				settings: { executionOrder: 'v1' },
			},
			credentials,
		});
		const base = await n8n.start();
		runners.push(n8n);
		const post = async (body: Buffer, secret?: string | string[]) => {
			const headers = new Headers({ 'content-type': 'application/json' });
			for (const value of secret === undefined ? [] : Array.isArray(secret) ? secret : [secret]) headers.append('x-telegram-bot-api-secret-token', value);
			const response = await fetch(n8n.webhookUrl(), { method: 'POST', headers, body: new Uint8Array(body) });
			await n8n.idle();
			return { status: response.status, text: await response.text(), exchange: n8n.exchanges[n8n.exchanges.length - 1] };
		};
		const hook = () =>
			new HookContext(
				n8n.workflow,
				n8n.trigger,
				{ credentialsHelper: new StaticCredentialsHelper(credentials), webhookBaseUrl: `${base}/webhook`, webhookTestBaseUrl: `${base}/webhook-test` } as unknown as IWorkflowExecuteAdditionalData,
				'trigger',
				'activate',
			);
		return { n8n, post, hook };
	}

	it.each([
		['no header', undefined],
		['a wrong secret', randomBytes(24).toString('base64url')],
		['a prefix of the secret', SECRET.slice(0, 8)],
		['the secret twice', [SECRET, SECRET]],
	])('%s → 403, no execution, nothing emitted', async (_what, secret) => {
		const { post } = await triggerWith({});
		const { status, exchange } = await post(fixture('business-message-text'), secret);
		expect(status).toBe(403);
		expect(exchange.run).toBeUndefined();
	});

	it('the right secret → one item per record, equal to the engine\'s records', async () => {
		const { post } = await triggerWith({});
		const body = fixture('deleted-business-messages');
		const { status, exchange } = await post(body, SECRET);
		expect(status).toBe(200);
		const items = output(exchange.run);
		const expected = normalizeTelegramUpdate({ rawBody: body, botId: telegram.botId, receivedAt: new Date(), secretVerified: true });
		expect(items.map((item) => ({ ...item.json, received_at: null }))).toEqual(expected.map((record) => ({ ...record, received_at: null })));
		expect(JSON.stringify(items)).not.toContain(telegram.token.split(':')[1]);
	});

	it('Update Types leaves out the other updates (200, no execution)', async () => {
		const { post } = await triggerWith({ updateTypes: ['business_message'] });
		const { status, exchange } = await post(fixture('message-document'), SECRET);
		expect(status).toBe(200);
		expect(exchange.run).toBeUndefined();
	});

	it('a Bot Token without the <bot id>:<secret> shape → 500 so Telegram retries, nothing emitted', async () => {
		const { post } = await triggerWith({}, { botToken: 'not-a-token' });
		const { status, exchange } = await post(fixture('business-message-text'), SECRET);
		expect(status).toBe(500);
		expect(exchange.run).toBeUndefined();
	});

	it('Download Files: the document fetched with getFile, attached as binary "media", hashed on the record', async () => {
		const bytes = randomBytes(150 * 1024);
		telegram.addFile('BQACAgIAAxkBAAIBDocument0001', { bytes });
		const { post } = await triggerWith({ downloadFiles: true });
		const { status, exchange } = await post(fixture('message-document'), SECRET);
		expect(status).toBe(200);
		const [item] = output(exchange.run);
		expect(item.json).toMatchObject({
			type: 'document',
			media_status: 'downloaded',
			media_sha256: createHash('sha256').update(bytes).digest('hex'),
			media_size: bytes.length,
			media_mime_type: 'application/pdf',
			media_sha256_verified: false,
		});
		expect((await binaryBytes(item.binary!.media)).equals(bytes)).toBe(true);
		expect(item.binary!.media.fileName).toBe('signed-mandate.pdf');
		expect(JSON.stringify(item.json)).not.toContain(telegram.token.split(':')[1]);
	});

	it('Download Files: a file the Bot API does not know → media_status failed, the record still emitted', async () => {
		const { post } = await triggerWith({ downloadFiles: true, options: { mediaAttempts: 1 } });
		const { exchange } = await post(fixture('message-voice-group'), SECRET);
		const [item] = output(exchange.run);
		expect(item.json).toMatchObject({ type: 'voice', media_status: 'failed', media_error: 'Bot API getFile: HTTP 400 (Bad Request: invalid file_id)' });
		expect(item.binary?.media).toBeUndefined();
	});

	it('activation: setWebhook with the URL, secret_token and allowed_updates; deactivation: deleteWebhook', async () => {
		const { hook, n8n } = await triggerWith({ updateTypes: ['business_message', 'deleted_business_messages'] });
		const methods = new TelegramBusinessCaptureTrigger().webhookMethods.default;
		await expect(methods.checkExists.call(hook())).resolves.toBe(false);
		await expect(methods.create.call(hook())).resolves.toBe(true);
		expect(telegram.webhook).toEqual({ url: n8n.webhookUrl(), secret_token: SECRET, allowed_updates: ['business_message', 'deleted_business_messages'] });
		await expect(methods.delete.call(hook())).resolves.toBe(true);
		expect(telegram.webhook).toBeNull();
		expect(telegram.seen('deleteWebhook')).toHaveLength(1);
	});

	it('activation with no Update Types asks for all of them; deactivation leaves another URL\'s webhook alone', async () => {
		const { hook } = await triggerWith({ updateTypes: [] });
		const methods = new TelegramBusinessCaptureTrigger().webhookMethods.default;
		await methods.create.call(hook());
		expect(telegram.webhook?.allowed_updates).toEqual([...TELEGRAM_UPDATE_TYPES]);
		telegram.webhook = { url: 'https://other.example.org/hook' };
		const deletes = telegram.seen('deleteWebhook').length;
		await expect(methods.delete.call(hook())).resolves.toBe(true);
		expect(telegram.webhook).toEqual({ url: 'https://other.example.org/hook' });
		expect(telegram.seen('deleteWebhook')).toHaveLength(deletes);
	});

	it('activation with a secret Telegram would refuse fails with the field named, nothing sent', async () => {
		const { hook } = await triggerWith({}, { secretToken: 'has spaces in it' });
		const before = telegram.seen('setWebhook').length;
		await expect(new TelegramBusinessCaptureTrigger().webhookMethods.default.create.call(hook())).rejects.toThrow(/Secret Token must be 1-256 characters/);
		expect(telegram.seen('setWebhook')).toHaveLength(before);
	});

	it('credential test: OK for the bot; errors name the field for a wrong token, a bad secret, a short index key', async () => {
		await expect(testTelegramBotCredential(credentialData())).resolves.toEqual({ status: 'OK', message: 'Connected: bot @archive_test_bot' });
		const wrong = `${telegram.botId}:${randomBytes(26).toString('base64url')}`;
		await expect(testTelegramBotCredential(credentialData({ botToken: wrong }))).resolves.toEqual({
			status: 'Error',
			message: 'Bot API getMe: HTTP 401 (Unauthorized): check the Bot Token',
		});
		await expect(testTelegramBotCredential(credentialData({ secretToken: 'a b' }))).resolves.toMatchObject({ status: 'Error', message: expect.stringMatching(/^Secret Token/) });
		await expect(testTelegramBotCredential(credentialData({ indexKey: 'short' }))).resolves.toMatchObject({ status: 'Error', message: expect.stringMatching(/Index Key/) });
		await expect(testTelegramBotCredential(credentialData({ botToken: 'x' }))).resolves.toMatchObject({ status: 'Error', message: expect.stringMatching(/^Bot Token/) });
	});
});
