/**
 * Messenger and Instagram messaging webhooks: normalization of the fixtures (built from Meta's
 * documented shapes, invented ids), the signature and handshake they share with WhatsApp, and where
 * their records are filed.
 */
import { createHash, createHmac, randomBytes } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import path from 'node:path';
import type { Readable } from 'node:stream';

import { objectKeyForRecord } from '../../../lib/archive';
import { answerHandshake, attachmentReference, downloadAttachment, normalizeMessagingDelivery, verifySignature, type CaptureRecord } from '../../../lib/capture';

const FIXTURES = path.join(__dirname, '..', '..', 'fixtures');
const body = (name: string) => readFileSync(path.join(FIXTURES, `${name}.json`));
const receivedAt = new Date('2026-01-01T08:05:00.000Z');
const normalize = (name: string): CaptureRecord[] =>
	normalizeMessagingDelivery({ rawBody: body(name), receivedAt, signatureVerified: true, graphApiVersion: 'v24.0' });

const PAGE = '1045566778899';
const PSID = '7000000000000001';
const IG = '17841400000000001';
const IGSID = '5000000000000001';

describe('normalizeMessagingDelivery: Messenger', () => {
	it('an inbound text with its reply context', () => {
		const [record, ...rest] = normalize('messenger/message-text');
		expect(rest).toEqual([]);
		expect(record).toMatchObject({
			schema_version: 2,
			record_kind: 'message',
			provider: 'meta_messaging',
			channel: 'messenger',
			account_id: PAGE,
			direction: 'inbound',
			waba_id: null,
			phone_number_id: null,
			field: 'messages',
			wamid: 'm_fixtureMessengerText0001',
			type: 'text',
			timestamp: '2026-01-01T08:00:00.123Z',
			received_at: '2026-01-01T08:05:00.000Z',
			filed_by: 'timestamp',
			counterparty: { wa_id: null, user_id: PSID, name: null },
			content: { body: 'Can you confirm the bond order?' },
			context: { reply_to: 'm_fixtureMessengerEcho0001', forwarded: false },
			original_wamid: null,
			position: 'entry[0].messaging[0]',
			idempotency_key: `messenger:${PAGE}:m_fixtureMessengerText0001`,
			signature_verified: true,
			graph_api_version: 'v24.0',
		});
		expect(record.raw).toEqual(JSON.parse(body('messenger/message-text').toString()).entry[0].messaging[0]);
	});

	it('attachments: the first gives the type (file → document), every URL kept', () => {
		const [record] = normalize('messenger/message-attachment');
		expect(record.type).toBe('image');
		expect(record.content).toEqual({
			attachments: [
				{ type: 'image', url: 'https://media.example.test/messenger/receipt.jpg' },
				{ type: 'document', url: 'https://media.example.test/messenger/terms.pdf' },
			],
		});
	});

	it('echo, edit, reaction, delivery and read, each its own record', () => {
		const records = normalize('messenger/echo-edit-reaction-read-delivery');
		expect(records.map((r) => [r.record_kind, r.field, r.type, r.direction, r.counterparty.user_id])).toEqual([
			['message', 'message_echoes', 'text', 'outbound', PSID],
			['message', 'message_edits', 'edit', 'inbound', PSID],
			['message', 'message_reactions', 'reaction', 'inbound', PSID],
			['status', 'message_deliveries', 'delivered', 'outbound', PSID],
			['status', 'message_reads', 'read', 'outbound', PSID],
		]);
		const [echo, edit, reaction, delivery, read] = records;
		expect(echo.content).toEqual({ body: 'Confirmed: 50k at market.', app_id: 1517776481860111, metadata: 'agent-desk' });
		expect(edit).toMatchObject({
			original_wamid: 'm_fixtureMessengerText0001',
			content: { original_message_id: 'm_fixtureMessengerText0001', num_edit: 1, message: { type: 'text', text: { body: 'Can you confirm the bond order for 50k?' } } },
			idempotency_key: `messenger:${PAGE}:m_fixtureMessengerText0001:edit:1`,
		});
		expect(reaction.content).toEqual({ message_id: 'm_fixtureMessengerEcho0002', emoji: '👍', reaction: 'like', action: 'react', removed: false });
		expect(delivery).toMatchObject({
			wamid: 'm_fixtureMessengerEcho0002',
			content: { status: 'delivered', mids: ['m_fixtureMessengerEcho0002'], watermark: 1767254401000 },
			idempotency_key: `messenger:${PAGE}:m_fixtureMessengerEcho0002:delivered`,
		});
		// a watermark names no message: the key of the body's canonical form and the position
		expect(read).toMatchObject({ wamid: null, content: { status: 'read', watermark: 1767254401000 }, idempotency_key: expect.stringMatching(/^jcs:[0-9a-f]{64}:entry\[0\]\.messaging\[4\]$/) });
		expect(new Set(records.map((r) => r.idempotency_key)).size).toBe(records.length);
	});

	it('files under messenger-<Page id> with the PSID pseudonym', () => {
		const indexKey = randomBytes(32).toString('hex');
		const [record] = normalize('messenger/message-text');
		const placed = objectKeyForRecord({ indexKey, prefix: 'archive', retentionClass: 'default', record });
		expect(placed.key).toMatch(new RegExp(`^archive/default/messenger-${PAGE}/2026/01/01/[0-9a-f]{32}/[0-9a-f]{32}\\.pgp$`));
		expect(placed.key).not.toContain(PSID);
		expect(placed.pseudonym).toBe(createHmac('sha256', indexKey).update(`messenger:${PSID}`).digest('hex').slice(0, 32));
	});
});

describe('normalizeMessagingDelivery: Instagram', () => {
	it('an inbound text', () => {
		expect(normalize('instagram/message-text')).toMatchObject([
			{
				channel: 'instagram',
				account_id: IG,
				direction: 'inbound',
				type: 'text',
				counterparty: { user_id: IGSID },
				content: { body: 'Is the fund still open?' },
				idempotency_key: `instagram:${IG}:aWdfZAG1fixtureInstagramText0001`,
			},
		]);
	});

	it('attachment, echo (in the messages field), unsend, seen, reaction', () => {
		const records = normalize('instagram/attachment-echo-unsend-seen-reaction');
		expect(records.map((r) => [r.record_kind, r.field, r.type, r.direction, r.counterparty.user_id])).toEqual([
			['message', 'messages', 'image', 'inbound', IGSID],
			['message', 'messages', 'text', 'outbound', IGSID],
			['message', 'messages', 'revoke', 'inbound', IGSID],
			['status', 'messaging_seen', 'read', 'outbound', IGSID],
			['message', 'message_reactions', 'reaction', 'inbound', IGSID],
		]);
		expect(records[2]).toMatchObject({
			original_wamid: 'aWdfZAG1fixtureInstagramText0001',
			content: { original_message_id: 'aWdfZAG1fixtureInstagramText0001' },
			idempotency_key: `instagram:${IG}:aWdfZAG1fixtureInstagramText0001:unsend`,
		});
		expect(records[3]).toMatchObject({ wamid: 'aWdfZAG1fixtureInstagramEcho0001', idempotency_key: `instagram:${IG}:aWdfZAG1fixtureInstagramEcho0001:read` });
	});
});

describe('Meta messaging: malformed bodies, signature, handshake', () => {
	it('a body that is not a page/instagram envelope is quarantined whole', () => {
		for (const raw of ['not json', '{"object":"whatsapp_business_account","entry":[]}', '{"object":"page","entry":[]}']) {
			const records = normalizeMessagingDelivery({ rawBody: Buffer.from(raw), receivedAt, signatureVerified: true });
			expect(records).toHaveLength(1);
			expect(records[0]).toMatchObject({ record_kind: 'quarantine', provider: 'meta_messaging', raw: { body_base64: Buffer.from(raw).toString('base64') } });
		}
	});

	it('X-Hub-Signature-256 and hub.challenge as for WhatsApp: a forged body is refused', () => {
		const appSecret = randomBytes(16).toString('hex');
		const raw = body('instagram/message-text');
		const header = `sha256=${createHmac('sha256', appSecret).update(raw).digest('hex')}`;
		expect(verifySignature({ rawBody: raw, header, appSecret }).verified).toBe(true);
		const forged = Buffer.from(raw.toString().replace('still open', 'closed now'));
		expect(verifySignature({ rawBody: forged, header, appSecret }).verified).toBe(false);
		expect(answerHandshake({ query: { 'hub.mode': 'subscribe', 'hub.verify_token': 'tok', 'hub.challenge': '1158201444' }, verifyToken: 'tok' })).toEqual({ status: 200, body: '1158201444' });
	});
});

describe('downloadAttachment (a local stand-in for the CDN)', () => {
	const bytes = randomBytes(4096);
	let server: Server;
	let base: string;
	let requests = 0;
	const authorization: Array<string | undefined> = [];
	beforeAll(async () => {
		server = createServer((req, res) => {
			requests += 1;
			authorization.push(req.headers.authorization);
			if (req.url === '/receipt.jpg') res.writeHead(200, { 'content-type': 'image/jpeg' }).end(bytes);
			else if (req.url === '/moved') res.writeHead(302, { location: '/receipt.jpg' }).end();
			else if (req.url === '/elsewhere') res.writeHead(302, { location: 'http://example.test/x' }).end();
			else res.writeHead(404).end();
		});
		await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
		base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
	});
	afterAll(async () => await new Promise<void>((resolve) => server.close(() => resolve())));
	const drain = async (stream: Readable) => {
		const chunks: Buffer[] = [];
		for await (const chunk of stream) chunks.push(chunk as Buffer);
		return Buffer.concat(chunks);
	};

	it('streams the bytes through the SHA-256 tap, following a redirect; no token is sent', async () => {
		const result = await downloadAttachment({ url: `${base}/moved`, consume: drain, allowLoopbackHttp: true });
		expect(result).toMatchObject({ status: 'downloaded', sha256: createHash('sha256').update(bytes).digest('hex'), size: 4096, mimeType: 'image/jpeg', sha256Verified: false });
		expect(result.status === 'downloaded' && result.value.equals(bytes)).toBe(true);
		expect(authorization).toEqual([undefined, undefined]);
	});

	it('refuses plain http (unless to loopback when allowed), a redirect off https, an expired URL, an oversized file', async () => {
		const sleep = async () => undefined;
		expect(await downloadAttachment({ url: `${base}/receipt.jpg`, consume: drain })).toMatchObject({ status: 'failed', error: 'attachment download: refused: http refused: https only', attempts: 1 });
		expect(await downloadAttachment({ url: `${base}/elsewhere`, consume: drain, allowLoopbackHttp: true })).toMatchObject({ status: 'failed', error: expect.stringMatching(/redirect refused/) });
		requests = 0;
		expect(await downloadAttachment({ url: `${base}/gone`, consume: drain, allowLoopbackHttp: true, sleep })).toMatchObject({ status: 'failed', error: 'attachment download: HTTP 404', attempts: 1 });
		expect(requests).toBe(1);
		expect(await downloadAttachment({ url: `${base}/receipt.jpg`, consume: drain, allowLoopbackHttp: true, maxBytes: 100 })).toMatchObject({ status: 'failed', error: expect.stringMatching(/exceed the limit of 100|more than 100 bytes/) });
	});

	it('the first attachment with a URL is the one a record downloads', () => {
		expect(attachmentReference(normalize('messenger/message-attachment')[0])).toEqual({ url: 'https://media.example.test/messenger/receipt.jpg', type: 'image', mimeType: null });
		expect(attachmentReference(normalize('messenger/message-text')[0])).toBeNull();
	});
});
