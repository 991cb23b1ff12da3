/**
 * PROTOTYPE (benchmark only, not used by the nodes): a streaming OpenPGP encryptor that writes the
 * gpg-compatible profile (PKESK v3 + SEIPD v1, AES-256, MDC) with Node's native crypto
 * (`aes-256-cfb` and `sha1` from OpenSSL) instead of OpenPGP.js's web-stream pipeline. It exists to
 * measure how far the ceiling is from OpenPGP.js; the engine owners decide whether it moves into lib/pgp.
 *
 * Layout written (RFC 4880):
 * - the PKESK packets (§5.1), one per recipient, made by OpenPGP.js `encryptSessionKey` (so key
 *   selection, expiry and algorithm checks stay OpenPGP.js's);
 * - a Symmetrically Encrypted Integrity Protected Data packet (§5.13), tag 18 new format (0xD2), with
 *   partial body lengths (§4.2.2.4): version 1, then AES-256-CFB (full-block CFB, IV = zeros, no
 *   resync, §13.9 does not apply to tag 18) over
 *     - 16 random bytes followed by their last 2 bytes repeated (§5.13),
 *     - a Literal Data packet (§5.9), tag 11 new format (0xCB), partial body lengths, format 'b',
 *       a neutral file name and a date,
 *     - the Modification Detection Code packet (§5.14): 0xD3 0x14 + SHA-1 over everything before it
 *       in the plaintext, including 0xD3 0x14.
 * Partial chunks are 2^k bytes (k = `chunkExponent`, default 20 → 1 MiB); the last chunk of each
 * packet has a regular length. Memory stays near one chunk plus the source's chunk.
 * Option `hashInWorker` moves the MDC's SHA-1 to a worker thread (AES-CFB is serial and stays on the
 * main thread), to use a second core when there is one.
 */
import { createCipheriv, createHash, randomBytes, type Cipheriv, type Hash } from 'node:crypto';
import { Transform, type TransformCallback } from 'node:stream';
import { Worker } from 'node:worker_threads';
import * as openpgp from 'openpgp';

/** Regular (non-partial) new-format length (§4.2.2.1–4.2.2.3). */
export function regularLength(length: number): Buffer {
	if (length < 192) return Buffer.from([length]);
	if (length < 8384) {
		const l = length - 192;
		return Buffer.from([(l >> 8) + 192, l & 0xff]);
	}
	const out = Buffer.alloc(5);
	out[0] = 0xff;
	out.writeUInt32BE(length, 1);
	return out;
}

/**
 * Frames a stream of body bytes as one packet body with partial lengths: emits `[224 + k]` and
 * exactly 2^k bytes while more than 2^k bytes are pending (so the final part is never empty unless the
 * whole body is), and the rest with a regular length at `end()`. Zero-copy: emits subarrays.
 */
class PartialFramer {
	private readonly size: number;
	private readonly header: Buffer;
	private pending: Buffer[] = [];
	private pendingBytes = 0;

	constructor(
		exponent: number,
		private readonly emit: (piece: Buffer) => void,
	) {
		if (exponent < 9 || exponent > 30) throw new Error('chunkExponent must be 9..30 (first partial ≥ 512 bytes)');
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

export interface NativeEncryptOptions {
	/** Recipient public keys (OpenPGP.js objects, already checked for the gnupg profile). */
	encryptionKeys: openpgp.PublicKey[];
	/** File name in the literal packet (visible after decryption). Default `data.bin`. */
	filename?: string;
	date?: Date;
	/** Partial chunk size exponent: 2^k bytes per partial body chunk (default 20 → 1 MiB). */
	chunkExponent?: number;
	/**
	 * Compute the MDC's SHA-1 on a worker thread, in parallel with AES-CFB on the main thread
	 * (plaintext copied to the worker once per source chunk, at most 8 MiB in flight). Default false.
	 */
	hashInWorker?: boolean;
}

/** SHA-1 on a worker thread: `update` posts a transferred copy; `digest` resolves with the hash. */
class WorkerSha1 {
	private readonly worker: Worker;
	private outstanding = 0;
	private waiting: (() => void) | null = null;
	private digestResolve: ((digest: Buffer) => void) | null = null;
	private pending: Buffer[] = [];
	private pendingBytes = 0;
	static readonly LIMIT = 8 * 1024 * 1024;

	constructor() {
		this.worker = new Worker(
			`const { parentPort } = require('node:worker_threads');
			const hash = require('node:crypto').createHash('sha1');
			parentPort.on('message', (m) => {
				if (m === null) parentPort.postMessage({ digest: hash.digest() });
				else { hash.update(m); parentPort.postMessage({ ack: m.byteLength }); }
			});`,
			{ eval: true },
		);
		this.worker.on('message', (m: { ack?: number; digest?: Uint8Array }) => {
			if (m.ack !== undefined) {
				this.outstanding -= m.ack;
				if (this.waiting && this.outstanding < WorkerSha1.LIMIT) {
					const resume = this.waiting;
					this.waiting = null;
					resume();
				}
			} else if (m.digest && this.digestResolve) {
				this.digestResolve(Buffer.from(m.digest));
			}
		});
	}

	/** Queues bytes (they may be subarrays of buffers the caller reuses: they are copied at `flush`). */
	update(piece: Buffer): void {
		this.pending.push(piece);
		this.pendingBytes += piece.length;
	}

	/** Sends the queued bytes as one transferred copy; calls `resume` when the worker has room. */
	flush(resume: () => void): void {
		if (this.pendingBytes > 0) {
			const copy = new Uint8Array(this.pendingBytes);
			let offset = 0;
			for (const piece of this.pending) {
				copy.set(piece, offset);
				offset += piece.length;
			}
			this.pending = [];
			this.pendingBytes = 0;
			this.outstanding += copy.byteLength;
			this.worker.postMessage(copy, [copy.buffer]);
		}
		if (this.outstanding < WorkerSha1.LIMIT) resume();
		else this.waiting = resume;
	}

	async digest(): Promise<Buffer> {
		await new Promise<void>((resolve) => this.flush(resolve));
		const digest = await new Promise<Buffer>((resolve) => {
			this.digestResolve = resolve;
			this.worker.postMessage(null);
		});
		await this.worker.terminate();
		return digest;
	}

	terminate(): void {
		void this.worker.terminate();
	}
}

/** Encrypting transform: plaintext bytes in, binary OpenPGP message out. */
export class NativeSeipdV1Encryptor extends Transform {
	private readonly cipher: Cipheriv;
	private readonly sha1: Hash | null;
	private readonly workerSha1: WorkerSha1 | null;
	private readonly literal: PartialFramer;
	private readonly outer: PartialFramer;

	constructor(sessionKey: Uint8Array, pkesk: Uint8Array, options: NativeEncryptOptions) {
		super();
		const exponent = options.chunkExponent ?? 20;
		this.cipher = createCipheriv('aes-256-cfb', sessionKey, Buffer.alloc(16));
		this.workerSha1 = options.hashInWorker ? new WorkerSha1() : null;
		this.sha1 = this.workerSha1 ? null : createHash('sha1');
		// Outer SEIPD packet: PKESKs, tag 18 header, partial-length body = version 1 + ciphertext.
		this.push(Buffer.from(pkesk));
		this.push(Buffer.from([0xc0 | 18]));
		this.outer = new PartialFramer(exponent, (piece) => this.push(piece));
		this.outer.write(Buffer.from([1]));
		// Plaintext: prefix, literal packet header, literal body (framed).
		const prefix = randomBytes(18);
		prefix[16] = prefix[14];
		prefix[17] = prefix[15];
		this.inner(prefix);
		this.inner(Buffer.from([0xc0 | 11]));
		this.literal = new PartialFramer(exponent, (piece) => this.inner(piece));
		const name = Buffer.from(options.filename ?? 'data.bin', 'utf8');
		if (name.length > 255) throw new Error('filename longer than 255 bytes');
		const meta = Buffer.alloc(1 + 1 + name.length + 4);
		meta[0] = 0x62; // 'b'
		meta[1] = name.length;
		name.copy(meta, 2);
		meta.writeUInt32BE(Math.floor((options.date ?? new Date()).getTime() / 1000), 2 + name.length);
		this.literal.write(meta);
	}

	/** Plaintext bytes of the SEIPD content: hashed for the MDC, encrypted, framed. */
	private inner(piece: Buffer): void {
		if (this.workerSha1) this.workerSha1.update(piece);
		else this.sha1!.update(piece);
		const ct = this.cipher.update(piece);
		if (ct.length) this.outer.write(ct);
	}

	override _transform(chunk: Buffer, _encoding: BufferEncoding, callback: TransformCallback): void {
		try {
			this.literal.write(chunk);
			if (this.workerSha1) this.workerSha1.flush(() => callback());
			else callback();
		} catch (error) {
			callback(error as Error);
		}
	}

	override _destroy(error: Error | null, callback: (error?: Error | null) => void): void {
		this.workerSha1?.terminate();
		callback(error);
	}

	override _flush(callback: TransformCallback): void {
		this.finish().then(() => callback(), (error: Error) => callback(error));
	}

	private async finish(): Promise<void> {
		{
			this.literal.end();
			const mdcHeader = Buffer.from([0xd3, 0x14]);
			let digest: Buffer;
			if (this.workerSha1) {
				this.workerSha1.update(mdcHeader);
				digest = await this.workerSha1.digest();
			} else {
				this.sha1!.update(mdcHeader);
				digest = this.sha1!.digest();
			}
			const tail = this.cipher.update(Buffer.concat([mdcHeader, digest]));
			const final = this.cipher.final();
			this.outer.write(tail);
			if (final.length) this.outer.write(final);
			this.outer.end();
		}
	}
}

/**
 * Creates the encrypting transform: a fresh random AES-256 session key, encrypted to every
 * recipient by OpenPGP.js (`encryptSessionKey`, PKESK v3 packets), then {@link NativeSeipdV1Encryptor}.
 */
export async function createNativeEncryptStream(options: NativeEncryptOptions): Promise<NativeSeipdV1Encryptor> {
	const sessionKey = new Uint8Array(randomBytes(32));
	const pkesk = (await openpgp.encryptSessionKey({
		data: sessionKey,
		algorithm: 'aes256',
		encryptionKeys: options.encryptionKeys,
		format: 'binary',
		date: options.date,
	})) as Uint8Array;
	return new NativeSeipdV1Encryptor(sessionKey, pkesk, options);
}
