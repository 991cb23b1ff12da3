/**
 * Types of the RSMF export: the manifest as Relativity's schema 2.0.0 defines it
 * (`schema/rsmf_schema_2_0_0.json`, property names as there), and the options and results of
 * {@link buildRsmfExport}.
 */
import type { Readable } from 'node:stream';

/** `version` of every manifest and the `X-RSMF-Version` header. */
export const RSMF_VERSION = '2.0.0' as const;

/** Default of `maxEventsPerSlice`: Relativity recommends at most 10,000 events per RSMF file. */
export const DEFAULT_MAX_EVENTS_PER_SLICE = 10_000;

/** Default `X-RSMF-Generator`. */
export const DEFAULT_RSMF_GENERATOR = 'n8n-nodes-chat-archive';

/** A name/value pair of a `custom` array (both at least one character). */
export interface RsmfCustomProperty {
	name: string;
	value: string;
}

/** `participants[]`: someone who took part in at least one event of the manifest. */
export interface RsmfParticipant {
	id: string;
	display?: string;
	account_id?: string;
	custom?: RsmfCustomProperty[];
}

/** `conversations[]`: the events of one platform between the same participants. */
export interface RsmfConversation {
	id: string;
	display?: string;
	platform: string;
	type?: 'direct' | 'channel';
	participants: string[];
	custodian?: string;
	custom?: RsmfCustomProperty[];
}

/** `events[].reactions[]`. */
export interface RsmfReaction {
	value: string;
	count?: number;
	participants?: string[];
}

/** `events[].attachments[]`: `id` is the file's name at the root of rsmf.zip. */
export interface RsmfAttachment {
	id: string;
	display?: string;
	size?: number;
}

/** `events[].edits[]`. */
export interface RsmfEdit {
	participant: string;
	timestamp?: string;
	previous?: string;
	new?: string;
}

/** `events[].read_receipts[]`. */
export interface RsmfReadReceipt {
	participant: string;
	timestamp?: string;
	action?: 'read' | 'delivered';
}

/** `events[]`: one short-message event. */
export interface RsmfEvent {
	id?: string;
	type: 'message' | 'disclaimer' | 'join' | 'leave' | 'history' | 'unknown';
	parent?: string;
	body?: string;
	participant?: string;
	conversation?: string;
	timestamp?: string;
	deleted?: boolean;
	importance?: 'normal' | 'high';
	reactions?: RsmfReaction[];
	attachments?: RsmfAttachment[];
	edits?: RsmfEdit[];
	custom?: RsmfCustomProperty[];
	direction?: 'incoming' | 'outgoing';
	read_receipts?: RsmfReadReceipt[];
}

/** `rsmf_manifest.json`. */
export interface RsmfManifest {
	version: typeof RSMF_VERSION;
	participants: RsmfParticipant[];
	conversations: RsmfConversation[];
	events: RsmfEvent[];
	eventcollectionid?: string;
}

/**
 * The bytes of one media file: a buffer, a Node stream, an async iterable of chunks, or a function
 * that opens one of these. The function is called only when the zip reaches the file, so a slice with
 * many media holds one open source at a time (e.g. one S3 GetObject being decrypted).
 */
export type RsmfMediaSource = Uint8Array | Readable | AsyncIterable<Uint8Array>;
export type RsmfMediaContent = RsmfMediaSource | (() => RsmfMediaSource | Promise<RsmfMediaSource>);

/** One decrypted media file of a message record. */
export interface RsmfMedia {
	/** `wamid` of the message record the file belongs to. */
	wamid: string;
	/** Original file name (a document's `filename`); sanitized before use. Default: the record's `content.filename`, else `<type>-<time>.<ext>`. */
	fileName?: string | null;
	/** MIME type; default the record's `media_mime_type`, else `content.mime_type`. Gives the extension of a name without one. */
	mimeType?: string | null;
	content: RsmfMediaContent;
}

/** Options of {@link buildRsmfExport}. */
export interface RsmfExportOptions {
	/** Decrypted capture records (docs/FORMAT.md), any order: they are ordered by time, wamid, idempotency key. */
	records: ReadonlyArray<object>;
	/** The media files of message records. */
	media?: ReadonlyArray<RsmfMedia>;
	/** Most events in one `.rsmf` file (default {@link DEFAULT_MAX_EVENTS_PER_SLICE}). */
	maxEventsPerSlice?: number;
	/** Start a new `.rsmf` file at each UTC day (default false). */
	sliceByDay?: boolean;
	/** `X-RSMF-Generator` (default {@link DEFAULT_RSMF_GENERATOR}); e.g. with the package version. */
	generator?: string;
}

/** One `.rsmf` file: one conversation, up to `maxEventsPerSlice` events (and one UTC day when asked). */
export interface RsmfSlice {
	/** `<conversation id>-<yyyy-mm-dd>-<nnn>.rsmf`: no phone number, name or message id in it. */
	fileName: string;
	/** Manifest id of the conversation (`C1`, `C2`…). */
	conversationId: string;
	/** 1-based position among the slices of its conversation. */
	part: number;
	/** Number of slices of its conversation. */
	parts: number;
	/** `X-RSMF-EventCollectionID`: the same for every slice of a conversation. */
	eventCollectionId: string;
	eventCount: number;
	attachmentCount: number;
	/** Time of the first and the last event, ISO 8601 UTC. */
	beginDate: string;
	endDate: string;
	/** `Message-ID` of the `.rsmf` message (from the records). */
	messageId: string;
	/** The plain-text transcript that is the message body. */
	transcript: string;
	/**
	 * The `.rsmf` file (RFC 5322, `message/rfc822`), streamed: media are read one at a time as the
	 * stream is consumed. Call once per slice: media streams can be read only once.
	 */
	createRsmfStream(): Readable;
	/** `rsmf.zip` alone (the attachment of the `.rsmf` file), streamed the same way. */
	createZipStream(): Readable;
}

/** Result of {@link buildRsmfExport}. */
export interface RsmfExport {
	slices: RsmfSlice[];
	/** Events in all slices. */
	eventCount: number;
	/** Records turned into events, or folded into the event they update (statuses, edits, revokes, reactions). */
	recordCount: number;
}
