/**
 * Streaming writer (and, for the one fallback that needs it, reader) of SEIPD v1 with Node's native
 * crypto (OpenSSL). The writer makes the GnuPG-compatible message shape for large binary inputs: PKESK v3 + SEIPD v1 (AES-256, MDC) + binary literal data, no compression,
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
 * The encryption is OpenSSL's `aes-256-cfb` (full-block CFB-128) with an all-zero IV over the whole
 * SEIPD plaintext, prefix included: exactly the §5.13 construction (the reader's side below uses the
 * same cipher). It runs on the calling thread, a slice at a time: each slice is SHA-1-hashed and then
 * encrypted while it is still in the CPU cache.
 */
import {
	createCipheriv,
	createDecipheriv,
	createHash,
	randomBytes,
	type Cipheriv,
	type Decipheriv,
	type Hash,
} from 'node:crypto';
import { Readable, Transform, pipeline, type TransformCallback } from 'node:stream';
import * as openpgp from 'openpgp';

/** Default partial body chunk exponent: 2^20 octets (1 MiB) per partial chunk. */
export const DEFAULT_CHUNK_EXPONENT = 20;

/** Default plaintext octets per SHA-1 and AES call (see {@link SeipdV1StreamOptions.sliceBytes}). */
export const DEFAULT_SLICE_BYTES = 16 * 1024;

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
	/**
	 * Plaintext octets per SHA-1 update and AES-CFB update (at least 16). Default 16 KiB: AES reads
	 * what SHA-1 just read from the CPU cache, and each slice's ciphertext buffer is small enough to
	 * come from malloc's heap rather than a fresh mapping (sizes compared in docs/benchmarks.md).
	 */
	sliceBytes?: number;
}

/**
 * Encrypting transform: plaintext octets in, the binary OpenPGP message out (PKESKs first).
 * Synchronous per input chunk; memory: the ciphertext of one input chunk plus what the framers hold
 * (less than one partial chunk each).
 */
export class SeipdV1Encryptor extends Transform {
	private readonly cipher: Cipheriv;
	private readonly sliceBytes: number;
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
		if (sessionKey.length !== 32) throw new RangeError('AES-256 needs a 32-octet session key');
		const slice = options.sliceBytes ?? DEFAULT_SLICE_BYTES;
		if (!Number.isInteger(slice) || slice < 16) {
			throw new RangeError('sliceBytes must be an integer of at least 16');
		}
		this.sliceBytes = slice;
		this.sha1 = createHash('sha1');
		// RFC 4880 §5.13: CFB with an all-zero IV, no resynchronisation after the prefix.
		this.cipher = createCipheriv('aes-256-cfb', sessionKey, Buffer.alloc(16));
		this.push(Buffer.from(pkesks));
		this.push(Buffer.from([0xc0 | 18]));
		this.outer = new PartialBodyFramer(exponent, (piece) => this.push(piece));
		this.outer.write(Buffer.from([1]));
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
		} catch (error) {
			callback(error as Error);
			return;
		}
		callback();
	}

	override _flush(callback: TransformCallback): void {
		try {
			this.literal.end();
			// The MDC hashes every plaintext octet before it, its own two header octets included (§5.14).
			const mdcHeader = Buffer.from([0xd3, 0x14]);
			this.plaintext(mdcHeader);
			this.outer.write(this.cipher.update(this.sha1.digest()));
			this.outer.write(this.cipher.final());
			this.outer.end();
		} catch (error) {
			callback(error as Error);
			return;
		}
		callback();
	}

	/**
	 * SEIPD plaintext (prefix, literal packet, MDC header): hashed for the MDC, then encrypted, a
	 * slice at a time.
	 */
	private plaintext(piece: Buffer): void {
		for (let offset = 0; offset < piece.length; offset += this.sliceBytes) {
			const slice = piece.subarray(offset, offset + this.sliceBytes);
			this.sha1.update(slice);
			this.outer.write(this.cipher.update(slice));
		}
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
export async function encryptSeipdV1Stream(options: EncryptSeipdV1StreamOptions): Promise<Readable> {
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

/** Node cipher names of the session key algorithms {@link SeipdV1Decryptor} reads. */
export const SEIPD_V1_CFB_CIPHERS: Readonly<Record<string, string>> = {
	aes128: 'aes-128-cfb',
	aes192: 'aes-192-cfb',
	aes256: 'aes-256-cfb',
};

/** Octets of the MDC packet at the end of the SEIPD v1 plaintext: 0xD3 0x14 and a SHA-1 (§5.14). */
const MDC_PACKET_LENGTH = 22;

/**
 * Decrypting transform, the reader's side of {@link SeipdV1Encryptor}: the encrypted data of a
 * SEIPD v1 packet (RFC 4880 §5.13, after the version octet) in, the packets it holds out, without
 * the random prefix and the MDC. AES in CFB mode with an all-zero IV; the SHA-1 of every plaintext
 * octet before the MDC's 20 (§5.14) is checked at the end, so the output is authenticated only
 * once the stream ended without error: a mismatch, a missing MDC or a truncated body fails it with
 * `onMismatch()`. Holds back the last 22 octets seen (the MDC, once the input ends).
 */
export class SeipdV1Decryptor extends Transform {
	private readonly decipher: Decipheriv;
	private readonly sha1 = createHash('sha1');
	private held = Buffer.alloc(0);
	private prefixLeft = 18;

	/**
	 * @param cipher a Node cipher name of {@link SEIPD_V1_CFB_CIPHERS}
	 * @param onMismatch the error for a message that fails its integrity check
	 */
	constructor(
		cipher: string,
		sessionKey: Uint8Array,
		private readonly onMismatch: () => Error,
	) {
		super();
		this.decipher = createDecipheriv(cipher, sessionKey, Buffer.alloc(16));
	}

	override _transform(chunk: Buffer, _encoding: BufferEncoding, callback: TransformCallback): void {
		this.release(this.decipher.update(chunk));
		callback();
	}

	override _flush(callback: TransformCallback): void {
		this.release(this.decipher.final());
		const mdc = this.held;
		if (this.prefixLeft > 0 || mdc.length !== MDC_PACKET_LENGTH || mdc[0] !== 0xd3 || mdc[1] !== 0x14) {
			callback(this.onMismatch());
			return;
		}
		this.sha1.update(mdc.subarray(0, 2));
		callback(this.sha1.digest().equals(mdc.subarray(2)) ? null : this.onMismatch());
	}

	/** Hash and pass on all but the last 22 plaintext octets seen; drop the prefix. */
	private release(plaintext: Buffer): void {
		if (plaintext.length === 0) return;
		const all = this.held.length > 0 ? Buffer.concat([this.held, plaintext]) : plaintext;
		if (all.length <= MDC_PACKET_LENGTH) {
			this.held = Buffer.from(all);
			return;
		}
		let released = all.subarray(0, all.length - MDC_PACKET_LENGTH);
		this.held = Buffer.from(all.subarray(all.length - MDC_PACKET_LENGTH));
		this.sha1.update(released);
		if (this.prefixLeft > 0) {
			const skip = Math.min(this.prefixLeft, released.length);
			this.prefixLeft -= skip;
			released = released.subarray(skip);
		}
		if (released.length > 0) this.push(released);
	}
}
