/**
 * Describing a key for a person: fingerprint, user IDs, algorithms, dates, and whether (and if not,
 * why not) it can encrypt and sign.
 */
import type { Key, Subkey } from 'openpgp';

import { curveProblem, explainProblem, gnupgIncompatibility, unsupportedCurve } from './check';
import { fingerprintOf } from './fingerprint';
import type { InspectKeyOptions, KeyReport } from './types';

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

/** Fill in whether `key` can encrypt and sign at `date`, and if not, why. */
async function checkUsable(key: Key, date: Date, report: KeyReport): Promise<void> {
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
}

/**
 * Describe a key: fingerprint, user IDs, algorithms, creation and expiry, revocation, whether it
 * can encrypt and sign at `date` and, if not, why (e.g. `encryption subkey expired on 2026-03-01`,
 * `key is revoked`, `RSA-1024 is too weak (at least 2048 bits required)`), and whether it fits the
 * gnupg profile. Uses OpenPGP.js `getEncryptionKey` / `getSigningKey`, which apply RFC 4880 §5.2.3;
 * a key on a refused curve (Brainpool, secp256k1) is reported unusable, naming the curve.
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
	const curve = unsupportedCurve(key);
	if (curve) {
		// OpenPGP.js cannot check this key's signatures: say why instead of asking it.
		report.encryptionProblem = curveProblem(curve);
		report.signingProblem = curveProblem(curve);
	} else {
		await checkUsable(key, date, report);
	}
	const gnupgProblem = gnupgIncompatibility(key);
	if (gnupgProblem) report.gnupgProblem = gnupgProblem;
	return report;
}
