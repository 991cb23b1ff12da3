/**
 * Telegram Bot API webhooks (Telegram, "Bot API": `setWebhook` and its `secret_token`, `Update`,
 * `Message`, `BusinessConnection`, `BusinessMessagesDeleted`): JSON `POST`s authenticated by the
 * `X-Telegram-Bot-Api-Secret-Token` header, normalized into {@link CaptureRecord}s with
 * `channel: "telegram"` and `provider: "telegram_bot_api"`.
 *
 * `account_id` is always the bot's user id (the digits before `:` in its token), for business messages
 * too: a business message names its business connection (`business_connection_id`, kept in `content`)
 * but not the business account's user id, which only `business_connection` updates carry.
 */
import { createHash, timingSafeEqual } from 'node:crypto';

import { isObject, stringOrNull } from './content';
import { epochSecondsToIso } from './record';
import type { CaptureRecord, Counterparty, JsonObject, Person, RecordContext } from './types';
import { SCHEMA_VERSION, TELEGRAM_PROVIDER } from './types';

/** The header Telegram sends the webhook's `secret_token` in (Bot API, `setWebhook`). */
export const TELEGRAM_SECRET_HEADER = 'x-telegram-bot-api-secret-token';

/** `secret_token` as `setWebhook` accepts it: 1-256 characters, only `A-Z`, `a-z`, `0-9`, `_` and `-`. */
export const TELEGRAM_SECRET_TOKEN_PATTERN = /^[A-Za-z0-9_-]{1,256}$/;

/** The `Update` fields this engine normalizes (Bot API, `Update`); also the `allowed_updates` it asks for. */
export const TELEGRAM_UPDATE_TYPES = [
	'message',
	'edited_message',
	'business_connection',
	'business_message',
	'edited_business_message',
	'deleted_business_messages',
] as const;

/** `Message` fields holding a file (Bot API, `Message`); `photo` is an array of `PhotoSize`. */
export const TELEGRAM_FILE_TYPES = ['photo', 'document', 'voice', 'video', 'audio', 'sticker', 'animation', 'video_note'] as const;

/** Other `Message` content fields kept as the record's type and content (Bot API, `Message`). */
const OTHER_CONTENT_TYPES = ['location', 'venue', 'contact', 'poll', 'dice', 'story', 'invoice', 'paid_media', 'checklist', 'game'] as const;

/**
 * Most message ids of one `deleted_business_messages` update made into records. Telegram deletes at
 * most 100 messages per request (Bot API, `deleteMessages`); an update with more is quarantined whole
 * rather than turned into that many records (each carrying the whole update).
 */
export const MAX_DELETED_MESSAGE_IDS = 1000;

/** Options of {@link verifyTelegramSecret}. */
export interface VerifyTelegramSecretOptions {
	/** Value of the `X-Telegram-Bot-Api-Secret-Token` header, or undefined when absent. */
	header: string | undefined;
	/** The `secret_token` given to `setWebhook` (the credential's Secret Token). */
	secretToken: string;
}

/** Result of {@link verifyTelegramSecret}. */
export interface VerifyTelegramSecretResult {
	verified: boolean;
	/** Why not: `missing secret token`, `missing header`, `secret mismatch`. Never the header's value. */
	reason?: string;
}

/**
 * Checks `X-Telegram-Bot-Api-Secret-Token` against the webhook's secret: SHA-256 of both compared with
 * `timingSafeEqual`, so neither the comparison time nor a length check tells a caller how much matched.
 * Never throws.
 */
export function verifyTelegramSecret(options: VerifyTelegramSecretOptions): VerifyTelegramSecretResult {
	if (typeof options.secretToken !== 'string' || options.secretToken.length === 0) {
		return { verified: false, reason: 'missing secret token' };
	}
	if (typeof options.header !== 'string' || options.header.length === 0) return { verified: false, reason: 'missing header' };
	const expected = createHash('sha256').update(options.secretToken, 'utf8').digest();
	const actual = createHash('sha256').update(options.header, 'utf8').digest();
	return timingSafeEqual(actual, expected) ? { verified: true } : { verified: false, reason: 'secret mismatch' };
}

/** The bot's user id: the digits before `:` of a bot token (`<bot id>:<secret part>`), or null for another shape. */
export function botIdOfToken(token: string | undefined): string | null {
	const match = /^(\d{1,20}):[A-Za-z0-9_-]{20,}$/.exec((token ?? '').trim());
	return match ? match[1] : null;
}

/** Options of {@link normalizeTelegramUpdate}. */
export interface NormalizeTelegramOptions {
	/** Exact body bytes (hashed into `delivery_sha256`). */
	rawBody: Buffer;
	/** The bot's user id ({@link botIdOfToken}): the records' `account_id`. */
	botId: string;
	receivedAt: Date;
	/** Result of the secret check, copied into `signature_verified`. */
	secretVerified: boolean;
	/** Content-Type request header, kept on quarantine records. */
	contentType?: string;
}

/** What every record of one update shares. */
interface UpdateFacts {
	botId: string;
	base: Pick<
		CaptureRecord,
		| 'schema_version'
		| 'channel'
		| 'account_id'
		| 'provider'
		| 'waba_id'
		| 'phone_number_id'
		| 'display_phone_number'
		| 'received_at'
		| 'delivery_sha256'
		| 'signature_verified'
		| 'graph_api_version'
	>;
}

/**
 * Turns one webhook `Update` into records:
 * - `message`, `edited_message`, `business_message`, `edited_business_message`: one `message` record
 *   (`field` the update field; `type` the content field: `text`, `photo`, `document`, …, `unknown`);
 *   an edit has `original_wamid` set and `timestamp` = `edit_date`;
 * - `deleted_business_messages`: one `message` record of type `deleted` per `message_ids[]` element;
 * - `business_connection`: one `event` record of type `business_connection`;
 * - any other update field: one `event` record of type `unknown`;
 * - a body that is not JSON or not an `Update` (no integer `update_id`), or a deletion of more than
 *   {@link MAX_DELETED_MESSAGE_IDS} messages: one `quarantine` record.
 * `wamid` is `<chat id>_<message id>` (Telegram numbers messages per chat). `idempotency_key` is
 * `telegram:<bot id>:<chat id>_<message id>`, with `:edited_<edit_date>` for an edit and `:deleted`
 * for a deletion; `telegram:<bot id>:<connection id>:connection_<update_id>` for a business connection;
 * `telegram:<bot id>:update_<update_id>` for an unknown update.
 */
export function normalizeTelegramUpdate(options: NormalizeTelegramOptions): CaptureRecord[] {
	const deliverySha256 = createHash('sha256').update(options.rawBody).digest('hex');
	const receivedAt = Number.isNaN(options.receivedAt?.getTime?.()) ? new Date().toISOString() : options.receivedAt.toISOString();
	const facts: UpdateFacts = {
		botId: options.botId,
		base: {
			schema_version: SCHEMA_VERSION,
			channel: 'telegram',
			account_id: options.botId,
			provider: TELEGRAM_PROVIDER,
			waba_id: null,
			phone_number_id: null,
			display_phone_number: null,
			received_at: receivedAt,
			delivery_sha256: deliverySha256,
			signature_verified: options.secretVerified === true,
			graph_api_version: null,
		},
	};
	let update: unknown;
	try {
		update = JSON.parse(options.rawBody.toString('utf8'));
	} catch {
		update = undefined;
	}
	if (!isObject(update) || !Number.isSafeInteger(update.update_id)) return [quarantine(facts, options)];
	const field = Object.keys(update).find((key) => key !== 'update_id') ?? null;
	const value = field === null ? undefined : update[field];
	if ((field === 'message' || field === 'edited_message' || field === 'business_message' || field === 'edited_business_message') && isObject(value) && isObject(value.chat)) {
		return [messageRecord(facts, update, field, value)];
	}
	if (field === 'deleted_business_messages' && isObject(value) && isObject(value.chat) && Array.isArray(value.message_ids)) {
		return value.message_ids.length > MAX_DELETED_MESSAGE_IDS ? [quarantine(facts, options)] : deletedRecords(facts, update, value);
	}
	if (field === 'business_connection' && isObject(value)) return [connectionRecord(facts, update, value)];
	return [
		{
			...facts.base,
			record_kind: 'event',
			direction: null,
			field,
			wamid: null,
			type: 'unknown',
			timestamp: null,
			counterparty: nobody(),
			content: {},
			context: null,
			original_wamid: null,
			position: field ?? 'body',
			idempotency_key: `telegram:${facts.botId}:update_${update.update_id as number}`,
			raw: update,
		},
	];
}

/** One message of the bot's chats or of a connected business account, new or edited. */
function messageRecord(facts: UpdateFacts, update: JsonObject, field: string, message: JsonObject): CaptureRecord {
	const chat = message.chat as JsonObject;
	const wamid = `${idText(chat.id)}_${idText(message.message_id)}`;
	const edited = field.startsWith('edited_');
	const editDate = edited ? idText(message.edit_date) : '';
	const { type, content } = messageContent(message);
	if (typeof message.business_connection_id === 'string') content.business_connection_id = message.business_connection_id;
	if (isObject(message.sender_business_bot)) content.sender_business_bot_id = idText(message.sender_business_bot.id);
	const counterparty = chatCounterparty(chat);
	const record: CaptureRecord = {
		...facts.base,
		record_kind: 'message',
		direction: directionOf(message, chat),
		field,
		wamid,
		type,
		timestamp: epochSecondsToIso(edited ? message.edit_date : message.date),
		counterparty,
		content,
		context: messageContext(message, chat),
		original_wamid: edited ? wamid : null,
		position: field,
		idempotency_key: `telegram:${facts.botId}:${wamid}${edited ? `:edited_${editDate}` : ''}`,
		raw: update,
	};
	if (counterparty.group_id !== undefined && isObject(message.from)) record.participant = person(message.from);
	return record;
}

/** One `deleted` record per id of a `BusinessMessagesDeleted`. */
function deletedRecords(facts: UpdateFacts, update: JsonObject, deleted: JsonObject): CaptureRecord[] {
	const chat = deleted.chat as JsonObject;
	return (deleted.message_ids as unknown[]).map((messageId, index) => {
		const wamid = `${idText(chat.id)}_${idText(messageId)}`;
		return {
			...facts.base,
			record_kind: 'message' as const,
			direction: null,
			field: 'deleted_business_messages',
			wamid,
			type: 'deleted',
			// Telegram sends no time with a deletion
			timestamp: null,
			counterparty: chatCounterparty(chat),
			content: { business_connection_id: typeof deleted.business_connection_id === 'string' ? deleted.business_connection_id : null },
			context: null,
			original_wamid: wamid,
			position: `deleted_business_messages.message_ids[${index}]`,
			idempotency_key: `telegram:${facts.botId}:${wamid}:deleted`,
			raw: update,
		};
	});
}

/** A business account connected to (or disconnected from) the bot (`BusinessConnection`). */
function connectionRecord(facts: UpdateFacts, update: JsonObject, connection: JsonObject): CaptureRecord {
	const connectionId = typeof connection.id === 'string' ? connection.id : 'unknown';
	const content: JsonObject = {
		id: connection.id ?? null,
		user_id: isObject(connection.user) ? idText(connection.user.id) : null,
		user_chat_id: connection.user_chat_id === undefined ? null : idText(connection.user_chat_id),
		is_enabled: connection.is_enabled === true,
	};
	if (isObject(connection.rights)) content.rights = connection.rights;
	if (typeof connection.can_reply === 'boolean') content.can_reply = connection.can_reply;
	return {
		...facts.base,
		record_kind: 'event',
		direction: null,
		field: 'business_connection',
		wamid: null,
		type: 'business_connection',
		timestamp: epochSecondsToIso(connection.date),
		// the business account itself, not a customer
		counterparty: nobody(),
		content,
		context: null,
		original_wamid: null,
		position: 'business_connection',
		idempotency_key: `telegram:${facts.botId}:${connectionId}:connection_${update.update_id as number}`,
		raw: update,
	};
}

/** A body that is not an `Update`, kept whole. */
function quarantine(facts: UpdateFacts, options: NormalizeTelegramOptions): CaptureRecord {
	return {
		...facts.base,
		record_kind: 'quarantine',
		direction: null,
		field: null,
		wamid: null,
		type: 'quarantine',
		timestamp: null,
		counterparty: nobody(),
		content: null,
		context: null,
		original_wamid: null,
		position: 'body',
		idempotency_key: `sha256:${facts.base.delivery_sha256}:body`,
		raw: {
			body_base64: options.rawBody.toString('base64'),
			...(options.contentType !== undefined ? { content_type: options.contentType } : {}),
		},
	};
}

/**
 * The type and content of a message: `text` ({ text, entities? }); a file type ({@link
 * TELEGRAM_FILE_TYPES}: the file object, for `photo` its largest size, plus `caption` and
 * `caption_entities`); another content field ({ <field>: object }); else `unknown` with the names
 * of the message's fields.
 */
export function messageContent(message: JsonObject): { type: string; content: JsonObject } {
	if (typeof message.text === 'string') {
		const content: JsonObject = { text: message.text };
		if (Array.isArray(message.entities)) content.entities = message.entities;
		return { type: 'text', content };
	}
	for (const type of TELEGRAM_FILE_TYPES) {
		const file = type === 'photo' ? largestPhoto(message.photo) : message[type];
		if (!isObject(file)) continue;
		const content: JsonObject = { ...file };
		delete content.thumbnail;
		if (typeof message.caption === 'string') content.caption = message.caption;
		if (Array.isArray(message.caption_entities)) content.caption_entities = message.caption_entities;
		return { type, content };
	}
	for (const type of OTHER_CONTENT_TYPES) {
		if (message[type] !== undefined) return { type, content: { [type]: message[type] } };
	}
	return { type: 'unknown', content: { fields: Object.keys(message).sort() } };
}

/** The largest `PhotoSize` (by `file_size`, else the last: Telegram lists sizes smallest first). */
function largestPhoto(sizes: unknown): JsonObject | undefined {
	if (!Array.isArray(sizes)) return undefined;
	const photos = sizes.filter(isObject);
	const sized = photos.filter((photo) => typeof photo.file_size === 'number');
	if (sized.length === photos.length && sized.length > 0) {
		return sized.reduce((best, photo) => ((photo.file_size as number) > (best.file_size as number) ? photo : best));
	}
	return photos[photos.length - 1];
}

/**
 * `inbound` when the customer wrote; `outbound` when the business account (or a bot on its behalf,
 * `sender_business_bot`) wrote in a business chat, i.e. the sender is not the private chat's user.
 */
function directionOf(message: JsonObject, chat: JsonObject): 'inbound' | 'outbound' {
	if (typeof message.business_connection_id !== 'string') return 'inbound';
	if (isObject(message.sender_business_bot)) return 'outbound';
	return isObject(message.from) && idText(message.from.id) === idText(chat.id) ? 'inbound' : 'outbound';
}

/** The chat as counterparty: a private chat's user (`user_id` = the Telegram user id), or a group. */
function chatCounterparty(chat: JsonObject): Counterparty {
	if (chat.type === 'private' || chat.type === undefined) return person(chat);
	return { wa_id: null, user_id: null, name: typeof chat.title === 'string' ? chat.title : null, group_id: idText(chat.id) };
}

/** A Telegram `User` (or private `Chat`) as a {@link Person}: user id, full name, username. */
function person(user: JsonObject): Person {
	const name = [user.first_name, user.last_name].filter((part) => typeof part === 'string' && part.length > 0).join(' ');
	const result: Person = { wa_id: null, user_id: user.id === undefined ? null : idText(user.id), name: name || null };
	if (typeof user.username === 'string' && user.username.length > 0) result.username = user.username;
	return result;
}

/** Reply and forward facts (`reply_to_message`, `forward_origin`), or null when there are none. */
function messageContext(message: JsonObject, chat: JsonObject): RecordContext | null {
	const reply = isObject(message.reply_to_message) ? message.reply_to_message : null;
	const forwarded = message.forward_origin !== undefined;
	if (!reply && !forwarded) return null;
	return {
		reply_to: reply ? `${idText(isObject(reply.chat) ? reply.chat.id : chat.id)}_${idText(reply.message_id)}` : null,
		reply_to_from: reply && isObject(reply.from) ? idText(reply.from.id) : null,
		forwarded,
		frequently_forwarded: false,
		referred_product: null,
		referral: null,
	};
}

/** The empty counterparty of records about no customer. */
function nobody(): Counterparty {
	return { wa_id: null, user_id: null, name: null };
}

/** An integer id as decimal text (Telegram ids fit in 52 bits, so JSON numbers keep them exactly). */
function idText(value: unknown): string {
	return typeof value === 'number' && Number.isSafeInteger(value) ? String(value) : typeof value === 'string' ? value : 'unknown';
}

/** What a message record says about its file (Bot API: `file_id`, `file_unique_id`, `file_name`, `mime_type`). */
export interface TelegramFileReference {
	/** For `getFile`. */
	fileId: string;
	/** Stable id of the file across bots; safe for a binary's name. */
	fileUniqueId: string | null;
	/** `file_name` (documents, audio, video): user content, never in object keys. */
	fileName: string | null;
	mimeType: string | null;
}

/** The file of a `message` record of a file type ({@link TELEGRAM_FILE_TYPES}) with a `file_id`; else null. */
export function telegramFileReference(record: CaptureRecord): TelegramFileReference | null {
	if (record.record_kind !== 'message' || record.channel !== 'telegram') return null;
	if (!(TELEGRAM_FILE_TYPES as readonly string[]).includes(record.type)) return null;
	const content = isObject(record.content) ? record.content : {};
	const fileId = stringOrNull(content.file_id);
	if (fileId === null) return null;
	return { fileId, fileUniqueId: stringOrNull(content.file_unique_id), fileName: stringOrNull(content.file_name), mimeType: stringOrNull(content.mime_type) };
}
