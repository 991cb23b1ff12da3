/**
 * Brainpool and secp256k1 keys made by gpg are refused by name, with what to use instead; NIST P-256
 * keys keep working both ways with gpg; third-party error text never carries a file path.
 */
import * as openpgp from 'openpgp';

import { encrypt, inspectKey, PgpError, readPrivateKey, readPublicKeys } from '../../../lib/pgp';
import { innerMessage, sanitizeMessage } from '../../../lib/pgp/errors';
import { testPrivateKeyCredential, testPublicKeysCredential } from '../../../nodes/OpenPgp/methods/credentialTest';
import { gpg, gpgDecrypt, makeGpgHome, type GpgHome } from '../../helpers/gpg';

const ADVICE =
	'use a key on Curve25519 (gpg --quick-gen-key "<user id>" future-default), NIST P-256 (nistp256) or RSA 3072 or more (rsa3072)';

describe('keys on curves this engine refuses', () => {
	let home: GpgHome;
	const made: Record<string, { fingerprint: string; publicKey: string; secretKey: string }> = {};

	beforeAll(async () => {
		home = await makeGpgHome();
		for (const curve of ['brainpoolP384r1', 'secp256k1']) {
			const email = `${curve.toLowerCase()}@example.org`;
			gpg(home.home, ['--passphrase', '', '--quick-gen-key', `Test Only <${email}>`, curve, 'sign,cert', 'never']);
			const fingerprint = gpg(home.home, ['--with-colons', '--list-keys', email]).toString().split('\n').find((line) => line.startsWith('fpr:'))!.split(':')[9];
			gpg(home.home, ['--passphrase', '', '--quick-add-key', fingerprint, curve, 'encr', 'never']);
			made[curve] = {
				fingerprint,
				publicKey: gpg(home.home, ['--armor', '--export', fingerprint]).toString(),
				secretKey: gpg(home.home, ['--passphrase', '', '--armor', '--export-secret-keys', fingerprint]).toString(),
			};
		}
	});

	afterAll(async () => await home?.cleanup());

	it.each(['brainpoolP384r1', 'secp256k1'])('%s: reading, encrypting, inspecting and both credential tests name the curve', async (curve) => {
		const { fingerprint, publicKey, secretKey } = made[curve];
		const message = `Key ${fingerprint} uses the ${curve} curve, which is not supported here; ${ADVICE}.`;
		await expect(readPublicKeys({ armoredKeys: publicKey })).rejects.toMatchObject({ code: 'UNSUPPORTED_CURVE', message, fingerprint });
		await expect(readPrivateKey({ armoredKey: secretKey })).rejects.toMatchObject({ code: 'UNSUPPORTED_CURVE', message });
		const key = await openpgp.readKey({ armoredKey: publicKey });
		await expect(encrypt({ data: new Uint8Array([1]), recipients: [key] })).rejects.toMatchObject({ code: 'UNSUPPORTED_CURVE', message });
		const report = await inspectKey({ key });
		expect(report).toMatchObject({
			algorithm: `ECDSA (${curve})`,
			usableForEncryption: false,
			usableForSigning: false,
			encryptionProblem: `the ${curve} curve is not supported; ${ADVICE}`,
		});
		expect(await testPublicKeysCredential({ publicKeys: publicKey })).toEqual({ status: 'Error', message });
		expect(await testPrivateKeyCredential({ privateKey: secretKey })).toEqual({ status: 'Error', message });
	});

	it('NIST P-256 keys from gpg still work: read, encrypt, gpg decrypts', async () => {
		const p256 = await makeGpgHome({ keyType: 'nistp256' });
		try {
			const keys = await readPublicKeys({ armoredKeys: p256.publicKeyArmored });
			const { ciphertext } = await encrypt({ data: Buffer.from('p-256 works'), recipients: keys });
			expect(gpgDecrypt(p256.home, ciphertext as Uint8Array).toString()).toBe('p-256 works');
			expect((await testPublicKeysCredential({ publicKeys: p256.publicKeyArmored })).status).toBe('OK');
		} finally {
			await p256.cleanup();
		}
	});
});

describe('third-party error text', () => {
	it('drops Node module-loader messages and file paths, keeps dates and algorithm names', () => {
		const loader = new Error("Cannot find module 'eckey-utils'\nRequire stack:\n- /srv/n8n/node_modules/openpgp/dist/node/openpgp.min.cjs\n- /srv/n8n/x.js");
		const wrapped = new PgpError('OPERATION', 'outer', { cause: new Error('Could not find valid self-signature', { cause: loader }) });
		expect(innerMessage(wrapped)).toBe('an optional part of OpenPGP.js is not installed');
		expect(sanitizeMessage("Cannot find module 'x' from '../main/node_modules/openpgp/dist/node/openpgp.min.cjs'")).toBe(
			'an optional part of OpenPGP.js is not installed',
		);
		expect(sanitizeMessage('EACCES: permission denied, open "/tmp/spool/abc" (C:\\Users\\me\\x)')).toBe(
			'EACCES: permission denied, open "<path>" (<path>)',
		);
		expect(sanitizeMessage('AES/CFB key expired on 2026/03/01')).toBe('AES/CFB key expired on 2026/03/01');
	});
});
