import { randomBytes } from 'node:crypto';
import type { S3Client } from '@aws-sdk/client-s3';

import { bucketVersioning, deleteObject, headBucket, objectLockConfiguration, putObject, storeHttpStatus, type ObjectLockConfiguration } from '../s3';
import type { DuplicateCheck } from './types';

/** What {@link checkBucket} found out about a bucket and its store. */
export interface SetupReport {
	bucket: string;
	/** `Enabled`, `Suspended`, or `Disabled` (never enabled). */
	versioning: 'Enabled' | 'Suspended' | 'Disabled';
	objectLock: ObjectLockConfiguration;
	/**
	 * Whether a write that sends no Object Lock options (Write → Options → Object Lock Mode: None) is
	 * locked all the same: `locked` when the bucket has a default retention (`objectLock.defaultRetention`,
	 * applied by the store to every new version), else `unlocked`. A workflow that relies on the bucket
	 * default needs `locked` here; the capture template sends its own mode and Retain For instead.
	 */
	writesWithoutLockOptions: 'locked' | 'unlocked';
	/**
	 * `If-None-Match: *` on PutObject: `honoured` (412 on an existing key), `ignored` (the store wrote
	 * again: duplicates are then caught only by the HeadObject pre-check), or `not-tested`.
	 */
	conditionalWrites: 'honoured' | 'ignored' | 'not-tested';
	/**
	 * The Write operation's Duplicate Check for this bucket: `store` (If-None-Match alone, one request
	 * per record) when conditional writes are honoured, else `precheck` (see `DuplicateCheck`).
	 */
	recommendedDuplicateCheck: DuplicateCheck;
	/** Probe objects that could not be removed (kept by default retention), as keys. */
	probeObjectsLeft: string[];
	/** COMPLIANCE-mode writes can be used with this bucket. */
	readyForCompliance: boolean;
	/** Human-readable findings, each naming a fix. */
	warnings: string[];
}

/**
 * Probes a bucket and reports what the store supports for a tamper-evident archive:
 * HeadBucket (reachability), GetBucketVersioning, GetObjectLockConfiguration (Object Lock and
 * default retention), and, unless `probeWrites` is false, conditional writes: PutObject of a small
 * probe object under `<probePrefix>/` followed by a PutObject with `If-None-Match: *` on the same key
 * (RFC 9110 §13.1.2; S3 conditional writes), then DeleteObject of each probe version (versions kept
 * by a default retention are listed in `probeObjectsLeft`).
 *
 * @throws ArchiveError with the store's code when the bucket is unreachable (NoSuchBucket,
 *   AccessDenied, SignatureDoesNotMatch…) or a probe write fails for another reason than a lock.
 */
export async function checkBucket(options: {
	client: S3Client;
	bucket: string;
	/** Write two tiny probe objects to test If-None-Match (default true). */
	probeWrites?: boolean;
	/** Folder for probe objects (default `_setup-check`). */
	probePrefix?: string;
}): Promise<SetupReport> {
	const { client, bucket } = options;
	const warnings: string[] = [];
	await headBucket(client, bucket);

	let versioning: SetupReport['versioning'] = 'Disabled';
	const versioningState = await bucketVersioning(client, bucket);
	if (versioningState === 'unsupported') {
		warnings.push('The store does not implement bucket versioning (501): Object Lock is impossible here.');
	} else {
		versioning = versioningState;
	}

	const objectLock = await objectLockConfiguration(client, bucket);
	if (!objectLock.enabled) {
		warnings.push(
			objectLock.support === 'unsupported'
				? 'This store does not implement S3 Object Lock: records stay deletable. Use a store with Object Lock (AWS S3, Ceph RGW, MinIO, Wasabi, B2) for tamper evidence.'
				: `Object Lock is not enabled on bucket "${bucket}": records stay deletable. Fix: create a new bucket with Object Lock enabled (most stores allow it only at creation) and archive there.`,
		);
	} else if (!objectLock.defaultRetention) {
		warnings.push(
			'Object Lock is enabled but there is no default retention: only writes with an Object Lock Mode and Retain For are protected (the capture template sets both; keep them when you edit it).',
		);
	}

	let conditionalWrites: SetupReport['conditionalWrites'] = 'not-tested';
	const probeObjectsLeft: string[] = [];
	if (options.probeWrites !== false) {
		const key = `${(options.probePrefix ?? '_setup-check').replace(/\/+$/, '')}/${Date.now()}-${randomBytes(6).toString('hex')}.probe`;
		const body = Buffer.from('setup-check probe');
		const versions: Array<string | undefined> = [];
		const attempt = async (ifNoneMatch: boolean): Promise<unknown> => {
			try {
				const put = await putObject(client, { Bucket: bucket, Key: key, Body: body, ...(ifNoneMatch ? { IfNoneMatch: '*' } : {}) });
				versions.push(put.VersionId);
				return undefined;
			} catch (error) {
				return error ?? new Error('PutObject failed');
			}
		};
		const firstError = await attempt(false);
		if (firstError) throw firstError;
		const secondError = await attempt(true);
		if (!secondError) conditionalWrites = 'ignored';
		else if (storeHttpStatus(secondError) === 412) conditionalWrites = 'honoured';
		else throw secondError;
		for (const versionId of versions) {
			try {
				await deleteObject(client, bucket, key, versionId);
			} catch {
				probeObjectsLeft.push(versionId ? `${key}?versionId=${versionId}` : key);
			}
		}
		if (conditionalWrites === 'ignored') {
			warnings.push(
				'The store ignores If-None-Match: * here (Ceph RGW 16 does in versioned buckets): keep Write → Options → Duplicate Check on "Check Before Write"; duplicates are then caught by a HeadObject before each write and a version check after it.',
			);
		}
	}

	return {
		bucket,
		versioning,
		objectLock,
		writesWithoutLockOptions: objectLock.enabled && objectLock.defaultRetention ? 'locked' : 'unlocked',
		conditionalWrites,
		recommendedDuplicateCheck: conditionalWrites === 'honoured' ? 'store' : 'precheck',
		probeObjectsLeft,
		readyForCompliance: objectLock.enabled && versioning === 'Enabled',
		warnings,
	};
}
