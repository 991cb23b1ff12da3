import { isObject, messageType, stringOrNull } from './content';
import { errorRecord, messageRecord } from './messages';
import { baseRecord, derivedKey, eachElement, emptyCounterparty, epochSecondsToIso, naturalKey, personOfId, type ChangeFacts, type DeliveryFacts } from './record';
import type { CaptureRecord, Direction, JsonObject } from './types';

/**
 * The coexistence history sync (Meta, "history webhook reference"): after a business onboarded with
 * its WhatsApp Business app number shares its chat history, `value.history[]` brings chunks of
 * `{ metadata: { phase, chunk_order, progress }, threads: [{ id, messages: [...] }] }` (phase 0: day 0–1,
 * 1: day 1–90, 2: day 90–180 before onboarding; `progress` 100 = done), or `{ errors: [...] }` when the
 * business declined (code 2593109). Group chats are not included; media messages come first without
 * their media id, which later history webhooks of the same messages bring (media of the last 14 days).
 *
 * A message of the history is archived as the `message` record it would have been when captured live:
 * its own `timestamp`, the user of its thread as counterparty, and the same key
 * `<phone_number_id>:<wamid>`, so a message captured live and again by the sync is stored once
 * (lib/archive files history records by their own time: layout.ts `recordFiling`). Its `raw` is the
 * message itself: one chunk can carry thousands of messages, and each record holding the whole chunk
 * would multiply it by as many.
 */

/**
 * Message type of a history media message sent before its media id is known (not in Meta's reference;
 * seen by solution providers). Its key is apart (`…:placeholder`), so the later history webhook with
 * the media id is stored too instead of being taken for its duplicate.
 */
export const MEDIA_PLACEHOLDER_TYPE = 'media_placeholder';

/**
 * Records of one `history` change: per chunk, one `history_progress` record (type `progress`, or
 * `error` when the chunk carries `errors`; content `{ phase, chunk_order, progress, threads, messages,
 * errors? }` with the counts of threads and messages it carries), then one `message` record per message
 * of its threads; value-level `errors[]` become `error` records.
 */
export function historyRecords(delivery: DeliveryFacts, change: ChangeFacts, value: JsonObject, position: string): CaptureRecord[] {
	const records: CaptureRecord[] = [];
	eachElement(value.history, position, 'history', (chunk, at) => {
		records.push(progressRecord(delivery, change, chunk, at));
		eachElement(chunk.threads, at, 'threads', (thread, threadAt) => {
			eachElement(thread.messages, threadAt, 'messages', (message, messageAt) => {
				records.push(historyMessageRecord(delivery, change, stringOrNull(thread.id), message, messageAt));
			});
		});
	});
	eachElement(value.errors, position, 'errors', (error, at) => records.push(errorRecord(delivery, change, error, at)));
	return records;
}

/** The `history_progress` record of one chunk; its `raw` is the chunk without its threads. */
function progressRecord(delivery: DeliveryFacts, change: ChangeFacts, chunk: JsonObject, position: string): CaptureRecord {
	const metadata = isObject(chunk.metadata) ? chunk.metadata : {};
	const threads = Array.isArray(chunk.threads) ? chunk.threads : [];
	const messages = threads.reduce<number>((sum, thread) => sum + (isObject(thread) && Array.isArray(thread.messages) ? thread.messages.length : 0), 0);
	const errors = Array.isArray(chunk.errors) && chunk.errors.length > 0 ? chunk.errors : null;
	const content: JsonObject = {
		phase: metadata.phase ?? null,
		chunk_order: metadata.chunk_order ?? null,
		progress: metadata.progress ?? null,
		threads: threads.length,
		messages,
	};
	if (errors) content.errors = errors;
	const raw: JsonObject = { ...chunk };
	delete raw.threads;
	return baseRecord(delivery, change, {
		record_kind: 'history_progress',
		direction: null,
		wamid: null,
		type: errors ? 'error' : 'progress',
		timestamp: epochSecondsToIso(change.entryTime),
		counterparty: emptyCounterparty(),
		content,
		context: null,
		original_wamid: null,
		position,
		idempotency_key: derivedKey(delivery, position),
		raw,
	});
}

/**
 * One message of a thread: outbound when it was sent by the business (it has `to`, or `from` is the
 * business number), else inbound; the counterparty is the thread's user (`threads[].id`).
 */
function historyMessageRecord(delivery: DeliveryFacts, change: ChangeFacts, threadId: string | null, message: JsonObject, position: string): CaptureRecord {
	const from = stringOrNull(message.from);
	const outbound = stringOrNull(message.to) !== null || (from !== null && from === change.displayPhoneNumber);
	const direction: Direction = outbound ? 'outbound' : 'inbound';
	const user = threadId ?? (outbound ? stringOrNull(message.to) : from);
	const wamid = stringOrNull(message.id);
	const placeholder = messageType(message) === MEDIA_PLACEHOLDER_TYPE;
	return messageRecord(delivery, change, message, position, direction, {
		counterparty: personOfId(change.contacts, user),
		idempotencyKey: naturalKey(delivery, change, position, placeholder ? [wamid, 'placeholder'] : [wamid]),
		raw: message,
	});
}
