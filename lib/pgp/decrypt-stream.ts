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
 * §5.13.2), the signature verified when `expectSigned`, and the decompressed size stayed under the
 * limit, is the result returned; on any error the spool is deleted before the error is thrown.
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

import { classify, decrypt, messageDecrypter, readMessageFrom, reportSignatures } from './decrypt';
import { isNodeReadable } from './encrypt';
import { innerMessage } from './errors';
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
 * Look at the first byte of a stream without losing it.
 *
 * @returns the first byte (undefined for an empty stream) and a stream of all bytes
 */
async function peek(input: ReadableStream<Uint8Array>): Promise<{
	first: number | undefined;
	stream: ReadableStream<Uint8Array>;
	abort: () => Promise<void>;
}> {
	const reader = input.getReader();
	const head: Uint8Array[] = [];
	let first: number | undefined;
	for (;;) {
		const { done, value } = await reader.read();
		if (done) break;
		if (value.length === 0) continue;
		head.push(value);
		first = value[0];
		break;
	}
	const stream = new ReadableStream<Uint8Array>({
		async pull(controller) {
			const queued = head.shift();
			if (queued) {
				controller.enqueue(queued);
				return;
			}
			const { done, value } = await reader.read();
			if (done) controller.close();
			else controller.enqueue(value);
		},
		async cancel(reason) {
			await reader.cancel(reason);
		},
	});
	// Cancelling the source reader closes the input (for a Node stream: destroys it, releasing the
	// file handle of n8n's binary store) when decryption stops early.
	const abort = async () => await reader.cancel().catch(() => undefined);
	return { first, stream, abort };
}

/** Read the message so that OpenPGP.js decrypts it as a stream where possible. */
async function readStreamingMessage(
	data: DecryptStreamOptions['data'],
): Promise<{ message: Message<Uint8Array>; abort: () => Promise<void> }> {
	const nothingToAbort = async () => undefined;
	if (typeof data === 'string') {
		return { message: await readMessageFrom(data), abort: nothingToAbort };
	}
	if (data instanceof Uint8Array) {
		// Armored bytes go through the paste repairs (buffered; armored input is text-sized).
		if (data.length === 0 || (data[0] & 0x80) === 0) {
			return { message: await readMessageFrom(data), abort: nothingToAbort };
		}
		data = chunkedStream(data);
	}
	const web = isNodeReadable(data)
		? (Readable.toWeb(data) as unknown as ReadableStream<Uint8Array>)
		: data;
	const { first, stream, abort } = await peek(web);
	if (first === undefined) {
		throw new PgpError('MESSAGE_FORMAT', 'The input is empty, not an OpenPGP message.');
	}
	try {
		if ((first & 0x80) !== 0) {
			return {
				message: (await openpgp.readMessage({ binaryMessage: stream })) as Message<Uint8Array>,
				abort,
			};
		}
		const text = stream.pipeThrough(
			new TextDecoderStream() as unknown as ReadableWritablePair<string, Uint8Array>,
		);
		return {
			message: (await openpgp.readMessage({ armoredMessage: text })) as Message<Uint8Array>,
			abort,
		};
	} catch (error) {
		await abort();
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

	/** Write `source` (plaintext chunks) to the spool, encrypted; counts the bytes. */
	async fill(source: Readable): Promise<void> {
		const counter = new Transform({
			transform: (chunk: Uint8Array, _encoding, callback) => {
				this.size += chunk.length;
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
 * - `maxDecompressedBytes` stops compression bombs while streaming.
 *
 * Messages without MDC (RFC 2440 style) are refused. Input as a string or armored bytes is read in
 * memory first (with the paste repairs of `readMessageFrom`); binary bytes and streams are streamed.
 *
 * The caller MUST call `dispose()` on the result when done (e.g. in `finally`).
 *
 * @returns {@link DecryptStreamResult}
 * @throws PgpError `MESSAGE_FORMAT`, `NOT_FOR_US`, `INTEGRITY`, `SIGNATURE`, `PASSPHRASE`,
 *  `OPERATION` (e.g. "Decryption failed: Maximum decompressed message size exceeded"); no spool
 *  file is left behind
 */
export async function decryptToSpool(options: DecryptStreamOptions): Promise<DecryptStreamResult> {
	const verificationKeys = options.verificationKeys ?? [];
	const decryptMessage = messageDecrypter(options, { allowUnauthenticatedStream: true });
	const input = options.data;
	const inMemory = typeof input === 'string' || input instanceof Uint8Array ? input : undefined;
	const reread: (() => Promise<Uint8Array | string>) | undefined =
		options.reread ?? (inMemory !== undefined ? async () => inMemory : undefined);
	const { message, abort } = await readStreamingMessage(options.data);
	let spool: Spool;
	try {
		spool = await Spool.create(options.tempDirectory ?? tmpdir());
	} catch (error) {
		await abort();
		throw new PgpError(
			'OPERATION',
			`Decryption failed: no temporary spool file: ${innerMessage(error)}`,
			{
				cause: error,
			},
		);
	}
	try {
		let result;
		try {
			result = await decryptMessage(message);
			const data = result.data as Uint8Array | ReadableStream<Uint8Array>;
			await spool.fill(
				data instanceof Uint8Array
					? Readable.from([data])
					: Readable.fromWeb(data as Parameters<typeof Readable.fromWeb>[0]),
			);
		} catch (error) {
			if (!/Trailing junk/i.test(innerMessage(error))) throw classify(error, message, options);
			if (!reread) {
				throw new PgpError(
					'OPERATION',
					'Decryption failed: the message has bytes after its compressed data (as sq writes ZIP packets), which needs a second, buffered pass, and the input cannot be read again.',
					{ cause: error },
				);
			}
			// Second pass, buffered (see decrypt.ts, decryptTolerantInflate). Start a fresh spool.
			await abort();
			await spool.dispose();
			const buffered = await decrypt({ ...options, data: await reread() });
			const again = await Spool.create(options.tempDirectory ?? tmpdir());
			try {
				await again.fill(Readable.from([Buffer.from(buffered.data)]));
			} catch (spoolError) {
				await again.dispose();
				throw spoolError;
			}
			return resultFrom(again, buffered.filename, buffered.signatures);
		}
		const signatures = await reportSignatures(result.signatures, verificationKeys);
		return resultFrom(spool, result.filename ?? '', signatures);
	} catch (error) {
		await abort();
		await spool.dispose();
		throw error;
	}
}
