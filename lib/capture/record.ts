import { recordFiling } from '../archive/layout';
import { isObject, stringOrNull } from './content';
import type { CaptureRecord, Counterparty, JsonObject, Person } from './types';
import { PROVIDER, SCHEMA_VERSION } from './types';

/**
 * The parts every record builder shares (normalize.ts and the per-field modules): the facts of the
 * delivery and of the change, the assembly of a record in the documented field order, its
 * deduplication key and its clocks, and who a record is about.
 */

/** Per-delivery facts shared by every record. */
export interface DeliveryFacts {
	receivedAt: string;
	deliverySha256: string;
	/**
	 * SHA-256 of the parsed body in its RFC 8785 canonical form (JCS): equal for every JSON encoding of
	 * the same content (raw UTF-8 or `\u` escapes, key order, white space). Null for a body that is not
	 * JSON or nested too deep, whose records are identified by the raw bytes.
	 */
	contentSha256: string | null;
	signatureVerified: boolean;
	graphApiVersion: string | null;
}

/** Per-change facts shared by the records of one change. */
export interface ChangeFacts {
	wabaId: string | null;
	phoneNumberId: string | null;
	displayPhoneNumber: string | null;
	field: string | null;
	value: unknown;
	contacts: JsonObject[];
	entryTime: unknown;
}

/** The per-element part of a record. */
export type ElementFields = Pick<
	CaptureRecord,
	| 'record_kind'
	| 'direction'
	| 'wamid'
	| 'type'
	| 'timestamp'
	| 'counterparty'
	| 'content'
	| 'context'
	| 'original_wamid'
	| 'position'
	| 'idempotency_key'
> & {
	/** The group member a group record names (absent on other records). */
	participant?: Person;
	/** `raw` of the record when not the whole change value (history and contact sync elements). */
	raw?: unknown;
};

/** Assembles a record in the documented field order. */
export function baseRecord(delivery: DeliveryFacts, change: ChangeFacts, element: ElementFields): CaptureRecord {
	const raw = 'raw' in element ? element.raw : change.value;
	return {
		schema_version: SCHEMA_VERSION,
		record_kind: element.record_kind,
		provider: PROVIDER,
		channel: 'whatsapp',
		account_id: null,
		direction: element.direction,
		waba_id: change.wabaId,
		phone_number_id: change.phoneNumberId,
		display_phone_number: change.displayPhoneNumber,
		field: change.field,
		wamid: element.wamid,
		type: element.type,
		timestamp: element.timestamp,
		received_at: delivery.receivedAt,
		...clockFields(element.timestamp, delivery.receivedAt, change.field),
		counterparty: element.counterparty,
		...(element.participant ? { participant: element.participant } : {}),
		content: element.content,
		context: element.context,
		original_wamid: element.original_wamid,
		position: element.position,
		idempotency_key: element.idempotency_key,
		delivery_sha256: delivery.deliverySha256,
		signature_verified: delivery.signatureVerified,
		graph_api_version: delivery.graphApiVersion,
		raw: raw === undefined ? null : raw,
	};
}

/** Identity fields an element names beside its wa_id and user_id (Meta "Business-scoped user IDs"). */
export interface MoreIdentity {
	/** `from_parent_user_id`, `parent_recipient_user_id`…: used when the matching contact has none. */
	parentUserId?: string | null;
	/** `recipient_identity_key_hash` of a status: used when the matching contact has none. */
	identityKeyHash?: string | null;
}

/**
 * A person from a phone (`wa_id`) and a BSUID (`user_id`), completed from the matching `contacts[]`
 * entry (matched on wa_id or user_id): the contact supplies the name, any identifier the element
 * lacked, and the username, `parent_user_id` and `identity_key_hash` when it has them (the element's
 * own parent BSUID and identity key hash otherwise).
 */
export function resolvePerson(contacts: JsonObject[], waId: string | null, userId: string | null, more: MoreIdentity = {}): Person {
	const contact = contacts.find(
		(candidate) =>
			(waId !== null && candidate.wa_id === waId) || (userId !== null && candidate.user_id === userId),
	);
	const profile = contact !== undefined && isObject(contact.profile) ? contact.profile : {};
	const person: Person = {
		wa_id: waId ?? stringOrNull(contact?.wa_id),
		user_id: userId ?? stringOrNull(contact?.user_id),
		name: stringOrNull(profile.name),
	};
	// identifiers of the same person, set only when sent (they link identities: lib/archive/identity.ts)
	const username = stringOrNull(profile.username) ?? stringOrNull(contact?.username);
	const parentUserId = stringOrNull(contact?.parent_user_id) ?? stringOrNull(more.parentUserId);
	const identityKeyHash = stringOrNull(contact?.identity_key_hash) ?? stringOrNull(more.identityKeyHash);
	if (username !== null) person.username = username;
	if (parentUserId !== null) person.parent_user_id = parentUserId;
	if (identityKeyHash !== null) person.identity_key_hash = identityKeyHash;
	return person;
}

/** `{ wa_id: null, user_id: null, name: null }`. */
export function emptyCounterparty(): Counterparty {
	return { wa_id: null, user_id: null, name: null };
}

/**
 * The counterparty of a group record: the group (Meta "Groups API"), named by its subject when the
 * element carries one. Filed under the group's pseudonym (lib/archive/layout.ts), so a group
 * conversation is one conversation whoever wrote in it.
 */
export function groupCounterparty(groupId: string, subject: string | null = null): Counterparty {
	return { wa_id: null, user_id: null, name: subject, group_id: groupId };
}

/** A BSUID as Meta sends it: country code, a dot, an id (`US.13491208655302741918`). */
const BSUID = /^[A-Z]{2}\.[A-Za-z0-9.]+$/;

/** A person named by one id that may be a phone number or a BSUID (`recipient_participant_id`, a history thread id). */
export function personOfId(contacts: JsonObject[], id: string | null, more: MoreIdentity & { userId?: string | null } = {}): Person {
	const bsuid = id !== null && BSUID.test(id);
	return resolvePerson(contacts, bsuid ? null : id, stringOrNull(more.userId) ?? (bsuid ? id : null), more);
}

/**
 * Stable key for records without a natural id: `jcs:<SHA-256 of the body's RFC 8785 canonical
 * form>:<position>`, so a redelivery maps to the same record whichever JSON encoding Meta used (it
 * signs both the raw and the `\u`-escaped form); `sha256:<delivery sha256>:body` for a body that is not
 * JSON (or nested too deep to canonicalize), whose bytes are all there is.
 */
export function derivedKey(delivery: DeliveryFacts, position: string): string {
	return delivery.contentSha256 !== null
		? `jcs:${delivery.contentSha256}:${position}`
		: `sha256:${delivery.deliverySha256}:${position}`;
}

/** `<phone_number_id>:<id>[:<more>…]` when the phone_number_id and every part are known, else {@link derivedKey}. */
export function naturalKey(delivery: DeliveryFacts, change: ChangeFacts, position: string, parts: Array<string | null>): string {
	return change.phoneNumberId !== null && parts.every((part) => part !== null)
		? [change.phoneNumberId, ...parts].join(':')
		: derivedKey(delivery, position);
}

/**
 * `filed_by` and `timestamp_skew_seconds` of a record (docs/FORMAT.md, "Retention clock"): which clock
 * the archive files it by, and how far the provider time lies from the receipt.
 */
export function clockFields(
	timestamp: string | null,
	receivedAt: string,
	field: string | null = null,
): Pick<CaptureRecord, 'filed_by' | 'timestamp_skew_seconds'> {
	const filing = recordFiling({ timestamp, received_at: receivedAt, field });
	return { filed_by: filing.filedBy, timestamp_skew_seconds: filing.skewSeconds };
}

/** Calls `visit` for each element of `list` when it is an array (non-objects become `{}` plus `value`). */
export function eachElement(list: unknown, position: string, key: string, visit: (element: JsonObject, at: string) => void): void {
	if (!Array.isArray(list)) return;
	list.forEach((element: unknown, index: number) => {
		visit(isObject(element) ? element : { value: element }, `${position}.${key}[${index}]`);
	});
}

/** Ids arrive as strings; a number (seen in hand-made payloads) is converted to its decimal string. */
export function idString(value: unknown): string | null {
	if (typeof value === 'number' && Number.isSafeInteger(value)) return String(value);
	return stringOrNull(value);
}

/** A `type`-like value as the record's type: a lower-case word (`group_create`, `stop`), else `unknown`. */
export function wordOrUnknown(value: unknown): string {
	return typeof value === 'string' && /^[a-z][a-z0-9_]{0,63}$/.test(value) ? value : 'unknown';
}

/**
 * Epoch seconds (string of digits, as Meta sends them, or a number) → ISO 8601 UTC with milliseconds;
 * null when absent or not a valid time.
 */
export function epochSecondsToIso(value: unknown): string | null {
	let seconds: number;
	if (typeof value === 'number') seconds = value;
	else if (typeof value === 'string' && /^\d{1,12}(\.\d+)?$/.test(value.trim())) seconds = Number(value);
	else return null;
	if (!Number.isFinite(seconds) || seconds < 0) return null;
	const date = new Date(seconds * 1000);
	return Number.isNaN(date.getTime()) ? null : date.toISOString();
}
