import { GetObjectLegalHoldCommand, GetObjectLockConfigurationCommand, GetObjectRetentionCommand, PutObjectLegalHoldCommand, PutObjectRetentionCommand, type GetObjectLockConfigurationCommandOutput, type S3Client } from '@aws-sdk/client-s3';
import { DateTime, Duration } from 'luxon';

import { ArchiveError, storeErrorCode, storeHttpStatus } from './errors';
import { storeCall } from './send';

/**
 * S3 Object Lock (S3 User Guide, "Locking objects with Object Lock"): the modes, a lock computed from
 * a retention period, the bucket's configuration, a version's lock status and its legal-hold flag.
 */

/** GOVERNANCE: principals with s3:BypassGovernanceRetention may still delete; COMPLIANCE: nobody may. */
export type ObjectLockMode = 'GOVERNANCE' | 'COMPLIANCE';

/** Object Lock parameters of one PUT (the bucket must have Object Lock enabled). */
export interface ObjectLockParams {
	mode: ObjectLockMode;
	/** Retain-until date (the store keeps the version at least until then). */
	retainUntil: Date;
	/** Also place a legal hold (`x-amz-object-lock-legal-hold: ON`). */
	legalHold?: boolean;
}

/** A lock to apply to objects as they are written: a mode and an ISO 8601 retention period from then. */
export interface LockRetention {
	mode: ObjectLockMode;
	/** ISO 8601 duration, e.g. `P7Y`. */
	retention: string;
}

/**
 * The {@link ObjectLockParams} of a {@link LockRetention} for an object written at `from`: retain
 * until `from` + the retention period (UTC calendar arithmetic).
 *
 * @param field how the caller's user calls the retention period, for the error message.
 * @throws ArchiveError `InvalidInput` when the mode is unknown or the period is not a positive ISO
 *   8601 duration.
 */
export function lockUntil(lock: LockRetention, options: { from?: Date; field?: string } = {}): ObjectLockParams {
	if (lock.mode !== 'GOVERNANCE' && lock.mode !== 'COMPLIANCE') {
		throw new ArchiveError(
			`Object Lock mode must be GOVERNANCE or COMPLIANCE (got "${String(lock.mode)}")`,
			{ code: 'InvalidInput' },
		);
	}
	const text = String(lock.retention ?? '').trim();
	const duration = Duration.fromISO(text);
	if (!text || !duration.isValid || duration.toMillis() <= 0) {
		throw new ArchiveError(
			`${options.field ?? 'Object Lock retention'} "${text}" is not a positive ISO 8601 duration (e.g. P7Y, P90D)`,
			{ code: 'InvalidInput', hint: 'Object Lock needs a retention period, e.g. P6Y (six years) or P90D' },
		);
	}
	const from = DateTime.fromJSDate(options.from ?? new Date(), { zone: 'utc' });
	return { mode: lock.mode, retainUntil: from.plus(duration).toJSDate() };
}

/** What a bucket's Object Lock configuration allows. */
export interface ObjectLockConfiguration {
	/** Object Lock is enabled on the bucket (per-object retention and legal hold are possible). */
	enabled: boolean;
	/** `supported` / `not-configured` (the store supports it, the bucket lacks it) / `unsupported` (501). */
	support: 'supported' | 'not-configured' | 'unsupported';
	/** Bucket default retention (applies to every new version), or null. */
	defaultRetention: { mode: ObjectLockMode; days?: number; years?: number } | null;
}

/**
 * The bucket's Object Lock configuration (GetObjectLockConfiguration). A bucket without one answers
 * 404 `ObjectLockConfigurationNotFoundError` (some stores 400 `InvalidRequest`); a store without
 * Object Lock answers 501.
 *
 * @throws ArchiveError for other failures (`NoSuchBucket`, `AccessDenied`…).
 */
export async function objectLockConfiguration(client: S3Client, bucket: string): Promise<ObjectLockConfiguration> {
	try {
		const response = await storeCall<GetObjectLockConfigurationCommandOutput>(
			{ operation: 'GetObjectLockConfiguration', bucket },
			async () => await client.send(new GetObjectLockConfigurationCommand({ Bucket: bucket })),
		);
		const configuration = response.ObjectLockConfiguration;
		const retention = configuration?.Rule?.DefaultRetention;
		return {
			enabled: configuration?.ObjectLockEnabled === 'Enabled',
			support: 'supported',
			defaultRetention: retention?.Mode
				? {
						mode: retention.Mode,
						...(retention.Days ? { days: retention.Days } : {}),
						...(retention.Years ? { years: retention.Years } : {}),
					}
				: null,
		};
	} catch (error) {
		const code = storeErrorCode(error);
		const status = storeHttpStatus(error);
		if (
			code === 'ObjectLockConfigurationNotFoundError' ||
			code === 'InvalidRequest' ||
			(status === 404 && code !== 'NoSuchBucket')
		) {
			return { enabled: false, support: 'not-configured', defaultRetention: null };
		}
		if (status === 501 || code === 'NotImplemented')
			return { enabled: false, support: 'unsupported', defaultRetention: null };
		throw error;
	}
}

/** How long {@link cachedObjectLockConfiguration} reuses a bucket's configuration, and a failed read. */
export const LOCK_CONFIGURATION_TTL_MS = 5 * 60_000;
const FAILED_LOCK_CONFIGURATION_TTL_MS = 30_000;

const lockConfigurations = new WeakMap<S3Client, Map<string, { until: number; configuration: Promise<ObjectLockConfiguration> }>>();

/**
 * {@link objectLockConfiguration}, read at most once per client, bucket and
 * {@link LOCK_CONFIGURATION_TTL_MS} (writers consult it per record); `onRequest` is called when a
 * request is sent rather than a cached answer given. A failed read (e.g. keys without
 * s3:GetBucketObjectLockConfiguration) is given again for a shorter time instead of asked per record.
 *
 * @throws ArchiveError as {@link objectLockConfiguration}.
 */
export async function cachedObjectLockConfiguration(client: S3Client, bucket: string, onRequest?: () => void): Promise<ObjectLockConfiguration> {
	let perBucket = lockConfigurations.get(client);
	if (!perBucket) lockConfigurations.set(client, (perBucket = new Map()));
	const cached = perBucket.get(bucket);
	if (cached && Date.now() < cached.until) return await cached.configuration;
	onRequest?.();
	const entry = { until: Date.now() + LOCK_CONFIGURATION_TTL_MS, configuration: objectLockConfiguration(client, bucket) };
	perBucket.set(bucket, entry);
	entry.configuration.catch(() => {
		entry.until = Math.min(entry.until, Date.now() + FAILED_LOCK_CONFIGURATION_TTL_MS);
	});
	return await entry.configuration;
}

/** Whether the bucket has Object Lock enabled ({@link objectLockConfiguration}). @throws ArchiveError. */
export async function bucketHasObjectLock(client: S3Client, bucket: string): Promise<boolean> {
	return (await objectLockConfiguration(client, bucket)).enabled;
}

/** A store's answer for a version without retention / without a legal hold: not an error. */
function meansNotSet(error: unknown): boolean {
	const code = storeErrorCode(error);
	return (
		code === 'NoSuchObjectLockConfiguration' ||
		code === 'ObjectLockConfigurationNotFoundError' ||
		(storeHttpStatus(error) === 404 &&
			code !== 'NoSuchKey' &&
			code !== 'NoSuchVersion' &&
			code !== 'NoSuchBucket')
	);
}

/** The lock on one version, or the store's error code when it could not be read. */
export type VersionLockStatus =
	| { legalHold: boolean; mode: ObjectLockMode | null; retainUntil: Date | null }
	| { errorCode: string };

/**
 * The legal-hold flag and retention of one version (GetObjectLegalHold and GetObjectRetention, sent
 * together). Never throws: a lookup the store refuses gives its error code.
 */
export async function versionLockStatus(
	client: S3Client,
	target: { bucket: string; key: string; versionId: string },
): Promise<VersionLockStatus> {
	const input = { Bucket: target.bucket, Key: target.key, VersionId: target.versionId };
	const [legalHold, retention] = await Promise.all([
		client.send(new GetObjectLegalHoldCommand(input)).then(
			(result) => ({ on: result.LegalHold?.Status === 'ON' }),
			(error: unknown) => (meansNotSet(error) ? { on: false } : { error }),
		),
		client.send(new GetObjectRetentionCommand(input)).then(
			(result) => ({
				mode: result.Retention?.Mode ?? null,
				until: result.Retention?.RetainUntilDate ?? null,
			}),
			(error: unknown) => (meansNotSet(error) ? { mode: null, until: null } : { error }),
		),
	]);
	if ('error' in legalHold) return { errorCode: storeErrorCode(legalHold.error) };
	if ('error' in retention) return { errorCode: storeErrorCode(retention.error) };
	return {
		legalHold: legalHold.on,
		mode: retention.mode,
		retainUntil: retention.until ? new Date(retention.until) : null,
	};
}

/** PutObjectLegalHold ON or OFF on one version (Content-MD5 from the client). @throws ArchiveError. */
export async function setLegalHold(
	client: S3Client,
	target: { bucket: string; key: string; versionId: string; status: 'ON' | 'OFF' },
): Promise<void> {
	await storeCall(
		{ operation: 'PutObjectLegalHold', bucket: target.bucket, key: target.key },
		async () =>
			await client.send(
				new PutObjectLegalHoldCommand({
					Bucket: target.bucket,
					Key: target.key,
					VersionId: target.versionId,
					LegalHold: { Status: target.status },
				}),
			),
	);
}

/**
 * PutObjectRetention on one version (Content-MD5 from the client). A store refuses to shorten a
 * retention or to turn COMPLIANCE into GOVERNANCE (S3 User Guide, "Object Lock", retention modes).
 *
 * @throws ArchiveError.
 */
export async function setRetention(
	client: S3Client,
	target: { bucket: string; key: string; versionId: string; mode: ObjectLockMode; retainUntil: Date },
): Promise<void> {
	await storeCall(
		{ operation: 'PutObjectRetention', bucket: target.bucket, key: target.key },
		async () =>
			await client.send(
				new PutObjectRetentionCommand({
					Bucket: target.bucket,
					Key: target.key,
					VersionId: target.versionId,
					Retention: { Mode: target.mode, RetainUntilDate: target.retainUntil },
				}),
			),
	);
}
