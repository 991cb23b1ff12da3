import type { S3Client } from '@aws-sdk/client-s3';

import { verify as verifySignature, type PublicKey } from '../pgp';
import { listVersions, mapLimit, type ListedVersion } from '../s3';
import { auditEventBytes, auditFolder, auditSignedBytes, calendarDay, nextAuditDay, parseAuditEvent, parseAuditEventKey, utcDay } from './audit-event';
import { auditDays, firstAuditKeyAfter, lastAuditKeyIn, readAuditObject, readKeptVersion, type StoredAuditObject } from './audit-trail';
import { normalizePrefix } from './layout';
import { ArchiveError, type AuditEvent } from './types';

/**
 * Audit trail, verify side: reads the events of a date range in sequence order and checks each one
 * against its key, its signature and the event before it (docs/FORMAT.md, "Audit trail"). Findings
 * name sequence numbers, keys and days only, never an event's scope.
 */

/** Options of {@link verifyAudit}. */
export interface VerifyAuditOptions {
	client: S3Client;
	bucket: string;
	/** The archive prefix; the trail is `<prefix>/_audit/`. */
	prefix: string;
	/** First and last day folder to check (`yyyy-mm-dd`, or a time whose UTC day is taken); default the whole trail. */
	from?: string | Date;
	to?: string | Date;
	/** Public keys allowed to have signed events (the archive key, and earlier ones kept after a rotation). */
	verificationKeys: PublicKey[];
	/** GetObject requests in flight (default 8). */
	concurrency?: number;
}

/** An event as the report names it. */
export interface AuditEventSummary {
	seq: number;
	key: string;
	/** The event's `at`, null when it could not be read. */
	at: string | null;
	/** SHA-256 of the stored bytes (what the next event chains to); keep the last one to anchor the trail elsewhere. */
	sha256: string | null;
}

/** Sequence numbers with no event: deleted (or expired by retention, before the first one kept). */
export interface AuditGap {
	/** The event before the gap; null when the gap starts the trail. */
	afterSeq: number | null;
	beforeSeq: number;
	missing: number;
	message: string;
}

/**
 * An event that does not fit the chain: `hash-mismatch` (the event before it is not the one it
 * hashed: altered or replaced), `wrong-predecessor` (it names another key as its predecessor),
 * `wrong-key` (it lies under a key that is not its own: moved, swapped or copied), `not-canonical`
 * (its bytes are not the JCS form it is stored in), `malformed` (not an event), `unreadable` (too large to be one).
 */
export interface AuditBreak {
	seq: number;
	key: string;
	reason: 'hash-mismatch' | 'wrong-predecessor' | 'wrong-key' | 'not-canonical' | 'malformed' | 'unreadable';
	message: string;
}

/** An event whose signature does not verify against the given keys. */
export interface AuditBadSignature {
	seq: number;
	key: string;
	message: string;
}

/** Result of {@link verifyAudit}. */
export interface VerifyAuditResult {
	/** No gap, break, bad signature or problem. */
	valid: boolean;
	bucket: string;
	/** The trail's folder, `<prefix>/_audit`. */
	folder: string;
	from: string | null;
	to: string | null;
	eventsChecked: number;
	first: AuditEventSummary | null;
	last: AuditEventSummary | null;
	gaps: AuditGap[];
	breaks: AuditBreak[];
	badSignatures: AuditBadSignature[];
	/** Other findings: events hidden by a delete marker, objects in the trail that are not events. */
	problems: string[];
	/** Keys holding more than one version: the first stored is checked (see FORMAT.md). Not a failure. */
	extraVersions: Array<{ key: string; keptVersionId: string; extraVersionIds: string[] }>;
	/** Fingerprints of the keys that signed the checked events. */
	signers: string[];
	/** More than {@link MAX_FINDINGS} findings of one kind: the lists were cut. */
	truncated: boolean;
}

/** Most entries kept per list of findings. */
export const MAX_FINDINGS = 1000;

/** Most events walked back from the folder before `from` to find events of the range filed before it. */
const MAX_WALK_BACK = 1000;

/** One object in sequence order: `anchor` and `follower` are the events just outside the range, read only to check the links. */
interface Position {
	role: 'anchor' | 'checked' | 'follower';
	key: string;
	day: string;
	seq: number;
	stored: StoredAuditObject;
}

/** A checked position, as the next one is compared with it. */
interface Previous {
	seq: number;
	key: string;
	day: string;
	sha256: string | null;
	event: AuditEvent | null;
}

function dayOption(value: string | Date | undefined, field: string): string | null {
	if (value === undefined || value === null || value === '') return null;
	const text = String(value).trim();
	const day = value instanceof Date ? utcDay(value) : /^\d{4}-\d{2}-\d{2}T/.test(text) ? utcDay(text) : calendarDay(text);
	if (!day) throw new ArchiveError(`Invalid ${field}: must be a date yyyy-mm-dd`, { code: 'InvalidInput' });
	return day;
}

/** Collects findings in sequence order and tells whether the trail holds. */
class ChainCheck {
	readonly result: VerifyAuditResult;
	private previous: Previous | null = null;

	constructor(
		result: VerifyAuditResult,
		private readonly verificationKeys: PublicKey[],
	) {
		this.result = result;
	}

	push<T>(list: T[], entry: T): void {
		if (list.length < MAX_FINDINGS) list.push(entry);
		else this.result.truncated = true;
	}

	private breakAt(position: Position, reason: AuditBreak['reason'], message: string): void {
		this.push(this.result.breaks, { seq: position.seq, key: position.key, reason, message });
	}

	/** Checks one position against its key, its signature (when in the range) and the one before it. */
	async check(position: Position): Promise<void> {
		const { stored, role } = position;
		const inRange = role === 'checked';
		if (inRange) {
			if (stored.deleteMarker)
				this.push(this.result.problems, `Event ${position.seq} (${position.key}) was deleted: a delete marker hides it, its stored version is checked`);
			if (stored.extraVersionIds.length)
				this.push(this.result.extraVersions, { key: position.key, keptVersionId: stored.versionId, extraVersionIds: stored.extraVersionIds });
		}
		const parsed = stored.bytes ? parseAuditEvent(stored.bytes) : null;
		const event = parsed && 'event' in parsed ? parsed.event : null;
		if (inRange) {
			this.result.eventsChecked += 1;
			const summary = { seq: position.seq, key: position.key, at: event?.at ?? null, sha256: stored.sha256 };
			this.result.first ??= summary;
			this.result.last = summary;
			if (!stored.bytes) this.breakAt(position, 'unreadable', `${position.key} is larger than any audit event and was not read`);
			else if (!event) this.breakAt(position, 'malformed', `${position.key} is not an audit event (${(parsed as { reason: string }).reason})`);
			else {
				if (!auditEventBytes(event).equals(stored.bytes))
					this.breakAt(position, 'not-canonical', `Event ${position.seq} is not stored in its canonical (RFC 8785) form: it was rewritten`);
				await this.checkSignature(position, event);
			}
		}
		if (event && event.seq !== position.seq)
			this.breakAt(position, 'wrong-key', `${position.key} holds event ${event.seq}, not event ${position.seq}: events were moved, swapped or copied`);
		else if (event && role !== 'anchor') this.checkLink(position, event);
		this.previous = { seq: position.seq, key: position.key, day: position.day, sha256: stored.sha256, event: event && event.seq === position.seq ? event : null };
	}

	private async checkSignature(position: Position, event: AuditEvent): Promise<void> {
		let message: string | null = null;
		try {
			const checked = await verifySignature({ data: auditSignedBytes(event), signature: event.signature, verificationKeys: this.verificationKeys, asOfSignatureTime: true });
			const good = checked.signatures.find((signature) => signature.valid);
			if (good?.fingerprint && !this.result.signers.includes(good.fingerprint)) this.result.signers.push(good.fingerprint);
			if (!good) message = checked.signatures[0]?.reason ?? 'no signature verified against the given keys';
		} catch {
			message = 'the signature cannot be read as an OpenPGP signature';
		}
		if (message) this.push(this.result.badSignatures, { seq: position.seq, key: position.key, message: `Event ${position.seq}: ${message}` });
	}

	/** The link of `event` (at `position`) to the position before it. */
	private checkLink(position: Position, event: AuditEvent): void {
		const previous = this.previous;
		if (!previous) {
			if (position.seq > 1) {
				this.push(this.result.gaps, {
					afterSeq: null,
					beforeSeq: position.seq,
					missing: position.seq - 1,
					message: `No event before event ${position.seq} is stored (${event.prevKey ?? 'none'} is missing): events 1–${position.seq - 1} were deleted, or expired`,
				});
			} else if (event.prevKey !== null || event.prevSha256 !== null) {
				this.breakAt(position, 'wrong-predecessor', 'Event 1 names a predecessor: the first event has none');
			}
			return;
		}
		if (position.seq > previous.seq + 1) {
			const missing = position.seq - previous.seq - 1;
			this.push(this.result.gaps, {
				afterSeq: previous.seq,
				beforeSeq: position.seq,
				missing,
				message: `${missing === 1 ? `Event ${previous.seq + 1} is` : `Events ${previous.seq + 1}–${position.seq - 1} are`} missing between ${previous.key} and ${position.key}`,
			});
			return;
		}
		if (event.prevKey !== previous.key) {
			this.breakAt(position, 'wrong-predecessor', `Event ${position.seq} names ${event.prevKey ?? 'no event'} as the one before it, not ${previous.key}`);
		} else if (!previous.sha256 || event.prevSha256 !== previous.sha256) {
			this.breakAt(position, 'hash-mismatch', `Event ${previous.seq} (${previous.key}) is not the event whose SHA-256 event ${position.seq} holds: it was altered or replaced`);
		}
		if (previous.event) {
			const day = nextAuditDay({ day: previous.day, at: previous.event.at });
			if (position.day !== day)
				this.breakAt(position, 'wrong-key', `Event ${position.seq} is filed under ${position.day}; the event before it puts it under ${day}`);
		}
	}
}

/** The event a stored object holds, or null. */
function eventOf(stored: StoredAuditObject): AuditEvent | null {
	const parsed = stored.bytes ? parseAuditEvent(stored.bytes) : null;
	return parsed && 'event' in parsed ? parsed.event : null;
}

/** The position of a stored object, or null when its key is not an event key. */
function positionOf(folder: string, role: Position['role'], stored: StoredAuditObject): Position | null {
	const parsed = parseAuditEventKey(folder, stored.key);
	return parsed ? { role, key: stored.key, day: parsed.day, seq: parsed.seq, stored } : null;
}

/**
 * The events before the day folder `from` whose own time is on or after `from` (the first event after
 * a quiet spell is filed under the day of the event before it), preceded by the anchor: the newest
 * event before them, whose hash the first of them must hold. Walks back from the last key of the
 * folder before `from` along `prevKey`.
 */
async function positionsBefore(client: S3Client, bucket: string, folder: string, days: string[], from: string): Promise<Position[]> {
	const earlier = days.filter((day) => day < from);
	if (!earlier.length) return [];
	const last = await lastAuditKeyIn(client, bucket, folder, earlier[earlier.length - 1]);
	const positions: Position[] = [];
	let key: string | null = last?.key ?? null;
	for (let step = 0; key && step < MAX_WALK_BACK; step++) {
		const stored = await readAuditObject(client, bucket, key);
		const position = stored ? positionOf(folder, 'checked', stored) : null;
		if (!position) break;
		positions.unshift(position);
		const event = eventOf(stored!);
		if (!event || (utcDay(event.at) ?? '') < from) {
			position.role = 'anchor';
			break;
		}
		const previous = event.prevKey ? parseAuditEventKey(folder, event.prevKey) : null;
		key = previous && previous.seq === position.seq - 1 ? event.prevKey : null;
	}
	return positions;
}

/**
 * Verifies the audit trail of an archive prefix for a range of day folders:
 *
 * 1. lists the day folders (ListObjectsV2 with a delimiter) and, when `from` is given, walks back from
 *    the last event before it to the events of the range filed earlier and the anchor before them;
 * 2. lists every version under each day folder of the range (ListObjectVersions) and reads each key's
 *    kept version, the first stored (GetObject by version id, at most 64 KiB);
 * 3. checks each event in sequence order: its key holds its own sequence number and day, its bytes are
 *    its RFC 8785 form, its detached signature verifies (RFC 4880 §5.2.4, as of its own time, as
 *    Verify Seal does), its `prevKey` is the event before it and `prevSha256` the SHA-256 of that
 *    event's stored bytes; a sequence number with no event is a gap;
 * 4. when `to` is given, checks that the first event after the range links to the last one in it, so
 *    events deleted from the end of the range are a gap too.
 *
 * The newest event of the whole trail has no successor to vouch for it: keep `last.sha256`
 * outside the bucket to detect its deletion (seals skip `_` folders). Findings are results, not errors.
 *
 * @throws ArchiveError `InvalidInput` (no keys, a bad date); otherwise with the store's code.
 */
export async function verifyAudit(options: VerifyAuditOptions): Promise<VerifyAuditResult> {
	const { client, bucket } = options;
	if (!bucket) throw new ArchiveError('bucket is required', { code: 'InvalidInput' });
	if (!options.verificationKeys?.length)
		throw new ArchiveError('At least one verification public key (the archive signing key) is required to check audit events', { code: 'InvalidInput' });
	const folder = auditFolder(normalizePrefix(options.prefix));
	const from = dayOption(options.from, 'from');
	const to = dayOption(options.to, 'to');
	if (from && to && from > to) throw new ArchiveError('Invalid from: it is after to', { code: 'InvalidInput' });
	const concurrency = options.concurrency ?? 8;

	const check = new ChainCheck(
		{ valid: false, bucket, folder, from, to, eventsChecked: 0, first: null, last: null, gaps: [], breaks: [], badSignatures: [], problems: [], extraVersions: [], signers: [], truncated: false },
		options.verificationKeys,
	);
	const days = await auditDays(client, bucket, folder);
	let followerChecked = false;
	if (from) {
		for (const position of await positionsBefore(client, bucket, folder, days, from)) {
			// an event filed before the range whose own day is after it ends the range (no range folder follows it)
			if (to && position.role === 'checked' && (utcDay(eventOf(position.stored)?.at ?? '') ?? '') > to) {
				position.role = 'follower';
				await check.check(position);
				followerChecked = true;
				break;
			}
			await check.check(position);
		}
	}

	const checkKeys = async (groups: Array<[string, ListedVersion[]]>) => {
		const read = await mapLimit(groups, concurrency, async ([key, entries]) => await readKeptVersion(client, bucket, key, entries));
		for (const [index, stored] of read.entries()) {
			const key = groups[index][0];
			const position = stored ? positionOf(folder, 'checked', stored) : null;
			if (position) await check.check(position);
			else if (!parseAuditEventKey(folder, key)) check.push(check.result.problems, `${key} is not an audit event key: only events belong under ${folder}/`);
		}
	};
	for (const day of days.filter((day) => (!from || day >= from) && (!to || day <= to))) {
		// a key's versions may continue on the next page: the last key of a page waits for it
		let pending: Array<[string, ListedVersion[]]> = [];
		for await (const page of listVersions(client, bucket, `${folder}/${day}/`)) {
			for (const entry of page) {
				const open = pending[pending.length - 1];
				if (open && open[0] === entry.key) open[1].push(entry);
				else pending.push([entry.key, [entry]]);
			}
			await checkKeys(pending.slice(0, -1));
			pending = pending.slice(-1);
		}
		await checkKeys(pending);
	}

	if (to && !followerChecked) {
		// '0' sorts after '/', so this starts past every key of the day folder `to`
		const next = await firstAuditKeyAfter(client, bucket, folder, `${folder}/`, `${folder}/${to}0`);
		const stored = next ? await readAuditObject(client, bucket, next.key) : null;
		const position = stored ? positionOf(folder, 'follower', stored) : null;
		if (position) await check.check(position);
	}

	const result = check.result;
	result.valid = result.gaps.length === 0 && result.breaks.length === 0 && result.badSignatures.length === 0 && result.problems.length === 0;
	return result;
}
