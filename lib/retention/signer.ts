import { assertSigningKey, fingerprintOf, readPrivateKey, sign } from '../pgp';
import type { ReportSigner } from './types';

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
