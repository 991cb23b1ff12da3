import { KNOWN_EVENT_FIELDS, MESSAGE_FIELDS } from './normalize';
import type { CaptureRecord, FilterOptions, FilterResult } from './types';

const DOCUMENTED_FIELDS: ReadonlySet<string> = new Set([...MESSAGE_FIELDS, ...KNOWN_EVENT_FIELDS]);

/**
 * Applies the user's record filters. Each filter only narrows the records it is about, and an empty
 * or missing list keeps everything:
 * - `messageTypes`: drops `message` records whose `type` is not listed (other kinds untouched);
 * - `statusKinds`: drops `status` records whose `type` is not listed (other kinds untouched);
 * - `fields`: drops records whose change `field` is not listed; a field this engine does not document
 *   matches the list entry `unknown` (so new fields are only dropped when `unknown` is left out).
 * `quarantine` records, and records whose `field` is null (malformed entries), are never dropped:
 * the user cannot have asked to drop them by name.
 *
 * @returns the kept records (same objects, same order) and the number dropped.
 */
export function filterRecords(records: CaptureRecord[], options: FilterOptions = {}): FilterResult {
	const messageTypes = nonEmpty(options.messageTypes);
	const statusKinds = nonEmpty(options.statusKinds);
	const fields = nonEmpty(options.fields);

	const kept = records.filter((record) => {
		if (record.record_kind === 'quarantine') return true;
		if (fields && record.field !== null && !fields.has(fieldKey(record.field))) return false;
		if (messageTypes && record.record_kind === 'message' && !messageTypes.has(record.type)) return false;
		if (statusKinds && record.record_kind === 'status' && !statusKinds.has(record.type)) return false;
		return true;
	});
	return { kept, dropped: records.length - kept.length };
}

/** A Set of the list's strings, or undefined when the list is missing or empty. */
function nonEmpty(list: string[] | undefined): Set<string> | undefined {
	if (!Array.isArray(list)) return undefined;
	const values = list.filter((value) => typeof value === 'string' && value.length > 0);
	return values.length > 0 ? new Set(values) : undefined;
}

/** The field name as listed in the filter: itself when documented, else `unknown`. */
function fieldKey(field: string): string {
	return DOCUMENTED_FIELDS.has(field) ? field : 'unknown';
}
