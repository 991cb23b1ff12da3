/**
 * Messenger and Instagram messaging webhooks (Meta for Developers, "Messenger Platform – Webhook Events
 * Reference": `messages`, `message_echoes`, `message_edits`, `message_reactions`, `message_reads`,
 * `message_deliveries`, `messaging_postbacks`; "Instagram Messaging – Webhooks": `messages` with
 * `is_echo` and `is_deleted`, `message_reactions`, `messaging_seen`). Envelope:
 * `{ object: "page" | "instagram", entry: [{ id, time, messaging: [event…] }] }` (`standby: [event…]`
 * when another app controls the conversation). Signed with `X-Hub-Signature-256` and set up with the
 * `hub.challenge` handshake like WhatsApp (signature.ts, handshake.ts).
 */
import { createHash } from 'node:crypto';
import canonicalize from 'canonicalize';

import { isObject, stringOrNull } from './content';
import { MAX_NESTING_DEPTH, nestingExceeds, parseJson, quarantineRecord, type QuarantineReason } from './normalize';
import { clockFields, idString, type DeliveryFacts } from './record';
import { META_MESSAGING_PROVIDER, SCHEMA_VERSION, type CaptureRecord, type Direction, type JsonObject, type NormalizeOptions, type RecordContext, type RecordKind } from './types';

/** The channels of Meta's messaging webhooks. */
export type MessagingChannel = 'messenger' | 'instagram';

/** `object` of the envelope → channel. */
export const MESSAGING_OBJECTS: Readonly<Record<string, MessagingChannel>> = { page: 'messenger', instagram: 'instagram' };

/** Attachment `type` → record type (Messenger `file` is WhatsApp's `document`). */
const ATTACHMENT_TYPES: Readonly<Record<string, string>> = {
	image: 'image',
	video: 'video',
	audio: 'audio',
	file: 'document',
	sticker: 'sticker',
	location: 'location',
	template: 'template',
	fallback: 'fallback',
	share: 'share',
	story_mention: 'story_mention',
	ig_reel: 'ig_reel',
	reel: 'reel',
	ig_post: 'ig_post',
};

/** Event keys with no record kind of their own; each becomes an `event` record of that type. */
const EVENT_KEYS = ['optin', 'referral', 'account_linking', 'pass_thread_control', 'take_thread_control', 'request_thread_control', 'app_roles', 'policy_enforcement', 'game_play', 'messaging_feedback'];

/** One event's parts shared by the record builders. */
interface EventFacts {
	channel: MessagingChannel;
	delivery: DeliveryFacts;
	/** `entry[].id`: the Page id or the Instagram professional account id. */
	accountId: string | null;
	/** The customer's PSID or IGSID: the sender of an inbound event, the recipient of an echo. */
	userId: string | null;
	direction: Direction;
	timestamp: string | null;
	event: JsonObject;
	position: string;
	/** `standby` for events of the standby channel, else null (the field is derived from the event). */
	standby: boolean;
}

/**
 * Turns one Messenger or Instagram messaging webhook delivery into records (schema version 2,
 * `channel` `messenger` or `instagram`, `account_id` = `entry[].id`, counterparty `user_id` = the
 * PSID / IGSID, `phone_number_id` null):
 * - `message` (not an echo): a `message` record, `inbound`; type `text`, else the first attachment's
 *   type (`file` → `document`); `content` `{ body?, caption?, attachments?: [{ type, url?, title?,
 *   sticker_id? }], quick_reply?, is_unsupported? }`; with `is_deleted` (Instagram unsend): type
 *   `revoke`, `original_wamid` = the mid.
 * - `message` with `is_echo` (the business's own message, Messenger `message_echoes`, Instagram
 *   `messages`): the same, `outbound`, the counterparty the recipient.
 * - `message_edit`: a `message` of type `edit`, `original_wamid` = the mid, `content.message` the new text.
 * - `reaction`: a `message` of type `reaction` (`content` `{ message_id, emoji, reaction, action, removed }`).
 * - `read` (Messenger `message_reads`, Instagram `messaging_seen`) and `delivery`: a `status` record
 *   (`read`, `delivered`), `outbound` (they report the business's messages).
 * - `postback`: a `message` of type `postback`; any other event key: an `event` record of that type.
 * `wamid` holds the message id (`mid`); `idempotency_key` = `<channel>:<account_id>:<mid>` (+ `:edit:<n>`,
 * `:unsend`, `:reaction:<user id>:<action>:<timestamp>`), statuses `<channel>:<account_id>:<mid>:<status>`
 * when they name one message; otherwise (a watermark alone, several mids) the RFC 8785 form's hash and
 * the position, as WhatsApp's events.
 * A body that is not JSON, or not such an envelope, or that yields no record: one `quarantine` record.
 *
 * @returns at least one record. Never throws on malformed input.
 */
export function normalizeMessagingDelivery(options: NormalizeOptions): CaptureRecord[] {
	const rawBody = Buffer.isBuffer(options.rawBody) ? options.rawBody : Buffer.from(options.rawBody ?? '');
	const receivedAt = options.receivedAt instanceof Date && !Number.isNaN(options.receivedAt.getTime()) ? options.receivedAt : new Date();
	const delivery: DeliveryFacts = {
		receivedAt: receivedAt.toISOString(),
		deliverySha256: createHash('sha256').update(rawBody).digest('hex'),
		contentSha256: null,
		signatureVerified: options.signatureVerified === true,
		graphApiVersion: stringOrNull(options.graphApiVersion),
	};
	const quarantine = (reason: QuarantineReason, channel: MessagingChannel = 'messenger'): CaptureRecord[] => [
		{ ...quarantineRecord(delivery, rawBody, options.contentType, reason), provider: META_MESSAGING_PROVIDER, channel },
	];
	const parsed = parseJson(rawBody);
	if (!parsed.ok) return quarantine('not_json');
	const envelope = parsed.value;
	if (nestingExceeds(envelope, MAX_NESTING_DEPTH)) return quarantine('too_deep');
	delivery.contentSha256 = createHash('sha256').update(canonicalize(envelope) ?? 'null', 'utf8').digest('hex');
	const channel = isObject(envelope) ? MESSAGING_OBJECTS[String(envelope.object)] : undefined;
	if (!isObject(envelope) || !channel || !Array.isArray(envelope.entry)) return quarantine('not_envelope');

	const records: CaptureRecord[] = [];
	envelope.entry.forEach((entry: unknown, entryIndex: number) => {
		if (!isObject(entry)) return;
		const accountId = idString(entry.id);
		for (const list of ['messaging', 'standby'] as const) {
			if (!Array.isArray(entry[list])) continue;
			(entry[list] as unknown[]).forEach((event, index) => {
				if (!isObject(event)) return;
				const facts = eventFacts(channel, delivery, accountId, event, `entry[${entryIndex}].${list}[${index}]`, list === 'standby');
				records.push(eventRecord(facts));
			});
		}
	});
	return records.length ? records : quarantine('empty_envelope', channel);
}

function eventFacts(channel: MessagingChannel, delivery: DeliveryFacts, accountId: string | null, event: JsonObject, position: string, standby: boolean): EventFacts {
	const sender = isObject(event.sender) ? idString(event.sender.id) : null;
	const recipient = isObject(event.recipient) ? idString(event.recipient.id) : null;
	const message = isObject(event.message) ? event.message : null;
	// an echo, or anything the business account sent, is outbound; the customer is then the recipient
	const outbound = message?.is_echo === true || (sender !== null && sender === accountId);
	return {
		channel,
		delivery,
		accountId,
		userId: outbound ? recipient : sender,
		direction: outbound ? 'outbound' : 'inbound',
		timestamp: epochMillisToIso(event.timestamp),
		event,
		position,
		standby,
	};
}

/** Epoch milliseconds (Meta's messaging `timestamp`) → ISO 8601 UTC; null when absent or invalid. */
export function epochMillisToIso(value: unknown): string | null {
	const millis = typeof value === 'number' ? value : typeof value === 'string' && /^\d{1,15}$/.test(value) ? Number(value) : NaN;
	if (!Number.isFinite(millis) || millis < 0) return null;
	const date = new Date(millis);
	return Number.isNaN(date.getTime()) ? null : date.toISOString();
}

/** The record of one messaging event. */
function eventRecord(facts: EventFacts): CaptureRecord {
	const { event } = facts;
	if (isObject(event.message)) return messageEventRecord(facts, event.message);
	if (isObject(event.message_edit)) {
		const edit = event.message_edit;
		const mid = stringOrNull(edit.mid);
		const count = idString(edit.num_edit) ?? '0';
		return build(facts, {
			record_kind: 'message',
			field: 'message_edits',
			type: 'edit',
			wamid: mid,
			original_wamid: mid,
			content: { original_message_id: mid, num_edit: Number(count), message: { type: 'text', text: { body: stringOrNull(edit.text) ?? '' } } },
			keyParts: [mid, 'edit', count],
		});
	}
	if (isObject(event.reaction)) {
		const reaction = event.reaction;
		const mid = stringOrNull(reaction.mid);
		const action = stringOrNull(reaction.action) ?? 'react';
		return build(facts, {
			record_kind: 'message',
			field: 'message_reactions',
			type: 'reaction',
			wamid: null,
			content: { message_id: mid, emoji: stringOrNull(reaction.emoji), reaction: stringOrNull(reaction.reaction), action, removed: action === 'unreact' },
			keyParts: [mid, 'reaction', facts.userId, action, idString(event.timestamp)],
		});
	}
	for (const [key, status, field] of [
		['read', 'read', facts.channel === 'instagram' ? 'messaging_seen' : 'message_reads'],
		['delivery', 'delivered', 'message_deliveries'],
	] as const) {
		const report = event[key];
		if (!isObject(report)) continue;
		const mid = stringOrNull(report.mid);
		const mids = Array.isArray(report.mids) ? report.mids.filter((m): m is string => typeof m === 'string') : [];
		const content: JsonObject = { status };
		if (mid) content.mid = mid;
		if (mids.length) content.mids = mids;
		if (report.watermark !== undefined) content.watermark = report.watermark;
		return build(facts, {
			record_kind: 'status',
			field,
			type: status,
			wamid: mid ?? (mids.length === 1 ? mids[0] : null),
			direction: 'outbound',
			content,
			// the message it reports on, when it names one; a watermark alone names none (the derived key)
			keyParts: [mid ?? (mids.length === 1 ? mids[0] : null), status],
		});
	}
	if (isObject(event.postback)) {
		const postback = event.postback;
		const mid = stringOrNull(postback.mid);
		return build(facts, {
			record_kind: 'message',
			field: 'messaging_postbacks',
			type: 'postback',
			wamid: mid,
			content: { body: stringOrNull(postback.title) ?? '', payload: stringOrNull(postback.payload) },
			keyParts: mid ? [mid, 'postback'] : [null],
		});
	}
	const key = EVENT_KEYS.find((name) => event[name] !== undefined) ?? 'unknown';
	return build(facts, { record_kind: 'event', field: key === 'unknown' ? null : key, type: key, wamid: null, content: { ...event }, keyParts: [null] });
}

function messageEventRecord(facts: EventFacts, message: JsonObject): CaptureRecord {
	const mid = stringOrNull(message.mid);
	const field = message.is_echo === true && facts.channel === 'messenger' ? 'message_echoes' : 'messages';
	if (message.is_deleted === true) {
		return build(facts, {
			record_kind: 'message',
			field,
			type: 'revoke',
			wamid: mid,
			original_wamid: mid,
			content: { original_message_id: mid },
			keyParts: [mid, 'unsend'],
		});
	}
	const text = stringOrNull(message.text);
	const attachments = Array.isArray(message.attachments) ? message.attachments.filter(isObject).map(attachmentContent) : [];
	const content: JsonObject = {};
	if (text !== null) content.body = text;
	if (attachments.length) {
		content.attachments = attachments;
		if (text !== null) content.caption = text;
	}
	if (isObject(message.quick_reply)) content.quick_reply = message.quick_reply;
	if (message.is_unsupported === true) content.is_unsupported = true;
	if (message.is_echo === true) {
		if (message.app_id !== undefined) content.app_id = message.app_id;
		if (typeof message.metadata === 'string') content.metadata = message.metadata;
	}
	const type = message.is_unsupported === true ? 'unsupported' : attachments.length ? String(attachments[0].type) : text !== null ? 'text' : 'unknown';
	const replyTo = isObject(message.reply_to) ? stringOrNull(message.reply_to.mid) : null;
	return build(facts, {
		record_kind: 'message',
		field,
		type,
		wamid: mid,
		content,
		context: replyTo ? { reply_to: replyTo, reply_to_from: null, forwarded: false, frequently_forwarded: false, referred_product: null, referral: null } : null,
		keyParts: [mid],
	});
}

/** One attachment as a record keeps it: its type (Messenger `file` as `document`), URL, title, sticker id. */
function attachmentContent(attachment: JsonObject): JsonObject {
	const payload = isObject(attachment.payload) ? attachment.payload : {};
	const sent = stringOrNull(attachment.type) ?? 'unknown';
	const result: JsonObject = { type: ATTACHMENT_TYPES[sent] ?? 'unknown' };
	if (!ATTACHMENT_TYPES[sent]) result.original_type = sent;
	const url = stringOrNull(payload.url);
	if (url) result.url = url;
	const title = stringOrNull(payload.title) ?? stringOrNull(attachment.title);
	if (title) result.title = title;
	if (payload.sticker_id !== undefined) result.sticker_id = payload.sticker_id;
	if (isObject(payload.coordinates)) result.coordinates = payload.coordinates;
	return result;
}

/** The per-event parts of a record. */
interface EventFields {
	record_kind: RecordKind;
	field: string | null;
	type: string;
	wamid: string | null;
	content: JsonObject;
	direction?: Direction;
	original_wamid?: string | null;
	context?: RecordContext | null;
	/** `<channel>:<account_id>:` + these, joined by `:`, when every part is known. */
	keyParts?: Array<string | null>;
}

function build(facts: EventFacts, fields: EventFields): CaptureRecord {
	const { delivery, channel, accountId } = facts;
	const parts = fields.keyParts ?? [null];
	const natural = accountId !== null && parts.every((part) => part !== null && part !== '');
	const field = facts.standby ? 'standby' : fields.field;
	return {
		schema_version: SCHEMA_VERSION,
		record_kind: fields.record_kind,
		provider: META_MESSAGING_PROVIDER,
		channel,
		account_id: accountId,
		direction: fields.direction ?? facts.direction,
		waba_id: null,
		phone_number_id: null,
		display_phone_number: null,
		field,
		wamid: fields.wamid,
		type: fields.type,
		timestamp: facts.timestamp,
		received_at: delivery.receivedAt,
		...clockFields(facts.timestamp, delivery.receivedAt, field),
		counterparty: { wa_id: null, user_id: facts.userId, name: null },
		content: fields.content,
		context: fields.context ?? null,
		original_wamid: fields.original_wamid ?? null,
		position: facts.position,
		idempotency_key: natural ? [channel, accountId, ...parts].join(':') : `jcs:${delivery.contentSha256}:${facts.position}`,
		delivery_sha256: delivery.deliverySha256,
		signature_verified: delivery.signatureVerified,
		graph_api_version: delivery.graphApiVersion,
		raw: facts.event,
	};
}
