import { createHash } from 'node:crypto';
import canonicalize from 'canonicalize';

import { callRecords } from './calls';
import { isObject, stringOrNull } from './content';
import { GROUP_FIELDS, groupRecords } from './groups';
import { historyRecords } from './history';
import { errorRecord, messageRecord, statusRecord } from './messages';
import {
	baseRecord,
	clockFields,
	derivedKey,
	eachElement,
	emptyCounterparty,
	epochSecondsToIso,
	idString,
	type ChangeFacts,
	type DeliveryFacts,
} from './record';
import { contactRecords } from './state-sync';
import type { CaptureRecord, JsonObject, NormalizeOptions, QuarantineRaw, RecordKind } from './types';
import { PROVIDER, SCHEMA_VERSION } from './types';
import { userPreferenceRecords } from './user-preferences';

export { epochSecondsToIso } from './record';

/** `object` value of a WhatsApp Business Account webhook envelope. */
export const WHATSAPP_OBJECT = 'whatsapp_business_account';

/**
 * Change fields whose value carries `messages[]`, `statuses[]`, `errors[]` and/or `message_echoes[]`
 * (one record per element). Every other field becomes one `event` record per change.
 */
export const MESSAGE_FIELDS = ['messages', 'smb_message_echoes', 'message_echoes'] as const;

/**
 * Other change fields documented by Meta (WhatsApp webhooks overview and per-field references). A
 * change with one of these fields becomes an `event` record of that type; any other field becomes an
 * `event` record of type `unknown` (its name kept in `field` and `content.field`).
 */
export const KNOWN_EVENT_FIELDS = [
	'account_alerts',
	'account_review_update',
	'account_settings_update',
	'account_update',
	'automatic_events',
	'business_capability_update',
	'business_status_update',
	'calls',
	'flows',
	'group_lifecycle_update',
	'group_participants_update',
	'group_settings_update',
	'group_status_update',
	'history',
	'message_template_components_update',
	'message_template_quality_update',
	'message_template_status_update',
	'messaging_handovers',
	'partner_solutions',
	'payment_configuration_update',
	'phone_number_name_update',
	'phone_number_quality_update',
	'security',
	'smb_app_state_sync',
	'standby',
	'template_category_update',
	'user_id_update',
	'user_preferences',
] as const;

/**
 * Deepest nesting of arrays/objects a delivery body may have to be normalized (the envelope object
 * itself is level 1). Meta's deliveries are shallow (a message sits at level 8, its deepest content
 * around level 12); a body nested deeper is quarantined with reason `too_deep`. Without this limit a
 * body nested beyond V8's recursion limit (~4–5k levels) parses (JSON.parse is iterative) but its
 * records cannot be serialized downstream (JSON.stringify / structuredClone throw), so every retry
 * of the delivery fails and it is neither archived nor quarantined.
 */
export const MAX_NESTING_DEPTH = 512;

/** Reason kept in a quarantine record's `content.reason`. */
export type QuarantineReason = 'not_json' | 'not_envelope' | 'empty_envelope' | 'too_deep';

/** Builds the records of one change of a field with records of its own (an empty list: an `event`). */
type FieldRecords = (delivery: DeliveryFacts, change: ChangeFacts, value: JsonObject, position: string) => CaptureRecord[];

/**
 * Fields whose changes become records of their own kind (docs/FORMAT.md, "How a delivery becomes
 * records"); the message-carrying fields ({@link MESSAGE_FIELDS}) are read apart, any other field
 * becomes an `event`.
 */
const FIELD_RECORDS: ReadonlyMap<string, FieldRecords> = new Map<string, FieldRecords>([
	...GROUP_FIELDS.map((field): [string, FieldRecords] => [field, groupRecords]),
	['history', historyRecords],
	['smb_app_state_sync', contactRecords],
	['calls', callRecords],
	['user_preferences', userPreferenceRecords],
	['message_template_components_update', wholeChange('template_update')],
	['account_settings_update', wholeChange('account_settings')],
]);

/**
 * Turns one webhook delivery of the WhatsApp Business Cloud API into normalized records
 * (Meta, "WhatsApp Cloud API – Webhooks": envelope `{ object: "whatsapp_business_account", entry: [{ id,
 * changes: [{ field, value }] }] }`, and the `messages`, `statuses`, `smb_message_echoes` references).
 *
 * - One `message` record per element of `value.messages[]` (inbound) and `value.message_echoes[]`
 *   (outbound, coexistence echoes), one `status` record per `value.statuses[]` element, one `error`
 *   record per value-level `value.errors[]` element, for every `entry[] × changes[]` with a
 *   message-carrying field ({@link MESSAGE_FIELDS}); group messages and statuses belong to the group.
 * - The fields of {@link FIELD_RECORDS} (groups, history, contact sync, calls, user preferences,
 *   template components, account settings): records of their own kind (groups.ts, history.ts,
 *   state-sync.ts, calls.ts, user-preferences.ts, {@link wholeChange}).
 * - Any other field: one `event` record per change (type = field, or `unknown` for an undocumented field).
 * - A change of those fields that yields no element, or an entry/change of unexpected shape: one
 *   `event` record keeping it (type = field or `unknown`), so nothing is dropped.
 * - A body that is not UTF-8 JSON, not an object with `object: "whatsapp_business_account"` and an
 *   `entry` array, or whose envelope yields no record at all: one `quarantine` record holding the raw
 *   body as base64.
 * - A body nested deeper than {@link MAX_NESTING_DEPTH} levels (measured iteratively after parsing):
 *   one `quarantine` record, reason `too_deep`, so its records never fail to serialize downstream.
 *
 * The body is parsed once with `JSON.parse`; it is never re-serialized. Order of records = order in
 * the delivery (entries, changes, then messages, echoes, statuses, errors of each change).
 *
 * @returns at least one record. Never throws on malformed input.
 */
export function normalizeDelivery(options: NormalizeOptions): CaptureRecord[] {
	const rawBody = Buffer.isBuffer(options.rawBody) ? options.rawBody : Buffer.from(options.rawBody ?? '');
	const delivery: DeliveryFacts = {
		receivedAt: toIsoOrNow(options.receivedAt),
		deliverySha256: createHash('sha256').update(rawBody).digest('hex'),
		contentSha256: null,
		signatureVerified: options.signatureVerified === true,
		graphApiVersion: stringOrNull(options.graphApiVersion),
	};

	const parsed = parseJson(rawBody);
	if (!parsed.ok) {
		return [quarantineRecord(delivery, rawBody, options.contentType, 'not_json')];
	}
	const envelope = parsed.value;
	if (nestingExceeds(envelope, MAX_NESTING_DEPTH)) {
		return [quarantineRecord(delivery, rawBody, options.contentType, 'too_deep')];
	}
	delivery.contentSha256 = createHash('sha256').update(canonicalize(envelope) ?? 'null', 'utf8').digest('hex');
	if (!isObject(envelope) || envelope.object !== WHATSAPP_OBJECT || !Array.isArray(envelope.entry)) {
		return [quarantineRecord(delivery, rawBody, options.contentType, 'not_envelope')];
	}

	const records: CaptureRecord[] = [];
	envelope.entry.forEach((entry: unknown, entryIndex: number) => {
		records.push(...entryRecords(delivery, entry, `entry[${entryIndex}]`));
	});
	if (records.length === 0) {
		return [quarantineRecord(delivery, rawBody, options.contentType, 'empty_envelope')];
	}
	return records;
}

/** Records of one `entry[]` element. */
function entryRecords(delivery: DeliveryFacts, entry: unknown, position: string): CaptureRecord[] {
	if (!isObject(entry) || !Array.isArray(entry.changes) || entry.changes.length === 0) {
		const wabaId = isObject(entry) ? idString(entry.id) : null;
		const change: ChangeFacts = {
			wabaId,
			phoneNumberId: null,
			displayPhoneNumber: null,
			field: null,
			value: entry,
			contacts: [],
			entryTime: isObject(entry) ? entry.time : undefined,
		};
		return [eventRecord(delivery, change, position)];
	}
	const records: CaptureRecord[] = [];
	entry.changes.forEach((change: unknown, changeIndex: number) => {
		records.push(...changeRecords(delivery, entry, change, `${position}.changes[${changeIndex}]`));
	});
	return records;
}

/** Records of one `entry[].changes[]` element. */
function changeRecords(delivery: DeliveryFacts, entry: JsonObject, change: unknown, position: string): CaptureRecord[] {
	const changeObject = isObject(change) ? change : {};
	const value = isObject(change) ? change.value : change;
	const valueObject = isObject(value) ? value : {};
	const metadata = isObject(valueObject.metadata) ? valueObject.metadata : {};
	const facts: ChangeFacts = {
		wabaId: idString(entry.id),
		phoneNumberId: idString(metadata.phone_number_id),
		displayPhoneNumber: idString(metadata.display_phone_number),
		field: stringOrNull(changeObject.field),
		value: isObject(change) ? change.value : change,
		contacts: Array.isArray(valueObject.contacts) ? valueObject.contacts.filter(isObject) : [],
		entryTime: entry.time,
	};

	const isMessageField =
		facts.field !== null && (MESSAGE_FIELDS as readonly string[]).includes(facts.field);
	const fieldRecords = facts.field !== null ? FIELD_RECORDS.get(facts.field) : undefined;
	if (!isObject(value) || (!isMessageField && fieldRecords === undefined)) {
		return [eventRecord(delivery, facts, position)];
	}

	const records: CaptureRecord[] = fieldRecords ? fieldRecords(delivery, facts, valueObject, position) : [];
	if (isMessageField) {
		eachElement(valueObject.messages, position, 'messages', (element, at) =>
			records.push(messageRecord(delivery, facts, element, at, 'inbound')),
		);
		eachElement(valueObject.message_echoes, position, 'message_echoes', (element, at) =>
			records.push(messageRecord(delivery, facts, element, at, 'outbound')),
		);
		eachElement(valueObject.statuses, position, 'statuses', (element, at) =>
			records.push(statusRecord(delivery, facts, element, at)),
		);
		eachElement(valueObject.errors, position, 'errors', (element, at) =>
			records.push(errorRecord(delivery, facts, element, at)),
		);
	}
	if (records.length === 0) {
		records.push(eventRecord(delivery, facts, position));
	}
	return records;
}

/**
 * An `event` record keeping one whole change (or a malformed entry): type = field when documented,
 * else `unknown`; content `{ field, value }`; timestamp from `value.timestamp`, else `entry.time`.
 */
function eventRecord(delivery: DeliveryFacts, change: ChangeFacts, position: string): CaptureRecord {
	const field = change.field;
	const known =
		field !== null &&
		((KNOWN_EVENT_FIELDS as readonly string[]).includes(field) ||
			(MESSAGE_FIELDS as readonly string[]).includes(field));
	const valueTimestamp = isObject(change.value) ? change.value.timestamp : undefined;
	return baseRecord(delivery, change, {
		record_kind: 'event',
		direction: null,
		wamid: null,
		type: known ? field : 'unknown',
		timestamp: epochSecondsToIso(valueTimestamp) ?? epochSecondsToIso(change.entryTime),
		counterparty: emptyCounterparty(),
		content: { field, value: change.value === undefined ? null : change.value },
		context: null,
		original_wamid: null,
		position,
		idempotency_key: derivedKey(delivery, position),
	});
}

/**
 * A record of one whole change of a field with a record kind of its own but no element list
 * (`message_template_components_update`, `account_settings_update`): type = field, content the value
 * without `messaging_product`, `metadata` and `timestamp`, timestamp from `value.timestamp`, else
 * `entry.time`.
 */
function wholeChange(kind: RecordKind): FieldRecords {
	return (delivery, change, value, position) => {
		const content: JsonObject = { ...value };
		delete content.messaging_product;
		delete content.metadata;
		delete content.timestamp;
		return [
			baseRecord(delivery, change, {
				record_kind: kind,
				direction: null,
				wamid: null,
				type: change.field ?? 'unknown',
				timestamp: epochSecondsToIso(value.timestamp) ?? epochSecondsToIso(change.entryTime),
				counterparty: emptyCounterparty(),
				content,
				context: null,
				original_wamid: null,
				position,
				idempotency_key: derivedKey(delivery, position),
			}),
		];
	};
}

/** The `quarantine` record carrying the whole body. */
export function quarantineRecord(
	delivery: DeliveryFacts,
	rawBody: Buffer,
	contentType: string | undefined,
	reason: QuarantineReason,
): CaptureRecord {
	const raw: QuarantineRaw = { body_base64: rawBody.toString('base64') };
	if (typeof contentType === 'string' && contentType.length > 0) raw.content_type = contentType;
	return {
		schema_version: SCHEMA_VERSION,
		record_kind: 'quarantine',
		provider: PROVIDER,
		channel: 'whatsapp',
		account_id: null,
		direction: null,
		waba_id: null,
		phone_number_id: null,
		display_phone_number: null,
		field: null,
		wamid: null,
		type: 'quarantine',
		timestamp: null,
		received_at: delivery.receivedAt,
		...clockFields(null, delivery.receivedAt),
		counterparty: emptyCounterparty(),
		content: { reason, body_bytes: rawBody.length },
		context: null,
		original_wamid: null,
		position: 'body',
		idempotency_key: derivedKey(delivery, 'body'),
		delivery_sha256: delivery.deliverySha256,
		signature_verified: delivery.signatureVerified,
		graph_api_version: delivery.graphApiVersion,
		raw,
	};
}

/** ISO string of a Date, or of now when the Date is missing/invalid. */
function toIsoOrNow(date: Date): string {
	return date instanceof Date && !Number.isNaN(date.getTime())
		? date.toISOString()
		: new Date().toISOString();
}

/**
 * True when `value` nests arrays/objects more than `limit` levels deep (a scalar is level 0, `[]` or
 * `{}` level 1). Iterative (explicit stack, no recursion), stops at the first path over the limit, so
 * it cannot overflow the call stack whatever the depth. `value` comes from JSON.parse: a tree, no cycles.
 */
export function nestingExceeds(value: unknown, limit: number): boolean {
	if (value === null || typeof value !== 'object') return limit < 0;
	const stack: Array<{ node: object; depth: number }> = [{ node: value, depth: 1 }];
	while (stack.length > 0) {
		const { node, depth } = stack.pop()!;
		if (depth > limit) return true;
		const children = Array.isArray(node) ? (node as unknown[]) : Object.values(node);
		for (const child of children) {
			if (child !== null && typeof child === 'object') stack.push({ node: child, depth: depth + 1 });
		}
	}
	return false;
}

/** Strict UTF-8 decode then JSON.parse; `{ ok: false }` on any failure. */
export function parseJson(body: Buffer): { ok: true; value: unknown } | { ok: false } {
	try {
		const text = new TextDecoder('utf-8', { fatal: true }).decode(body);
		return { ok: true, value: JSON.parse(text) as unknown };
	} catch {
		return { ok: false };
	}
}
