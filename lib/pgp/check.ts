/**
 * Checking a key before use: does it fit the compatibility profile, and does it have a valid
 * encryption or signing (sub)key at a date; if not, the reason, in words a person can act on
 * (`encryption subkey expired on 2026-03-01`, `key is revoked`, …). Keys are named by fingerprint.
 */
import * as openpgp from 'openpgp';
import type { Key, Subkey } from 'openpgp';

import { innerMessage } from './errors';
import { fingerprintOf } from './fingerprint';
import { PgpError, type CompatibilityProfile, type RevocationReason, type SigningKeyStatus } from './types';

/** Algorithms RFC 9580 added (X25519 25, X448 26, Ed25519 27, Ed448 28): unknown to GnuPG 2.2 / sq 0.27. */
const RFC9580_ALGORITHMS: Record<number, string> = {
	25: 'X25519',
	26: 'X448',
	27: 'Ed25519',
	28: 'Ed448',
};

/**
 * Curves gpg offers (`--expert`) that this engine refuses: OpenPGP.js 6 on Node.js checks ECDSA
 * signatures on the Brainpool curves (RFC 9580 §9.2) only with a module it does not install
 * (`eckey-utils`), so every self-signature of such a key fails; secp256k1 is not an RFC 9580 curve
 * and OpenPGP.js rejects it (`config.rejectCurves`).
 */
const UNSUPPORTED_CURVES = new Set(['brainpoolP256r1', 'brainpoolP384r1', 'brainpoolP512r1', 'secp256k1']);

/** What to make instead, in every curve refusal. */
const CURVE_ADVICE =
	'use a key on Curve25519 (gpg --quick-gen-key "<user id>" future-default), NIST P-256 (nistp256) or RSA 3072 or more (rsa3072)';

/** `YYYY-MM-DD` (UTC) of a date, for messages. */
export function formatDay(date: Date): string {
	return date.toISOString().slice(0, 10);
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

/** The curve of a key or of one of its subkeys that this engine refuses (see {@link UNSUPPORTED_CURVES}). */
export function unsupportedCurve(key: Key): string | undefined {
	for (const packet of [key.keyPacket, ...key.subkeys.map((subkey) => subkey.keyPacket)]) {
		const curve = (packet.getAlgorithmInfo() as { curve?: string }).curve;
		if (curve && UNSUPPORTED_CURVES.has(curve)) return curve;
	}
	return undefined;
}

/** Why a key on `curve` cannot be used, with what to use instead (for key reports). */
export function curveProblem(curve: string): string {
	return `the ${curve} curve is not supported; ${CURVE_ADVICE}`;
}

/**
 * Throw when a key or one of its subkeys is on a curve this engine refuses.
 *
 * @throws PgpError `UNSUPPORTED_CURVE`, e.g. "Key <FPR> uses the brainpoolP256r1 curve, which is not supported here; use a key on Curve25519 …"
 */
export function assertSupportedCurve(key: Key): void {
	const curve = unsupportedCurve(key);
	if (!curve) return;
	const fingerprint = fingerprintOf(key);
	throw new PgpError('UNSUPPORTED_CURVE', `Key ${fingerprint} uses the ${curve} curve, which is not supported here; ${CURVE_ADVICE}.`, { fingerprint });
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

/** Why a key has no valid (sub)key for `purpose` at `date`, from the OpenPGP.js error that said so. */
export async function explainProblem(key: Key, error: unknown, purpose: 'encryption' | 'signing', date: Date): Promise<string> {
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

/** Throws `UNUSABLE_KEY` naming the key and why, unless it has a valid (sub)key for `purpose` at `date`. */
async function assertUsable(key: Key, purpose: 'encryption' | 'signing', date: Date): Promise<void> {
	assertSupportedCurve(key);
	try {
		if (purpose === 'encryption') await key.getEncryptionKey(undefined, date);
		else await key.getSigningKey(undefined, date);
	} catch (error) {
		const fingerprint = fingerprintOf(key);
		const reason = await explainProblem(key, error, purpose, date);
		const what = purpose === 'encryption' ? `Cannot encrypt to key ${fingerprint}` : `Cannot sign with key ${fingerprint}`;
		throw new PgpError('UNUSABLE_KEY', `${what}: ${reason}.`, { fingerprint, cause: error });
	}
}

/**
 * Throw unless every key has a valid encryption (sub)key at `date`.
 *
 * @throws PgpError `UNUSABLE_KEY`, e.g. "Cannot encrypt to key <FPR>: encryption subkey expired on 2026-03-01"
 */
export async function assertEncryptionKeys(keys: Key[], date: Date = new Date()): Promise<void> {
	for (const key of keys) await assertUsable(key, 'encryption', date);
}

/**
 * Throw unless the key has a valid signing (sub)key at `date`.
 *
 * @throws PgpError `UNUSABLE_KEY`, e.g. "Cannot sign with key <FPR>: key is revoked"
 */
export async function assertSigningKey(key: Key, date: Date = new Date()): Promise<void> {
	await assertUsable(key, 'signing', date);
}

/** RFC 9580 §5.2.3.31 reason codes by name. */
const REVOCATION_REASONS: Record<number, RevocationReason> = {
	0: 'none',
	1: 'superseded',
	2: 'compromised',
	3: 'retired',
	32: 'user-id-invalid',
};

/**
 * Reasons after which earlier signatures of a key stay valid (RFC 9580 §5.2.3.31: a superseded or
 * retired key was not compromised); every other reason, or none, is a hard revocation. OpenPGP.js
 * draws the same line when it checks a signature at a date.
 */
const SOFT_REVOCATION_CODES = new Set([1, 3, 32]);

/** The earliest revocation signature in `revocations` that verifies (as of its `verify`'s date), or undefined. */
async function earliestValidRevocation(
	revocations: openpgp.SignaturePacket[],
	verify: (revocation: openpgp.SignaturePacket) => Promise<void>,
): Promise<openpgp.SignaturePacket | undefined> {
	let earliest: openpgp.SignaturePacket | undefined;
	for (const revocation of revocations) {
		try {
			await verify(revocation);
		} catch {
			continue; // a revocation that does not verify revokes nothing
		}
		if (!earliest || (revocation.created ?? 0) < (earliest.created ?? 0)) earliest = revocation;
	}
	return earliest;
}

/**
 * The state at `date` of the (sub)key of `key` with key id `keyId` (the signature's issuer): when it
 * expires (the subkey's own expiry or its primary key's, whichever is first) and whether the key or
 * the subkey carries a revocation signature that verifies (RFC 9580 §5.2.1 types 0x20 and 0x28),
 * with its reason (§5.2.3.31).
 */
export async function signingKeyStatus(key: Key, keyId: openpgp.KeyID, date: Date = new Date()): Promise<SigningKeyStatus> {
	const signingKey = key.getKeys(keyId)[0] ?? key;
	const primary = key.keyPacket;
	const isSubkey = signingKey !== key;
	const expiries: Array<Date | number | null> = [await key.getExpirationTime().catch(() => null)];
	if (isSubkey) expiries.push(await (signingKey as Subkey).getExpirationTime(date).catch(() => null));
	const finite = expiries.filter((e): e is Date => e instanceof Date);
	const expires = finite.length ? new Date(Math.min(...finite.map((e) => e.getTime()))) : null;

	const revocation =
		(await earliestValidRevocation(key.revocationSignatures, (r) =>
			r.verify(primary, openpgp.enums.signature.keyRevocation, { key: primary }, date, false),
		)) ??
		(isSubkey
			? await earliestValidRevocation((signingKey as Subkey).revocationSignatures, (r) =>
					r.verify(primary, openpgp.enums.signature.subkeyRevocation, { key: primary, bind: (signingKey as Subkey).keyPacket }, date, false),
				)
			: undefined);
	const revokedAt = revocation?.created && revocation.created <= date ? revocation.created : null;
	const code = revokedAt ? (revocation?.reasonForRevocationFlag ?? 0) : null;
	const expired = expires !== null && expires <= date;
	return {
		fingerprint: fingerprintOf(signingKey),
		status: revokedAt ? 'revoked' : expired ? 'expired' : 'valid',
		expires,
		revoked: revokedAt !== null,
		revokedAt,
		revocationReason: code === null ? null : (REVOCATION_REASONS[code] ?? 'other'),
		revocationReasonCode: code,
		hardRevocation: code !== null && !SOFT_REVOCATION_CODES.has(code),
	};
}
