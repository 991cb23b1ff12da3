/**
 * The second pass for ZIP/ZLIB packets that carry bytes after the end of the deflate stream, as sq
 * 0.27 writes them: OpenPGP.js 6 inflates with the native `DecompressionStream`, which on Node ≥ 22
 * rejects them ("Trailing junk found after the end of the compressed stream"), while gpg, sq and
 * zlib ignore them. Here, streaming: the SEIPD v1 packet is decrypted with Node's AES-CFB and its MDC
 * checked ({@link SeipdV1Decryptor}), the Compressed Data packet (RFC 4880 §5.6) unframed and
 * inflated with Node's zlib, which stops at the end of the deflate stream, and the inner message
 * (literal data, maybe signed) handed back to OpenPGP.js. The inflated octets are counted against
 * the {@link OutputMeter} as they come out; the inner message ends only after the MDC matched.
 */
import { createDecipheriv } from 'node:crypto';
import { once } from 'node:events';
import { PassThrough, Readable, Transform, pipeline, type TransformCallback } from 'node:stream';
import { createInflate, createInflateRaw, type Inflate, type InflateRaw } from 'node:zlib';
import * as openpgp from 'openpgp';
import type { Message } from 'openpgp';

import { OutputMeter, PACKET_FRAMING_SLACK } from './output-limit';
import { SEIPD_V1_CFB_CIPHERS, SeipdV1Decryptor } from './seipd-stream';
import { PgpError, type DecryptOptions } from './types';

/** Readable chunk by chunk: bytes, or an OpenPGP.js stream (web `ReadableStream` or `ArrayStream`). */
type EncryptedData = Uint8Array | { getReader(): { read(): Promise<{ done: boolean; value?: Uint8Array }> } };

async function* chunksOf(data: EncryptedData): AsyncGenerator<Uint8Array> {
	if (data instanceof Uint8Array) {
		yield data;
		return;
	}
	const reader = data.getReader();
	for (;;) {
		const { done, value } = await reader.read();
		if (done) return;
		if (value && value.length > 0) yield value;
	}
}

/**
 * Passes on the body of the first packet of its input (RFC 4880 §4.2: old and new formats, partial
 * body lengths §4.2.2.4), which must be a Compressed Data packet (tag 8); nothing may follow it.
 */
class CompressedPacketBody extends Transform {
	private pending = Buffer.alloc(0);
	private headerRead = false;
	private oldFormat = false;
	private bodyLeft = 0;
	private partial = false;
	private done = false;

	override _transform(chunk: Buffer, _encoding: BufferEncoding, callback: TransformCallback): void {
		let data = this.pending.length > 0 ? Buffer.concat([this.pending, chunk]) : chunk;
		this.pending = Buffer.alloc(0);
		while (data.length > 0) {
			if (this.bodyLeft > 0) {
				const take = Math.min(this.bodyLeft, data.length);
				this.push(data.subarray(0, take));
				this.bodyLeft -= take;
				data = data.subarray(take);
				if (this.bodyLeft === 0 && !this.partial) this.done = true;
				continue;
			}
			if (this.done) {
				callback(new Error('data after the compressed data packet'));
				return;
			}
			const consumed = this.headerRead ? this.readLength(data) : this.readHeader(data);
			if (consumed instanceof Error) {
				callback(consumed);
				return;
			}
			if (consumed === 0) {
				this.pending = Buffer.from(data);
				break;
			}
			data = data.subarray(consumed);
		}
		callback();
	}

	override _flush(callback: TransformCallback): void {
		const complete = this.done || (this.oldFormat && this.bodyLeft === Infinity);
		callback(complete && this.pending.length === 0 ? null : new Error('Unexpected end of packet'));
	}

	/** Packet tag and (first) length; 0 when more octets are needed. */
	private readHeader(data: Buffer): number | Error {
		const ctb = data[0];
		if ((ctb & 0x80) === 0) return new Error('not an OpenPGP packet');
		this.oldFormat = (ctb & 0x40) === 0;
		const tag = this.oldFormat ? (ctb >> 2) & 0x0f : ctb & 0x3f;
		if (tag !== 8) return new Error(`expected a compressed data packet, found packet tag ${tag}`);
		if (this.oldFormat) {
			const lengthType = ctb & 0x03;
			if (lengthType === 3) {
				this.headerRead = true;
				this.bodyLeft = Infinity;
				return 1;
			}
			const octets = [1, 2, 4][lengthType];
			if (data.length < 1 + octets) return 0;
			this.headerRead = true;
			this.bodyLeft = data.readUIntBE(1, octets);
			if (this.bodyLeft === 0) this.done = true;
			return 1 + octets;
		}
		const consumed = this.readLength(data.subarray(1));
		if (consumed === 0) return 0;
		this.headerRead = true;
		return 1 + (consumed as number);
	}

	/** A new-format body length (§4.2.2); 0 when more octets are needed. */
	private readLength(data: Buffer): number | Error {
		if (this.oldFormat) return new Error('bad old-format packet length');
		if (data.length === 0) return 0;
		const first = data[0];
		this.partial = false;
		if (first < 192) {
			this.bodyLeft = first;
		} else if (first < 224) {
			if (data.length < 2) return 0;
			this.bodyLeft = ((first - 192) << 8) + data[1] + 192;
			if (this.bodyLeft === 0) this.done = true;
			return 2;
		} else if (first === 255) {
			if (data.length < 5) return 0;
			this.bodyLeft = data.readUInt32BE(1);
			if (this.bodyLeft === 0) this.done = true;
			return 5;
		} else {
			this.bodyLeft = 1 << (first & 0x1f);
			this.partial = true;
		}
		if (this.bodyLeft === 0) this.done = true;
		return 1;
	}
}

/** Resolves when `inflater` takes more input, ends or closes. */
async function writable(inflater: Inflate | InflateRaw): Promise<void> {
	const controller = new AbortController();
	await Promise.race([
		once(inflater, 'drain', { signal: controller.signal }),
		once(inflater, 'end', { signal: controller.signal }),
		once(inflater, 'close', { signal: controller.signal }),
	]).catch(() => undefined);
	controller.abort();
}

/**
 * Inflates a Compressed Data packet body (algorithm octet, then RFC 1951 or RFC 1950 data),
 * ignoring what follows the end of the deflate stream but reading the input to its end (so the MDC
 * is checked before the output ends), and stops with `OUTPUT_LIMIT` as soon as the output passes
 * the meter's limits.
 */
function inflateIgnoringTrailingBytes(meter: OutputMeter) {
	return async function* (source: AsyncIterable<Buffer>): AsyncGenerator<Buffer> {
		const input = source[Symbol.asyncIterator]();
		let head: Buffer | undefined;
		while (!head) {
			const { done, value } = await input.next();
			if (done) throw new Error('Unexpected end of packet');
			if (value.length > 0) head = value;
		}
		const algorithm = head[0];
		if (algorithm !== 1 && algorithm !== 2) throw new Error(`compression algorithm ${algorithm} is not ZIP or ZLIB`);
		const inflater = algorithm === 1 ? createInflateRaw() : createInflate();
		let inflated = false;
		let cancelled = false;
		inflater.once('end', () => (inflated = true));
		const feed = async (): Promise<void> => {
			let chunk: Buffer | undefined = head.subarray(1);
			while (!cancelled) {
				if (chunk && chunk.length > 0 && !inflated && !inflater.destroyed && !inflater.write(chunk)) await writable(inflater);
				const next = await input.next();
				if (next.done) break;
				chunk = next.value;
			}
			if (!inflated && !inflater.destroyed) inflater.end();
		};
		const feeding = feed();
		feeding.catch((error: unknown) => inflater.destroy(error as Error));
		let total = 0;
		try {
			try {
				for await (const out of inflater as AsyncIterable<Buffer>) {
					total += out.length;
					meter.check(total, PACKET_FRAMING_SLACK);
					yield out;
				}
			} catch (error) {
				if (error instanceof PgpError) throw error;
				// corrupt deflate data: a modified message fails its MDC, which says so better
				await feeding;
				throw error;
			}
			await feeding;
		} finally {
			cancelled = true;
			inflater.destroy();
		}
	};
}

/** The session key (of `candidates`) whose decryption of the first block repeats the prefix's check octets (§5.13). */
function sessionKeyFor(candidates: openpgp.DecryptedSessionKey[], firstBlock: Uint8Array): openpgp.DecryptedSessionKey | undefined {
	return candidates.find((candidate) => {
		const cipher = SEIPD_V1_CFB_CIPHERS[String(candidate.algorithm)];
		if (!cipher || firstBlock.length < 18) return false;
		const prefix = createDecipheriv(cipher, candidate.data, Buffer.alloc(16)).update(firstBlock.subarray(0, 18));
		return prefix[14] === prefix[16] && prefix[15] === prefix[17];
	});
}

/**
 * The inner message of a SEIPD v1 message with a ZIP/ZLIB packet, decrypted and inflated by Node
 * (see the module comment), for OpenPGP.js to read as a stream (`verify` checks its signatures).
 *
 * @returns the inner message, or undefined when the message is not of that shape (no SEIPD v1 with AES)
 * @throws PgpError `INTEGRITY` (through the inner message's stream) when the MDC does not match;
 *  `OUTPUT_LIMIT` when the inflated data passes the meter's limits
 */
export async function decryptTolerantInflate(
	message: Message<Uint8Array>,
	options: Pick<DecryptOptions, 'decryptionKeys' | 'date'>,
	meter: OutputMeter,
): Promise<Message<Uint8Array> | undefined> {
	const seipd = message.packets.find((packet) => (packet.constructor as unknown as { tag: number }).tag === 18) as unknown as
		| { version: number; encrypted: EncryptedData | null }
		| undefined;
	if (!seipd || seipd.version !== 1 || !seipd.encrypted) return undefined;
	const candidates = await openpgp.decryptSessionKeys({ message, decryptionKeys: options.decryptionKeys, date: options.date });
	const chunks = chunksOf(seipd.encrypted);
	const head: Uint8Array[] = [];
	let headLength = 0;
	while (headLength < 18) {
		const { done, value } = await chunks.next();
		if (done) break;
		head.push(value);
		headLength += value.length;
	}
	const sessionKey = sessionKeyFor(candidates, Buffer.concat(head));
	if (!sessionKey) return undefined;
	const ciphertext = Readable.from(
		(async function* () {
			yield* head;
			yield* chunks;
		})(),
	);
	const integrity = () => new PgpError('INTEGRITY', 'The message failed its integrity check (modified or truncated): Modification detected.');
	const inflated = new PassThrough();
	pipeline(
		ciphertext,
		new SeipdV1Decryptor(SEIPD_V1_CFB_CIPHERS[String(sessionKey.algorithm)], sessionKey.data, integrity),
		new CompressedPacketBody(),
		inflateIgnoringTrailingBytes(meter),
		inflated,
		() => undefined,
	);
	return (await openpgp.readMessage({
		binaryMessage: Readable.toWeb(inflated) as unknown as ReadableStream<Uint8Array>,
	})) as Message<Uint8Array>;
}
