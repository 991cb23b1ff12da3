/**
 * A deterministic, streamed zip (yazl): the same entries with the same bytes give the same file,
 * whatever the time, the time zone or how the sources chunk their bytes.
 */
import { Readable } from 'node:stream';
import { ZipFile } from 'yazl';

/** One file of the zip, opened only when the zip reaches it. */
export interface ZipEntrySource {
	/** Name in the zip (UTF-8; `/` separates folders, as in `media/photo.jpg`). */
	name: string;
	open(): Readable | Promise<Readable>;
}

/**
 * Every entry's time: 1980-01-01 00:00, the first time the DOS fields of a zip header can hold
 * (PKWARE APPNOTE 4.4.6), as reproducible builds use. Built from local fields at each call because
 * yazl converts with local-time getters: the same header bytes in any time zone.
 */
function entryTime(): Date {
	return new Date(1980, 0, 1, 0, 0, 0);
}

/** `-rw-r--r--` regular file in the external attributes (APPNOTE 4.4.15, Unix high 16 bits). */
const ENTRY_MODE = 0o100644;

/**
 * Streams a zip of `entries` in their order: each stored (method 0, no compression: no dependence
 * on the zlib build), with the fixed time of {@link entryTime} in DOS fields only (no extended
 * timestamp field), a fixed mode, sizes and CRC-32 in data descriptors, ZIP64 only where sizes need
 * it. One entry is open at a time: the next is opened when the previous one has been written, and
 * reading pauses while the consumer is not reading (backpressure). An error of an entry's source,
 * or of opening it, fails the returned stream; destroying the returned stream destroys the source
 * being read.
 */
export function createZipStream(entries: ZipEntrySource[]): Readable {
	const zip = new ZipFile();
	const output = zip.outputStream as Readable;
	let current: Readable | null = null;
	const fail = (error: unknown) => {
		if (!output.destroyed) output.destroy(error instanceof Error ? error : new Error(String(error)));
	};
	zip.on('error', fail);
	output.once('close', () => current?.destroy());
	for (const entry of entries) {
		zip.addReadStreamLazy(entry.name, { mtime: entryTime(), mode: ENTRY_MODE, compress: false, forceDosTimestamp: true }, (callback) => {
			Promise.resolve()
				.then(() => entry.open())
				.then((source) => {
					if (output.destroyed) {
						source.destroy();
						return;
					}
					current = source;
					// yazl pipes the source without listening for its errors
					source.on('error', fail);
					callback(null, source);
				})
				.catch(fail);
		});
	}
	zip.end();
	return output;
}
