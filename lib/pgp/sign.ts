/**
 * Signing: detached signatures or inline signed messages over binary data.
 */
import * as openpgp from 'openpgp';

import { assertSigningKey } from './check';
import { innerMessage } from './errors';
import { fingerprintOf } from './fingerprint';
import { PgpError, type SignOptions, type SignResult } from './types';

/**
 * Sign bytes with an unlocked private key: a binary-document signature (type 0x00,
 * RFC 4880 §5.2.1) over the exact bytes, detached (default, armored by default: `.asc`) or as an
 * inline signed message (one-pass signature + literal data, RFC 4880 §5.4, binary by default).
 * SHA-512 (OpenPGP.js default), which gpg 2.2 and sq verify.
 *
 * @returns {@link SignResult}
 * @throws PgpError `UNUSABLE_KEY` (no valid signing key: expired, revoked, weak), `PASSPHRASE`
 *  (key still locked), `OPERATION`
 */
export async function sign(options: SignOptions): Promise<SignResult> {
	const detached = options.detached !== false;
	const armored = options.armor ?? detached;
	const date = options.date ?? new Date();
	if (!options.signingKey.isDecrypted()) {
		throw new PgpError(
			'PASSPHRASE',
			`Private key ${fingerprintOf(options.signingKey)} is locked: unlock it with its passphrase first.`,
			{ fingerprint: fingerprintOf(options.signingKey) },
		);
	}
	await assertSigningKey(options.signingKey, date);
	const message = await openpgp.createMessage({
		binary: options.data,
		filename: 'data.bin',
		format: 'binary',
		date,
	});
	let signature: Uint8Array | string;
	try {
		const common = { message, signingKeys: options.signingKey, detached, date };
		signature = armored
			? await openpgp.sign({ ...common, format: 'armored' })
			: await openpgp.sign({ ...common, format: 'binary' });
	} catch (error) {
		throw new PgpError('OPERATION', `Signing failed: ${innerMessage(error)}`, { cause: error });
	}
	return { signature, detached, armored, signerFingerprint: fingerprintOf(options.signingKey) };
}
