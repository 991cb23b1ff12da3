/**
 * Readable transcripts of decrypted capture records (plain text and HTML), for eDiscovery exports.
 * Pure functions over records; no I/O. The output holds plaintext: it is produced for the workflow
 * only (whole, or piece by piece for a streamed export) and never logged or stored by the engine.
 */

/** The record fields a transcript reads (a capture record, docs/FORMAT.md; extra fields ignored). */
export interface TranscriptRecord {
	record_kind?: string;
	/** The record's channel (schema version 2); absent means WhatsApp. */
	channel?: string | null;
	/** The business account on a channel other than WhatsApp. */
	account_id?: string | null;
	direction?: 'inbound' | 'outbound' | null;
	type?: string;
	wamid?: string | null;
	timestamp?: string | null;
	received_at?: string | null;
	display_phone_number?: string | null;
	phone_number_id?: string | null;
	counterparty?: (TranscriptPerson & { group_id?: string | null }) | null;
	/** The group member a group record names (the sender of a group message). */
	participant?: TranscriptPerson | null;
	content?: Record<string, unknown> | null;
	context?: { reply_to?: string | null; forwarded?: boolean } | null;
	original_wamid?: string | null;
	[field: string]: unknown;
}

/** A person as a record names them. */
export interface TranscriptPerson {
	wa_id?: string | null;
	user_id?: string | null;
	name?: string | null;
}

/** One transcript line before formatting. */
export interface TranscriptLine {
	/** `yyyy-mm-dd hh:mm:ss UTC`, or `(no time)`. */
	time: string;
	/** `in` (from the counterparty), `out` (from the business), `status`, `other`. */
	kind: 'in' | 'out' | 'status' | 'other';
	/** Who: the counterparty's profile name (or number / user id), or `Business (<number>)`. */
	name: string;
	/** Record type (`text`, `image`, `delivered`…). */
	type: string;
	/** Message text, caption or a description of the content; may be empty. */
	text: string;
	/** Archived media of this record (file names in an export, object keys or attachment ids), else the provider's media id. */
	media: string[];
	/** Reply / forward / edit notes. */
	notes: string[];
	/**
	 * The channel's name ({@link channelName}) when the line is to show it: set on records of channels
	 * other than WhatsApp, and by the caller on every line of a transcript that mixes channels.
	 */
	channel?: string;
}

/** Display names of the channels (docs/FORMAT.md, "Channels"). */
const CHANNEL_NAMES: Record<string, string> = {
	whatsapp: 'WhatsApp',
	messenger: 'Messenger',
	instagram: 'Instagram',
	telegram: 'Telegram',
	sms: 'SMS',
};

/** The display name of a record's channel: `WhatsApp` when absent (schema version 1 records). */
export function channelName(record: Pick<TranscriptRecord, 'channel'>): string {
	const channel = str(record.channel) || 'whatsapp';
	return CHANNEL_NAMES[channel] ?? channel;
}

/** Header of a transcript. */
export interface TranscriptHeader {
	title: string;
	/** `label: value` pairs shown at the top (counterparty, period, counts…). */
	facts: Array<[string, string]>;
}

function str(value: unknown): string {
	return typeof value === 'string' ? value : value === null || value === undefined ? '' : String(value);
}

function utcTime(iso: string | null | undefined): string {
	if (!iso) return '(no time)';
	const date = new Date(iso);
	if (Number.isNaN(date.getTime())) return '(no time)';
	return `${date.toISOString().slice(0, 19).replace('T', ' ')} UTC`;
}

function personName(person: TranscriptPerson | null | undefined): string {
	return str(person?.name) || (person?.wa_id ? `+${person.wa_id}` : '') || str(person?.user_id) || 'Unknown';
}

/** The counterparty's name; a group's subject, else `Group <id>`. */
function counterpartyName(record: TranscriptRecord): string {
	const c = record.counterparty;
	if (c?.group_id && !c.name) return `Group ${c.group_id}`;
	return personName(c);
}

/** Who a line is about: the group member of a group record, else the counterparty. */
function whoName(record: TranscriptRecord): string {
	return record.participant ? personName(record.participant) : counterpartyName(record);
}

/**
 * Text of a record that is neither a message nor a status (calls, groups, history progress, contacts,
 * preferences, events): its kind and type, and the facts that say what happened, never message text.
 */
function describeOther(record: TranscriptRecord, type: string): string {
	const c = record.content ?? {};
	const facts: string[] = [];
	switch (record.record_kind) {
		case 'call':
			facts.push(record.direction === 'outbound' ? 'business-initiated' : 'user-initiated');
			if (c.status !== undefined) facts.push(`status ${str(c.status)}`);
			if (c.duration !== undefined) facts.push(`duration ${str(c.duration)} s`);
			break;
		case 'history_progress':
			facts.push(`phase ${str(c.phase)}`, `chunk ${str(c.chunk_order)}`, `progress ${str(c.progress)}`, `${str(c.messages)} message(s)`);
			break;
		case 'user_preference':
			facts.push(`${str(c.category)} ${type}`);
			break;
		default:
			break;
	}
	return [`${str(record.record_kind)} ${type}`.trim(), facts.filter(Boolean).join(', ')].filter(Boolean).join(': ');
}

function businessName(record: TranscriptRecord): string {
	const number = record.display_phone_number ? `+${record.display_phone_number}` : str(record.phone_number_id) || str(record.account_id);
	return number ? `Business (${number})` : 'Business';
}

/** Text of a message's content by type (text, captions, locations, reactions, replies…). */
export function describeContent(type: string, content: Record<string, unknown> | null | undefined): string {
	const c = content ?? {};
	const nested = (key: string) => (c[key] && typeof c[key] === 'object' ? (c[key] as Record<string, unknown>) : {});
	switch (type) {
		case 'text':
			return str(c.body);
		case 'image':
		case 'video':
		case 'sticker':
			return str(c.caption);
		case 'audio':
			return c.voice ? '(voice note)' : '(audio)';
		case 'document':
			return [str(c.filename), str(c.caption)].filter(Boolean).join(': ');
		case 'location':
			return [str(c.name), str(c.address), `(${str(c.latitude)}, ${str(c.longitude)})`].filter(Boolean).join(' ');
		case 'reaction':
			return c.removed ? `removed a reaction to ${str(c.message_id)}` : `reacted ${str(c.emoji)} to ${str(c.message_id)}`;
		case 'interactive': {
			const reply = nested(str(c.type));
			return [str(reply.title), str(reply.description), str(reply.body)].filter(Boolean).join(' — ');
		}
		case 'button':
			return str(c.text) || str(c.payload);
		case 'contacts': {
			const contacts = Array.isArray(c.contacts) ? (c.contacts as Array<Record<string, unknown>>) : [];
			return `shared ${contacts.length} contact(s): ${contacts
				.map((x) => str((x.name as Record<string, unknown> | undefined)?.formatted_name))
				.filter(Boolean)
				.join(', ')}`;
		}
		case 'order':
			return `order of ${Array.isArray(c.product_items) ? c.product_items.length : 0} item(s) from catalog ${str(c.catalog_id)} ${str(c.text)}`.trim();
		case 'system':
			return str(c.body);
		case 'edit': {
			const message = nested('message');
			const edited = describeContent(str(message.type), nested(str(message.type)));
			return `edited ${str(c.original_message_id)}: ${edited || str((message.text as Record<string, unknown> | undefined)?.body)}`;
		}
		case 'revoke':
			return `deleted message ${str(c.original_message_id)}`;
		case 'unsupported':
			return '(unsupported message type)';
		case 'unknown':
			return `(unknown message type ${str(c.original_type)})`;
		default:
			return '';
	}
}

/**
 * One transcript line for a record. `media` names the record's archived media (their file names in
 * the export), shown whatever the record's kind; without them a message references the provider's
 * media id.
 */
export function transcriptLine(record: TranscriptRecord, media: string[] = []): TranscriptLine {
	const line = recordLine(record, media);
	return record.channel && record.channel !== 'whatsapp' ? { ...line, channel: channelName(record) } : line;
}

function recordLine(record: TranscriptRecord, media: string[]): TranscriptLine {
	const time = utcTime(record.timestamp ?? record.received_at);
	const type = str(record.type) || 'unknown';
	const notes: string[] = [];
	if (record.record_kind === 'status') {
		const content = record.content ?? {};
		const errors = Array.isArray(content.errors) ? (content.errors as Array<Record<string, unknown>>) : [];
		const errorText = errors.map((e) => `${str(e.code)} ${str(e.title)}`.trim()).join('; ');
		return {
			time,
			kind: 'status',
			name: whoName(record),
			type,
			text: `message ${str(record.wamid)} ${type}${errorText ? ` (${errorText})` : ''}`,
			media,
			notes,
		};
	}
	if (record.record_kind !== 'message') {
		const name = record.participant || record.counterparty?.wa_id || record.counterparty?.user_id ? whoName(record) : '';
		return { time, kind: 'other', name, type, text: describeOther(record, type), media, notes };
	}
	if (record.context?.reply_to) notes.push(`reply to ${record.context.reply_to}`);
	if (record.context?.forwarded) notes.push('forwarded');
	const content = record.content ?? {};
	const archived = media.length ? media : content.id ? [`media id ${str(content.id)} (not archived)`] : [];
	return {
		time,
		kind: record.direction === 'outbound' ? 'out' : 'in',
		name: record.direction === 'outbound' ? businessName(record) : whoName(record),
		type,
		text: describeContent(type, content),
		media: archived,
		notes,
	};
}

const ARROWS: Record<TranscriptLine['kind'], string> = { in: '<-', out: '->', status: '..', other: '**' };

/**
 * Characters that could forge or disguise a transcript line: C0 and C1 controls (line ends, CR, ESC,
 * TAB among them), DEL, LINE and PARAGRAPH SEPARATOR, and the bidirectional formatting characters
 * (Unicode UAX #9: ALM U+061C, LRM / RLM U+200E–200F, embeddings and overrides U+202A–202E,
 * isolates U+2066–2069).
 */
// eslint-disable-next-line no-control-regex
const UNSAFE_CHARACTERS = /[\u0000-\u001f\u007f-\u009f\u061c\u200e\u200f\u2028\u2029\u202a-\u202e\u2066-\u2069]/g;

/** Line breaks inside a message body (Unicode UAX #14 mandatory breaks: CRLF, LF, CR, NEL, LS, PS). */
const BODY_LINE_BREAKS = new Set(['\r\n', '\n', '\r', '\u0085', '\u2028', '\u2029']);

/** {@link UNSAFE_CHARACTERS} and CRLF, for one pass over a body. */
// eslint-disable-next-line no-control-regex
const BODY_UNSAFE = /\r\n|[\u0000-\u001f\u007f-\u009f\u061c\u200e\u200f\u2028\u2029\u202a-\u202e\u2066-\u2069]/g;

const escapes = new Map<string, string>();

/** `\uXXXX` of one character (all unsafe characters are in the Basic Multilingual Plane). */
function escaped(character: string): string {
	let value = escapes.get(character);
	if (value === undefined) {
		value = `\\u${character.charCodeAt(0).toString(16).toUpperCase().padStart(4, '0')}`;
		escapes.set(character, value);
	}
	return value;
}

/**
 * A value on one line with every {@link UNSAFE_CHARACTERS unsafe character} shown as its `\uXXXX`
 * escape (a name `Bob\u202Etxt.exe`, a newline `\u000A`): visible and unable to start a line. The
 * exact values stay in `export.jsonl`.
 */
export function visibleText(value: string): string {
	return value.replace(UNSAFE_CHARACTERS, escaped);
}

/** A message body with its line breaks replaced by `lineBreak` and other unsafe characters escaped. */
function visibleBody(text: string, lineBreak: string): string {
	return text.replace(BODY_UNSAFE, (character) => (BODY_LINE_BREAKS.has(character) ? lineBreak : escaped(character)));
}

/**
 * The lines with their channel shown on every line when they come from more than one channel (a
 * person who wrote by SMS and on WhatsApp), else as {@link transcriptLine} set it.
 */
export function labelChannels(lines: TranscriptLine[], records: Array<Pick<TranscriptRecord, 'channel'>>): TranscriptLine[] {
	const names = records.map(channelName);
	if (new Set(names).size < 2) return lines;
	return lines.map((line, index) => ({ ...line, channel: names[index] }));
}

/** The header of a plain-text transcript ({@link renderTranscriptText}), its blank line included. */
export function renderTranscriptTextHeader(header: TranscriptHeader): string {
	const title = visibleText(header.title);
	const out: string[] = [title, '='.repeat(Math.min(title.length, 72))];
	for (const [label, value] of header.facts) out.push(`${visibleText(label)}: ${visibleText(value)}`);
	return out.join('\n') + '\n\n';
}

/** One record's block of a plain-text transcript ({@link renderTranscriptText}), its line end included. */
export function renderTranscriptTextLine(line: TranscriptLine): string {
	const who = line.name ? `  ${visibleText(line.name)}` : '';
	const notes = line.notes.length ? `  (${visibleText(line.notes.join(', '))})` : '';
	const channel = line.channel ? `  via ${visibleText(line.channel)}` : '';
	const out = [`${line.time}  ${ARROWS[line.kind]}${who}  [${visibleText(line.type)}]${channel}${notes}`];
	if (line.text) out.push(`    | ${visibleBody(line.text, '\n    | ')}`);
	for (const media of line.media) out.push(`    media: ${visibleText(media)}`);
	return out.join('\n') + '\n';
}

/**
 * Plain-text transcript: a header, then one block per record (UTF-8, `\n` line ends). A block is one
 * header line (`time  arrow  name  [type]  via <channel>  (notes)`, the channel when the line has
 * one), each line of the body after `    | `, and one `    media: ` line per media file. Every value goes through {@link visibleText}, so no value can
 * end its line: a header line starts only with a record's time, and body lines cannot pass for media
 * lines. The same text as {@link renderTranscriptTextHeader} followed by {@link renderTranscriptTextLine}
 * of each line, which a streamed export writes piece by piece.
 */
export function renderTranscriptText(header: TranscriptHeader, lines: TranscriptLine[]): string {
	return renderTranscriptTextHeader(header) + lines.map(renderTranscriptTextLine).join('');
}

const HTML_ENTITIES: Record<string, string> = { '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;' };

function escapeHtml(value: string): string {
	return value.replace(/[&<>"']/g, (character) => HTML_ENTITIES[character]);
}

/** A value for HTML: {@link visibleText}, then escaped. */
function html(value: string): string {
	return escapeHtml(visibleText(value));
}

/**
 * The page's Content-Security-Policy (W3C CSP Level 3, delivered by `<meta http-equiv>`): nothing
 * may load or run; only the page's own `<style>` block applies.
 */
const TRANSCRIPT_CSP = "default-src 'none'; style-src 'unsafe-inline'; base-uri 'none'; form-action 'none'";

/** One record's block of an HTML transcript ({@link renderTranscriptHtml}), its line end included. */
export function renderTranscriptHtmlLine(line: TranscriptLine): string {
	const text = line.text ? `<div class="text" dir="auto">${visibleBody(escapeHtml(line.text), '<br>')}</div>` : '';
	const media = line.media.map((m) => `<div class="media">media: <code><bdi>${html(m)}</bdi></code></div>`).join('');
	const notes = line.notes.length ? ` <span class="notes">(<bdi>${html(line.notes.join(', '))}</bdi>)</span>` : '';
	const channel = line.channel ? ` <span class="channel">via <bdi>${html(line.channel)}</bdi></span>` : '';
	return (
		`<div class="record ${line.kind}"><div class="meta"><time>${escapeHtml(line.time)}</time> ` +
		`<span class="name"><bdi>${html(line.name)}</bdi></span> <span class="type">[<bdi>${html(line.type)}</bdi>]</span>${channel}${notes}</div>` +
		`${text}${media}</div>\n`
	);
}

/** The start of an HTML transcript ({@link renderTranscriptHtml}): head, title and facts, up to the first record. */
export function renderTranscriptHtmlStart(header: TranscriptHeader): string {
	const facts = header.facts.map(([label, value]) => `<tr><th>${html(label)}</th><td><bdi>${html(value)}</bdi></td></tr>`).join('\n');
	return `<!DOCTYPE html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta http-equiv="Content-Security-Policy" content="${TRANSCRIPT_CSP}">
<title>${html(header.title)}</title>
<style>
body { font-family: system-ui, sans-serif; max-width: 50rem; margin: 2rem auto; color: #111; }
table.facts th { text-align: left; padding-right: 1rem; font-weight: 600; }
.record { margin: .5rem 0; padding: .4rem .6rem; border-radius: .4rem; }
.record.in { background: #f1f1f1; margin-right: 6rem; }
.record.out { background: #dcf8c6; margin-left: 6rem; }
.record.status, .record.other { color: #555; font-size: .85rem; }
.meta { font-size: .8rem; color: #555; }
.name { font-weight: 600; }
.media code { font-size: .75rem; }
</style>
</head>
<body>
<h1><bdi>${html(header.title)}</bdi></h1>
<table class="facts">
${facts}
</table>
<hr>
`;
}

/** The end of an HTML transcript ({@link renderTranscriptHtml}), after the last record. */
export const TRANSCRIPT_HTML_END = '</body>\n</html>\n';

/**
 * HTML transcript: one self-contained UTF-8 page (no scripts, no external resources, a
 * Content-Security-Policy that forbids both), all text escaped with {@link visibleText}; names, notes
 * and header values in `<bdi>` and bodies in `dir="auto"` blocks (HTML `bdi`, UAX #9 isolation), so
 * right-to-left text cannot reorder what surrounds it. The same text as {@link renderTranscriptHtmlStart},
 * {@link renderTranscriptHtmlLine} of each line and {@link TRANSCRIPT_HTML_END}, which a streamed
 * export writes piece by piece.
 */
export function renderTranscriptHtml(header: TranscriptHeader, lines: TranscriptLine[]): string {
	return renderTranscriptHtmlStart(header) + lines.map(renderTranscriptHtmlLine).join('') + TRANSCRIPT_HTML_END;
}
