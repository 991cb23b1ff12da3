/** normalizeOutbound: the request/response of Graph `POST /<PHONE_NUMBER_ID>/messages` as an outbound record. */
import { createHash } from 'node:crypto';

import { normalizeDelivery, normalizeOutbound, OutboundError } from '../../../lib/capture';
import { fixtureBody } from './fixtures';

const SENT_AT = new Date('2026-01-01T08:00:00.000Z');
const RECEIVED_AT = new Date('2026-01-01T08:00:01.000Z');
const WAMID = 'wamid.HBgLMTU1NTAxMDAxMjMVAgARGBI5QTNDQTVCM0Q0Q0Q2RTY3RTcA';

const textRequest = {
	messaging_product: 'whatsapp',
	recipient_type: 'individual',
	to: '+1 555-010-0123',
	type: 'text',
	text: { preview_url: false, body: 'Your statement is ready' },
	context: { message_id: 'wamid.INBOUND' },
	biz_opaque_callback_data: 'ticket-42',
};
const textResponse = {
	messaging_product: 'whatsapp',
	contacts: [{ input: '+1 555-010-0123', wa_id: '15550100123' }],
	messages: [{ id: WAMID, message_status: 'accepted' }],
};

describe('normalizeOutbound', () => {
	it('send text (reply): the whole record', () => {
		const record = normalizeOutbound({
			request: textRequest,
			response: textResponse,
			phoneNumberId: '106000000000002',
			wabaId: '102000000000001',
			sentAt: SENT_AT,
			receivedAt: RECEIVED_AT,
			graphApiVersion: 'v24.0',
		});
		const raw = { request: textRequest, response: textResponse };
		expect(record).toEqual({
			schema_version: 2,
			record_kind: 'message',
			provider: 'whatsapp_cloud',
			channel: 'whatsapp',
			account_id: null,
			direction: 'outbound',
			waba_id: '102000000000001',
			phone_number_id: '106000000000002',
			display_phone_number: null,
			field: null,
			wamid: WAMID,
			type: 'text',
			timestamp: '2026-01-01T08:00:00.000Z',
			received_at: '2026-01-01T08:00:01.000Z',
			counterparty: { wa_id: '15550100123', user_id: null, name: null },
			content: { preview_url: false, body: 'Your statement is ready', message_status: 'accepted', biz_opaque_callback_data: 'ticket-42' },
			context: {
				reply_to: 'wamid.INBOUND',
				reply_to_from: null,
				forwarded: false,
				frequently_forwarded: false,
				referred_product: null,
				referral: null,
			},
			original_wamid: null,
			position: 'api_send',
			idempotency_key: `106000000000002:${WAMID}`,
			delivery_sha256: createHash('sha256').update(JSON.stringify(raw)).digest('hex'),
			signature_verified: false,
			graph_api_version: 'v24.0',
			raw,
		});
	});

	it('send template: type template, content = the template object; JSON text accepted', () => {
		const request = {
			messaging_product: 'whatsapp',
			to: '15550100123',
			type: 'template',
			template: { name: 'statement_ready', language: { code: 'en_US' }, components: [{ type: 'body', parameters: [{ type: 'text', text: 'Dana' }] }] },
		};
		const record = normalizeOutbound({
			request: JSON.stringify(request),
			response: JSON.stringify({ messaging_product: 'whatsapp', contacts: [{ input: '15550100123', wa_id: '15550100123' }], messages: [{ id: WAMID }] }),
			phoneNumberId: '106000000000002',
		});
		expect(record.type).toBe('template');
		expect(record.content).toEqual(request.template);
		expect(record.context).toBeNull();
		expect(record.counterparty).toEqual({ wa_id: '15550100123', user_id: null, name: null });
	});

	it('a BSUID recipient is kept as user_id; a later status links to the record by wamid', () => {
		const record = normalizeOutbound({
			request: { messaging_product: 'whatsapp', to: 'US.13491208655302741918', type: 'image', image: { id: '1234', caption: 'Receipt' } },
			response: { messaging_product: 'whatsapp', contacts: [{ input: 'US.13491208655302741918' }], messages: [{ id: 'wamid.HBgLMTU1NTAxMDAxMjMVAgARGBI5QTNDQTk5QjU4NzY1OTQyMzAA' }] },
			phoneNumberId: '106000000000002',
		});
		expect(record.counterparty).toEqual({ wa_id: null, user_id: 'US.13491208655302741918', name: null });
		expect(record.content).toEqual({ id: '1234', caption: 'Receipt' });
		const [status] = normalizeDelivery({ rawBody: fixtureBody('status-delivered'), receivedAt: RECEIVED_AT, signatureVerified: true });
		expect(status.wamid).toBe('wamid.HBgLMTU1NTAxMDAxMjMVAgARGBI5QTNDQTk5QjU4NzY1OTQyMzAA');
		expect(status.wamid).toBe(record.wamid);
		expect(status.idempotency_key.startsWith(`${record.idempotency_key}:`)).toBe(true);
	});

	it('an unknown request type is kept as unknown with its value', () => {
		const record = normalizeOutbound({
			request: { messaging_product: 'whatsapp', to: '15550100123', type: 'poll', poll: { question: 'Q?' } },
			response: textResponse,
			phoneNumberId: '106000000000002',
		});
		expect(record.type).toBe('unknown');
		expect(record.content).toMatchObject({ original_type: 'poll', value: { question: 'Q?' } });
	});

	it.each([
		['a response without messages[0].id (failed send)', { request: textRequest, response: { error: { message: 'x' } }, phoneNumberId: '106000000000002' }, /no messages\[0\]\.id/],
		['a request that is not JSON', { request: 'not json', response: textResponse, phoneNumberId: '106000000000002' }, /request is not a JSON object/],
		['no phone number id', { request: textRequest, response: textResponse, phoneNumberId: '' }, /phone number ID/],
	])('%s → OutboundError', (_label, options, message) => {
		expect(() => normalizeOutbound(options)).toThrow(OutboundError);
		expect(() => normalizeOutbound(options)).toThrow(message);
	});
});
