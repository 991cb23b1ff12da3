/**
 * AES-256 in OpenPGP's full-block CFB mode (RFC 4880 §13.9 without the resync step, as SEIPD v1
 * packets use, §5.13), run on a worker thread (aes-cfb.worker.ts) with Node's native crypto
 * (OpenSSL).
 *
 * CFB from CBC. OpenSSL encrypts `aes-256-cbc` faster than `aes-256-cfb` on x86-64, though both are
 * serial (figures: docs/benchmarks.md, "Media encryption"). Full-block CFB with IV = 0 is
 *     C_1 = P_1 ⊕ E(0),   C_i = P_i ⊕ E(C_{i-1}),
 * and CBC encryption with IV = X is D_1 = E(P_1 ⊕ X), D_i = E(P_i ⊕ D_{i-1}). With X = E(0):
 *     D_1 = E(P_1 ⊕ E(0)) = E(C_1), and by induction D_i = E(C_i),
 * so the CBC outputs are exactly the next CFB keystream blocks: C_1 = P_1 ⊕ E(0) and
 * C_i = P_i ⊕ D_{i-1}. The worker keeps one long-lived `aes-256-cbc` cipher per stream (no padding,
 * IV = E(0) from `aes-256-ecb`; the OpenSSL context keeps its chain between calls), feeds it whole
 * plaintext blocks, XORs each plaintext block with the previous CBC output (32-bit words, in place)
 * and keeps the last CBC output as the keystream of the next block. A final partial block of
 * r < 16 octets is P ⊕ the first r octets of that keystream, as in CFB.
 *
 * Off the main thread. AES is the larger half of the CPU work of a SEIPD writer (SHA-1 for the MDC
 * is the other), and CFB encryption is serial, so it cannot be split; a worker thread runs it
 * while the main thread reads, frames and hashes the next batch, which a single-threaded writer
 * (gpg) cannot do. Each stream owns three batch buffers that travel to the worker and back
 * (transferred, so never copied between threads and never reallocated: the plaintext is copied
 * once, into them); the ciphertext is the worker's CBC output XORed in place and transferred. One worker
 * per process serves every stream (created on first use, ended after 30 s without streams; it keeps
 * the process alive only while a batch is with it); if it dies, the streams open on it fail and the
 * next one starts a new worker.
 */
import { createCipheriv } from 'node:crypto';
import { extname, join } from 'node:path';
import { Worker } from 'node:worker_threads';

import type { CfbReply, CfbRequest } from './aes-cfb.protocol';

/** Octets of plaintext per batch handed to the worker (a multiple of 16). */
const DEFAULT_BATCH_BYTES = 1024 * 1024;

/**
 * The worker thread ends after this long without an open stream: it holds a Node environment of
 * its own, memory given back once no stream needs it.
 */
let workerIdleMs = 30_000;

/** Batch buffers per stream: one being staged, up to two with the worker. */
const BATCH_BUFFERS = 3;

/**
 * The worker's file, next to this module and with its extension: `aes-cfb.worker.js` beside the
 * compiled module (dist/), `aes-cfb.worker.ts` when this module runs from source (ts-jest, tsx),
 * which Node runs by stripping its types.
 */
const WORKER_FILE = join(__dirname, `aes-cfb.worker${extname(__filename)}`);

interface Session {
	deliver(reply: CfbReply): void;
	fail(error: Error): void;
}

/**
 * The process-wide CFB worker: started on first use, referenced only while batches are with it (so
 * a pending batch keeps the process alive, and an idle or abandoned stream does not).
 */
class CfbWorkerHost {
	private worker: Worker | undefined;
	private readonly sessions = new Map<number, Session>();
	private nextId = 1;
	private inFlight = 0;
	private idleTimer: NodeJS.Timeout | undefined;

	open(session: Session, key: Uint8Array, iv: Uint8Array): number {
		const worker = this.worker ?? this.start();
		clearTimeout(this.idleTimer);
		const id = this.nextId++;
		this.sessions.set(id, session);
		worker.postMessage({ type: 'open', id, key, iv } satisfies CfbRequest);
		return id;
	}

	/** Hands a batch over (its buffer is transferred: detached here until it comes back). */
	post(id: number, plaintext: ArrayBuffer, length: number, final: boolean): void {
		const worker = this.worker;
		if (!worker) return;
		if (this.inFlight++ === 0) worker.ref();
		worker.postMessage({ type: 'batch', id, plaintext, length, final } satisfies CfbRequest, [
			plaintext,
		]);
	}

	close(id: number): void {
		if (!this.sessions.delete(id)) return;
		this.worker?.postMessage({ type: 'close', id } satisfies CfbRequest);
		if (this.sessions.size === 0) {
			// Give the thread's memory back when no stream has used it for a while.
			clearTimeout(this.idleTimer);
			this.idleTimer = setTimeout(() => this.stopIdle(), workerIdleMs);
			this.idleTimer.unref();
		}
	}

	get running(): boolean {
		return this.worker !== undefined;
	}

	/** Ends the worker now: the streams open on it fail (as when the thread dies); the next starts a new one. */
	async terminate(): Promise<void> {
		const worker = this.worker;
		if (!worker) return;
		await worker.terminate();
	}

	/** Ends the worker when no stream is open (the next stream starts a new one). */
	private stopIdle(): void {
		const worker = this.worker;
		if (!worker || this.sessions.size > 0) return;
		this.worker = undefined;
		void worker.terminate();
	}

	private start(): Worker {
		const worker = new Worker(WORKER_FILE, { name: 'chat-archive AES-CFB' });
		worker.unref();
		worker.on('message', (reply: CfbReply) => {
			if (--this.inFlight === 0) worker.unref();
			this.sessions.get(reply.id)?.deliver(reply);
		});
		const die = (error: Error) => {
			if (this.worker !== worker) return;
			this.worker = undefined;
			this.inFlight = 0;
			const open = [...this.sessions.values()];
			this.sessions.clear();
			for (const session of open) session.fail(error);
		};
		worker.on('error', (error) => die(error));
		worker.on('exit', (code) => die(new Error(`the AES-CFB worker thread exited (code ${code})`)));
		this.worker = worker;
		return worker;
	}
}

const host = new CfbWorkerHost();

/**
 * Sets how long the AES worker thread stays up without an open stream (milliseconds, default
 * 30 000), and tells whether it is running now. For tests and for hosts that tune memory.
 */
export function cfbWorker(options: { idleMs?: number } = {}): { running: boolean } {
	if (options.idleMs !== undefined) {
		if (!Number.isFinite(options.idleMs) || options.idleMs < 0)
			throw new RangeError('idleMs must be ≥ 0');
		workerIdleMs = options.idleMs;
	}
	return { running: host.running };
}

/**
 * Ends the AES worker thread now. Streams still encrypting on it fail with
 * `AES-CFB worker thread exited` (their consumers see a stream error, nothing is silently cut short);
 * the next stream starts a new thread. For tests and for hosts shutting down.
 */
export async function terminateCfbWorker(): Promise<void> {
	await host.terminate();
}

/** Options of {@link Aes256CfbEncryptor}. */
export interface Aes256CfbEncryptorOptions {
	/** Receives the ciphertext, in order, a batch at a time (a new buffer, owned by the receiver). */
	onCiphertext: (ciphertext: Buffer) => void;
	/** Plaintext octets per batch handed to the worker, rounded down to a multiple of 16. Default 1 MiB. */
	batchBytes?: number;
}

/**
 * AES-256 in OpenPGP's full-block CFB mode with an all-zero IV, computed on the CFB worker thread
 * (see the module comment). Byte-equal to Node's `createCipheriv('aes-256-cfb', key, Buffer.alloc(16))`.
 *
 * Use: `write()` plaintext pieces (synchronous: copied into the batch being staged), `await
 * ready()` before writing more when the writer should hold back (it resolves once a batch buffer is
 * free to stage into), and `await end()` once. Ciphertext reaches `onCiphertext` asynchronously, in
 * order, a batch at a time; all of it has been delivered when `end()` resolves. `destroy()` drops a
 * stream that will not be ended. Memory: three batch buffers per stream, passed to the worker and
 * back (transferred, reused), plus the ciphertext of the batches in flight.
 *
 * @throws `Error('AES-256 needs a 32-octet key')` from the constructor; `ready()`/`end()` reject
 *  with the worker's error (then the encryptor is dead), `write()` throws it.
 */
export class Aes256CfbEncryptor {
	private readonly batchBytes: number;
	private readonly id: number;
	/** Batch buffers not staged into and not with the worker. */
	private readonly free: ArrayBuffer[] = [];
	/** Batch being staged into, or undefined while every buffer is with the worker. */
	private staging: Uint8Array | undefined;
	private staged = 0;
	private withWorker = 0;
	/** Pieces written while every buffer was with the worker, staged as buffers come back. */
	private overflow: Buffer[] = [];
	private ended = false;
	private closed = false;
	private failure: Error | undefined;
	private waiters: Array<{ resolve: () => void; reject: (error: Error) => void; idle: boolean }> =
		[];

	constructor(
		key: Uint8Array,
		private readonly options: Aes256CfbEncryptorOptions,
	) {
		if (key.length !== 32) throw new Error('AES-256 needs a 32-octet key');
		this.batchBytes = Math.max(
			16,
			Math.floor((options.batchBytes ?? DEFAULT_BATCH_BYTES) / 16) * 16,
		);
		const ecb = createCipheriv('aes-256-ecb', key, null);
		ecb.setAutoPadding(false);
		const iv = ecb.update(Buffer.alloc(16));
		ecb.final();
		for (let i = 1; i < BATCH_BUFFERS; i++) this.free.push(new ArrayBuffer(this.batchBytes));
		this.staging = new Uint8Array(new ArrayBuffer(this.batchBytes));
		this.id = host.open(
			{ deliver: (reply) => this.deliver(reply), fail: (error) => this.fail(error) },
			Uint8Array.from(key),
			Uint8Array.from(iv),
		);
	}

	/** Adds plaintext (copied; the caller may reuse `piece`). Never waits: see `ready()`. */
	write(piece: Uint8Array): void {
		if (this.ended) throw new Error('write after end');
		if (this.failure) throw this.failure;
		let offset = 0;
		while (offset < piece.length) {
			if (!this.staging) {
				// Every buffer is with the worker (a write bigger than them all): set the rest aside.
				this.overflow.push(Buffer.from(piece.subarray(offset)));
				return;
			}
			const n = Math.min(piece.length - offset, this.batchBytes - this.staged);
			this.staging.set(piece.subarray(offset, offset + n), this.staged);
			this.staged += n;
			offset += n;
			if (this.staged === this.batchBytes) this.send(false);
		}
	}

	/** Resolves when a batch buffer is free to stage into and nothing is set aside; rejects on failure. */
	ready(): Promise<void> {
		return this.wait(false);
	}

	/**
	 * Encrypts what is left, the final partial block included, and resolves once every ciphertext
	 * octet has reached `onCiphertext`.
	 */
	async end(): Promise<void> {
		if (!this.ended) {
			await this.wait(false);
			this.ended = true;
			this.send(true);
		}
		return this.wait(true);
	}

	/** Drops the stream (no more ciphertext is delivered). */
	destroy(): void {
		this.ended = true;
		this.release();
	}

	/** Hands the staged batch to the worker and takes a free buffer (or none). */
	private send(final: boolean): void {
		host.post(this.id, this.staging!.buffer as ArrayBuffer, this.staged, final);
		this.withWorker++;
		this.staged = 0;
		const next = this.free.pop();
		this.staging = next ? new Uint8Array(next) : undefined;
	}

	private deliver(reply: CfbReply): void {
		if (this.closed) return;
		if (reply.error !== undefined) {
			this.fail(new Error(`AES-CFB worker: ${reply.error}`));
			return;
		}
		this.withWorker--;
		if (this.staging) this.free.push(reply.plaintext);
		else this.staging = new Uint8Array(reply.plaintext);
		const ciphertext = reply.ciphertext;
		try {
			if (ciphertext.length > 0) {
				this.options.onCiphertext(
					Buffer.from(ciphertext.buffer, ciphertext.byteOffset, ciphertext.length),
				);
			}
			// Stage what was set aside while every buffer was with the worker.
			const aside = this.overflow;
			this.overflow = [];
			for (const piece of aside) this.write(piece);
		} catch (error) {
			this.fail(error);
			return;
		}
		if (this.ended && this.withWorker === 0) this.release();
		this.settle();
	}

	private fail(error: unknown): void {
		if (this.failure) return;
		this.failure = error instanceof Error ? error : new Error(String(error));
		this.release();
		this.settle();
	}

	private release(): void {
		if (this.closed) return;
		this.closed = true;
		host.close(this.id);
	}

	/** Resolves or rejects the waiters whose condition now holds. */
	private settle(): void {
		const keep: typeof this.waiters = [];
		for (const waiter of this.waiters) {
			if (this.failure) waiter.reject(this.failure);
			else if (this.holds(waiter.idle)) waiter.resolve();
			else keep.push(waiter);
		}
		this.waiters = keep;
	}

	private holds(idle: boolean): boolean {
		return idle ? this.withWorker === 0 : this.staging !== undefined && this.overflow.length === 0;
	}

	private wait(idle: boolean): Promise<void> {
		if (this.failure) return Promise.reject(this.failure);
		if (this.holds(idle)) return Promise.resolve();
		return new Promise((resolve, reject) => this.waiters.push({ resolve, reject, idle }));
	}
}
