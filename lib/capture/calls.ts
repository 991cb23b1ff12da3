import { stringOrNull } from './content';
import { errorRecord } from './messages';
import { baseRecord, eachElement, epochSecondsToIso, naturalKey, resolvePerson, wordOrUnknown, type ChangeFacts, type DeliveryFacts } from './record';
import type { CaptureRecord, Direction, JsonObject } from './types';

/**
 * The Calling API's `calls` field (Meta, "Calling API – webhooks"; shapes as typed by
 * Secreto31126/whatsapp-api-js `src/types.ts`): `value.calls[]` of
 * `{ id: "wacid.…", from, to, event: "connect" | "terminate", timestamp, direction: "USER_INITIATED" |
 * "BUSINESS_INITIATED", session?: { sdp_type, sdp }, status?, start_time?, end_time?, duration?,
 * biz_opaque_callback_data? }`, and for business-initiated calls `value.statuses[]` of
 * `{ id: "wacid.…", type: "call", status: "RINGING" | "ACCEPTED" | "REJECTED", timestamp, recipient_id }`.
 *
 * One `call` record per call event and per call status: who (the counterparty: the user who called or
 * was called, completed from `contacts[]`), when, the direction, and for `terminate` the outcome,
 * start, end and duration. No media: the call's audio never reaches a webhook, and the session
 * descriptions (`session`, `connection`: WebRTC SDP, RFC 8866) are left out of the content (they stay
 * in `raw`). Without `direction` (Meta's own examples omit it at times) the business number tells it:
 * a call from the business is outbound, any other inbound.
 */

/** Call keys carried by other record fields, or left out (the session descriptions `session`, `connection`). */
const CALL_ENVELOPE_KEYS = new Set(['id', 'timestamp', 'from', 'to', 'from_user_id', 'to_user_id', 'session', 'connection']);

/** Records of one `calls` change: call events, then call statuses, then value-level errors. */
export function callRecords(delivery: DeliveryFacts, change: ChangeFacts, value: JsonObject, position: string): CaptureRecord[] {
	const records: CaptureRecord[] = [];
	eachElement(value.calls, position, 'calls', (call, at) => records.push(callEventRecord(delivery, change, call, at)));
	eachElement(value.statuses, position, 'statuses', (status, at) => records.push(callStatusRecord(delivery, change, status, at)));
	eachElement(value.errors, position, 'errors', (error, at) => records.push(errorRecord(delivery, change, error, at)));
	return records;
}

/** A call event (`connect`, `terminate`): type = `event`, the user on the other end as counterparty. */
function callEventRecord(delivery: DeliveryFacts, change: ChangeFacts, call: JsonObject, position: string): CaptureRecord {
	const id = stringOrNull(call.id);
	const fromBusiness = change.displayPhoneNumber !== null && stringOrNull(call.from) === change.displayPhoneNumber;
	const direction: Direction =
		call.direction === 'USER_INITIATED'
			? 'inbound'
			: call.direction === 'BUSINESS_INITIATED' || fromBusiness
				? 'outbound'
				: 'inbound';
	const [user, userId] =
		direction === 'outbound'
			? [stringOrNull(call.to), stringOrNull(call.to_user_id)]
			: [stringOrNull(call.from), stringOrNull(call.from_user_id)];
	const content: JsonObject = {};
	for (const [key, entry] of Object.entries(call)) if (!CALL_ENVELOPE_KEYS.has(key)) content[key] = entry;
	const type = wordOrUnknown(call.event);
	return baseRecord(delivery, change, {
		record_kind: 'call',
		direction,
		wamid: id,
		type,
		timestamp: epochSecondsToIso(call.timestamp),
		counterparty: resolvePerson(change.contacts, user, userId),
		content,
		context: null,
		original_wamid: null,
		position,
		idempotency_key: naturalKey(delivery, change, position, [id, stringOrNull(call.event)]),
	});
}

/** A call status of a business-initiated call: type = the status in lower case (`ringing`, `accepted`, `rejected`). */
function callStatusRecord(delivery: DeliveryFacts, change: ChangeFacts, status: JsonObject, position: string): CaptureRecord {
	const id = stringOrNull(status.id);
	const value = stringOrNull(status.status);
	const content: JsonObject = { ...status };
	delete content.id;
	delete content.timestamp;
	return baseRecord(delivery, change, {
		record_kind: 'call',
		direction: 'outbound',
		wamid: id,
		type: wordOrUnknown(value?.toLowerCase()),
		timestamp: epochSecondsToIso(status.timestamp),
		counterparty: resolvePerson(change.contacts, stringOrNull(status.recipient_id), stringOrNull(status.recipient_user_id)),
		content,
		context: null,
		original_wamid: null,
		position,
		idempotency_key: naturalKey(delivery, change, position, [id, value]),
	});
}
