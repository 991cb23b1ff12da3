import { createReadStream, createWriteStream } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Transform, type Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';

/**
 * A ciphertext held in a private temporary file (a fresh 0700 directory, the file 0600) between its
 * encryption and its write to the archive, so a large media file is neither buffered in memory nor
 * left in n8n's binary data folder when no execution takes it. Holds ciphertext only.
 */
export interface SpooledFile {
	/** Bytes written. */
	readonly size: number;
	/** A fresh stream over the bytes (may be opened more than once). */
	open(): Readable;
	/** Deletes the file and its directory; later `open()` calls fail. Idempotent. */
	release(): Promise<void>;
}

/**
 * Writes `source` to a new spool under `parent` (default: the OS temp directory). On error the spool
 * is deleted before the error is thrown.
 */
export async function spoolStream(source: Readable, parent = tmpdir()): Promise<SpooledFile> {
	const directory = await mkdtemp(join(parent, 'chat-archive-spool-'));
	const path = join(directory, 'ciphertext');
	let size = 0;
	let released = false;
	const release = async () => {
		released = true;
		await rm(directory, { recursive: true, force: true });
	};
	const counter = new Transform({
		transform(chunk: Uint8Array, _encoding, callback) {
			size += chunk.length;
			callback(null, chunk);
		},
	});
	try {
		await pipeline(source, counter, createWriteStream(path, { mode: 0o600 }));
	} catch (error) {
		await release();
		throw error;
	}
	return {
		get size() {
			return size;
		},
		open() {
			if (released) throw new Error('the spooled ciphertext was already released');
			return createReadStream(path);
		},
		release,
	};
}
