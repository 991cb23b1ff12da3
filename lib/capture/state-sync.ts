import { isObject, stringOrNull } from './content';
import { baseRecord, derivedKey, eachElement, epochSecondsToIso, resolvePerson, wordOrUnknown, type ChangeFacts, type DeliveryFacts } from './record';
import type { CaptureRecord, JsonObject, Person } from './types';

/**
 * The coexistence contact sync (Meta, "smb_app_state_sync webhook reference"): `value.state_sync[]`
 * of `{ type: "contact", contact: { full_name, first_name, phone_number }, action: "add" | "remove",
 * metadata: { timestamp } }`, one per contact of the business's WhatsApp Business app address book
 * added or edited (`add`) or removed (`remove`, without names).
 *
 * One `contact` record per element: type = `action`, the counterparty the contact (`wa_id` its phone
 * number, `name` its full name; `user_id`, `username` and `parent_user_id` when the contact carries
 * them, which Meta's reference does not show yet), the content the element. Written by the archive,
 * the record links the contact's identifiers like any record's (lib/archive/identity.ts): every
 * WhatsApp form of the number, and the BSUID and username when sent. Its `raw` is the element: the
 * first sync of an address book can list thousands of contacts in one change.
 */
export function contactRecords(delivery: DeliveryFacts, change: ChangeFacts, value: JsonObject, position: string): CaptureRecord[] {
	const records: CaptureRecord[] = [];
	eachElement(value.state_sync, position, 'state_sync', (element, at) => {
		const metadata = isObject(element.metadata) ? element.metadata : {};
		records.push(
			baseRecord(delivery, change, {
				record_kind: 'contact',
				direction: null,
				wamid: null,
				type: wordOrUnknown(element.action),
				timestamp: epochSecondsToIso(metadata.timestamp),
				counterparty: contactPerson(change, element),
				content: { ...element },
				context: null,
				original_wamid: null,
				position: at,
				idempotency_key: derivedKey(delivery, at),
				raw: element,
			}),
		);
	});
	return records;
}

/** The person of a state-sync contact. */
function contactPerson(change: ChangeFacts, element: JsonObject): Person {
	const contact = isObject(element.contact) ? element.contact : {};
	const digits = stringOrNull(contact.phone_number)?.replace(/\D/g, '') || null;
	const person = resolvePerson(change.contacts, digits, stringOrNull(contact.user_id), {
		parentUserId: stringOrNull(contact.parent_user_id),
	});
	person.name = person.name ?? stringOrNull(contact.full_name) ?? stringOrNull(contact.first_name);
	const username = stringOrNull(contact.username);
	if (username !== null && person.username === undefined) person.username = username;
	return person;
}
