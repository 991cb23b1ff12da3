/**
 * Limits on decrypted output. A Compressed Data packet (RFC 4880 §5.6) can inflate a message of
 * 1 MB to gigabytes (deflate up to 1032 times, bzip2 far more), so every decrypt path counts
 * plaintext as it comes out and stops at whichever comes first: the size limit, or, past
 * {@link COMPRESSION_RATIO_FLOOR}, a ratio to the message bytes read so far.
 */
import { COMPRESSION_RATIO_FLOOR, DEFAULT_MAX_COMPRESSION_RATIO, DEFAULT_MAX_DECRYPTED_BYTES, PgpError, type DecryptOptions } from './types';

const MIB = 1024 * 1024;

/**
 * Octets allowed on top of the size limit where whole packets are counted rather than the literal
 * data: the literal header (§5.9), one-pass signature and signature packets (§5.4, §5.2).
 */
export const PACKET_FRAMING_SLACK = 64 * 1024;

function megabytes(bytes: number): string {
	return bytes < MIB ? `${bytes} bytes` : `${Number((bytes / MIB).toFixed(2))} MiB`;
}

function positive(value: number | undefined, fallback: number, name: string): number {
	if (value === undefined) return fallback;
	if (typeof value !== 'number' || !(value > 0)) throw new RangeError(`${name} must be a positive number (or Infinity)`);
	return value;
}

/** Whether an OpenPGP.js error is its own decompressed-size limit (zlib/zip and bzip2 word it differently). */
export function isDecompressedSizeError(message: string): boolean {
	return /Maximum decompressed (message )?size exceeded/i.test(message);
}

/** Counts one decryption's message and plaintext octets against the limits of {@link DecryptOptions}. */
export class OutputMeter {
	/** The size limit in octets (`Infinity`: none). */
	readonly maxBytes: number;
	/** The compression ratio limit (`Infinity`: none). */
	readonly maxRatio: number;
	/** Octets of the message read so far (all of it, for a message in memory). */
	messageBytes = 0;

	/** @throws RangeError for a limit that is not a positive number */
	constructor(options: Pick<DecryptOptions, 'maxDecryptedBytes' | 'maxCompressionRatio'>) {
		this.maxBytes = positive(options.maxDecryptedBytes, DEFAULT_MAX_DECRYPTED_BYTES, 'maxDecryptedBytes');
		this.maxRatio = positive(options.maxCompressionRatio, DEFAULT_MAX_COMPRESSION_RATIO, 'maxCompressionRatio');
	}

	private ratioBound(): number {
		return this.maxRatio === Infinity ? Infinity : Math.max(COMPRESSION_RATIO_FLOOR, this.maxRatio * this.messageBytes);
	}

	/** The most plaintext allowed now: the size limit, or the ratio's bound when that is lower. */
	allowed(): number {
		return Math.min(this.maxBytes, this.ratioBound());
	}

	/**
	 * @param total plaintext octets so far
	 * @param slack octets of packet framing counted in `total` (see {@link PACKET_FRAMING_SLACK})
	 * @throws PgpError `OUTPUT_LIMIT` when `total` passes a limit
	 */
	check(total: number, slack = 0): void {
		if (total > this.allowed() + slack) throw this.error();
	}

	/** The `OUTPUT_LIMIT` error of the limit that binds now. */
	error(cause?: unknown): PgpError {
		if (this.ratioBound() < this.maxBytes) {
			return new PgpError(
				'OUTPUT_LIMIT',
				`Decryption stopped: the plaintext grew past ${megabytes(COMPRESSION_RATIO_FLOOR)} to more than ${this.maxRatio} times the size of the message, as a compression bomb does.`,
				{ limit: 'ratio', cause },
			);
		}
		return new PgpError('OUTPUT_LIMIT', `Decryption stopped: the plaintext exceeds the limit of ${megabytes(this.maxBytes)}.`, { limit: 'size', cause });
	}
}
