import { stringOrNull } from './content';
import {
	baseRecord,
	derivedKey,
	eachElement,
	emptyCounterparty,
	epochSecondsToIso,
	groupCounterparty,
	personOfId,
	wordOrUnknown,
	type ChangeFacts,
	type DeliveryFacts,
	type ElementFields,
} from './record';
import type { CaptureRecord, JsonObject } from './types';

/**
 * Group fields of the Groups API (Meta, "Webhooks for Groups API"): their value carries
 * `groups[]`, one element per group event, each with `timestamp`, `group_id`, `type` and the event's
 * own keys (`request_id`, `subject`, `invite_link`, `join_approval_mode`, `description`, participant
 * lists, `errors`…).
 */
export const GROUP_FIELDS = [
	'group_lifecycle_update',
	'group_participants_update',
	'group_settings_update',
	'group_status_update',
] as const;

/**
 * One `group` record per element of `value.groups[]`: the counterparty is the group (named by the
 * element's `subject` when it has one), `type` the element's `type` (`group_create`, `group_delete`,
 * `group_participants_add`, `group_participants_remove`, `group_join_request_created`,
 * `group_settings_update`, `group_suspend`, …; `unknown` when it is not a lower-case word), the content
 * the element without `group_id` and `timestamp`. An element naming one member at its top level
 * (`wa_id`, `recipient_user_id`, `parent_recipient_user_id`: a join request, a member who joined by
 * invite link) names them as `participant`. Meta's reference shows the lifecycle elements; the keys of
 * the participants, settings and status elements follow solution providers' renderings of them
 * (YCloud), unconfirmed against Meta's own.
 */
export function groupRecords(delivery: DeliveryFacts, change: ChangeFacts, value: JsonObject, position: string): CaptureRecord[] {
	const records: CaptureRecord[] = [];
	eachElement(value.groups, position, 'groups', (group, at) => records.push(groupRecord(delivery, change, group, at)));
	return records;
}

function groupRecord(delivery: DeliveryFacts, change: ChangeFacts, group: JsonObject, position: string): CaptureRecord {
	const groupId = stringOrNull(group.group_id);
	const content: JsonObject = { ...group };
	delete content.group_id;
	delete content.timestamp;
	const element: ElementFields = {
		record_kind: 'group',
		direction: null,
		wamid: null,
		type: wordOrUnknown(group.type),
		timestamp: epochSecondsToIso(group.timestamp),
		counterparty: groupId !== null ? groupCounterparty(groupId, stringOrNull(group.subject)) : emptyCounterparty(),
		content,
		context: null,
		original_wamid: null,
		position,
		idempotency_key: derivedKey(delivery, position),
	};
	const userId = stringOrNull(group.recipient_user_id) ?? stringOrNull(group.user_id);
	const memberId = stringOrNull(group.wa_id) ?? userId;
	if (memberId !== null) {
		element.participant = personOfId(change.contacts, memberId, {
			userId,
			parentUserId: stringOrNull(group.parent_recipient_user_id) ?? stringOrNull(group.parent_user_id),
		});
	}
	return baseRecord(delivery, change, element);
}
