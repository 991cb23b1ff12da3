/**
 * Twilio WhatsApp: X-Twilio-Signature vectors (the published ones, and ones built here with a
 * separate plain implementation of Twilio's documented algorithm) and normalization of the fixtures.
 */
import { createHmac, randomBytes } from 'node:crypto';
import { readFileSync } from 'node:fs';
import path from 'node:path';

import {
	MAX_TWILIO_PARAMS,
	normalizeTwilioWebhook,
	parseTwilioForm,
	twilioSignedString,
	verifyTwilioSignature,
	type TwilioParams,
} from '../../../lib/capture';
import { objectKeyForRecord } from '../../../lib/archive';

const TWILIO = path.join(__dirname, '..', '..', 'fixtures', 'twilio');
const form = (name: string) => readFileSync(path.join(TWILIO, `${name}.form`));

/**
 * Twilio's algorithm written out independently ("Webhooks security"): take the full URL, append each
 * POST parameter name and value (sorted alphabetically by name, no delimiters), HMAC-SHA1 with the
 * Auth Token, Base64.
 */
function referenceSignature(authToken: string, url: string, params: Record<string, string>): string {
	let data = url;
	for (const name of Object.keys(params).sort()) data += name + params[name];
	return createHmac('sha1', authToken).update(Buffer.from(data, 'utf-8')).digest('base64');
}

const pairs = (params: Record<string, string>): TwilioParams => Object.entries(params);

describe('verifyTwilioSignature', () => {
	const url = 'https://mycompany.com/myapp.php?foo=1&bar=2';
	const vector = (caller: string) => ({ CallSid: 'CA1234567890ABCDE', Caller: caller, Digits: '1234', From: caller, To: '+18005551212' });

	it.each([
		// published: Twilio's security docs, and the fixture of twilio-node's own test suite
		['+14158675310', 'GvWf1cFY/Q7PnoempGyD5oXAezc='],
		['+14158675309', 'RSOYDt4T1cUTdK1PDd93/VVr8B8='],
	])('published vector (Caller %s) verifies, and equals the reference implementation', (caller, signature) => {
		expect(referenceSignature('12345', url, vector(caller))).toBe(signature);
		expect(verifyTwilioSignature({ url, params: pairs(vector(caller)), header: signature, authToken: '12345' }).verified).toBe(true);
		const rawBody = Buffer.from(new URLSearchParams(vector(caller)).toString());
		expect(verifyTwilioSignature({ url, rawBody, header: signature, authToken: '12345' })).toEqual({ verified: true, params: pairs(vector(caller)) });
	});

	it('the signed string is the URL followed by name+value pairs sorted by name', () => {
		expect(twilioSignedString(url, pairs(vector('+14158675310')))).toBe(
			url + 'CallSidCA1234567890ABCDE' + 'Caller+14158675310' + 'Digits1234' + 'From+14158675310' + 'To+18005551212',
		);
	});

	describe('vectors built from the fixtures with the reference implementation', () => {
		const authToken = randomBytes(16).toString('hex');
		const configured = 'https://n8n.example.com/webhook/2d0d3c8e/webhook';
		it.each(['inbound-text', 'inbound-image-reply', 'status-read', 'status-failed', 'sms-inbound-text', 'mms-inbound-image', 'sms-status-delivered'])('%s', (name) => {
			const params = parseTwilioForm(form(name));
			const header = referenceSignature(authToken, configured, Object.fromEntries(params));
			expect(verifyTwilioSignature({ url: configured, params, header, authToken }).verified).toBe(true);

			// any change fails: one parameter value, an added parameter, the URL (scheme, port, query), the token, the header
			const [name0, value0] = params[0];
			const mutated: TwilioParams = [[name0, value0 + 'x'], ...params.slice(1)];
			for (const attempt of [
				{ url: configured, params: mutated, header, authToken },
				{ url: configured, params: [...params, ['Extra', '1']] as TwilioParams, header, authToken },
				{ url: configured.replace('https:', 'http:'), params, header, authToken },
				{ url: configured.replace('example.com', 'example.com:8443'), params, header, authToken },
				{ url: configured + '?a=1', params, header, authToken },
				{ url: configured, params, header, authToken: authToken + 'x' },
				{ url: configured, params, header: header.slice(0, 10) + (header[10] === 'A' ? 'B' : 'A') + header.slice(11), authToken },
			]) {
				expect(verifyTwilioSignature(attempt)).toEqual({ verified: false, reason: 'signature mismatch' });
			}
		});
	});

	it('missing or malformed header, missing token', () => {
		const params = pairs(vector('+14158675310'));
		expect(verifyTwilioSignature({ url, params, header: undefined, authToken: '12345' }).reason).toBe('missing header');
		expect(verifyTwilioSignature({ url, params, header: 'not base64!', authToken: '12345' }).reason).toBe('malformed header');
		expect(verifyTwilioSignature({ url, params, header: 'GvWf1cFY/Q7PnoempGyD5oXAezc=', authToken: '' }).reason).toBe('missing auth token');
	});

	it('from the raw body: the header shape and the parameter count are checked before the form is parsed', () => {
		const signature = 'GvWf1cFY/Q7PnoempGyD5oXAezc=';
		const params = pairs(vector('+14158675310'));
		const rawBody = Buffer.from(new URLSearchParams(vector('+14158675310')).toString());
		expect(verifyTwilioSignature({ url, rawBody, header: signature, authToken: '12345', maxParams: 5 }).verified).toBe(true);
		expect(verifyTwilioSignature({ url, rawBody, header: signature, authToken: '12345', maxParams: 4 })).toEqual({ verified: false, reason: 'too many parameters' });
		// the default cap
		const many = Buffer.from(Array.from({ length: MAX_TWILIO_PARAMS + 1 }, (_v, i) => `P${i}=1`).join('&'));
		expect(verifyTwilioSignature({ url, rawBody: many, header: signature, authToken: '12345' }).reason).toBe('too many parameters');
		const atCap = Buffer.from(Array.from({ length: MAX_TWILIO_PARAMS }, (_v, i) => `P${i}=1`).join('&'));
		expect(verifyTwilioSignature({ url, rawBody: atCap, header: signature, authToken: '12345' }).reason).toBe('signature mismatch');
		// ill-shaped headers never reach the parser (a 20-byte digest is 28 Base64 characters)
		for (const bad of ['x'.repeat(4096), signature.slice(0, -1), signature + 'A', 'GvWf1cFY/Q7PnoempGyD5oXAez==', '+'.repeat(44)]) {
			expect(verifyTwilioSignature({ url, rawBody: many, header: bad, authToken: '12345' }).reason).toBe('malformed header');
		}
		expect(verifyTwilioSignature({ url, params, header: signature, authToken: '12345' }).params).toEqual(params);
	});

	it('repeated parameter names: every value is signed, in sorted order', () => {
		const params: TwilioParams = [['b', '2'], ['a', 'z'], ['a', 'y']];
		expect(twilioSignedString('u', params)).toBe('uayazb2');
	});
});

describe('normalizeTwilioWebhook', () => {
	const receivedAt = new Date('2026-01-01T08:00:00.000Z');
	const normalize = (name: string) => {
		const rawBody = form(name);
		return normalizeTwilioWebhook({ rawBody, params: parseTwilioForm(rawBody), receivedAt, signatureVerified: true });
	};

	it('inbound text', () => {
		const record = normalize('inbound-text');
		expect(record).toMatchObject({
			schema_version: 2,
			record_kind: 'message',
			provider: 'twilio',
			channel: 'whatsapp',
			account_id: null,
			direction: 'inbound',
			waba_id: null,
			phone_number_id: '15550100999',
			field: null,
			wamid: 'SM0f1e2d3c4b5a69788796a5b4c3d2e1f0',
			type: 'text',
			timestamp: null,
			received_at: '2026-01-01T08:00:00.000Z',
			counterparty: { wa_id: '15550100123', user_id: null, name: 'Dana Example' },
			content: { body: 'Hi, is my order ready? 😀' },
			context: null,
			position: 'body',
			idempotency_key: '15550100999:SM0f1e2d3c4b5a69788796a5b4c3d2e1f0',
			signature_verified: true,
			graph_api_version: null,
		});
		expect(record.delivery_sha256).toMatch(/^[0-9a-f]{64}$/);
		expect((record.raw as Record<string, string>).AccountSid).toBe('AC00000000000000000000000000000001');
	});

	it('inbound image reply: media list, reply context, forwarded, unknown parameters kept in raw', () => {
		const record = normalize('inbound-image-reply');
		expect(record.type).toBe('image');
		expect(record.content).toEqual({
			body: 'Receipt attached',
			media: [
				{
					url: 'https://api.twilio.com/2010-04-01/Accounts/AC00000000000000000000000000000001/Messages/MM1a2b3c4d5e6f708192a3b4c5d6e7f809/Media/ME0a1b2c3d4e5f60718293a4b5c6d7e8f9',
					content_type: 'image/jpeg',
				},
			],
		});
		expect(record.context).toEqual({
			reply_to: 'SM99990000111122223333444455556666',
			reply_to_from: '15550100999',
			forwarded: true,
			frequently_forwarded: false,
			referred_product: null,
			referral: null,
		});
		expect((record.raw as Record<string, string>).NewParameterTwilioMayAdd).toBe('kept');
	});

	it('status callbacks: read, and undelivered with its error code; counterparty from To', () => {
		expect(normalize('status-read')).toMatchObject({
			record_kind: 'status',
			direction: 'outbound',
			type: 'read',
			phone_number_id: '15550100999',
			wamid: 'SM2b3c4d5e6f708192a3b4c5d6e7f8091a',
			counterparty: { wa_id: '15550100123', user_id: null, name: null },
			content: { status: 'read', channel_prefix: 'whatsapp' },
			idempotency_key: '15550100999:SM2b3c4d5e6f708192a3b4c5d6e7f8091a:read',
		});
		expect(normalize('status-failed')).toMatchObject({
			type: 'undelivered',
			content: { status: 'undelivered', error_code: '63016' },
		});
	});
	describe('SMS and MMS (From/To without the whatsapp: prefix)', () => {
		it('inbound SMS: channel sms, the Twilio number as account_id, no phone_number_id, sms: idempotency key', () => {
			expect(normalize('sms-inbound-text')).toMatchObject({
				schema_version: 2,
				record_kind: 'message',
				provider: 'twilio',
				channel: 'sms',
				account_id: '15550100999',
				phone_number_id: null,
				display_phone_number: '15550100999',
				direction: 'inbound',
				wamid: 'SM5a6b7c8d9e0f11223344556677889900',
				type: 'text',
				counterparty: { wa_id: '15550100123', user_id: null, name: null },
				content: { body: 'Please call me about the bond order' },
				idempotency_key: 'sms:15550100999:SM5a6b7c8d9e0f11223344556677889900',
			});
		});

		it('inbound MMS: the media list, type from the first content type', () => {
			const record = normalize('mms-inbound-image');
			expect(record).toMatchObject({ channel: 'sms', type: 'image', idempotency_key: 'sms:15550100999:MM6b7c8d9e0f1122334455667788990011' });
			expect(record.content).toEqual({
				body: 'The signed form',
				media: [
					{
						url: 'https://api.twilio.com/2010-04-01/Accounts/AC00000000000000000000000000000001/Messages/MM6b7c8d9e0f1122334455667788990011/Media/ME00000000000000000000000000000001',
						content_type: 'image/jpeg',
					},
				],
			});
		});

		it('status callback: the business number from From, the customer from To', () => {
			expect(normalize('sms-status-delivered')).toMatchObject({
				record_kind: 'status',
				channel: 'sms',
				account_id: '15550100999',
				phone_number_id: null,
				type: 'delivered',
				counterparty: { wa_id: '15550100123', user_id: null, name: null },
				idempotency_key: 'sms:15550100999:SM7c8d9e0f112233445566778899001122:delivered',
			});
		});

		it('is filed under sms-<number>, beside the same person\'s WhatsApp records by pseudonym', () => {
			const indexKey = 'c0ffee4d2b9e8a7f61d3c5b4a29807f6e5d4c3b2a1908f7e6d5c4b3a29180f7e';
			const place = (name: string) => objectKeyForRecord({ indexKey, prefix: 'archive', retentionClass: 'default', record: normalize(name) });
			const sms = place('sms-inbound-text');
			const whatsapp = place('inbound-text');
			expect(sms.key).toMatch(/^archive\/default\/sms-15550100999\/2026\/01\/01\/[0-9a-f]{32}\/[0-9a-f]{32}\.pgp$/);
			expect(whatsapp.key).toMatch(/^archive\/default\/15550100999\//);
			expect(sms.pseudonym).toBe(whatsapp.pseudonym);
			expect(sms.recordId).not.toBe(whatsapp.recordId);
		});
	});
});
