/**
 * Repairing pasted OpenPGP armor (RFC 4880 §6.2, RFC 9580 §6.2).
 *
 * People paste keys, messages and signatures in every shape: with a BOM, as UTF-16, indented, with
 * CRLF, with literal `\n`, with newlines collapsed to spaces or removed (n8n password fields), with
 * armor headers, several blocks in a row. {@link repairArmoredText} rewrites those shapes as canonical
 * armored blocks before OpenPGP.js reads them.
 *
 * The text may come from item data, so every step is one linear pass: armor lines are found by a
 * bounded pattern, paired in one walk, and the input has a size cap checked before anything else.
 */
import { PgpError } from './types';

/** One armored block found in pasted text, already rewritten in canonical form. */
export interface ArmorBlock {
	/** Armor type in upper case, e.g. `PUBLIC KEY BLOCK`, `PRIVATE KEY BLOCK`, `MESSAGE`, `SIGNATURE`. */
	type: string;
	/** Canonical armored text: BEGIN line, blank line, base64 in 64-column lines, CRC if any, END line. */
	text: string;
}

/** Result of {@link repairArmoredText}: canonical armored blocks, or raw binary packets. */
export type RepairedInput =
	| { blocks: ArmorBlock[]; binary?: undefined }
	| { blocks?: undefined; binary: Uint8Array };

/** Options of {@link repairArmoredText}. */
export interface RepairOptions {
	/** Largest input read, in bytes (UTF-16 code units for a string). Default {@link ARMORED_TEXT_LIMIT}. */
	maxBytes?: number;
	/** What the input is, for the size error, e.g. `the "Public Keys" field`. Default `the armored text`. */
	what?: string;
	/** Appended to the size error: what to do instead. */
	hint?: string;
}

/** Default cap of {@link repairArmoredText}: armored messages in text fields or in-memory bytes. */
export const ARMORED_TEXT_LIMIT = 64 * 1024 * 1024;

/** Cap for key text (a key is a few KiB; a team's keyring stays far below). */
export const KEY_TEXT_LIMIT = 1024 * 1024;

const BASE64_CHARS = /^[A-Za-z0-9+/=]+$/;
const CRC_TOKEN = /^=[A-Za-z0-9+/]{4}$/;
/** An armor header line, `Key: value` (RFC 4880 §6.2): Version, Comment, Hash, Charset, MessageID or any other key. */
const HEADER_LINE = /^[A-Za-z][A-Za-z0-9-]*:(\s|$)/;
/**
 * An armor line (`-----BEGIN PGP <type>-----` / `-----END PGP <type>-----`), also inside a line whose
 * newlines were collapsed; 3–5 dashes, any case. Every part is bounded, so matching stays linear.
 */
const ARMOR_LINE = /-{3,5}[ \t]{0,16}(BEGIN|END)[ \t]{1,16}PGP[ \t]{1,16}([A-Z0-9][A-Z0-9 ,/]{0,48}?)[ \t]{0,16}-{3,5}/gi;
const ZERO_WIDTH = /\uFEFF|\u200B|\u200C|\u200D|\u2060/g;
/** A header value glued to the body is searched for the body's start in its first this many characters. */
const HEADER_VALUE_SCAN = 1024;
/** Fewer base64 characters than this after the headers are a header value, not a body (a key is hundreds). */
const MIN_BODY_CHARS = 40;
/** At most this many body-start candidates in one header value are checked in full… */
const MAX_CANDIDATES = 16;
/** …and at most this many of them against the CRC (each check reads the whole body). */
const MAX_CRC_CHECKS = 2;

/** First-packet tags a block of each type may start with (RFC 9580 §5), with the versions of tagged packets. */
const FIRST_PACKETS: Record<string, number[]> = {
	'PUBLIC KEY BLOCK': [6, 2],
	'PRIVATE KEY BLOCK': [5, 6, 2],
	MESSAGE: [1, 2, 3, 4, 8, 9, 10, 11, 18, 20],
	SIGNATURE: [2],
};
const PACKET_VERSIONS: Record<number, number[]> = {
	1: [3, 6],
	2: [3, 4, 5, 6],
	3: [4, 5, 6],
	4: [3, 6],
	5: [3, 4, 5, 6],
	6: [3, 4, 5, 6],
	18: [1, 2],
	20: [1],
};

/** Packets that may have an indeterminate length: compressed, encrypted and literal data. */
const INDETERMINATE_TAGS = new Set([8, 9, 11, 18]);

const BASE64_VALUES = new Int16Array(128).fill(-1);
for (const [index, char] of [...'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/'].entries()) {
	BASE64_VALUES[char.charCodeAt(0)] = index;
}

function decodeText(input: string | Uint8Array): string | Uint8Array {
	if (typeof input === 'string') return input;
	const bytes = input;
	if (bytes.length >= 2 && bytes[0] === 0xff && bytes[1] === 0xfe) {
		return new TextDecoder('utf-16le').decode(bytes.subarray(2));
	}
	if (bytes.length >= 2 && bytes[0] === 0xfe && bytes[1] === 0xff) {
		return new TextDecoder('utf-16be').decode(bytes.subarray(2));
	}
	// Binary OpenPGP packets start with a packet tag byte (bit 7 set); UTF-8 BOM is EF BB BF.
	const isUtf8Bom = bytes[0] === 0xef && bytes[1] === 0xbb && bytes[2] === 0xbf;
	if (bytes.length > 0 && (bytes[0] & 0x80) !== 0 && !isUtf8Bom) return bytes;
	// UTF-16 without BOM: ASCII text with every other byte zero.
	const sample = bytes.subarray(0, Math.min(bytes.length, 64));
	if (sample.length >= 8) {
		let evenZero = 0;
		let oddZero = 0;
		for (let i = 0; i < sample.length; i++) {
			if (sample[i] !== 0) continue;
			if (i % 2 === 0) evenZero++;
			else oddZero++;
		}
		const half = Math.floor(sample.length / 2);
		if (oddZero >= half - 1 && evenZero === 0) return new TextDecoder('utf-16le').decode(bytes);
		if (evenZero >= half - 1 && oddZero === 0) return new TextDecoder('utf-16be').decode(bytes);
	}
	return new TextDecoder('utf-8').decode(bytes);
}

function formatSize(bytes: number): string {
	if (bytes >= 1024 * 1024) return `${Math.round((bytes / (1024 * 1024)) * 10) / 10} MiB`;
	return `${Math.ceil(bytes / 1024)} KiB`;
}

function assertSize(input: string | Uint8Array, options: RepairOptions): void {
	const limit = options.maxBytes ?? ARMORED_TEXT_LIMIT;
	if (input.length <= limit) return;
	const what = options.what ?? 'the armored text';
	const size = formatSize(input.length) === formatSize(limit) ? `${input.length} bytes` : formatSize(input.length);
	throw new PgpError(
		'INPUT_TOO_LARGE',
		`${what[0].toUpperCase()}${what.slice(1)} is ${size}, over the ${formatSize(limit)} that is read${options.hint ? `; ${options.hint}` : '.'}`,
	);
}

/** Canonical line endings and no invisible characters; each replacement is one linear pass. */
function normalize(text: string): string {
	let result = text.includes('\u0000') ? text.split('\u0000').join('') : text;
	result = result.replace(ZERO_WIDTH, '').replace(/\u00A0/g, ' ');
	// Literal escapes, as when a key went through JSON or an env file. Base64 has no backslash.
	result = result.replace(/\\r\\n|\\n|\\r/g, '\n');
	return result.replace(/\r\n?/g, '\n');
}

/** Is this character code base64 (`A–Z a–z 0–9 + /`, or the `=` of padding)? */
function isBase64Code(code: number): boolean {
	return code === 61 || (code < 128 && BASE64_VALUES[code] >= 0);
}

/** Is this character code white space (space, tab, line feed, CR, vertical tab, form feed)? */
function isSpaceCode(code: number): boolean {
	return code === 32 || (code >= 9 && code <= 13);
}

/**
 * Base64 text without whitespace, read at byte offsets without decoding all of it: enough to walk
 * packet headers (RFC 9580 §4.2) from any candidate start.
 */
class Base64View {
	readonly byteLength: number;

	constructor(
		private readonly chars: string,
		private readonly start: number,
	) {
		let padding = 0;
		if (chars.endsWith('==')) padding = 2;
		else if (chars.endsWith('=')) padding = 1;
		this.byteLength = Math.floor(((chars.length - start) * 3) / 4) - padding;
	}

	/** The byte at `offset`, or -1 past the end. */
	byteAt(offset: number): number {
		if (offset < 0 || offset >= this.byteLength) return -1;
		const group = this.start + Math.floor(offset / 3) * 4;
		const value = (i: number) => {
			const code = this.chars.charCodeAt(group + i);
			return code < 128 ? Math.max(BASE64_VALUES[code], 0) : 0;
		};
		const bits = (value(0) << 18) | (value(1) << 12) | (value(2) << 6) | value(3);
		return (bits >>> (16 - (offset % 3) * 8)) & 0xff;
	}
}

/** Bounds one packet walk: a candidate body whose walk needs more steps is not taken. */
const MAX_PACKET_STEPS = 100_000;

/** Header of the packet at `offset`: its tag and where its body starts and ends, or undefined if malformed. */
function packetAt(view: Base64View, offset: number, steps: { left: number }): { tag: number; bodyStart: number; end: number } | undefined {
	const first = view.byteAt(offset);
	if (first < 0 || (first & 0x80) === 0) return undefined;
	if ((first & 0x40) === 0) {
		// Legacy format (RFC 9580 §4.2.2): tag in bits 5–2, length type in bits 1–0.
		const tag = (first >> 2) & 0x0f;
		const lengthType = first & 0x03;
		if (tag === 0) return undefined;
		// Indeterminate length runs to the end of the data: only data packets use it (RFC 4880 §4.2.1).
		if (lengthType === 3) return INDETERMINATE_TAGS.has(tag) ? { tag, bodyStart: offset + 1, end: view.byteLength } : undefined;
		const octets = [1, 2, 4][lengthType];
		let length = 0;
		for (let i = 1; i <= octets; i++) length = length * 256 + view.byteAt(offset + i);
		return { tag, bodyStart: offset + 1 + octets, end: offset + 1 + octets + length };
	}
	// OpenPGP format (RFC 9580 §4.2.1); partial body lengths are followed to the last part.
	const tag = first & 0x3f;
	if (tag === 0) return undefined;
	let position = offset + 1;
	let bodyStart = -1;
	while (steps.left-- > 0) {
		const octet = view.byteAt(position);
		if (octet < 0) return undefined;
		if (octet >= 224 && octet < 255) {
			if (bodyStart < 0) bodyStart = position + 1;
			position += 1 + 2 ** (octet & 0x1f);
			continue;
		}
		let length = octet;
		let header = 1;
		if (octet >= 192 && octet < 224) [length, header] = [((octet - 192) << 8) + view.byteAt(position + 1) + 192, 2];
		else if (octet === 255) {
			length = 0;
			for (let i = 1; i <= 4; i++) length = length * 256 + view.byteAt(position + i);
			header = 5;
		}
		if (bodyStart < 0) bodyStart = position + header;
		return { tag, bodyStart, end: position + header + length };
	}
	return undefined;
}

/** Does the base64 body from `start` open with a packet a block of `type` may start with? */
function opensLikeBlock(chars: string, start: number, type: string): boolean {
	if ((chars.length - start) % 4 !== 0) return false;
	const view = new Base64View(chars, start);
	const packet = packetAt(view, 0, { left: MAX_PACKET_STEPS });
	if (!packet || packet.end > view.byteLength) return false;
	const tags = FIRST_PACKETS[type];
	if (tags && !tags.includes(packet.tag)) return false;
	const versions = PACKET_VERSIONS[packet.tag];
	return !versions || versions.includes(view.byteAt(packet.bodyStart));
}

/** Do the packets from `start` follow each other exactly to the end of the data? */
function packetsFillBody(chars: string, start: number): boolean {
	const view = new Base64View(chars, start);
	const steps = { left: MAX_PACKET_STEPS };
	let offset = 0;
	while (offset < view.byteLength) {
		if (steps.left-- <= 0) return false;
		const packet = packetAt(view, offset, steps);
		if (!packet || packet.end > view.byteLength) return false;
		offset = packet.end;
	}
	return offset === view.byteLength && offset > 0;
}

/** CRC-24 table of RFC 4880 §6.1 (generator 0x864CFB), one entry per leading byte. */
const CRC24_TABLE = Int32Array.from({ length: 256 }, (_unused, byte) => {
	let crc = byte << 16;
	for (let i = 0; i < 8; i++) {
		crc <<= 1;
		if (crc & 0x1000000) crc ^= 0x1864cfb;
	}
	return crc & 0xffffff;
});

/** CRC-24 of RFC 4880 §6.1, as the 4-character base64 of an armor checksum line. */
function crc24(base64: string): string {
	const bytes = Buffer.from(base64, 'base64');
	let crc = 0xb704ce;
	for (let i = 0; i < bytes.length; i++) crc = ((crc << 8) & 0xffffff) ^ CRC24_TABLE[((crc >> 16) ^ bytes[i]) & 0xff];
	return Buffer.from([(crc >> 16) & 0xff, (crc >> 8) & 0xff, crc & 0xff]).toString('base64');
}

/** The body's base64 and its CRC (`=XXXX`, RFC 4880 §6.2), from whitespace-separated tokens. */
function splitChecksum(tokens: string[]): { base64: string; crc: string } {
	let crc = '';
	if (tokens.length > 1 && CRC_TOKEN.test(tokens[tokens.length - 1])) crc = tokens.pop() as string;
	let base64 = tokens.join('');
	// Newlines removed entirely: the CRC is glued to the body. Base64 has "=" only as padding at its
	// very end, so "=XXXX" at the end is the CRC.
	if (!crc && /=[A-Za-z0-9+/]{4}$/.test(base64)) {
		crc = base64.slice(-5);
		base64 = base64.slice(0, -5);
	}
	return { base64, crc };
}

/**
 * Where the body starts when armor headers and body share a line (newlines collapsed or removed):
 * header lines are `Key: value` and base64 has no colon, so the body starts in the last header's
 * value, after its last character that base64 does not have. Each place there that opens with a
 * packet this block may start with is a candidate; the first one whose packets fill the body
 * exactly (RFC 9580 §4.2) and whose CRC matches, when there is one, is the body. Candidates are
 * read in one whitespace-free copy of the text, and only within {@link HEADER_VALUE_SCAN}
 * characters of the value.
 *
 * @returns the body's tokens; `none` when too little base64 follows the headers to be a body;
 *  `unclear` when no candidate fits
 */
function bodyAfterHeaders(headerText: string, rest: string[], type: string): string[] | 'none' | 'unclear' {
	const tail = headerText.slice(headerText.lastIndexOf(':') + 1);
	let from = 0;
	for (let i = 0; i < tail.length; i++) {
		const code = tail.charCodeAt(i);
		if (!isBase64Code(code) && !isSpaceCode(code)) from = i + 1;
	}
	const tokens = [...tail.slice(from).split(/\s+/), ...rest].filter((token) => token.length > 0);
	const { base64, crc } = splitChecksum(tokens);
	// Shorter than the smallest packet sequence worth reading: a header value, not a body.
	if (base64.length < MIN_BODY_CHARS) return 'none';
	let candidates = 0;
	let crcChecks = 0;
	let compact = 0;
	const end = Math.min(tail.length, from + HEADER_VALUE_SCAN);
	for (let i = from; i < end && candidates < MAX_CANDIDATES; i++) {
		if (isSpaceCode(tail.charCodeAt(i))) continue;
		const start = compact++;
		if (!opensLikeBlock(base64, start, type)) continue;
		candidates++;
		if (!packetsFillBody(base64, start)) continue;
		if (crc && (crcChecks++ >= MAX_CRC_CHECKS || `=${crc24(base64.slice(start))}` !== crc)) continue;
		return [base64.slice(start), ...(crc ? [crc] : [])];
	}
	return 'unclear';
}

function canonicalBlock(type: string, content: string, blockNumber: number): ArmorBlock {
	const lines = content
		.split('\n')
		.map((line) => line.trim())
		.filter((line) => line.length > 0);
	// Armor headers ("Version: …", "Comment: …") are informational: drop them (RFC 4880 §6.2).
	let headerCount = 0;
	while (headerCount < lines.length && HEADER_LINE.test(lines[headerCount])) headerCount++;
	const bodyLines = lines.slice(headerCount);
	let tokens = bodyLines.join(' ').split(/\s+/).filter((token) => token.length > 0);
	if (headerCount > 0) {
		const plain = splitChecksum([...tokens]);
		const plainOpens = plain.base64.length > 0 && BASE64_CHARS.test(plain.base64) && opensLikeBlock(plain.base64, 0, type);
		if (!plainOpens) {
			// Headers and body on one line: find where the last header's value ends.
			const found = bodyAfterHeaders(lines.slice(0, headerCount).join('\n'), tokens, type);
			if (Array.isArray(found)) tokens = found;
			else if (tokens.length === 0 && found === 'unclear') {
				throw new PgpError(
					'KEY_FORMAT',
					`Armored block ${blockNumber} (${type}): its armor headers cannot be told apart from its data (the line breaks were removed); paste the block with its line breaks, exactly as exported.`,
				);
			}
		}
	}
	const { base64, crc } = splitChecksum(tokens);
	if (base64.length === 0) {
		throw new PgpError('KEY_FORMAT', `Armored block ${blockNumber} (${type}) has no content.`);
	}
	if (!BASE64_CHARS.test(base64)) {
		throw new PgpError(
			'KEY_FORMAT',
			`Armored block ${blockNumber} (${type}) contains characters that are not base64; paste the block exactly as exported.`,
		);
	}
	const wrapped: string[] = [];
	for (let i = 0; i < base64.length; i += 64) wrapped.push(base64.slice(i, i + 64));
	const text = [
		`-----BEGIN PGP ${type}-----`,
		'',
		...wrapped,
		...(crc ? [crc] : []),
		`-----END PGP ${type}-----`,
		'',
	].join('\n');
	return { type, text };
}

const TRUNCATED = 'The armored text has a BEGIN line without a matching END line (truncated paste?).';

/**
 * The armored blocks of normalized text, in one walk over its armor lines: a BEGIN opens a block,
 * the next END of the same type closes it; a BEGIN while a block is open, or a block still open at
 * the end, is a truncated paste. A cleartext-signed message (`BEGIN PGP SIGNED MESSAGE`, RFC 4880
 * §7) has no END line of its own: its signature block follows.
 */
function findBlocks(text: string): { blocks: ArmorBlock[]; sawBegin: boolean } {
	const blocks: ArmorBlock[] = [];
	let open: { type: string; contentStart: number } | undefined;
	let sawBegin = false;
	for (const match of text.matchAll(ARMOR_LINE)) {
		const type = match[2].toUpperCase().replace(/\s+/g, ' ');
		const index = match.index ?? 0;
		if (match[1].toUpperCase() === 'BEGIN') {
			sawBegin = true;
			if (open && open.type !== 'SIGNED MESSAGE') throw new PgpError('KEY_FORMAT', TRUNCATED);
			open = { type, contentStart: index + match[0].length };
			continue;
		}
		if (!open || open.type !== type) continue;
		blocks.push(canonicalBlock(type, text.slice(open.contentStart, index), blocks.length + 1));
		open = undefined;
	}
	if (open && open.type !== 'SIGNED MESSAGE') throw new PgpError('KEY_FORMAT', TRUNCATED);
	return { blocks, sawBegin };
}

/**
 * Repair pasted OpenPGP armored text and split it into canonical blocks.
 *
 * Repairs: UTF-16 (LE/BE, with or without BOM, when given bytes), BOM and zero-width characters,
 * NBSP, NUL, literal `\n` / `\r\n` escapes, CRLF and CR-only line endings, indentation and trailing
 * blanks, lower-case or 3–4-dash armor lines, armor headers (dropped, also when the blank line after
 * them is missing or the newlines were collapsed or removed), several blocks in a row with prose
 * around them. Bare base64 (no armor lines) and binary packets (bytes whose first byte has bit 7
 * set) come back as `binary`. Time and memory are linear in the input.
 *
 * @param input pasted text, or bytes holding text or binary packets
 * @param options size cap (default {@link ARMORED_TEXT_LIMIT}) and how to name the input in errors
 * @returns canonical blocks in input order (ASCII armor, RFC 4880 §6.2), or binary packets
 * @throws PgpError `INPUT_TOO_LARGE` over the cap; `KEY_FORMAT` when nothing OpenPGP-shaped is found,
 *  a block is truncated, or a block body is not base64
 */
export function repairArmoredText(input: string | Uint8Array, options: RepairOptions = {}): RepairedInput {
	assertSize(input, options);
	const decoded = decodeText(input);
	if (typeof decoded !== 'string') return { binary: decoded };
	const text = normalize(decoded);
	const { blocks, sawBegin } = findBlocks(text);
	if (blocks.length > 0) return { blocks };
	const compact = text.replace(/\s+/g, '');
	if (!sawBegin && compact.length >= 40 && BASE64_CHARS.test(compact) && !/BEGIN/i.test(text)) {
		return { binary: new Uint8Array(Buffer.from(compact, 'base64')) };
	}
	if (sawBegin || /BEGIN\s+PGP/i.test(text)) throw new PgpError('KEY_FORMAT', TRUNCATED);
	throw new PgpError(
		'KEY_FORMAT',
		'No OpenPGP data found: expected an armored block starting with "-----BEGIN PGP PUBLIC KEY BLOCK-----".',
	);
}
