/**
 * RSMF 2.0 export (Relativity Short Message Format): decrypted capture records and their media →
 * one `.rsmf` file per slice, each an RFC 5322 message with the transcript as body and rsmf.zip
 * (`rsmf_manifest.json` and the media files at its root) as its one attachment.
 */
import { createHash } from 'node:crypto';
import { Readable, Transform, pipeline, type TransformCallback } from 'node:stream';

import { labelChannels, renderTranscriptText, transcriptLine, visibleText, type TranscriptRecord } from '../transcript';
import { ArchiveError } from '../types';
import { MANIFEST_FILE_NAME } from './file-name';
import { buildRsmfManifest } from './manifest';
import { mapRecords, recordTime, type MappedAttachment, type MappedRecords } from './map-records';
import { createRsmfMessage, type RsmfAddress } from './message';
import { sliceEvents, type EventSlice } from './slice';
import { createZipStream, type ZipEntrySource } from './zip';
import {
	DEFAULT_RSMF_GENERATOR,
	RSMF_VERSION,
	type RsmfExport,
	type RsmfExportOptions,
	type RsmfMedia,
	type RsmfMediaSource,
	type RsmfSlice,
} from './types';

/** Top-level domain reserved for names that must never resolve (RFC 2606 §2): synthetic addresses and Message-IDs. */
const DOMAIN = 'whatsapp.invalid';

function sha256(text: string): string {
	return createHash('sha256').update(text, 'utf8').digest('hex');
}

/** A source as a Node stream; a buffer is one chunk (Readable.from would iterate its octets). */
function toReadable(source: RsmfMediaSource): Readable {
	if (source instanceof Readable) return source;
	if (source instanceof Uint8Array) return Readable.from([Buffer.from(source.buffer, source.byteOffset, source.byteLength)]);
	if (source && typeof (source as AsyncIterable<Uint8Array>)[Symbol.asyncIterator] === 'function') return Readable.from(source);
	throw new TypeError('not a buffer, a stream or an async iterable');
}

/** Counts and hashes the bytes going through; at the end checks them against the record's `media_sha256`. */
class MeasuredMedia extends Transform {
	private size = 0;
	private readonly hash = createHash('sha256');

	constructor(
		private readonly index: number,
		private readonly attachment: MappedAttachment,
		private readonly sizes: Map<number, number>,
	) {
		super();
	}

	override _transform(chunk: Buffer, _encoding: BufferEncoding, callback: TransformCallback): void {
		this.size += chunk.length;
		this.hash.update(chunk);
		callback(null, chunk);
	}

	override _flush(callback: TransformCallback): void {
		const digest = this.hash.digest('hex');
		if (this.attachment.sha256 && digest !== this.attachment.sha256) {
			callback(
				new ArchiveError(`media[${this.index}] does not match the media_sha256 of its record: give the decrypted file of that message`, {
					code: 'IntegrityError',
				}),
			);
			return;
		}
		this.sizes.set(this.index, this.size);
		callback();
	}
}

/** Streams given as media content that a zip has started to read: a stream can be read once. */
const readStreams = new WeakSet<object>();

/** Opens one media file for the zip, measured. */
async function openMedia(file: RsmfMedia, attachment: MappedAttachment, sizes: Map<number, number>): Promise<Readable> {
	const index = attachment.mediaIndex;
	if (typeof file.content === 'object' && !(file.content instanceof Uint8Array)) {
		if (readStreams.has(file.content)) {
			throw new ArchiveError(`media[${index}].content is a stream that a zip of this export has read already (a stream can be read once): give a function that opens it`, {
				code: 'InvalidInput',
			});
		}
		readStreams.add(file.content);
	}
	let source: Readable;
	try {
		source = toReadable(typeof file.content === 'function' ? await file.content() : file.content);
	} catch (error) {
		// the opener's own error (e.g. a store or decryption error naming its object) is kept as it is
		if (error instanceof ArchiveError) throw error;
		throw new ArchiveError(`media[${index}].content could not be opened: ${error instanceof Error ? error.message : String(error)}`, {
			code: 'InvalidInput',
			cause: error,
		});
	}
	const measured = new MeasuredMedia(index, attachment, sizes);
	pipeline(source, measured, () => {
		// an error reaches the zip through `measured`
	});
	return measured;
}

/** A synthetic address for a participant: its account id (or participant id) at {@link DOMAIN}. */
function address(name: string, local: string): RsmfAddress {
	const safeLocal = local.replace(/[^A-Za-z0-9._-]+/g, '-').replace(/^[.-]+|[.-]+$/g, '') || 'participant';
	return { name: visibleText(name), address: `${safeLocal}@${DOMAIN}` };
}

/** Records of a slice in transcript order: time, then idempotency key. */
function sliceRecords(slice: EventSlice): TranscriptRecord[] {
	return slice.events
		.flatMap((event) => event.records)
		.map((record) => ({ record, time: recordTime(record) ?? '\uffff', key: String(record.idempotency_key ?? '') }))
		.sort((a, b) => (a.time !== b.time ? (a.time < b.time ? -1 : 1) : a.key < b.key ? -1 : a.key > b.key ? 1 : 0))
		.map((x) => x.record);
}

/** Builds the {@link RsmfSlice} of one slice. */
function sliceFile(slice: EventSlice, mapped: MappedRecords, media: ReadonlyArray<RsmfMedia>, eventCollectionId: string, generator: string): RsmfSlice {
	const { conversation } = slice.conversation;
	const participantDisplay = (id: string) => mapped.participants.get(id)?.display ?? id;
	const custodian = conversation.custodian!;
	const others = conversation.participants.filter((id) => id !== custodian);
	const times = slice.events.map((e) => e.time).filter((t): t is string => t !== null);
	const beginDate = times[0] ?? new Date(0).toISOString();
	const endDate = times[times.length - 1] ?? beginDate;
	const attachments = slice.events.flatMap((e) => e.attachments);
	const records = sliceRecords(slice);
	const recordKeys = records.map((r) => String(r.idempotency_key ?? '')).sort();
	const messageId = `<rsmf.${sha256([eventCollectionId, slice.part, ...recordKeys].join('\n')).slice(0, 40)}@${DOMAIN}>`;

	const mediaOf = new Map<TranscriptRecord, string[]>();
	for (const event of slice.events) if (event.attachments.length) mediaOf.set(event.records[0], event.attachments.map((a) => a.id));
	const personName = others.length === 1 ? participantDisplay(others[0]) : null;
	const lines = labelChannels(
		records.map((record) => {
			const named = personName && record.counterparty ? { ...record, counterparty: { ...record.counterparty, name: personName } } : record;
			return transcriptLine(named, mediaOf.get(record) ?? []);
		}),
		records,
	);
	const beginDay = beginDate.slice(0, 10);
	const endDay = endDate.slice(0, 10);
	const partText = slice.parts > 1 ? `part ${slice.part} of ${slice.parts}` : '';
	const transcript = renderTranscriptText(
		{
			title: 'WhatsApp conversation (RSMF 2.0 export)',
			facts: [
				['Conversation', conversation.display ?? conversation.id],
				['Custodian', participantDisplay(custodian)],
				['Participants', conversation.participants.map(participantDisplay).join(', ')],
				['Period (UTC)', `${beginDate} to ${endDate}`],
				['Events', `${slice.events.length} (from ${records.length} records)`],
				['Attachments', `${attachments.length} (in rsmf.zip)`],
				['Part', `${slice.part} of ${slice.parts}`],
				['Event collection ID', eventCollectionId],
			],
		},
		lines,
	);
	const headers: Array<[string, string]> = [
		['X-RSMF-Version', RSMF_VERSION],
		['X-RSMF-Generator', generator],
		['X-RSMF-Application', 'WhatsApp'],
		['X-RSMF-Custodian', visibleText(participantDisplay(custodian))],
		['X-RSMF-Participants', visibleText(conversation.participants.map(participantDisplay).join(', '))],
		['X-RSMF-BeginDate', beginDate],
		['X-RSMF-EndDate', endDate],
		['X-RSMF-EventCount', String(slice.events.length)],
		['X-RSMF-AttachmentCount', String(attachments.length)],
		['X-RSMF-EventCollectionID', eventCollectionId],
	];

	const createZip = (): Readable => {
		const sizes = new Map<number, number>();
		const entries: ZipEntrySource[] = attachments.map((attachment) => ({
			name: attachment.id,
			open: () => openMedia(media[attachment.mediaIndex], attachment, sizes),
		}));
		entries.push({
			name: MANIFEST_FILE_NAME,
			// last: by then every media file has been measured
			open: () => {
				const manifest = buildRsmfManifest({ slice, participants: mapped.participants, sizes, eventCollectionId });
				return Readable.from([Buffer.from(JSON.stringify(manifest, null, 2) + '\n', 'utf8')]);
			},
		});
		return createZipStream(entries);
	};

	return {
		fileName: `${conversation.id}-${beginDay}-${String(slice.part).padStart(3, '0')}.rsmf`,
		conversationId: conversation.id,
		part: slice.part,
		parts: slice.parts,
		eventCollectionId,
		eventCount: slice.events.length,
		attachmentCount: attachments.length,
		beginDate,
		endDate,
		messageId,
		transcript,
		createZipStream: createZip,
		createRsmfStream: () =>
			createRsmfMessage({
				from: address(participantDisplay(custodian), mapped.participants.get(custodian)?.account_id ?? custodian),
				to: others.map((id) => address(participantDisplay(id), mapped.participants.get(id)?.account_id ?? id)),
				subject: visibleText(`${conversation.display ?? conversation.id}, ${beginDay}${endDay !== beginDay ? ` to ${endDay}` : ''}${partText ? `, ${partText}` : ''}`),
				date: new Date(beginDate),
				messageId,
				headers,
				text: transcript,
				zip: createZip(),
				baseBoundary: sha256(`${messageId}\n${transcript}`).slice(0, 32),
			}),
	};
}

/**
 * Builds the RSMF export of decrypted capture records and their media:
 *
 * 1. records are ordered by time, wamid and idempotency key and mapped to participants (the business
 *    number is the custodian; a person's phone number, BSUID and username are one participant),
 *    `direct` conversations and events (docs/rsmf.md has the mapping);
 * 2. each conversation's events are sliced ({@link RsmfExportOptions.maxEventsPerSlice}, and by UTC
 *    day with `sliceByDay`);
 * 3. each slice is returned with its facts and two stream factories: the `.rsmf` message and its
 *    rsmf.zip. Nothing is read until a stream is consumed; media are then read one at a time.
 *
 * The same records and media bytes give byte-identical files: ids, names, Date, Message-ID and MIME
 * boundaries come from the records, zip entries have a fixed time and mode.
 *
 * @throws ArchiveError `InvalidInput` for input that is not records, a bad `maxEventsPerSlice`, a
 *   media file that matches no message record (the streams fail with `IntegrityError` when a media
 *   file does not match its record's `media_sha256`, with `InvalidInput` when it cannot be opened).
 */
export function buildRsmfExport(options: RsmfExportOptions): RsmfExport {
	if (!Array.isArray(options?.records)) {
		throw new ArchiveError('records must be an array of decrypted capture records', { code: 'InvalidInput' });
	}
	const media = options.media ?? [];
	if (!Array.isArray(media)) {
		throw new ArchiveError('media must be an array of { wamid, fileName?, mimeType?, content }', { code: 'InvalidInput' });
	}
	const generator = visibleText(String(options.generator ?? DEFAULT_RSMF_GENERATOR)).slice(0, 200).trim() || DEFAULT_RSMF_GENERATOR;
	const mapped = mapRecords(options.records, media);
	const slices = sliceEvents(mapped.conversations, options);
	const collectionIds = new Map(
		mapped.conversations.map((c) => {
			const keys = c.events.flatMap((e) => e.records.map((r) => String(r.idempotency_key ?? ''))).sort();
			return [c, `whatsapp-${sha256(keys.join('\n')).slice(0, 32)}`];
		}),
	);
	return {
		slices: slices.map((slice) => sliceFile(slice, mapped, media, collectionIds.get(slice.conversation)!, generator)),
		eventCount: slices.reduce((sum, s) => sum + s.events.length, 0),
		recordCount: mapped.recordCount,
	};
}
