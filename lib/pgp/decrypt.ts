/**
 * Decryption (and signature checking) of OpenPGP messages from gpg, sq or OpenPGP.js: binary or
 * armored, compressed (ZIP, ZLIB, BZip2), signed, hidden recipients (`gpg --throw-keyids`).
 */
import * as openpgp from 'openpgp';
import type { Key, Message, PublicKey } from 'openpgp';

import { repairArmoredText } from './armor';
import { innerMessage } from './errors';
import { fingerprintOf } from './fingerprint';
import { decryptTolerantInflate } from './inflate-fallback';
import { isDecompressedSizeError, OutputMeter, PACKET_FRAMING_SLACK } from './output-limit';
import { PgpError, type DecryptOptions, type DecryptResult, type SignatureReport } from './types';

/**
 * Read an OpenPGP message (RFC 4880 §11.3) from bytes or text: armored (repaired like keys:
 * BOM, CRLF, indentation, collapsed newlines) or binary packets.
 *
 * @throws PgpError `MESSAGE_FORMAT` when no OpenPGP message can be read
 */
export async function readMessageFrom(data: Uint8Array | string): Promise<Message<Uint8Array>> {
	let repaired;
	try {
		repaired = repairArmoredText(data);
	} catch (error) {
		throw new PgpError(
			'MESSAGE_FORMAT',
			'The input is not an OpenPGP message (binary or armored).',
			{
				cause: error,
			},
		);
	}
	try {
		if (repaired.binary) return await openpgp.readMessage({ binaryMessage: repaired.binary });
		const block = repaired.blocks.find((candidate) => candidate.type === 'MESSAGE');
		if (!block) {
			throw new PgpError(
				'MESSAGE_FORMAT',
				`Expected a PGP MESSAGE block, found ${repaired.blocks.map((candidate) => `PGP ${candidate.type}`).join(', ')}.`,
			);
		}
		return (await openpgp.readMessage({ armoredMessage: block.text })) as Message<Uint8Array>;
	} catch (error) {
		if (error instanceof PgpError) throw error;
		throw new PgpError(
			'MESSAGE_FORMAT',
			`The input could not be read as an OpenPGP message: ${innerMessage(error)}`,
			{ cause: error },
		);
	}
}

/** The primary key among `keys` that holds (sub)key `keyId`, if any. */
function keyForId(keys: Key[], keyId: openpgp.KeyID): Key | undefined {
	return keys.find((key) => key.getKeys(keyId).length > 0);
}

/**
 * Check the signatures OpenPGP.js returned (`verify` / `decrypt` results).
 *
 * @returns one report per signature: issuer key id, matching fingerprint, validity and reason
 */
export async function reportSignatures(
	signatures: openpgp.DecryptMessageResult['signatures'],
	verificationKeys: PublicKey[],
): Promise<SignatureReport[]> {
	const reports: SignatureReport[] = [];
	for (const entry of signatures) {
		const keyId = entry.keyID.toHex().toUpperCase();
		const key = keyForId(verificationKeys, entry.keyID);
		const report: SignatureReport = {
			keyId,
			fingerprint: key ? fingerprintOf(key) : undefined,
			valid: false,
		};
		try {
			const signature = await entry.signature;
			const created = signature.packets[0]?.created;
			if (created) report.created = created;
		} catch {
			// unreadable signature packet: reported through `verified` below
		}
		try {
			report.valid = (await entry.verified) === true;
		} catch (error) {
			report.reason = key
				? innerMessage(error)
				: `no verification key with key ID ${keyId} was given`;
		}
		reports.push(report);
	}
	return reports;
}

/**
 * Map an OpenPGP.js decryption error to a {@link PgpError} with a safe message (fingerprints and
 * key IDs only). Internal to `lib/pgp` (also used by the streaming decrypt).
 */
export function classify(
	error: unknown,
	message: Message<Uint8Array>,
	options: Pick<DecryptOptions, 'decryptionKeys' | 'expectSigned'>,
): PgpError {
	const ours = pgpErrorIn(error);
	if (ours) return ours;
	const inner = innerMessage(error);
	if (
		/No decryption key packets found|Session key decryption failed|Error decrypting session keys/i.test(
			inner,
		)
	) {
		const ours = options.decryptionKeys.map(fingerprintOf).join(', ');
		const recipients = message
			.getEncryptionKeyIDs()
			.map((id) => (/^0+$/.test(id.toHex()) ? 'hidden recipient' : id.toHex().toUpperCase()));
		return new PgpError(
			'NOT_FOR_US',
			`The message is not encrypted to private key ${ours} (it is for: ${recipients.join(', ') || 'no public-key recipient'}).`,
			{ cause: error },
		);
	}
	if (/Modification detected|Authentication tag mismatch|Unexpected end of packet/i.test(inner)) {
		return new PgpError(
			'INTEGRITY',
			`The message failed its integrity check (modified or truncated): ${inner}`,
			{ cause: error },
		);
	}
	if (isDecompressedSizeError(inner)) {
		return new PgpError('OUTPUT_LIMIT', 'Decryption stopped: the decompressed data exceeds the size limit.', { limit: 'size', cause: error });
	}
	if (/Message is not signed/i.test(inner)) {
		return new PgpError(
			'SIGNATURE',
			'The message is not signed, but a valid signature is required.',
			{
				cause: error,
			},
		);
	}
	const missingSigner = /Could not find signing key with key ID ([0-9a-f]+)/i.exec(inner);
	if (missingSigner) {
		return new PgpError(
			'SIGNATURE',
			`The message is signed by key ID ${missingSigner[1].toUpperCase()}, which is not among the verification keys.`,
			{ cause: error },
		);
	}
	if (/Signed digest did not match|signature/i.test(inner) && options.expectSigned) {
		return new PgpError('SIGNATURE', `The signature is not valid: ${inner}`, { cause: error });
	}
	if (/not decrypted/i.test(inner)) {
		return new PgpError(
			'PASSPHRASE',
			'The private key is locked: unlock it with its passphrase first.',
			{
				cause: error,
			},
		);
	}
	if (/Unauthenticated|not authenticated|MDC|missing/i.test(inner)) {
		return new PgpError(
			'INTEGRITY',
			`The message has no integrity protection (no MDC) and is refused: ${inner}`,
			{ cause: error },
		);
	}
	return new PgpError('OPERATION', `Decryption failed: ${inner}`, { cause: error });
}

/** A PgpError of this engine in the cause chain of `error` (OpenPGP.js keeps causes when it wraps). */
export function pgpErrorIn(error: unknown): PgpError | undefined {
	for (let current = error; current instanceof Error; current = current.cause) {
		if (current instanceof PgpError) return current;
	}
	return undefined;
}

/** Reads a stream of plaintext into memory, stopping with `OUTPUT_LIMIT` as soon as it passes the meter's limits. */
export async function collectWithin(data: AsyncIterable<Uint8Array> | ReadableStream<Uint8Array>, meter: OutputMeter): Promise<Uint8Array> {
	const chunks: Uint8Array[] = [];
	let total = 0;
	for await (const chunk of data as AsyncIterable<Uint8Array>) {
		total += chunk.length;
		meter.check(total);
		chunks.push(chunk);
	}
	return Buffer.concat(chunks);
}

/**
 * The OpenPGP.js decryption that `decrypt` and `decryptToSpool` share, after the checks both make: a
 * private key is given, and a required signature has signer keys. `config` is OpenPGP.js's (the
 * callers set its decompressed-size limit from their {@link OutputMeter}).
 *
 * @throws PgpError `NO_RECIPIENTS`, `SIGNATURE`
 */
export function messageDecrypter(
	options: Pick<DecryptOptions, 'decryptionKeys' | 'verificationKeys' | 'expectSigned' | 'date'>,
): (message: Message<Uint8Array>, config: openpgp.PartialConfig) => ReturnType<typeof openpgp.decrypt<Uint8Array>> {
	if (!options.decryptionKeys || options.decryptionKeys.length === 0) {
		throw new PgpError('NO_RECIPIENTS', 'A private key is required to decrypt.');
	}
	const verificationKeys = options.verificationKeys ?? [];
	if (options.expectSigned && verificationKeys.length === 0) {
		throw new PgpError(
			'SIGNATURE',
			'A signature is required, but no verification (signer) keys were given.',
		);
	}
	return async (message, config) =>
		await openpgp.decrypt({
			message,
			decryptionKeys: options.decryptionKeys,
			verificationKeys: verificationKeys.length > 0 ? verificationKeys : undefined,
			expectSigned: options.expectSigned === true,
			format: 'binary',
			date: options.date,
			config,
		});
}

/**
 * Verify and read the inner message of the tolerant second pass (`decryptTolerantInflate`): its
 * literal data as a stream, its signatures, and its file name once the data was read.
 */
export async function verifyInner(
	inner: Message<Uint8Array>,
	options: Pick<DecryptOptions, 'verificationKeys' | 'expectSigned' | 'date'>,
): Promise<{ data: ReadableStream<Uint8Array> | Uint8Array; signatures: openpgp.VerifyMessageResult['signatures'] }> {
	const verified = await openpgp.verify({
		message: inner,
		verificationKeys: options.verificationKeys ?? [],
		expectSigned: options.expectSigned === true,
		format: 'binary',
		date: options.date,
	});
	return { data: verified.data as ReadableStream<Uint8Array> | Uint8Array, signatures: verified.signatures };
}

/**
 * Decrypt a message with one or more unlocked private keys; check signatures when
 * `verificationKeys` are given. Holds the whole message and its plaintext in memory, several times
 * the plaintext size (docs/OPENPGP.md §4); for large input use `decryptToSpool` of
 * `./decrypt-stream` (bounded memory). SEIPD v1 without MDC (RFC 4880 §5.13) is refused (OpenPGP.js
 * default).
 *
 * With `expectSigned`, a message without a valid signature of one of `verificationKeys` is refused.
 * Without it, signatures are reported (valid or not, with the reason) but do not block.
 *
 * The plaintext is limited by `maxDecryptedBytes` and `maxCompressionRatio` (defaults in
 * types.ts): decompression stops as soon as it passes either, so memory stays within the limit.
 * Messages whose ZIP/ZLIB data is followed by other bytes (sq 0.27) go through a second, streaming
 * pass (`decryptTolerantInflate`, same limits).
 *
 * @returns {@link DecryptResult}: exact plaintext bytes (binary format), literal file name, signatures
 * @throws PgpError `MESSAGE_FORMAT`, `NOT_FOR_US` (naming our fingerprint and the message's
 *  recipient key IDs), `INTEGRITY`, `SIGNATURE`, `PASSPHRASE`, `OUTPUT_LIMIT`, `OPERATION`
 */
export async function decrypt(options: DecryptOptions): Promise<DecryptResult> {
	const verificationKeys = options.verificationKeys ?? [];
	const meter = new OutputMeter(options);
	const decryptMessage = messageDecrypter(options);
	const message = await readMessageFrom(options.data);
	meter.messageBytes = typeof options.data === 'string' ? Buffer.byteLength(options.data) : options.data.length;
	let result;
	try {
		result = await decryptMessage(message, { maxDecompressedMessageSize: meter.allowed() + PACKET_FRAMING_SLACK });
		meter.check((result.data as Uint8Array).length);
	} catch (error) {
		if (isDecompressedSizeError(innerMessage(error))) throw meter.error(error);
		if (!/Trailing junk/i.test(innerMessage(error))) throw classify(error, message, options);
		try {
			// OpenPGP.js consumed the message's packet streams: read it again.
			const inner = await decryptTolerantInflate(await readMessageFrom(options.data), options, meter);
			if (!inner) throw classify(error, message, options);
			const verified = await verifyInner(inner, options);
			const data = verified.data instanceof Uint8Array ? verified.data : await collectWithin(verified.data, meter);
			meter.check(data.length);
			result = { data, signatures: verified.signatures, filename: inner.getFilename() ?? '' };
		} catch (fallbackError) {
			throw classify(fallbackError, message, options);
		}
	}
	const signatures = await reportSignatures(result.signatures, verificationKeys);
	return {
		data: result.data as Uint8Array,
		filename: result.filename ?? '',
		signed: signatures.length > 0,
		signatures,
	};
}
