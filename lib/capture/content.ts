import type { JsonObject, RecordContext } from './types';

/** Message types whose content carries a media id (Graph API media, Twilio media URLs). */
export const MEDIA_MESSAGE_TYPES = ['image', 'audio', 'video', 'document', 'sticker'] as const;

/**
 * Message types this engine knows (Meta, "messages webhook reference" and its per-type subpages;
 * `edit`/`revoke` from the coexistence `smb_message_echoes` / `messages` references;
 * `media_placeholder`: a media message of the coexistence history sent before its media id, named by
 * solution providers, not in Meta's reference). A message whose `type` is not listed here becomes a
 * record of type `unknown` (nothing is dropped).
 */
export const KNOWN_MESSAGE_TYPES = [
	'text',
	...MEDIA_MESSAGE_TYPES,
	'location',
	'contacts',
	'interactive',
	'button',
	'reaction',
	'order',
	'system',
	'request_welcome',
	'unsupported',
	'edit',
	'revoke',
	'media_placeholder',
] as const;

/** Status values this engine knows (Meta, "statuses webhook reference"; `deleted`/`warning` are older values). */
export const KNOWN_STATUS_VALUES = [
	'sent',
	'delivered',
	'read',
	'played',
	'failed',
	'deleted',
	'warning',
] as const;

/** Message keys moved to other record fields, hence not repeated in `content`. */
const MESSAGE_ENVELOPE_KEYS = new Set([
	'from',
	'from_user_id',
	'to',
	'to_user_id',
	'id',
	'timestamp',
	'type',
	'context',
	'referral',
]);

/** Status keys moved to other record fields (`wamid`, `timestamp`, `counterparty`). */
const STATUS_ENVELOPE_KEYS = new Set(['id', 'timestamp', 'recipient_user_id']);

/** True for a non-null, non-array object. */
export function isObject(value: unknown): value is JsonObject {
	return value !== null && typeof value === 'object' && !Array.isArray(value);
}

/** The value if it is a non-empty string, else null. */
export function stringOrNull(value: unknown): string | null {
	return typeof value === 'string' && value.length > 0 ? value : null;
}

/**
 * Normalized `type` of a message: its `type` when known, else `unknown` (including Meta's own legacy
 * `unknown` and a missing type).
 */
export function messageType(message: JsonObject): string {
	const type = message.type;
	return typeof type === 'string' && (KNOWN_MESSAGE_TYPES as readonly string[]).includes(type)
		? type
		: 'unknown';
}

/**
 * Type-specific content of a message or echo (Meta "messages webhook reference"):
 * - the type's own object is kept as is (shallow copy): `text` → `{ body }`, media →
 *   `{ id, mime_type, sha256, caption?, filename?, voice?, animated?, url? }`, `location`,
 *   `interactive` (`{ type, button_reply | list_reply | nfm_reply | … }`), `button`, `order`, `system`,
 *   `unsupported`, `edit` (`{ original_message_id, message }`), `revoke` (`{ original_message_id }`);
 * - `contacts` → `{ contacts: [...] }` (the type's value is an array);
 * - `reaction` → `{ message_id, emoji?, removed }`, `removed: true` when emoji is missing or empty;
 * - `request_welcome` → its object or `{}`;
 * - unknown type → `{ original_type, value }` (`value` = the object under the type's key, or null);
 * - message-level `errors[]` (e.g. code 131051 on `unsupported`) → `errors`;
 * - any other message key not carried elsewhere in the record (`group_id`, `from_parent_user_id`,
 *   `identity`, future keys) is kept under `extra` so it is not lost from the normalized view.
 */
export function messageContent(message: JsonObject): JsonObject {
	const type = messageType(message);
	const originalType = typeof message.type === 'string' ? message.type : null;
	const typeValue = originalType !== null ? message[originalType] : undefined;
	let content: JsonObject;

	switch (type) {
		case 'unknown':
			content = { original_type: originalType, value: typeValue === undefined ? null : typeValue };
			break;
		case 'contacts':
			content = { contacts: Array.isArray(typeValue) ? typeValue : [] };
			break;
		case 'reaction': {
			const reaction = isObject(typeValue) ? { ...typeValue } : {};
			const emoji = reaction.emoji;
			content = { ...reaction, removed: typeof emoji !== 'string' || emoji.length === 0 };
			break;
		}
		default:
			content = isObject(typeValue) ? { ...typeValue } : {};
	}

	if (Array.isArray(message.errors) && !('errors' in content)) {
		content.errors = message.errors;
	}
	const extra: JsonObject = {};
	for (const [key, value] of Object.entries(message)) {
		if (MESSAGE_ENVELOPE_KEYS.has(key) || key === originalType || key === 'errors') continue;
		extra[key] = value;
	}
	if (Object.keys(extra).length > 0) content.extra = extra;
	return content;
}

/**
 * Normalized `type` of a status: its `status` when known, else `unknown`.
 */
export function statusType(status: JsonObject): string {
	const value = status.status;
	return typeof value === 'string' && (KNOWN_STATUS_VALUES as readonly string[]).includes(value)
		? value
		: 'unknown';
}

/**
 * Content of a status (Meta "statuses webhook reference"): `{ status, recipient_id?, recipient_type?,
 * errors?, pricing?, conversation?, biz_opaque_callback_data?, … }` — every key of the status object
 * except `id`, `timestamp` and `recipient_user_id`, which are carried by `wamid`, `timestamp` and
 * `counterparty`. `status` is the original value even when the record type is `unknown`.
 */
export function statusContent(status: JsonObject): JsonObject {
	const content: JsonObject = { status: status.status === undefined ? null : status.status };
	for (const [key, value] of Object.entries(status)) {
		if (STATUS_ENVELOPE_KEYS.has(key) || key === 'status') continue;
		content[key] = value;
	}
	return content;
}

/**
 * Reply / forward / referral context of a message, or null when it has neither `context` nor `referral`.
 */
export function messageContext(message: JsonObject): RecordContext | null {
	const context = isObject(message.context) ? message.context : undefined;
	const referral = isObject(message.referral) ? message.referral : undefined;
	if (context === undefined && referral === undefined) return null;
	return {
		reply_to: stringOrNull(context?.id),
		reply_to_from: stringOrNull(context?.from),
		forwarded: context?.forwarded === true,
		frequently_forwarded: context?.frequently_forwarded === true,
		referred_product: isObject(context?.referred_product) ? context.referred_product : null,
		referral: referral ?? null,
	};
}

/**
 * For `edit` and `revoke` messages, the wamid of the original message (`original_message_id`), else null.
 */
export function originalWamid(message: JsonObject): string | null {
	const type = message.type;
	if (type !== 'edit' && type !== 'revoke') return null;
	const value = message[type];
	return isObject(value) ? stringOrNull(value.original_message_id) : null;
}
