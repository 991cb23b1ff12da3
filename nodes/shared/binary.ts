import { createHash } from 'node:crypto';
import { pipeline, Transform, type Readable } from 'node:stream';

/**
 * Read size for binary streams (`getBinaryStream(id, BINARY_READ_CHUNK_BYTES)`): 1 MiB chunks instead
 * of n8n's filesystem default of 64 KiB, which makes stream encryption markedly faster while memory
 * stays bounded (docs/benchmarks.md, "Media encryption").
 */
export const BINARY_READ_CHUNK_BYTES = 1024 * 1024;

/** File names handed to n8n go through the pack's one sanitizer (lib/archive/file-name.ts). */
export { MAX_FILE_NAME_BYTES, safeFileName } from '../../lib/archive/file-name';

/**
 * `source` passed through unchanged while its SHA-256 and size are counted, for an output binary
 * built from a stream: `digest()` gives them once the stream has been read to its end (after
 * `prepareBinaryData` resolves). An error of `source` fails the returned stream.
 */
export function digestedStream(source: Readable): { stream: Readable; digest(): { sha256: string; size: number } } {
	const hash = createHash('sha256');
	let size = 0;
	let sha256: string | null = null;
	const counter = new Transform({
		transform(chunk: Buffer, _encoding, callback) {
			hash.update(chunk);
			size += chunk.length;
			callback(null, chunk);
		},
		flush(callback) {
			sha256 = hash.digest('hex');
			callback();
		},
	});
	pipeline(source, counter, () => {
		// an error reaches the reader through `counter`
	});
	return {
		stream: counter,
		digest: () => {
			if (sha256 === null) throw new Error('the stream has not been read to its end');
			return { sha256, size };
		},
	};
}
