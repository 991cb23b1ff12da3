/**
 * Twilio Programmable Messaging webhooks for WhatsApp and SMS/MMS (Twilio Docs, "Webhooks security" /
 * "Validating signatures from Twilio", "Messaging webhooks" / "WhatsApp – Incoming message webhook
 * parameters", "Incoming message webhook parameters" and "Outbound message status callbacks"):
 * form-encoded `POST`s signed with `X-Twilio-Signature`, normalized into {@link CaptureRecord}s with
 * `provider: "twilio"`. Addresses prefixed `whatsapp:` are the WhatsApp channel; plain E.164 numbers
 * are SMS/MMS (`channel: "sms"`).
 */
import { createHash, createHmac, timingSafeEqual } from 'node:crypto';

import { MEDIA_MESSAGE_TYPES } from './content';
import { SCHEMA_VERSION, TWILIO_PROVIDER, type CaptureRecord, type Channel, type Counterparty, type JsonObject, type RecordContext } from './types';

/** Form parameters in body order; a repeated name keeps every value. */
export type TwilioParams = Array<[name: string, value: string]>;

/**
 * Most form parameters a Twilio webhook may carry. Twilio's WhatsApp webhooks and status callbacks
 * send a few dozen (Twilio Docs, "Messaging webhooks": up to 10 `MediaUrl{N}` / `MediaContentType{N}`
 * pairs, `Referral*`, channel fields); the margin leaves room for parameters Twilio adds without notice.
 */
export const MAX_TWILIO_PARAMS = 500;

/** Options of {@link verifyTwilioSignature}. */
export interface VerifyTwilioSignatureOptions {
	/** The full URL exactly as configured in Twilio (scheme, host, port, path and query string). */
	url: string;
	/**
	 * The raw form body: its parameter count is checked before it is parsed, and the parameters are
	 * returned when the signature verifies. Give this or `params`.
	 */
	rawBody?: Buffer;
	/** All POST parameters, already parsed ({@link parseTwilioForm}); used when `rawBody` is absent. */
	params?: TwilioParams;
	/** Value of the `X-Twilio-Signature` header, or undefined. */
	header: string | undefined;
	/** Auth Token of the Twilio account (primary; pass the secondary in a second call when rotating). */
	authToken: string;
	/** Most parameters accepted in `rawBody`; default {@link MAX_TWILIO_PARAMS}. */
	maxParams?: number;
}

/** Result of {@link verifyTwilioSignature}. */
export interface VerifyTwilioSignatureResult {
	verified: boolean;
	/** Why not: `missing auth token`, `missing header`, `malformed header`, `too many parameters`, `signature mismatch`. */
	reason?: string;
	/** The parsed parameters, when verified. */
	params?: TwilioParams;
}

/**
 * Verifies `X-Twilio-Signature` (Twilio Docs, "Webhooks security"): Base64(HMAC-SHA1(AuthToken,
 * url + name₁ + value₁ + name₂ + value₂ …)) with the parameters sorted by name (byte order; values of a
 * repeated name sorted too, as Twilio's helper libraries do), nothing between them. Every posted
 * parameter counts, including ones this code does not know. Compared in constant time over the
 * decoded 20-byte digests.
 *
 * Cheap refusals come first, before the form is parsed: the header must be the Base64 of a 20-byte
 * digest (28 characters), and a raw body may hold at most `maxParams` parameters (counted as `&`
 * separators, native search). The signed string is then hashed piece by piece, never concatenated.
 *
 * @returns `{ verified: true, params }` or `{ verified: false, reason }`. Never throws; the reason
 *   never contains body content.
 */
export function verifyTwilioSignature(options: VerifyTwilioSignatureOptions): VerifyTwilioSignatureResult {
	if (typeof options.authToken !== 'string' || options.authToken.length === 0) {
		return { verified: false, reason: 'missing auth token' };
	}
	const header = typeof options.header === 'string' ? options.header.trim() : '';
	if (header.length === 0) return { verified: false, reason: 'missing header' };
	if (!/^[A-Za-z0-9+/]{27}=$/.test(header)) return { verified: false, reason: 'malformed header' };
	let params = options.params ?? [];
	if (options.rawBody !== undefined) {
		const maxParams = options.maxParams ?? MAX_TWILIO_PARAMS;
		if (separatorsExceed(options.rawBody, maxParams - 1)) return { verified: false, reason: 'too many parameters' };
		params = parseTwilioForm(options.rawBody);
	}
	const expected = Buffer.from(header, 'base64');
	const hmac = createHmac('sha1', options.authToken).update(options.url, 'utf8');
	for (const [name, value] of sortedParams(params)) hmac.update(name, 'utf8').update(value, 'utf8');
	const actual = hmac.digest();
	return actual.length === expected.length && timingSafeEqual(actual, expected)
		? { verified: true, params }
		: { verified: false, reason: 'signature mismatch' };
}

/** Whether the form body holds more than `limit` `&` separators; stops counting past the limit. */
function separatorsExceed(rawBody: Buffer, limit: number): boolean {
	let count = 0;
	for (let at = rawBody.indexOf(0x26); at !== -1; at = rawBody.indexOf(0x26, at + 1)) {
		if (++count > limit) return true;
	}
	return false;
}

/** The parameters sorted by name, then value (code unit order, as Twilio's helper libraries sort). */
function sortedParams(params: TwilioParams): TwilioParams {
	return [...params].sort(([a, av], [b, bv]) => (a < b ? -1 : a > b ? 1 : av < bv ? -1 : av > bv ? 1 : 0));
}

/** The string Twilio signs: the URL followed by each `name + value`, sorted by name then value. */
export function twilioSignedString(url: string, params: TwilioParams): string {
	return url + sortedParams(params).map(([name, value]) => name + value).join('');
}

/** Parses an `application/x-www-form-urlencoded` body into ordered pairs (`+` as space, percent-decoded). */
export function parseTwilioForm(rawBody: Buffer): TwilioParams {
	return [...new URLSearchParams(rawBody.toString('utf8')).entries()];
}

/** Status values of Twilio's outbound status callbacks (`MessageStatus`). */
export const TWILIO_STATUS_VALUES = [
	'accepted',
	'scheduled',
	'queued',
	'sending',
	'sent',
	'delivered',
	'undelivered',
	'read',
	'failed',
	'canceled',
] as const;

/** Options of {@link normalizeTwilioWebhook}. */
export interface NormalizeTwilioOptions {
	/** Exact body bytes (hashed into `delivery_sha256`). */
	rawBody: Buffer;
	/** Parsed parameters of that body. */
	params: TwilioParams;
	receivedAt: Date;
	signatureVerified: boolean;
}

/**
 * Turns one Twilio WhatsApp webhook into one record:
 * - status callback (a `MessageStatus` other than `received`): `record_kind: "status"`, direction
 *   `outbound`, type = the status when known ({@link TWILIO_STATUS_VALUES}) else `unknown`, counterparty
 *   from `To`; content `{ status, error_code?, error_message?, channel_* … }`;
 * - incoming message: `record_kind: "message"`, direction `inbound`, type = `MessageType` (text, image,
 *   audio, video, document, sticker, location, button, interactive, reaction, …; inferred from the
 *   first `MediaContentType0` or `Latitude` when absent), counterparty `{ wa_id: WaId or From digits,
 *   name: ProfileName }`; content `{ body, media: [{ url, content_type }], location?, button? }`;
 *   context from `OriginalRepliedMessageSid`, `Forwarded`, `FrequentlyForwarded`, `Referral*`.
 * `wamid` holds the Twilio `MessageSid` (SM…/MM…), `waba_id` and `field` null; `raw` = every parameter
 * (`{ name: value }`, repeated names as arrays). Twilio sends no event time: `timestamp` is null.
 * The channel is `whatsapp` when `From` or `To` starts with `whatsapp:`, else `sms` (SMS and MMS):
 * - WhatsApp: `phone_number_id` the business's own number (digits of `To` for inbound, `From` for
 *   statuses), `account_id` null, `idempotency_key` = `<phone_number_id>:<MessageSid>` (+ `:<status>`);
 * - SMS: `account_id` the same digits, `phone_number_id` null, `idempotency_key` =
 *   `sms:<account_id>:<MessageSid>` (+ `:<status>`); the counterparty's `wa_id` holds the digits of
 *   their E.164 number, so an SMS and a WhatsApp message of the same number share one pseudonym.
 */
export function normalizeTwilioWebhook(options: NormalizeTwilioOptions): CaptureRecord {
	const raw = paramsObject(options.params);
	const get = (name: string): string | null => {
		const value = raw[name];
		const first = Array.isArray(value) ? value[0] : value;
		return typeof first === 'string' && first.length > 0 ? first : null;
	};
	const deliverySha256 = createHash('sha256').update(options.rawBody).digest('hex');
	const receivedAt = Number.isNaN(options.receivedAt?.getTime?.()) ? new Date().toISOString() : options.receivedAt.toISOString();
	const sid = get('MessageSid') ?? get('SmsMessageSid') ?? get('SmsSid');
	const messageStatus = get('MessageStatus');
	const isStatus = messageStatus !== null && messageStatus !== 'received';
	const business = digits(isStatus ? get('From') : get('To'));
	const channel: Channel = [get('From'), get('To')].some((address) => /^whatsapp:/i.test(address ?? '')) ? 'whatsapp' : 'sms';
	const keyStem = channel === 'sms' ? `sms:${business}` : business;
	const other = isStatus ? get('To') : get('From');
	const counterparty: Counterparty = {
		wa_id: (isStatus ? null : get('WaId')) ?? digits(other),
		user_id: null,
		name: isStatus ? null : get('ProfileName'),
	};
	const position = 'body';
	const base = {
		schema_version: SCHEMA_VERSION,
		provider: TWILIO_PROVIDER,
		channel,
		account_id: channel === 'sms' ? business : null,
		waba_id: null,
		phone_number_id: channel === 'sms' ? null : business,
		display_phone_number: business,
		field: null,
		wamid: sid,
		timestamp: null,
		received_at: receivedAt,
		counterparty,
		original_wamid: null,
		position,
		delivery_sha256: deliverySha256,
		signature_verified: options.signatureVerified === true,
		graph_api_version: null,
		raw,
	} as const;
	const fallbackKey = `sha256:${deliverySha256}:${position}`;

	if (isStatus) {
		const type = (TWILIO_STATUS_VALUES as readonly string[]).includes(messageStatus) ? messageStatus : 'unknown';
		const content: JsonObject = { status: messageStatus };
		if (get('ErrorCode')) content.error_code = get('ErrorCode');
		if (get('ErrorMessage')) content.error_message = get('ErrorMessage');
		if (get('ChannelStatusMessage')) content.channel_status_message = get('ChannelStatusMessage');
		if (get('ChannelPrefix')) content.channel_prefix = get('ChannelPrefix');
		return {
			...base,
			record_kind: 'status',
			direction: 'outbound',
			type,
			content,
			context: null,
			idempotency_key: business && sid ? `${keyStem}:${sid}:${messageStatus}` : fallbackKey,
		};
	}

	const numMedia = Math.max(0, Math.min(10, Number(get('NumMedia') ?? 0) || 0));
	const media: JsonObject[] = [];
	for (let index = 0; index < numMedia; index++) {
		media.push({ url: get(`MediaUrl${index}`), content_type: get(`MediaContentType${index}`) });
	}
	const type = twilioMessageType(get('MessageType'), media, get('Latitude'));
	const content: JsonObject = { body: get('Body') ?? '' };
	if (media.length > 0) content.media = media;
	if (get('Latitude') || get('Longitude')) {
		content.location = {
			latitude: get('Latitude'),
			longitude: get('Longitude'),
			address: get('Address'),
			label: get('Label'),
		};
	}
	if (get('ButtonText') || get('ButtonPayload')) {
		content.button = { text: get('ButtonText'), payload: get('ButtonPayload') };
	}
	if (get('MessageType') && type === 'unknown') content.original_type = get('MessageType');
	return {
		...base,
		record_kind: 'message',
		direction: 'inbound',
		type,
		content,
		context: twilioContext(get),
		idempotency_key: business && sid ? `${keyStem}:${sid}` : fallbackKey,
	};
}

/** Message types Twilio reports in `MessageType` for WhatsApp. */
const TWILIO_MESSAGE_TYPES = [
	'text',
	...MEDIA_MESSAGE_TYPES,
	'location',
	'button',
	'interactive',
	'reaction',
	'contacts',
] as const;

function twilioMessageType(messageType: string | null, media: JsonObject[], latitude: string | null): string {
	if (messageType !== null) {
		return (TWILIO_MESSAGE_TYPES as readonly string[]).includes(messageType) ? messageType : 'unknown';
	}
	const first = typeof media[0]?.content_type === 'string' ? (media[0].content_type as string) : '';
	if (first.startsWith('image/')) return 'image';
	if (first.startsWith('audio/')) return 'audio';
	if (first.startsWith('video/')) return 'video';
	if (first) return 'document';
	if (latitude !== null) return 'location';
	return 'text';
}

function twilioContext(get: (name: string) => string | null): RecordContext | null {
	const replyTo = get('OriginalRepliedMessageSid');
	const forwarded = get('Forwarded') === 'true';
	const frequently = get('FrequentlyForwarded') === 'true';
	const referral: JsonObject = {};
	for (const [name, key] of [
		['ReferralSourceId', 'source_id'],
		['ReferralSourceType', 'source_type'],
		['ReferralSourceUrl', 'source_url'],
		['ReferralHeadline', 'headline'],
		['ReferralBody', 'body'],
		['ReferralMediaUrl', 'media_url'],
		['ReferralMediaContentType', 'media_content_type'],
		['ReferralCtwaClid', 'ctwa_clid'],
	] as const) {
		if (get(name)) referral[key] = get(name);
	}
	const hasReferral = Object.keys(referral).length > 0;
	if (!replyTo && !forwarded && !frequently && !hasReferral) return null;
	return {
		reply_to: replyTo,
		reply_to_from: digits(get('OriginalRepliedMessageSender')),
		forwarded,
		frequently_forwarded: frequently,
		referred_product: null,
		referral: hasReferral ? referral : null,
	};
}

/** `{ name: value }`, a repeated name giving an array of its values in body order. */
function paramsObject(params: TwilioParams): JsonObject {
	const result: JsonObject = {};
	for (const [name, value] of params) {
		const existing = result[name];
		if (existing === undefined) result[name] = value;
		else result[name] = Array.isArray(existing) ? [...existing, value] : [existing, value];
	}
	return result;
}

/** `whatsapp:+14155238886` → `14155238886`; null when there are no digits. */
function digits(address: string | null): string | null {
	if (address === null) return null;
	const value = address.replace(/^whatsapp:/i, '').replace(/\D/g, '');
	return value.length > 0 ? value : null;
}
