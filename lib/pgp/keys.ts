/* eslint-disable @n8n/community-nodes/require-node-api-error -- lib/ has no n8n import: engine errors are
   PgpError (safe messages, cause kept) and nodes/OpenPgp/actions/common.ts maps them to NodeOperationError. */
/**
 * Reading, repairing, checking and describing OpenPGP keys.
 *
 * People paste keys in every shape: with a BOM, as UTF-16, indented, with CRLF, with literal `\n`,
 * with newlines collapsed to spaces (n8n password fields), several blocks in a row. This module
 * repairs those shapes into canonical ASCII armor (RFC 4880 §6.2) before OpenPGP.js reads them, reads
 * every block (OpenPGP.js `readKeys` keeps only the first), and checks the result. Error messages
 * name keys by fingerprint and never contain key material.
 */
import * as openpgp from 'openpgp';
import type { Key, PrivateKey, PublicKey, Subkey } from 'openpgp';

import {
	DEFAULT_PROFILE,
	PgpError,
	type CompatibilityProfile,
	type InspectKeyOptions,
	type KeyReport,
	type ReadPrivateKeyOptions,
	type ReadPublicKeysOptions,
} from './types';

/** One armored block found in pasted text, already rewritten in canonical form. */
export interface ArmorBlock {
	/** Armor type in upper case, e.g. `PUBLIC KEY BLOCK`, `PRIVATE KEY BLOCK`, `MESSAGE`, `SIGNATURE`. */
	type: string;
	/** Canonical armored text: BEGIN line, blank line, base64 in 64-column lines, CRC if any, END line. */
	text: string;
}

/** Result of {@link repairArmoredText}: canonical armored blocks, or raw binary packets. */
export type RepairedInput =
	| { blocks: ArmorBlock[]; binary?: undefined }
	| { blocks?: undefined; binary: Uint8Array };

const BASE64_CHARS = /^[A-Za-z0-9+/=]+$/;
const CRC_TOKEN = /^=[A-Za-z0-9+/]{4}$/;
const HEADER_LINE = /^[A-Za-z][A-Za-z0-9-]*:(\s|$)/;
const BLOCK_PATTERN =
	/-{3,5}\s*BEGIN\s+PGP\s+([A-Z][A-Z ]*?[A-Z])\s*-{3,5}([\s\S]*?)-{3,5}\s*END\s+PGP\s+\1\s*-{3,5}/gi;
const ZERO_WIDTH = /\uFEFF|\u200B|\u200C|\u200D|\u2060/g;

/** Algorithms RFC 9580 added (X25519 25, X448 26, Ed25519 27, Ed448 28): unknown to GnuPG 2.2 / sq 0.27. */
const RFC9580_ALGORITHMS: Record<number, string> = {
	25: 'X25519',
	26: 'X448',
	27: 'Ed25519',
	28: 'Ed448',
};

/** Upper-case hex fingerprint of a key or subkey. */
export function fingerprintOf(key: Key | Subkey): string {
	return key.getFingerprint().toUpperCase();
}

/** `YYYY-MM-DD` (UTC) of a date, for messages. */
export function formatDay(date: Date): string {
	return date.toISOString().slice(0, 10);
}

/** Remove anything that looks like base64 key material from a third-party error message. */
export function sanitizeMessage(message: string): string {
	return message.replace(/[A-Za-z0-9+/]{24,}={0,2}/g, '…').slice(0, 300);
}

/** The innermost message of an OpenPGP.js error (which wraps as "Outer: inner" with `cause`). */
export function innerMessage(error: unknown): string {
	let current: unknown = error;
	while (current instanceof Error && current.cause instanceof Error) current = current.cause;
	const text = current instanceof Error ? current.message : String(current);
	return sanitizeMessage(text);
}

function decodeText(input: string | Uint8Array): string | Uint8Array {
	if (typeof input === 'string') return input;
	const bytes = input;
	if (bytes.length >= 2 && bytes[0] === 0xff && bytes[1] === 0xfe) {
		return new TextDecoder('utf-16le').decode(bytes.subarray(2));
	}
	if (bytes.length >= 2 && bytes[0] === 0xfe && bytes[1] === 0xff) {
		return new TextDecoder('utf-16be').decode(bytes.subarray(2));
	}
	// Binary OpenPGP packets start with a packet tag byte (bit 7 set); UTF-8 BOM is EF BB BF.
	const isUtf8Bom = bytes[0] === 0xef && bytes[1] === 0xbb && bytes[2] === 0xbf;
	if (bytes.length > 0 && (bytes[0] & 0x80) !== 0 && !isUtf8Bom) return bytes;
	// UTF-16 without BOM: ASCII text with every other byte zero.
	const sample = bytes.subarray(0, Math.min(bytes.length, 64));
	if (sample.length >= 8) {
		let evenZero = 0;
		let oddZero = 0;
		for (let i = 0; i < sample.length; i++) {
			if (sample[i] !== 0) continue;
			if (i % 2 === 0) evenZero++;
			else oddZero++;
		}
		const half = Math.floor(sample.length / 2);
		if (oddZero >= half - 1 && evenZero === 0) return new TextDecoder('utf-16le').decode(bytes);
		if (evenZero >= half - 1 && oddZero === 0) return new TextDecoder('utf-16be').decode(bytes);
	}
	return new TextDecoder('utf-8').decode(bytes);
}

function canonicalBlock(type: string, body: string, blockNumber: number): ArmorBlock {
	const lines = body
		.split('\n')
		.map((line) => line.trim())
		.filter((line) => line.length > 0);
	// Armor headers ("Version: …", "Comment: …") are informational: drop them. If newlines were
	// collapsed to spaces, a header line also holds the whole body: cut it at the first long
	// base64 token.
	const bodyParts: string[] = [];
	let inHeaders = true;
	for (const line of lines) {
		if (inHeaders && HEADER_LINE.test(line)) {
			const tokens = line.split(/\s+/);
			const start = tokens.findIndex((token) => token.length >= 40 && BASE64_CHARS.test(token));
			if (start === -1) continue;
			bodyParts.push(tokens.slice(start).join(' '));
			inHeaders = false;
			continue;
		}
		inHeaders = false;
		bodyParts.push(line);
	}
	const tokens = bodyParts
		.join(' ')
		.split(/\s+/)
		.filter((token) => token.length > 0);
	let crc = '';
	if (tokens.length > 1 && CRC_TOKEN.test(tokens[tokens.length - 1])) crc = tokens.pop() as string;
	if (tokens.length === 0) {
		throw new PgpError('KEY_FORMAT', `Armored block ${blockNumber} (${type}) has no content.`);
	}
	if (!tokens.every((token) => BASE64_CHARS.test(token))) {
		throw new PgpError(
			'KEY_FORMAT',
			`Armored block ${blockNumber} (${type}) contains characters that are not base64; paste the block exactly as exported.`,
		);
	}
	let base64 = tokens.join('');
	// Newlines removed entirely: the CRC ("=XXXX") is glued to the body. A base64 body is a
	// multiple of 4 characters long, so a remainder of 1 ending in "=XXXX" is the CRC.
	if (!crc && base64.length % 4 === 1 && /=[A-Za-z0-9+/]{4}$/.test(base64)) {
		crc = base64.slice(-5);
		base64 = base64.slice(0, -5);
	}
	const wrapped = base64.match(/.{1,64}/g) ?? [];
	const text = [
		`-----BEGIN PGP ${type}-----`,
		'',
		...wrapped,
		...(crc ? [crc] : []),
		`-----END PGP ${type}-----`,
		'',
	].join('\n');
	return { type, text };
}

/**
 * Repair pasted OpenPGP armored text and split it into canonical blocks.
 *
 * Repairs: UTF-16 (LE/BE, with or without BOM, when given bytes), BOM and zero-width characters,
 * NBSP, literal `\n` / `\r\n` escapes, CRLF and CR-only line endings, indentation and trailing
 * blanks, lower-case or 3–4-dash armor lines, missing blank line after armor headers (the headers
 * are dropped), newlines collapsed to spaces, several blocks in a row with prose around them.
 * Bare base64 (no armor lines) and binary packets (bytes whose first byte has bit 7 set) come
 * back as `binary`.
 *
 * @param input pasted text, or bytes holding text or binary packets
 * @returns canonical blocks in input order (ASCII armor, RFC 4880 §6.2), or binary packets
 * @throws PgpError `KEY_FORMAT` when nothing OpenPGP-shaped is found or a block body is not base64
 */
export function repairArmoredText(input: string | Uint8Array): RepairedInput {
	const decoded = decodeText(input);
	if (typeof decoded !== 'string') return { binary: decoded };
	let text = decoded
		.split('\u0000')
		.join('')
		.replace(ZERO_WIDTH, '')
		.replace(/\u00A0/g, ' ');
	// Literal escapes, as when a key went through JSON or an env file. Base64 has no backslash.
	text = text.replace(/\\r\\n|\\n|\\r/g, '\n');
	text = text.replace(/\r\n?/g, '\n');
	const blocks: ArmorBlock[] = [];
	let blockNumber = 0;
	for (const match of text.matchAll(BLOCK_PATTERN)) {
		blockNumber++;
		const type = match[1].toUpperCase().replace(/\s+/g, ' ');
		blocks.push(canonicalBlock(type, match[2], blockNumber));
	}
	if (blocks.length > 0) return { blocks };
	const compact = text.replace(/\s+/g, '');
	if (compact.length >= 40 && BASE64_CHARS.test(compact) && !/BEGIN/i.test(text)) {
		return { binary: new Uint8Array(Buffer.from(compact, 'base64')) };
	}
	if (/BEGIN\s+PGP/i.test(text)) {
		throw new PgpError(
			'KEY_FORMAT',
			'The armored text has a BEGIN line without a matching END line (truncated paste?).',
		);
	}
	throw new PgpError(
		'KEY_FORMAT',
		'No OpenPGP data found: expected an armored block starting with "-----BEGIN PGP PUBLIC KEY BLOCK-----".',
	);
}

/**
 * Normalise a list of fingerprints as typed by a person.
 *
 * Accepts comma, semicolon or newline separated entries; inside an entry, spaces and colons are
 * grouping (`ABCD 1234 …`) unless the entry holds several whole fingerprints separated by spaces;
 * an optional `0x` prefix is dropped.
 *
 * @returns upper-case hex fingerprints (40 digits for v4, 64 for v6), without duplicates
 * @throws PgpError `KEY_FORMAT` for an entry that is not a 40- or 64-digit hex fingerprint
 */
export function parseFingerprints(input: string | string[] | undefined): string[] {
	if (input === undefined) return [];
	const entries = (Array.isArray(input) ? input : [input])
		.flatMap((entry) => entry.split(/[,;\n\r]+/))
		.map((entry) => entry.trim())
		.filter((entry) => entry.length > 0);
	const isFingerprint = (value: string) => /^([0-9A-F]{40}|[0-9A-F]{64})$/.test(value);
	const clean = (value: string) => value.replace(/^0x/i, '').replace(/[\s:]/g, '').toUpperCase();
	const result: string[] = [];
	for (const entry of entries) {
		const whole = clean(entry);
		if (isFingerprint(whole)) {
			result.push(whole);
			continue;
		}
		const parts = entry.split(/\s+/).map(clean);
		if (parts.length > 1 && parts.every(isFingerprint)) {
			result.push(...parts);
			continue;
		}
		throw new PgpError(
			'KEY_FORMAT',
			`Expected fingerprint "${entry.slice(0, 80)}" is not a 40- or 64-digit hexadecimal fingerprint.`,
		);
	}
	return [...new Set(result)];
}

/**
 * Check that a key fits the GnuPG-compatible profile: a v4 key (RFC 4880) without any of the
 * RFC 9580 algorithms 25–28 (RFC 9580 §9.1) in its primary key or subkeys.
 *
 * @returns a reason when it does not fit, else undefined
 */
export function gnupgIncompatibility(key: Key): string | undefined {
	const fingerprint = fingerprintOf(key);
	if (key.keyPacket.version !== 4) {
		return `Key ${fingerprint} is a version ${key.keyPacket.version} key (RFC 9580), which GnuPG 2.2 and sq 0.27 cannot read; use a v4 key or the rfc9580 profile.`;
	}
	const packets = [key.keyPacket, ...key.subkeys.map((subkey) => subkey.keyPacket)];
	for (const packet of packets) {
		const algorithm = Number(packet.algorithm);
		const name = RFC9580_ALGORITHMS[algorithm];
		if (name) {
			return `Key ${fingerprint} uses ${name} (public-key algorithm ${algorithm}, RFC 9580), which GnuPG 2.2 and sq 0.27 cannot use; use an RSA or ed25519/cv25519 (legacy) v4 key, or the rfc9580 profile.`;
		}
	}
	return undefined;
}

/**
 * Throw when a key does not fit the given profile (see {@link gnupgIncompatibility}).
 *
 * @throws PgpError `INCOMPATIBLE_KEY` naming the fingerprint
 */
export function assertProfileCompatible(key: Key, profile: CompatibilityProfile): void {
	if (profile !== 'gnupg') return;
	const problem = gnupgIncompatibility(key);
	if (problem) throw new PgpError('INCOMPATIBLE_KEY', problem, { fingerprint: fingerprintOf(key) });
}

async function readBlockKeys(block: ArmorBlock, blockNumber: number): Promise<Key[]> {
	try {
		return await openpgp.readKeys({ armoredKeys: block.text });
	} catch (error) {
		throw new PgpError(
			'KEY_FORMAT',
			`Armored block ${blockNumber} (${block.type}) could not be read as an OpenPGP key: ${innerMessage(error)}`,
			{ cause: error },
		);
	}
}

async function readAllKeys(
	input: string | Uint8Array,
): Promise<Array<{ key: Key; blockNumber: number; blockType: string }>> {
	const repaired = repairArmoredText(input);
	if (repaired.binary) {
		let keys: Key[];
		try {
			keys = await openpgp.readKeys({ binaryKeys: repaired.binary });
		} catch (error) {
			throw new PgpError(
				'KEY_FORMAT',
				`The key data could not be read as OpenPGP keys: ${innerMessage(error)}`,
				{ cause: error },
			);
		}
		return keys.map((key) => ({ key, blockNumber: 1, blockType: 'binary' }));
	}
	const found: Array<{ key: Key; blockNumber: number; blockType: string }> = [];
	for (const [index, block] of repaired.blocks.entries()) {
		const blockNumber = index + 1;
		if (block.type !== 'PUBLIC KEY BLOCK' && block.type !== 'PRIVATE KEY BLOCK') {
			throw new PgpError(
				'KEY_FORMAT',
				`Armored block ${blockNumber} is a PGP ${block.type}, not a key; paste the output of "gpg --armor --export <fingerprint>".`,
			);
		}
		for (const key of await readBlockKeys(block, blockNumber)) {
			found.push({ key, blockNumber, blockType: block.type });
		}
	}
	return found;
}

/**
 * Read every public key in pasted text or bytes, repairing the paste first
 * (see {@link repairArmoredText}).
 *
 * @returns the public keys, in paste order, duplicates (same fingerprint) removed
 * @throws PgpError
 *  - `KEY_FORMAT`: nothing readable, a non-key block (e.g. PGP MESSAGE), malformed base64;
 *  - `PRIVATE_KEY_IN_PUBLIC_FIELD`: a private key was pasted (named by fingerprint);
 *  - `UNEXPECTED_FINGERPRINT` / `MISSING_EXPECTED_FINGERPRINT`: pinning by `expectedFingerprints` failed;
 *  - `INCOMPATIBLE_KEY`: gnupg profile and a v6 key or algorithm 25–28.
 */
export async function readPublicKeys(options: ReadPublicKeysOptions): Promise<PublicKey[]> {
	const profile = options.profile ?? DEFAULT_PROFILE;
	const expected = parseFingerprints(options.expectedFingerprints);
	const found = await readAllKeys(options.armoredKeys);
	if (found.length === 0) throw new PgpError('KEY_FORMAT', 'No OpenPGP public key found.');
	const keys: PublicKey[] = [];
	const seen = new Set<string>();
	for (const { key } of found) {
		const fingerprint = fingerprintOf(key);
		if (key.isPrivate()) {
			throw new PgpError(
				'PRIVATE_KEY_IN_PUBLIC_FIELD',
				`Key ${fingerprint} is a PRIVATE key; paste only the public key here ("gpg --armor --export ${fingerprint}"), and keep the private key secret.`,
				{ fingerprint },
			);
		}
		if (seen.has(fingerprint)) continue;
		seen.add(fingerprint);
		if (expected.length > 0 && !expected.includes(fingerprint)) {
			throw new PgpError(
				'UNEXPECTED_FINGERPRINT',
				`Key ${fingerprint} is not one of the expected fingerprints (a wrong key, or a damaged paste).`,
				{ fingerprint },
			);
		}
		assertProfileCompatible(key, profile);
		keys.push(key as PublicKey);
	}
	const missing = expected.filter((fingerprint) => !seen.has(fingerprint));
	if (missing.length > 0) {
		throw new PgpError(
			'MISSING_EXPECTED_FINGERPRINT',
			`Expected key ${missing.join(', ')} was not found among the pasted keys.`,
			{ fingerprint: missing[0] },
		);
	}
	return keys;
}

/**
 * Read one private key and unlock it (repairing the paste like {@link readPublicKeys}).
 * Unlocking takes 150–600 ms: do it once per execution, not per item.
 *
 * @returns the unlocked private key (a decrypted clone; the input is not kept)
 * @throws PgpError `KEY_FORMAT` (no private key, a public key instead, several private keys),
 *  `PASSPHRASE` (missing or wrong passphrase), `INCOMPATIBLE_KEY` (gnupg profile)
 */
export async function readPrivateKey(options: ReadPrivateKeyOptions): Promise<PrivateKey> {
	const profile = options.profile ?? DEFAULT_PROFILE;
	const found = await readAllKeys(options.armoredKey);
	const privateKeys = found
		.filter(({ key }) => key.isPrivate())
		.map(({ key }) => key as PrivateKey);
	if (privateKeys.length === 0) {
		const publicKey = found[0]?.key;
		throw new PgpError(
			'KEY_FORMAT',
			publicKey
				? `Key ${fingerprintOf(publicKey)} is a public key; this field needs the private key ("gpg --armor --export-secret-keys <fingerprint>").`
				: 'No OpenPGP private key found.',
			{ fingerprint: publicKey ? fingerprintOf(publicKey) : undefined },
		);
	}
	const fingerprints = [...new Set(privateKeys.map(fingerprintOf))];
	if (fingerprints.length > 1) {
		throw new PgpError(
			'KEY_FORMAT',
			`Several private keys were pasted (${fingerprints.join(', ')}); paste exactly one.`,
		);
	}
	const privateKey = privateKeys[0];
	const fingerprint = fingerprintOf(privateKey);
	assertProfileCompatible(privateKey, profile);
	if (privateKey.isDecrypted()) return privateKey;
	if (!options.passphrase) {
		throw new PgpError(
			'PASSPHRASE',
			`Private key ${fingerprint} is protected by a passphrase, but none was given.`,
			{ fingerprint },
		);
	}
	try {
		return await openpgp.decryptKey({ privateKey, passphrase: options.passphrase });
	} catch (error) {
		const inner = innerMessage(error);
		const wrong = /passphrase/i.test(inner);
		throw new PgpError(
			wrong ? 'PASSPHRASE' : 'UNUSABLE_KEY',
			wrong
				? `Wrong passphrase for private key ${fingerprint}.`
				: `Private key ${fingerprint} could not be unlocked: ${inner}`,
			{ fingerprint, cause: error },
		);
	}
}

function latestExpiry(subkeys: Subkey[]): Date | undefined {
	let latest: Date | undefined;
	for (const subkey of subkeys) {
		const created = subkey.getCreationTime().getTime();
		for (const signature of subkey.bindingSignatures) {
			if (signature.keyNeverExpires || !signature.keyExpirationTime) continue;
			const expiry = new Date(created + signature.keyExpirationTime * 1000);
			if (!latest || expiry > latest) latest = expiry;
		}
	}
	return latest;
}

function hasFlag(subkey: Subkey, flag: number): boolean {
	return subkey.bindingSignatures.some(
		(signature) => signature.keyFlags !== null && ((signature.keyFlags?.[0] ?? 0) & flag) !== 0,
	);
}

/** Human-readable algorithm of a key or subkey, e.g. `RSA 3072`, `ECDH (curve25519, legacy)`. */
export function describeAlgorithm(key: Key | Subkey): string {
	const info = key.getAlgorithmInfo() as { algorithm: string; bits?: number; curve?: string };
	const curve = info.curve?.replace(/Legacy$/, ', legacy');
	switch (info.algorithm) {
		case 'rsaEncryptSign':
		case 'rsaEncrypt':
		case 'rsaSign':
			return `RSA ${info.bits}`;
		case 'dsa':
			return `DSA ${info.bits}`;
		case 'elgamal':
			return `ElGamal ${info.bits}`;
		case 'ecdh':
			return `ECDH (${curve})`;
		case 'ecdsa':
			return `ECDSA (${curve})`;
		case 'eddsaLegacy':
			return `EdDSA (${curve ?? 'ed25519, legacy'})`;
		case 'x25519':
			return 'X25519 (RFC 9580)';
		case 'x448':
			return 'X448 (RFC 9580)';
		case 'ed25519':
			return 'Ed25519 (RFC 9580)';
		case 'ed448':
			return 'Ed448 (RFC 9580)';
		default:
			return info.algorithm;
	}
}

async function explainProblem(
	key: Key,
	error: unknown,
	purpose: 'encryption' | 'signing',
	date: Date,
): Promise<string> {
	const inner = innerMessage(error);
	if (/Primary key is revoked/i.test(inner) || (await key.isRevoked(undefined, undefined, date))) {
		return 'key is revoked';
	}
	if (/Primary key is expired/i.test(inner)) {
		const expiry = await key.getExpirationTime().catch(() => null);
		return expiry instanceof Date ? `key expired on ${formatDay(expiry)}` : 'key is expired';
	}
	const flag =
		purpose === 'encryption'
			? openpgp.enums.keyFlags.encryptCommunication | openpgp.enums.keyFlags.encryptStorage
			: openpgp.enums.keyFlags.signData;
	const relevant = key.subkeys.filter((subkey) => hasFlag(subkey, flag));
	if (/Subkey is expired/i.test(inner)) {
		const expiry = latestExpiry(relevant);
		return expiry
			? `${purpose} subkey expired on ${formatDay(expiry)}`
			: `${purpose} subkey is expired`;
	}
	if (/Subkey is revoked/i.test(inner)) return `${purpose} subkey is revoked`;
	const weak = /too weak/i.test(inner);
	if (weak) {
		const info = key.getAlgorithmInfo() as { algorithm: string; bits?: number };
		if (info.algorithm.startsWith('rsa') && info.bits && info.bits < 2047) {
			return `RSA-${info.bits} is too weak (at least 2048 bits required)`;
		}
		if (/\b(dsa|elgamal)\b/i.test(inner) || /^(dsa|elgamal)$/.test(info.algorithm)) {
			return 'DSA and ElGamal keys are refused as too weak (OpenPGP.js default); use an RSA-3072 or ed25519/cv25519 key';
		}
		return `weak algorithm: ${inner.replace(/\.+$/, '')}`;
	}
	if (/None of the key flags is set/i.test(inner)) {
		return 'the key has no key-usage flags (old BouncyCastle-made key); re-export it from a current tool';
	}
	return `no valid ${purpose} key: ${inner}`;
}

/**
 * Describe a key: fingerprint, user IDs, algorithms, creation and expiry, revocation, whether it
 * can encrypt and sign at `date` and, if not, why (e.g. `encryption subkey expired on 2026-03-01`,
 * `key is revoked`, `RSA-1024 is too weak (at least 2048 bits required)`), and whether it fits the
 * gnupg profile. Uses OpenPGP.js `getEncryptionKey` / `getSigningKey`, which apply RFC 4880 §5.2.3.
 *
 * @returns a {@link KeyReport}; never throws for an unusable key (reports it instead)
 */
export async function inspectKey(options: InspectKeyOptions): Promise<KeyReport> {
	const { key } = options;
	const date = options.date ?? new Date();
	const fingerprint = fingerprintOf(key);
	const expiryRaw = await key.getExpirationTime().catch(() => null);
	const report: KeyReport = {
		fingerprint,
		keyId: key.getKeyID().toHex().toUpperCase(),
		version: key.keyPacket.version,
		isPrivate: key.isPrivate(),
		userIds: key.getUserIDs(),
		algorithm: describeAlgorithm(key),
		subkeyAlgorithms: key.subkeys.map(describeAlgorithm),
		created: key.getCreationTime(),
		expires: expiryRaw instanceof Date ? expiryRaw : null,
		revoked: await key.isRevoked(undefined, undefined, date).catch(() => false),
		usableForEncryption: false,
		usableForSigning: false,
	};
	try {
		const encryptionKey = await key.getEncryptionKey(undefined, date);
		report.usableForEncryption = true;
		report.encryptionKeyFingerprint = fingerprintOf(encryptionKey);
		const expiry = await encryptionKey.getExpirationTime(date).catch(() => null);
		report.encryptionKeyExpires = expiry instanceof Date ? expiry : null;
	} catch (error) {
		report.encryptionProblem = await explainProblem(key, error, 'encryption', date);
	}
	try {
		await key.getSigningKey(undefined, date);
		report.usableForSigning = true;
	} catch (error) {
		report.signingProblem = await explainProblem(key, error, 'signing', date);
	}
	const gnupgProblem = gnupgIncompatibility(key);
	if (gnupgProblem) report.gnupgProblem = gnupgProblem;
	return report;
}

/**
 * Throw unless every key has a valid encryption (sub)key at `date`.
 *
 * @throws PgpError `UNUSABLE_KEY`, e.g. "Cannot encrypt to key <FPR>: encryption subkey expired on 2026-03-01"
 */
export async function assertEncryptionKeys(keys: Key[], date: Date = new Date()): Promise<void> {
	for (const key of keys) {
		try {
			await key.getEncryptionKey(undefined, date);
		} catch (error) {
			const fingerprint = fingerprintOf(key);
			const reason = await explainProblem(key, error, 'encryption', date);
			throw new PgpError('UNUSABLE_KEY', `Cannot encrypt to key ${fingerprint}: ${reason}.`, {
				fingerprint,
				cause: error,
			});
		}
	}
}

/**
 * Throw unless the key has a valid signing (sub)key at `date`.
 *
 * @throws PgpError `UNUSABLE_KEY`, e.g. "Cannot sign with key <FPR>: key is revoked"
 */
export async function assertSigningKey(key: Key, date: Date = new Date()): Promise<void> {
	try {
		await key.getSigningKey(undefined, date);
	} catch (error) {
		const fingerprint = fingerprintOf(key);
		const reason = await explainProblem(key, error, 'signing', date);
		throw new PgpError('UNUSABLE_KEY', `Cannot sign with key ${fingerprint}: ${reason}.`, {
			fingerprint,
			cause: error,
		});
	}
}
