/**
 * Decryption (and signature checking) of OpenPGP messages from gpg, sq or OpenPGP.js: binary or
 * armored, compressed (ZIP, ZLIB, BZip2), signed, hidden recipients (`gpg --throw-keyids`).
 */
import { createDecipheriv, createHash } from 'node:crypto';
import { inflateRawSync, inflateSync } from 'node:zlib';
import * as openpgp from 'openpgp';
import type { Key, Message, PublicKey } from 'openpgp';

import { repairArmoredText } from './armor';
import { innerMessage } from './errors';
import { fingerprintOf } from './fingerprint';
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
	if (/Maximum decompressed (message )?size exceeded/i.test(inner)) {
		// zlib/zip (OpenPGP.js) and bzip2 (its unbzip2 stream) word it differently: one message.
		return new PgpError(
			'OPERATION',
			'Decryption failed: Maximum decompressed message size exceeded',
			{
				cause: error,
			},
		);
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

/** Body of the first packet in `bytes` (RFC 4880 §4.2: old and new formats, partial lengths). */
function firstPacket(bytes: Uint8Array): { tag: number; body: Uint8Array } {
	let offset = 0;
	const next = () => {
		if (offset >= bytes.length) throw new Error('truncated packet');
		return bytes[offset++];
	};
	const ctb = next();
	if ((ctb & 0x80) === 0) throw new Error('not an OpenPGP packet');
	const parts: Uint8Array[] = [];
	const take = (length: number) => {
		parts.push(bytes.subarray(offset, offset + length));
		offset += length;
	};
	if (ctb & 0x40) {
		const tag = ctb & 0x3f;
		for (;;) {
			const first = next();
			if (first < 192) take(first);
			else if (first < 224) take(((first - 192) << 8) + next() + 192);
			else if (first === 255)
				take(((next() << 24) | (next() << 16) | (next() << 8) | next()) >>> 0);
			else {
				take(1 << (first & 0x1f));
				continue;
			}
			break;
		}
		return { tag, body: Buffer.concat(parts) };
	}
	const tag = (ctb >> 2) & 0x0f;
	const lengthType = ctb & 0x03;
	if (lengthType === 3) take(bytes.length - offset);
	else if (lengthType === 0) take(next());
	else if (lengthType === 1) take((next() << 8) | next());
	else take(((next() << 24) | (next() << 16) | (next() << 8) | next()) >>> 0);
	return { tag, body: Buffer.concat(parts) };
}

const CFB_CIPHERS: Record<string, string> = {
	aes128: 'aes-128-cfb',
	aes192: 'aes-192-cfb',
	aes256: 'aes-256-cfb',
};

/**
 * Fallback for ZIP/ZLIB packets that carry bytes after the end of the deflate stream, as sq 0.27
 * writes them: OpenPGP.js 6 inflates with the native `DecompressionStream`, which on Node ≥ 22
 * rejects them ("Trailing junk found after the end of the compressed stream"), while gpg, sq and
 * zlib ignore them. Here the SEIPD v1 packet is decrypted with Node's AES-CFB (zero IV, RFC 4880
 * §5.13), the MDC checked (SHA-1 over prefix, data and the 0xD3 0x14 header, §5.14), the
 * Compressed Data packet (§5.6) inflated with zlib, and the inner message (literal data, maybe
 * signed) handed back to OpenPGP.js.
 *
 * @returns the inner message, or undefined when the message is not of that shape (no SEIPD v1 with AES)
 * @throws PgpError `INTEGRITY` when the MDC does not match
 */
async function decryptTolerantInflate(message: Message<Uint8Array>, options: DecryptOptions): Promise<Message<Uint8Array> | undefined> {
	const seipd = message.packets.find(
		(packet) => (packet.constructor as unknown as { tag: number }).tag === 18,
	) as unknown as { version: number; encrypted: unknown } | undefined;
	if (!seipd || seipd.version !== 1) return undefined;
	// Partial-length packets are kept as an OpenPGP.js ArrayStream (an Array of chunks).
	const raw = seipd.encrypted as
		| Uint8Array
		| { readToEnd(join: (chunks: Uint8Array[]) => Uint8Array): Promise<Uint8Array> };
	let encrypted: Uint8Array;
	if (raw instanceof Uint8Array) encrypted = raw;
	else if (raw && typeof raw.readToEnd === 'function') {
		encrypted = await raw.readToEnd((chunks) => Buffer.concat(chunks));
	} else return undefined;
	const sessionKeys = await openpgp.decryptSessionKeys({
		message,
		decryptionKeys: options.decryptionKeys,
		date: options.date,
	});
	for (const sessionKey of sessionKeys) {
		const cipher = CFB_CIPHERS[String(sessionKey.algorithm)];
		if (!cipher) continue;
		const decipher = createDecipheriv(cipher, sessionKey.data, Buffer.alloc(16));
		const plaintext = Buffer.concat([decipher.update(encrypted), decipher.final()]);
		if (plaintext.length < 18 + 22) continue;
		const mdcStart = plaintext.length - 22;
		if (plaintext[mdcStart] !== 0xd3 || plaintext[mdcStart + 1] !== 0x14) continue;
		const digest = createHash('sha1')
			.update(plaintext.subarray(0, mdcStart + 2))
			.digest();
		if (!digest.equals(plaintext.subarray(mdcStart + 2))) {
			throw new PgpError(
				'INTEGRITY',
				'The message failed its integrity check (modified or truncated): Modification detected.',
			);
		}
		const packet = firstPacket(plaintext.subarray(18, mdcStart));
		if (packet.tag !== 8) return undefined;
		const limit = options.maxDecompressedBytes;
		const zlibOptions = limit !== undefined ? { maxOutputLength: limit } : {};
		const algorithm = packet.body[0];
		if (algorithm !== 1 && algorithm !== 2) return undefined;
		const inflate = algorithm === 1 ? inflateRawSync : inflateSync;
		let inner: Buffer;
		try {
			inner = inflate(packet.body.subarray(1), zlibOptions);
		} catch (error) {
			if ((error as { code?: string }).code === 'ERR_BUFFER_TOO_LARGE') {
				throw new PgpError(
					'OPERATION',
					'Decryption failed: Maximum decompressed message size exceeded',
					{
						cause: error,
					},
				);
			}
			throw error;
		}
		return (await openpgp.readMessage({ binaryMessage: inner })) as Message<Uint8Array>;
	}
	return undefined;
}

/**
 * The OpenPGP.js decryption that `decrypt` and `decryptToSpool` share, after the checks both make: a
 * private key is given, and a required signature has signer keys. `config` adds to the
 * decompressed-size limit.
 *
 * @throws PgpError `NO_RECIPIENTS`, `SIGNATURE`
 */
export function messageDecrypter(
	options: Pick<
		DecryptOptions,
		'decryptionKeys' | 'verificationKeys' | 'expectSigned' | 'date' | 'maxDecompressedBytes'
	>,
	config: openpgp.PartialConfig = {},
): (message: Message<Uint8Array>) => ReturnType<typeof openpgp.decrypt<Uint8Array>> {
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
	const limit = options.maxDecompressedBytes;
	const fullConfig: openpgp.PartialConfig =
		limit === undefined ? config : { ...config, maxDecompressedMessageSize: limit };
	return async (message) =>
		await openpgp.decrypt({
			message,
			decryptionKeys: options.decryptionKeys,
			verificationKeys: verificationKeys.length > 0 ? verificationKeys : undefined,
			expectSigned: options.expectSigned === true,
			format: 'binary',
			date: options.date,
			config: fullConfig,
		});
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
 * @returns {@link DecryptResult}: exact plaintext bytes (binary format), literal file name, signatures
 * @throws PgpError `MESSAGE_FORMAT`, `NOT_FOR_US` (naming our fingerprint and the message's
 *  recipient key IDs), `INTEGRITY`, `SIGNATURE`, `PASSPHRASE`, `OPERATION`
 */
export async function decrypt(options: DecryptOptions): Promise<DecryptResult> {
	const verificationKeys = options.verificationKeys ?? [];
	const decryptMessage = messageDecrypter(options);
	const message = await readMessageFrom(options.data);
	let result;
	try {
		result = await decryptMessage(message);
	} catch (error) {
		if (!/Trailing junk/i.test(innerMessage(error))) throw classify(error, message, options);
		let inner: Message<Uint8Array> | undefined;
		try {
			// OpenPGP.js consumed the message's packet streams: read it again.
			inner = await decryptTolerantInflate(await readMessageFrom(options.data), options);
		} catch (fallbackError) {
			if (fallbackError instanceof PgpError) throw fallbackError;
			throw classify(fallbackError, message, options);
		}
		if (!inner) throw classify(error, message, options);
		try {
			const verified = await openpgp.verify({
				message: inner,
				verificationKeys,
				expectSigned: options.expectSigned === true,
				format: 'binary',
				date: options.date,
			});
			result = {
				data: verified.data,
				signatures: verified.signatures,
				filename: inner.getFilename() ?? '',
			};
		} catch (verifyError) {
			throw classify(verifyError, message, options);
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
