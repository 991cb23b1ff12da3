import type { Readable } from 'node:stream';

import type { S3Client } from '@aws-sdk/client-s3';

import { recordIdentityLinks } from './identity';
import { checkObjectKey, itemIdentityPseudonyms, itemKeyParts, itemParticipantPseudonyms, mediaKeyBeside, resolveRecordKey } from './record-key';
import type { ArchiveWriteResult, DuplicateCheck, ObjectLockParams, WriteOptions } from './types';
import { writeObject } from './write';
import { writeObjectStream } from './write-stream';

/**
 * Archive one record: the one orchestration behind S3 Archive → Record → Write and the WhatsApp
 * Capture Trigger's Archive at Capture (docs/FORMAT.md, "Object keys"). The callers check that every
 * body is OpenPGP ciphertext (`assertEncryptedMessage`) before calling.
 */

/** The bytes of a ciphertext in memory, or how to open it as a stream (opened twice by the writer). */
export type CiphertextBody = { bytes: Buffer | Uint8Array } | { openBody: () => Promise<Readable> | Readable };

/** One object to write: its ciphertext and its Content-Type (default `application/pgp-encrypted`). */
export interface CiphertextPart {
	body: CiphertextBody;
	contentType?: string;
}

/** What the legal-hold registry says of a record about to be written (lib/retention `legalHoldForNewRecord`). */
export interface RecordHold {
	legalHold: boolean;
	matterIds: string[];
}

/**
 * Looks up the legal-hold registry for the record's key and the pseudonyms of the person it names.
 * Injected (lib/retention depends on this engine, not the reverse).
 */
export type RecordHoldLookup = (input: { key: string; identityPseudonyms: string[] }) => Promise<RecordHold>;

export interface ArchiveRecordOptions {
	client: S3Client;
	bucket: string;
	/** The record's fields: a plaintext capture record, or the routing fields of a record encrypted at capture. */
	fields: object;
	indexKey: string;
	prefix: string;
	retentionClass: string;
	/** A key given instead of the computed one (no identity links then). Never phone numbers, names or wamids. */
	objectKey?: string;
	record: CiphertextPart;
	/** The record's media, written beside it (`<record id>.media.pgp`) before it. */
	media?: CiphertextPart;
	/** Retention of the new versions (none: the bucket's default, if any). */
	objectLock?: ObjectLockParams;
	/** Legal hold on the new versions, asked for by the caller. */
	legalHold?: boolean;
	/** The legal-hold registry lookup; null or absent: none (the flag is then only `legalHold`). */
	holdLookup?: RecordHoldLookup | null;
	storageClass?: string;
	serverSideEncryption?: 'AES256' | 'aws:kms';
	kmsKeyId?: string;
	duplicateCheck?: DuplicateCheck;
}

/** The outcome: the record's write, its media's (when given), what the registry said (when asked). */
export interface ArchivedRecord {
	result: ArchiveWriteResult;
	media?: ArchiveWriteResult;
	hold?: RecordHold | null;
}

/**
 * Writes one record (and its media) once under the archive layout:
 * 1. the key from the record's fields (`itemKeyParts`), or a record filed by its receipt on the key of
 *    a copy stored on an earlier day (`resolveRecordKey`);
 * 2. the legal-hold registry lookup (`holdLookup`) runs beside each write's duplicate pre-check, its
 *    decision (`legalHoldDecision`) going on the PUT;
 * 3. the media first: a record object is only ever written once its media is stored;
 * 4. the identity links the record names (pseudonyms only: identity.ts), so List, Export and holds
 *    find the person's records under every identifier: its counterparty's, and apart from them the
 *    group member's of a group record (a member is never linked to the group). The registry lookup
 *    is asked about the counterparty's: a group record is held by a matter naming its group, as the
 *    sweeper and Release Hold see it (by the key's pseudonym).
 *
 * @throws ArchiveError `InvalidInput` for fields that give no key (another index key, no
 *   idempotency_key) or a bad override; the store's errors; the lookup's error (nothing written then).
 */
export async function archiveRecord(options: ArchiveRecordOptions): Promise<ArchivedRecord> {
	const { client, bucket, prefix, indexKey } = options;
	const override = (options.objectKey ?? '').trim();
	const parts = override ? undefined : itemKeyParts(options.fields, { indexKey, prefix, retentionClass: options.retentionClass });
	if (override) checkObjectKey(override, 'Options → Object Key');
	const key = parts ? await resolveRecordKey({ client, bucket, parts }) : override;
	const identities = override ? [] : itemIdentityPseudonyms(options.fields, indexKey);
	const participant = override ? [] : itemParticipantPseudonyms(options.fields, indexKey);

	const holdLookup = options.holdLookup ? options.holdLookup({ key, identityPseudonyms: identities }) : null;
	holdLookup?.catch(() => undefined); // awaited by the writes and below; this only marks it handled
	const legalHoldDecision = holdLookup?.then((found) => found.legalHold);
	legalHoldDecision?.catch(() => undefined);
	const legalHold = options.legalHold === true;
	const objectLock = options.objectLock && legalHold ? { ...options.objectLock, legalHold } : options.objectLock;

	const write = async (part: CiphertextPart, objectKey: string): Promise<ArchiveWriteResult> => {
		const writeOptions: WriteOptions = {
			bucket,
			key: objectKey,
			contentType: part.contentType || 'application/pgp-encrypted',
			objectLock,
			legalHold,
			legalHoldDecision,
			storageClass: options.storageClass || undefined,
			serverSideEncryption: options.serverSideEncryption,
			kmsKeyId: options.serverSideEncryption === 'aws:kms' ? options.kmsKeyId || undefined : undefined,
			duplicateCheck: options.duplicateCheck ?? 'precheck',
		};
		return 'openBody' in part.body
			? await writeObjectStream({ ...writeOptions, client, openBody: part.body.openBody })
			: await writeObject({ ...writeOptions, client, body: part.body.bytes });
	};

	const media = options.media ? await write(options.media, mediaKeyBeside(key)) : undefined;
	const result = await write(options.record, key);
	const hold = holdLookup ? await holdLookup : null;
	if (!override) {
		await recordIdentityLinks({ client, bucket, prefix, indexKey, pseudonyms: identities });
		await recordIdentityLinks({ client, bucket, prefix, indexKey, pseudonyms: participant });
	}
	return media ? { result, media, hold } : { result, hold };
}
