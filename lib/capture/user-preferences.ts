import { stringOrNull } from './content';
import { baseRecord, derivedKey, eachElement, epochSecondsToIso, resolvePerson, wordOrUnknown, type ChangeFacts, type DeliveryFacts } from './record';
import type { CaptureRecord, JsonObject } from './types';

/**
 * Marketing opt-out and opt-in (Meta, "user_preferences webhook reference"):
 * `value.user_preferences[]` of `{ wa_id, detail, category: "marketing_messages", value: "stop" |
 * "resume", timestamp }`, beside `contacts[]`.
 *
 * One `user_preference` record per element: type = `value` (`stop`, `resume`), direction `inbound`
 * (the user's choice), the counterparty the user (completed from `contacts[]`; `user_id` when the
 * element carries one), the content `{ category, value, detail, … }` as sent (without `wa_id`,
 * `user_id` and `timestamp`, carried by `counterparty` and `timestamp`).
 */
export function userPreferenceRecords(delivery: DeliveryFacts, change: ChangeFacts, value: JsonObject, position: string): CaptureRecord[] {
	const records: CaptureRecord[] = [];
	eachElement(value.user_preferences, position, 'user_preferences', (preference, at) => {
		const content: JsonObject = { ...preference };
		delete content.wa_id;
		delete content.user_id;
		delete content.timestamp;
		records.push(
			baseRecord(delivery, change, {
				record_kind: 'user_preference',
				direction: 'inbound',
				wamid: null,
				type: wordOrUnknown(preference.value),
				timestamp: epochSecondsToIso(preference.timestamp),
				counterparty: resolvePerson(change.contacts, stringOrNull(preference.wa_id), stringOrNull(preference.user_id)),
				content,
				context: null,
				original_wamid: null,
				position: at,
				idempotency_key: derivedKey(delivery, at),
			}),
		);
	});
	return records;
}
