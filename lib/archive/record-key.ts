import type { S3Client } from '@aws-sdk/client-s3';

import { headObject, storeHttpStatus } from '../s3';
import { recordIdentityPseudonyms, recordParticipantPseudonyms, type IdentityFields } from './identity';
import { assertIndexKey, indexKeyCheck, keyTooLong, MEDIA_SUFFIX, objectKeyForRecord, recordFiling, recordObjectKey, RECORD_SUFFIX, type ObjectKeyParts } from './layout';
import { ArchiveError, type ArchiveRecordFields } from './types';

/**
 * Where an item of the capture pipeline is filed (docs/FORMAT.md, "Object keys"): a plaintext
 * capture record, or an item encrypted at capture whose routing fields already carry the HMACs.
 */

/**
 * The clear routing fields of an item encrypted at capture (lib/capture) that the key layout reads:
 * the record id and counterparty pseudonym were computed there under the same index key, which
 * `index_key_check` identifies.
 */
export interface EncryptedItemFields {
	encrypted: true;
	record_id: string;
	record_kind?: string | null;
	counterparty_pseudonym?: string | null;
	/** Other pseudonyms of the same person the record names (identity.ts), computed at capture. */
	identity_pseudonyms?: string[];
	/** Pseudonyms of the group member a group record names (identity.ts), computed at capture. */
	participant_pseudonyms?: string[];
	index_key_check?: string;
	/** Absent on items of schema version 1 (WhatsApp). */
	channel?: string | null;
	phone_number_id?: string | null;
	/** The business account on a channel other than WhatsApp. */
	account_id?: string | null;
	/** Change field (`history` files a record by its own time further back: layout.ts `recordFiling`). */
	field?: string | null;
	timestamp?: string | null;
	received_at?: string | null;
}

/** Whether an item's JSON is the routing fields of a record encrypted at capture (no plaintext fields). */
export function isEncryptedItem(item: object): item is EncryptedItemFields {
	const fields = item as Partial<EncryptedItemFields> & { idempotency_key?: unknown };
	return (
		fields.encrypted === true &&
		typeof fields.record_id === 'string' &&
		fields.idempotency_key === undefined
	);
}

/**
 * The key parts of an item: from a plaintext capture record (pseudonym and record id computed under
 * `indexKey`), or from an item encrypted at capture (`record_id` and `counterparty_pseudonym` taken as
 * they are, after checking that `index_key_check` is this index key's).
 *
 * A `phone_number_id` that is not a plain digit string or is missing files the record under `_unknown`
 * (`phoneNumberIdSegment`) instead of failing: a failed item is answered 500 and the sender's retries
 * would fail the same way, losing the delivery. The exact value stays in the ciphertext.
 *
 * @throws ArchiveError `InvalidInput` for a short index key or an item without `idempotency_key`;
 *   also for an item encrypted under another index key.
 */
export function itemKeyParts(item: object, options: { indexKey: string; prefix: string; retentionClass: string }): ObjectKeyParts {
	const indexKey = assertIndexKey(options.indexKey);
	const { prefix, retentionClass } = options;
	if (isEncryptedItem(item)) {
		if (item.index_key_check !== indexKeyCheck(indexKey)) {
			throw new ArchiveError(
				"The item was encrypted at capture under another Index Key than this credential's",
				{
					code: 'InvalidInput',
					hint: 'Set the same Index Key in the WhatsApp Capture credential and in the S3 Archive Store credential',
				},
			);
		}
		const { date, otherDates } = recordFiling({
			timestamp: item.timestamp ?? null,
			received_at: item.received_at ?? null,
			field: item.field ?? null,
		});
		return {
			prefix,
			retentionClass,
			phoneNumberId: item.phone_number_id ?? null,
			channel: item.channel ?? null,
			accountId: item.account_id ?? null,
			quarantine: item.record_kind === 'quarantine',
			date,
			otherDates,
			pseudonym: item.counterparty_pseudonym ?? null,
			recordId: item.record_id,
		};
	}
	const record = item as Partial<ArchiveRecordFields>;
	if (typeof record.idempotency_key !== 'string' || !record.idempotency_key) {
		throw new ArchiveError('The item has no idempotency_key to derive the object key from', {
			code: 'InvalidInput',
			hint: 'Feed records from the WhatsApp Capture Trigger (through the OpenPGP node, keeping the JSON, or with Encrypt at Capture on), or set Options → Object Key',
		});
	}
	const { pseudonym, recordId, date, otherDates } = objectKeyForRecord({
		indexKey,
		prefix,
		retentionClass,
		record: record as ArchiveRecordFields,
	});
	return {
		prefix,
		retentionClass,
		phoneNumberId: record.phone_number_id ?? null,
		channel: record.channel ?? null,
		accountId: record.account_id ?? null,
		quarantine: record.record_kind === 'quarantine',
		date,
		otherDates,
		pseudonym,
		recordId,
	};
}

/**
 * The pseudonyms of one person an item names, its filing pseudonym first (`recordIdentityPseudonyms`
 * of identity.ts for a plaintext record; `counterparty_pseudonym` and `identity_pseudonyms` of an
 * item encrypted at capture, which carries no plaintext to read them from). Fewer than two: no link.
 *
 * @throws ArchiveError `InvalidInput` when an encrypted item's `identity_pseudonyms` is not a list of
 *   32-hex pseudonyms.
 */
export function itemIdentityPseudonyms(item: object, indexKey: string): string[] {
	if (isEncryptedItem(item)) {
		const others = pseudonymList(item.identity_pseudonyms, 'identity_pseudonyms');
		return item.counterparty_pseudonym ? [item.counterparty_pseudonym, ...others] : [];
	}
	return recordIdentityPseudonyms({ indexKey, record: item as IdentityFields });
}

/**
 * The pseudonyms of the group member a group record names (the sender of a group message, the
 * recipient of a group status; `recordParticipantPseudonyms` of identity.ts, or the
 * `participant_pseudonyms` of an item encrypted at capture), their first identifier first. They are
 * linked among themselves, never to the group: a group is no person.
 *
 * @throws ArchiveError `InvalidInput` when an encrypted item's `participant_pseudonyms` is not a list of
 *   32-hex pseudonyms.
 */
export function itemParticipantPseudonyms(item: object, indexKey: string): string[] {
	if (isEncryptedItem(item)) return pseudonymList(item.participant_pseudonyms, 'participant_pseudonyms');
	return recordParticipantPseudonyms({ indexKey, record: item as IdentityFields });
}

function pseudonymList(value: unknown, field: string): string[] {
	const list = value ?? [];
	if (!Array.isArray(list) || list.some((entry) => typeof entry !== 'string' || !/^[0-9a-f]{32}$/.test(entry))) {
		throw new ArchiveError(`${field} must be a list of 32 lower-case hex pseudonyms`, { code: 'InvalidInput' });
	}
	return list as string[];
}

/**
 * The object key to write a record under: its layout key, unless a copy of it is already stored under
 * one of the parts' `otherDates` — then that copy's key, so the record is reported as a `duplicate` of
 * the stored one instead of being stored again. Those are the earlier days of a record filed by its
 * receipt (no trusted provider time: a redelivery on a later UTC day), and the days beside a history
 * message's own (its live capture filed by the server's time). One HeadObject per such day, only for
 * such records (value-level errors, events without a time, quarantined bodies, implausible timestamps,
 * history messages); records filed by their provider timestamp cost nothing.
 *
 * @throws ArchiveError as {@link recordObjectKey}; with the store's code when a HeadObject fails with
 *   anything but 404 / 403 (a key that may not be read counts as absent).
 */
export async function resolveRecordKey(options: { client: S3Client; bucket: string; parts: ObjectKeyParts }): Promise<string> {
	const { client, bucket, parts } = options;
	const key = recordObjectKey(parts);
	for (const date of parts.otherDates ?? []) {
		const other = recordObjectKey({ ...parts, date, otherDates: [] });
		if (other === key) continue;
		try {
			await headObject(client, { Bucket: bucket, Key: other });
			return other;
		} catch (error) {
			const status = storeHttpStatus(error);
			if (status !== 404 && status !== 403) throw error;
		}
	}
	return key;
}

/**
 * Checks an object key given instead of the computed one: relative, no empty, `.` or `..` segments,
 * at most 1024 UTF-8 bytes. Such a key is visible to the storage provider: it must carry no phone
 * number, name or wamid (the caller's responsibility).
 *
 * @throws ArchiveError `InvalidInput` naming the rule.
 */
export function checkObjectKey(key: string, field = 'Object Key'): string {
	const problems = [
		[key.startsWith('/'), 'must not start with "/"'],
		[
			key.split('/').some((s) => s === '' || s === '.' || s === '..'),
			'must not contain empty, "." or ".." segments',
		],
		[keyTooLong(key), 'must be at most 1024 bytes'],
	] as const;
	for (const [bad, rule] of problems) {
		if (bad) throw new ArchiveError(`${field} ${rule}`, { code: 'InvalidInput' });
	}
	return key;
}

/** The key of a record's media beside its record key: `<record id>.media.pgp`. */
export function mediaKeyBeside(recordKey: string): string {
	const base = recordKey.endsWith(RECORD_SUFFIX)
		? recordKey.slice(0, -RECORD_SUFFIX.length)
		: recordKey;
	return checkObjectKey(`${base}${MEDIA_SUFFIX}`);
}
