/**
 * Helpers for tests against the local S3-compatible store (Ceph RGW, `bash scripts/s3-local.sh start`).
 * Settings come from S3_ENDPOINT / S3_ACCESS_KEY / S3_SECRET_KEY / S3_REGION with the local defaults.
 */
import { randomBytes } from 'node:crypto';
import {
	CreateBucketCommand,
	GetObjectCommand,
	ListObjectsV2Command,
	PutBucketVersioningCommand,
	type S3Client,
} from '@aws-sdk/client-s3';

import type { S3Settings } from '../../lib/s3';

/** Connection settings of the local store (env vars override the defaults). */
export function s3Settings(): S3Settings & { endpoint: string; region: string; accessKeyId: string; secretAccessKey: string } {
	return {
		endpoint: process.env.S3_ENDPOINT || 'http://127.0.0.1:7480',
		region: process.env.S3_REGION || 'us-east-1',
		accessKeyId: process.env.S3_ACCESS_KEY || 'testaccess',
		secretAccessKey: process.env.S3_SECRET_KEY || 'testsecret',
		forcePathStyle: true,
		checksumMode: 'WHEN_REQUIRED',
	};
}

/**
 * The data of an S3 Archive Store credential for the local store: its address and keys, `bucket` and
 * the index key (`endpoint` overridable, e.g. a fault-injecting proxy in front of the store).
 */
export function s3ArchiveCredential(bucket: string, indexKey: string, overrides: { endpoint?: string } = {}) {
	const settings = s3Settings();
	return {
		endpoint: overrides.endpoint ?? settings.endpoint,
		region: settings.region,
		accessKeyId: settings.accessKeyId,
		secretAccessKey: settings.secretAccessKey,
		forcePathStyle: true,
		checksumMode: 'WHEN_REQUIRED',
		bucket,
		indexKey,
	};
}

/**
 * Creates a uniquely named bucket (`test-<random>`); with `objectLock: true` it is created with
 * Object Lock enabled (which turns versioning on); with `versioning: true` versioning alone is enabled.
 * Returns the bucket name.
 */
export async function makeBucket(
	client: S3Client,
	options: { objectLock?: boolean; versioning?: boolean; prefix?: string } = {},
): Promise<string> {
	const name = `${options.prefix ?? 'test'}-${Date.now().toString(36)}-${randomBytes(4).toString('hex')}`;
	await client.send(
		new CreateBucketCommand({ Bucket: name, ...(options.objectLock ? { ObjectLockEnabledForBucket: true } : {}) }),
	);
	if (options.versioning && !options.objectLock) {
		await client.send(
			new PutBucketVersioningCommand({ Bucket: name, VersioningConfiguration: { Status: 'Enabled' } }),
		);
	}
	return name;
}

/** Every key in the bucket (under `prefix`), sorted, through all ListObjectsV2 pages. */
export async function listAllKeys(client: S3Client, bucket: string, prefix?: string): Promise<string[]> {
	const keys: string[] = [];
	let token: string | undefined;
	do {
		const page = await client.send(
			new ListObjectsV2Command({ Bucket: bucket, Prefix: prefix, ContinuationToken: token }),
		);
		for (const object of page.Contents ?? []) if (object.Key) keys.push(object.Key);
		token = page.IsTruncated ? page.NextContinuationToken : undefined;
	} while (token);
	return keys.sort();
}

/** The bytes of an object (current version, or `versionId`). */
export async function getObjectBytes(
	client: S3Client,
	bucket: string,
	key: string,
	versionId?: string,
): Promise<Buffer> {
	const response = await client.send(new GetObjectCommand({ Bucket: bucket, Key: key, VersionId: versionId }));
	return Buffer.from(await response.Body!.transformToByteArray());
}
