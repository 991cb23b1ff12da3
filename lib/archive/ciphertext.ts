import type { Readable } from 'node:stream';

import { ArchiveError } from './types';

/**
 * Whether bytes given to the archive are an OpenPGP *encrypted* message, from their first bytes
 * only: the archive stores ciphertext under `.pgp`, and a plaintext object kept under Object Lock can
 * never be removed.
 *
 * An encrypted message is one or more session-key packets — PKESK (tag 1, versions 3 and 6) or SKESK
 * (tag 3, versions 4 to 6) — followed by an encrypted data packet — SEIPD (tag 18, versions 1 and 2)
 * or the LibrePGP OCB packet (tag 20, version 1); Marker packets (tag 10) are skipped (RFC 9580 §10.3
 * "OpenPGP Messages", §5.1, §5.3, §5.8, §5.13; LibrePGP §5.16). Packet headers in both formats are
 * read, with partial body lengths on the data packet (RFC 9580 §4.2). ASCII armor (RFC 9580 §6.2)
 * is decoded first. The legacy unprotected data packet (tag 9) is refused.
 */

/** How many leading bytes of a binary the check reads: room for many recipients' session keys. */
export const CIPHERTEXT_CHECK_BYTES = 64 * 1024;

/** What to do when Write meets something that is not ciphertext. */
export const ENCRYPT_BEFORE_WRITE = 'Put an OpenPGP node (Encrypt) or turn on Encrypt at Capture before S3 Archive Write';

const PKESK = 1;
const SKESK = 3;
const MARKER = 10;
const SEIPD = 18;
const OCB_ENCRYPTED = 20;

const PACKET_NAMES: Record<number, string> = {
	2: 'a signature',
	4: 'a one-pass signature',
	5: 'a secret key',
	6: 'a public key',
	8: 'compressed data',
	9: 'unprotected encrypted data (no integrity protection)',
	11: 'literal data',
	14: 'a public subkey',
};

interface PacketHeader {
	tag: number;
	/** Offset of the body. */
	body: number;
	/** Body length; `partial` when this is the first chunk of a partial-length body. */
	length: number;
	partial: boolean;
	/** Legacy indeterminate length: the body runs to the end of the input. */
	indeterminate: boolean;
}

/** The header at `offset`, or a reason; `truncated` when the input ends inside the header. */
function readHeader(bytes: Uint8Array, offset: number): PacketHeader | 'truncated' | 'not a packet' {
	const ctb = bytes[offset];
	if ((ctb & 0x80) === 0) return 'not a packet';
	const at = (n: number) => (offset + n < bytes.length ? bytes[offset + n] : -1);
	if (ctb & 0x40) {
		// OpenPGP (new) format, RFC 9580 §4.2.1
		const tag = ctb & 0x3f;
		const l1 = at(1);
		if (l1 < 0) return 'truncated';
		if (l1 < 192) return { tag, body: offset + 2, length: l1, partial: false, indeterminate: false };
		if (l1 < 224) {
			const l2 = at(2);
			if (l2 < 0) return 'truncated';
			return { tag, body: offset + 3, length: ((l1 - 192) << 8) + l2 + 192, partial: false, indeterminate: false };
		}
		if (l1 < 255) return { tag, body: offset + 2, length: 1 << (l1 & 0x1f), partial: true, indeterminate: false };
		if (offset + 6 > bytes.length) return 'truncated';
		const length = ((at(2) << 24) >>> 0) + (at(3) << 16) + (at(4) << 8) + at(5);
		return { tag, body: offset + 6, length, partial: false, indeterminate: false };
	}
	// legacy format, RFC 9580 §4.2.2
	const tag = (ctb >> 2) & 0x0f;
	const lengthType = ctb & 0x03;
	if (lengthType === 3) return { tag, body: offset + 1, length: 0, partial: false, indeterminate: true };
	const octets = 1 << lengthType;
	if (offset + 1 + octets > bytes.length) return 'truncated';
	let length = 0;
	for (let n = 1; n <= octets; n++) length = length * 256 + at(n);
	return { tag, body: offset + 1 + octets, length, partial: false, indeterminate: false };
}

/**
 * Why `head` does not begin an OpenPGP encrypted message, or null when it does. `complete`: `head`
 * is the whole binary (else its first bytes). The reason never quotes the bytes.
 */
export function encryptedMessageProblem(head: Uint8Array, complete: boolean): string | null {
	if (head.length === 0) return complete ? 'it is empty' : 'no bytes could be read';
	const armored = dearmor(head);
	if (armored) {
		if (typeof armored === 'string') return armored;
		return packetProblem(armored.bytes, complete && armored.complete);
	}
	return packetProblem(head, complete);
}

function packetProblem(bytes: Uint8Array, complete: boolean): string | null {
	let offset = 0;
	let sessionKeys = 0;
	const ended = complete ? 'the OpenPGP packets end before any encrypted data' : `no encrypted data packet within the first ${CIPHERTEXT_CHECK_BYTES / 1024} KiB`;
	while (offset < bytes.length) {
		const header = readHeader(bytes, offset);
		if (header === 'not a packet') {
			return offset === 0 ? 'it does not start with an OpenPGP packet' : 'bytes that are not an OpenPGP packet follow its session keys';
		}
		if (header === 'truncated') return ended;
		const version = header.body < bytes.length ? bytes[header.body] : -1;
		if (header.tag === SEIPD || header.tag === OCB_ENCRYPTED) {
			if (sessionKeys === 0) return 'its encrypted data has no session key packet before it';
			if (version < 0) return complete ? 'the encrypted data packet is empty' : null;
			const known = header.tag === SEIPD ? version === 1 || version === 2 : version === 1;
			return known ? null : `the encrypted data packet has unknown version ${version}`;
		}
		if (header.tag === PKESK || header.tag === SKESK) {
			if (header.partial || header.indeterminate) return 'a session key packet has a length only data packets may have';
			if (version >= 0 && !(header.tag === PKESK ? version === 3 || version === 6 : version >= 4 && version <= 6)) {
				return `a session key packet has unknown version ${version}`;
			}
			sessionKeys += 1;
		} else if (header.tag !== MARKER) {
			const name = PACKET_NAMES[header.tag] ?? `a packet of type ${header.tag}`;
			return offset === 0 ? `its first OpenPGP packet is ${name}, not a session key` : `${name} follows its session keys instead of an integrity-protected encrypted data packet`;
		}
		if (header.partial || header.indeterminate) return ended;
		offset = header.body + header.length;
	}
	return ended;
}

const ARMOR_BEGIN = '-----BEGIN PGP MESSAGE-----';

/**
 * The packet bytes of an ASCII-armored message in `head` (RFC 9580 §6.2: header line, armor headers,
 * a blank line, base64, the checksum and tail lines), a reason when it is armor of something else, or
 * null when `head` is not armor.
 */
function dearmor(head: Uint8Array): { bytes: Uint8Array; complete: boolean } | string | null {
	let start = 0;
	if (head[0] === 0xef && head[1] === 0xbb && head[2] === 0xbf) start = 3;
	while (start < head.length && (head[start] === 0x20 || head[start] === 0x09 || head[start] === 0x0d || head[start] === 0x0a)) start += 1;
	if (head[start] !== 0x2d) return null;
	const text = Buffer.from(head.subarray(start)).toString('latin1');
	if (!text.startsWith('-----BEGIN PGP ')) return null;
	if (!text.startsWith(ARMOR_BEGIN)) return 'it is ASCII armor of something other than an OpenPGP message';
	const lines = text.split(/\r?\n/);
	let line = 1;
	while (line < lines.length && lines[line].trim() !== '') line += 1;
	if (line >= lines.length) return 'its ASCII armor has no blank line before the data';
	let base64 = '';
	let complete = false;
	for (line += 1; line < lines.length; line++) {
		const value = lines[line].trim();
		if (value.startsWith('=') || value.startsWith('-----END PGP MESSAGE-----')) {
			complete = true;
			break;
		}
		base64 += value;
	}
	if (!complete) base64 = base64.slice(0, base64.length - (base64.length % 4));
	if (!/^[A-Za-z0-9+/]*={0,2}$/.test(base64)) return 'its ASCII armor holds characters that are not base64';
	return { bytes: Buffer.from(base64, 'base64'), complete };
}

/**
 * Refuses bytes that do not begin an OpenPGP encrypted message ({@link encryptedMessageProblem}).
 *
 * @param options.field the binary property, named in the message.
 * @throws ArchiveError `InvalidInput` naming the field, the reason and the fix.
 */
export function assertEncryptedMessage(head: Uint8Array, options: { field: string; complete: boolean }): void {
	const problem = encryptedMessageProblem(head, options.complete);
	if (problem === null) return;
	throw new ArchiveError(
		`Binary property "${options.field}" is not an OpenPGP encrypted message (${problem}); the archive stores ciphertext only. ${ENCRYPT_BEFORE_WRITE}.`,
		{ code: 'InvalidInput', hint: `${ENCRYPT_BEFORE_WRITE}, or point the field at its ciphertext binary.` },
	);
}

/**
 * The first `maxBytes` of a stream, read and then released (the stream is destroyed); `complete`
 * when the stream ended within them.
 */
export async function readHead(stream: Readable, maxBytes = CIPHERTEXT_CHECK_BYTES): Promise<{ head: Buffer; complete: boolean }> {
	const chunks: Buffer[] = [];
	let length = 0;
	try {
		for await (const chunk of stream) {
			const bytes = Buffer.isBuffer(chunk) ? chunk : Buffer.from(chunk as Uint8Array | string);
			chunks.push(bytes);
			length += bytes.length;
			if (length >= maxBytes) return { head: Buffer.concat(chunks).subarray(0, maxBytes), complete: false };
		}
		return { head: Buffer.concat(chunks), complete: true };
	} finally {
		stream.destroy();
	}
}
