/**
 * Streaming writer of the GnuPG-compatible message shape with Node's native crypto (OpenSSL), for
 * large binary inputs: PKESK v3 + SEIPD v1 (AES-256, MDC) + binary literal data, no compression,
 * no signature. It replaces OpenPGP.js's web-stream pipeline on the hot path of `encrypt` (profile
 * `gnupg`, binary, unsigned, uncompressed, stream input); OpenPGP.js still makes the PKESKs, so key
 * selection, expiry and algorithm checks stay OpenPGP.js's.
 *
 * Layout written (RFC 4880):
 * - one Public-Key Encrypted Session Key packet per recipient (§5.1), from OpenPGP.js
 *   `encryptSessionKey` (PKESK v3, session key algorithm AES-256);
 * - a Symmetrically Encrypted Integrity Protected Data packet (§5.13), tag 18, new format, with
 *   partial body lengths (§4.2.2.4): version octet 1, then AES-256 in OpenPGP CFB mode over
 *     - 16 random octets followed by a repetition of their last 2 octets (§5.13; the §13.9 "resync"
 *       variant is for tag 9 only: tag 18 uses plain full-block CFB with an all-zero IV),
 *     - a Literal Data packet (§5.9), tag 11, new format, partial body lengths, format `b`, the
 *       file name and the date,
 *     - the Modification Detection Code packet (§5.14): 0xD3 0x14 and the SHA-1 of every plaintext
 *       octet before it, the prefix and the two MDC header octets included.
 * Partial body chunks are 2^k octets (default k = 20, 1 MiB; the first must be ≥ 512 octets,
 * §4.2.2.4); the last chunk of each packet carries a regular length, possibly 0.
 *
 * CFB from CBC. OpenSSL's `aes-256-cfb` encrypt runs well below its `aes-256-cbc` encrypt on x86-64
 * (both are serial, CBC has the tighter loop). Full-block CFB with IV = 0 is
 *     C_1 = P_1 ⊕ E(0),   C_i = P_i ⊕ E(C_{i-1}),
 * and CBC encryption with IV = X is D_1 = E(P_1 ⊕ X), D_i = E(P_i ⊕ D_{i-1}). With X = E(0):
 *     D_1 = E(P_1 ⊕ E(0)) = E(C_1), and by induction D_i = E(C_i),
 * so the CBC outputs are exactly the next CFB keystream blocks: C_1 = P_1 ⊕ E(0) and
 * C_i = P_i ⊕ D_{i-1}. {@link Aes256CfbEncryptor} therefore keeps one long-lived `aes-256-cbc`
 * cipher (no padding, IV = E(0), computed once with `aes-256-ecb`), feeds it whole plaintext
 * blocks, XORs each plaintext block with the previous CBC output (32-bit words, in place), and
 * keeps the last CBC output as the keystream of the next block. A final partial block of r < 16
 * octets is P ⊕ the first r octets of that keystream, as in CFB. The OpenSSL CBC context keeps its
 * chain between `update` calls, so the identity holds across batches.
 */
import { createCipheriv, createHash, randomBytes, type Cipheriv, type Hash } from 'node:crypto';
import { Readable, Transform, pipeline, type TransformCallback } from 'node:stream';
import * as openpgp from 'openpgp';

/** Octets of plaintext handed to OpenSSL per call (a multiple of 16). */
const DEFAULT_BATCH_BYTES = 1024 * 1024;

/** Default partial body chunk exponent: 2^20 octets (1 MiB) per partial chunk. */
export const DEFAULT_CHUNK_EXPONENT = 20;

/** Options of {@link Aes256CfbEncryptor}. */
export interface Aes256CfbEncryptorOptions {
	/** Receives each batch of ciphertext (a new buffer, owned by the receiver). */
	onCiphertext: (ciphertext: Buffer) => void;
	/** Plaintext octets per OpenSSL call, rounded down to a multiple of 16. Default 1 MiB. */
	batchBytes?: number;
}

/**
 * AES-256 in OpenPGP's full-block CFB mode with an all-zero IV (RFC 4880 §13.9 without resync, as
 * SEIPD packets use), computed from OpenSSL AES-256-CBC (see the module comment). Byte-equal to
 * Node's `createCipheriv('aes-256-cfb', key, Buffer.alloc(16))`. Plaintext is gathered into one
 * reused aligned buffer of `batchBytes`, so ciphertext comes out in batches (the last at `end`).
 */
export class Aes256CfbEncryptor {
	private readonly cbc: Cipheriv;
	/** Keystream for the next plaintext block: E(previous ciphertext block). */
	private readonly keystream: Buffer;
	private readonly keystreamWords: Int32Array;
	private readonly staging: Buffer;
	private staged = 0;
	private ended = false;

	constructor(
		key: Uint8Array,
		private readonly options: Aes256CfbEncryptorOptions,
	) {
		if (key.length !== 32) throw new Error('AES-256 needs a 32-octet key');
		const batch = Math.max(16, Math.floor((options.batchBytes ?? DEFAULT_BATCH_BYTES) / 16) * 16);
		const ecb = createCipheriv('aes-256-ecb', key, null);
		ecb.setAutoPadding(false);
		const first = ecb.update(Buffer.alloc(16));
		ecb.final();
		// Own (aligned) copies: Int32Array views need 4-aligned offsets.
		this.keystream = Buffer.allocUnsafeSlow(16);
		first.copy(this.keystream);
		this.keystreamWords = new Int32Array(this.keystream.buffer, this.keystream.byteOffset, 4);
		this.cbc = createCipheriv('aes-256-cbc', key, this.keystream);
		this.cbc.setAutoPadding(false);
		this.staging = Buffer.allocUnsafeSlow(batch);
	}

	/** Adds plaintext; emits ciphertext through `onCiphertext` whenever a batch is full. */
	write(piece: Uint8Array): void {
		if (this.ended) throw new Error('write after end');
		let offset = 0;
		while (offset < piece.length) {
			const n = Math.min(piece.length - offset, this.staging.length - this.staged);
			this.staging.set(piece.subarray(offset, offset + n), this.staged);
			this.staged += n;
			offset += n;
			if (this.staged === this.staging.length) this.flushBatch(this.staged);
		}
	}

	/** Encrypts what is left, the final partial block included, and emits it. */
	end(): void {
		if (this.ended) return;
		this.ended = true;
		const full = this.staged - (this.staged % 16);
		const rest = this.staged - full;
		if (full > 0) {
			// Keep the partial tail out of the batch's reach: move it to the front afterwards.
			const tail = Buffer.from(this.staging.subarray(full, this.staged));
			this.flushBatch(full);
			tail.copy(this.staging, 0);
		}
		if (rest > 0) {
			const plaintext = this.staging.subarray(0, rest);
			const ciphertext = Buffer.allocUnsafe(rest);
			for (let i = 0; i < rest; i++) ciphertext[i] = plaintext[i] ^ this.keystream[i];
			this.options.onCiphertext(ciphertext);
		}
		this.staged = 0;
	}

	/** Encrypts the first `length` (a multiple of 16) staged octets. */
	private flushBatch(length: number): void {
		const plaintext = this.staging.subarray(0, length);
		// D_i = E(P_i ⊕ D_{i-1}), D_0 = keystream: D_i is the keystream of block i + 1.
		const next = this.cbc.update(plaintext);
		if (next.length !== length) throw new Error('unexpected AES-CBC output length');
		const words = length >>> 2;
		if ((next.byteOffset & 3) === 0) {
			const d = new Int32Array(next.buffer, next.byteOffset, words);
			const p = new Int32Array(plaintext.buffer, plaintext.byteOffset, words);
			const k = this.keystreamWords;
			const l0 = d[words - 4];
			const l1 = d[words - 3];
			const l2 = d[words - 2];
			const l3 = d[words - 1];
			// In place, from the end: C_i = P_i ⊕ D_{i-1} reads D_{i-1} before it is overwritten.
			for (let j = words - 1; j >= 4; j--) d[j] = p[j] ^ d[j - 4];
			d[0] = p[0] ^ k[0];
			d[1] = p[1] ^ k[1];
			d[2] = p[2] ^ k[2];
			d[3] = p[3] ^ k[3];
			k[0] = l0;
			k[1] = l1;
			k[2] = l2;
			k[3] = l3;
		} else {
			// Unaligned output buffer (not seen with OpenSSL 3, kept for safety): byte loop.
			const last = Buffer.from(next.subarray(length - 16, length));
			for (let i = length - 1; i >= 16; i--) next[i] = plaintext[i] ^ next[i - 16];
			for (let i = 0; i < 16; i++) next[i] = plaintext[i] ^ this.keystream[i];
			last.copy(this.keystream);
		}
		this.staged = 0;
		this.options.onCiphertext(next);
	}
}

/** Regular (non-partial) new-format body length, RFC 4880 §4.2.2.1–4.2.2.3. */
export function regularLength(length: number): Buffer {
	if (length < 192) return Buffer.from([length]);
	if (length < 8384) {
		const rest = length - 192;
		return Buffer.from([(rest >> 8) + 192, rest & 0xff]);
	}
	const out = Buffer.alloc(5);
	out[0] = 0xff;
	out.writeUInt32BE(length, 1);
	return out;
}

/**
 * Frames a stream of body octets as one packet body with partial lengths (RFC 4880 §4.2.2.4):
 * emits the octet 224 + k and exactly 2^k octets while more than 2^k octets are pending (so the
 * final, regular-length part is never empty unless the whole body is), the rest with a regular
 * length at `end()`. Zero-copy: emits subarrays of what it was given.
 */
class PartialBodyFramer {
	private readonly size: number;
	private readonly header: Buffer;
	private pending: Buffer[] = [];
	private pendingBytes = 0;

	constructor(
		exponent: number,
		private readonly emit: (piece: Buffer) => void,
	) {
		this.size = 2 ** exponent;
		this.header = Buffer.from([224 + exponent]);
	}

	write(piece: Buffer): void {
		if (piece.length === 0) return;
		this.pending.push(piece);
		this.pendingBytes += piece.length;
		while (this.pendingBytes > this.size) this.emitPart();
	}

	private emitPart(): void {
		this.emit(this.header);
		let left = this.size;
		while (left > 0) {
			const head = this.pending[0];
			if (head.length <= left) {
				this.emit(head);
				left -= head.length;
				this.pending.shift();
			} else {
				this.emit(head.subarray(0, left));
				this.pending[0] = head.subarray(left);
				left = 0;
			}
		}
		this.pendingBytes -= this.size;
	}

	end(): void {
		this.emit(regularLength(this.pendingBytes));
		for (const piece of this.pending) this.emit(piece);
		this.pending = [];
		this.pendingBytes = 0;
	}
}

/** Options of {@link SeipdV1Encryptor} and {@link encryptSeipdV1Stream}. */
export interface SeipdV1StreamOptions {
	/** File name in the literal packet (UTF-8, at most 255 octets), visible after decryption. */
	filename: string;
	/** Date in the literal packet. */
	date: Date;
	/** Partial body chunk exponent k (2^k octets per chunk), 9–30. Default 20 (1 MiB). */
	chunkExponent?: number;
	/** Plaintext octets per OpenSSL call. Default 1 MiB. */
	batchBytes?: number;
}

/**
 * Encrypting transform: plaintext octets in, the binary OpenPGP message out (PKESKs first).
 * Memory: about one partial chunk of plaintext, one of ciphertext and one batch.
 */
export class SeipdV1Encryptor extends Transform {
	private readonly cfb: Aes256CfbEncryptor;
	private readonly sha1: Hash;
	private readonly literal: PartialBodyFramer;
	private readonly outer: PartialBodyFramer;

	/**
	 * @param sessionKey the 32-octet AES-256 session key the PKESKs carry
	 * @param pkesks the PKESK packets, binary, written first
	 */
	constructor(sessionKey: Uint8Array, pkesks: Uint8Array, options: SeipdV1StreamOptions) {
		super();
		const exponent = options.chunkExponent ?? DEFAULT_CHUNK_EXPONENT;
		if (!Number.isInteger(exponent) || exponent < 9 || exponent > 30) {
			throw new RangeError('chunkExponent must be an integer from 9 to 30');
		}
		const name = Buffer.from(options.filename, 'utf8');
		if (name.length > 255) throw new RangeError('filename longer than 255 octets');
		this.sha1 = createHash('sha1');
		this.push(Buffer.from(pkesks));
		this.push(Buffer.from([0xc0 | 18]));
		this.outer = new PartialBodyFramer(exponent, (piece) => this.push(piece));
		this.outer.write(Buffer.from([1]));
		this.cfb = new Aes256CfbEncryptor(sessionKey, {
			batchBytes: options.batchBytes,
			onCiphertext: (ciphertext) => this.outer.write(ciphertext),
		});
		const prefix = randomBytes(18);
		prefix[16] = prefix[14];
		prefix[17] = prefix[15];
		this.plaintext(prefix);
		this.plaintext(Buffer.from([0xc0 | 11]));
		this.literal = new PartialBodyFramer(exponent, (piece) => this.plaintext(piece));
		const header = Buffer.alloc(1 + 1 + name.length + 4);
		header[0] = 0x62; // 'b': binary
		header[1] = name.length;
		name.copy(header, 2);
		header.writeUInt32BE(Math.floor(options.date.getTime() / 1000) >>> 0, 2 + name.length);
		this.literal.write(header);
	}

	override _transform(chunk: Buffer, _encoding: BufferEncoding, callback: TransformCallback): void {
		try {
			this.literal.write(chunk);
			callback();
		} catch (error) {
			callback(error as Error);
		}
	}

	override _flush(callback: TransformCallback): void {
		try {
			this.literal.end();
			// The MDC hashes every plaintext octet before it, its own two header octets included (§5.14).
			const mdcHeader = Buffer.from([0xd3, 0x14]);
			this.plaintext(mdcHeader);
			this.cfb.write(this.sha1.digest());
			this.cfb.end();
			this.outer.end();
			callback();
		} catch (error) {
			callback(error as Error);
		}
	}

	/** SEIPD plaintext (prefix, literal packet, MDC header): hashed for the MDC, then encrypted. */
	private plaintext(piece: Buffer): void {
		this.sha1.update(piece);
		this.cfb.write(piece);
	}
}

/** Options of {@link encryptSeipdV1Stream}. */
export interface EncryptSeipdV1StreamOptions extends SeipdV1StreamOptions {
	/** Plaintext: a Node `Readable` or a web `ReadableStream` of octets. */
	data: Readable | ReadableStream<Uint8Array>;
	/** Recipients, already checked (profile, usable encryption key at `date`). */
	recipients: openpgp.PublicKey[];
}

/**
 * Encrypts a stream to `recipients` as PKESK v3 + SEIPD v1 (AES-256, MDC) + binary literal data:
 * a fresh random session key, encrypted to every recipient by OpenPGP.js `encryptSessionKey`
 * (key selection and expiry at `date` are OpenPGP.js's), then {@link SeipdV1Encryptor}.
 *
 * @returns a Node `Readable` of the binary message; errors of the source surface on it, and
 *  destroying it destroys the source.
 * @throws what `encryptSessionKey` throws (no usable encryption key…)
 */
export async function encryptSeipdV1Stream(
	options: EncryptSeipdV1StreamOptions,
): Promise<Readable> {
	const sessionKey = new Uint8Array(randomBytes(32));
	const pkesks = await openpgp.encryptSessionKey({
		data: sessionKey,
		algorithm: 'aes256',
		encryptionKeys: options.recipients,
		format: 'binary',
		date: options.date,
	});
	const encryptor = new SeipdV1Encryptor(sessionKey, pkesks, options);
	const source =
		options.data instanceof Readable
			? options.data
			: Readable.fromWeb(options.data as Parameters<typeof Readable.fromWeb>[0]);
	// Errors travel both ways: a source error destroys the encryptor with it, and a consumer that
	// destroys the encryptor destroys the source. The outcome is reported on the encryptor itself.
	pipeline(source, encryptor, () => undefined);
	return encryptor;
}
