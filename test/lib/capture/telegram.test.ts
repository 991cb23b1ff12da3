/**
 * Telegram Bot API capture: the secret-token check, normalization of the fixtures (Bot API `Update`
 * shapes, invented ids), and the Bot API transport against the local stand-in (webhook registration,
 * getFile + streamed, hashed download). The bot token must never reach a record or an error.
 */
import { createHash, randomBytes } from 'node:crypto';
import { readFileSync, readdirSync } from 'node:fs';
import path from 'node:path';
import type { Readable } from 'node:stream';

import {
	MAX_DELETED_MESSAGE_IDS,
	TelegramApiError,
	botApiBaseUrlRefusal,
	botIdOfToken,
	deleteWebhook,
	downloadTelegramFile,
	getMe,
	getWebhookUrl,
	normalizeTelegramUpdate,
	routingFields,
	setWebhook,
	verifyTelegramSecret,
	type CaptureRecord,
} from '../../../lib/capture';
import { TelegramStandIn } from '../../helpers/telegram-stand-in';

const FIXTURES = path.join(__dirname, '..', '..', 'fixtures', 'telegram');
const fixture = (name: string) => readFileSync(path.join(FIXTURES, `${name}.json`));
const BOT_ID = '7000000001';
const RECEIVED_AT = new Date('2026-12-06T12:00:00Z');
const normalize = (body: Buffer) => normalizeTelegramUpdate({ rawBody: body, botId: BOT_ID, receivedAt: RECEIVED_AT, secretVerified: true });
const one = (name: string): CaptureRecord => {
	const records = normalize(fixture(name));
	expect(records).toHaveLength(1);
	return records[0];
};

describe('verifyTelegramSecret', () => {
	const secret = 'k9_' + randomBytes(24).toString('base64url');

	it('accepts the exact secret', () => {
		expect(verifyTelegramSecret({ header: secret, secretToken: secret })).toEqual({ verified: true });
	});

	it.each([
		['another secret of the same length', secret.slice(0, -1) + (secret.endsWith('A') ? 'B' : 'A'), 'secret mismatch'],
		['a prefix of the secret', secret.slice(0, 10), 'secret mismatch'],
		['the secret with a suffix', `${secret}x`, 'secret mismatch'],
		['a differently cased secret', secret.toUpperCase() === secret ? secret.toLowerCase() : secret.toUpperCase(), 'secret mismatch'],
		['no header', undefined, 'missing header'],
		['an empty header', '', 'missing header'],
	])('refuses %s', (_what, header, reason) => {
		const result = verifyTelegramSecret({ header, secretToken: secret });
		expect(result).toEqual({ verified: false, reason });
		expect(JSON.stringify(result)).not.toContain(secret);
	});

	it('refuses everything when no secret is configured', () => {
		expect(verifyTelegramSecret({ header: '', secretToken: '' })).toEqual({ verified: false, reason: 'missing secret token' });
		expect(verifyTelegramSecret({ header: 'x', secretToken: '' })).toEqual({ verified: false, reason: 'missing secret token' });
	});
});

describe('botIdOfToken', () => {
	it('takes the digits before the colon of a BotFather token', () => {
		expect(botIdOfToken('7000000001:AAHdqTcvCH1vGWJxfSeofSAs0K5PALDsaw')).toBe('7000000001');
	});
	it.each(['', 'not-a-token', '7000000001:', 'abc:AAHdqTcvCH1vGWJxfSeofSAs0K5PALDsaw', '7000000001:short'])('null for %p', (token) => {
		expect(botIdOfToken(token)).toBeNull();
	});
});

describe('normalizeTelegramUpdate', () => {
	it('every fixture: channel telegram, account_id the bot, phone_number_id null, contract idempotency key, body hash', () => {
		const files = readdirSync(FIXTURES).filter((file) => file.endsWith('.json'));
		expect(files.length).toBeGreaterThanOrEqual(8);
		for (const file of files) {
			const body = readFileSync(path.join(FIXTURES, file));
			for (const record of normalize(body)) {
				expect(record).toMatchObject({
					schema_version: 2,
					channel: 'telegram',
					provider: 'telegram_bot_api',
					account_id: BOT_ID,
					phone_number_id: null,
					waba_id: null,
					signature_verified: true,
					received_at: RECEIVED_AT.toISOString(),
					delivery_sha256: createHash('sha256').update(body).digest('hex'),
				});
				expect(record.idempotency_key).toMatch(new RegExp(`^telegram:${BOT_ID}:[^:]+(:[^:]+)?$`));
				expect(record.raw).toEqual(JSON.parse(body.toString('utf8')));
			}
		}
	});

	it('business_message from the customer: inbound text, counterparty the Telegram user', () => {
		const record = one('business-message-text');
		expect(record).toMatchObject({
			record_kind: 'message',
			direction: 'inbound',
			field: 'business_message',
			wamid: '6100000001_501',
			type: 'text',
			timestamp: '2026-12-05T19:46:40.000Z',
			counterparty: { wa_id: null, user_id: '6100000001', name: 'Dana Example', username: 'dana_example' },
			content: { text: 'Can you move 500 from savings to the brokerage account?', business_connection_id: 'AbCdEfGhIjKlMnOpQrStUvWx0001' },
			context: null,
			original_wamid: null,
			idempotency_key: `telegram:${BOT_ID}:6100000001_501`,
		});
	});

	it('business_message from the business account: outbound photo (largest size), caption, reply context', () => {
		const record = one('business-message-outbound-photo');
		expect(record).toMatchObject({
			direction: 'outbound',
			type: 'photo',
			counterparty: { user_id: '6100000001' },
			content: { file_id: 'AgACAgIAAxkBAAIBPhotoLarge0001', file_size: 48213, width: 1280, caption: 'Statement as of today' },
			context: { reply_to: '6100000001_501', reply_to_from: '6100000001', forwarded: false },
		});
	});

	it('edited_business_message: timestamp the edit, original_wamid the message, key per edit', () => {
		const record = one('edited-business-message');
		expect(record).toMatchObject({
			field: 'edited_business_message',
			type: 'text',
			timestamp: '2026-12-05T19:48:40.000Z',
			original_wamid: '6100000001_501',
			idempotency_key: `telegram:${BOT_ID}:6100000001_501:edited_1796500120`,
		});
		expect(record.idempotency_key).not.toBe(one('business-message-text').idempotency_key);
	});

	it('deleted_business_messages: one deleted record per message id', () => {
		const records = normalize(fixture('deleted-business-messages'));
		expect(records.map((record) => [record.type, record.original_wamid, record.idempotency_key, record.position])).toEqual([
			['deleted', '6100000001_501', `telegram:${BOT_ID}:6100000001_501:deleted`, 'deleted_business_messages.message_ids[0]'],
			['deleted', '6100000001_502', `telegram:${BOT_ID}:6100000001_502:deleted`, 'deleted_business_messages.message_ids[1]'],
		]);
		expect(records[0].counterparty.user_id).toBe('6100000001');
	});

	it('business_connection: an event naming the connection and the business user, no counterparty', () => {
		const record = one('business-connection');
		expect(record).toMatchObject({
			record_kind: 'event',
			type: 'business_connection',
			counterparty: { wa_id: null, user_id: null, name: null },
			content: { id: 'AbCdEfGhIjKlMnOpQrStUvWx0001', user_id: '6200000001', user_chat_id: '6200000001', is_enabled: true, rights: { can_reply: true } },
			idempotency_key: `telegram:${BOT_ID}:AbCdEfGhIjKlMnOpQrStUvWx0001:connection_910000005`,
		});
	});

	it('message with a document; edited_message with a forward origin; a group voice message with its participant', () => {
		expect(one('message-document')).toMatchObject({
			field: 'message',
			direction: 'inbound',
			type: 'document',
			content: { file_id: 'BQACAgIAAxkBAAIBDocument0001', mime_type: 'application/pdf', file_name: 'signed-mandate.pdf', caption: 'Signed mandate attached' },
		});
		expect(one('edited-message')).toMatchObject({ field: 'edited_message', context: { forwarded: true, reply_to: null } });
		const voice = one('message-voice-group');
		expect(voice).toMatchObject({
			type: 'voice',
			wamid: '-1001700000001_12',
			counterparty: { group_id: '-1001700000001', name: 'Acme Portfolio Review', user_id: null },
			participant: { user_id: '6100000001', name: 'Dana Example' },
		});
	});

	it('an update of another field is an event of type unknown keyed by update_id', () => {
		const body = Buffer.from(JSON.stringify({ update_id: 910000099, callback_query: { id: '1', data: 'x' } }));
		expect(normalize(body)).toMatchObject([{ record_kind: 'event', type: 'unknown', field: 'callback_query', idempotency_key: `telegram:${BOT_ID}:update_910000099` }]);
	});

	it('a deletion of more message ids than Telegram deletes at once is quarantined whole, not made into that many records', () => {
		const update = JSON.parse(fixture('deleted-business-messages').toString('utf8'));
		update.deleted_business_messages.message_ids = Array.from({ length: MAX_DELETED_MESSAGE_IDS + 1 }, (_, index) => index + 1);
		const records = normalize(Buffer.from(JSON.stringify(update)));
		expect(records.map((record) => record.record_kind)).toEqual(['quarantine']);
		update.deleted_business_messages.message_ids.pop();
		expect(normalize(Buffer.from(JSON.stringify(update)))).toHaveLength(MAX_DELETED_MESSAGE_IDS);
	});

	it('encrypt-at-capture routing fields: channel and account_id in clear, no Telegram user id, name or message id', () => {
		const indexKey = randomBytes(32).toString('hex');
		for (const name of ['business-message-text', 'message-voice-group', 'business-connection']) {
			const record = one(name);
			const routing = routingFields(record, indexKey);
			expect(routing).toMatchObject({ channel: 'telegram', account_id: BOT_ID, phone_number_id: null, provider: 'telegram_bot_api' });
			const clear = JSON.stringify(routing);
			for (const marker of ['6100000001', '6200000001', '1700000001', 'Dana', 'dana_example', 'Acme', ...(record.wamid ? [record.wamid] : [])]) expect(clear).not.toContain(marker);
		}
	});

	it.each([
		['not JSON', Buffer.from('{"update_id": 1, ')],
		['JSON without update_id', Buffer.from('{"message": {}}')],
		['a JSON array', Buffer.from('[1,2]')],
	])('%s: one quarantine record keeping the body', (_what, body) => {
		const [record] = normalize(body);
		expect(record).toMatchObject({ record_kind: 'quarantine', type: 'quarantine', raw: { body_base64: body.toString('base64') } });
	});
});

describe('Bot API transport (local stand-in)', () => {
	const telegram = new TelegramStandIn();
	beforeAll(async () => {
		await telegram.start();
	});
	afterAll(async () => {
		await telegram.stop();
	});
	const endpoint = () => ({ baseUrl: telegram.baseUrl, token: telegram.token });
	const collect = async (stream: Readable) => {
		const chunks: Buffer[] = [];
		for await (const chunk of stream) chunks.push(chunk as Buffer);
		return Buffer.concat(chunks);
	};

	it('getMe, setWebhook with secret_token and allowed_updates, getWebhookInfo, deleteWebhook', async () => {
		expect(await getMe(endpoint())).toEqual({ id: BOT_ID, username: 'archive_test_bot' });
		await setWebhook(endpoint(), { url: 'https://n8n.example.com/webhook/abc/webhook', secretToken: 'S3cret_token-1', allowedUpdates: ['business_message'] });
		expect(telegram.webhook).toEqual({ url: 'https://n8n.example.com/webhook/abc/webhook', secret_token: 'S3cret_token-1', allowed_updates: ['business_message'] });
		expect(await getWebhookUrl(endpoint())).toBe('https://n8n.example.com/webhook/abc/webhook');
		await deleteWebhook(endpoint());
		expect(telegram.webhook).toBeNull();
	});

	it('refuses a secret Telegram would refuse before sending, and a base URL that is not https', async () => {
		const before = telegram.requests.length;
		await expect(setWebhook(endpoint(), { url: 'https://x.example/h', secretToken: 'has space', allowedUpdates: [] })).rejects.toMatchObject({ code: 'InvalidInput' });
		await expect(getMe({ baseUrl: 'http://api.example.com', token: telegram.token })).rejects.toMatchObject({ code: 'InvalidInput' });
		expect(telegram.requests.length).toBe(before);
		expect(botApiBaseUrlRefusal('https://api.telegram.org')).toBeNull();
		expect(botApiBaseUrlRefusal('https://api.telegram.org/bot123')).toMatch(/scheme and host only/);
	});

	it('a wrong token: RequestFailed 401 whose message holds neither token', async () => {
		const wrong = `${BOT_ID}:${randomBytes(26).toString('base64url')}`;
		const error = (await getMe({ baseUrl: telegram.baseUrl, token: wrong }).catch((e: unknown) => e)) as TelegramApiError;
		expect(error).toBeInstanceOf(TelegramApiError);
		expect(error).toMatchObject({ code: 'RequestFailed', status: 401 });
		expect(error.message).toBe('Bot API getMe: HTTP 401 (Unauthorized)');
		expect(error.message).not.toContain(wrong.split(':')[1]);
	});

	it('downloads a file streamed: the bytes, their SHA-256 and size; sha256Verified false (Telegram sends none)', async () => {
		const bytes = randomBytes(200 * 1024 + 7);
		const fileId = telegram.addFile('BQACAgIAAxkBAAIBDocument0001', { bytes });
		const result = await downloadTelegramFile({ endpoint: endpoint(), fileId, mimeType: 'application/pdf', consume: collect });
		expect(result).toMatchObject({ status: 'downloaded', sha256: createHash('sha256').update(bytes).digest('hex'), size: bytes.length, mimeType: 'application/pdf', sha256Verified: false, attempts: 1 });
		if (result.status === 'downloaded') expect(result.value.equals(bytes)).toBe(true);
	});

	it('retries a 5xx download; an unknown file_id fails at once; a file above the limit fails without reading it all', async () => {
		const bytes = randomBytes(64 * 1024);
		telegram.addFile('retry-file', { bytes });
		telegram.downloadFailures = [502];
		const retried = await downloadTelegramFile({ endpoint: endpoint(), fileId: 'retry-file', consume: collect, sleep: async () => undefined });
		expect(retried).toMatchObject({ status: 'downloaded', attempts: 2, size: bytes.length });

		const unknown = await downloadTelegramFile({ endpoint: endpoint(), fileId: 'no-such-file', consume: collect, sleep: async () => undefined });
		expect(unknown).toEqual({ status: 'failed', error: 'Bot API getFile: HTTP 400 (Bad Request: invalid file_id)', attempts: 1 });

		const declared = await downloadTelegramFile({ endpoint: endpoint(), fileId: 'retry-file', consume: collect, maxBytes: 1024 });
		expect(declared).toMatchObject({ status: 'failed', attempts: 1, error: `file download: ${bytes.length} bytes exceed the limit of 1024` });

		telegram.addFile('undeclared-size', { bytes, fileSize: null });
		const streamed = await downloadTelegramFile({ endpoint: endpoint(), fileId: 'undeclared-size', consume: collect, maxBytes: 1024 });
		expect(streamed).toMatchObject({ status: 'failed', attempts: 1, error: 'file download: more than 1024 bytes' });
		for (const result of [unknown, declared, streamed]) expect(JSON.stringify(result)).not.toContain(telegram.token.split(':')[1]);
	});

	it('refuses a file_path that leaves the file directory', async () => {
		telegram.addFile('escape', { bytes: Buffer.from('x'), filePath: '../bot/getMe' });
		const result = await downloadTelegramFile({ endpoint: endpoint(), fileId: 'escape', consume: collect });
		expect(result).toEqual({ status: 'failed', error: 'file download: getFile answered no usable file_path', attempts: 1 });
	});
});
