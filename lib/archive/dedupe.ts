import type { S3Client } from '@aws-sdk/client-s3';

import { clientStoreIdentity, deleteObject, headObject, listVersions, storeHttpStatus, unquoteEtag, SHA256_METADATA_KEY } from '../s3';
import type { ArchiveWriteResult, WriteResult } from './types';

/**
 * How a write stays exactly-once: a key is derived from the record, so a retried delivery maps to a
 * key that is already stored. The layers (see `writeObject`): single-flight in the process, the
 * existing object found before the PUT, and in a versioned bucket the race between processes
 * settled after it (docs/FORMAT.md, "Duplicates and versions"; store behaviours in docs/stores.md).
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
): Promise<Array<{ versionId: string; etag: string | null; size: number }>> {
	const out: Array<{ versionId: string; etag: string | null; size: number }> = [];
	for await (const page of listVersions(client, bucket, key)) {
		for (const version of page) {
			// versions of `key` come before those of longer keys sharing the prefix
			if (version.key !== key) return out;
			if (!version.isDeleteMarker)
				out.push({ versionId: version.versionId, etag: version.etag, size: version.size });
		}
	}
	return out;
}

/**
 * After a `created` write in a versioned bucket: did another writer store this key first? A store
 * that ignores `If-None-Match: *` in versioned buckets (docs/stores.md) lets writers racing past the
 * pre-check each create a version. ListObjectVersions (Prefix = key) orders the key's versions newest
 * first:
 *
 * - no version older than ours → we won: `created` unchanged;
 * - an older one exists → `duplicate` describing the *oldest* version (the one every racer keeps),
 *   and our own version is deleted by VersionId — unless we sent Object Lock retention or a legal
 *   hold with it (`locked`: it cannot be deleted; not even tried), or the delete fails (e.g. the
 *   bucket's default retention locked it): then `extraVersionId` names it.
 *
 * When the listing fails (e.g. keys without s3:ListBucketVersions) the `created` result stands.
 */
export async function settleVersionRace(
	client: S3Client,
	target: { bucket: string; key: string; locked: boolean },
	created: ArchiveWriteResult,
): Promise<ArchiveWriteResult> {
	const own = created.versionId;
	if (created.status !== 'created' || !own || own === 'null') return created;
	const { bucket, key } = target;
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
	let size: number | null = winner.size;
	try {
		const head = await headObject(client, {
			Bucket: bucket,
			Key: key,
			VersionId: winner.versionId,
		});
		sha256 = head.Metadata?.[SHA256_METADATA_KEY] ?? null;
		etag = unquoteEtag(head.ETag) ?? etag;
		size = head.ContentLength ?? size;
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
