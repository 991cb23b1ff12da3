/**
 * Shared types of the OpenPGP engine (`lib/pgp`). Plain TypeScript: no n8n import.
 *
 * Every verb (`readPublicKeys`, `encrypt`, `decrypt`, `sign`, `verify`, `inspectKey`) takes one
 * options object and returns one result object, in the style of OpenPGP.js itself.
 */
import type { Readable } from 'node:stream';
import type { PrivateKey, PublicKey } from 'openpgp';

export type { PrivateKey, PublicKey };

/**
 * Compatibility profile.
 *
 * - `gnupg` (default): output that GnuPG 2.2 and Sequoia `sq` 0.27 can read: v4 keys only,
 *   no RFC 9580 algorithms 25–28 (X25519, X448, Ed25519, Ed448), SEIPD v1 (RFC 4880 §5.13) with
 *   AES-256 even when a recipient advertises SEIPD v2.
 * - `rfc9580`: whatever OpenPGP.js negotiates (RFC 9580: v6 keys, SEIPD v2 §5.13.2, AEAD).
 */
export type CompatibilityProfile = 'gnupg' | 'rfc9580';

/** The profile used when none is given. */
export const DEFAULT_PROFILE: CompatibilityProfile = 'gnupg';

/** Bytes to process: a buffer, a web `ReadableStream` or a Node `Readable` (converted internally). */
export type PgpInput = Uint8Array | ReadableStream<Uint8Array> | Readable;

/** Which class of problem a {@link PgpError} reports; stable, for callers that branch on it. */
export type PgpErrorCode =
	| 'KEY_FORMAT' // the pasted text is not a usable armored / binary key
	| 'PRIVATE_KEY_IN_PUBLIC_FIELD'
	| 'UNEXPECTED_FINGERPRINT'
	| 'MISSING_EXPECTED_FINGERPRINT'
	| 'INCOMPATIBLE_KEY' // v6 key or algorithm 25–28 in the gnupg profile
	| 'UNSUPPORTED_CURVE' // Brainpool or secp256k1 key (check.ts)
	| 'INPUT_TOO_LARGE' // key or armored text over its size cap (armor.ts)
	| 'UNUSABLE_KEY' // expired, revoked, weak, no encryption/signing subkey
	| 'NO_RECIPIENTS'
	| 'PASSPHRASE'
	| 'MESSAGE_FORMAT'
	| 'NOT_FOR_US'
	| 'SIGNATURE'
	| 'INTEGRITY'
	| 'OUTPUT_LIMIT' // the plaintext passed `maxDecryptedBytes` or `maxCompressionRatio` (a compression bomb)
	| 'OPERATION';

/**
 * Default of `maxDecryptedBytes`: room for the largest media WhatsApp sends (documents, 100 MB) and
 * more, while a compression bomb stops long before it fills a disk or memory.
 */
export const DEFAULT_MAX_DECRYPTED_BYTES = 256 * 1024 * 1024;

/**
 * Default of `maxCompressionRatio`. Text and JSON compress a few times to about 20 times with
 * deflate, a log of one timestamped line a second about 25 (test/lib/pgp/output-limit.test.ts);
 * media do not compress. Data that repeats itself within deflate's 32 KiB window (identical lines,
 * runs of zeros) passes 100, up to deflate's ceiling of 1032 (RFC 1951: 258 octets per match);
 * bzip2 goes far higher. A bomb of 1 MB that inflates to 1 GiB has a ratio of 1000.
 */
export const DEFAULT_MAX_COMPRESSION_RATIO = 100;

/** Plaintext up to this size is never refused for its compression ratio (small messages can be very compressible). */
export const COMPRESSION_RATIO_FLOOR = 8 * 1024 * 1024;

/** Which limit an `OUTPUT_LIMIT` error hit. */
export type OutputLimitKind = 'size' | 'ratio';

/**
 * Error thrown by `lib/pgp`. The message names keys by fingerprint only and never contains key
 * material, plaintext or passphrases. `cause` keeps the OpenPGP.js error when there was one.
 */
export class PgpError extends Error {
	/** Problem class, see {@link PgpErrorCode}. */
	readonly code: PgpErrorCode;
	/** Upper-case hex fingerprint of the key concerned, when one is known. */
	readonly fingerprint?: string;
	/** For `OUTPUT_LIMIT`: the limit that was hit (the size, or the compression ratio). */
	readonly limit?: OutputLimitKind;

	constructor(
		code: PgpErrorCode,
		message: string,
		options: { fingerprint?: string; cause?: unknown; limit?: OutputLimitKind } = {},
	) {
		super(message, options.cause === undefined ? undefined : { cause: options.cause });
		this.name = 'PgpError';
		this.code = code;
		this.fingerprint = options.fingerprint;
		this.limit = options.limit;
	}
}

/** Options of `readPublicKeys`. */
export interface ReadPublicKeysOptions {
	/**
	 * One or more public keys as pasted by a person: armored text (several blocks allowed), or a
	 * buffer holding UTF-8 / UTF-16 armored text or binary (`gpg --export`) keys.
	 */
	armoredKeys: string | Uint8Array;
	/** The field the keys were pasted in, named in errors (e.g. `Public Keys`). */
	field?: string;
	/** When set (non-empty), every key must have one of these fingerprints, and every one listed must be present. */
	expectedFingerprints?: string[];
	/** Default `gnupg`: refuses v6 keys and algorithms 25–28. */
	profile?: CompatibilityProfile;
}

/** Options of `readPrivateKey`. */
export interface ReadPrivateKeyOptions {
	/** One armored (or binary) private key, repaired like public keys. */
	armoredKey: string | Uint8Array;
	/** The field the key was pasted in, named in errors (e.g. `Private Key`). */
	field?: string;
	/** Passphrase; omit or empty for an unprotected key. */
	passphrase?: string;
	/** Default `gnupg`. */
	profile?: CompatibilityProfile;
}

/** Options of `encrypt`. */
export interface EncryptOptions {
	/** Plaintext bytes. A stream gives a stream back. */
	data: PgpInput;
	/** Recipients (at least one), e.g. from `readPublicKeys`. */
	recipients: PublicKey[];
	/** Optional unlocked private key: the message is then signed too (one-pass signature). */
	signingKey?: PrivateKey;
	/** ASCII armor (RFC 4880 §6.2) instead of binary packets. Default false. */
	armor?: boolean;
	/** Default `gnupg`. */
	profile?: CompatibilityProfile;
	/**
	 * File name stored in the literal data packet (RFC 4880 §5.9), visible to whoever decrypts.
	 * Keep it neutral (`record.json`, `data.bin`); never the user's own file name. Default `data.bin`.
	 */
	filename?: string;
	/** Evaluation time for key expiry and signature creation. Default now. */
	date?: Date;
	/**
	 * Compress before encrypting (Compressed Data packet, RFC 4880 §5.6): `none` (default), `zlib`
	 * (RFC 1950) or `zip` (raw deflate, RFC 1951). Applied only when every recipient's key lists
	 * the algorithm in its preferences (gpg and OpenPGP.js keys list both); else no compression,
	 * and `EncryptResult.compression` says so. Compressed plaintext can leak through message size
	 * (CRIME-style) when attacker-chosen and secret data are mixed: leave it off unless size matters.
	 */
	compression?: 'none' | 'zlib' | 'zip';
}

/** Result of `encrypt`. */
export interface EncryptResult {
	/**
	 * The OpenPGP message: `Uint8Array` (binary) or `string` (armored) for buffer input; a Node
	 * `Readable` of binary/armored chunks for stream input.
	 */
	ciphertext: Uint8Array | string | Readable;
	/** Upper-case fingerprints of the recipients' primary keys, in the given order. */
	recipientFingerprints: string[];
	/** Upper-case fingerprint of the signing key, if the message is signed. */
	signerFingerprint?: string;
	/** Profile applied. */
	profile: CompatibilityProfile;
	/** Whether `ciphertext` is ASCII armored. */
	armored: boolean;
	/** Compression actually applied (`none` when a recipient's preferences do not list the requested one). */
	compression: 'none' | 'zlib' | 'zip';
}

/** Verification outcome of one signature. */
export interface SignatureReport {
	/** 16-hex-digit issuer key id (upper case). */
	keyId: string;
	/** Upper-case fingerprint of the primary key of the matching verification key, if known. */
	fingerprint?: string;
	/** True when the signature verified against a given key. */
	valid: boolean;
	/** Signature creation time, when it could be read. */
	created?: Date;
	/** Why the signature is not valid (no key material in it). */
	reason?: string;
	/** The date the signature was checked as of (with `asOfSignatureTime`: its creation time). */
	checkedAt?: Date;
	/** When the signature itself stops being valid (Signature Expiration Time, RFC 9580 §5.2.3.18), if it says. */
	expires?: Date;
	/** The signing key as it stands at `date` (default now), apart from the signature's own check (`asOfSignatureTime`). */
	signingKey?: SigningKeyStatus;
}

/** RFC 9580 §5.2.3.31 Reason for Revocation, by name: codes 0, 1, 2, 3, 32, anything else `other`. */
export type RevocationReason = 'none' | 'superseded' | 'compromised' | 'retired' | 'user-id-invalid' | 'other';

/** The state of the (sub)key that made a signature, at a date: expiry and revocation. */
export interface SigningKeyStatus {
	/** Upper-case fingerprint of the (sub)key that made the signature. */
	fingerprint: string;
	/** `revoked` wins over `expired`. */
	status: 'valid' | 'expired' | 'revoked';
	/** When the (sub)key, or its primary key, expires; null when it never does. */
	expires: Date | null;
	revoked: boolean;
	/** Creation time of the earliest verified revocation signature of the key or subkey, or null. */
	revokedAt: Date | null;
	revocationReason: RevocationReason | null;
	/** The reason's code as the revocation signature gives it (absent subpacket: 0). */
	revocationReasonCode: number | null;
	/**
	 * A revocation for compromise, with no reason or an unknown one: no signature of the key can be
	 * trusted whatever its date. Superseded or retired keys keep their earlier signatures valid
	 * (RFC 9580 §5.2.3.31).
	 */
	hardRevocation: boolean;
}

/** Options of `decrypt`. */
export interface DecryptOptions {
	/** The OpenPGP message, binary or armored (detected), as bytes or string. */
	data: Uint8Array | string;
	/** Unlocked private keys, e.g. from `readPrivateKey`. */
	decryptionKeys: PrivateKey[];
	/** Public keys to check signatures with. */
	verificationKeys?: PublicKey[];
	/** Refuse the message unless it carries a valid signature of one of `verificationKeys`. */
	expectSigned?: boolean;
	/** Evaluation time for signature/key validity. Default now. */
	date?: Date;
	/**
	 * Refuse plaintext (after decompression) larger than this many bytes, stopping as soon as it
	 * passes. Default {@link DEFAULT_MAX_DECRYPTED_BYTES}; `Infinity` for no limit.
	 */
	maxDecryptedBytes?: number;
	/**
	 * Refuse plaintext beyond {@link COMPRESSION_RATIO_FLOOR} that is more than this many times the
	 * size of the message (of the bytes of it read so far, for a stream), stopping as soon as it
	 * passes. Default {@link DEFAULT_MAX_COMPRESSION_RATIO}; `Infinity` turns the check off.
	 */
	maxCompressionRatio?: number;
}

/** Result of `decrypt`. */
export interface DecryptResult {
	/** Plaintext bytes, exactly as encrypted (binary literal data). */
	data: Uint8Array;
	/** File name from the literal data packet (may be empty). */
	filename: string;
	/** Whether the message carried at least one signature. */
	signed: boolean;
	/** One entry per signature found. */
	signatures: SignatureReport[];
}

/** Options of `sign`. */
export interface SignOptions {
	/** Data to sign. */
	data: Uint8Array;
	/** Unlocked private signing key. */
	signingKey: PrivateKey;
	/** Detached signature (default true) or an inline signed message. */
	detached?: boolean;
	/** ASCII armor. Default true for detached signatures, false for inline messages. */
	armor?: boolean;
	/** Signature creation time. Default now. */
	date?: Date;
}

/** Result of `sign`. */
export interface SignResult {
	/** Detached signature or signed message; `string` when armored. */
	signature: Uint8Array | string;
	/** Whether `signature` is detached from the data. */
	detached: boolean;
	/** Whether `signature` is ASCII armored. */
	armored: boolean;
	/** Upper-case fingerprint of the signing key. */
	signerFingerprint: string;
}

/** Options of `verify`. */
export interface VerifyOptions {
	/** The signed data (detached mode) or the signed message (inline mode), binary or armored. */
	data: Uint8Array | string;
	/** Detached signature, binary or armored. Absent: `data` is an inline signed message. */
	signature?: Uint8Array | string;
	/** Public keys allowed to have signed. */
	verificationKeys: PublicKey[];
	/** Evaluation time. Default now. With `asOfSignatureTime`: the date of each `signingKey` status. */
	date?: Date;
	/**
	 * Check each signature as of its own creation time (a signature made while its key was valid
	 * stays valid after the key expired or was retired), and report the signing key's expiry and
	 * revocation at `date` apart, in `signingKey`. Detached signatures only.
	 */
	asOfSignatureTime?: boolean;
}

/** Result of `verify`. */
export interface VerifyResult {
	/** True when at least one signature is valid against `verificationKeys`. */
	valid: boolean;
	/** Signed data (for inline messages: the extracted content; detached: the input). */
	data: Uint8Array;
	/** One entry per signature found. */
	signatures: SignatureReport[];
}

/** Description of one key, for the Inspect Key operation and credential tests. */
export interface KeyReport {
	/** Upper-case hex fingerprint of the primary key. */
	fingerprint: string;
	/** 16-hex-digit key id of the primary key. */
	keyId: string;
	/** Key version (4 or 6). */
	version: number;
	/** True for a private (secret) key. */
	isPrivate: boolean;
	/** User IDs, e.g. `Archive Team <archive@example.org>`. */
	userIds: string[];
	/** Human-readable primary key algorithm, e.g. `RSA 3072`, `EdDSA (ed25519, legacy)`. */
	algorithm: string;
	/** Algorithms of the subkeys, in key order. */
	subkeyAlgorithms: string[];
	/** Primary key creation time. */
	created: Date;
	/** Primary key expiry; null when it never expires. */
	expires: Date | null;
	/** True when the primary key is revoked. */
	revoked: boolean;
	/** Whether a valid encryption (sub)key exists at `date`. */
	usableForEncryption: boolean;
	/** Why not, when `usableForEncryption` is false, e.g. `encryption subkey expired on 2026-03-01`. */
	encryptionProblem?: string;
	/** Fingerprint of the (sub)key that would be used for encryption. */
	encryptionKeyFingerprint?: string;
	/** Expiry of that encryption (sub)key; null when it never expires. */
	encryptionKeyExpires?: Date | null;
	/** Whether a valid signing (sub)key exists at `date`. */
	usableForSigning: boolean;
	/** Why not, when `usableForSigning` is false. */
	signingProblem?: string;
	/** Reason the key does not fit the gnupg profile (v6, algorithms 25–28), if any. */
	gnupgProblem?: string;
}

/** Options of `inspectKey`. */
export interface InspectKeyOptions {
	/** A parsed key (public or private). */
	key: PublicKey | PrivateKey;
	/** Evaluation time. Default now. */
	date?: Date;
}

/** Options of `decryptToSpool` (streaming decrypt with bounded memory). */
export interface DecryptStreamOptions {
	/**
	 * The OpenPGP message, binary or armored (detected from the first byte): a Node `Readable`, a
	 * web `ReadableStream`, bytes or a string. Streams are read once, in chunks.
	 */
	data: PgpInput | string;
	/** Unlocked private keys, e.g. from `readPrivateKey`. */
	decryptionKeys: PrivateKey[];
	/** Public keys to check signatures with. */
	verificationKeys?: PublicKey[];
	/** Refuse the message unless it carries a valid signature of one of `verificationKeys`. */
	expectSigned?: boolean;
	/** Evaluation time for signature/key validity. Default now. */
	date?: Date;
	/** As for `decrypt`; the spool file never grows past it. Default {@link DEFAULT_MAX_DECRYPTED_BYTES}. */
	maxDecryptedBytes?: number;
	/** As for `decrypt`. Default {@link DEFAULT_MAX_COMPRESSION_RATIO}. */
	maxCompressionRatio?: number;
	/**
	 * Read the message again (bytes or a stream). Used only for the one fallback that needs a second
	 * pass (ZIP/ZLIB packets with bytes after the deflate end, as sq 0.27 writes them), which
	 * streams as the first pass does. Without it, such stream input fails.
	 */
	reread?: () => Promise<PgpInput>;
	/** Directory for the temporary spool file (a private sub-directory is created). Default `os.tmpdir()`. */
	tempDirectory?: string;
}

/**
 * Result of `decryptToSpool`: the plaintext, authenticated (MDC or AEAD tag checked, and the
 * signature when `expectSigned`), waiting in an encrypted temporary file.
 */
export interface DecryptStreamResult {
	/** Plaintext size in bytes. */
	size: number;
	/** File name from the literal data packet (may be empty). */
	filename: string;
	/** Whether the message carried at least one signature. */
	signed: boolean;
	/** One entry per signature found. */
	signatures: SignatureReport[];
	/** A fresh stream of the plaintext bytes (may be called more than once, until `dispose`). */
	createReadStream(): Readable;
	/** The first `maxBytes` plaintext bytes (for sniffing, e.g. JSON detection). */
	readPrefix(maxBytes: number): Promise<Buffer>;
	/** The whole plaintext in memory (for small results only). */
	readAll(): Promise<Buffer>;
	/** Delete the temporary file and its directory. Idempotent. */
	dispose(): Promise<void>;
}
