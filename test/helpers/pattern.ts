/** Deterministic byte patterns for streaming tests: the same bytes as a stream and as a buffer. */
import { Readable } from 'node:stream';

/** A stream of `size` deterministic bytes in `chunkSize` chunks, optionally failing after `failAfter` bytes. */
export function patternStream(size: number, chunkSize: number, failAfter?: number): Readable {
	let sent = 0;
	return new Readable({
		read() {
			if (failAfter !== undefined && sent >= failAfter) {
				this.destroy(new Error('injected read failure'));
				return;
			}
			if (sent >= size) {
				this.push(null);
				return;
			}
			const n = Math.min(chunkSize, size - sent);
			const chunk = Buffer.alloc(n);
			for (let j = 0; j < n; j++) chunk[j] = (sent + j) % 251;
			sent += n;
			this.push(chunk);
		},
	});
}

/** The bytes {@link patternStream} sends. */
export function patternBytes(size: number): Buffer {
	const out = Buffer.alloc(size);
	for (let j = 0; j < size; j++) out[j] = j % 251;
	return out;
}
