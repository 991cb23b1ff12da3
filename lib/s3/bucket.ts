import { GetBucketLifecycleConfigurationCommand, GetBucketVersioningCommand, HeadBucketCommand, ListObjectsV2Command, PutBucketLifecycleConfigurationCommand, type GetBucketVersioningCommandOutput, type LifecycleRule, type S3Client } from '@aws-sdk/client-s3';

import { storeErrorCode, storeHttpStatus, toArchiveError } from './errors';
import { storeCall } from './send';

/** Bucket calls (S3 API reference): reachability, versioning and lifecycle configuration. */

/** HeadBucket: the bucket exists and the keys may use it. @throws ArchiveError. */
export async function headBucket(client: S3Client, bucket: string): Promise<void> {
	await storeCall(
		{ operation: 'HeadBucket', bucket },
		async () => await client.send(new HeadBucketCommand({ Bucket: bucket })),
	);
}

/**
 * The bucket's versioning state: `Enabled`, `Suspended`, `Disabled` (never enabled), or
 * `unsupported` when the store does not implement versioning (501).
 *
 * @throws ArchiveError for other failures.
 */
export async function bucketVersioning(client: S3Client, bucket: string): Promise<'Enabled' | 'Suspended' | 'Disabled' | 'unsupported'> {
	try {
		const response = await storeCall<GetBucketVersioningCommandOutput>(
			{
				operation: 'GetBucketVersioning',
				bucket,
			},
			async () => await client.send(new GetBucketVersioningCommand({ Bucket: bucket })),
		);
		return response.Status === 'Enabled'
			? 'Enabled'
			: response.Status === 'Suspended'
				? 'Suspended'
				: 'Disabled';
	} catch (error) {
		if (storeHttpStatus(error) === 501) return 'unsupported';
		throw error;
	}
}

/** The bucket's lifecycle rules (none when it has no lifecycle configuration). @throws ArchiveError. */
export async function bucketLifecycleRules(client: S3Client, bucket: string): Promise<LifecycleRule[]> {
	try {
		const result = await client.send(
			new GetBucketLifecycleConfigurationCommand({ Bucket: bucket }),
		);
		return result.Rules ?? [];
	} catch (error) {
		if (storeErrorCode(error) === 'NoSuchLifecycleConfiguration') return [];
		throw toArchiveError(error, { operation: 'GetBucketLifecycleConfiguration', bucket });
	}
}

/** PutBucketLifecycleConfiguration of the whole rule set (Content-MD5 from the client). @throws ArchiveError. */
export async function putBucketLifecycleRules(client: S3Client, bucket: string, rules: LifecycleRule[]): Promise<void> {
	await storeCall(
		{
			operation: 'PutBucketLifecycleConfiguration',
			bucket,
		},
		async () =>
			await client.send(
				new PutBucketLifecycleConfigurationCommand({
					Bucket: bucket,
					LifecycleConfiguration: { Rules: rules },
				}),
			),
	);
}

/**
 * ListObjectsV2 with MaxKeys=1: the keys may list the bucket. Chosen to test a credential because
 * its error responses carry the store's code and message (a HeadBucket error has no body).
 *
 * @throws ArchiveError with the store's code.
 */
export async function listOneObject(client: S3Client, bucket: string): Promise<void> {
	await storeCall(
		{ operation: 'ListObjectsV2', bucket },
		async () => await client.send(new ListObjectsV2Command({ Bucket: bucket, MaxKeys: 1 })),
	);
}
