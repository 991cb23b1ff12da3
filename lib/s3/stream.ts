import { createHash } from 'node:crypto';
import { Transform, type Readable } from 'node:stream';

/** A chunk of a Node stream as bytes (strings are UTF-8). */
function bytesOf(chunk: unknown): Buffer {
	if (Buffer.isBuffer(chunk)) return chunk;
	return typeof chunk === 'string' ? Buffer.from(chunk) : Buffer.from(chunk as Uint8Array);
}

/**
 * SHA-256 (lower-case hex) and byte count of a stream. With `keepUpTo`, the bytes are kept as well
 * while they fit (`kept` is null once the stream grew past it), so a small body need not be read twice.
 */
export async function hashStream(
	stream: AsyncIterable<unknown>,
	options: { keepUpTo?: number } = {},
): Promise<{ sha256: string; size: number; kept: Buffer | null }> {
	const hash = createHash('sha256');
	const keepUpTo = options.keepUpTo ?? 0;
	let size = 0;
	let chunks: Buffer[] | null = keepUpTo > 0 ? [] : null;
	for await (const chunk of stream) {
		const bytes = bytesOf(chunk);
		hash.update(bytes);
		size += bytes.byteLength;
		if (chunks) {
			if (size <= keepUpTo) chunks.push(bytes);
			else chunks = null;
		}
	}
	return { sha256: hash.digest('hex'), size, kept: chunks ? Buffer.concat(chunks) : null };
}

/** Every byte of a stream, in one buffer (for small objects: manifests, reports, records). */
export async function readAll(stream: AsyncIterable<unknown>): Promise<Buffer> {
	const chunks: Buffer[] = [];
	for await (const chunk of stream) chunks.push(bytesOf(chunk));
	return Buffer.concat(chunks);
}

/**
 * Pipes `source` through a pass-through that hashes what flows and fails the stream at its end with
 * `mismatch()` when the SHA-256 (and, when given, the size) differs from `expected`: tamper evidence
 * for a download, or proof that a source read twice gave the same bytes. Source errors reach the
 * returned stream.
 */
export function verifiedStream(source: Readable, expected: { sha256: string; size?: number }, mismatch: () => Error): Readable {
	const hash = createHash('sha256');
	let size = 0;
	const checker = new Transform({
		transform(chunk: Buffer, _encoding, callback) {
			hash.update(chunk);
			size += chunk.byteLength;
			callback(null, chunk);
		},
		flush(callback) {
			const same =
				hash.digest('hex') === expected.sha256 &&
				(expected.size === undefined || size === expected.size);
			callback(same ? undefined : mismatch());
		},
	});
	source.on('error', (error) => checker.destroy(error));
	return source.pipe(checker);
}
