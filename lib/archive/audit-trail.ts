import { createHash } from 'node:crypto';
import type { S3Client } from '@aws-sdk/client-s3';

import { getObject, listFolders, listObjects, listVersions, readAll, toArchiveError, type ListedVersion } from '../s3';
import { MAX_AUDIT_EVENT_BYTES, parseAuditEventKey } from './audit-event';
import { firstStored } from './dedupe';

/**
 * Reading the audit trail from the store (docs/FORMAT.md, "Audit trail"): its day folders, the last
 * event of a folder, and one event object as kept. Shared by the writer (audit.ts) and the verifier
 * (audit-verify.ts).
 */

/** One event object as read: the version kept, its bytes, and what else the key holds. */
export interface StoredAuditObject {
	key: string;
	/** The version kept: the first one stored (`firstStored` of dedupe.ts, the rule every writer follows). */
	versionId: string;
	size: number;
	/** The stored bytes; null when the version is larger than any event ({@link MAX_AUDIT_EVENT_BYTES}) and was not read. */
	bytes: Buffer | null;
	/** SHA-256 (lower-case hex) of `bytes`, null when not read. */
	sha256: string | null;
	/** The key's newest entry is a delete marker: the event was deleted, its version is still stored. */
	deleteMarker: boolean;
	/** Other versions of the key: a writer that lost a race and could not delete its version, or an overwrite. */
	extraVersionIds: string[];
}

/** What a key's listed versions and delete markers say: the version to read, if any. */
export function keptVersion(entries: readonly ListedVersion[]): { kept: ListedVersion | null; deleteMarker: boolean; extraVersionIds: string[] } {
	const versions = entries.filter((entry) => !entry.isDeleteMarker);
	const deleteMarker = entries.some((entry) => entry.isDeleteMarker && entry.isLatest);
	if (versions.length === 0) return { kept: null, deleteMarker, extraVersionIds: [] };
	const kept = versions.find((version) => version.versionId === firstStored(versions).versionId)!;
	return { kept, deleteMarker, extraVersionIds: versions.filter((version) => version !== kept).map((version) => version.versionId) };
}

/**
 * Reads the kept version of a key from its listed entries (GetObject by version id), unless it is
 * larger than any event.
 *
 * @throws ArchiveError with the store's code.
 */
export async function readKeptVersion(client: S3Client, bucket: string, key: string, entries: readonly ListedVersion[]): Promise<StoredAuditObject | null> {
	const { kept, deleteMarker, extraVersionIds } = keptVersion(entries);
	if (!kept) return null;
	let bytes: Buffer | null = null;
	if (kept.size <= MAX_AUDIT_EVENT_BYTES) {
		const response = await getObject(client, { Bucket: bucket, Key: key, VersionId: kept.versionId });
		try {
			bytes = await readAll(response.Body);
		} catch (error) {
			throw toArchiveError(error, { operation: 'GetObject', bucket, key });
		}
		if (bytes.byteLength > MAX_AUDIT_EVENT_BYTES) bytes = null;
	}
	return {
		key,
		versionId: kept.versionId,
		size: kept.size,
		bytes,
		sha256: bytes ? createHash('sha256').update(bytes).digest('hex') : null,
		deleteMarker,
		extraVersionIds,
	};
}

/** The versions and delete markers of exactly `key` (ListObjectVersions, Prefix = key). */
async function entriesOfKey(client: S3Client, bucket: string, key: string): Promise<ListedVersion[]> {
	const out: ListedVersion[] = [];
	for await (const page of listVersions(client, bucket, key)) {
		for (const entry of page) {
			// entries of `key` come before those of longer keys sharing the prefix
			if (entry.key !== key) return out;
			out.push(entry);
		}
	}
	return out;
}

/** Pause between two listings of a key whose concurrent writers are still settling which version is kept. */
const SETTLE_WAIT_MS = 200;
const SETTLE_LISTINGS = 3;

/**
 * Reads one event object by key: ListObjectVersions of the key, then the kept version. With `settle`,
 * a key that holds more than one version is listed again a few times first: a writer that lost the
 * race for it deletes its own version right after its PUT (dedupe.ts `settleVersionRace`).
 *
 * @returns null when the key holds no version.
 * @throws ArchiveError with the store's code.
 */
export async function readAuditObject(client: S3Client, bucket: string, key: string, options: { settle?: boolean } = {}): Promise<StoredAuditObject | null> {
	let entries = await entriesOfKey(client, bucket, key);
	for (let listing = 1; options.settle && listing < SETTLE_LISTINGS && entries.filter((entry) => !entry.isDeleteMarker).length > 1; listing++) {
		await new Promise((resolve) => setTimeout(resolve, SETTLE_WAIT_MS));
		entries = await entriesOfKey(client, bucket, key);
	}
	return await readKeptVersion(client, bucket, key, entries);
}

/** The day folders of the trail (`yyyy-mm-dd`), oldest first (ListObjectsV2 with a delimiter). */
export async function auditDays(client: S3Client, bucket: string, folder: string): Promise<string[]> {
	const days: string[] = [];
	for (const prefix of await listFolders(client, bucket, `${folder}/`)) {
		const day = prefix.slice(folder.length + 1, -1);
		if (/^\d{4}-\d{2}-\d{2}$/.test(day)) days.push(day);
	}
	return days;
}

/**
 * The first event key listed after `startAfter` under `listPrefix` (ListObjectsV2, StartAfter),
 * skipping objects that are not event keys; null when there is none.
 */
export async function firstAuditKeyAfter(
	client: S3Client,
	bucket: string,
	folder: string,
	listPrefix: string,
	startAfter: string,
): Promise<{ key: string; day: string; seq: number } | null> {
	for await (const page of listObjects(client, { Bucket: bucket, Prefix: listPrefix, StartAfter: startAfter }, { pageSize: 10 })) {
		for (const object of page) {
			const parsed = object.Key ? parseAuditEventKey(folder, object.Key) : null;
			if (parsed) return { key: object.Key!, ...parsed };
		}
	}
	return null;
}

/**
 * The last event key of one day folder, in about 2·log2(n) one-key listings instead of listing all n:
 * keys of a folder sort by sequence number, so "is there a key after sequence s" (StartAfter the key
 * of s) is answered for growing then halving s. Keys missing in between do not mislead it.
 *
 * @returns null when the folder holds no event key.
 */
export async function lastAuditKeyIn(client: S3Client, bucket: string, folder: string, day: string): Promise<{ key: string; seq: number } | null> {
	const dayPrefix = `${folder}/${day}/`;
	const after = async (seq: number) =>
		await firstAuditKeyAfter(client, bucket, folder, dayPrefix, `${dayPrefix}${String(seq).padStart(12, '0')}.json`);
	const first = await firstAuditKeyAfter(client, bucket, folder, dayPrefix, dayPrefix);
	if (!first) return null;
	// invariant: a key with sequence `last` exists; none after `bound`
	let last = first;
	let bound: number | null = null;
	for (let step = 1; bound === null; step *= 2) {
		const found = await after(last.seq + step - 1);
		if (found) last = found;
		else bound = last.seq + step - 1;
	}
	while (last.seq < bound) {
		const middle = Math.floor((last.seq + bound) / 2);
		const found = await after(middle);
		if (found) last = found;
		else bound = middle;
	}
	return { key: last.key, seq: last.seq };
}
