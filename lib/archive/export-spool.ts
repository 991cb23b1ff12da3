/**
 * The decrypted records of a streamed export between reading and writing. Records arrive in the order
 * their GETs finish, not in time order, so each is appended, as it arrives, to one temporary file,
 * sealed with AES-256-GCM (NIST SP 800-38D) under a random key that lives only in this process; the
 * export keeps only each record's place in the file and its sort fields in memory, and reads the
 * records back by position, in time order, once per output file. Plaintext never lies on disk in the
 * clear, and memory holds the records being read or written, not the export.
 */
import { createCipheriv, createDecipheriv, randomBytes } from 'node:crypto';
import { mkdtemp, open, rm, type FileHandle } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

import { ArchiveError } from './types';

/** Where one record lies in the spool. */
export interface SpoolEntry {
	/** Byte offset of its sealed bytes. */
	offset: number;
	/** Length of the ciphertext and its 16-byte tag. */
	length: number;
	/** The record's number in the spool: its GCM nonce (each key seals each nonce once). */
	sequence: number;
}

/** GCM authentication tag length in bytes (the full 128 bits, SP 800-38D §5.2.1.2). */
const TAG_BYTES = 16;

/** The 96-bit GCM nonce of record `sequence`: 4 zero bytes and the sequence number (SP 800-38D §8.2.1, deterministic construction). */
function nonce(sequence: number): Buffer {
	const iv = Buffer.alloc(12);
	iv.writeBigUInt64BE(BigInt(sequence), 4);
	return iv;
}

/** An append-only file of sealed records, read back by position. */
export class RecordSpool {
	private readonly key = randomBytes(32);

	private sequence = 0;

	private disposed = false;

	/** Bytes written (sealed records and tags). */
	size = 0;

	private constructor(
		private readonly directory: string,
		private readonly file: FileHandle,
	) {}

	/** Creates an empty spool in a fresh private (0700) directory under `parent` (default the OS's temporary directory). */
	static async create(parent?: string): Promise<RecordSpool> {
		const directory = await mkdtemp(join(parent || tmpdir(), 'chat-archive-export-'));
		try {
			return new RecordSpool(directory, await open(join(directory, 'records.spool'), 'w+', 0o600));
		} catch (error) {
			await rm(directory, { recursive: true, force: true });
			throw error;
		}
	}

	/** Seals `text` (UTF-8) and appends it; appends may overlap (each reserves its place before writing). */
	async append(text: string): Promise<SpoolEntry> {
		this.assertOpen();
		const sequence = this.sequence++;
		const cipher = createCipheriv('aes-256-gcm', this.key, nonce(sequence));
		const sealed = Buffer.concat([cipher.update(text, 'utf8'), cipher.final(), cipher.getAuthTag()]);
		const entry = { offset: this.size, length: sealed.length, sequence };
		this.size += sealed.length;
		await this.file.write(sealed, 0, sealed.length, entry.offset);
		return entry;
	}

	/**
	 * Reads one record back (UTF-8 text).
	 *
	 * @throws ArchiveError `IntegrityError` when its bytes in the file were changed.
	 */
	async read(entry: SpoolEntry): Promise<string> {
		this.assertOpen();
		const sealed = Buffer.alloc(entry.length);
		const { bytesRead } = await this.file.read(sealed, 0, entry.length, entry.offset);
		try {
			if (bytesRead !== entry.length) throw new Error('short read');
			const decipher = createDecipheriv('aes-256-gcm', this.key, nonce(entry.sequence));
			decipher.setAuthTag(sealed.subarray(entry.length - TAG_BYTES));
			return Buffer.concat([decipher.update(sealed.subarray(0, entry.length - TAG_BYTES)), decipher.final()]).toString('utf8');
		} catch (error) {
			throw new ArchiveError("The export's temporary spool was changed or cut while the export ran: run the export again", {
				code: 'IntegrityError',
				cause: error,
			});
		}
	}

	/** Closes and deletes the file and forgets the key. Idempotent. */
	async dispose(): Promise<void> {
		if (this.disposed) return;
		this.disposed = true;
		this.key.fill(0);
		await this.file.close().catch(() => undefined);
		await rm(this.directory, { recursive: true, force: true });
	}

	private assertOpen(): void {
		if (this.disposed) throw new ArchiveError('The export was disposed: its files can no longer be read', { code: 'InvalidInput' });
	}
}
