import { createHash } from 'node:crypto';
import type { PutObjectCommandInput, S3Client } from '@aws-sdk/client-s3';

import { isPreconditionFailed, putObject, unquoteEtag, SHA256_METADATA_KEY } from '../s3';
import { duplicateAfterPreconditionFailed, findExisting, locksAfterSettling, settleVersionRace, singleFlight, type LockToPlace } from './dedupe';
import { ArchiveError, type ArchiveWriteResult, type WriteOptions } from './types';

export { SHA256_METADATA_KEY } from '../s3';

/**
 * Checks write options before any request.
 *
 * @throws ArchiveError `InvalidInput` naming the option and the rule.
 */
export function validateWriteOptions(options: WriteOptions): void {
	if (!options.bucket || typeof options.bucket !== 'string') {
		throw new ArchiveError(
			'bucket is required (set Bucket in the S3 Archive Store credential or the node)',
			{
				code: 'InvalidInput',
			},
		);
	}
	if (!options.key || typeof options.key !== 'string') {
		throw new ArchiveError('key is required', { code: 'InvalidInput' });
	}
	for (const [name, value] of Object.entries(options.metadata ?? {})) {
		if (name.toLowerCase() === SHA256_METADATA_KEY) {
			throw new ArchiveError(`metadata key "${name}" is reserved (the writer sets it)`, {
				code: 'InvalidInput',
			});
		}
		if (!/^[A-Za-z0-9-_]+$/.test(name) || !/^[\x20-\x7e]*$/.test(String(value))) {
			throw new ArchiveError(
				`metadata "${name}" must have a token name and a printable US-ASCII value`,
				{
					code: 'InvalidInput',
				},
			);
		}
	}
	const lock = options.objectLock;
	if (lock) {
		if (lock.mode !== 'GOVERNANCE' && lock.mode !== 'COMPLIANCE') {
			throw new ArchiveError(
				`objectLock.mode must be GOVERNANCE or COMPLIANCE (got "${String(lock.mode)}")`,
				{
					code: 'InvalidInput',
				},
			);
		}
		if (!(lock.retainUntil instanceof Date) || Number.isNaN(lock.retainUntil.getTime())) {
			throw new ArchiveError('objectLock.retainUntil must be a valid Date', {
				code: 'InvalidInput',
			});
		}
		if (lock.retainUntil.getTime() <= Date.now()) {
			throw new ArchiveError('objectLock.retainUntil must be in the future', {
				code: 'InvalidInput',
			});
		}
	}
	if (
		options.duplicateCheck !== undefined &&
		options.duplicateCheck !== 'precheck' &&
		options.duplicateCheck !== 'store'
	) {
		throw new ArchiveError(
			`duplicateCheck must be "precheck" or "store" (got "${String(options.duplicateCheck)}")`,
			{
				code: 'InvalidInput',
			},
		);
	}
	if (options.kmsKeyId && options.serverSideEncryption !== 'aws:kms') {
		throw new ArchiveError('kmsKeyId is only valid with serverSideEncryption "aws:kms"', {
			code: 'InvalidInput',
		});
	}
}

/** Whether the write carries Object Lock retention or a legal hold (its version cannot be deleted). */
export function sendsLock(options: WriteOptions): boolean {
	return Boolean(options.objectLock || options.legalHold);
}

/** The lock of a write, to place after the race is settled instead of sending it with the PUT. */
export function lockToPlace(options: WriteOptions): LockToPlace | null {
	if (!sendsLock(options)) return null;
	const lock = options.objectLock;
	return {
		...(lock ? { retention: { mode: lock.mode, retainUntil: lock.retainUntil } } : {}),
		legalHold: Boolean(options.legalHold || lock?.legalHold),
	};
}

/** The write's options without its lock (sent later by {@link settleVersionRace}). */
export function withoutLock(options: WriteOptions): WriteOptions {
	const rest = { ...options };
	delete rest.objectLock;
	delete rest.legalHold;
	return rest;
}

/** The PutObject / CreateMultipartUpload parameters of a write, its ciphertext SHA-256 in metadata. */
export function putParams(options: WriteOptions, sha256: string): PutObjectCommandInput {
	const lock = options.objectLock;
	const legalHold = options.legalHold || lock?.legalHold;
	return {
		Bucket: options.bucket,
		Key: options.key,
		ContentType: options.contentType ?? 'application/pgp-encrypted',
		Metadata: { ...(options.metadata ?? {}), [SHA256_METADATA_KEY]: sha256 },
		...(lock ? { ObjectLockMode: lock.mode, ObjectLockRetainUntilDate: lock.retainUntil } : {}),
		...(legalHold ? { ObjectLockLegalHoldStatus: 'ON' as const } : {}),
		...(options.storageClass
			? { StorageClass: options.storageClass as PutObjectCommandInput['StorageClass'] }
			: {}),
		...(options.serverSideEncryption ? { ServerSideEncryption: options.serverSideEncryption } : {}),
		...(options.kmsKeyId ? { SSEKMSKeyId: options.kmsKeyId } : {}),
	};
}

/**
 * Writes one object once: PutObject with `If-None-Match: *` (RFC 9110 §13.1.2; S3 conditional
 * writes), `Content-MD5` (RFC 1864; required by S3 for PUTs with Object Lock parameters) and the
 * ciphertext SHA-256 in `x-amz-meta-sha256`.
 *
 * - A new key → `{ status: 'created', versionId, etag, size, sha256 }`.
 * - The key already exists → `{ status: 'duplicate', … }` describing the *existing* object, not an
 *   error: a retried delivery maps to the same key.
 *
 * Duplicate detection, in layers (`duplicateCheck: 'store'` keeps only layers 1 and the
 * `If-None-Match` of layer 2: one request per record, for stores that honour it; see {@link DuplicateCheck}):
 * 1. Single-flight in the process (per store + bucket + key): a concurrent second writer of the key
 *    waits for the first and gets its outcome as `duplicate` with the first one's version id.
 * 2. `If-None-Match: *` on the PUT (412 PreconditionFailed → duplicate; 409
 *    ConditionalRequestConflict → sent again), and HeadObject before it where a repeated PUT could
 *    leave more than a deletable version (unversioned buckets, buckets with default retention, or
 *    when the bucket's Object Lock configuration cannot be read). Some stores ignore
 *    `If-None-Match: *` in versioned buckets (every Object Lock bucket is versioned; which stores do:
 *    docs/stores.md) and silently store another version.
 * 3. In a versioned bucket, after a `created` PUT: ListObjectVersions (Prefix = key). When an older
 *    version of the key exists (a writer in another process won the race, or the store stored a PUT
 *    whose response was lost and the SDK retried it), the result is `duplicate` describing the oldest
 *    version, and this call's own version is deleted by VersionId.
 *
 * Object Lock: in a bucket with Object Lock and no default retention the PUT goes without lock
 * headers and the lock (PutObjectRetention, PutObjectLegalHold) is placed on the winning version once
 * layer 3 has settled the race, so a losing version can always be deleted: PUT + ListObjectVersions +
 * PutObjectRetention for a new record, no HeadObject. The version is unlocked for that one round trip;
 * a writer that stops in between leaves it unlocked until the same record is written again (the
 * retried delivery), which locks the winner it finds. Elsewhere the lock goes with the PUT; a losing
 * version that carries it — sent with this write, or the bucket's default retention — cannot be
 * deleted: the result is then `duplicate` with `extraVersionId` naming the surplus version (another
 * ciphertext of the same record; nothing lost or overwritten). See docs/FORMAT.md, "Duplicates and
 * versions".
 *
 * Write-only keys (HeadObject → 403) skip the pre-check and rely on If-None-Match; a duplicate is
 * then reported with null versionId, etag, size and sha256.
 * - `objectLock` sends `x-amz-object-lock-mode` / `-retain-until-date` (and legal hold when asked).
 *
 * @param options.body the ciphertext bytes (never logged or put into errors).
 * @throws ArchiveError `InvalidInput` for bad options; otherwise with the store's code and message
 *   (e.g. `InvalidRequest` with a fix hint when lock parameters go to a bucket without Object Lock).
 */
export async function writeObject(
	options: WriteOptions & {
		client: S3Client;
		body: Buffer | Uint8Array;
	},
): Promise<ArchiveWriteResult> {
	validateWriteOptions(options);
	if (!(options.body instanceof Uint8Array)) {
		throw new ArchiveError('body must be a Buffer or Uint8Array', { code: 'InvalidInput' });
	}
	return await singleFlight(
		options.client,
		options.bucket,
		options.key,
		async () => await putOnce(options),
	);
}

/** {@link writeObject} without the single-flight (the caller holds it). */
export async function putOnce(options: WriteOptions & { client: S3Client; body: Buffer | Uint8Array }): Promise<ArchiveWriteResult> {
	const { client, bucket, key, body } = options;
	const storeDecides = options.duplicateCheck === 'store';
	const settleFirst = !storeDecides && (await locksAfterSettling(client, bucket));
	const [existing, legalHold] = await Promise.all([
		storeDecides || settleFirst ? null : findExisting(client, bucket, key),
		options.legalHoldDecision ?? false,
	]);
	if (existing) return existing;
	if (legalHold) options = { ...options, legalHold: true };
	const lockAfter = settleFirst ? lockToPlace(options) : null;
	const sha256 = createHash('sha256').update(body).digest('hex');
	let created: ArchiveWriteResult;
	try {
		const result = await putObject(client, {
			...putParams(settleFirst ? withoutLock(options) : options, sha256),
			Body: body,
			ContentLength: body.byteLength,
			IfNoneMatch: '*',
		});
		created = {
			status: 'created',
			bucket,
			key,
			versionId: result.VersionId ?? null,
			etag: unquoteEtag(result.ETag),
			size: body.byteLength,
			sha256,
		};
	} catch (error) {
		if (isPreconditionFailed(error))
			return await duplicateAfterPreconditionFailed(client, bucket, key);
		throw error;
	}
	return storeDecides
		? created
		: await settleVersionRace(client, { bucket, key, locked: sendsLock(options) && !settleFirst, lockAfter }, created);
}
