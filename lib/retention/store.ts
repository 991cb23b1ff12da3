import { createHash } from 'node:crypto';
import {
	GetObjectLockConfigurationCommand,
	ListObjectVersionsCommand,
	type DeleteMarkerEntry,
	type ObjectVersion,
	type S3Client,
} from '@aws-sdk/client-s3';

import { storeErrorCode, storeHttpStatus } from '../archive';
import { RetentionError } from './types';

/**
 * Store helpers shared by the retention verbs: version listing, Content-MD5 on the commands that
 * need an integrity header, bounded concurrency, error wrapping. No n8n import.
 */

/** A version or delete marker from ListObjectVersions. */
export interface ListedVersion {
	key: string;
	versionId: string;
	isDeleteMarker: boolean;
	isLatest: boolean;
	size: number;
	lastModified: Date | null;
}

/**
 * Every version and delete marker under `prefix`, page by page (ListObjectVersions with
 * `KeyMarker` / `VersionIdMarker`, `MaxKeys` ≤ 1000), in key order and, per key, newest first.
 * Works for any number of versions; `onPage` counts requests.
 *
 * @throws RetentionError `StoreError` with the store's code.
 */
export async function* listVersions(options: {
	client: S3Client;
	bucket: string;
	prefix: string;
	pageSize?: number;
	onPage?: () => void;
}): AsyncGenerator<ListedVersion[]> {
	let keyMarker: string | undefined;
	let versionIdMarker: string | undefined;
	for (;;) {
		let page;
		try {
			page = await options.client.send(
				new ListObjectVersionsCommand({
					Bucket: options.bucket,
					Prefix: options.prefix,
					KeyMarker: keyMarker,
					VersionIdMarker: versionIdMarker,
					MaxKeys: options.pageSize ?? 1000,
				}),
			);
		} catch (error) {
			throw storeError(error, 'ListObjectVersions', options.bucket, options.prefix);
		}
		options.onPage?.();
		const entries: ListedVersion[] = [];
		const push = (item: ObjectVersion | DeleteMarkerEntry, isDeleteMarker: boolean) => {
			if (!item.Key) return;
			entries.push({
				key: item.Key,
				versionId: item.VersionId ?? 'null',
				isDeleteMarker,
				isLatest: Boolean(item.IsLatest),
				size: isDeleteMarker ? 0 : ((item as ObjectVersion).Size ?? 0),
				lastModified: item.LastModified ?? null,
			});
		};
		for (const version of page.Versions ?? []) push(version, false);
		for (const marker of page.DeleteMarkers ?? []) push(marker, true);
		// Versions and DeleteMarkers arrive as two lists; restore the store's order (key, newest first).
		entries.sort((a, b) =>
			a.key < b.key ? -1 : a.key > b.key ? 1 : (b.lastModified?.getTime() ?? 0) - (a.lastModified?.getTime() ?? 0),
		);
		yield entries;
		if (!page.IsTruncated) return;
		if (!page.NextKeyMarker) {
			throw new RetentionError(
				'StoreError',
				`ListObjectVersions on bucket "${options.bucket}" said the listing is truncated but gave no NextKeyMarker`,
			);
		}
		keyMarker = page.NextKeyMarker;
		versionIdMarker = page.NextVersionIdMarker;
	}
}

/**
 * Whether the bucket has Object Lock enabled (GetObjectLockConfiguration; a 404
 * `ObjectLockConfigurationNotFoundError` or similar means no).
 *
 * @throws RetentionError `StoreError` for other failures (e.g. AccessDenied, NoSuchBucket).
 */
export async function bucketHasObjectLock(client: S3Client, bucket: string): Promise<boolean> {
	try {
		const result = await client.send(new GetObjectLockConfigurationCommand({ Bucket: bucket }));
		return result.ObjectLockConfiguration?.ObjectLockEnabled === 'Enabled';
	} catch (error) {
		const code = storeErrorCode(error);
		if (storeHttpStatus(error) === 404 && code !== 'NoSuchBucket') return false;
		if (code === 'ObjectLockConfigurationNotFoundError' || code === 'InvalidRequest') return false;
		throw storeError(error, 'GetObjectLockConfiguration', bucket);
	}
}

/**
 * Adds `Content-MD5` (RFC 1864) to one command's request and removes the SDK's flexible-checksum
 * headers (`x-amz-checksum-*`, `x-amz-sdk-checksum-algorithm`). DeleteObjects, PutObjectLegalHold
 * and PutBucketLifecycleConfiguration require an integrity header, and the SDK sends CRC32 on them
 * even under `WHEN_REQUIRED` (aws-sdk-js-v3 #6819), which some stores reject. Runs in the build step
 * after the SDK's checksum middleware, before signing.
 */
export function withContentMd5<C extends object>(command: C): C {
	const stack = (command as unknown as { middlewareStack: S3Client['middlewareStack'] }).middlewareStack;
	stack.add(
		(next) => async (args) => {
			const request = args.request as { headers?: Record<string, string>; body?: unknown };
			if (request.headers && (typeof request.body === 'string' || request.body instanceof Uint8Array)) {
				for (const name of Object.keys(request.headers)) {
					const lower = name.toLowerCase();
					if (lower.startsWith('x-amz-checksum-') || lower === 'x-amz-sdk-checksum-algorithm' || lower === 'content-md5') {
						delete request.headers[name];
					}
				}
				const bytes = typeof request.body === 'string' ? Buffer.from(request.body, 'utf8') : request.body;
				request.headers['content-md5'] = createHash('md5').update(bytes).digest('base64');
			}
			return await next(args);
		},
		{ step: 'build', priority: 'low', name: 'chatArchiveRetentionContentMd5', override: true },
	);
	return command;
}

/**
 * Runs `worker` over `items` with at most `limit` in flight; results keep the input order.
 * A worker that throws rejects the whole call (workers should catch what they can report).
 */
export async function mapLimit<T, R>(items: readonly T[], limit: number, worker: (item: T, index: number) => Promise<R>): Promise<R[]> {
	const results = new Array<R>(items.length);
	let next = 0;
	const lanes = Math.max(1, Math.min(Math.floor(limit) || 1, items.length));
	await Promise.all(
		Array.from({ length: lanes }, async () => {
			while (next < items.length) {
				const index = next++;
				results[index] = await worker(items[index], index);
			}
		}),
	);
	return results;
}

/** Wraps a store failure without any body or secret: operation, bucket, key, store code and status. */
export function storeError(error: unknown, operation: string, bucket: string, key?: string): RetentionError {
	if (error instanceof RetentionError) return error;
	const code = storeErrorCode(error);
	const status = storeHttpStatus(error);
	const message = (error as { message?: string })?.message;
	return new RetentionError(
		'StoreError',
		`${operation} s3://${bucket}${key ? `/${key}` : ''} failed: ${code}${status ? ` (HTTP ${status})` : ''}` +
			(message && message !== code && message !== 'UnknownError' ? `: ${message}` : ''),
		{ storeCode: code, httpStatusCode: status, cause: error },
	);
}
