/**
 * Outbound capture: Meta does not echo messages the business sends through the Cloud API (only their
 * statuses, by wamid). This module turns one send — the request body of Graph
 * `POST /<PHONE_NUMBER_ID>/messages` (Meta, "Cloud API – Messages" reference: `{ messaging_product,
 * recipient_type?, to, type, <type>: {...}, context?: { message_id }, biz_opaque_callback_data? }`) and
 * its response `{ messaging_product, contacts: [{ input, wa_id }], messages: [{ id, message_status? }] }`
 * — into a {@link CaptureRecord} with direction `outbound`, so later statuses link to it by wamid.
 */
import { createHash } from 'node:crypto';

import { isObject, MEDIA_MESSAGE_TYPES, stringOrNull } from './content';
import { PROVIDER, SCHEMA_VERSION, type CaptureRecord, type JsonObject } from './types';

/** Message types the Cloud API accepts in `type` (send side; `template` exists only here). */
export const OUTBOUND_MESSAGE_TYPES = [
	'text',
	'template',
	...MEDIA_MESSAGE_TYPES,
	'location',
	'contacts',
	'interactive',
	'reaction',
] as const;

/** A send that cannot be turned into a record (no wamid in the response, no request). */
export class OutboundError extends Error {
	constructor(message: string) {
		super(message);
		this.name = 'OutboundError';
	}
}

/** Options of {@link normalizeOutbound}. */
export interface NormalizeOutboundOptions {
	/** Request body sent to `POST /<PHONE_NUMBER_ID>/messages` (object, or its JSON text). */
	request: unknown;
	/** Response body of that call (object, or its JSON text). */
	response: unknown;
	/** Business phone number id the message was sent from (the path segment of the send). */
	phoneNumberId: string;
	/** WhatsApp Business Account id, when known. */
	wabaId?: string | null;
	/** When the message was sent; default now. Becomes `timestamp`. */
	sentAt?: Date;
	/** When this record was made; default now. Becomes `received_at`. */
	receivedAt?: Date;
	/** Graph API version used for the send, e.g. `v24.0`. */
	graphApiVersion?: string | null;
}

/**
 * One outbound `message` record for one send:
 * - `wamid` = `response.messages[0].id`; `type` = `request.type` (default `text`; a type outside
 *   {@link OUTBOUND_MESSAGE_TYPES} becomes `unknown`); `content` = a copy of `request[type]`
 *   (`text` → `{ body, preview_url? }`, `template` → `{ name, language, components? }`, media →
 *   `{ id | link, caption?, filename? }`, …) plus `message_status` from the response when present and
 *   `biz_opaque_callback_data` when sent;
 * - `counterparty.wa_id` = `response.contacts[0].wa_id` (else the digits of `request.to`);
 *   `counterparty.user_id` = `request.to` / `request.recipient` when it is a BSUID (not digits);
 * - `context.reply_to` = `request.context.message_id`;
 * - `field` null, `position` `api_send`, `signature_verified` false (nothing was signed), `raw` =
 *   `{ request, response }`, `delivery_sha256` = SHA-256 of `JSON.stringify(raw)`;
 * - `idempotency_key` = `<phone_number_id>:<wamid>` (the key an echo of the same message would get).
 *
 * @throws OutboundError when the request is not an object, the phone number id is missing, or the
 *   response has no `messages[0].id` (the send failed).
 */
export function normalizeOutbound(options: NormalizeOutboundOptions): CaptureRecord {
	const request = asObject(options.request);
	const response = asObject(options.response);
	if (!request) throw new OutboundError('The request is not a JSON object (the body sent to /messages)');
	if (!response) throw new OutboundError('The response is not a JSON object (the answer of /messages)');
	const phoneNumberId = String(options.phoneNumberId ?? '').trim();
	if (!/^\d{1,32}$/.test(phoneNumberId)) throw new OutboundError('The phone number ID is missing or not numeric');
	const messages = Array.isArray(response.messages) ? response.messages.filter(isObject) : [];
	const wamid = stringOrNull(messages[0]?.id);
	if (wamid === null) {
		throw new OutboundError('The response has no messages[0].id: the send did not succeed, so nothing was sent to archive');
	}

	const requestType = stringOrNull(request.type) ?? 'text';
	const known = (OUTBOUND_MESSAGE_TYPES as readonly string[]).includes(requestType);
	const typeValue = request[requestType];
	const content: JsonObject = known
		? requestType === 'contacts'
			? { contacts: Array.isArray(typeValue) ? typeValue : [] }
			: isObject(typeValue)
				? { ...typeValue }
				: {}
		: { original_type: requestType, value: typeValue === undefined ? null : typeValue };
	const messageStatus = stringOrNull(messages[0]?.message_status);
	if (messageStatus !== null) content.message_status = messageStatus;
	if (request.biz_opaque_callback_data !== undefined) content.biz_opaque_callback_data = request.biz_opaque_callback_data;

	const contacts = Array.isArray(response.contacts) ? response.contacts.filter(isObject) : [];
	const to = stringOrNull(request.to) ?? stringOrNull(request.recipient);
	const toIsPhone = to !== null && /^\+?[\d\s()-]+$/.test(to);
	const waId = stringOrNull(contacts[0]?.wa_id) ?? (toIsPhone ? to.replace(/\D/g, '') : null);
	const context = isObject(request.context) ? request.context : undefined;
	const raw = { request, response };
	const now = new Date();

	return {
		schema_version: SCHEMA_VERSION,
		record_kind: 'message',
		provider: PROVIDER,
		channel: 'whatsapp',
		account_id: null,
		direction: 'outbound',
		waba_id: stringOrNull(options.wabaId) ?? null,
		phone_number_id: phoneNumberId,
		display_phone_number: null,
		field: null,
		wamid,
		type: known ? requestType : 'unknown',
		timestamp: isoOr(options.sentAt, now),
		received_at: isoOr(options.receivedAt, now),
		counterparty: {
			wa_id: waId && waId.length > 0 ? waId : null,
			user_id: to !== null && !toIsPhone ? to : stringOrNull(contacts[0]?.user_id),
			name: null,
		},
		content,
		context: context
			? {
					reply_to: stringOrNull(context.message_id),
					reply_to_from: null,
					forwarded: false,
					frequently_forwarded: false,
					referred_product: null,
					referral: null,
				}
			: null,
		original_wamid: null,
		position: 'api_send',
		idempotency_key: `${phoneNumberId}:${wamid}`,
		delivery_sha256: createHash('sha256').update(JSON.stringify(raw), 'utf8').digest('hex'),
		signature_verified: false,
		graph_api_version: stringOrNull(options.graphApiVersion) ?? null,
		raw,
	};
}

/** An object, or the object parsed from JSON text; undefined otherwise. */
function asObject(value: unknown): JsonObject | undefined {
	if (typeof value === 'string') {
		try {
			const parsed: unknown = JSON.parse(value);
			return isObject(parsed) ? parsed : undefined;
		} catch {
			return undefined;
		}
	}
	return isObject(value) ? value : undefined;
}

function isoOr(date: Date | undefined, fallback: Date): string {
	return date instanceof Date && !Number.isNaN(date.getTime()) ? date.toISOString() : fallback.toISOString();
}
