/**
 * sign() / verify(): detached and inline signatures, checked by gpg; gpg's signatures checked by verify().
 */
import { randomBytes } from 'node:crypto';

import {
	readPrivateKey,
	readPublicKeys,
	sign,
	verify,
	type PrivateKey,
	type PublicKey,
} from '../../../lib/pgp';
import { type GpgHome, gpgDetachSign, gpgVerify, makeGpgHome } from '../../helpers/gpg';

describe('sign / verify', () => {
	let home: GpgHome;
	let other: GpgHome;
	let signingKey: PrivateKey;
	let publicKeys: PublicKey[];
	let otherKeys: PublicKey[];
	const data = Buffer.concat([Buffer.from('line one\r\nline two\n'), randomBytes(1000)]);

	beforeAll(async () => {
		[home, other] = await Promise.all([makeGpgHome({ keyType: 'rsa3072' }), makeGpgHome()]);
		signingKey = await readPrivateKey({ armoredKey: home.secretKeyArmored });
		publicKeys = await readPublicKeys({ armoredKeys: home.publicKeyArmored });
		otherKeys = await readPublicKeys({ armoredKeys: other.publicKeyArmored });
	});

	afterAll(async () => {
		await home?.cleanup();
		await other?.cleanup();
	});

	it('detached armored signature: gpg says good, verify says valid with the fingerprint', async () => {
		const result = await sign({ data, signingKey });
		expect(result.detached).toBe(true);
		expect(result.armored).toBe(true);
		expect(result.signerFingerprint).toBe(home.fingerprint);
		expect(String(result.signature)).toMatch(/^-----BEGIN PGP SIGNATURE-----/);
		expect(gpgVerify(home.home, data, result.signature).good).toBe(true);
		const checked = await verify({
			data,
			signature: result.signature,
			verificationKeys: publicKeys,
		});
		expect(checked.valid).toBe(true);
		expect(checked.signatures[0]).toMatchObject({ fingerprint: home.fingerprint, valid: true });
	});

	it('inline binary signed message: gpg says good, verify extracts the exact data', async () => {
		const result = await sign({ data, signingKey, detached: false });
		expect(result.armored).toBe(false);
		expect(result.signature).toBeInstanceOf(Uint8Array);
		expect(gpgVerify(home.home, result.signature).good).toBe(true);
		const checked = await verify({ data: result.signature, verificationKeys: publicKeys });
		expect(checked.valid).toBe(true);
		expect(Buffer.from(checked.data).equals(data)).toBe(true);
	});

	it("verifies gpg's detached signatures, binary and armored", async () => {
		for (const armor of [false, true]) {
			const signature = gpgDetachSign(home.home, data, home.fingerprint, armor);
			const checked = await verify({
				data,
				signature: armor ? signature.toString('utf8') : signature,
				verificationKeys: publicKeys,
			});
			expect(checked.valid).toBe(true);
		}
	});

	it('tampered data, or the wrong key: not valid, with a reason', async () => {
		const { signature } = await sign({ data, signingKey });
		const tampered = Buffer.from(data);
		tampered[5] ^= 0x20;
		const bad = await verify({ data: tampered, signature, verificationKeys: publicKeys });
		expect(bad.valid).toBe(false);
		expect(bad.signatures[0].reason).toMatch(/Signed digest did not match/);
		const wrongKey = await verify({ data, signature, verificationKeys: otherKeys });
		expect(wrongKey.valid).toBe(false);
		expect(wrongKey.signatures[0].reason).toMatch(
			/^no verification key with key ID [0-9A-F]{16} was given$/,
		);
	});

	it('refuses a locked key', async () => {
		const protectedHome = await makeGpgHome({ passphrase: 'test only' });
		try {
			const { readKey } = await import('openpgp');
			const locked = (await readKey({ armoredKey: protectedHome.secretKeyArmored })) as PrivateKey;
			await expect(sign({ data, signingKey: locked })).rejects.toThrow(
				`Private key ${protectedHome.fingerprint} is locked: unlock it with its passphrase first.`,
			);
		} finally {
			await protectedHome.cleanup();
		}
	});
});
