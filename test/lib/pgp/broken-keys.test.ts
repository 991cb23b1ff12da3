/**
 * Broken-key fixtures, generated at test time (gpg with a faked clock for known expiry days, or
 * OpenPGP.js), and the exact messages encrypt, inspectKey and the credential test give for each:
 * expired subkey only; expired + valid subkey; expired primary; revoked; DSA/ElGamal; RSA-1024;
 * no key flags; v6 key; v4 key with algorithm 27. Nothing here is committed key material.
 */
import * as openpgp from 'openpgp';

import { PgpError, encrypt, inspectKey, readPublicKeys, type PublicKey } from '../../../lib/pgp';
import { testPublicKeysCredential } from '../../../nodes/OpenPgp/methods/credentialTest';
import {
	type GpgHome,
	gpgDecrypt,
	gpgRecipientKeyIds,
	gpgRevoke,
	makeGpgHome,
} from '../../helpers/gpg';

/** Keys created on 2024-01-01 12:00 UTC (gpg's clock stopped there): expiry days are known. */
const CREATED = '20240101T120000!';

async function encryptError(recipients: PublicKey[]): Promise<PgpError> {
	try {
		await encrypt({ data: Buffer.from('x'), recipients });
	} catch (error) {
		expect(error).toBeInstanceOf(PgpError);
		return error as PgpError;
	}
	throw new Error('encrypt should have refused the key');
}

/** An OpenPGP.js ecc key whose self-signatures carry no key-flags subpacket (like BCPG 1.43 keys). */
async function keyWithoutFlags(): Promise<{ armored: string; fingerprint: string }> {
	const { privateKey } = await openpgp.generateKey({
		type: 'ecc',
		userIDs: [{ name: 'No Flags Test Only' }],
		format: 'object',
	});
	const primary = privateKey.keyPacket;
	const config = { ...openpgp.config, nonDeterministicSignaturesViaNotation: false };
	type Resignable = {
		keyFlags: number[] | null;
		sign(
			key: unknown,
			data: unknown,
			date: Date,
			detached: boolean,
			config: unknown,
		): Promise<void>;
	};
	for (const user of privateKey.users) {
		for (const signature of user.selfCertifications as unknown as Resignable[]) {
			signature.keyFlags = null;
			await signature.sign(
				primary,
				{ userID: user.userID, key: primary },
				new Date(),
				false,
				config,
			);
		}
	}
	for (const subkey of privateKey.subkeys) {
		for (const signature of subkey.bindingSignatures as unknown as Resignable[]) {
			signature.keyFlags = null;
			await signature.sign(
				primary,
				{ key: primary, bind: subkey.keyPacket },
				new Date(),
				false,
				config,
			);
		}
	}
	return {
		armored: privateKey.toPublic().armor(),
		fingerprint: privateKey.getFingerprint().toUpperCase(),
	};
}

describe('broken keys: exact messages', () => {
	const homes: GpgHome[] = [];
	const home = async (options: Parameters<typeof makeGpgHome>[0]) => {
		const made = await makeGpgHome(options);
		homes.push(made);
		return made;
	};

	afterAll(async () => {
		await Promise.all(homes.map(async (made) => await made.cleanup()));
	});

	it('only encryption subkey expired (2025-03-01)', async () => {
		const made = await home({ fakedSystemTime: CREATED, encryptionSubkeyExpiry: '2025-03-01' });
		const keys = await readPublicKeys({ armoredKeys: made.publicKeyArmored });
		const error = await encryptError(keys);
		expect(error.code).toBe('UNUSABLE_KEY');
		expect(error.fingerprint).toBe(made.fingerprint);
		expect(error.message).toBe(
			`Cannot encrypt to key ${made.fingerprint}: encryption subkey expired on 2025-03-01.`,
		);
		const report = await inspectKey({ key: keys[0] });
		expect(report).toMatchObject({
			usableForEncryption: false,
			encryptionProblem: 'encryption subkey expired on 2025-03-01',
			expires: null, // the primary never expires (OpenPGP.js reports Infinity for the key)
		});
		expect(await testPublicKeysCredential({ publicKeys: made.publicKeyArmored })).toEqual({
			status: 'Error',
			message: `Key ${made.fingerprint} cannot be used for encryption: encryption subkey expired on 2025-03-01`,
		});
	});

	it('expired subkey + newer valid subkey: the valid one is used, gpg decrypts', async () => {
		const made = await home({
			fakedSystemTime: CREATED,
			encryptionSubkeyExpiry: '2025-03-01',
			secondEncryptionSubkey: { fakedSystemTime: '20240601T120000!', expiry: 'never' },
		});
		const keys = await readPublicKeys({ armoredKeys: made.publicKeyArmored });
		const [expired, valid] = keys[0].subkeys;
		const report = await inspectKey({ key: keys[0] });
		expect(report.usableForEncryption).toBe(true);
		expect(report.encryptionKeyFingerprint).toBe(valid.getFingerprint().toUpperCase());
		expect(report.encryptionKeyExpires).toBeNull();
		const { ciphertext } = await encrypt({ data: Buffer.from('still works'), recipients: keys });
		expect(gpgRecipientKeyIds(made.home, ciphertext as Uint8Array)).toEqual([
			valid.getKeyID().toHex().toUpperCase(),
		]);
		expect(gpgRecipientKeyIds(made.home, ciphertext as Uint8Array)).not.toContain(
			expired.getKeyID().toHex().toUpperCase(),
		);
		expect(gpgDecrypt(made.home, ciphertext as Uint8Array).toString()).toBe('still works');
		const credential = await testPublicKeysCredential({ publicKeys: made.publicKeyArmored });
		expect(credential).toEqual({
			status: 'OK',
			message: `1 key usable for encryption: ${made.fingerprint} (EdDSA (ed25519, legacy), never expires)`,
		});
	});

	it('primary key expired (2025-03-01)', async () => {
		const made = await home({ fakedSystemTime: CREATED, primaryExpiry: '2025-03-01' });
		const keys = await readPublicKeys({ armoredKeys: made.publicKeyArmored });
		const error = await encryptError(keys);
		expect(error.code).toBe('UNUSABLE_KEY');
		expect(error.message).toBe(
			`Cannot encrypt to key ${made.fingerprint}: key expired on 2025-03-01.`,
		);
		expect(await testPublicKeysCredential({ publicKeys: made.publicKeyArmored })).toEqual({
			status: 'Error',
			message: `Key ${made.fingerprint} cannot be used for encryption: key expired on 2025-03-01`,
		});
	});

	it('revoked key (gpg openpgp-revocs.d certificate, ":" guard stripped)', async () => {
		const made = await home({ keyType: 'rsa3072' });
		const keys = await readPublicKeys({ armoredKeys: gpgRevoke(made.home, made.fingerprint) });
		expect((await inspectKey({ key: keys[0] })).revoked).toBe(true);
		expect((await encryptError(keys)).message).toBe(
			`Cannot encrypt to key ${made.fingerprint}: key is revoked.`,
		);
	});

	it('DSA primary with ElGamal subkey (gpg dsa2048 / elg2048)', async () => {
		const made = await home({ keyType: 'dsa2048' });
		const keys = await readPublicKeys({ armoredKeys: made.publicKeyArmored });
		const report = await inspectKey({ key: keys[0] });
		expect(report.algorithm).toBe('DSA 2048');
		expect(report.subkeyAlgorithms).toEqual(['ElGamal 2048']);
		const error = await encryptError(keys);
		expect(error.code).toBe('UNUSABLE_KEY');
		expect(error.message).toBe(
			`Cannot encrypt to key ${made.fingerprint}: DSA and ElGamal keys are refused as too weak (OpenPGP.js default); use an RSA-3072 or ed25519/cv25519 key.`,
		);
		expect(report.encryptionProblem).toBe(
			'DSA and ElGamal keys are refused as too weak (OpenPGP.js default); use an RSA-3072 or ed25519/cv25519 key',
		);
	});

	it('RSA-1024', async () => {
		const made = await home({ keyType: 'rsa1024' });
		const keys = await readPublicKeys({ armoredKeys: made.publicKeyArmored });
		expect((await encryptError(keys)).message).toBe(
			`Cannot encrypt to key ${made.fingerprint}: RSA-1024 is too weak (at least 2048 bits required).`,
		);
	});

	it('no key flags (self-signatures without the key-flags subpacket)', async () => {
		const { armored, fingerprint } = await keyWithoutFlags();
		const keys = await readPublicKeys({ armoredKeys: armored });
		const error = await encryptError(keys);
		expect(error.code).toBe('UNUSABLE_KEY');
		expect(error.message).toBe(
			`Cannot encrypt to key ${fingerprint}: the key has no key-usage flags (old BouncyCastle-made key); re-export it from a current tool.`,
		);
	});

	it('v6 key and v4 key with algorithm 27: refused in the gnupg profile, flagged by the credential test', async () => {
		const v6 = await openpgp.generateKey({
			type: 'curve25519',
			userIDs: [{ name: 'V6 Test Only' }],
			format: 'object',
			config: { v6Keys: true },
		});
		const v4New = await openpgp.generateKey({
			type: 'curve25519',
			userIDs: [{ name: 'Alg27 Test Only' }],
			format: 'object',
			config: { v6Keys: false },
		});
		const v6Fpr = v6.publicKey.getFingerprint().toUpperCase();
		const v4Fpr = v4New.publicKey.getFingerprint().toUpperCase();
		expect(v4New.publicKey.keyPacket.version).toBe(4);
		expect(Number(v4New.publicKey.keyPacket.algorithm)).toBe(27);
		expect((await encryptError([v6.publicKey])).message).toBe(
			`Key ${v6Fpr} is a version 6 key (RFC 9580), which GnuPG 2.2 and sq 0.27 cannot read; use a v4 key or the rfc9580 profile.`,
		);
		const algorithm27 = await encryptError([v4New.publicKey]);
		expect(algorithm27.code).toBe('INCOMPATIBLE_KEY');
		expect(algorithm27.message).toBe(
			`Key ${v4Fpr} uses Ed25519 (public-key algorithm 27, RFC 9580), which GnuPG 2.2 and sq 0.27 cannot use; use an RSA or ed25519/cv25519 (legacy) v4 key, or the rfc9580 profile.`,
		);
		expect(await testPublicKeysCredential({ publicKeys: v6.publicKey.armor() })).toEqual({
			status: 'OK',
			message: `1 key usable for encryption: ${v6Fpr} (Ed25519 (RFC 9580), never expires, RFC 9580 profile only)`,
		});
	});
});
