import type { S3Client } from '@aws-sdk/client-s3';

import { decrypt, PgpError, type PrivateKey } from '../pgp';
import { mapLimit, readAll } from '../s3';
import { openMediaPlaintext, type MediaReadOptions } from './export-media';
import { getObject } from './get';
import { identifierPseudonyms, phoneNumberPseudonyms, resolveIdentity } from './identity';
import { assertPhoneNumberIdFilter } from './layout';
import { listObjects, type ListedObject } from './list';
import { buildRsmfExport, isUpdate, type RsmfMedia, type RsmfSlice } from './rsmf';
import { ArchiveError } from './types';

/**
 * Export (eDiscovery) of a scope of the archive: one person's conversations (any of their
 * identifiers, optionally one business number and a date range), or a custodian's: every
 * conversation of one business phone number in a date range. Two outputs of the same records:
 * - `exportConversation` (export-conversation.ts): JSONL, readable transcripts and the media in a
 *   zip, every file a stream, the records passing through an encrypted spool (bounded memory);
 * - {@link exportRsmf}: RSMF 2.0 files (rsmf/), records held in memory for the mapping, media fetched
 *   and decrypted only when a file's stream reaches them.
 * Here: the scope, its listing, reading one record, and the RSMF export.
 * Nothing is logged or cached; plaintext reaches only the returned streams and the encrypted spools.
 */

/**
 * What an export covers: `person` (one counterparty: `person`, `phoneNumber` or `pseudonym`) or
 * `custodian` (every conversation of the business number `phoneNumberId` from `from` to `to`).
 */
export type ExportScope = 'person' | 'custodian';

/** Options of every export: the scope, the keys and the limits of reading the records and their media. */
export interface ExportOptions extends MediaReadOptions {
	client: S3Client;
	bucket: string;
	/** Archive prefix (as for `listObjects`). */
	prefix: string;
	/** Index key of the archive credential (turns `phoneNumber` into the key pseudonym). */
	indexKey?: string;
	/**
	 * `person` (default): the counterparty given by `person`, `phoneNumber` or `pseudonym`;
	 * `custodian`: every conversation of `phoneNumberId` from `from` to `to` (all three required).
	 */
	scope?: ExportScope;
	/**
	 * The counterparty: a phone number (any common typing), a BSUID, a username, or a WhatsApp group
	 * id (`group:<id>`: the group's conversation, every member's messages in it). Every record of that
	 * person is exported, whichever identifier it was filed under (`resolveIdentity`).
	 */
	person?: string;
	/** The counterparty's phone number, any formatting (`+1 650-555-1234`); or give `person` or `pseudonym`. */
	phoneNumber?: string;
	/** Counterparty pseudonym (32 hex) as in the keys, instead of `phoneNumber`. */
	pseudonym?: string;
	/** Only records captured on this business phone number id (the custodian, with scope `custodian`). */
	phoneNumberId?: string;
	/** Only this retention class. */
	retentionClass?: string;
	/** First UTC day included (`yyyy-mm-dd` or ISO 8601). */
	from?: string | Date;
	/** Last UTC day included. */
	to?: string | Date;
	/** Unlocked private keys (e.g. `readPrivateKey` of lib/pgp). */
	decryptionKeys: PrivateKey[];
	/** Include status records (sent/delivered/read…) (default true). */
	includeStatuses?: boolean;
	/** RSMF only, whose records live in memory: refuse exports of more records than this (default 50 000). */
	maxRecords?: number;
	/**
	 * Largest plaintext of one record, in bytes (default {@link DEFAULT_MAX_RECORD_BYTES}): its
	 * decryption stops as soon as it passes (lib/pgp `maxDecryptedBytes`), and a larger object is not read.
	 */
	maxRecordBytes?: number;
	/** RSMF only, whose records live in memory: largest plaintext of all records together, in bytes (default {@link DEFAULT_MAX_EXPORT_BYTES}). */
	maxExportBytes?: number;
	/** GetObject + decrypt in flight (default 16: GET latency, not CPU, bounds an export; docs/benchmarks.md). */
	concurrency?: number;
}

/** Where one exported record came from. */
export interface ExportSource {
	key: string;
	versionId: string | null;
	/** SHA-256 of the ciphertext (checked against `x-amz-meta-sha256` while reading). */
	sha256: string | null;
	recordId: string;
	/** Keys of the record's archived media objects (`<record id>.media*.pgp`), still encrypted. */
	mediaKeys: string[];
}

/** What every export returns: the scope, the sources, counts and period. */
export interface ExportSummary {
	scope: ExportScope;
	/** The pseudonym of the identifier given (its first form for a phone number); null for a custodian export. */
	pseudonym: string | null;
	/** Every pseudonym of the person whose records were exported (linked identities included); empty for a custodian export. */
	pseudonyms: string[];
	/** Where the records came from, in record order (time, then wamid, then key). */
	sources: ExportSource[];
	counts: { records: number; messages: number; statuses: number; other: number; media: number };
	/** First and last record time (ISO 8601), or null when empty. */
	period: { first: string | null; last: string | null };
}

const MIB = 1024 * 1024;

/**
 * Default of `maxRecordBytes`. A record holds one message or status of a webhook delivery, whose
 * body Meta keeps under 3 MB (a quarantined body is kept whole, base64): KBs in practice.
 */
export const DEFAULT_MAX_RECORD_BYTES = 16 * MIB;

/** Default of `maxExportBytes`: 50 000 records (the default `maxRecords`) of a few KB each, with room. */
export const DEFAULT_MAX_EXPORT_BYTES = 256 * MIB;

/** Default of `maxRecords` (RSMF). */
export const DEFAULT_MAX_RECORDS = 50_000;

/** Default of `concurrency`. */
export const DEFAULT_EXPORT_CONCURRENCY = 16;

/** Octets an OpenPGP message adds to its plaintext (PKESKs, packet headers, MDC, a signature), with room. */
const MESSAGE_OVERHEAD = MIB;

/** The time a record is ordered by: `timestamp`, else `received_at` (ISO 8601 UTC); undated records last. */
export function sortTime(record: Record<string, unknown>): string {
	for (const field of ['timestamp', 'received_at']) {
		const value = record[field];
		if (typeof value === 'string' && !Number.isNaN(Date.parse(value))) return new Date(value).toISOString();
	}
	return '9999-12-31T23:59:59.999Z';
}

/** What records are ordered by: time, then wamid, then object key. */
export interface RecordOrder {
	time: string;
	wamid: string;
	key: string;
}

/** Export order: time (UTC), then wamid, then object key. */
export function compareRecordOrder(a: RecordOrder, b: RecordOrder): number {
	if (a.time !== b.time) return a.time < b.time ? -1 : 1;
	if (a.wamid !== b.wamid) return a.wamid < b.wamid ? -1 : 1;
	return a.key < b.key ? -1 : a.key > b.key ? 1 : 0;
}

/** The order fields of a decrypted record stored at `key`. */
export function recordOrder(record: Record<string, unknown>, key: string): RecordOrder {
	return { time: sortTime(record), wamid: String(record.wamid ?? ''), key };
}

/** One decrypted record and where it came from. */
export interface ExportRow {
	record: Record<string, unknown>;
	source: ExportSource;
	/** Bytes of its plaintext. */
	size: number;
}

/** The objects of a scope as listed, before any is read. */
export interface ScopeListing {
	scope: ExportScope;
	pseudonym: string | null;
	pseudonyms: string[];
	/** Record objects (`<record id>.pgp`), in listing order. */
	records: ListedObject[];
	/** Media object keys by record (`<directory>/<record id>`), sorted. */
	mediaKeys(record: ListedObject): string[];
}

/**
 * The pseudonyms a person export lists (the identifier's, and the linked identities'), or none for
 * a custodian export, whose phone number id and dates are checked here.
 */
async function scopePseudonyms(options: ExportOptions): Promise<{ scope: ExportScope; pseudonym: string | null; pseudonyms: string[] }> {
	const { client, bucket } = options;
	const scope = options.scope ?? 'person';
	if (scope === 'custodian') {
		const missing = [
			options.phoneNumberId?.trim() ? null : 'phoneNumberId (the business phone number ID)',
			options.from ? null : 'from (the first day)',
			options.to ? null : 'to (the last day)',
		].filter(Boolean);
		if (missing.length) {
			throw new ArchiveError(`A custodian export needs ${missing.join(', ')}`, { code: 'InvalidInput' });
		}
		assertPhoneNumberIdFilter(options.phoneNumberId!, 'phoneNumberId');
		return { scope, pseudonym: null, pseudonyms: [] };
	}
	if (scope !== 'person') {
		throw new ArchiveError('scope must be "person" or "custodian"', { code: 'InvalidInput' });
	}
	let start: string[];
	const indexKey = options.indexKey ?? '';
	if (options.pseudonym?.trim()) {
		start = [options.pseudonym.trim().toLowerCase()];
	} else if (options.person?.trim()) {
		start = identifierPseudonyms({ indexKey, identifier: options.person, field: 'person' });
	} else if (options.phoneNumber?.trim()) {
		start = phoneNumberPseudonyms({ indexKey, phoneNumber: options.phoneNumber });
	} else {
		throw new ArchiveError('Give the counterparty: person, phoneNumber or pseudonym', { code: 'InvalidInput' });
	}
	const pseudonym = start[0];
	if (!/^[0-9a-f]{32}$/.test(pseudonym)) {
		throw new ArchiveError('pseudonym must be 32 lower-case hex characters', { code: 'InvalidInput' });
	}
	const pseudonyms = options.indexKey
		? (await resolveIdentity({ client, bucket, prefix: options.prefix, indexKey, pseudonyms: start })).pseudonyms
		: start;
	return { scope, pseudonym, pseudonyms };
}

/**
 * The objects of the scope, listed the same way for every format:
 *
 * 1. the scope's pseudonyms ({@link scopePseudonyms}): from `person` or `phoneNumber` with `indexKey`
 *    (HMAC; every WhatsApp form of a phone number, identity.ts), or `pseudonym`, plus the linked
 *    identities (`resolveIdentity`, when `indexKey` is given); none for a custodian; the number never
 *    reaches the store;
 * 2. `listObjects` (ListObjectsV2, all pages) finds the record objects (`<record id>.pgp`) and media
 *    objects under the prefix for those pseudonyms (and phone number id, class, date range).
 *
 * Keys only: a few hundred bytes of memory per object, no plaintext.
 *
 * @throws ArchiveError `InvalidInput` (no keys, no counterparty, an incomplete custodian scope, a bad
 *   filter), `TooManyRecords` past `maxRecords` when given, or the store's code.
 */
export async function listScope(options: ExportOptions, maxRecords?: number): Promise<ScopeListing> {
	const { client, bucket } = options;
	if (!options.decryptionKeys?.length) {
		throw new ArchiveError('A private key is required to decrypt the records (attach an OpenPGP Private Key credential)', {
			code: 'InvalidInput',
		});
	}
	const { scope, pseudonym, pseudonyms } = await scopePseudonyms(options);
	const records: ListedObject[] = [];
	const mediaByRecord = new Map<string, string[]>();
	for await (const object of listObjects({
		client,
		bucket,
		filter: {
			prefix: options.prefix,
			pseudonyms: scope === 'person' ? pseudonyms : undefined,
			phoneNumberId: options.phoneNumberId || undefined,
			retentionClass: options.retentionClass || undefined,
			from: options.from || undefined,
			to: options.to || undefined,
		},
	})) {
		if (object.kind === 'media') {
			const id = recordPath(object);
			mediaByRecord.set(id, [...(mediaByRecord.get(id) ?? []), object.key]);
			continue;
		}
		records.push(object);
		if (maxRecords !== undefined && records.length > maxRecords) {
			throw new ArchiveError(`More than ${maxRecords} records match: narrow the export by date range or phone number ID`, {
				code: 'TooManyRecords',
			});
		}
	}
	return { scope, pseudonym, pseudonyms, records, mediaKeys: (record) => (mediaByRecord.get(recordPath(record)) ?? []).sort() };
}

/** `<directory>/<record id>` of a listed record or media object: its media share it. */
function recordPath(object: ListedObject): string {
	return object.key.slice(0, object.key.lastIndexOf('/') + 1) + object.recordId;
}

/**
 * Reads one record of the scope: GetObject (SHA-256 checked against `x-amz-meta-sha256`, an object
 * too large for `maxRecordBytes` refused from its Content-Length), `decrypt` of lib/pgp within
 * `maxRecordBytes`, parsed as a JSON object.
 *
 * @throws ArchiveError `OutputLimit` (past `maxRecordBytes`, e.g. a compression bomb),
 *   `DecryptionFailed` (names the object key and the OpenPGP reason, never plaintext), `NotARecord`
 *   (not a JSON record), `IntegrityError` (ciphertext differs from its SHA-256), or the store's code.
 */
export async function readRecord(options: ExportOptions, object: ListedObject, mediaKeys: string[]): Promise<ExportRow> {
	const { client, bucket } = options;
	const maxRecordBytes = options.maxRecordBytes ?? DEFAULT_MAX_RECORD_BYTES;
	const got = await getObject({ client, bucket, key: object.key, verify: true });
	if (got.size > maxRecordBytes + MESSAGE_OVERHEAD) {
		got.body.destroy();
		throw new ArchiveError(`s3://${bucket}/${object.key} holds ${got.size} bytes, more than a record within the limit of ${maxRecordBytes / MIB} MiB per record can take`, {
			code: 'OutputLimit',
		});
	}
	const ciphertext = await readAll(got.body);
	let plaintext: Uint8Array;
	try {
		plaintext = (await decrypt({ data: ciphertext, decryptionKeys: options.decryptionKeys, maxDecryptedBytes: maxRecordBytes })).data;
	} catch (error) {
		const reason = error instanceof Error ? error.message : String(error);
		if (error instanceof PgpError && error.code === 'OUTPUT_LIMIT') {
			throw new ArchiveError(`Record s3://${bucket}/${object.key}: ${reason}`, { code: 'OutputLimit', cause: error });
		}
		throw new ArchiveError(`Could not decrypt s3://${bucket}/${object.key}: ${reason}`, { code: 'DecryptionFailed', cause: error });
	}
	let record: unknown = null;
	try {
		record = JSON.parse(Buffer.from(plaintext.buffer, plaintext.byteOffset, plaintext.byteLength).toString('utf8'));
	} catch {
		record = null;
	}
	if (!record || typeof record !== 'object' || Array.isArray(record)) {
		throw new ArchiveError(`s3://${bucket}/${object.key} does not decrypt to a JSON record`, { code: 'NotARecord' });
	}
	const source: ExportSource = { key: object.key, versionId: got.versionId, sha256: got.sha256, recordId: object.recordId, mediaKeys };
	return { record: record as Record<string, unknown>, source, size: plaintext.length };
}

/** Counts of a scope's records by kind. */
export function emptyCounts(): ExportSummary['counts'] {
	return { records: 0, messages: 0, statuses: 0, other: 0, media: 0 };
}

/** Adds one record (and its media) to `counts`. */
export function countRecord(counts: ExportSummary['counts'], record: Record<string, unknown>, mediaFiles: number): void {
	counts.records += 1;
	if (record.record_kind === 'message') counts.messages += 1;
	else if (record.record_kind === 'status') counts.statuses += 1;
	else counts.other += 1;
	counts.media += mediaFiles;
}

/** The records of a scope, decrypted and ordered, in memory (RSMF). */
interface ScopeRecords {
	listing: ScopeListing;
	rows: ExportRow[];
}

/**
 * The records of the scope in memory, for the RSMF mapping: {@link listScope} (within `maxRecords`),
 * each record read by {@link readRecord} `concurrency` at a time, all of them within `maxExportBytes`,
 * ordered by time (UTC), then wamid, then key.
 */
async function readScopeRecords(options: ExportOptions): Promise<ScopeRecords> {
	const listing = await listScope(options, options.maxRecords ?? DEFAULT_MAX_RECORDS);
	const maxExportBytes = options.maxExportBytes ?? DEFAULT_MAX_EXPORT_BYTES;
	let exportBytes = 0;
	const read = await mapLimit(listing.records, options.concurrency ?? DEFAULT_EXPORT_CONCURRENCY, async (object) => {
		const row = await readRecord(options, object, listing.mediaKeys(object));
		exportBytes += row.size;
		if (exportBytes > maxExportBytes) {
			throw new ArchiveError(`The records of this export hold more than ${maxExportBytes / MIB} MiB of plaintext: narrow the export by date range or phone number ID`, {
				code: 'OutputLimit',
			});
		}
		return row;
	});
	const rows = options.includeStatuses === false ? read.filter((row) => row.record.record_kind !== 'status') : read;
	const orders = new Map(rows.map((row) => [row, recordOrder(row.record, row.source.key)]));
	rows.sort((a, b) => compareRecordOrder(orders.get(a)!, orders.get(b)!));
	return { listing, rows };
}

/** The scope, sources, counts and period of the rows. */
function summary(read: ScopeRecords): ExportSummary {
	const counts = emptyCounts();
	for (const row of read.rows) countRecord(counts, row.record, row.source.mediaKeys.length);
	const { rows } = read;
	return {
		scope: read.listing.scope,
		pseudonym: read.listing.pseudonym,
		pseudonyms: read.listing.pseudonyms,
		sources: rows.map((row) => row.source),
		counts,
		period: {
			first: rows.length ? sortTime(rows[0].record) : null,
			last: rows.length ? sortTime(rows[rows.length - 1].record) : null,
		},
	};
}

/** Options of {@link exportRsmf}: the scope and limits of {@link ExportOptions}, and the RSMF files'. */
export interface RsmfArchiveExportOptions extends ExportOptions {
	/** Most events in one `.rsmf` file (default 10,000, as Relativity advises). */
	maxEventsPerSlice?: number;
	/** Start a new `.rsmf` file at each UTC day (default false). */
	sliceByDay?: boolean;
	/** `X-RSMF-Generator` (default `n8n-nodes-chat-archive`). */
	generator?: string;
}

/** Result of {@link exportRsmf}. */
export interface RsmfArchiveExport extends ExportSummary {
	/** One per `.rsmf` file; their streams fetch and decrypt the media as the zip reaches them. */
	slices: RsmfSlice[];
	/** Events in all slices. */
	eventCount: number;
}

/**
 * Exports the records of a scope (one person, or a custodian's business number in a date range) as
 * RSMF 2.0 files (docs/rsmf.md): the records are read by {@link readScopeRecords} (in memory, within
 * `maxRecords` and `maxExportBytes`), and each message record's media objects (`<record id>.media*.pgp`)
 * are given to {@link buildRsmfExport} as functions that fetch and decrypt them (`openMediaPlaintext`
 * of export-media.ts): nothing of a media file is read until a slice's stream reaches it, and then one
 * file at a time.
 *
 * The same archived records and media give byte-identical files.
 *
 * @throws ArchiveError `InvalidInput` (no counterparty, an incomplete custodian scope, no keys, bad
 *   filter, a bad `maxEventsPerSlice`), `TooManyRecords` beyond `maxRecords`, `OutputLimit` (a record
 *   past `maxRecordBytes`, or all of them past `maxExportBytes`), and the errors of {@link readRecord}.
 *   A slice's stream fails with `DecryptionFailed` or `OutputLimit` (past `maxMediaBytes`) naming the
 *   media object's key, `IntegrityError` when the ciphertext differs from its SHA-256 or the plaintext
 *   from its record's `media_sha256`, or the store's code.
 */
export async function exportRsmf(options: RsmfArchiveExportOptions): Promise<RsmfArchiveExport> {
	const read = await readScopeRecords(options);
	const media: RsmfMedia[] = [];
	for (const { record, source } of read.rows) {
		// media belong to the message events; updates (statuses, edits, revokes, reactions) carry none
		if (record.record_kind !== 'message' || typeof record.wamid !== 'string' || isUpdate(record)) continue;
		for (const key of source.mediaKeys) {
			media.push({ wamid: record.wamid, content: () => openMediaPlaintext(options, key) });
		}
	}
	const built = buildRsmfExport({
		records: read.rows.map((row) => row.record),
		media,
		maxEventsPerSlice: options.maxEventsPerSlice,
		sliceByDay: options.sliceByDay,
		generator: options.generator,
	});
	return { ...summary(read), slices: built.slices, eventCount: built.eventCount };
}
