import { createHmac } from 'node:crypto';

import { ArchiveError, type ArchiveRecordFields, type Counterparty } from './types';

/**
 * Object key layout of the archive and the pseudonyms it uses.
 *
 * A record is stored at
 *
 *     <prefix>/<retention class>/<account>/<yyyy>/<mm>/<dd>/<counterparty pseudonym>/<record id>.pgp
 *
 * where `<account>` is the WhatsApp `phone_number_id` (digits, `_unknown`, `_quarantine`), or for the
 * other channels `<channel>-<account_id>` (`messenger-1045566778899`, `sms-15550100999`; schema
 * version 2, docs/FORMAT.md). Readers accept both forms.
 *
 * Nothing in a key identifies a person: the counterparty appears only as an HMAC pseudonym and the
 * record only as an HMAC of its idempotency key (a wamid base64-encodes the counterparty's phone
 * number, so neither wamids, idempotency keys, phone numbers nor names ever appear in keys).
 * Both HMACs use the credential's *index key*: whoever holds it can compute the pseudonym for a phone
 * number and list that person's records (`<prefix>/<class>/<phone_number_id>/…/<pseudonym>/`) without
 * the storage provider ever seeing the number. Losing the index key makes such lookups impossible;
 * changing it splits the archive (old and new records get different pseudonyms).
 */

/** Segment used when the phone_number_id or the counterparty is unknown. */
export const UNKNOWN_SEGMENT = '_unknown';

/**
 * phone_number_id segment of quarantined bodies (signed deliveries that are not a WhatsApp envelope):
 * `<prefix>/<class>/_quarantine/<yyyy>/<mm>/<dd>/_unknown/<record id>.pgp`, apart from the events.
 */
export const QUARANTINE_SEGMENT = '_quarantine';

/** Suffix of an encrypted record object. */
export const RECORD_SUFFIX = '.pgp';

/** Suffix of an encrypted media object belonging to a record. */
export const MEDIA_SUFFIX = '.media.pgp';

/** Longest object key S3 accepts, in UTF-8 bytes (S3 User Guide, "Naming objects"). */
export const MAX_KEY_BYTES = 1024;

/** Shortest index key accepted, in UTF-8 bytes. */
export const MIN_INDEX_KEY_BYTES = 32;

/**
 * Least estimated entropy of an index key, in bits: about 128, with room for the few characters of a
 * random 32-character hex key (128 bits) that the estimate discounts by chance.
 */
export const MIN_INDEX_KEY_BITS = 120;

/** How to make an index key, shown with every refusal. */
export const INDEX_KEY_ADVICE = 'Generate one with "openssl rand -hex 32" (64 hex characters)';

/**
 * Estimated entropy of an index key in bits: characters that add something × log2 of the alphabet of
 * the character classes the key uses (16 for a key of hex digits only, either case; else digits 10, lower-case 26,
 * upper-case 26, anything else 33). A character adds nothing when it continues a run — the same step of
 * -1, 0 or +1 code points for the third time (`aaaa`, `abcd`, `4321`) — or ends a 4-character sequence
 * seen earlier in the key (`passwordpassword`). A floor against obviously weak keys, not a strength
 * meter: a typed phrase can pass it and still be guessable, so generate the key.
 */
export function indexKeyEntropyBits(indexKey: string): number {
	const chars = Array.from(indexKey);
	const codes = chars.map((c) => c.codePointAt(0)!);
	const seen = new Set<string>();
	let adding = 0;
	for (let n = 0; n < chars.length; n++) {
		const step = (k: number) => codes[k] - codes[k - 1];
		const run = n >= 3 && Math.abs(step(n)) <= 1 && step(n) === step(n - 1) && step(n) === step(n - 2);
		if (n >= 6) seen.add(chars.slice(n - 6, n - 2).join(''));
		const repeat = n >= 3 && seen.has(chars.slice(n - 3, n + 1).join(''));
		if (!run && !repeat) adding += 1;
	}
	return adding * Math.log2(indexKeyAlphabet(indexKey));
}

function indexKeyAlphabet(indexKey: string): number {
	if (/^[0-9a-fA-F]+$/.test(indexKey)) return 16;
	let size = 0;
	if (/[0-9]/.test(indexKey)) size += 10;
	if (/[a-z]/.test(indexKey)) size += 26;
	if (/[A-Z]/.test(indexKey)) size += 26;
	if (/[^0-9a-zA-Z]/.test(indexKey)) size += 33;
	return size;
}

/** The last key {@link assertIndexKey} accepted: the check runs for every pseudonym and record id. */
let lastAccepted: string | undefined;

/**
 * The one check of an index key, wherever one is used (key layout, lookups, holds, encrypt at
 * capture, credential tests): at least {@link MIN_INDEX_KEY_BYTES} UTF-8 bytes and an estimated
 * entropy of at least {@link MIN_INDEX_KEY_BITS} bits ({@link indexKeyEntropyBits}). A weak key is a
 * real risk: `index_key_check` travels with every item encrypted at capture, so a guessed key can be
 * confirmed offline and then maps every phone number to its pseudonym.
 *
 * @param credential the credential that holds it, named in the message.
 * @returns the index key.
 * @throws ArchiveError `InvalidInput` naming the credential field and how to generate a key (never the value).
 */
export function assertIndexKey(indexKey: unknown, credential = 'S3 Archive Store'): string {
	if (typeof indexKey === 'string' && indexKey === lastAccepted) return indexKey;
	const field = `"Index Key" of the ${credential} credential`;
	if (typeof indexKey !== 'string' || indexKey.length === 0) {
		throw new ArchiveError(`The ${field} is empty. ${INDEX_KEY_ADVICE}.`, { code: 'InvalidInput', hint: INDEX_KEY_ADVICE });
	}
	const tooShort = Buffer.byteLength(indexKey, 'utf8') < MIN_INDEX_KEY_BYTES;
	if (tooShort || indexKeyEntropyBits(indexKey) < MIN_INDEX_KEY_BITS) {
		const rule = tooShort ? `shorter than ${MIN_INDEX_KEY_BYTES} bytes` : 'too predictable (repeats, runs or too few kinds of characters)';
		throw new ArchiveError(
			`The ${field} is ${rule}: it must be a random secret of about 128 bits or more. ${INDEX_KEY_ADVICE}.`,
			{ code: 'InvalidInput', hint: INDEX_KEY_ADVICE },
		);
	}
	lastAccepted = indexKey;
	return indexKey;
}


function hmac32(indexKey: string, message: string): string {
	return createHmac('sha256', indexKey).update(message, 'utf8').digest('hex').slice(0, 32);
}

/**
 * Pseudonym of a counterparty: HMAC-SHA256(indexKey, `'grp:' + group_id`) for a WhatsApp group (the
 * conversation of a group message is the group, Meta "Groups API"), else HMAC-SHA256(indexKey, `'wa:' +
 * E.164 digits of wa_id`) when `wa_id` is present, else HMAC-SHA256(indexKey, `'uid:' + user_id`);
 * lower-case hex, first 32 characters (128 bits). Returns `null` when no id is known (the key then uses
 * `_unknown`).
 *
 * Non-digits in `wa_id` (`+`, spaces, dashes) are dropped, so `+1 650-555-1234` and `16505551234`
 * give the same pseudonym (RFC 2104 HMAC; E.164 numbering, ITU-T E.164).
 *
 * Channels (schema version 2): Messenger, Instagram and Telegram records use HMAC-SHA256(indexKey,
 * `'<channel>:' + user_id`) of the channel's user id (PSID, IGSID, Telegram user id), null without one.
 * SMS records carry the sender's E.164 digits in `wa_id` and get the `wa:` pseudonym: a phone number
 * is one person whether they text or use WhatsApp, so lookups, holds and exports by number find both.
 *
 * @throws ArchiveError `InvalidInput` when `indexKey` is refused by {@link assertIndexKey}.
 */
export function counterpartyPseudonym(options: {
	indexKey: string;
	counterparty: Pick<Counterparty, 'wa_id' | 'user_id' | 'group_id'> | null | undefined;
	/** The record's channel; absent, `whatsapp` and `sms` use the WhatsApp forms above. */
	channel?: string | null;
}): string | null {
	assertIndexKey(options.indexKey);
	const counterparty = options.counterparty;
	if (!counterparty) return null;
	const channel = options.channel ?? 'whatsapp';
	if (channel !== 'whatsapp' && channel !== 'sms') {
		const userId = typeof counterparty.user_id === 'string' ? counterparty.user_id.trim() : '';
		return userId ? hmac32(options.indexKey, `${channel}:${userId}`) : null;
	}
	if (typeof counterparty.group_id === 'string' && counterparty.group_id.trim()) {
		return hmac32(options.indexKey, `grp:${counterparty.group_id.trim()}`);
	}
	const digits = typeof counterparty.wa_id === 'string' ? counterparty.wa_id.replace(/\D/g, '') : '';
	if (digits) return hmac32(options.indexKey, `wa:${digits}`);
	if (typeof counterparty.user_id === 'string' && counterparty.user_id.trim()) {
		return hmac32(options.indexKey, `uid:${counterparty.user_id.trim()}`);
	}
	return null;
}

/**
 * Pseudonym for a phone number typed by a person (any formatting), for lookups: equal to
 * `counterpartyPseudonym({ indexKey, counterparty: { wa_id: phoneNumber, user_id: null } })`.
 *
 * @throws ArchiveError `InvalidInput` when the number has no digits or the index key is refused by {@link assertIndexKey}.
 */
export function phoneNumberPseudonym(options: { indexKey: string; phoneNumber: string }): string {
	const pseudonym = counterpartyPseudonym({
		indexKey: options.indexKey,
		counterparty: { wa_id: options.phoneNumber, user_id: null },
	});
	if (!pseudonym) {
		throw new ArchiveError('phoneNumber has no digits (expected an E.164 number such as +16505551234)', {
			code: 'InvalidInput',
		});
	}
	return pseudonym;
}

/**
 * Record id: HMAC-SHA256(indexKey, `'rec:' + idempotencyKey`), lower-case hex, first 32 characters.
 * The `rec:` prefix separates it from pseudonyms (`wa:` / `uid:`), so no record id equals a pseudonym
 * input. Deterministic: the same delivery always maps to the same key, which makes retries idempotent.
 *
 * @throws ArchiveError `InvalidInput` when `idempotencyKey` is empty or the index key is refused by {@link assertIndexKey}.
 */
export function recordId(options: { indexKey: string; idempotencyKey: string }): string {
	assertIndexKey(options.indexKey);
	if (typeof options.idempotencyKey !== 'string' || options.idempotencyKey.length === 0) {
		throw new ArchiveError('idempotency_key is missing: the record must carry a non-empty idempotency_key', {
			code: 'InvalidInput',
		});
	}
	return hmac32(options.indexKey, `rec:${options.idempotencyKey}`);
}

/**
 * Validates and normalises a key prefix: trims whitespace and trailing `/`; keeps any other
 * character (spaces, non-ASCII, `+ = : @ ( )` are fine: the SDK UriEncodes every path segment).
 *
 * @throws ArchiveError `InvalidInput` naming `prefix` (not its value) for an empty prefix, a leading `/`, empty
 * segments (`a//b`), `.` / `..` segments or control characters.
 */
export function normalizePrefix(prefix: string): string {
	const value = (prefix ?? '').trim().replace(/\/+$/, '');
	if (!value) throw invalid('prefix', 'must not be empty (e.g. "archive")');
	if (value.startsWith('/')) throw invalid('prefix', 'must not start with "/"');
	// eslint-disable-next-line no-control-regex
	if (/[\u0000-\u001f\u007f]/.test(value)) throw invalid('prefix', 'must not contain control characters');
	for (const segment of value.split('/')) {
		if (segment === '') throw invalid('prefix', 'must not contain empty segments ("//")');
		if (segment.trim() !== segment) throw invalid('prefix', 'segments must not start or end with spaces');
		if (segment === '.' || segment === '..') throw invalid('prefix', 'must not contain "." or ".." segments');
	}
	return value;
}

/**
 * Validates and normalises a retention class: trimmed, lower-cased, one segment of
 * `a-z 0-9 . _ -` starting with a letter or digit (e.g. `default`, `finra-6y`).
 *
 * @throws ArchiveError `InvalidInput` naming `retentionClass` (not its value).
 */
export function normalizeRetentionClass(retentionClass: string): string {
	const value = (retentionClass ?? '').trim().toLowerCase();
	if (!/^[a-z0-9][a-z0-9._-]{0,62}$/.test(value) || value.includes('..')) {
		throw invalid(
			'retentionClass',
			'must be one segment of letters, digits, ".", "_" or "-" (e.g. "default", "finra-6y")',
		);
	}
	return value;
}

/** A WhatsApp phone_number_id as filed in keys: 1–64 ASCII digits (Meta's ids are ~15 digits). */
const PHONE_NUMBER_ID = /^[0-9]{1,64}$/;

/** Channels filed under `<channel>-<account_id>` (WhatsApp keeps its phone_number_id segment). */
export const PREFIXED_CHANNELS = ['messenger', 'instagram', 'telegram', 'sms'] as const;

/** An account id as filed in a channel segment: 1–64 of `[A-Za-z0-9_-]`. */
const ACCOUNT_ID = /^[A-Za-z0-9_-]{1,64}$/;

/**
 * The account segment of a key in either form: a phone_number_id, `_unknown`, `_quarantine`, or
 * `<channel>-<account_id>` of a channel other than WhatsApp.
 */
export const ACCOUNT_SEGMENT = /^(?:[0-9]{1,64}|_unknown|_quarantine|(?:messenger|instagram|telegram|sms)-[A-Za-z0-9_-]{1,64})$/;

/** Whether a record's channel is filed under `<channel>-<account_id>` (absent or `whatsapp`: no). */
function prefixedChannel(channel: string | null | undefined): (typeof PREFIXED_CHANNELS)[number] | null {
	return (PREFIXED_CHANNELS as readonly string[]).includes(channel ?? '') ? (channel as (typeof PREFIXED_CHANNELS)[number]) : null;
}

/**
 * Key segment of a record's business account: for WhatsApp (channel absent or `whatsapp`) its
 * {@link phoneNumberIdSegment}; for another channel `<channel>-<account_id>` when the id is 1–64 of
 * `[A-Za-z0-9_-]` (surrounding spaces trimmed), else `<channel>-_unknown`. A channel this engine does
 * not know files the record under {@link UNKNOWN_SEGMENT}. Never throws.
 */
export function accountSegment(fields: {
	channel?: string | null;
	phoneNumberId?: string | number | null;
	accountId?: string | number | null;
}): string {
	const channel = fields.channel ?? 'whatsapp';
	if (channel === 'whatsapp') return phoneNumberIdSegment(fields.phoneNumberId);
	const prefixed = prefixedChannel(channel);
	if (!prefixed) return UNKNOWN_SEGMENT;
	const value = fields.accountId === null || fields.accountId === undefined ? '' : String(fields.accountId).trim();
	return `${prefixed}-${ACCOUNT_ID.test(value) ? value : UNKNOWN_SEGMENT}`;
}

/** The channel and account id an account segment names (`whatsapp` and the phone_number_id for WhatsApp's). */
export function parseAccountSegment(segment: string): { channel: string; accountId: string } | null {
	if (!ACCOUNT_SEGMENT.test(segment)) return null;
	const dash = segment.indexOf('-');
	return dash === -1
		? { channel: 'whatsapp', accountId: segment }
		: { channel: segment.slice(0, dash), accountId: segment.slice(dash + 1) };
}

/**
 * Key segment a record is filed under, from the record's `phone_number_id`: the id itself when it
 * is a plain ASCII digit string of 1–64 characters (surrounding spaces trimmed), else
 * {@link UNKNOWN_SEGMENT} — for null, empty, and malformed values alike (`"106… x"`, Arabic-Indic
 * digits, `"a/b"`, 65 digits). Never throws: a record is always filed, its exact `phone_number_id`
 * stays inside the encrypted record, and the key never carries an unvetted value.
 */
export function phoneNumberIdSegment(phoneNumberId: string | number | null | undefined): string {
	if (phoneNumberId === null || phoneNumberId === undefined) return UNKNOWN_SEGMENT;
	const value = String(phoneNumberId).trim();
	return PHONE_NUMBER_ID.test(value) ? value : UNKNOWN_SEGMENT;
}

/**
 * Strict check of a phone_number_id a person typed as a filter (List, Seal, holds): trimmed, 1–64
 * ASCII digits, `_unknown` to address the records filed without a valid id, `_quarantine` for
 * quarantined bodies, or the `<channel>-<account_id>` segment of another channel ({@link accountSegment}).
 *
 * @throws ArchiveError `InvalidInput` naming `field` and the rule; the message never repeats the
 * value (it could be a phone number typed into the wrong field).
 */
export function assertPhoneNumberIdFilter(phoneNumberId: string, field = 'phone_number_id'): string {
	const value = String(phoneNumberId ?? '').trim();
	if (!ACCOUNT_SEGMENT.test(value)) {
		throw invalid(
			field,
			'must be a WhatsApp phone number ID: 1–64 digits 0-9 (or "_unknown", or "_quarantine"), or another channel\'s account as "<channel>-<account id>" (e.g. "messenger-1045566778899", "sms-15550100999")',
		);
	}
	return value;
}

/**
 * `InvalidInput` naming the field and the rule. The offending value is never echoed: error messages
 * reach logs and saved executions, and a value in a key part can be personal data (a phone number
 * typed into a prefix, a phone_number_id or a date field).
 */
function invalid(field: string, rule: string): ArchiveError {
	return new ArchiveError(`Invalid ${field}: ${rule}`, { code: 'InvalidInput' });
}

/**
 * Latest a provider timestamp may lie after the receipt and still be trusted (clock skew between
 * Meta's servers and this one).
 */
export const MAX_TIMESTAMP_AHEAD_MS = 10 * 60 * 1000;

/**
 * Earliest a provider timestamp may lie before the receipt and still be trusted: Meta retries an
 * unacknowledged webhook for up to 7 days (WhatsApp Cloud API, "Webhooks": retries), plus one day of
 * margin. It is also how far back a record filed by its receipt looks for an earlier copy.
 */
export const MAX_TIMESTAMP_BEHIND_MS = 8 * 24 * 3600 * 1000;

/**
 * Change field of the coexistence history sync (Meta, "history webhook reference"): the WhatsApp
 * Business app's messages of up to 180 days before onboarding, delivered after it.
 */
export const HISTORY_FIELD = 'history';

/**
 * Earliest a history message's own time may lie before the receipt and still file it: the 180 days
 * of history Meta shares, 7 days for the solution provider to request the sync after onboarding (Meta
 * names no bound; an assumption), and the {@link MAX_TIMESTAMP_BEHIND_MS} of retries and margin.
 */
export const MAX_HISTORY_BEHIND_MS = (180 + 7) * 24 * 3600 * 1000 + MAX_TIMESTAMP_BEHIND_MS;

/** Which clock files a record, and by how much the two clocks differ. */
export interface RecordFiling {
	/** The UTC day the record is filed under (and its retention counted from). */
	date: Date;
	/** `timestamp` when the provider time is plausible, else `received_at`. */
	filedBy: 'timestamp' | 'received_at';
	/** `received_at` − `timestamp` in whole seconds (positive: the provider time is earlier); null without both. */
	skewSeconds: number | null;
	/**
	 * Other days a copy of the same record may already be filed under, latest first. Filed by receipt:
	 * each of the {@link MAX_TIMESTAMP_BEHIND_MS} days before the receipt (a redelivery of a record
	 * without a trusted time arrives on a later day), and the provider timestamp's day when there is one
	 * (a copy filed by an earlier version of this pack, or while the timestamp was still plausible). A
	 * history message filed by its time: the day before and the day after it (the live capture of the
	 * same message carries the server's time, the history the device's, which can fall on another day).
	 */
	otherDates: Date[];
}

function parseIso(value: string | null | undefined): Date | null {
	if (typeof value !== 'string' || !value) return null;
	const date = new Date(value);
	return Number.isNaN(date.getTime()) ? null : date;
}

const DAY_MS = 86_400_000;

/**
 * Where a record's retention clock starts: the provider `timestamp` when it lies within
 * [`received_at` − {@link MAX_TIMESTAMP_BEHIND_MS}, `received_at` + {@link MAX_TIMESTAMP_AHEAD_MS}],
 * else `received_at` — so a record never files (and expires) earlier than its receipt allows, whatever
 * time a sender claims (a `timestamp` of `1` files under the receipt day, not 1970-01-01). Records of
 * the coexistence history sync (`field` {@link HISTORY_FIELD}) are past messages by nature: their
 * `timestamp` files them back to {@link MAX_HISTORY_BEHIND_MS}, so they keep their original day and
 * meet the live capture of the same message under the same key. A record without `received_at`
 * (hand-made) is filed by its `timestamp`.
 *
 * @throws ArchiveError `InvalidInput` when neither is an ISO 8601 date.
 */
export function recordFiling(record: Pick<ArchiveRecordFields, 'timestamp' | 'received_at' | 'field'>): RecordFiling {
	const timestamp = parseIso(record.timestamp);
	const receivedAt = parseIso(record.received_at);
	if (!timestamp && !receivedAt) {
		throw new ArchiveError('Record has neither a valid timestamp nor received_at (ISO 8601 UTC expected)', {
			code: 'InvalidInput',
		});
	}
	const history = record.field === HISTORY_FIELD;
	const behind = history ? MAX_HISTORY_BEHIND_MS : MAX_TIMESTAMP_BEHIND_MS;
	const skewMs = timestamp && receivedAt ? receivedAt.getTime() - timestamp.getTime() : null;
	const skewSeconds = skewMs === null ? null : Math.trunc(skewMs / 1000);
	if (timestamp && (skewMs === null || (skewMs >= -MAX_TIMESTAMP_AHEAD_MS && skewMs <= behind))) {
		const neighbours = history ? [new Date(timestamp.getTime() + DAY_MS), new Date(timestamp.getTime() - DAY_MS)] : [];
		return { date: timestamp, filedBy: 'timestamp', skewSeconds, otherDates: neighbours };
	}
	const received = receivedAt!;
	const otherDates: Date[] = [];
	const days = Math.ceil(MAX_TIMESTAMP_BEHIND_MS / DAY_MS);
	for (let n = 1; n <= days; n++) otherDates.push(new Date(received.getTime() - n * DAY_MS));
	if (timestamp) otherDates.push(timestamp);
	return { date: received, filedBy: 'received_at', skewSeconds, otherDates };
}

/**
 * The UTC date a record is filed under ({@link recordFiling}): a plausible `timestamp`, else `received_at`.
 *
 * @throws ArchiveError `InvalidInput` when neither is an ISO 8601 date.
 */
export function recordDate(record: Pick<ArchiveRecordFields, 'timestamp' | 'received_at' | 'field'>): Date {
	return recordFiling(record).date;
}

/** Input of {@link recordObjectKey} and {@link mediaObjectKey}. */
export interface ObjectKeyParts {
	prefix: string;
	retentionClass: string;
	/**
	 * The record's phone_number_id; filed as is when it is 1–64 ASCII digits, else under `_unknown`
	 * (see {@link phoneNumberIdSegment}).
	 */
	phoneNumberId: string | null | undefined;
	/** The record's channel; absent or `whatsapp` files under `phoneNumberId` ({@link accountSegment}). */
	channel?: string | null;
	/** The record's `account_id`, filed as `<channel>-<account_id>` for channels other than WhatsApp. */
	accountId?: string | null;
	/** A quarantined body: filed under {@link QUARANTINE_SEGMENT} instead of a phone_number_id. */
	quarantine?: boolean;
	/** Filing date (UTC day is used); a `Date` or an ISO 8601 string. */
	date: Date | string;
	/** Other days an earlier copy may be filed under ({@link RecordFiling.otherDates}); none by default. */
	otherDates?: Date[];
	/** Counterparty pseudonym from {@link counterpartyPseudonym}; null → `_unknown`. */
	pseudonym: string | null | undefined;
	/** Record id from {@link recordId}. */
	recordId: string;
}

function keyDirectory(parts: ObjectKeyParts): string {
	const date = parts.date instanceof Date ? parts.date : new Date(parts.date);
	if (Number.isNaN(date.getTime())) throw invalid('date', 'must be an ISO 8601 date');
	const yyyy = String(date.getUTCFullYear()).padStart(4, '0');
	const mm = String(date.getUTCMonth() + 1).padStart(2, '0');
	const dd = String(date.getUTCDate()).padStart(2, '0');
	const pseudonym = parts.pseudonym ?? UNKNOWN_SEGMENT;
	if (pseudonym !== UNKNOWN_SEGMENT && !/^[0-9a-f]{32}$/.test(pseudonym)) {
		throw invalid('pseudonym', 'must be 32 lower-case hex characters from counterpartyPseudonym()');
	}
	if (!/^[0-9a-f]{32}$/.test(parts.recordId ?? '')) {
		throw invalid('recordId', 'must be 32 lower-case hex characters from recordId()');
	}
	return [
		normalizePrefix(parts.prefix),
		normalizeRetentionClass(parts.retentionClass),
		parts.quarantine
			? QUARANTINE_SEGMENT
			: accountSegment({ channel: parts.channel, phoneNumberId: parts.phoneNumberId, accountId: parts.accountId }),
		yyyy,
		mm,
		dd,
		pseudonym,
	].join('/');
}

function checkLength(key: string): string {
	if (keyTooLong(key)) {
		throw invalid('prefix', `makes the object key longer than ${MAX_KEY_BYTES} bytes`);
	}
	return key;
}

/** Whether a key is longer than S3 accepts ({@link MAX_KEY_BYTES} UTF-8 bytes). */
export function keyTooLong(key: string): boolean {
	return Buffer.byteLength(key, 'utf8') > MAX_KEY_BYTES;
}

/**
 * Object key of an encrypted record:
 * `<prefix>/<class>/<account>/<yyyy>/<mm>/<dd>/<pseudonym|_unknown>/<recordId>.pgp`, `<account>` the
 * phone_number_id (WhatsApp) or `<channel>-<account_id>` ({@link accountSegment}).
 *
 * A missing or malformed phone_number_id files the record under `_unknown`, a malformed account id
 * under `<channel>-_unknown` (never an error).
 *
 * @throws ArchiveError `InvalidInput` naming the offending field and the rule, never its value
 * (prefix, retentionClass, date, pseudonym, recordId), or when the key exceeds 1024 UTF-8 bytes
 * (S3 limit).
 */
export function recordObjectKey(parts: ObjectKeyParts): string {
	return checkLength(`${keyDirectory(parts)}/${parts.recordId}${RECORD_SUFFIX}`);
}

/**
 * Object key of an encrypted media file belonging to a record: same directory as the record,
 * `<recordId>.media.pgp`, or `<recordId>.media-<n>.pgp` when `index` (≥ 1) is given for extra files.
 *
 * @throws ArchiveError as {@link recordObjectKey}.
 */
export function mediaObjectKey(parts: ObjectKeyParts & { index?: number }): string {
	const suffix = parts.index ? `.media-${Math.floor(parts.index)}.pgp` : MEDIA_SUFFIX;
	return checkLength(`${keyDirectory(parts)}/${parts.recordId}${suffix}`);
}

/**
 * Fingerprint of an index key: HMAC-SHA256(indexKey, `index-key-check`), first 16 lower-case hex
 * characters. Equal for equal keys; says nothing about the key itself.
 */
export function indexKeyCheck(indexKey: string): string {
	return createHmac('sha256', indexKey).update('index-key-check', 'utf8').digest('hex').slice(0, 16);
}

/**
 * Key of a capture record in one call: computes the pseudonym, the record id and the filing date
 * ({@link recordFiling}) and returns the key with those parts; a `quarantine` record is filed under
 * {@link QUARANTINE_SEGMENT}.
 *
 * @throws ArchiveError `InvalidInput` as the functions it calls.
 */
export function objectKeyForRecord(options: {
	indexKey: string;
	prefix: string;
	retentionClass: string;
	record: ArchiveRecordFields;
}): { key: string; pseudonym: string | null; recordId: string; date: Date; otherDates: Date[] } {
	const { record } = options;
	const pseudonym = counterpartyPseudonym({ indexKey: options.indexKey, counterparty: record.counterparty, channel: record.channel });
	const id = recordId({ indexKey: options.indexKey, idempotencyKey: record.idempotency_key });
	const { date, otherDates } = recordFiling(record);
	const key = recordObjectKey({
		prefix: options.prefix,
		retentionClass: options.retentionClass,
		phoneNumberId: record.phone_number_id,
		channel: record.channel,
		accountId: record.account_id,
		quarantine: record.record_kind === 'quarantine',
		date,
		pseudonym,
		recordId: id,
	});
	return { key, pseudonym, recordId: id, date, otherDates };
}

/** The parts of an archive key, as read back by {@link parseObjectKey}. */
export interface ParsedObjectKey {
	prefix: string;
	retentionClass: string;
	/** The account segment as filed: a phone_number_id (`_unknown`, `_quarantine`) or `<channel>-<account_id>`. */
	phoneNumberId: string;
	/** `whatsapp` for a phone_number_id segment, else the channel of a `<channel>-<account_id>` segment. */
	channel: string;
	/** The phone_number_id, or the account id of a `<channel>-<account_id>` segment. */
	accountId: string;
	/** `yyyy-mm-dd` (UTC). */
	date: string;
	pseudonym: string;
	recordId: string;
	kind: 'record' | 'media';
}

/**
 * Reads an archive key back into its parts; returns null when the key does not follow the layout.
 * The prefix may itself contain `/`.
 */
export function parseObjectKey(key: string): ParsedObjectKey | null {
	const segments = key.split('/');
	if (segments.length < 8) return null;
	const [file] = segments.slice(-1);
	const [retentionClass, phoneNumberId, yyyy, mm, dd, pseudonym] = segments.slice(-7, -1);
	const prefix = segments.slice(0, -7).join('/');
	const match = /^([0-9a-f]{32})(\.pgp|\.media(?:-\d+)?\.pgp)$/.exec(file);
	if (!match || !/^\d{4}$/.test(yyyy) || !/^\d{2}$/.test(mm) || !/^\d{2}$/.test(dd)) return null;
	const account = parseAccountSegment(phoneNumberId);
	return {
		prefix,
		retentionClass,
		phoneNumberId,
		channel: account?.channel ?? 'whatsapp',
		accountId: account?.accountId ?? phoneNumberId,
		date: `${yyyy}-${mm}-${dd}`,
		pseudonym,
		recordId: match[1],
		kind: match[2] === RECORD_SUFFIX ? 'record' : 'media',
	};
}
