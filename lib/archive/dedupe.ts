import type { HeadObjectCommandOutput, S3Client } from '@aws-sdk/client-s3';

import { cachedObjectLockConfiguration, clientStoreIdentity, deleteObject, headObject, listVersions, setLegalHold, setRetention, storeErrorCode, storeHttpStatus, unquoteEtag, SHA256_METADATA_KEY, type ObjectLockMode } from '../s3';
import { ArchiveError, type ArchiveWriteResult, type WriteResult } from './types';

/**
 * How a write stays exactly-once: a key is derived from the record, so a retried delivery maps to a
 * key that is already stored. The layers (see `writeObject`): single-flight in the process, the
 * existing object found before the PUT, and in a versioned bucket the race between processes
 * settled after it, with the Object Lock placed on the winning version only once the race is settled
 * (docs/FORMAT.md, "Duplicates and versions"; store behaviours in docs/stores.md).
 */

/** Writes in progress in this process, per store + bucket + key (see {@link singleFlight}). */
const inFlight = new Map<string, Promise<ArchiveWriteResult>>();
const anonymousClients = new WeakMap<S3Client, string>();
let anonymousClientCount = 0;

/** One object of one store in this process: store (endpoint, else the client) + bucket + key. */
export function flightKey(client: S3Client, bucket: string, key: string): string {
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
 * Single-flight per store (endpoint of `createS3Client`; other clients: per client) + bucket + key in
 * this process: while a write of the key is running, a second writer does not go to the store but
 * waits for the first and returns its outcome as `duplicate` (same version id, etag, size, sha256;
 * without the first writer's `extraVersionId`). When the first write fails, a waiter writes itself.
 * This covers concurrent retries of one delivery reaching the same n8n process.
 */
export async function singleFlight(
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

/** The object stored under `key` (HeadObject), as a `duplicate` result. @throws ArchiveError. */
async function describeExisting(client: S3Client, bucket: string, key: string): Promise<WriteResult> {
	const head = await headObject(client, { Bucket: bucket, Key: key });
	return {
		status: 'duplicate',
		bucket,
		key,
		versionId: head.VersionId ?? null,
		etag: unquoteEtag(head.ETag),
		size: head.ContentLength ?? 0,
		sha256: head.Metadata?.[SHA256_METADATA_KEY] ?? null,
	};
}

/**
 * The existing object's description, or null when HeadObject says 404 (no object) or 403 (write-only
 * keys may not read: the PUT's If-None-Match then decides).
 *
 * @throws ArchiveError for other failures.
 */
export async function findExisting(client: S3Client, bucket: string, key: string): Promise<WriteResult | null> {
	try {
		return await describeExisting(client, bucket, key);
	} catch (error) {
		const status = storeHttpStatus(error);
		if (status === 404 || status === 403) return null;
		throw error;
	}
}

/** The `duplicate` result after a 412; when the keys may not read (403), the details are null. */
export async function duplicateAfterPreconditionFailed(client: S3Client, bucket: string, key: string): Promise<WriteResult> {
	try {
		return await describeExisting(client, bucket, key);
	} catch (error) {
		if (storeHttpStatus(error) === 403) {
			return { status: 'duplicate', bucket, key, versionId: null, etag: null, size: null, sha256: null };
		}
		throw error;
	}
}

/** The versions (not delete markers) of exactly `key`, newest first, as the store lists them. */
async function versionsOfKey(
	client: S3Client,
	bucket: string,
	key: string,
): Promise<KeyVersion[]> {
	const out: KeyVersion[] = [];
	for await (const page of listVersions(client, bucket, key)) {
		for (const version of page) {
			// versions of `key` come before those of longer keys sharing the prefix
			if (version.key !== key) return out;
			if (!version.isDeleteMarker)
				out.push({ versionId: version.versionId, etag: version.etag, size: version.size, lastModified: version.lastModified });
		}
	}
	return out;
}

/** One version of a key as {@link versionsOfKey} lists it. */
interface KeyVersion {
	versionId: string;
	etag: string | null;
	size: number;
	lastModified: Date | null;
}

/**
 * The version every writer of a key keeps: the first one stored, by LastModified (the version id
 * breaks a tie, so that every writer picks the same one). Not the listing order: Ceph RGW 16 lists a
 * key's versions by when their PUT began, so a slow PUT is listed as older than a version stored, and
 * seen by its writer, before it. Without LastModified on every version: the last one listed.
 */
export function firstStored(versions: KeyVersion[]): KeyVersion {
	if (versions.some((version) => !version.lastModified)) return versions[versions.length - 1];
	return versions.reduce((first, version) => {
		const byTime = version.lastModified!.getTime() - first.lastModified!.getTime();
		return byTime < 0 || (byTime === 0 && version.versionId < first.versionId) ? version : first;
	});
}

/** The Object Lock a write places on its version after the race is settled ({@link settleVersionRace}). */
export interface LockToPlace {
	retention?: { mode: ObjectLockMode; retainUntil: Date };
	legalHold: boolean;
}

/**
 * Whether writes to `bucket` settle the race between processes before they lock (no HeadObject
 * pre-check, no lock headers on the PUT; {@link settleVersionRace} places the lock on the winner):
 * the bucket has Object Lock (so it is versioned) and no default retention (which would lock the
 * losing version before it could be deleted). Read once per client and bucket for a while
 * (`cachedObjectLockConfiguration`); false when the configuration cannot be read.
 */
export async function locksAfterSettling(client: S3Client, bucket: string): Promise<boolean> {
	try {
		const configuration = await cachedObjectLockConfiguration(client, bucket);
		return configuration.enabled && !configuration.defaultRetention;
	} catch {
		return false;
	}
}

/** How a version's HeadObject describes its lock (returned only to keys that may read it). */
function lockOfHead(head: HeadObjectCommandOutput | null): { retainUntil: Date | null; legalHold: boolean } {
	const until = head?.ObjectLockRetainUntilDate ? new Date(head.ObjectLockRetainUntilDate) : null;
	return { retainUntil: until && !Number.isNaN(until.getTime()) ? until : null, legalHold: head?.ObjectLockLegalHoldStatus === 'ON' };
}

/**
 * Places `lock` on one version that has none yet (PutObjectRetention, PutObjectLegalHold). When the
 * store refuses the retention, another writer of the key may have just locked the same version (a
 * later retain-until cannot be shortened): the version's HeadObject then decides — a retention in
 * force is accepted, anything else is an error saying the record is stored but not locked.
 *
 * @throws ArchiveError `NotLocked`.
 */
async function placeLock(
	client: S3Client,
	version: { bucket: string; key: string; versionId: string },
	lock: LockToPlace,
	current: { retainUntil: Date | null; legalHold: boolean },
): Promise<void> {
	const notLocked = (what: string, error: unknown) =>
		new ArchiveError(
			`The object was stored (version ${version.versionId}) but its ${what} could not be set (${storeErrorCode(error) || 'error'}): it is not locked yet. Writing the same record again sets it; check that the keys may PutObjectRetention and PutObjectLegalHold on the bucket`,
			{ code: 'NotLocked', cause: error },
		);
	if (lock.retention && !current.retainUntil) {
		try {
			await setRetention(client, { ...version, ...lock.retention });
		} catch (error) {
			let head: HeadObjectCommandOutput | null = null;
			try {
				head = await headObject(client, { Bucket: version.bucket, Key: version.key, VersionId: version.versionId });
			} catch {
				// decided below: no retention seen
			}
			const seen = lockOfHead(head).retainUntil;
			if (!seen || seen.getTime() <= Date.now()) throw notLocked('Object Lock retention', error);
		}
	}
	if (lock.legalHold && !current.legalHold) {
		try {
			await setLegalHold(client, { ...version, status: 'ON' });
		} catch (error) {
			throw notLocked('legal hold', error);
		}
	}
}

/** Another version of the key that already carries a retention in force or a legal hold, or null. */
async function lockedOther(
	client: S3Client,
	target: { bucket: string; key: string; own: string },
	versions: KeyVersion[],
): Promise<KeyVersion | null> {
	for (const version of versions) {
		if (version.versionId === target.own) continue;
		try {
			const lock = lockOfHead(await headObject(client, { Bucket: target.bucket, Key: target.key, VersionId: version.versionId }));
			if (lock.legalHold || (lock.retainUntil && lock.retainUntil.getTime() > Date.now())) return version;
		} catch {
			// unreadable: not known to be locked
		}
	}
	return null;
}

/**
 * After a `created` write in a versioned bucket: did another writer store this key first? A store
 * that ignores `If-None-Match: *` in versioned buckets (docs/stores.md) lets writers racing past the
 * pre-check each create a version. ListObjectVersions (Prefix = key) lists them; the one every racer
 * keeps is the first stored ({@link firstStored}):
 *
 * - ours was stored first (or the listing fails, e.g. keys without s3:ListBucketVersions) → we won:
 *   `created`, and `lockAfter` (when given) is placed on our version — unless another version already
 *   carries a lock (its writer saw only its own version and locked it): then that one is kept;
 * - another was stored first → `duplicate` describing it.
 *   Our own version is deleted by VersionId — unless we sent Object Lock retention or a legal hold
 *   with it (`locked`: it cannot be deleted; not even tried), or the delete fails (e.g. the bucket's
 *   default retention locked it): then `extraVersionId` names it. With `lockAfter`, a winner still
 *   without it (its writer stopped between its PUT and its lock) gets it now.
 *
 * @throws ArchiveError `NotLocked` when `lockAfter` cannot be placed.
 */
export async function settleVersionRace(
	client: S3Client,
	target: { bucket: string; key: string; locked: boolean; lockAfter?: LockToPlace | null },
	created: ArchiveWriteResult,
): Promise<ArchiveWriteResult> {
	const own = created.versionId;
	const { bucket, key } = target;
	if (created.status === 'created' && (!own || own === 'null') && target.lockAfter) {
		throw new ArchiveError(
			`The object ${key} was stored without a version id in a bucket with Object Lock, so its lock could not be placed: it is not locked. Check that the bucket has Object Lock and versioning enabled (S3 Archive → Bucket → Setup Check)`,
			{ code: 'NotLocked' },
		);
	}
	if (created.status !== 'created' || !own || own === 'null') return created;
	let versions: Awaited<ReturnType<typeof versionsOfKey>> | null;
	try {
		versions = await versionsOfKey(client, bucket, key);
	} catch {
		versions = null;
	}
	let winner = versions?.some((version) => version.versionId === own) ? firstStored(versions) : null;
	if (target.lockAfter && winner?.versionId === own) {
		// A writer that saw only its own version has already locked it; when the store stamped ours
		// as stored first all the same, that locked version is the one to keep.
		winner = (await lockedOther(client, { bucket, key, own }, versions!)) ?? winner;
	}
	if (!winner || winner.versionId === own) {
		if (target.lockAfter)
			await placeLock(client, { bucket, key, versionId: own }, target.lockAfter, { retainUntil: null, legalHold: false });
		return created;
	}
	let head: HeadObjectCommandOutput | null = null;
	try {
		head = await headObject(client, { Bucket: bucket, Key: key, VersionId: winner.versionId });
	} catch {
		// details of the winner are optional
	}
	let extraVersionId: string | undefined = own;
	if (!target.locked) {
		try {
			await deleteObject(client, bucket, key, own);
			extraVersionId = undefined;
		} catch {
			// locked by the bucket's default retention, or the store failed: reported below
		}
	}
	if (target.lockAfter)
		await placeLock(client, { bucket, key, versionId: winner.versionId }, target.lockAfter, lockOfHead(head));
	return {
		status: 'duplicate',
		bucket,
		key,
		versionId: winner.versionId,
		etag: unquoteEtag(head?.ETag) ?? winner.etag,
		size: head?.ContentLength ?? winner.size,
		sha256: head?.Metadata?.[SHA256_METADATA_KEY] ?? null,
		...(extraVersionId ? { extraVersionId } : {}),
	};
}
