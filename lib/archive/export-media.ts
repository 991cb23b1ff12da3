/**
 * The media files of an export: each archived media object (`<record id>.media*.pgp`) fetched,
 * decrypted with bounded memory and checked against its record when a zip reaches it, one at a time.
 */
import { createHash } from 'node:crypto';
import { pipeline, Readable, Transform, type TransformCallback } from 'node:stream';
import type { S3Client } from '@aws-sdk/client-s3';

import { decrypt, decryptToSpool, DEFAULT_MAX_COMPRESSION_RATIO, DEFAULT_MAX_DECRYPTED_BYTES, PgpError, type PrivateKey } from '../pgp';
import { readAll } from '../s3';
import { getObject } from './get';
import { MEDIA_SUFFIX } from './layout';
import { ArchiveError } from './types';

/** What opening a media object needs: the store, the keys and the limits of its decryption. */
export interface MediaReadOptions {
	client: S3Client;
	bucket: string;
	decryptionKeys: PrivateKey[];
	/**
	 * Largest plaintext of one media file, in bytes (default lib/pgp's `DEFAULT_MAX_DECRYPTED_BYTES`,
	 * above the capture's 100 MiB media limit): its decryption stops as soon as it passes.
	 */
	maxMediaBytes?: number;
	/** lib/pgp `maxCompressionRatio` of media decryption (default lib/pgp's). */
	maxCompressionRatio?: number;
	/** Directory of the temporary encrypted spools (default the OS's temporary directory). */
	tempDirectory?: string;
}

/** The error of a media object that could not be decrypted, named by its key, never by its content. */
export function mediaError(bucket: string, key: string, error: unknown): ArchiveError {
	if (error instanceof ArchiveError) return error;
	const reason = error instanceof Error ? error.message : String(error);
	if (error instanceof PgpError && error.code === 'OUTPUT_LIMIT') {
		return new ArchiveError(`Media s3://${bucket}/${key}: ${reason}`, {
			code: 'OutputLimit',
			cause: error,
			hint: 'If the media is trusted and really this large, raise Options → Max Media Size (MB) (one media file)',
		});
	}
	return new ArchiveError(`Could not decrypt s3://${bucket}/${key}: ${reason}`, { code: 'DecryptionFailed', cause: error });
}

const MIB = 1024 * 1024;

/**
 * Media objects up to this many bytes of ciphertext are decrypted in memory: WhatsApp's images, voice
 * notes and most documents. OpenPGP.js's streaming decryption takes several times the CPU of an
 * in-memory one for files this small, and one such file at a time bounds memory anyway.
 */
export const IN_MEMORY_MEDIA_BYTES = 8 * MIB;

/** Largest plaintext an in-memory decryption may produce; past it the object is decrypted again through the spool. */
const IN_MEMORY_PLAINTEXT_BYTES = 16 * MIB;

/**
 * Opens one media object as plaintext: GetObject (SHA-256 checked against `x-amz-meta-sha256`), then
 * - up to {@link IN_MEMORY_MEDIA_BYTES} of ciphertext: `decrypt` of lib/pgp in memory, stopped at
 *   16 MiB of plaintext (or `maxMediaBytes` when lower), so a compressed file cannot fill memory; one
 *   that stops there while `maxMediaBytes` allows more is read again through the spool;
 * - larger: `decryptToSpool` of lib/pgp (bounded memory; the plaintext is released only once
 *   authenticated, within `maxMediaBytes`), then a stream of the spool, deleted when the stream closes.
 *
 * @throws ArchiveError `DecryptionFailed` or `OutputLimit` naming the key, or the store's code.
 */
export async function openMediaPlaintext(options: MediaReadOptions, key: string): Promise<Readable> {
	const { client, bucket } = options;
	const got = await getObject({ client, bucket, key, verify: true });
	const maxMediaBytes = options.maxMediaBytes ?? DEFAULT_MAX_DECRYPTED_BYTES;
	if (got.size > IN_MEMORY_MEDIA_BYTES) return await spooledMediaPlaintext(options, key, got);
	const ciphertext = await readAll(got.body);
	try {
		const { data } = await decrypt({
			data: ciphertext,
			decryptionKeys: options.decryptionKeys,
			maxDecryptedBytes: Math.min(maxMediaBytes, IN_MEMORY_PLAINTEXT_BYTES),
			maxCompressionRatio: options.maxCompressionRatio ?? DEFAULT_MAX_COMPRESSION_RATIO,
		});
		return Readable.from([Buffer.from(data.buffer, data.byteOffset, data.byteLength)]);
	} catch (error) {
		const pastMemoryLimit = error instanceof PgpError && error.code === 'OUTPUT_LIMIT' && maxMediaBytes > IN_MEMORY_PLAINTEXT_BYTES;
		if (!pastMemoryLimit) throw mediaError(bucket, key, error);
	}
	return await spooledMediaPlaintext(options, key, await getObject({ client, bucket, key, versionId: got.versionId ?? undefined, verify: true }));
}

/** The plaintext of a media object being read (`got`) through lib/pgp's encrypted spool. */
async function spooledMediaPlaintext(options: MediaReadOptions, key: string, got: Awaited<ReturnType<typeof getObject>>): Promise<Readable> {
	const { client, bucket } = options;
	let plaintext: Awaited<ReturnType<typeof decryptToSpool>>;
	try {
		plaintext = await decryptToSpool({
			data: got.body,
			// the one second pass (sq's ZIP packets) reads the same version again
			reread: async () => (await getObject({ client, bucket, key, versionId: got.versionId ?? undefined, verify: true })).body,
			decryptionKeys: options.decryptionKeys,
			maxDecryptedBytes: options.maxMediaBytes ?? DEFAULT_MAX_DECRYPTED_BYTES,
			maxCompressionRatio: options.maxCompressionRatio ?? DEFAULT_MAX_COMPRESSION_RATIO,
			tempDirectory: options.tempDirectory,
		});
	} catch (error) {
		got.body.destroy();
		throw mediaError(bucket, key, error);
	}
	const stream = plaintext.createReadStream();
	stream.once('close', () => void plaintext.dispose());
	return stream;
}

/** The record's `media_sha256` (lower-case hex) when it is one, else null. */
export function recordMediaSha256(record: Record<string, unknown>): string | null {
	const value = record.media_sha256;
	return typeof value === 'string' && /^[0-9a-f]{64}$/i.test(value) ? value.toLowerCase() : null;
}

/**
 * Whether a media object is the one the record's `media_*` fields describe: `<record id>.media.pgp`,
 * written by the capture; `.media-<n>.pgp` objects are further files that those fields do not cover.
 */
export function isRecordMedia(key: string): boolean {
	return key.endsWith(MEDIA_SUFFIX);
}

/** Passes bytes through and, at their end, fails unless their SHA-256 is `sha256`. */
class Sha256Check extends Transform {
	private readonly hash = createHash('sha256');

	constructor(
		private readonly sha256: string,
		private readonly describe: string,
	) {
		super();
	}

	override _transform(chunk: Buffer, _encoding: BufferEncoding, callback: TransformCallback): void {
		this.hash.update(chunk);
		callback(null, chunk);
	}

	override _flush(callback: TransformCallback): void {
		if (this.hash.digest('hex') === this.sha256) callback();
		else callback(new ArchiveError(`${this.describe} does not match the media_sha256 of its record`, { code: 'IntegrityError' }));
	}
}

/**
 * `source` checked against `sha256` (when given) as it is read: the returned stream fails with
 * `IntegrityError` naming `key` at its end if the bytes differ.
 */
export function checkedMedia(source: Readable, sha256: string | null, key: string): Readable {
	if (!sha256) return source;
	const check = new Sha256Check(sha256, `The decrypted media object ${key}`);
	pipeline(source, check, () => {
		// an error reaches the reader through `check`
	});
	return check;
}
