import type { S3Client } from '@aws-sdk/client-s3';

import { decrypt, PgpError, type PrivateKey } from '../pgp';
import { mapLimit, readAll } from '../s3';
import { getObject } from './get';
import { identifierPseudonyms, phoneNumberPseudonyms, resolveIdentity } from './identity';
import { listObjects, type ListedObject } from './list';
import { renderTranscriptHtml, renderTranscriptText, transcriptLine, type TranscriptHeader, type TranscriptPerson, type TranscriptRecord } from './transcript';
import { ArchiveError } from './types';

/**
 * Export (eDiscovery): one conversation (a counterparty, optionally one business number and a date
 * range) → the decrypted records in order, as JSONL plus readable transcripts. Everything is built in
 * memory and returned to the caller; nothing is written, logged or cached.
 */

/** Options of {@link exportConversation}. */
export interface ExportOptions {
	client: S3Client;
	bucket: string;
	/** Archive prefix (as for `listObjects`). */
	prefix: string;
	/** Index key of the archive credential (turns `phoneNumber` into the key pseudonym). */
	indexKey?: string;
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
	/** Only records captured on this business phone number id. */
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

/** Result of {@link exportConversation}. */
export interface ExportResult {
	/** The pseudonym of the identifier given (its first form for a phone number). */
	pseudonym: string;
	/** Every pseudonym of the person whose records were exported (linked identities included). */
	pseudonyms: string[];
	/** Decrypted records, ordered by time (`timestamp`, else `received_at`), then wamid, then key. */
	records: Array<Record<string, unknown>>;
	/** Same order as `records`. */
	sources: ExportSource[];
	counts: { records: number; messages: number; statuses: number; other: number; media: number };
	/** First and last record time (ISO 8601), or null when empty. */
	period: { first: string | null; last: string | null };
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

/**
 * Exports one conversation:
 *
 * 1. the counterparty's pseudonyms are computed from `person` or `phoneNumber` with `indexKey` (HMAC;
 *    every WhatsApp form of a phone number, identity.ts), or `pseudonym` is used, and the linked
 *    identities are added (`resolveIdentity`, when `indexKey` is given); the number never reaches the store;
 * 2. `listObjects` (ListObjectsV2, all pages) finds the record objects (`<record id>.pgp`) and media
 *    objects under the prefix for that pseudonym (and phone number id, class, date range);
 * 3. each record is read (GetObject, SHA-256 checked against `x-amz-meta-sha256`), decrypted with
 *    `decrypt` of lib/pgp within `maxRecordBytes` (and all of them within `maxExportBytes`), parsed as JSON;
 * 4. records are ordered by time (UTC), then wamid, then key, and rendered as JSONL and transcripts
 *    (time UTC, direction, name, type, text/caption, media object keys, status lines).
 *
 * Media files are referenced by object key, not decrypted or embedded.
 *
 * @throws ArchiveError `InvalidInput` (no counterparty, no keys, bad filter), `TooManyRecords` beyond
 *   `maxRecords`, `OutputLimit` (a record past `maxRecordBytes`, e.g. a compression bomb, or all of
 *   them past `maxExportBytes`), `DecryptionFailed` (names the object key and the OpenPGP reason, never plaintext),
 *   `NotARecord` (a decrypted object that is not a JSON record), `IntegrityError` (ciphertext differs
 *   from its SHA-256), or the store's code.
 */
export async function exportConversation(options: ExportOptions): Promise<ExportResult> {
	const { client, bucket } = options;
	if (!options.decryptionKeys?.length) {
		throw new ArchiveError('A private key is required to decrypt the records (attach an OpenPGP Private Key credential)', {
			code: 'InvalidInput',
		});
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
	const maxRecords = options.maxRecords ?? 50_000;

	const recordObjects: ListedObject[] = [];
	const mediaByRecord = new Map<string, string[]>();
	for await (const object of listObjects({
		client,
		bucket,
		filter: {
			prefix: options.prefix,
			pseudonyms,
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

	let rows = decrypted as Array<{ record: Record<string, unknown>; source: ExportSource }>;
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

	const records = rows.map((row) => row.record);
	const sources = rows.map((row) => row.source);
	const counts = {
		records: records.length,
		messages: records.filter((r) => r.record_kind === 'message').length,
		statuses: records.filter((r) => r.record_kind === 'status').length,
		other: records.filter((r) => r.record_kind !== 'message' && r.record_kind !== 'status').length,
		media: sources.reduce((sum, s) => sum + s.mediaKeys.length, 0),
	};
	const period = {
		first: records.length ? sortTime(records[0]) : null,
		last: records.length ? sortTime(records[records.length - 1]) : null,
	};
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
	const lines = rows.map((row) => {
		const record = row.record as TranscriptRecord;
		return transcriptLine({ ...record, counterparty: named(record.counterparty), participant: named(record.participant) }, row.source.mediaKeys);
	});
	const names = [...new Set(records.map((r) => (r.counterparty as TranscriptRecord['counterparty'])?.name).filter((n): n is string => Boolean(n)))];
	// a group conversation: everyone who wrote in it or was reached, by name, else number or user id
	const participants = new Map<string, string>();
	for (const record of records as TranscriptRecord[]) {
		const person = named(record.participant);
		const id = person?.wa_id ? `+${person.wa_id}` : (person?.user_id ?? '');
		if (person && (id || person.name)) participants.set(id || person.name!, person.name && id ? `${person.name} (${id})` : person.name || id);
	}
	const businessNumbers = [...new Set(records.map((r) => r.display_phone_number ?? r.phone_number_id).filter(Boolean).map(String))];
	const header: TranscriptHeader = {
		title: 'WhatsApp conversation export',
		facts: [
			['Counterparty', [options.person?.trim() || options.phoneNumber?.trim(), ...names].filter(Boolean).join(' / ') || `pseudonym ${pseudonym}`],
			['Counterparty pseudonym', pseudonyms.length > 1 ? pseudonyms.join(', ') : pseudonym],
			...(participants.size ? [['Participants', [...participants.values()].sort().join(', ')] as [string, string]] : []),
			['Business number(s)', businessNumbers.join(', ') || '-'],
			['Period (UTC)', period.first ? `${period.first} to ${period.last}` : '-'],
			['Records', `${counts.records} (messages ${counts.messages}, statuses ${counts.statuses}, other ${counts.other})`],
			['Bucket / prefix', `${bucket} / ${options.prefix}`],
			['Exported at (UTC)', (options.now ?? new Date()).toISOString()],
		],
	};
	return {
		pseudonym,
		pseudonyms,
		records,
		sources,
		counts,
		period,
		jsonl: Buffer.from(records.map((r) => JSON.stringify(r) + '\n').join(''), 'utf8'),
		transcriptText: Buffer.from(renderTranscriptText(header, lines), 'utf8'),
		transcriptHtml: Buffer.from(renderTranscriptHtml(header, lines), 'utf8'),
	};
}
