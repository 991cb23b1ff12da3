import { isObject, messageContent, messageContext, messageType, originalWamid, statusContent, statusType, stringOrNull } from './content';
import {
	baseRecord,
	derivedKey,
	emptyCounterparty,
	epochSecondsToIso,
	groupCounterparty,
	naturalKey,
	personOfId,
	resolvePerson,
	type ChangeFacts,
	type DeliveryFacts,
	type ElementFields,
} from './record';
import type { CaptureRecord, Counterparty, Direction, JsonObject, Person } from './types';

/**
 * Records of the message-carrying elements (Meta "messages webhook reference" and its group subpage,
 * `smb_message_echoes`, `history`): one `message` per message or echo, one `status` per status, one
 * `error` per value-level error.
 */

/** What a caller knows better than the message itself (the history sync: who the thread is with). */
export interface MessageRecordOptions {
	counterparty?: Counterparty;
	/** Overrides the `<phone_number_id>:<wamid>` key. */
	idempotencyKey?: string;
	/** The record's `raw` when not the whole change value. */
	raw?: unknown;
}

/**
 * A `message` record from `messages[]` (inbound) or `message_echoes[]` (outbound). A message with
 * `group_id` (Meta "Group messages webhook reference") belongs to the group's conversation: the
 * counterparty is the group, and the sender of an inbound one is its `participant`.
 */
export function messageRecord(
	delivery: DeliveryFacts,
	change: ChangeFacts,
	message: JsonObject,
	position: string,
	direction: Direction,
	options: MessageRecordOptions = {},
): CaptureRecord {
	const wamid = stringOrNull(message.id);
	const groupId = stringOrNull(message.group_id);
	const user = direction === 'inbound' ? sender(change, message) : recipient(change, message);
	const element: ElementFields = {
		record_kind: 'message',
		direction,
		wamid,
		type: messageType(message),
		timestamp: epochSecondsToIso(message.timestamp),
		counterparty: options.counterparty ?? (groupId !== null ? groupCounterparty(groupId) : user),
		content: messageContent(message),
		context: messageContext(message),
		original_wamid: originalWamid(message),
		position,
		idempotency_key: options.idempotencyKey ?? naturalKey(delivery, change, position, [wamid]),
	};
	if (groupId !== null && direction === 'inbound') element.participant = user;
	if ('raw' in options) element.raw = options.raw;
	return baseRecord(delivery, change, element);
}

/** The user who sent an inbound message (for a `system` message without `from_user_id`: `system.user_id`). */
function sender(change: ChangeFacts, message: JsonObject): Person {
	const system = isObject(message.system) ? message.system : {};
	return resolvePerson(
		change.contacts,
		stringOrNull(message.from),
		stringOrNull(message.from_user_id) ?? (message.type === 'system' ? stringOrNull(system.user_id) : null),
		{ parentUserId: stringOrNull(message.from_parent_user_id) },
	);
}

/** The user an echo was sent to. */
function recipient(change: ChangeFacts, message: JsonObject): Person {
	return resolvePerson(
		change.contacts,
		stringOrNull(message.to),
		stringOrNull(message.to_user_id) ?? stringOrNull(message.recipient_user_id),
	);
}

/**
 * A `status` record from `statuses[]`. A status with `recipient_type: "group"` is about a group message:
 * the counterparty is the group (`recipient_id`), and a status of one member
 * (`recipient_participant_id`) names them as `participant` and keeps its own key
 * `<phone_number_id>:<wamid>:<status>:<participant id>`, so each member's `read` is kept.
 */
export function statusRecord(delivery: DeliveryFacts, change: ChangeFacts, status: JsonObject, position: string): CaptureRecord {
	const wamid = stringOrNull(status.id);
	const statusValue = stringOrNull(status.status);
	const more = {
		userId: stringOrNull(status.recipient_user_id),
		parentUserId: stringOrNull(status.parent_recipient_user_id) ?? stringOrNull(status.recipient_parent_user_id),
		identityKeyHash: stringOrNull(status.recipient_identity_key_hash),
	};
	const groupId = status.recipient_type === 'group' ? stringOrNull(status.recipient_id) : null;
	const participantId = groupId !== null ? (stringOrNull(status.recipient_participant_id) ?? more.userId) : null;
	const element: ElementFields = {
		record_kind: 'status',
		direction: 'outbound',
		wamid,
		type: statusType(status),
		timestamp: epochSecondsToIso(status.timestamp),
		counterparty:
			groupId !== null
				? groupCounterparty(groupId)
				: resolvePerson(change.contacts, status.recipient_type === 'group' ? null : stringOrNull(status.recipient_id), more.userId, more),
		content: statusContent(status),
		context: null,
		original_wamid: null,
		position,
		idempotency_key: naturalKey(delivery, change, position, participantId !== null ? [wamid, statusValue, participantId] : [wamid, statusValue]),
	};
	if (participantId !== null) element.participant = personOfId(change.contacts, participantId, more);
	return baseRecord(delivery, change, element);
}

/** An `error` record from a value-level `errors[]` (Meta "messages webhook reference", `errors`). */
export function errorRecord(delivery: DeliveryFacts, change: ChangeFacts, error: JsonObject, position: string): CaptureRecord {
	return baseRecord(delivery, change, {
		record_kind: 'error',
		direction: null,
		wamid: null,
		type: 'error',
		timestamp: null,
		counterparty: emptyCounterparty(),
		content: { ...error },
		context: null,
		original_wamid: null,
		position,
		idempotency_key: derivedKey(delivery, position),
	});
}
