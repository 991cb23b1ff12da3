import type { Readable } from 'node:stream';
import type { S3Client } from '@aws-sdk/client-s3';

import { getObject as getStoredObject, unquoteEtag, verifiedStream, SHA256_METADATA_KEY } from '../s3';
import { ArchiveError } from './types';

/** An archived object being read: its body as a stream plus what the store says about it. */
export interface GetResult {
	bucket: string;
	key: string;
	versionId: string | null;
	etag: string | null;
	/** Size in bytes (Content-Length). */
	size: number;
	contentType: string | null;
	lastModified: Date | null;
	/** `x-amz-meta-sha256` written by the archive, or null. */
	sha256: string | null;
	objectLock: {
		mode: 'GOVERNANCE' | 'COMPLIANCE' | null;
		retainUntil: Date | null;
		legalHold: boolean;
	};
	/**
	 * The bytes. When `verify` is on and the object carries `sha256` metadata, the stream fails at its
	 * end with `ArchiveError` code `IntegrityError` if the bytes do not match (tamper evidence).
	 */
	body: Readable;
}

/**
 * Reads one archived object (a given version, or the current one): GetObject (S3 API reference).
 * The body is streamed, never buffered here.
 *
 * @throws ArchiveError with the store's code (`NoSuchKey`, `NoSuchVersion`, `AccessDenied`…).
 */
export async function getObject(options: {
	client: S3Client;
	bucket: string;
	key: string;
	versionId?: string;
	/** Check the bytes against `x-amz-meta-sha256` while streaming (default true). */
	verify?: boolean;
}): Promise<GetResult> {
	const { client, bucket, key } = options;
	if (!bucket || !key)
		throw new ArchiveError('bucket and key are required', { code: 'InvalidInput' });
	const response = await getStoredObject(client, {
		Bucket: bucket,
		Key: key,
		VersionId: options.versionId,
	});
	const sha256 = response.Metadata?.[SHA256_METADATA_KEY] ?? null;
	const body =
		options.verify !== false && sha256
			? verifiedStream(
					response.Body,
					{ sha256 },
					() =>
						new ArchiveError(
							`s3://${bucket}/${key}: SHA-256 of the bytes does not match x-amz-meta-sha256`,
							{
								code: 'IntegrityError',
							},
						),
				)
			: response.Body;
	return {
		bucket,
		key,
		versionId: response.VersionId ?? null,
		etag: unquoteEtag(response.ETag),
		size: response.ContentLength ?? 0,
		contentType: response.ContentType ?? null,
		lastModified: response.LastModified ?? null,
		sha256,
		objectLock: {
			mode: response.ObjectLockMode ?? null,
			retainUntil: response.ObjectLockRetainUntilDate ?? null,
			legalHold: response.ObjectLockLegalHoldStatus === 'ON',
		},
		body,
	};
}
