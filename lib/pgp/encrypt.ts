/**
 * Public-key encryption (optionally signed) of bytes or streams.
 */
import { randomBytes } from 'node:crypto';
import { Readable } from 'node:stream';
import * as openpgp from 'openpgp';

import { assertEncryptionKeys, assertProfileCompatible, assertSigningKey } from './check';
import { innerMessage } from './errors';
import { fingerprintOf } from './fingerprint';
import { encryptSeipdV1Stream } from './seipd-stream';
import { DEFAULT_PROFILE, PgpError, type EncryptOptions, type EncryptResult, type PgpInput } from './types';

/** True for a Node.js `Readable` (OpenPGP.js 6 accepts only web streams). */
export function isNodeReadable(value: unknown): value is Readable {
	return value instanceof Readable;
}

/** True for a WHATWG `ReadableStream`. */
export function isWebStream(value: unknown): value is ReadableStream<Uint8Array> {
	return (
		typeof value === 'object' &&
		value !== null &&
		typeof (value as ReadableStream).getReader === 'function'
	);
}

/**
 * Bring any supported input to what OpenPGP.js 6 takes: a `Uint8Array` or a web `ReadableStream`.
 * A Node `Readable` goes through `Readable.toWeb` (OpenPGP.js 6 takes web streams only,
 * openpgpjs/openpgpjs#1716).
 */
export function toOpenPgpInput(data: PgpInput): Uint8Array | ReadableStream<Uint8Array> {
	if (isNodeReadable(data)) return Readable.toWeb(data) as unknown as ReadableStream<Uint8Array>;
	return data;
}

/**
 * Encrypt bytes or a stream to one or more recipients (one PKESK per recipient, RFC 4880 §5.1),
 * optionally signing (one-pass signature, RFC 4880 §5.4).
 *
 * Profile `gnupg` (default): refuses v6 / RFC 9580-algorithm keys, and forces SEIPD v1 with MDC
 * (RFC 4880 §5.13) and AES-256 by supplying a random 32-byte session key without an AEAD algorithm,
 * so gpg 2.2 and sq 0.27 can decrypt even if a recipient advertises SEIPD v2 (feature 0x08).
 * Profile `rfc9580`: OpenPGP.js negotiates (SEIPD v2, RFC 9580 §5.13.2, when every recipient supports it).
 *
 * The literal data packet (RFC 4880 §5.9) is binary (`b`), so bytes round-trip exactly; it carries
 * `filename` (default `data.bin`), which every decrypting party can see.
 *
 * Stream input in the `gnupg` profile, binary, unsigned and uncompressed (media files) goes through
 * the native writer of `./seipd-stream` (OpenSSL AES-256-CFB + SHA-1, the same packets;
 * PKESKs still from OpenPGP.js), faster than OpenPGP.js's web streams (figures: docs/benchmarks.md,
 * "Media encryption"); everything else through OpenPGP.js.
 *
 * @returns {@link EncryptResult}: buffer input gives `Uint8Array` (binary) or `string` (armored);
 *  stream input gives a Node `Readable` (errors surface as stream errors)
 * @throws PgpError `NO_RECIPIENTS`, `INCOMPATIBLE_KEY`, `UNUSABLE_KEY` (expired/revoked/weak
 *  recipient, named by fingerprint), `OPERATION` (other OpenPGP.js failures)
 */
export async function encrypt(options: EncryptOptions): Promise<EncryptResult> {
	const profile = options.profile ?? DEFAULT_PROFILE;
	const armored = options.armor === true;
	const date = options.date ?? new Date();
	if (!options.recipients || options.recipients.length === 0) {
		throw new PgpError('NO_RECIPIENTS', 'At least one recipient public key is required.');
	}
	for (const key of options.recipients) assertProfileCompatible(key, profile);
	await assertEncryptionKeys(options.recipients, date);
	if (options.signingKey) {
		assertProfileCompatible(options.signingKey, profile);
		await assertSigningKey(options.signingKey, date);
	}

	const filename = options.filename ?? 'data.bin';
	const compression = await applicableCompression(
		options.compression ?? 'none',
		options.recipients,
		date,
	);
	const streamInput = isNodeReadable(options.data) || isWebStream(options.data);
	if (
		streamInput &&
		profile === 'gnupg' &&
		!armored &&
		!options.signingKey &&
		compression === 'none' &&
		Buffer.byteLength(filename, 'utf8') <= 255
	) {
		// Large binary media: the native SEIPD v1 writer (OpenSSL AES-256 + SHA-1), same packets.
		let ciphertext: Readable;
		try {
			ciphertext = await encryptSeipdV1Stream({
				data: options.data as Readable | ReadableStream<Uint8Array>,
				recipients: options.recipients,
				filename,
				date,
			});
		} catch (error) {
			throw new PgpError('OPERATION', `Encryption failed: ${innerMessage(error)}`, {
				cause: error,
			});
		}
		return {
			ciphertext,
			recipientFingerprints: options.recipients.map(fingerprintOf),
			signerFingerprint: undefined,
			profile,
			armored,
			compression,
		};
	}

	const input = toOpenPgpInput(options.data);
	const streaming = isWebStream(input);
	const message = await openpgp.createMessage({
		binary: input,
		filename,
		format: 'binary',
		date,
	});
	const sessionKey =
		profile === 'gnupg'
			? { data: new Uint8Array(randomBytes(32)), algorithm: 'aes256' as const }
			: undefined;
	const config: openpgp.PartialConfig = {
		preferredSymmetricAlgorithm: openpgp.enums.symmetric.aes256,
	};
	if (profile === 'gnupg') config.aeadProtect = false;
	if (compression !== 'none') {
		config.preferredCompressionAlgorithm = openpgp.enums.compression[compression];
	}

	let output: unknown;
	try {
		const common = {
			message,
			encryptionKeys: options.recipients,
			signingKeys: options.signingKey ? [options.signingKey] : undefined,
			sessionKey,
			date,
			config,
		};
		output = armored
			? await openpgp.encrypt({ ...common, format: 'armored' })
			: await openpgp.encrypt({ ...common, format: 'binary' });
	} catch (error) {
		throw new PgpError('OPERATION', `Encryption failed: ${innerMessage(error)}`, { cause: error });
	}

	let ciphertext: EncryptResult['ciphertext'];
	if (streaming) {
		const readable = Readable.fromWeb(output as Parameters<typeof Readable.fromWeb>[0]);
		// Armored streams yield strings: hand out bytes either way.
		ciphertext = armored
			? readable.map((chunk: string | Uint8Array) =>
					typeof chunk === 'string' ? Buffer.from(chunk, 'utf8') : chunk,
				)
			: readable;
	} else {
		ciphertext = output as Uint8Array | string;
	}
	return {
		ciphertext,
		recipientFingerprints: options.recipients.map(fingerprintOf),
		signerFingerprint: options.signingKey ? fingerprintOf(options.signingKey) : undefined,
		profile,
		armored,
		compression,
	};
}

/**
 * The compression OpenPGP.js will apply: the requested one if every recipient's primary
 * self-signature lists it among its preferred compression algorithms (RFC 4880 §5.2.3.9),
 * else `none` (OpenPGP.js falls back to uncompressed in that case).
 */
async function applicableCompression(
	requested: 'none' | 'zlib' | 'zip',
	recipients: openpgp.PublicKey[],
	date: Date,
): Promise<'none' | 'zlib' | 'zip'> {
	if (requested === 'none') return 'none';
	const algorithm = openpgp.enums.compression[requested];
	for (const key of recipients) {
		// getPrimarySelfSignature exists on OpenPGP.js 6 keys but is missing from its typings.
		const withSelfSignature = key as unknown as {
			getPrimarySelfSignature(
				date: Date,
			): Promise<{ preferredCompressionAlgorithms?: number[] | null }>;
		};
		const selfSignature = await withSelfSignature
			.getPrimarySelfSignature(date)
			.catch(() => undefined);
		const preferred = selfSignature?.preferredCompressionAlgorithms ?? [];
		if (!preferred.includes(algorithm)) return 'none';
	}
	return requested;
}
