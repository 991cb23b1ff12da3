import { createHash } from 'node:crypto';
import type { S3Client } from '@aws-sdk/client-s3';

import type { PrivateKey } from '../pgp';
import { cachedObjectLockConfiguration, listObjects, lockUntil, type LockRetention } from '../s3';
import { auditEventBytes, auditEventKey, auditFolder, auditSignedBytes, MAX_AUDIT_EVENT_BYTES, nextAuditDay, normalizeAuditEventInput, parseAuditEvent, parseAuditEventKey, utcDay, type AuditEventInput } from './audit-event';
import { auditDays, lastAuditKeyIn, readAuditObject, type StoredAuditObject } from './audit-trail';
import { flightKey } from './dedupe';
import { normalizePrefix } from './layout';
import { signWith } from './seal';
import { ArchiveError, type AuditEvent, type ManifestSigner } from './types';
import { writeObject } from './write';

/**
 * Audit trail, write side: one signed, hash-chained event per operation that reveals or changes the
 * archive, appended under `<prefix>/_audit/` (docs/FORMAT.md, "Audit trail"; format in audit-event.ts).
 *
 * Concurrent appenders (several n8n workers) share one chain: event n + 1 has exactly one possible key
 * (audit-event.ts), written once with the archive's conditional write (`writeObject`: `If-None-Match: *`,
 * and in versioned buckets the race settled to the first stored version). A writer that finds the key
 * taken reads the events written since and tries the next sequence number, so the chain never forks
 * and nobody waits for a lock that a stopped worker could hold forever. One chain rather than one per
 * writer: deleting every event of one writer's chain would leave no gap to see.
 */

/** Default Object Lock of events (only applied when the bucket has Object Lock). */
export const DEFAULT_AUDIT_LOCK: LockRetention = { mode: 'GOVERNANCE', retention: 'P7Y' };

/** Attempts at the next sequence number before giving up (each lost one means another writer appended). */
export const MAX_APPEND_ATTEMPTS = 20;

/** Options of {@link appendAuditEvent}. */
export interface AppendAuditEventOptions {
	client: S3Client;
	bucket: string;
	/** The archive prefix (e.g. `archive`); events go under `<prefix>/_audit/`. */
	prefix: string;
	/** Detached-signature function (`createReportSigner` of lib/retention), or an unlocked private key. */
	signer: ManifestSigner | PrivateKey;
	event: AuditEventInput;
	/**
	 * Object Lock of the event; default {@link DEFAULT_AUDIT_LOCK} (GOVERNANCE, P7Y). Applied only when
	 * the bucket has Object Lock enabled; `null` never locks.
	 */
	objectLock?: LockRetention | null;
}

/** Result of {@link appendAuditEvent}. */
export interface AppendAuditEventResult {
	key: string;
	seq: number;
	versionId: string | null;
	/** SHA-256 (lower-case hex) of the stored bytes: what the next event's `prevSha256` holds. */
	sha256: string;
	prevKey: string | null;
	prevSha256: string | null;
	signerFingerprint: string;
	/** Lock applied to the event, or null. */
	objectLock: { mode: 'GOVERNANCE' | 'COMPLIANCE'; retainUntil: string } | null;
	/** Sequence numbers tried (more than 1 when other writers appended at the same moment). */
	attempts: number;
	event: AuditEvent;
}

/** The newest event of a trail as a writer needs it. */
interface TrailHead {
	key: string;
	seq: number;
	day: string;
	at: string;
	sha256: string;
}

/** Per trail (store, bucket, folder) in this process: appends run one after another; the newest event known. */
const trails = new Map<string, { queue: Promise<unknown>; head: TrailHead | null }>();
const TRAIL_CACHE_LIMIT = 256;

function trailState(id: string): { queue: Promise<unknown>; head: TrailHead | null } {
	let state = trails.get(id);
	if (!state) {
		if (trails.size >= TRAIL_CACHE_LIMIT) trails.delete(trails.keys().next().value!);
		state = { queue: Promise.resolve(), head: null };
		trails.set(id, state);
	}
	return state;
}

/**
 * The head a writer extends from a stored object. An object that is not an event (planted, or
 * rewritten) is extended all the same, by its key and the SHA-256 of its bytes: the chain then pins
 * it, Verify Audit reports it, and a stray object cannot stop the trail.
 *
 * @throws ArchiveError `AuditTrailUnreadable` when the object is larger than any event (its bytes are not read).
 */
function headOf(folder: string, stored: StoredAuditObject): TrailHead {
	const position = parseAuditEventKey(folder, stored.key);
	if (!position || !stored.sha256 || !stored.bytes) {
		throw new ArchiveError(
			`The audit trail's newest object ${stored.key} is larger than any audit event, so no event can follow it: run Verify Audit, and remove the object`,
			{ code: 'AuditTrailUnreadable' },
		);
	}
	const parsed = parseAuditEvent(stored.bytes);
	const at = 'event' in parsed ? parsed.event.at : `${position.day}T00:00:00.000Z`;
	return { key: stored.key, seq: position.seq, day: position.day, at, sha256: stored.sha256 };
}

/**
 * The newest event of the trail: the last day folder (one listing with a delimiter), its last key
 * (`lastAuditKeyIn`), and that key's kept version. Null for an empty trail.
 */
async function findHead(client: S3Client, bucket: string, folder: string): Promise<TrailHead | null> {
	const days = await auditDays(client, bucket, folder);
	for (let index = days.length - 1; index >= 0; index--) {
		const last = await lastAuditKeyIn(client, bucket, folder, days[index]);
		const stored = last ? await readAuditObject(client, bucket, last.key, { settle: true }) : null;
		if (stored) return headOf(folder, stored);
	}
	return null;
}

/**
 * After another writer took `takenKey`: the newest event since. Reads the keys listed after it (one
 * page); a longer backlog means this process's head was far behind, and the head is looked up afresh.
 */
async function catchUp(client: S3Client, bucket: string, folder: string, takenKey: string): Promise<TrailHead | null> {
	let newest: string | null = null;
	let truncated = false;
	for await (const page of listObjects(client, { Bucket: bucket, Prefix: `${folder}/`, StartAfter: takenKey })) {
		for (const object of page) if (object.Key && parseAuditEventKey(folder, object.Key)) newest = object.Key;
		truncated = page.length >= 1000;
		break;
	}
	if (truncated) return await findHead(client, bucket, folder);
	const stored = await readAuditObject(client, bucket, newest ?? takenKey, { settle: true });
	return stored ? headOf(folder, stored) : await findHead(client, bucket, folder);
}

/**
 * Appends one event to the audit trail of an archive prefix:
 *
 * 1. validates the event (pseudonymous scope only: `normalizeAuditEventInput`);
 * 2. takes the newest event (known to this process, else looked up: `findHead`), builds event n + 1
 *    with `prevKey` and `prevSha256` (SHA-256 of event n's stored bytes), signs the JCS bytes of the
 *    event without `signature` (detached armored OpenPGP, RFC 4880 §5.2) and stores the JCS bytes of
 *    the signed event once (`writeObject`), under Object Lock when the bucket has it;
 * 3. when another writer stored n + 1 first, reads the events written since and goes back to 2.
 *
 * Appends of one trail from this process run one after another.
 *
 * @throws ArchiveError `InvalidInput` for a bad event (naming the field, never the value);
 *   `AuditContention` after {@link MAX_APPEND_ATTEMPTS} lost sequence numbers; `AuditTrailUnreadable`
 *   when the newest object of the trail is too large to be an event; otherwise with the store's code. A failing signer (e.g.
 *   PgpError) propagates before anything is written.
 */
export async function appendAuditEvent(options: AppendAuditEventOptions): Promise<AppendAuditEventResult> {
	const { client, bucket } = options;
	if (!bucket) throw new ArchiveError('bucket is required', { code: 'InvalidInput' });
	if (!options.signer)
		throw new ArchiveError("An audit event must be signed: give the archive's OpenPGP signing key (signer)", { code: 'InvalidInput' });
	const folder = auditFolder(normalizePrefix(options.prefix));
	const fields = normalizeAuditEventInput(options.event, normalizePrefix(options.prefix));
	const lock = options.objectLock === undefined ? DEFAULT_AUDIT_LOCK : options.objectLock;
	const lockParams =
		lock && (await cachedObjectLockConfiguration(client, bucket)).enabled
			? lockUntil(lock, { field: 'objectLock.retention' })
			: null;

	const state = trailState(flightKey(client, bucket, folder));
	const append = async (): Promise<AppendAuditEventResult> => {
		let head = state.head ?? (await findHead(client, bucket, folder));
		for (let attempt = 1; attempt <= MAX_APPEND_ATTEMPTS; attempt++) {
			const seq = head ? head.seq + 1 : 1;
			const key = auditEventKey(folder, head ? nextAuditDay(head) : utcDay(fields.at)!, seq);
			const unsigned: Omit<AuditEvent, 'signature'> = {
				type: 'chat-archive.audit-event',
				version: 1,
				seq,
				at: fields.at.toISOString(),
				operation: fields.operation,
				scope: fields.scope,
				counts: fields.counts,
				result: fields.result,
				errorCode: fields.errorCode,
				workflowId: fields.workflowId,
				executionId: fields.executionId,
				user: fields.user,
				prevKey: head?.key ?? null,
				prevSha256: head?.sha256 ?? null,
			};
			const signed = await signWith(options.signer, auditSignedBytes(unsigned));
			const event: AuditEvent = { ...unsigned, signature: signed.signature };
			const body = auditEventBytes(event);
			if (body.byteLength > MAX_AUDIT_EVENT_BYTES) {
				throw new ArchiveError(
					`Invalid audit event scope: the event would exceed ${MAX_AUDIT_EVENT_BYTES} bytes; name a key prefix or a date range instead of many entries`,
					{ code: 'InvalidInput' },
				);
			}
			const written = await writeObject({
				client,
				bucket,
				key,
				body,
				contentType: 'application/json',
				...(lockParams ? { objectLock: lockParams } : {}),
			});
			if (written.status === 'created') {
				const sha256 = createHash('sha256').update(body).digest('hex');
				state.head = { key, seq, day: parseAuditEventKey(folder, key)!.day, at: event.at, sha256 };
				return {
					key,
					seq,
					versionId: written.versionId,
					sha256,
					prevKey: unsigned.prevKey,
					prevSha256: unsigned.prevSha256,
					signerFingerprint: signed.signerFingerprint,
					objectLock: lockParams ? { mode: lockParams.mode, retainUntil: lockParams.retainUntil.toISOString() } : null,
					attempts: attempt,
					event,
				};
			}
			head = await catchUp(client, bucket, folder, key);
		}
		state.head = null;
		throw new ArchiveError(
			`No audit event could be appended under ${folder}/: other writers took ${MAX_APPEND_ATTEMPTS} sequence numbers in a row; try again`,
			{ code: 'AuditContention' },
		);
	};
	const run = state.queue.then(append, append);
	state.queue = run.catch(() => undefined);
	return await run;
}
