/**
 * The JSONL export with readable transcripts and media, streamed: any number of records in bounded
 * memory, every output file a stream.
 */
import { Readable } from 'node:stream';

import { forEachLimit } from '../s3';
import {
	compareRecordOrder,
	countRecord,
	DEFAULT_EXPORT_CONCURRENCY,
	emptyCounts,
	listScope,
	readRecord,
	recordOrder,
	type ExportOptions,
	type ExportSource,
	type ExportSummary,
	type RecordOrder,
	type ScopeListing,
} from './export';
import { checkedMedia, isRecordMedia, openMediaPlaintext, recordMediaSha256 } from './export-media';
import { RecordSpool, type SpoolEntry } from './export-spool';
import { mediaFileName, uniqueFileName } from './rsmf/file-name';
import { createZipStream } from './rsmf/zip';
import {
	channelName,
	renderTranscriptHtmlLine,
	renderTranscriptHtmlStart,
	renderTranscriptTextHeader,
	renderTranscriptTextLine,
	TRANSCRIPT_HTML_END,
	transcriptLine,
	type TranscriptHeader,
	type TranscriptLine,
	type TranscriptPerson,
	type TranscriptRecord,
} from './transcript';

/** Options of {@link exportConversation}. `maxRecords` and `maxExportBytes` do not apply: nothing grows with the export but its keys. */
export interface ConversationExportOptions extends ExportOptions {
	/** Export time shown in the transcript header (default now). */
	now?: Date;
}

/** One media file of the export. */
export interface ExportMediaFile {
	/** Its path in the export: `media/<name>`, inside media.zip and in the `media_file` of its record's JSONL line. */
	path: string;
	/** The archived (encrypted) media object. */
	key: string;
	/** The object key of its record. */
	recordKey: string;
}

/** Result of {@link exportConversation}: the summary, and the files as streams. */
export interface ConversationExport extends ExportSummary {
	/** The media files in record order (paths hold the senders' file names: plaintext, not for logs). */
	mediaFiles: ExportMediaFile[];
	/** `export.jsonl`: one record per line, compact JSON, UTF-8 (`application/x-ndjson`), in record order. */
	createJsonlStream(): Readable;
	/** `transcript.txt`: plain-text transcript, UTF-8. */
	createTranscriptTextStream(): Readable;
	/** `transcript.html`: HTML transcript, UTF-8, self-contained. */
	createTranscriptHtmlStream(): Readable;
	/**
	 * `media.zip`: every media file under `media/`, decrypted one at a time as the zip reaches it; null
	 * when the export has none. Fails with the errors of the media (see {@link exportConversation}).
	 */
	createMediaZipStream(): Readable | null;
	/** Deletes the encrypted spool: call once every stream has been read (or given up). */
	dispose(): Promise<void>;
}

/** A record in the spool: its order, where it lies, where it came from, its media's names. */
interface SpooledRecord extends RecordOrder {
	entry: SpoolEntry;
	source: ExportSource;
	/** The record's media files (`mediaFileName` of rsmf/file-name.ts), before they are made unique. */
	mediaNames: string[];
	/** The record's `media_sha256`, which its `.media.pgp` object must match. */
	mediaSha256: string | null;
	/** Paths of its media in the export, once ordered. */
	mediaPaths?: string[];
}

/** The earliest record (in export order) a value was seen in. */
class FirstSeen {
	private readonly seen = new Map<string, RecordOrder>();

	add(value: string, order: RecordOrder): void {
		const known = this.seen.get(value);
		if (!known || compareRecordOrder(order, known) < 0) this.seen.set(value, order);
	}

	/** The values in the order they were first seen. */
	values(): string[] {
		return [...this.seen.entries()].sort((a, b) => compareRecordOrder(a[1], b[1])).map(([value]) => value);
	}
}

/**
 * Profile names by person id (`wa_id`, `user_id`) of counterparties and group members: statuses carry
 * none, the messages do. The earliest name in export order wins.
 */
class KnownNames {
	private readonly byId = new Map<string, { name: string; order: RecordOrder }>();

	learn(record: TranscriptRecord, order: RecordOrder): void {
		for (const person of [record.counterparty, record.participant]) {
			if (!person?.name) continue;
			for (const id of [person.wa_id, person.user_id]) {
				if (!id) continue;
				const known = this.byId.get(id);
				if (!known || compareRecordOrder(order, known.order) < 0) this.byId.set(id, { name: person.name, order });
			}
		}
	}

	/** The person with the name known for their id when they have none. */
	person<T extends TranscriptPerson>(person: T | null | undefined): T | null | undefined {
		if (!person || person.name) return person;
		const name = this.byId.get(person.wa_id ?? '')?.name ?? this.byId.get(person.user_id ?? '')?.name;
		return name ? { ...person, name } : person;
	}

	/** The record with the names known for its counterparty and its group member. */
	named(record: TranscriptRecord): TranscriptRecord {
		const counterparty = this.person(record.counterparty);
		const participant = this.person(record.participant);
		return counterparty === record.counterparty && participant === record.participant ? record : { ...record, counterparty, participant };
	}
}

/**
 * The members of a group conversation (every record's `participant`: who wrote in it or was reached),
 * by number or user id, else by name; a member's latest record in export order gives their entry.
 */
class Participants {
	private readonly byId = new Map<string, { person: TranscriptPerson; order: RecordOrder }>();

	add(person: TranscriptPerson | null | undefined, order: RecordOrder): void {
		const id = participantId(person);
		if (!person || !(id || person.name)) return;
		const key = id || person.name!;
		const known = this.byId.get(key);
		if (!known || compareRecordOrder(order, known.order) > 0) {
			this.byId.set(key, { person: { wa_id: person.wa_id, user_id: person.user_id, name: person.name }, order });
		}
	}

	get size(): number {
		return this.byId.size;
	}

	/** `name (number)`, else the name or the number, with the names known from other records; sorted. */
	displays(knownNames: KnownNames): string[] {
		return [...this.byId.values()]
			.map(({ person }) => {
				const named = knownNames.person(person)!;
				const id = participantId(named);
				return named.name && id ? `${named.name} (${id})` : named.name || id;
			})
			.sort();
	}
}

/** A group member's number (`+<wa_id>`), else user id, else empty. */
function participantId(person: TranscriptPerson | null | undefined): string {
	return person?.wa_id ? `+${person.wa_id}` : (person?.user_id ?? '');
}

/** Records read back from the spool per batch: reads in flight while a batch is written out. */
const READ_BATCH = 64;

/** Bytes gathered before a chunk is handed to the reader of a file. */
const CHUNK_BYTES = 64 * 1024;

/** The spooled records in export order, read back in batches. */
async function* spooled(spool: RecordSpool, rows: SpooledRecord[]): AsyncGenerator<{ row: SpooledRecord; text: string }> {
	for (let start = 0; start < rows.length; start += READ_BATCH) {
		const batch = rows.slice(start, start + READ_BATCH);
		const texts = await Promise.all(batch.map(async (row) => await spool.read(row.entry)));
		for (let i = 0; i < batch.length; i++) yield { row: batch[i], text: texts[i] };
	}
}

/** A byte stream of `pieces` (strings), in chunks of about {@link CHUNK_BYTES}. */
function textStream(pieces: () => AsyncGenerator<string>): Readable {
	async function* chunks(): AsyncGenerator<Buffer> {
		let pending: string[] = [];
		let length = 0;
		for await (const piece of pieces()) {
			pending.push(piece);
			length += piece.length;
			if (length >= CHUNK_BYTES) {
				yield Buffer.from(pending.join(''), 'utf8');
				pending = [];
				length = 0;
			}
		}
		if (pending.length) yield Buffer.from(pending.join(''), 'utf8');
	}
	return Readable.from(chunks(), { objectMode: false });
}

/** The records of a scope in the spool, with what the transcripts' header needs. */
interface SpooledRecords {
	/** In the order they arrived. */
	rows: SpooledRecord[];
	counts: ExportSummary['counts'];
	names: FirstSeen;
	businessNumbers: FirstSeen;
	knownNames: KnownNames;
	participants: Participants;
	/** Display names of the records' channels ({@link channelName}). */
	channels: Set<string>;
}

/**
 * Reads the listed records `concurrency` at a time (`readRecord`) and appends each to `spool` as it
 * arrives, keeping its order fields, source and media names. A function of its own so that the
 * listing (every key as listed) is not kept alive by the export's streams.
 */
async function spoolRecords(options: ConversationExportOptions, listing: ScopeListing, spool: RecordSpool): Promise<SpooledRecords> {
	const read: SpooledRecords = {
		rows: [],
		counts: emptyCounts(),
		names: new FirstSeen(),
		businessNumbers: new FirstSeen(),
		knownNames: new KnownNames(),
		participants: new Participants(),
		channels: new Set(),
	};
	const text = (value: unknown) => (typeof value === 'string' ? value : '');
	await forEachLimit(listing.records, options.concurrency ?? DEFAULT_EXPORT_CONCURRENCY, async (object) => {
		const { record, source } = await readRecord(options, object, listing.mediaKeys(object));
		if (options.includeStatuses === false && record.record_kind === 'status') return;
		const order = recordOrder(record, source.key);
		const entry = await spool.append(JSON.stringify(record));
		const content = (record.content && typeof record.content === 'object' ? record.content : {}) as Record<string, unknown>;
		const mediaNames = source.mediaKeys.map(() =>
			mediaFileName({
				fileName: text(content.filename),
				type: text(record.type) || 'media',
				time: order.time.startsWith('9999') ? null : order.time,
				mimeType: text(record.media_mime_type) || text(content.mime_type),
			}),
		);
		read.rows.push({ ...order, entry, source, mediaNames, mediaSha256: recordMediaSha256(record) });
		countRecord(read.counts, record, source.mediaKeys.length);
		const transcript = record as TranscriptRecord;
		read.knownNames.learn(transcript, order);
		if (transcript.counterparty?.name) read.names.add(transcript.counterparty.name, order);
		read.participants.add(transcript.participant, order);
		read.channels.add(channelName(transcript));
		const business = record.display_phone_number ?? record.phone_number_id ?? record.account_id;
		if (business) read.businessNumbers.add(String(business), order);
	});
	return read;
}

/**
 * Exports the records of a scope (one person, or a custodian's business number in a date range) as
 * JSONL, transcripts and media, with bounded memory whatever the number of records:
 *
 * 1. the scope's objects are listed (`listScope` of export.ts: keys only);
 * 2. the records are fetched, checked and decrypted `concurrency` at a time (`readRecord`), and each is
 *    appended as it arrives to an encrypted temporary spool (export-spool.ts: AES-256-GCM under a key
 *    held only in memory, never plaintext on disk), keeping in memory only its order fields (time,
 *    wamid, key), its source and its media's names; listing order is not time order (keys sort by
 *    class, business number, day, pseudonym and a record HMAC, and the day is the filing day), so the
 *    order is taken after every record is in: time (`timestamp`, else `received_at`, UTC), then wamid,
 *    then key;
 * 3. the files are streams that read the spool back in that order, each on its own, so they may be
 *    read one after the other or all at once: `export.jsonl` (each record as compact JSON; a record with
 *    archived media gets `media_file`, the path of its media in the export, and `media_files` when it
 *    has more than one), `transcript.txt` and `transcript.html` (the header's counts, period and names
 *    are known before the first line), and `media.zip` (every media object fetched and decrypted with
 *    `decryptToSpool` of lib/pgp as the zip reaches it, one at a time, and checked against its record's
 *    `media_sha256`).
 *
 * Media names are the senders' file names made safe (`mediaFileName`, as in RSMF), unique in the
 * export, in record order. Call `dispose()` when done with the streams.
 *
 * @throws ArchiveError `InvalidInput` (no counterparty, an incomplete custodian scope, no keys, bad
 *   filter), `OutputLimit` (a record past `maxRecordBytes`, e.g. a compression bomb),
 *   `DecryptionFailed` (names the object key and the OpenPGP reason, never plaintext), `NotARecord` (a
 *   decrypted object that is not a JSON record), `IntegrityError` (ciphertext differs from its
 *   SHA-256), or the store's code. The media.zip stream fails with `DecryptionFailed` or `OutputLimit`
 *   (past `maxMediaBytes`) naming the media object's key, `IntegrityError` when a media file differs
 *   from its ciphertext's SHA-256 or its record's `media_sha256`, or the store's code.
 */
export async function exportConversation(options: ConversationExportOptions): Promise<ConversationExport> {
	const listing = await listScope(options);
	const { scope, pseudonym, pseudonyms } = listing;
	const spool = await RecordSpool.create(options.tempDirectory);
	let read: SpooledRecords;
	try {
		read = await spoolRecords(options, listing, spool);
	} catch (error) {
		await spool.dispose();
		throw error;
	}
	const { rows, counts, names, businessNumbers, knownNames, participants } = read;
	const channels = [...read.channels].sort();
	rows.sort(compareRecordOrder);

	const taken = new Set<string>();
	const mediaFiles: ExportMediaFile[] = [];
	const mediaChecks = new Map<string, string | null>();
	for (const row of rows) {
		if (!row.source.mediaKeys.length) continue;
		row.mediaPaths = row.source.mediaKeys.map((key, i) => {
			const path = `media/${uniqueFileName(row.mediaNames[i], taken)}`;
			mediaFiles.push({ path, key, recordKey: row.source.key });
			mediaChecks.set(key, isRecordMedia(key) ? row.mediaSha256 : null);
			return path;
		});
	}

	const period = { first: rows.length ? rows[0].time : null, last: rows.length ? rows[rows.length - 1].time : null };
	const who: Array<[string, string]> =
		scope === 'custodian'
			? [['Custodian (phone number ID)', options.phoneNumberId!.trim()]]
			: [
					['Counterparty', [options.person?.trim() || options.phoneNumber?.trim(), ...names.values()].filter(Boolean).join(' / ') || `pseudonym ${pseudonym}`],
					['Counterparty pseudonym', pseudonyms.length > 1 ? pseudonyms.join(', ') : pseudonym!],
				];
	const header: TranscriptHeader = {
		title: `${channels.length > 1 ? 'Multi-channel' : (channels[0] ?? 'WhatsApp')} ${scope === 'custodian' ? 'custodian export' : 'conversation export'}`,
		facts: [
			...who,
			...(channels.length > 1 ? [['Channels', channels.join(', ')] as [string, string]] : []),
			...(participants.size ? [['Participants', participants.displays(knownNames).join(', ')] as [string, string]] : []),
			['Business number(s)', businessNumbers.values().join(', ') || '-'],
			['Period (UTC)', period.first ? `${period.first} to ${period.last}` : '-'],
			['Records', `${counts.records} (messages ${counts.messages}, statuses ${counts.statuses}, other ${counts.other})`],
			['Media files', mediaFiles.length ? `${mediaFiles.length} (media.zip)` : '0'],
			['Bucket / prefix', `${options.bucket} / ${options.prefix}`],
			['Exported at (UTC)', (options.now ?? new Date()).toISOString()],
		],
	};
	// a transcript that mixes channels names the channel on every line (as labelChannels of transcript.ts)
	const lines = async function* (render: (line: TranscriptLine) => string): AsyncGenerator<string> {
		for await (const { row, text } of spooled(spool, rows)) {
			const record = knownNames.named(JSON.parse(text) as TranscriptRecord);
			const line = transcriptLine(record, row.mediaPaths ?? []);
			yield render(channels.length > 1 ? { ...line, channel: channelName(record) } : line);
		}
	};

	return {
		scope,
		pseudonym,
		pseudonyms,
		sources: rows.map((row) => row.source),
		counts,
		period,
		mediaFiles,
		createJsonlStream: () =>
			textStream(async function* () {
				for await (const { row, text } of spooled(spool, rows)) {
					if (!row.mediaPaths) {
						yield text + '\n';
						continue;
					}
					const record = JSON.parse(text) as Record<string, unknown>;
					record.media_file = row.mediaPaths[0];
					if (row.mediaPaths.length > 1) record.media_files = row.mediaPaths;
					yield JSON.stringify(record) + '\n';
				}
			}),
		createTranscriptTextStream: () =>
			textStream(async function* () {
				yield renderTranscriptTextHeader(header);
				yield* lines(renderTranscriptTextLine);
			}),
		createTranscriptHtmlStream: () =>
			textStream(async function* () {
				yield renderTranscriptHtmlStart(header);
				yield* lines(renderTranscriptHtmlLine);
				yield TRANSCRIPT_HTML_END;
			}),
		createMediaZipStream: () =>
			mediaFiles.length
				? createZipStream(
						mediaFiles.map((file) => ({
							name: file.path,
							open: async () => checkedMedia(await openMediaPlaintext(options, file.key), mediaChecks.get(file.key) ?? null, file.key),
						})),
					)
				: null,
		dispose: async () => await spool.dispose(),
	};
}
