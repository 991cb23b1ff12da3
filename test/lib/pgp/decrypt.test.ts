/**
 * decrypt(): messages from gpg 2.2 and sq 0.27 in every shape (binary, armored, ZIP/ZLIB/BZip2,
 * signed, hidden recipient), our own output, and the exact refusals.
 */
import { randomBytes } from 'node:crypto';
import * as openpgp from 'openpgp';

import {
	PgpError,
	decrypt,
	encrypt,
	readPrivateKey,
	readPublicKeys,
	type PrivateKey,
	type PublicKey,
} from '../../../lib/pgp';
import { type GpgHome, gpgEncrypt, makeGpgHome, sqEncrypt } from '../../helpers/gpg';

async function expectPgpError(promise: Promise<unknown>, code: string, message: string | RegExp) {
	let caught: unknown;
	try {
		await promise;
	} catch (error) {
		caught = error;
	}
	expect(caught).toBeInstanceOf(PgpError);
	expect((caught as PgpError).code).toBe(code);
	if (typeof message === 'string') expect((caught as PgpError).message).toBe(message);
	else expect((caught as PgpError).message).toMatch(message);
}

describe('decrypt', () => {
	let ecc: GpgHome;
	let rsa: GpgHome;
	let eccPrivate: PrivateKey;
	let eccPublic: PublicKey[];
	let rsaPublic: PublicKey[];
	const plaintext = Buffer.concat([Buffer.from('{"hello":"wörld"}\r\n'), randomBytes(20_000)]);

	beforeAll(async () => {
		[ecc, rsa] = await Promise.all([
			makeGpgHome({ passphrase: 'test only passphrase' }),
			makeGpgHome({ keyType: 'rsa3072' }),
		]);
		eccPrivate = await readPrivateKey({
			armoredKey: ecc.secretKeyArmored,
			passphrase: 'test only passphrase',
		});
		eccPublic = await readPublicKeys({ armoredKeys: ecc.publicKeyArmored });
		rsaPublic = await readPublicKeys({ armoredKeys: rsa.publicKeyArmored });
	});

	afterAll(async () => {
		await ecc?.cleanup();
		await rsa?.cleanup();
	});

	it.each([
		['binary, no compression', { compressAlgo: 'none' as const }],
		['armored', { armor: true }],
		['ZIP', { compressAlgo: 'zip' as const }],
		['ZLIB', { compressAlgo: 'zlib' as const }],
		['BZip2', { compressAlgo: 'bzip2' as const }],
		['hidden recipient (--throw-keyids)', { throwKeyids: true }],
	])('gpg %s → exact bytes', async (_name, options) => {
		const ciphertext = gpgEncrypt(ecc.home, plaintext, {
			recipients: [ecc.fingerprint],
			...options,
		});
		const input = 'armor' in options ? ciphertext.toString('utf8') : ciphertext;
		const result = await decrypt({ data: input, decryptionKeys: [eccPrivate] });
		expect(Buffer.from(result.data).equals(plaintext)).toBe(true);
		expect(result.signed).toBe(false);
		expect(result.signatures).toEqual([]);
	});

	it('gpg sign+encrypt with expectSigned: valid, signer fingerprint reported', async () => {
		const ciphertext = gpgEncrypt(ecc.home, plaintext, {
			recipients: [ecc.fingerprint],
			signWith: ecc.fingerprint,
			passphrase: 'test only passphrase',
			armor: true,
		});
		const result = await decrypt({
			data: ciphertext,
			decryptionKeys: [eccPrivate],
			verificationKeys: eccPublic,
			expectSigned: true,
		});
		expect(Buffer.from(result.data).equals(plaintext)).toBe(true);
		expect(result.signed).toBe(true);
		expect(result.signatures).toHaveLength(1);
		expect(result.signatures[0]).toMatchObject({ fingerprint: ecc.fingerprint, valid: true });
		expect(result.signatures[0].created).toBeInstanceOf(Date);
	});

	it('signed message without verification keys: data returned, signature reported as unverified', async () => {
		const ciphertext = gpgEncrypt(ecc.home, plaintext, {
			recipients: [ecc.fingerprint],
			signWith: ecc.fingerprint,
			passphrase: 'test only passphrase',
		});
		const result = await decrypt({ data: ciphertext, decryptionKeys: [eccPrivate] });
		expect(result.signed).toBe(true);
		expect(result.signatures[0].valid).toBe(false);
		expect(result.signatures[0].reason).toMatch(
			/^no verification key with key ID [0-9A-F]{16} was given$/,
		);
	});

	it('sq armored, binary and signed messages', async () => {
		const armored = sqEncrypt(ecc.publicKeyArmored, plaintext);
		expect(armored.toString('latin1')).toMatch(/^-----BEGIN PGP MESSAGE-----/);
		const a = await decrypt({ data: armored, decryptionKeys: [eccPrivate] });
		expect(Buffer.from(a.data).equals(plaintext)).toBe(true);

		const binary = sqEncrypt(ecc.publicKeyArmored, plaintext, { binary: true });
		const b = await decrypt({ data: binary, decryptionKeys: [eccPrivate] });
		expect(Buffer.from(b.data).equals(plaintext)).toBe(true);

		const signer = await openpgp.generateKey({
			type: 'ecc',
			userIDs: [{ name: 'SQ Signer Test Only' }],
			format: 'armored',
		});
		const signed = sqEncrypt(ecc.publicKeyArmored, plaintext, {
			signerKeyArmored: signer.privateKey,
		});
		const signerKeys = await readPublicKeys({ armoredKeys: signer.publicKey });
		const c = await decrypt({
			data: signed,
			decryptionKeys: [eccPrivate],
			verificationKeys: signerKeys,
			expectSigned: true,
		});
		expect(Buffer.from(c.data).equals(plaintext)).toBe(true);
		expect(c.signatures[0].valid).toBe(true);
		expect(c.signatures[0].fingerprint).toBe(signerKeys[0].getFingerprint().toUpperCase());
	});

	it('sq ZIP packets with bytes after the deflate end (native DecompressionStream rejects them)', async () => {
		const binary = sqEncrypt(ecc.publicKeyArmored, plaintext, { binary: true });
		// OpenPGP.js alone, on this Node, fails on sq's ZIP packets; lib decrypt falls back to zlib.
		const direct = openpgp
			.decrypt({
				message: await openpgp.readMessage({ binaryMessage: binary }),
				decryptionKeys: eccPrivate,
				format: 'binary',
			})
			.then(
				() => 'ok',
				(error: Error) => error.message,
			);
		expect(await direct).toMatch(/^ok$|Trailing junk/);
		const result = await decrypt({
			data: binary,
			decryptionKeys: [eccPrivate],
			maxDecryptedBytes: 1 << 20,
		});
		expect(Buffer.from(result.data).equals(plaintext)).toBe(true);
		await expectPgpError(
			decrypt({ data: binary, decryptionKeys: [eccPrivate], maxDecryptedBytes: 1000 }),
			'OUTPUT_LIMIT',
			'Decryption stopped: the plaintext exceeds the limit of 1000 bytes.',
		);
		const tampered = Buffer.from(binary);
		tampered[tampered.length - 40] ^= 0x01;
		await expectPgpError(
			decrypt({ data: tampered, decryptionKeys: [eccPrivate] }),
			'INTEGRITY',
			/^The message failed its integrity check/,
		);
	});

	it('round trip with lib encrypt: exact bytes and the literal file name', async () => {
		const { ciphertext } = await encrypt({
			data: plaintext,
			recipients: [...rsaPublic, ...eccPublic],
			signingKey: eccPrivate,
			filename: 'record.json',
		});
		const result = await decrypt({
			data: ciphertext as Uint8Array,
			decryptionKeys: [eccPrivate],
			verificationKeys: eccPublic,
			expectSigned: true,
		});
		expect(Buffer.from(result.data).equals(plaintext)).toBe(true);
		expect(result.filename).toBe('record.json');
		expect(result.signatures[0].valid).toBe(true);
	});

	it('armored message pasted with CRLF and indentation still decrypts', async () => {
		const ciphertext = gpgEncrypt(ecc.home, plaintext, {
			recipients: [ecc.fingerprint],
			armor: true,
		});
		const messy = ciphertext
			.toString('utf8')
			.split('\n')
			.map((line) => '  ' + line)
			.join('\r\n');
		const result = await decrypt({ data: messy, decryptionKeys: [eccPrivate] });
		expect(Buffer.from(result.data).equals(plaintext)).toBe(true);
	});

	it('not encrypted to our key: names our fingerprint and the recipient key id', async () => {
		const ciphertext = gpgEncrypt(rsa.home, plaintext, { recipients: [rsa.fingerprint] });
		const message = await openpgp.readMessage({ binaryMessage: ciphertext });
		const recipientId = message.getEncryptionKeyIDs()[0].toHex().toUpperCase();
		await expectPgpError(
			decrypt({ data: ciphertext, decryptionKeys: [eccPrivate] }),
			'NOT_FOR_US',
			`The message is not encrypted to private key ${ecc.fingerprint} (it is for: ${recipientId}).`,
		);
	});

	it('tampered ciphertext fails the integrity check', async () => {
		const ciphertext = Buffer.from(
			gpgEncrypt(ecc.home, plaintext, { recipients: [ecc.fingerprint], compressAlgo: 'none' }),
		);
		ciphertext[ciphertext.length - 100] ^= 0x01;
		await expectPgpError(
			decrypt({ data: ciphertext, decryptionKeys: [eccPrivate] }),
			'INTEGRITY',
			/^The message failed its integrity check \(modified or truncated\)/,
		);
	});

	it('expectSigned refuses an unsigned message and one signed by an unknown key', async () => {
		const unsigned = gpgEncrypt(ecc.home, plaintext, { recipients: [ecc.fingerprint] });
		await expectPgpError(
			decrypt({
				data: unsigned,
				decryptionKeys: [eccPrivate],
				verificationKeys: eccPublic,
				expectSigned: true,
			}),
			'SIGNATURE',
			'The message is not signed, but a valid signature is required.',
		);
		const signedByEcc = gpgEncrypt(ecc.home, plaintext, {
			recipients: [ecc.fingerprint],
			signWith: ecc.fingerprint,
			passphrase: 'test only passphrase',
		});
		await expectPgpError(
			decrypt({
				data: signedByEcc,
				decryptionKeys: [eccPrivate],
				verificationKeys: rsaPublic,
				expectSigned: true,
			}),
			'SIGNATURE',
			/^The message is signed by key ID [0-9A-F]{16}, which is not among the verification keys\.$/,
		);
		await expectPgpError(
			decrypt({ data: signedByEcc, decryptionKeys: [eccPrivate], expectSigned: true }),
			'SIGNATURE',
			'A signature is required, but no verification (signer) keys were given.',
		);
	});

	it('garbage is not a message', async () => {
		await expectPgpError(
			decrypt({ data: 'hello', decryptionKeys: [eccPrivate] }),
			'MESSAGE_FORMAT',
			'The input is not an OpenPGP message (binary or armored).',
		);
		await expectPgpError(
			decrypt({ data: ecc.publicKeyArmored, decryptionKeys: [eccPrivate] }),
			'MESSAGE_FORMAT',
			'Expected a PGP MESSAGE block, found PGP PUBLIC KEY BLOCK.',
		);
	});
});
