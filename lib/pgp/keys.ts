/**
 * Reading OpenPGP keys as people paste them.
 *
 * The paste is repaired first ({@link repairArmoredText}; key text is capped at
 * {@link KEY_TEXT_LIMIT}), every block is read (OpenPGP.js `readKeys` keeps only the first), and each
 * key is checked against the profile and the supported curves, and for public keys against the
 * expected fingerprints. Error messages name keys by fingerprint and never contain key material.
 */
import * as openpgp from 'openpgp';
import type { Key, PrivateKey, PublicKey } from 'openpgp';

import { KEY_TEXT_LIMIT, repairArmoredText, type ArmorBlock } from './armor';
import { assertProfileCompatible, assertSupportedCurve } from './check';
import { innerMessage } from './errors';
import { fingerprintOf, parseFingerprints } from './fingerprint';
import { DEFAULT_PROFILE, PgpError, type ReadPrivateKeyOptions, type ReadPublicKeysOptions } from './types';

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

async function readAllKeys(input: string | Uint8Array, field?: string): Promise<Array<{ key: Key; blockNumber: number; blockType: string }>> {
	const repaired = repairArmoredText(input, {
		maxBytes: KEY_TEXT_LIMIT,
		what: field ? `the key text in "${field}"` : 'the key text',
		hint: 'a key is a few KiB: paste only the armored keys ("gpg --armor --export-options export-minimal --export <fingerprint>")',
	});
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
 *  - `INPUT_TOO_LARGE`: more than {@link KEY_TEXT_LIMIT} (1 MiB) of key text, naming `field`;
 *  - `KEY_FORMAT`: nothing readable, a non-key block (e.g. PGP MESSAGE), malformed base64;
 *  - `PRIVATE_KEY_IN_PUBLIC_FIELD`: a private key was pasted (named by fingerprint);
 *  - `UNEXPECTED_FINGERPRINT` / `MISSING_EXPECTED_FINGERPRINT`: pinning by `expectedFingerprints` failed;
 *  - `INCOMPATIBLE_KEY`: gnupg profile and a v6 key or algorithm 25–28;
 *  - `UNSUPPORTED_CURVE`: a Brainpool or secp256k1 key (named by fingerprint and curve).
 */
export async function readPublicKeys(options: ReadPublicKeysOptions): Promise<PublicKey[]> {
	const profile = options.profile ?? DEFAULT_PROFILE;
	const expected = parseFingerprints(options.expectedFingerprints);
	const found = await readAllKeys(options.armoredKeys, options.field);
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
		assertSupportedCurve(key);
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
 * Unlocking is slow by design (the passphrase goes through the key's S2K, RFC 4880 §3.7.1.3, and
 * OpenPGP.js then validates the key): do it once per execution, not per item (timings:
 * docs/OPENPGP.md §7).
 *
 * @returns the unlocked private key (a decrypted clone; the input is not kept)
 * @throws PgpError `KEY_FORMAT` (no private key, a public key instead, several private keys),
 *  `PASSPHRASE` (missing or wrong passphrase), `INCOMPATIBLE_KEY` (gnupg profile),
 *  `UNSUPPORTED_CURVE` (Brainpool, secp256k1), `INPUT_TOO_LARGE` (over 1 MiB of key text)
 */
export async function readPrivateKey(options: ReadPrivateKeyOptions): Promise<PrivateKey> {
	const profile = options.profile ?? DEFAULT_PROFILE;
	const found = await readAllKeys(options.armoredKey, options.field);
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
	assertSupportedCurve(privateKey);
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
