import type { Readable } from 'node:stream';
import type { S3Client } from '@aws-sdk/client-s3';

import { abortMultipartUpload, hashStream, headObject, isPreconditionFailed, listMultipartUploads, storeHttpStatus, unquoteEtag, uploadMultipart, verifiedStream } from '../s3';
import { duplicateAfterPreconditionFailed, findExisting, locksAfterSettling, settleVersionRace, singleFlight } from './dedupe';
import { ArchiveError, type ArchiveWriteResult, type WriteOptions } from './types';
import { lockToPlace, putOnce, putParams, sendsLock, validateWriteOptions, withoutLock } from './write';

/** Smallest multipart part S3 accepts (except the last part): 5 MiB (S3 API reference, UploadPart). */
export const MIN_PART_SIZE = 5 * 1024 * 1024;

/** Default multipart part size: 8 MiB. */
export const DEFAULT_PART_SIZE = 8 * 1024 * 1024;

/** S3 multipart limits (S3 User Guide, "Amazon S3 multipart upload limits"): parts per upload. */
export const MAX_PARTS = 10_000;

/** Largest part S3 accepts: 5 GiB. */
export const MAX_PART_SIZE = 5 * 1024 ** 3;

/** Largest object S3 stores: 5 TiB. */
export const MAX_OBJECT_SIZE = 5 * 1024 ** 4;

const MiB = 1024 * 1024;

/**
 * The part size of a multipart upload of `size` bytes: `requested` (default 8 MiB, at least 5 MiB),
 * grown to `size / 10,000` rounded up to whole MiB when the upload would otherwise need more than
 * S3's 10,000 parts (8 MiB parts reach that limit at about 78 GiB; 5 TiB needs 525 MiB parts).
 *
 * @throws ArchiveError `InvalidInput` above 5 TiB, the largest object S3 stores.
 */
export function multipartPartSize(size: number, requested = DEFAULT_PART_SIZE): number {
	if (size > MAX_OBJECT_SIZE) {
		throw new ArchiveError(
			`The binary is ${(size / 1024 ** 4).toFixed(2)} TiB; S3 stores objects of at most 5 TiB (S3 multipart upload limits)`,
			{ code: 'InvalidInput', hint: 'Split the file before encrypting it, or archive it elsewhere' },
		);
	}
	const needed = Math.ceil(size / MAX_PARTS / MiB) * MiB;
	return Math.min(MAX_PART_SIZE, Math.max(MIN_PART_SIZE, requested, needed));
}

/**
 * Aborts the incomplete multipart uploads of exactly `key` (ListMultipartUploads with Prefix = key,
 * paged; uploads of longer keys sharing the prefix are left alone). Called before a new multipart
 * upload of the key: an earlier upload of the same key is the leftover of an interrupted attempt to
 * write the same record (its AbortMultipartUpload did not reach the store), since keys are derived
 * from the record. Best effort: a listing or abort that fails (keys without
 * s3:ListBucketMultipartUploads / s3:AbortMultipartUpload, store trouble) is ignored — the upload
 * itself then reports any real store failure, and the lifecycle rule compiled by
 * `compileLifecycle` aborts what is left after a day.
 *
 * A multipart upload of the same key running at that moment in *another* process is aborted too: that
 * writer fails (its caller retries and then finds the object, `duplicate`); nothing is lost, because
 * both were writing the same record. Writers in the same process never meet here (single-flight, see
 * {@link writeObject}).
 *
 * @returns the number of uploads aborted.
 */
async function abortEarlierUploads(client: S3Client, bucket: string, key: string): Promise<number> {
	let aborted = 0;
	try {
		for await (const uploads of listMultipartUploads(client, bucket, key)) {
			for (const upload of uploads) {
				if (upload.Key !== key || !upload.UploadId) continue;
				try {
					await abortMultipartUpload(client, bucket, key, upload.UploadId);
					aborted += 1;
				} catch {
					// best effort (see above)
				}
			}
		}
	} catch {
		// best effort (see above)
	}
	return aborted;
}

/**
 * Writes a large object from a stream with bounded memory, once.
 *
 * The source is read twice (`openBody` is called twice): a first pass computes the SHA-256 and size
 * (the hash must be known before the upload starts, because it goes into `x-amz-meta-sha256` at
 * CreateMultipartUpload); the second pass uploads. Bodies up to `partSize` go through
 * {@link writeObject} (one PutObject with Content-MD5 and If-None-Match). Larger bodies go through
 * `@aws-sdk/lib-storage` `Upload` in parts of `partSize` (≥ 5 MiB, whatever chunk sizes the source
 * yields; grown with the size the first pass measured so at most 10,000 parts are needed, see
 * {@link multipartPartSize}), each part with Content-MD5 (the client's policy, `lib/s3`); memory
 * stays near `partSize × queueSize`. Bodies over 5 TiB are refused before any request. On any
 * failure the multipart upload is aborted (AbortMultipartUpload), so no partial object remains. When that abort cannot reach the store (store stopped mid-upload), the
 * parts stay as an incomplete upload: the next attempt for the key aborts it first (earlier uploads
 * of exactly this key, ListMultipartUploads), and the lifecycle rule from `compileLifecycle` aborts
 * uploads never retried after a day. The upload is verified against the first-pass hash before completion.
 *
 * Duplicates: as {@link writeObject} (`duplicateCheck` applies to bodies up to `partSize`, which go
 * through one PutObject; multipart uploads always use the full check) — single-flight in the process, HeadObject first,
 * `If-None-Match: *` on CompleteMultipartUpload (S3 conditional writes), and in a versioned bucket
 * the ListObjectVersions check after completion (a losing version is deleted, or reported as
 * `extraVersionId` when it is locked). ETag and version id are read with HeadObject after
 * completion (some stores return an empty ETag from CompleteMultipartUpload: docs/stores.md).
 *
 * @throws ArchiveError as {@link writeObject}; `SourceChanged` when the two passes differ.
 */
export async function writeObjectStream(options: StreamWriteOptions): Promise<ArchiveWriteResult> {
	validateWriteOptions(options);
	return await singleFlight(
		options.client,
		options.bucket,
		options.key,
		async () => await uploadOnce(options),
	);
}

/** Options of {@link writeObjectStream}. */
type StreamWriteOptions = WriteOptions & {
	client: S3Client;
	/** Opens a fresh stream over the same bytes; called twice. */
	openBody: () => Readable | Promise<Readable>;
	/** Multipart part size in bytes (default 8 MiB, minimum 5 MiB; grown for bodies over 10,000 parts). */
	partSize?: number;
	/** Parts uploaded in parallel (default 2). */
	queueSize?: number;
};

/** {@link writeObjectStream} without the single-flight (the caller holds it). */
async function uploadOnce(options: StreamWriteOptions): Promise<ArchiveWriteResult> {
	const { client, bucket, key } = options;
	const partSize = Math.max(MIN_PART_SIZE, options.partSize ?? DEFAULT_PART_SIZE);
	const first = await hashStream(await options.openBody(), { keepUpTo: partSize });
	if (first.kept) {
		return await putOnce({ ...options, body: first.kept });
	}
	// Multipart uploads keep the pre-check whatever `duplicateCheck` says: some stores ignore
	// If-None-Match on CompleteMultipartUpload (docs/stores.md), and one HeadObject is nothing beside
	// a multi-MiB upload.
	const uploadPartSize = multipartPartSize(first.size, partSize);
	const [existing, legalHold, settleFirst] = await Promise.all([
		findExisting(client, bucket, key),
		options.legalHoldDecision ?? false,
		locksAfterSettling(client, bucket),
	]);
	if (existing) return existing;
	if (legalHold) options = { ...options, legalHold: true };
	const lockAfter = settleFirst ? lockToPlace(options) : null;
	await abortEarlierUploads(client, bucket, key);

	const source = await options.openBody();
	const body = verifiedStream(
		source,
		{ sha256: first.sha256, size: first.size },
		() =>
			new ArchiveError('The binary data changed between the hashing pass and the upload', {
				code: 'SourceChanged',
			}),
	);
	let versionId: string | null;
	try {
		({ versionId } = await uploadMultipart(
			client,
			{ ...putParams(settleFirst ? withoutLock(options) : options, first.sha256), Body: body, IfNoneMatch: '*' },
			{ partSize: uploadPartSize, queueSize: options.queueSize ?? 2 },
		));
	} catch (error) {
		source.destroy();
		if (isPreconditionFailed(error))
			return await duplicateAfterPreconditionFailed(client, bucket, key);
		throw error;
	}
	let head: Awaited<ReturnType<typeof headObject>> | null = null;
	try {
		head = await headObject(client, { Bucket: bucket, Key: key, VersionId: versionId });
	} catch (error) {
		// write-only keys: the upload succeeded, only its description is unavailable
		if (storeHttpStatus(error) !== 403) throw error;
	}
	const created: ArchiveWriteResult = {
		status: 'created',
		bucket,
		key,
		versionId: head?.VersionId ?? versionId,
		etag: head ? unquoteEtag(head.ETag) : null,
		size: head?.ContentLength ?? first.size,
		sha256: first.sha256,
	};
	if (!head && !lockAfter) return created;
	return await settleVersionRace(client, { bucket, key, locked: sendsLock(options) && !settleFirst, lockAfter }, created);
}
