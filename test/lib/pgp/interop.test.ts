/**
 * Interoperability with gpg 2.2 and sq 0.27 both ways for NIST P-256 (ECDSA/ECDH) keys and for
 * several recipients at once (RSA-3072, P-256, ed25519/cv25519 legacy). Keys made at test time.
 */
import { randomBytes } from 'node:crypto';

import {
	decrypt,
	encrypt,
	inspectKey,
	readPrivateKey,
	readPublicKeys,
	sign,
	verify,
	type PrivateKey,
	type PublicKey,
} from '../../../lib/pgp';
import {
	type GpgHome,
	gpgDecryptWithStatus,
	gpgDetachSign,
	gpgEncrypt,
	gpgImport,
	gpgVerify,
	makeGpgHome,
	sqDecrypt,
	sqEncryptToAll,
} from '../../helpers/gpg';

describe('interop: NIST P-256 and several recipients, gpg and sq both ways', () => {
	let homes: { rsa: GpgHome; p256: GpgHome; ecc: GpgHome };
	let all: GpgHome[];
	let privateKeys: Map<GpgHome, PrivateKey>;
	let publicKeys: PublicKey[];
	const plaintext = Buffer.concat([Buffer.from('{"interop":true}\n'), randomBytes(50_000)]);

	beforeAll(async () => {
		const [rsa, p256, ecc] = await Promise.all([
			makeGpgHome({ keyType: 'rsa3072' }),
			makeGpgHome({ keyType: 'nistp256' }),
			makeGpgHome(),
		]);
		homes = { rsa, p256, ecc };
		all = [rsa, p256, ecc];
		privateKeys = new Map();
		for (const home of all) {
			privateKeys.set(home, await readPrivateKey({ armoredKey: home.secretKeyArmored }));
		}
		publicKeys = await readPublicKeys({
			armoredKeys: all.map((home) => home.publicKeyArmored).join('\n'),
		});
		// the P-256 home knows everyone (for gpg multi-recipient encryption)
		gpgImport(p256.home, rsa.publicKeyArmored + ecc.publicKeyArmored);
		// …and every home knows the P-256 signer (gpg fails a decryption whose signer it lacks)
		for (const home of [rsa, ecc]) gpgImport(home.home, p256.publicKeyArmored);
	});

	afterAll(async () => {
		await Promise.all(all.map(async (home) => await home.cleanup()));
	});

	it('a gpg P-256 key reads as ECDSA/ECDH P-256 and fits the gnupg profile', async () => {
		const report = await inspectKey({ key: publicKeys[1] });
		expect(report).toMatchObject({
			fingerprint: homes.p256.fingerprint,
			algorithm: 'ECDSA (nistP256)',
			subkeyAlgorithms: ['ECDH (nistP256)'],
			usableForEncryption: true,
			usableForSigning: true,
		});
		expect(report.gnupgProblem).toBeUndefined();
	});

	it('lib encrypt to three recipients (signed with P-256) → gpg and sq decrypt with each key', async () => {
		const signingKey = privateKeys.get(homes.p256)!;
		const { ciphertext } = await encrypt({ data: plaintext, recipients: publicKeys, signingKey });
		for (const home of all) {
			const { plaintext: decrypted, status } = gpgDecryptWithStatus(
				home.home,
				ciphertext as Uint8Array,
			);
			expect(decrypted.equals(plaintext)).toBe(true);
			expect(status).toMatch(/\[GNUPG:\] DECRYPTION_INFO 2 9/);
			expect(status).toMatch(new RegExp(`\\[GNUPG:\\] VALIDSIG ${homes.p256.fingerprint}`));
			expect(sqDecrypt(home.secretKeyArmored, ciphertext as Uint8Array).equals(plaintext)).toBe(
				true,
			);
		}
	});

	it('gpg encrypts to three recipients, signed with P-256 → lib decrypts with each key, signature valid', async () => {
		const ciphertext = gpgEncrypt(homes.p256.home, plaintext, {
			recipients: all.map((home) => home.fingerprint),
			signWith: homes.p256.fingerprint,
		});
		for (const home of all) {
			const result = await decrypt({
				data: ciphertext,
				decryptionKeys: [privateKeys.get(home)!],
				verificationKeys: publicKeys,
				expectSigned: true,
			});
			expect(Buffer.from(result.data).equals(plaintext)).toBe(true);
			expect(result.signatures[0]).toMatchObject({
				fingerprint: homes.p256.fingerprint,
				valid: true,
			});
		}
	});

	it('sq encrypts to three recipients → lib decrypts with each key', async () => {
		const ciphertext = sqEncryptToAll(
			all.map((home) => home.publicKeyArmored),
			plaintext,
			{ binary: true },
		);
		for (const home of all) {
			const result = await decrypt({ data: ciphertext, decryptionKeys: [privateKeys.get(home)!] });
			expect(Buffer.from(result.data).equals(plaintext)).toBe(true);
		}
	});

	it('P-256 signatures: lib → gpg good; gpg → lib valid', async () => {
		const signingKey = privateKeys.get(homes.p256)!;
		const detached = await sign({ data: plaintext, signingKey });
		expect(gpgVerify(homes.p256.home, plaintext, detached.signature).good).toBe(true);
		const gpgSignature = gpgDetachSign(homes.p256.home, plaintext, homes.p256.fingerprint);
		const result = await verify({
			data: plaintext,
			signature: gpgSignature,
			verificationKeys: publicKeys,
		});
		expect(result.valid).toBe(true);
		expect(result.signatures[0].fingerprint).toBe(homes.p256.fingerprint);
	});
});
