/**
 * Repairing pasted OpenPGP armor (RFC 4880 §6.2).
 *
 * People paste keys, messages and signatures in every shape: with a BOM, as UTF-16, indented, with
 * CRLF, with literal `\n`, with newlines collapsed to spaces (n8n password fields), several blocks
 * in a row. {@link repairArmoredText} rewrites those shapes as canonical armored blocks before
 * OpenPGP.js reads them.
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

const BASE64_CHARS = /^[A-Za-z0-9+/=]+$/;
const CRC_TOKEN = /^=[A-Za-z0-9+/]{4}$/;
const HEADER_LINE = /^[A-Za-z][A-Za-z0-9-]*:(\s|$)/;
const BLOCK_PATTERN =
	/-{3,5}\s*BEGIN\s+PGP\s+([A-Z][A-Z ]*?[A-Z])\s*-{3,5}([\s\S]*?)-{3,5}\s*END\s+PGP\s+\1\s*-{3,5}/gi;
const ZERO_WIDTH = /\uFEFF|\u200B|\u200C|\u200D|\u2060/g;

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

function canonicalBlock(type: string, body: string, blockNumber: number): ArmorBlock {
	const lines = body
		.split('\n')
		.map((line) => line.trim())
		.filter((line) => line.length > 0);
	// Armor headers ("Version: …", "Comment: …") are informational: drop them. If newlines were
	// collapsed to spaces, a header line also holds the whole body: cut it at the first long
	// base64 token.
	const bodyParts: string[] = [];
	let inHeaders = true;
	for (const line of lines) {
		if (inHeaders && HEADER_LINE.test(line)) {
			const tokens = line.split(/\s+/);
			const start = tokens.findIndex((token) => token.length >= 40 && BASE64_CHARS.test(token));
			if (start === -1) continue;
			bodyParts.push(tokens.slice(start).join(' '));
			inHeaders = false;
			continue;
		}
		inHeaders = false;
		bodyParts.push(line);
	}
	const tokens = bodyParts
		.join(' ')
		.split(/\s+/)
		.filter((token) => token.length > 0);
	let crc = '';
	if (tokens.length > 1 && CRC_TOKEN.test(tokens[tokens.length - 1])) crc = tokens.pop() as string;
	if (tokens.length === 0) {
		throw new PgpError('KEY_FORMAT', `Armored block ${blockNumber} (${type}) has no content.`);
	}
	if (!tokens.every((token) => BASE64_CHARS.test(token))) {
		throw new PgpError(
			'KEY_FORMAT',
			`Armored block ${blockNumber} (${type}) contains characters that are not base64; paste the block exactly as exported.`,
		);
	}
	let base64 = tokens.join('');
	// Newlines removed entirely: the CRC ("=XXXX") is glued to the body. A base64 body is a
	// multiple of 4 characters long, so a remainder of 1 ending in "=XXXX" is the CRC.
	if (!crc && base64.length % 4 === 1 && /=[A-Za-z0-9+/]{4}$/.test(base64)) {
		crc = base64.slice(-5);
		base64 = base64.slice(0, -5);
	}
	const wrapped = base64.match(/.{1,64}/g) ?? [];
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

/**
 * Repair pasted OpenPGP armored text and split it into canonical blocks.
 *
 * Repairs: UTF-16 (LE/BE, with or without BOM, when given bytes), BOM and zero-width characters,
 * NBSP, literal `\n` / `\r\n` escapes, CRLF and CR-only line endings, indentation and trailing
 * blanks, lower-case or 3–4-dash armor lines, missing blank line after armor headers (the headers
 * are dropped), newlines collapsed to spaces, several blocks in a row with prose around them.
 * Bare base64 (no armor lines) and binary packets (bytes whose first byte has bit 7 set) come
 * back as `binary`.
 *
 * @param input pasted text, or bytes holding text or binary packets
 * @returns canonical blocks in input order (ASCII armor, RFC 4880 §6.2), or binary packets
 * @throws PgpError `KEY_FORMAT` when nothing OpenPGP-shaped is found or a block body is not base64
 */
export function repairArmoredText(input: string | Uint8Array): RepairedInput {
	const decoded = decodeText(input);
	if (typeof decoded !== 'string') return { binary: decoded };
	let text = decoded
		.split('\u0000')
		.join('')
		.replace(ZERO_WIDTH, '')
		.replace(/\u00A0/g, ' ');
	// Literal escapes, as when a key went through JSON or an env file. Base64 has no backslash.
	text = text.replace(/\\r\\n|\\n|\\r/g, '\n');
	text = text.replace(/\r\n?/g, '\n');
	const blocks: ArmorBlock[] = [];
	let blockNumber = 0;
	for (const match of text.matchAll(BLOCK_PATTERN)) {
		blockNumber++;
		const type = match[1].toUpperCase().replace(/\s+/g, ' ');
		blocks.push(canonicalBlock(type, match[2], blockNumber));
	}
	if (blocks.length > 0) return { blocks };
	const compact = text.replace(/\s+/g, '');
	if (compact.length >= 40 && BASE64_CHARS.test(compact) && !/BEGIN/i.test(text)) {
		return { binary: new Uint8Array(Buffer.from(compact, 'base64')) };
	}
	if (/BEGIN\s+PGP/i.test(text)) {
		throw new PgpError(
			'KEY_FORMAT',
			'The armored text has a BEGIN line without a matching END line (truncated paste?).',
		);
	}
	throw new PgpError(
		'KEY_FORMAT',
		'No OpenPGP data found: expected an armored block starting with "-----BEGIN PGP PUBLIC KEY BLOCK-----".',
	);
}
