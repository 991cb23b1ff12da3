import { timingSafeEqual } from 'node:crypto';

import { assertSigningKey, fingerprintOf, readPrivateKey, sign, verify, type PublicKey } from '../pgp';
import { RetentionError, type ControlVerifier, type ReportSigner } from './types';

/**
 * Builds the {@link ReportSigner} used for deletion reports from an armored private key: the key is
 * read and unlocked once (`readPrivateKey` of `lib/pgp`, gnupg profile), then every call makes a
 * detached, armored OpenPGP signature over the exact bytes (`sign` of `lib/pgp`; RFC 4880 §5.2,
 * binary-document signature), verifiable with `gpg --verify report.json.asc report.json`.
 *
 * @throws PgpError from `readPrivateKey` (`KEY_FORMAT`, `PASSPHRASE`, `INCOMPATIBLE_KEY`) and
 *   `assertSigningKey` (`UNUSABLE_KEY`: expired, revoked, no signing subkey). Never includes key material.
 */
export async function createReportSigner(options: { armoredKey: string; passphrase?: string }): Promise<ReportSigner> {
	const signingKey = await readPrivateKey({ armoredKey: options.armoredKey, passphrase: options.passphrase });
	await assertSigningKey(signingKey);
	const fingerprint = fingerprintOf(signingKey);
	return async (data: Uint8Array) => {
		const result = await sign({ data, signingKey, detached: true, armor: true });
		return { signature: String(result.signature), signerFingerprint: result.signerFingerprint || fingerprint };
	};
}

/**
 * Builds the {@link ControlVerifier} for hold events and sweep plans: a detached signature (RFC 4880
 * §5.2.4, `verify` of `lib/pgp`) counts only when it verifies against one of `verificationKeys` (the
 * archive's signing key, and earlier keys kept trusted across a rotation) and, when
 * `trustedFingerprints` is given, its signer's fingerprint is one of them (constant-time compare).
 *
 * @throws RetentionError `InvalidInput` when no verification key is given.
 */
export function createControlVerifier(options: { verificationKeys: PublicKey[]; trustedFingerprints?: string[] }): ControlVerifier {
	if (!options.verificationKeys?.length)
		throw new RetentionError('InvalidInput', 'At least one verification key (the archive signing key) is required');
	// one verifier per key set in the process, so the registry cache of `loadHolds` (per verifier) outlives an execution
	const identity = JSON.stringify([options.verificationKeys.map((key) => fingerprintOf(key)).sort(), [...(options.trustedFingerprints ?? [])].sort()]);
	const known = verifiers.get(identity);
	if (known) return known;
	const made = makeControlVerifier(options);
	if (verifiers.size >= 64) verifiers.clear();
	verifiers.set(identity, made);
	return made;
}

const verifiers = new Map<string, ControlVerifier>();

function makeControlVerifier(options: { verificationKeys: PublicKey[]; trustedFingerprints?: string[] }): ControlVerifier {
	const trusted = (options.trustedFingerprints ?? []).map((fingerprint) => Buffer.from(fingerprint.replace(/\s/g, '').toUpperCase()));
	const isTrusted = (fingerprint: string) => {
		if (trusted.length === 0) return true;
		const candidate = Buffer.from(fingerprint.toUpperCase());
		return trusted.some((known) => known.length === candidate.length && timingSafeEqual(known, candidate));
	};
	return async (data, signature) => {
		const result = await verify({ data, signature, verificationKeys: options.verificationKeys }).catch(() => null);
		const signed = result?.signatures.find((entry) => entry.valid && entry.fingerprint && isTrusted(entry.fingerprint));
		return signed ? { valid: true, signerFingerprint: signed.fingerprint ?? null } : { valid: false, signerFingerprint: null };
	};
}

/**
 * Signs a control object (hold event, sweep plan) and returns the `.asc` bytes to write beside it.
 * @throws RetentionError `SignerRequired` naming `what` when no signer is given.
 */
export async function signControlObject(signer: ReportSigner | null | undefined, what: string, body: Uint8Array): Promise<Buffer> {
	if (!signer)
		throw new RetentionError('SignerRequired', `${what} must be signed with the archive's OpenPGP key: give a signer (the OpenPGP Private Key credential)`);
	return Buffer.from((await signer(body)).signature, 'utf8');
}

/** The archive's key as the retention engine uses it: signs control objects and reports, verifies control objects. */
export interface ArchiveAuthority {
	signer: ReportSigner;
	verifier: ControlVerifier;
	/** Upper-case fingerprint of the signing key. */
	fingerprint: string;
}

/**
 * Reads and unlocks the archive's private key once and returns its signer ({@link createReportSigner})
 * and a verifier trusting its public part plus `trustedKeys` (earlier archive keys kept across a rotation).
 *
 * @throws PgpError as {@link createReportSigner}.
 */
export async function createArchiveAuthority(options: { armoredKey: string; passphrase?: string; trustedKeys?: PublicKey[] }): Promise<ArchiveAuthority> {
	const signingKey = await readPrivateKey({ armoredKey: options.armoredKey, passphrase: options.passphrase });
	await assertSigningKey(signingKey);
	const fingerprint = fingerprintOf(signingKey);
	const signer: ReportSigner = async (data: Uint8Array) => {
		const result = await sign({ data, signingKey, detached: true, armor: true });
		return { signature: String(result.signature), signerFingerprint: result.signerFingerprint || fingerprint };
	};
	const verifier = createControlVerifier({ verificationKeys: [signingKey.toPublic(), ...(options.trustedKeys ?? [])] });
	return { signer, verifier, fingerprint };
}
