import * as openpgp from 'openpgp';

import * as pgp from '../pgp';
import type { ReportSigner } from './types';

/**
 * Builds the {@link ReportSigner} used for deletion reports from an armored private key: the key is
 * read and unlocked once (`readPrivateKey` of `lib/pgp`, gnupg profile), then every call makes a
 * detached, armored OpenPGP signature (RFC 4880 §5.2, signature type 0x00 over the exact bytes),
 * verifiable with `gpg --verify report.json.asc report.json`.
 *
 * Uses `lib/pgp`'s `sign` when it is exported, else OpenPGP.js directly with the same parameters.
 *
 * @throws PgpError from `readPrivateKey` (`KEY_FORMAT`, `PASSPHRASE`, `INCOMPATIBLE_KEY`) and
 *   `assertSigningKey` (`UNUSABLE_KEY`: expired, revoked, no signing subkey). Never includes key material.
 */
export async function createReportSigner(options: { armoredKey: string; passphrase?: string }): Promise<ReportSigner> {
	const signingKey = await pgp.readPrivateKey({ armoredKey: options.armoredKey, passphrase: options.passphrase });
	await pgp.assertSigningKey(signingKey);
	const signerFingerprint = pgp.fingerprintOf(signingKey);
	const engineSign = (pgp as unknown as { sign?: (o: pgp.SignOptions) => Promise<pgp.SignResult> }).sign;
	return async (data: Uint8Array) => {
		if (typeof engineSign === 'function') {
			const result = await engineSign({ data, signingKey, detached: true, armor: true });
			return { signature: String(result.signature), signerFingerprint: result.signerFingerprint };
		}
		const message = await openpgp.createMessage({ binary: data });
		const signature = await openpgp.sign({ message, signingKeys: signingKey, detached: true, format: 'armored' });
		return { signature: signature as string, signerFingerprint };
	};
}
