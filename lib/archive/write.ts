import { createHash } from 'node:crypto';
import { Transform, type Readable } from 'node:stream';
import {
	AbortMultipartUploadCommand,
	DeleteObjectCommand,
	HeadObjectCommand,
	ListMultipartUploadsCommand,
	ListObjectVersionsCommand,
	PutObjectCommand,
	type PutObjectCommandInput,
	type S3Client,
} from '@aws-sdk/client-s3';
import { Upload } from '@aws-sdk/lib-storage';

import { clientStoreIdentity } from './client';
import { storeErrorCode, storeHttpStatus, toArchiveError } from './errors';
import { ArchiveError, type WriteOptions, type WriteResult } from './types';

/**
 * Result of {@link writeObject} / {@link writeObjectStream}: a {@link WriteResult}, plus
 * `extraVersionId` in the one case where this call left a surplus version behind.
 */
export interface ArchiveWriteResult extends WriteResult {
	/**
	 * Only with `status: 'duplicate'`, after a race in a versioned bucket: the version *this call*
	 * created although an older version of the key already existed (another writer won), and which
	 * could not be deleted — it carries Object Lock retention or a legal hold (sent with the write,
	 * or the bucket's default retention), or the delete failed. It is another ciphertext of the same
	 * record (nothing lost, nothing overwritten), kept visible here instead of hidden.
	 */
	extraVersionId?: string;
}

/** Metadata key (`x-amz-meta-sha256`) holding the SHA-256 hex of the stored ciphertext. */
export const SHA256_METADATA_KEY = 'sha256';

/** Smallest multipart part S3 accepts (except the last part): 5 MiB. */
export const MIN_PART_SIZE = 5 * 1024 * 1024;

/** Default multipart part size: 8 MiB. */
export const DEFAULT_PART_SIZE = 8 * 1024 * 1024;

function stripQuotes(etag: string | undefined): string | null {
	return etag ? etag.replace(/^"|"$/g, '') : null;
}

function validateOptions(options: WriteOptions): void {
	if (!options.bucket || typeof options.bucket !== 'string') {
		throw new ArchiveError('bucket is required (set Bucket in the S3 Archive Store credential or the node)', {
			code: 'InvalidInput',
		});
	}
	if (!options.key || typeof options.key !== 'string') {
		throw new ArchiveError('key is required', { code: 'InvalidInput' });
	}
	for (const [name, value] of Object.entries(options.metadata ?? {})) {
		if (name.toLowerCase() === SHA256_METADATA_KEY) {
			throw new ArchiveError(`metadata key "${name}" is reserved (the writer sets it)`, { code: 'InvalidInput' });
		}
		if (!/^[A-Za-z0-9-_]+$/.test(name) || !/^[\x20-\x7e]*$/.test(String(value))) {
			throw new ArchiveError(`metadata "${name}" must have a token name and a printable US-ASCII value`, {
				code: 'InvalidInput',
			});
		}
	}
	const lock = options.objectLock;
	if (lock) {
		if (lock.mode !== 'GOVERNANCE' && lock.mode !== 'COMPLIANCE') {
			throw new ArchiveError(`objectLock.mode must be GOVERNANCE or COMPLIANCE (got "${String(lock.mode)}")`, {
				code: 'InvalidInput',
			});
		}
		if (!(lock.retainUntil instanceof Date) || Number.isNaN(lock.retainUntil.getTime())) {
			throw new ArchiveError('objectLock.retainUntil must be a valid Date', { code: 'InvalidInput' });
		}
		if (lock.retainUntil.getTime() <= Date.now()) {
			throw new ArchiveError('objectLock.retainUntil must be in the future', { code: 'InvalidInput' });
		}
	}
	if (options.duplicateCheck !== undefined && options.duplicateCheck !== 'precheck' && options.duplicateCheck !== 'store') {
		throw new ArchiveError(`duplicateCheck must be "precheck" or "store" (got "${String(options.duplicateCheck)}")`, {
			code: 'InvalidInput',
		});
	}
	if (options.kmsKeyId && options.serverSideEncryption !== 'aws:kms') {
		throw new ArchiveError('kmsKeyId is only valid with serverSideEncryption "aws:kms"', { code: 'InvalidInput' });
	}
}

function lockSent(options: WriteOptions): boolean {
	return Boolean(options.objectLock || options.legalHold);
}

function commonParams(options: WriteOptions, sha256: string): PutObjectCommandInput {
	const lock = options.objectLock;
	const legalHold = options.legalHold || lock?.legalHold;
	return {
		Bucket: options.bucket,
		Key: options.key,
		ContentType: options.contentType ?? 'application/pgp-encrypted',
		Metadata: { ...(options.metadata ?? {}), [SHA256_METADATA_KEY]: sha256 },
		...(lock ? { ObjectLockMode: lock.mode, ObjectLockRetainUntilDate: lock.retainUntil } : {}),
		...(legalHold ? { ObjectLockLegalHoldStatus: 'ON' as const } : {}),
		...(options.storageClass ? { StorageClass: options.storageClass as PutObjectCommandInput['StorageClass'] } : {}),
		...(options.serverSideEncryption ? { ServerSideEncryption: options.serverSideEncryption } : {}),
		...(options.kmsKeyId ? { SSEKMSKeyId: options.kmsKeyId } : {}),
	};
}

/** Writes in progress in this process, per store + bucket + key (see {@link singleFlight}). */
const inFlight = new Map<string, Promise<ArchiveWriteResult>>();
const anonymousClients = new WeakMap<S3Client, string>();
let anonymousClientCount = 0;

function flightKey(client: S3Client, bucket: string, key: string): string {
	let store = clientStoreIdentity(client);
	if (store === undefined) {
		store = anonymousClients.get(client);
		if (store === undefined) {
			store = `client#${++anonymousClientCount}`;
			anonymousClients.set(client, store);
		}
	}
	return JSON.stringify([store, bucket, key]);
}

/**
 * Single-flight per store (endpoint of {@link createS3Client}; other clients: per client) + bucket +
 * key in this process: while a write of the key is running, a second writer does not go to the store
 * but waits for the first and returns its outcome as `duplicate` (same version id, etag, size,
 * sha256; without the first writer's `extraVersionId`). When the first write fails, a waiter writes
 * itself. This covers Meta's concurrent retries of one delivery reaching the same n8n process.
 */
async function singleFlight(
	client: S3Client,
	bucket: string,
	key: string,
	write: () => Promise<ArchiveWriteResult>,
): Promise<ArchiveWriteResult> {
	const id = flightKey(client, bucket, key);
	for (let running = inFlight.get(id); running; running = inFlight.get(id)) {
		try {
			const first: ArchiveWriteResult = { ...(await running), status: 'duplicate' };
			delete first.extraVersionId;
			return first;
		} catch {
			// the first writer failed: write ourselves (unless another waiter already started)
		}
	}
	const promise = write();
	inFlight.set(id, promise);
	try {
		return await promise;
	} finally {
		if (inFlight.get(id) === promise) inFlight.delete(id);
	}
}

/** The versions (not delete markers) of exactly `key`, newest first, as the store lists them. */
async function versionsOfKey(
	client: S3Client,
	bucket: string,
	key: string,
): Promise<Array<{ versionId: string; etag: string | null; size: number | null }>> {
	const out: Array<{ versionId: string; etag: string | null; size: number | null }> = [];
	let keyMarker: string | undefined;
	let versionIdMarker: string | undefined;
	for (let page = 0; page < 1000; page++) {
		const listed = await client.send(
			new ListObjectVersionsCommand({ Bucket: bucket, Prefix: key, KeyMarker: keyMarker, VersionIdMarker: versionIdMarker }),
		);
		for (const version of listed.Versions ?? []) {
			if (version.Key === key && version.VersionId) {
				out.push({ versionId: version.VersionId, etag: stripQuotes(version.ETag), size: version.Size ?? null });
			}
		}
		// versions of `key` come before those of longer keys sharing the prefix
		if (!listed.IsTruncated || listed.NextKeyMarker !== key) break;
		keyMarker = listed.NextKeyMarker;
		versionIdMarker = listed.NextVersionIdMarker;
	}
	return out;
}

/**
 * After a `created` write in a versioned bucket: did another writer store this key first? RGW 16
 * ignores `If-None-Match: *` in versioned buckets, so writers racing past the HeadObject pre-check
 * each create a version. ListObjectVersions (Prefix = key) orders the key's versions newest first:
 *
 * - no version older than ours → we won: `created` unchanged;
 * - an older one exists → `duplicate` describing the *oldest* version (the one every racer keeps),
 *   and our own version is deleted by VersionId — unless we sent Object Lock retention or a legal
 *   hold with it (it cannot be deleted; not even tried), or the delete fails (e.g. the bucket's
 *   default retention locked it): then `extraVersionId` names it.
 *
 * When the listing fails (e.g. keys without s3:ListBucketVersions) the `created` result stands.
 */
async function settleVersionRace(
	client: S3Client,
	options: WriteOptions,
	created: ArchiveWriteResult,
): Promise<ArchiveWriteResult> {
	const own = created.versionId;
	if (created.status !== 'created' || !own || own === 'null') return created;
	const { bucket, key } = options;
	let versions: Awaited<ReturnType<typeof versionsOfKey>>;
	try {
		versions = await versionsOfKey(client, bucket, key);
	} catch {
		return created;
	}
	const index = versions.findIndex((version) => version.versionId === own);
	if (index < 0 || index === versions.length - 1) return created;
	const winner = versions[versions.length - 1];
	let sha256: string | null = null;
	let etag = winner.etag;
	let size = winner.size;
	try {
		const head = await client.send(new HeadObjectCommand({ Bucket: bucket, Key: key, VersionId: winner.versionId }));
		sha256 = head.Metadata?.[SHA256_METADATA_KEY] ?? null;
		etag = stripQuotes(head.ETag) ?? etag;
		size = head.ContentLength ?? size;
	} catch {
		// details of the winner are optional
	}
	let extraVersionId: string | undefined = own;
	if (!lockSent(options)) {
		try {
			await client.send(new DeleteObjectCommand({ Bucket: bucket, Key: key, VersionId: own }));
			extraVersionId = undefined;
		} catch {
			// locked by the bucket's default retention, or the store failed: reported below
		}
	}
	return {
		status: 'duplicate',
		bucket,
		key,
		versionId: winner.versionId,
		etag,
		size,
		sha256,
		...(extraVersionId ? { extraVersionId } : {}),
	};
}

function isPreconditionFailed(error: unknown): boolean {
	return storeHttpStatus(error) === 412 || storeErrorCode(error) === 'PreconditionFailed';
}

/**
 * Describes the object already stored under `key` (HeadObject): the `duplicate` result.
 *
 * @throws ArchiveError with the store's code when HeadObject fails.
 */
async function describeExisting(client: S3Client, bucket: string, key: string): Promise<WriteResult> {
	try {
		const head = await client.send(new HeadObjectCommand({ Bucket: bucket, Key: key }));
		return {
			status: 'duplicate',
			bucket,
			key,
			versionId: head.VersionId ?? null,
			etag: stripQuotes(head.ETag),
			size: head.ContentLength ?? 0,
			sha256: head.Metadata?.[SHA256_METADATA_KEY] ?? null,
		};
	} catch (error) {
		throw toArchiveError(error, { operation: 'HeadObject', bucket, key });
	}
}

/**
 * Returns the existing object's description, or null when HeadObject says 404 (no object) or 403
 * (write-only keys may not read: the PUT's If-None-Match then decides).
 */
async function findExisting(client: S3Client, bucket: string, key: string): Promise<WriteResult | null> {
	try {
		return await describeExisting(client, bucket, key);
	} catch (error) {
		if (error instanceof ArchiveError && (error.httpStatusCode === 404 || error.httpStatusCode === 403)) return null;
		throw toArchiveError(error, { operation: 'HeadObject', bucket, key });
	}
}

/** The `duplicate` result after a 412; when the keys may not read (403), the details are null. */
async function duplicateAfterPreconditionFailed(client: S3Client, bucket: string, key: string): Promise<WriteResult> {
	try {
		return await describeExisting(client, bucket, key);
	} catch (error) {
		if (error instanceof ArchiveError && error.httpStatusCode === 403) {
			return { status: 'duplicate', bucket, key, versionId: null, etag: null, size: null, sha256: null };
		}
		throw toArchiveError(error, { operation: 'HeadObject', bucket, key });
	}
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
 * 2. HeadObject before the PUT, and `If-None-Match: *` on the PUT (412 PreconditionFailed →
 *    duplicate; 409 ConditionalRequestConflict → sent again). The pre-check is needed because Ceph RGW 16 ignores
 *    `If-None-Match: *` in *versioned* buckets (every Object Lock bucket is versioned) and silently
 *    stores another version; it honours it in unversioned buckets, as AWS and MinIO do in both.
 * 3. In a versioned bucket, after a `created` PUT: ListObjectVersions (Prefix = key). When an older
 *    version of the key exists (a writer in another process won the race between HeadObject and
 *    PUT, or the store stored a PUT whose response was lost and the SDK retried it), the result is
 *    `duplicate` describing the oldest version, and this call's own version is deleted by VersionId.
 *
 * Remaining race (several processes, or stores that ignore If-None-Match, *with Object Lock*): when
 * the losing version carries retention or a legal hold — sent with this write, or the bucket's
 * default retention — it cannot be deleted. The result is then `duplicate` with `extraVersionId`
 * naming the surplus version (another ciphertext of the same record; nothing lost or overwritten);
 * the sweeper removes it with the rest of the key when its retention ends. A writer in another
 * process that read the losing version with its HeadObject before it was deleted reports that
 * (then deleted) version id with its `duplicate`. See docs/FORMAT.md, "Duplicates and versions".
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
	validateOptions(options);
	if (!(options.body instanceof Uint8Array)) {
		throw new ArchiveError('body must be a Buffer or Uint8Array', { code: 'InvalidInput' });
	}
	return await singleFlight(options.client, options.bucket, options.key, async () => await putOnce(options));
}

/** {@link writeObject} without the single-flight (the caller holds it). */
async function putOnce(options: WriteOptions & { client: S3Client; body: Buffer | Uint8Array }): Promise<ArchiveWriteResult> {
	const body = options.body;
	const storeDecides = options.duplicateCheck === 'store';
	if (!storeDecides) {
		const existing = await findExisting(options.client, options.bucket, options.key);
		if (existing) return existing;
	}
	const sha256 = createHash('sha256').update(body).digest('hex');
	const contentMd5 = createHash('md5').update(body).digest('base64');
	let created: ArchiveWriteResult;
	try {
		const result = await sendConditionally(
			options.client,
			() =>
				new PutObjectCommand({
					...commonParams(options, sha256),
					Body: body,
					ContentLength: body.byteLength,
					ContentMD5: contentMd5,
					IfNoneMatch: '*',
				}),
		);
		created = {
			status: 'created',
			bucket: options.bucket,
			key: options.key,
			versionId: result.VersionId ?? null,
			etag: stripQuotes(result.ETag),
			size: body.byteLength,
			sha256,
		};
	} catch (error) {
		if (isPreconditionFailed(error)) return await duplicateAfterPreconditionFailed(options.client, options.bucket, options.key);
		throw toArchiveError(error, {
			operation: 'PutObject',
			bucket: options.bucket,
			key: options.key,
			objectLockSent: lockSent(options),
		});
	}
	return storeDecides ? created : await settleVersionRace(options.client, options, created);
}

/** Attempts of a conditional PUT answered 409 ConditionalRequestConflict (AWS: a concurrent conditional write). */
const CONDITIONAL_CONFLICT_ATTEMPTS = 4;

/**
 * Sends a conditional PutObject, again after `409 ConditionalRequestConflict` (AWS S3 answers it while
 * another conditional write of the key is in progress; the retry then gets 412 if that write won).
 * The SDK's own retry strategy does not retry 409.
 */
async function sendConditionally(client: S3Client, command: () => PutObjectCommand) {
	for (let attempt = 1; ; attempt++) {
		const outcome = await client.send(command()).then(
			(result) => ({ result, error: undefined }),
			(error: unknown) => ({ result: undefined, error }),
		);
		if (outcome.result) return outcome.result;
		const conflict = storeHttpStatus(outcome.error) === 409 && storeErrorCode(outcome.error) === 'ConditionalRequestConflict';
		// the caller maps the store's error (412 → duplicate, else ArchiveError)
		if (!conflict || attempt >= CONDITIONAL_CONFLICT_ATTEMPTS) return await Promise.reject(outcome.error as Error);
		await new Promise((resolve) => setTimeout(resolve, 50 * 2 ** attempt));
	}
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
	let keyMarker: string | undefined;
	let uploadIdMarker: string | undefined;
	try {
		for (let page = 0; page < 100; page++) {
			const listed = await client.send(
				new ListMultipartUploadsCommand({ Bucket: bucket, Prefix: key, KeyMarker: keyMarker, UploadIdMarker: uploadIdMarker }),
			);
			for (const upload of listed.Uploads ?? []) {
				if (upload.Key !== key || !upload.UploadId) continue;
				try {
					await client.send(new AbortMultipartUploadCommand({ Bucket: bucket, Key: key, UploadId: upload.UploadId }));
					aborted += 1;
				} catch {
					// best effort (see above)
				}
			}
			if (!listed.IsTruncated || (!listed.NextKeyMarker && !listed.NextUploadIdMarker)) break;
			keyMarker = listed.NextKeyMarker;
			uploadIdMarker = listed.NextUploadIdMarker;
		}
	} catch {
		// best effort (see above)
	}
	return aborted;
}

/** Hashes a stream: SHA-256 hex and byte count; keeps the bytes when they fit in `keepUpTo`. */
async function hashStream(
	stream: Readable,
	keepUpTo: number,
): Promise<{ sha256: string; size: number; kept: Buffer | null }> {
	const hash = createHash('sha256');
	let size = 0;
	let chunks: Buffer[] | null = [];
	for await (const chunk of stream) {
		const bytes = Buffer.isBuffer(chunk) ? chunk : typeof chunk === 'string' ? Buffer.from(chunk) : Buffer.from(chunk as Uint8Array);
		hash.update(bytes);
		size += bytes.byteLength;
		if (chunks) {
			if (size <= keepUpTo) chunks.push(bytes);
			else chunks = null;
		}
	}
	return { sha256: hash.digest('hex'), size, kept: chunks ? Buffer.concat(chunks) : null };
}

/**
 * A pass-through that fails the stream at its end when the bytes differ from the first pass
 * (so a changing source cannot produce an object whose `sha256` metadata lies).
 */
function verifyingStream(expectedSha256: string, expectedSize: number): Transform {
	const hash = createHash('sha256');
	let size = 0;
	return new Transform({
		transform(chunk: Buffer, _encoding, callback) {
			hash.update(chunk);
			size += chunk.byteLength;
			callback(null, chunk);
		},
		flush(callback) {
			const sha256 = hash.digest('hex');
			if (sha256 !== expectedSha256 || size !== expectedSize) {
				callback(new ArchiveError('The binary data changed between the hashing pass and the upload', { code: 'SourceChanged' }));
			} else {
				callback();
			}
		},
	});
}

/**
 * Writes a large object from a stream with bounded memory, once.
 *
 * The source is read twice (`openBody` is called twice): a first pass computes the SHA-256 and size
 * (the hash must be known before the upload starts, because it goes into `x-amz-meta-sha256` at
 * CreateMultipartUpload); the second pass uploads. Bodies up to `partSize` go through
 * {@link writeObject} (one PutObject with Content-MD5 and If-None-Match). Larger bodies go through
 * `@aws-sdk/lib-storage` `Upload` in parts of `partSize` (≥ 5 MiB, whatever chunk sizes the source
 * yields), each part with Content-MD5 (see `createS3Client`); memory stays near
 * `partSize × queueSize`. On any failure the multipart upload is aborted (AbortMultipartUpload), so no
 * partial object remains. When that abort cannot reach the store (store stopped mid-upload), the
 * parts stay as an incomplete upload: the next attempt for the key aborts it first (earlier uploads
 * of exactly this key, ListMultipartUploads), and the lifecycle rule from `compileLifecycle` aborts
 * uploads never retried after a day. The upload is verified against the first-pass hash before completion.
 *
 * Duplicates: as {@link writeObject} (`duplicateCheck` applies to bodies up to `partSize`, which go
 * through one PutObject; multipart uploads always use the full check) — single-flight in the process, HeadObject first,
 * `If-None-Match: *` on CompleteMultipartUpload (S3 conditional writes), and in a versioned bucket
 * the ListObjectVersions check after completion (a losing version is deleted, or reported as
 * `extraVersionId` when it is locked). ETag and version id are read with HeadObject after
 * completion (RGW 16 returns an empty ETag from CompleteMultipartUpload).
 *
 * @throws ArchiveError as {@link writeObject}; `SourceChanged` when the two passes differ.
 */
export async function writeObjectStream(options: StreamWriteOptions): Promise<ArchiveWriteResult> {
	validateOptions(options);
	return await singleFlight(options.client, options.bucket, options.key, async () => await uploadOnce(options));
}

/** Options of {@link writeObjectStream}. */
type StreamWriteOptions = WriteOptions & {
	client: S3Client;
	/** Opens a fresh stream over the same bytes; called twice. */
	openBody: () => Readable | Promise<Readable>;
	/** Multipart part size in bytes (default 8 MiB, minimum 5 MiB). */
	partSize?: number;
	/** Parts uploaded in parallel (default 2). */
	queueSize?: number;
};

/** {@link writeObjectStream} without the single-flight (the caller holds it). */
async function uploadOnce(options: StreamWriteOptions): Promise<ArchiveWriteResult> {
	const partSize = Math.max(MIN_PART_SIZE, options.partSize ?? DEFAULT_PART_SIZE);
	const first = await hashStream(await options.openBody(), partSize);
	if (first.kept) {
		return await putOnce({ ...options, body: first.kept });
	}
	// Multipart uploads keep the pre-check whatever `duplicateCheck` says: Ceph RGW 16 ignores
	// If-None-Match on CompleteMultipartUpload even in unversioned buckets, and one HeadObject is
	// nothing beside a multi-MiB upload.
	const existing = await findExisting(options.client, options.bucket, options.key);
	if (existing) return existing;
	await abortEarlierUploads(options.client, options.bucket, options.key);

	const source = await options.openBody();
	const verified = source.pipe(verifyingStream(first.sha256, first.size));
	source.on('error', (error) => verified.destroy(error));
	const upload = new Upload({
		client: options.client,
		params: { ...commonParams(options, first.sha256), Body: verified, IfNoneMatch: '*' } as PutObjectCommandInput,
		partSize,
		queueSize: options.queueSize ?? 2,
		leavePartsOnError: false,
	});
	let versionId: string | undefined;
	try {
		const done = await upload.done();
		versionId = (done as { VersionId?: string }).VersionId;
	} catch (error) {
		source.destroy();
		if (isPreconditionFailed(error)) return await duplicateAfterPreconditionFailed(options.client, options.bucket, options.key);
		throw toArchiveError(error, {
			operation: 'MultipartUpload',
			bucket: options.bucket,
			key: options.key,
			objectLockSent: lockSent(options),
		});
	}
	try {
		const head = await options.client.send(
			new HeadObjectCommand({ Bucket: options.bucket, Key: options.key, ...(versionId ? { VersionId: versionId } : {}) }),
		);
		const created: ArchiveWriteResult = {
			status: 'created',
			bucket: options.bucket,
			key: options.key,
			versionId: head.VersionId ?? versionId ?? null,
			etag: stripQuotes(head.ETag),
			size: head.ContentLength ?? first.size,
			sha256: first.sha256,
		};
		return await settleVersionRace(options.client, options, created);
	} catch (error) {
		if (storeHttpStatus(error) === 403) {
			// write-only keys: the upload succeeded, only its description is unavailable
			const { bucket, key } = options;
			return { status: 'created', bucket, key, versionId: versionId ?? null, etag: null, size: first.size, sha256: first.sha256 };
		}
		throw toArchiveError(error, { operation: 'HeadObject', bucket: options.bucket, key: options.key });
	}
}
