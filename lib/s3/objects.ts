import type { Readable } from 'node:stream';
import { AbortMultipartUploadCommand, DeleteObjectCommand, DeleteObjectsCommand, GetObjectCommand, HeadObjectCommand, PutObjectCommand, type DeleteObjectsCommandInput, type DeleteObjectsCommandOutput, type GetObjectCommandInput, type GetObjectCommandOutput, type HeadObjectCommandInput, type HeadObjectCommandOutput, type PutObjectCommandInput, type PutObjectCommandOutput, type S3Client } from '@aws-sdk/client-s3';
import { Upload } from '@aws-sdk/lib-storage';

import { ArchiveError, storeErrorCode, storeHttpStatus, toArchiveError } from './errors';
import { storeCall } from './send';
import { hashStream, readAll } from './stream';

/**
 * Object calls: one function per S3 API operation the pack sends (S3 API reference), each a
 * single request through the given client whose failure becomes an `ArchiveError` naming the
 * operation, bucket and key.
 */

/** Metadata key (`x-amz-meta-sha256`) holding the lower-case hex SHA-256 of the stored bytes. */
export const SHA256_METADATA_KEY = 'sha256';

/** An ETag as the store sends it, without its quotes (RFC 9110 §8.8.3 entity-tag); null when absent. */
export function unquoteEtag(etag: string | undefined): string | null {
	return etag ? etag.replace(/^"|"$/g, '') : null;
}

/** The `x-amz-meta-sha256` of a HeadObject / GetObject answer, when it is 64 lower-case hex digits. */
export function metadataSha256(metadata: Record<string, string> | undefined): string | null {
	const value = metadata?.[SHA256_METADATA_KEY];
	return value && /^[0-9a-f]{64}$/.test(value) ? value : null;
}

/** A version id for a request: `null` (the unversioned object) means none. */
function versionParam(versionId: string | undefined | null): { VersionId?: string } {
	return versionId && versionId !== 'null' ? { VersionId: versionId } : {};
}

/** HeadObject (a version, or the current one). @throws ArchiveError (404 `NotFound` when absent). */
export async function headObject(
	client: S3Client,
	input: Omit<HeadObjectCommandInput, 'VersionId'> & { VersionId?: string | null },
): Promise<HeadObjectCommandOutput> {
	const { VersionId, ...rest } = input;
	return await storeCall(
		{
			operation: 'HeadObject',
			bucket: input.Bucket,
			key: input.Key,
		},
		async () => await client.send(new HeadObjectCommand({ ...rest, ...versionParam(VersionId) })),
	);
}

/** GetObject (a version, or the current one); the body is a stream. @throws ArchiveError. */
export async function getObject(
	client: S3Client,
	input: Omit<GetObjectCommandInput, 'VersionId'> & { VersionId?: string | null },
): Promise<GetObjectCommandOutput & { Body: Readable }> {
	const { VersionId, ...rest } = input;
	return await storeCall(
		{
			operation: 'GetObject',
			bucket: input.Bucket,
			key: input.Key,
		},
		async () =>
			(await client.send(
				new GetObjectCommand({ ...rest, ...versionParam(VersionId) }),
			)) as GetObjectCommandOutput & { Body: Readable },
	);
}

/** The whole body of a small object (GetObject). @throws ArchiveError. */
export async function getObjectBytes(client: S3Client, bucket: string, key: string): Promise<Buffer> {
	const response = await getObject(client, { Bucket: bucket, Key: key });
	try {
		return await readAll(response.Body);
	} catch (error) {
		throw toArchiveError(error, { operation: 'GetObject', bucket, key });
	}
}

/** {@link getObjectBytes}, or null when the key does not exist. @throws ArchiveError. */
export async function getOptionalObjectBytes(client: S3Client, bucket: string, key: string): Promise<Buffer | null> {
	try {
		return await getObjectBytes(client, bucket, key);
	} catch (error) {
		if (storeHttpStatus(error) === 404 || storeErrorCode(error) === 'NoSuchKey') return null;
		throw error;
	}
}

/**
 * Downloads one version (GetObject, streamed) and returns the SHA-256 of its bytes, their size and
 * the `x-amz-meta-sha256` the version carries.
 *
 * @throws ArchiveError with the store's code.
 */
export async function hashObject(
	client: S3Client,
	bucket: string,
	key: string,
	versionId?: string | null,
): Promise<{ sha256: string; size: number; sha256Metadata: string | null }> {
	const response = await getObject(client, { Bucket: bucket, Key: key, VersionId: versionId });
	try {
		const { sha256, size } = await hashStream(response.Body);
		return { sha256, size, sha256Metadata: response.Metadata?.[SHA256_METADATA_KEY] ?? null };
	} catch (error) {
		throw toArchiveError(error, { operation: 'GetObject', bucket, key });
	}
}

/** Attempts of a conditional PUT answered 409 ConditionalRequestConflict. */
const CONDITIONAL_CONFLICT_ATTEMPTS = 4;

function lockParamsSent(input: PutObjectCommandInput): boolean {
	return Boolean(
		input.ObjectLockMode || input.ObjectLockRetainUntilDate || input.ObjectLockLegalHoldStatus,
	);
}

/**
 * PutObject with an in-memory body (the client adds Content-MD5). A conditional PUT (`IfNoneMatch`) is
 * sent again after `409 ConditionalRequestConflict`, which AWS S3 answers while another conditional
 * write of the key is in progress (S3 conditional writes; the SDK does not retry 409); the next
 * attempt then gets 412 if that write won.
 *
 * @throws ArchiveError with the store's code (412 `PreconditionFailed` when `If-None-Match: *` found
 *   the key; a fix hint when Object Lock parameters went to a bucket without Object Lock).
 */
export async function putObject(client: S3Client, input: PutObjectCommandInput): Promise<PutObjectCommandOutput> {
	for (let attempt = 1; ; attempt++) {
		try {
			return await client.send(new PutObjectCommand(input));
		} catch (error) {
			const conflict =
				storeHttpStatus(error) === 409 && storeErrorCode(error) === 'ConditionalRequestConflict';
			if (!conflict || !input.IfNoneMatch || attempt >= CONDITIONAL_CONFLICT_ATTEMPTS) {
				throw toArchiveError(error, {
					operation: 'PutObject',
					bucket: input.Bucket,
					key: input.Key,
					objectLockSent: lockParamsSent(input),
				});
			}
			await new Promise((resolve) => setTimeout(resolve, 50 * 2 ** attempt));
		}
	}
}

/**
 * A multipart upload of a stream (`@aws-sdk/lib-storage` `Upload`: CreateMultipartUpload, UploadPart
 * with Content-MD5 from the client, CompleteMultipartUpload; AbortMultipartUpload on failure).
 * Memory stays near `partSize × queueSize`.
 *
 * @throws ArchiveError (operation `MultipartUpload`) with the store's code.
 */
export async function uploadMultipart(
	client: S3Client,
	input: PutObjectCommandInput & { Body: Readable },
	options: { partSize: number; queueSize: number },
): Promise<{ versionId: string | null }> {
	const upload = new Upload({
		client,
		params: input,
		partSize: options.partSize,
		queueSize: options.queueSize,
		leavePartsOnError: false,
	});
	try {
		const done = await upload.done();
		return { versionId: (done as { VersionId?: string }).VersionId ?? null };
	} catch (error) {
		throw toArchiveError(error, {
			operation: 'MultipartUpload',
			bucket: input.Bucket,
			key: input.Key,
			objectLockSent: lockParamsSent(input),
		});
	}
}

/** AbortMultipartUpload of one upload. @throws ArchiveError. */
export async function abortMultipartUpload(client: S3Client, bucket: string, key: string, uploadId: string): Promise<void> {
	await storeCall(
		{
			operation: 'AbortMultipartUpload',
			bucket,
			key,
		},
		async () =>
			await client.send(
				new AbortMultipartUploadCommand({ Bucket: bucket, Key: key, UploadId: uploadId }),
			),
	);
}

/** DeleteObject of one version (never with the bypass-governance header). @throws ArchiveError. */
export async function deleteObject(client: S3Client, bucket: string, key: string, versionId?: string | null): Promise<void> {
	await storeCall(
		{
			operation: 'DeleteObject',
			bucket,
			key,
		},
		async () =>
			await client.send(
				new DeleteObjectCommand({ Bucket: bucket, Key: key, ...versionParam(versionId) }),
			),
	);
}

/**
 * DeleteObjects (up to 1000 versions; the client sends Content-MD5 instead of CRC32). Per-key
 * refusals are in the answer's `Errors`, not thrown.
 *
 * @throws ArchiveError when the request as a whole fails.
 */
export async function deleteObjects(client: S3Client, input: DeleteObjectsCommandInput): Promise<DeleteObjectsCommandOutput> {
	if (input.BypassGovernanceRetention) {
		throw new ArchiveError('DeleteObjects is never sent with the bypass-governance header', {
			code: 'InvalidInput',
		});
	}
	return await storeCall(
		{ operation: 'DeleteObjects', bucket: input.Bucket },
		async () => await client.send(new DeleteObjectsCommand(input)),
	);
}
