import type { Readable } from 'node:stream';
import type { S3Client } from '@aws-sdk/client-s3';

import { decrypt, decryptToSpool, DEFAULT_MAX_COMPRESSION_RATIO, DEFAULT_MAX_DECRYPTED_BYTES, PgpError, type PrivateKey } from '../pgp';
import { mapLimit, readAll } from '../s3';
import { getObject } from './get';
import { identifierPseudonyms, phoneNumberPseudonyms, resolveIdentity } from './identity';
import { assertPhoneNumberIdFilter } from './layout';
import { listObjects, type ListedObject } from './list';
import { buildRsmfExport, isUpdate, type RsmfMedia, type RsmfSlice } from './rsmf';
import { channelName, labelChannels, renderTranscriptHtml, renderTranscriptText, transcriptLine, type TranscriptHeader, type TranscriptPerson, type TranscriptRecord } from './transcript';
import { ArchiveError } from './types';

/**
 * Export (eDiscovery) of a scope of the archive: one person's conversations (any of their
 * identifiers, optionally one business number and a date range), or a custodian's: every
 * conversation of one business phone number in a date range. Two outputs of the same records:
 * - {@link exportConversation}: JSONL plus readable transcripts, built in memory;
 * - {@link exportRsmf}: RSMF 2.0 files (rsmf/), whose media are fetched and decrypted only when a
 *   file's stream reaches them.
 * Nothing is written, logged or cached; plaintext reaches only the returned buffers and streams.
 */

/**
 * What an export covers: `person` (one counterparty: `person`, `phoneNumber` or `pseudonym`) or
 * `custodian` (every conversation of the business number `phoneNumberId` from `from` to `to`).
 */
export type ExportScope = 'person' | 'custodian';

/** Options of {@link exportConversation}. */
export interface ExportOptions {
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
	/** Refuse exports of more records than this (default 50 000): the export lives in memory. */
	maxRecords?: number;
	/**
	 * Largest plaintext of one record, in bytes (default {@link DEFAULT_MAX_RECORD_BYTES}): its
	 * decryption stops as soon as it passes (lib/pgp `maxDecryptedBytes`), and a larger object is not read.
	 */
	maxRecordBytes?: number;
	/** Largest plaintext of all records together, in bytes (default {@link DEFAULT_MAX_EXPORT_BYTES}): the export lives in memory. */
	maxExportBytes?: number;
	/** GetObject + decrypt in flight (default 16: GET latency, not CPU, bounds an export; docs/benchmarks.md). */
	concurrency?: number;
	/** Export time shown in the transcript header (default now). */
	now?: Date;
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

/** What {@link exportConversation} and {@link exportRsmf} both return: the scope, the sources, counts and period. */
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

/** Result of {@link exportConversation}. */
export interface ExportResult extends ExportSummary {
	/** Decrypted records, ordered by time (`timestamp`, else `received_at`), then wamid, then key. */
	records: Array<Record<string, unknown>>;
	/** One record per line, compact JSON, UTF-8 (`application/x-ndjson`). */
	jsonl: Buffer;
	/** Plain-text transcript, UTF-8. */
	transcriptText: Buffer;
	/** HTML transcript, UTF-8, self-contained. */
	transcriptHtml: Buffer;
}

const MIB = 1024 * 1024;

/**
 * Default of `maxRecordBytes`. A record holds one message or status of a webhook delivery, whose
 * body Meta keeps under 3 MB (a quarantined body is kept whole, base64): KBs in practice.
 */
export const DEFAULT_MAX_RECORD_BYTES = 16 * MIB;

/** Default of `maxExportBytes`: 50 000 records (the default `maxRecords`) of a few KB each, with room. */
export const DEFAULT_MAX_EXPORT_BYTES = 256 * MIB;

/** Octets an OpenPGP message adds to its plaintext (PKESKs, packet headers, MDC, a signature), with room. */
const MESSAGE_OVERHEAD = MIB;

function sortTime(record: Record<string, unknown>): string {
	for (const field of ['timestamp', 'received_at']) {
		const value = record[field];
		if (typeof value === 'string' && !Number.isNaN(Date.parse(value))) return new Date(value).toISOString();
	}
	return '9999-12-31T23:59:59.999Z';
}

/** One decrypted record and where it came from. */
interface ExportRow {
	record: Record<string, unknown>;
	source: ExportSource;
}

/** The records of a scope, decrypted and ordered, with the scope's pseudonyms. */
interface ScopeRecords {
	scope: ExportScope;
	pseudonym: string | null;
	pseudonyms: string[];
	rows: ExportRow[];
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
 * The records of the scope, read the same way for every format:
 *
 * 1. the scope's pseudonyms ({@link scopePseudonyms}): from `person` or `phoneNumber` with `indexKey`
 *    (HMAC; every WhatsApp form of a phone number, identity.ts), or `pseudonym`, plus the linked
 *    identities (`resolveIdentity`, when `indexKey` is given); none for a custodian; the number never
 *    reaches the store;
 * 2. `listObjects` (ListObjectsV2, all pages) finds the record objects (`<record id>.pgp`) and media
 *    objects under the prefix for those pseudonyms (and phone number id, class, date range);
 * 3. each record is read (GetObject, SHA-256 checked against `x-amz-meta-sha256`), decrypted with
 *    `decrypt` of lib/pgp within `maxRecordBytes` (and all of them within `maxExportBytes`), parsed
 *    as JSON, `concurrency` at a time;
 * 4. records are ordered by time (UTC), then wamid, then key.
 */
async function readScopeRecords(options: ExportOptions): Promise<ScopeRecords> {
	const { client, bucket } = options;
	if (!options.decryptionKeys?.length) {
		throw new ArchiveError('A private key is required to decrypt the records (attach an OpenPGP Private Key credential)', {
			code: 'InvalidInput',
		});
	}
	const { scope, pseudonym, pseudonyms } = await scopePseudonyms(options);
	const maxRecords = options.maxRecords ?? 50_000;

	const recordObjects: ListedObject[] = [];
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
		const directory = object.key.slice(0, object.key.lastIndexOf('/') + 1);
		if (object.kind === 'media') {
			const id = directory + object.recordId;
			mediaByRecord.set(id, [...(mediaByRecord.get(id) ?? []), object.key]);
			continue;
		}
		recordObjects.push(object);
		if (recordObjects.length > maxRecords) {
			throw new ArchiveError(`More than ${maxRecords} records match: narrow the export by date range or phone number ID`, {
				code: 'TooManyRecords',
			});
		}
	}

	const maxRecordBytes = options.maxRecordBytes ?? DEFAULT_MAX_RECORD_BYTES;
	const maxExportBytes = options.maxExportBytes ?? DEFAULT_MAX_EXPORT_BYTES;
	let exportBytes = 0;
	const decrypted = await mapLimit(recordObjects, options.concurrency ?? 16, async (object) => {
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
				// a bomb stops the export at once: no other record is started
				throw new ArchiveError(`Record s3://${bucket}/${object.key}: ${reason}`, { code: 'OutputLimit', cause: error });
			}
			return { error: new ArchiveError(`Could not decrypt s3://${bucket}/${object.key}: ${reason}`, { code: 'DecryptionFailed', cause: error }) };
		}
		exportBytes += plaintext.length;
		if (exportBytes > maxExportBytes) {
			throw new ArchiveError(`The records of this export hold more than ${maxExportBytes / MIB} MiB of plaintext: narrow the export by date range or phone number ID`, {
				code: 'OutputLimit',
			});
		}
		let record: unknown = null;
		try {
			record = JSON.parse(Buffer.from(plaintext).toString('utf8'));
		} catch {
			record = null;
		}
		if (!record || typeof record !== 'object' || Array.isArray(record)) {
			return { error: new ArchiveError(`s3://${bucket}/${object.key} does not decrypt to a JSON record`, { code: 'NotARecord' }) };
		}
		const directory = object.key.slice(0, object.key.lastIndexOf('/') + 1);
		const source: ExportSource = {
			key: object.key,
			versionId: got.versionId,
			sha256: got.sha256,
			recordId: object.recordId,
			mediaKeys: (mediaByRecord.get(directory + object.recordId) ?? []).sort(),
		};
		return { record: record as Record<string, unknown>, source };
	});
	const failure = decrypted.find((d) => 'error' in d);
	if (failure && 'error' in failure) throw failure.error;

	let rows = decrypted as ExportRow[];
	if (options.includeStatuses === false) rows = rows.filter((row) => row.record.record_kind !== 'status');
	rows.sort((a, b) => {
		const ta = sortTime(a.record);
		const tb = sortTime(b.record);
		if (ta !== tb) return ta < tb ? -1 : 1;
		const wa = String(a.record.wamid ?? '');
		const wb = String(b.record.wamid ?? '');
		if (wa !== wb) return wa < wb ? -1 : 1;
		return a.source.key < b.source.key ? -1 : a.source.key > b.source.key ? 1 : 0;
	});
	return { scope, pseudonym, pseudonyms, rows };
}

/** The scope, sources, counts and period of the rows. */
function summary(read: ScopeRecords): ExportSummary {
	const records = read.rows.map((row) => row.record);
	const sources = read.rows.map((row) => row.source);
	return {
		scope: read.scope,
		pseudonym: read.pseudonym,
		pseudonyms: read.pseudonyms,
		sources,
		counts: {
			records: records.length,
			messages: records.filter((r) => r.record_kind === 'message').length,
			statuses: records.filter((r) => r.record_kind === 'status').length,
			other: records.filter((r) => r.record_kind !== 'message' && r.record_kind !== 'status').length,
			media: sources.reduce((sum, s) => sum + s.mediaKeys.length, 0),
		},
		period: {
			first: records.length ? sortTime(records[0]) : null,
			last: records.length ? sortTime(records[records.length - 1]) : null,
		},
	};
}

/**
 * Exports the records of a scope (one person, or a custodian's business number in a date range) as
 * JSONL and transcripts: the records are read by {@link readScopeRecords} and rendered (time UTC,
 * direction, name, type, text/caption, media object keys, status lines).
 *
 * Media files are referenced by object key, not decrypted or embedded.
 *
 * @throws ArchiveError `InvalidInput` (no counterparty, an incomplete custodian scope, no keys, bad
 *   filter), `TooManyRecords` beyond `maxRecords`, `OutputLimit` (a record past `maxRecordBytes`, e.g.
 *   a compression bomb, or all of them past `maxExportBytes`), `DecryptionFailed` (names the object
 *   key and the OpenPGP reason, never plaintext), `NotARecord` (a decrypted object that is not a JSON
 *   record), `IntegrityError` (ciphertext differs from its SHA-256), or the store's code.
 */
export async function exportConversation(options: ExportOptions): Promise<ExportResult> {
	const read = await readScopeRecords(options);
	const { rows } = read;
	const base = summary(read);
	const { counts, period } = base;
	const records = rows.map((row) => row.record);
	// statuses carry no profile name: take the one the conversation's messages carry
	const knownNames = new Map<string, string>();
	for (const record of records as TranscriptRecord[]) {
		for (const person of [record.counterparty, record.participant]) {
			if (person?.name) for (const id of [person.wa_id, person.user_id]) if (id && !knownNames.has(id)) knownNames.set(id, person.name);
		}
	}
	const named = <T extends TranscriptPerson>(person: T | null | undefined): T | null | undefined => {
		const name = person && !person.name ? (knownNames.get(person.wa_id ?? '') ?? knownNames.get(person.user_id ?? '')) : undefined;
		return name ? ({ ...person, name } as T) : person;
	};
	const lines = labelChannels(
		rows.map((row) => {
			const record = row.record as TranscriptRecord;
			return transcriptLine({ ...record, counterparty: named(record.counterparty), participant: named(record.participant) }, row.source.mediaKeys);
		}),
		records as TranscriptRecord[],
	);
	const channels = [...new Set((records as TranscriptRecord[]).map(channelName))].sort();
	const names = [...new Set(records.map((r) => (r.counterparty as TranscriptRecord['counterparty'])?.name).filter((n): n is string => Boolean(n)))];
	// a group conversation: everyone who wrote in it or was reached, by name, else number or user id
	const participants = new Map<string, string>();
	for (const record of records as TranscriptRecord[]) {
		const person = named(record.participant);
		const id = person?.wa_id ? `+${person.wa_id}` : (person?.user_id ?? '');
		if (person && (id || person.name)) participants.set(id || person.name!, person.name && id ? `${person.name} (${id})` : person.name || id);
	}
	const businessNumbers = [...new Set(records.map((r) => r.display_phone_number ?? r.phone_number_id ?? r.account_id).filter(Boolean).map(String))];
	const who: Array<[string, string]> =
		read.scope === 'custodian'
			? [['Custodian (phone number ID)', options.phoneNumberId!.trim()]]
			: [
					['Counterparty', [options.person?.trim() || options.phoneNumber?.trim(), ...names].filter(Boolean).join(' / ') || `pseudonym ${read.pseudonym}`],
					['Counterparty pseudonym', read.pseudonyms.length > 1 ? read.pseudonyms.join(', ') : read.pseudonym!],
				];
	const header: TranscriptHeader = {
		title: `${channels.length > 1 ? 'Multi-channel' : (channels[0] ?? 'WhatsApp')} ${read.scope === 'custodian' ? 'custodian export' : 'conversation export'}`,
		facts: [
			...who,
			...(channels.length > 1 ? [['Channels', channels.join(', ')] as [string, string]] : []),
			...(participants.size ? [['Participants', [...participants.values()].sort().join(', ')] as [string, string]] : []),
			['Business number(s)', businessNumbers.join(', ') || '-'],
			['Period (UTC)', period.first ? `${period.first} to ${period.last}` : '-'],
			['Records', `${counts.records} (messages ${counts.messages}, statuses ${counts.statuses}, other ${counts.other})`],
			['Bucket / prefix', `${options.bucket} / ${options.prefix}`],
			['Exported at (UTC)', (options.now ?? new Date()).toISOString()],
		],
	};
	return {
		...base,
		records,
		jsonl: Buffer.from(records.map((r) => JSON.stringify(r) + '\n').join(''), 'utf8'),
		transcriptText: Buffer.from(renderTranscriptText(header, lines), 'utf8'),
		transcriptHtml: Buffer.from(renderTranscriptHtml(header, lines), 'utf8'),
	};
}

/** Options of {@link exportRsmf}: the scope and limits of {@link ExportOptions}, and the RSMF files'. */
export interface RsmfArchiveExportOptions extends Omit<ExportOptions, 'now'> {
	/** Most events in one `.rsmf` file (default 10,000, as Relativity advises). */
	maxEventsPerSlice?: number;
	/** Start a new `.rsmf` file at each UTC day (default false). */
	sliceByDay?: boolean;
	/** `X-RSMF-Generator` (default `n8n-nodes-chat-archive`). */
	generator?: string;
	/**
	 * Largest plaintext of one media file, in bytes (default lib/pgp's `DEFAULT_MAX_DECRYPTED_BYTES`,
	 * above the capture's 100 MiB media limit): its decryption stops as soon as it passes.
	 */
	maxMediaBytes?: number;
	/** lib/pgp `maxCompressionRatio` of media decryption (default lib/pgp's). */
	maxCompressionRatio?: number;
	/** Directory of the temporary encrypted spool of the media file being decrypted (default the OS's). */
	tempDirectory?: string;
}

/** Result of {@link exportRsmf}. */
export interface RsmfArchiveExport extends ExportSummary {
	/** One per `.rsmf` file; their streams fetch and decrypt the media as the zip reaches them. */
	slices: RsmfSlice[];
	/** Events in all slices. */
	eventCount: number;
}

/** The error of a media object that could not be decrypted, named by its key, never by its content. */
function mediaError(bucket: string, key: string, error: unknown): ArchiveError {
	if (error instanceof ArchiveError) return error;
	const reason = error instanceof Error ? error.message : String(error);
	if (error instanceof PgpError && error.code === 'OUTPUT_LIMIT') {
		return new ArchiveError(`Media s3://${bucket}/${key}: ${reason}`, {
			code: 'OutputLimit',
			cause: error,
			hint: 'If the media is trusted and really this large, raise Options → Max Media Size (MB) (one media file)',
		});
	}
	return new ArchiveError(`Could not decrypt s3://${bucket}/${key}: ${reason}`, { code: 'DecryptionFailed', cause: error });
}

/**
 * Opens one media object as plaintext: GetObject (SHA-256 checked against `x-amz-meta-sha256`),
 * `decryptToSpool` of lib/pgp (bounded memory; the plaintext is released only once authenticated,
 * within `maxMediaBytes`), then a stream of the spool, deleted when the stream closes.
 */
async function openMediaPlaintext(options: RsmfArchiveExportOptions, key: string): Promise<Readable> {
	const { client, bucket } = options;
	const got = await getObject({ client, bucket, key, verify: true });
	let plaintext: Awaited<ReturnType<typeof decryptToSpool>>;
	try {
		plaintext = await decryptToSpool({
			data: got.body,
			// the one second pass (sq's ZIP packets) reads the same version again
			reread: async () => (await getObject({ client, bucket, key, versionId: got.versionId ?? undefined, verify: true })).body,
			decryptionKeys: options.decryptionKeys,
			maxDecryptedBytes: options.maxMediaBytes ?? DEFAULT_MAX_DECRYPTED_BYTES,
			maxCompressionRatio: options.maxCompressionRatio ?? DEFAULT_MAX_COMPRESSION_RATIO,
			tempDirectory: options.tempDirectory,
		});
	} catch (error) {
		got.body.destroy();
		throw mediaError(bucket, key, error);
	}
	const stream = plaintext.createReadStream();
	stream.once('close', () => void plaintext.dispose());
	return stream;
}

/**
 * Exports the records of a scope (one person, or a custodian's business number in a date range) as
 * RSMF 2.0 files (docs/rsmf.md): the records are read by {@link readScopeRecords} (in memory, within
 * `maxExportBytes`), and each message record's media objects (`<record id>.media*.pgp`) are given to
 * {@link buildRsmfExport} as functions that fetch and decrypt them ({@link openMediaPlaintext}):
 * nothing of a media file is read until a slice's stream reaches it, and then one file at a time.
 *
 * The same archived records and media give byte-identical files.
 *
 * @throws ArchiveError as {@link exportConversation}, and `InvalidInput` for a bad
 *   `maxEventsPerSlice`. A slice's stream fails with `DecryptionFailed` or `OutputLimit` (past
 *   `maxMediaBytes`) naming the media object's key, `IntegrityError` when the ciphertext differs from
 *   its SHA-256 or the plaintext from its record's `media_sha256`, or the store's code.
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
