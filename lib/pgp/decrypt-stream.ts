/**
 * Streaming decryption with bounded memory, without ever releasing unauthenticated plaintext.
 *
 * OpenPGP.js, by default, reads the whole plaintext of a SEIPD v1 message (RFC 4880 §5.13) into
 * memory before it hands out the first byte, because the MDC (§5.14) that authenticates it comes
 * last (memory: docs/OPENPGP.md §4). With `config.allowUnauthenticatedStream` it streams,
 * but then releases plaintext that is not yet authenticated.
 *
 * Here the message is decrypted with `allowUnauthenticatedStream: true` into a temporary spool
 * file, itself encrypted with AES-256-CTR under a random key that lives only in this process (so
 * not-yet-authenticated plaintext never lies on disk in the clear). Only when the stream ended
 * without error, i.e. the MDC matched (or every AEAD chunk tag of SEIPD v2 / tag 20, RFC 9580
 * §5.13.2), the signature verified when `expectSigned`, and the plaintext stayed within its limits
 * (output-limit.ts: counted as it is written, so the spool never grows past them), is the result
 * returned; on any error the spool is deleted before the error is thrown.
 */
import { createCipheriv, createDecipheriv, randomBytes } from 'node:crypto';
import { createReadStream, createWriteStream } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Readable, Transform } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import * as openpgp from 'openpgp';
import type { Message } from 'openpgp';

import { classify, messageDecrypter, pgpErrorIn, readMessageFrom, reportSignatures, verifyInner } from './decrypt';
import { isNodeReadable } from './encrypt';
import { innerMessage } from './errors';
import { decryptTolerantInflate } from './inflate-fallback';
import { isDecompressedSizeError, OutputMeter, PACKET_FRAMING_SLACK } from './output-limit';
import { PgpError, type DecryptStreamOptions, type DecryptStreamResult, type SignatureReport } from './types';

/** Chunk size used to feed in-memory ciphertext to OpenPGP.js as a stream. */
const FEED_CHUNK = 64 * 1024;

/** A web stream over `bytes`, in `FEED_CHUNK` views (no copy). */
function chunkedStream(bytes: Uint8Array): ReadableStream<Uint8Array> {
	let offset = 0;
	return new ReadableStream<Uint8Array>({
		pull(controller) {
			if (offset >= bytes.length) {
				controller.close();
				return;
			}
			controller.enqueue(bytes.subarray(offset, offset + FEED_CHUNK));
			offset += FEED_CHUNK;
		},
	});
}

/**
 * Look at the first byte of a stream without losing it; count the octets handed on in
 * `meter.messageBytes`, and keep the stream's own error.
 *
 * @returns the first byte (undefined for an empty stream), a stream of all bytes, a function that
 *  closes the input, and the input's error, if it failed
 */
async function peek(
	input: ReadableStream<Uint8Array>,
	meter: OutputMeter,
): Promise<{
	first: number | undefined;
	stream: ReadableStream<Uint8Array>;
	abort: () => Promise<void>;
	inputError: () => unknown;
}> {
	const reader = input.getReader();
	let failure: unknown;
	const read = async () => {
		try {
			return await reader.read();
		} catch (error) {
			failure ??= error;
			throw error;
		}
	};
	const head: Uint8Array[] = [];
	let first: number | undefined;
	for (;;) {
		const { done, value } = await read();
		if (done) break;
		if (value.length === 0) continue;
		head.push(value);
		first = value[0];
		break;
	}
	const stream = new ReadableStream<Uint8Array>({
		async pull(controller) {
			const queued = head.shift() ?? (await read()).value;
			if (queued === undefined) {
				controller.close();
				return;
			}
			meter.messageBytes += queued.length;
			controller.enqueue(queued);
		},
		async cancel(reason) {
			await reader.cancel(reason);
		},
	});
	// Cancelling the source reader closes the input (for a Node stream: destroys it, releasing the
	// file handle of n8n's binary store) when decryption stops early.
	const abort = async () => await reader.cancel().catch(() => undefined);
	return { first, stream, abort, inputError: () => failure };
}

/** A read message, how to close its input early, and the input's own error, if it failed. */
interface StreamingMessage {
	message: Message<Uint8Array>;
	abort: () => Promise<void>;
	inputError: () => unknown;
}

/** Read the message so that OpenPGP.js decrypts it as a stream where possible; count its octets in `meter`. */
async function readStreamingMessage(data: DecryptStreamOptions['data'], meter: OutputMeter): Promise<StreamingMessage> {
	const inMemory = async (text: Uint8Array | string): Promise<StreamingMessage> => {
		meter.messageBytes = typeof text === 'string' ? Buffer.byteLength(text) : text.length;
		return { message: await readMessageFrom(text), abort: async () => undefined, inputError: () => undefined };
	};
	if (typeof data === 'string') return await inMemory(data);
	if (data instanceof Uint8Array) {
		// Armored bytes go through the paste repairs (buffered; armored input is text-sized).
		if (data.length === 0 || (data[0] & 0x80) === 0) return await inMemory(data);
		data = chunkedStream(data);
	}
	const web = isNodeReadable(data)
		? (Readable.toWeb(data) as unknown as ReadableStream<Uint8Array>)
		: data;
	const { first, stream, abort, inputError } = await peek(web, meter);
	if (first === undefined) {
		throw new PgpError('MESSAGE_FORMAT', 'The input is empty, not an OpenPGP message.');
	}
	try {
		if ((first & 0x80) !== 0) {
			return {
				message: (await openpgp.readMessage({ binaryMessage: stream })) as Message<Uint8Array>,
				abort,
				inputError,
			};
		}
		const text = stream.pipeThrough(
			new TextDecoderStream() as unknown as ReadableWritablePair<string, Uint8Array>,
		);
		return {
			message: (await openpgp.readMessage({ armoredMessage: text })) as Message<Uint8Array>,
			abort,
			inputError,
		};
	} catch (error) {
		await abort();
		if (inputError()) throw inputError();
		throw new PgpError(
			'MESSAGE_FORMAT',
			`The input could not be read as an OpenPGP message: ${innerMessage(error)}`,
			{ cause: error },
		);
	}
}

/** An encrypted temporary file holding plaintext (AES-256-CTR, key only in memory). */
class Spool {
	private readonly key = randomBytes(32);

	private readonly iv = randomBytes(16);

	private disposed = false;

	size = 0;

	private constructor(
		private readonly directory: string,
		readonly path: string,
	) {}

	/** Create an empty spool in a fresh private (0700) directory under `parent`. */
	static async create(parent: string): Promise<Spool> {
		const directory = await mkdtemp(join(parent, 'openpgp-decrypt-'));
		return new Spool(directory, join(directory, 'plaintext.spool'));
	}

	/**
	 * Write `source` (plaintext chunks) to the spool, encrypted; counts the bytes and stops with
	 * `OUTPUT_LIMIT` (destroying `source`) as soon as they pass the meter's limits.
	 */
	async fill(source: Readable, meter: OutputMeter): Promise<void> {
		const counter = new Transform({
			transform: (chunk: Uint8Array, _encoding, callback) => {
				this.size += chunk.length;
				try {
					meter.check(this.size);
				} catch (error) {
					callback(error as Error);
					return;
				}
				callback(null, chunk);
			},
		});
		await pipeline(
			source,
			counter,
			createCipheriv('aes-256-ctr', this.key, this.iv),
			createWriteStream(this.path, { mode: 0o600 }),
		);
	}

	/** Decrypting read stream of the spool, from byte `start`. */
	read(end?: number): Readable {
		if (this.disposed) throw new PgpError('OPERATION', 'The decrypted data was already released.');
		const decipher = createDecipheriv('aes-256-ctr', this.key, this.iv);
		const file = createReadStream(this.path, end === undefined ? {} : { start: 0, end });
		file.on('error', (error) => decipher.destroy(error));
		// a reader that stops early (destroys the stream) closes the file too: pipe() would leave it open
		decipher.once('close', () => file.destroy());
		return file.pipe(decipher);
	}

	async dispose(): Promise<void> {
		if (this.disposed) return;
		this.disposed = true;
		this.key.fill(0);
		await rm(this.directory, { recursive: true, force: true });
	}
}

async function collect(stream: Readable): Promise<Buffer> {
	const chunks: Buffer[] = [];
	for await (const chunk of stream) chunks.push(chunk as Buffer);
	return Buffer.concat(chunks);
}

function resultFrom(spool: Spool, filename: string, signatures: SignatureReport[]): DecryptStreamResult {
	return {
		size: spool.size,
		filename,
		signed: signatures.length > 0,
		signatures,
		createReadStream: () => spool.read(),
		readPrefix: async (maxBytes: number) =>
			maxBytes <= 0 || spool.size === 0
				? Buffer.alloc(0)
				: await collect(spool.read(Math.min(maxBytes, spool.size) - 1)),
		readAll: async () => (spool.size === 0 ? Buffer.alloc(0) : await collect(spool.read())),
		dispose: async () => await spool.dispose(),
	};
}

/** A Node stream of OpenPGP.js's output (bytes or a web stream). */
function nodeStreamOf(data: Uint8Array | ReadableStream<Uint8Array>): Readable {
	return data instanceof Uint8Array ? Readable.from([data]) : Readable.fromWeb(data as Parameters<typeof Readable.fromWeb>[0]);
}

/** The error to throw for a failed pass: the input's own error, this engine's, or OpenPGP.js's classified. */
function failure(error: unknown, read: StreamingMessage, meter: OutputMeter, options: DecryptStreamOptions): unknown {
	if (read.inputError()) return read.inputError();
	if (pgpErrorIn(error)) return pgpErrorIn(error);
	if (isDecompressedSizeError(innerMessage(error))) return meter.error(error);
	return classify(error, read.message, options);
}

/**
 * Decrypt a message as a stream into an encrypted temporary spool file, with memory bounded
 * independently of the message size (figures: docs/OPENPGP.md §4), and
 * hand the plaintext out only after it has been authenticated:
 *
 * - SEIPD v1 (RFC 4880 §5.13): the MDC (SHA-1 over the whole plaintext, §5.14) is checked at the
 *   end of the stream; a mismatch throws `INTEGRITY` and the spool is deleted;
 * - SEIPD v2 (RFC 9580 §5.13.2) and LibrePGP AEAD (tag 20, GnuPG 2.4 OCB): every chunk tag and the
 *   final tag are checked;
 * - with `expectSigned`, the signature is verified at the end of the stream too;
 * - `maxDecryptedBytes` and `maxCompressionRatio` stop compression bombs while streaming: the
 *   spool file never grows past them.
 *
 * Messages without MDC (RFC 2440 style) are refused. Input as a string or armored bytes is read in
 * memory first (with the paste repairs of `readMessageFrom`); binary bytes and streams are streamed.
 * ZIP/ZLIB data followed by other bytes (sq 0.27) needs a second pass over the input (`reread`,
 * implicit for bytes), streamed too (`decryptTolerantInflate`). An error of the input stream itself
 * is thrown as it is.
 *
 * The caller MUST call `dispose()` on the result when done (e.g. in `finally`).
 *
 * @returns {@link DecryptStreamResult}
 * @throws PgpError `MESSAGE_FORMAT`, `NOT_FOR_US`, `INTEGRITY`, `SIGNATURE`, `PASSPHRASE`,
 *  `OUTPUT_LIMIT` (naming the limit), `OPERATION`; no spool file is left behind
 */
export async function decryptToSpool(options: DecryptStreamOptions): Promise<DecryptStreamResult> {
	const verificationKeys = options.verificationKeys ?? [];
	const meter = new OutputMeter(options);
	const decryptMessage = messageDecrypter(options);
	const input = options.data;
	const inMemory = typeof input === 'string' || input instanceof Uint8Array ? input : undefined;
	const reread = options.reread ?? (inMemory !== undefined ? async () => inMemory : undefined);
	const read = await readStreamingMessage(options.data, meter);
	const spool = await createSpool(options, read);
	try {
		const result = await decryptMessage(read.message, {
			allowUnauthenticatedStream: true,
			maxDecompressedMessageSize: meter.maxBytes + PACKET_FRAMING_SLACK,
		});
		await spool.fill(nodeStreamOf(result.data as Uint8Array | ReadableStream<Uint8Array>), meter);
		const signatures = await reportSignatures(result.signatures, verificationKeys);
		return resultFrom(spool, result.filename ?? '', signatures);
	} catch (error) {
		await read.abort();
		await spool.dispose();
		if (read.inputError() || !/Trailing junk/i.test(innerMessage(error))) throw failure(error, read, meter, options);
		if (!reread) {
			throw new PgpError(
				'OPERATION',
				'Decryption failed: the message has bytes after its compressed data (as sq writes ZIP packets), which needs a second pass, and the input cannot be read again.',
				{ cause: error },
			);
		}
		return await decryptTolerantToSpool(await reread(), options, error);
	}
}

/** A fresh spool under `options.tempDirectory`; closes the input when none can be made. */
async function createSpool(options: DecryptStreamOptions, read: StreamingMessage): Promise<Spool> {
	try {
		return await Spool.create(options.tempDirectory ?? tmpdir());
	} catch (error) {
		await read.abort();
		throw new PgpError('OPERATION', `Decryption failed: no temporary spool file: ${innerMessage(error)}`, { cause: error });
	}
}

/** The second pass of {@link decryptToSpool} (decrypt.ts, `decryptTolerantInflate`), into a fresh spool. */
async function decryptTolerantToSpool(data: DecryptStreamOptions['data'], options: DecryptStreamOptions, firstError: unknown): Promise<DecryptStreamResult> {
	const meter = new OutputMeter(options);
	const read = await readStreamingMessage(data, meter);
	const spool = await createSpool(options, read);
	try {
		const inner = await decryptTolerantInflate(read.message, options, meter);
		if (!inner) throw classify(firstError, read.message, options);
		const verified = await verifyInner(inner, options);
		await spool.fill(nodeStreamOf(verified.data), meter);
		const signatures = await reportSignatures(verified.signatures, options.verificationKeys ?? []);
		return resultFrom(spool, inner.getFilename() ?? '', signatures);
	} catch (error) {
		await read.abort();
		await spool.dispose();
		throw failure(error, read, meter, options);
	}
}
