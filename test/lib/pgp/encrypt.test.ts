/**
 * encrypt(): interoperability with gpg 2.2 and sq 0.27 (SEIPD v1, AES-256), streams, armor,
 * multi-recipient, SEIPDv2-advertising recipients, and refusals of unusable recipients.
 */
import { randomBytes } from 'node:crypto';
import { Readable } from 'node:stream';
import * as openpgp from 'openpgp';

import { PgpError, encrypt, readPublicKeys } from '../../../lib/pgp';
import {
	type GpgHome,
	gpg,
	gpgDecrypt,
	gpgDecryptWithStatus,
	gpgImport,
	gpgRevoke,
	makeGpgHome,
	sqDecrypt,
} from '../../helpers/gpg';

async function collect(stream: Readable): Promise<Buffer> {
	const chunks: Buffer[] = [];
	for await (const chunk of stream) chunks.push(Buffer.from(chunk as Uint8Array));
	return Buffer.concat(chunks);
}

/** Packet tags and versions of a binary message, e.g. ['1:3', '18:1']. */
async function packetSummary(ciphertext: Uint8Array | string): Promise<string[]> {
	const message =
		typeof ciphertext === 'string'
			? await openpgp.readMessage({ armoredMessage: ciphertext })
			: await openpgp.readMessage({ binaryMessage: ciphertext });
	return message.packets.map(
		(packet) =>
			`${(packet.constructor as unknown as { tag: number }).tag}:${(packet as unknown as { version: number }).version}`,
	);
}

describe('encrypt → gpg / sq', () => {
	let rsa: GpgHome;
	let ecc: GpgHome;

	beforeAll(async () => {
		[rsa, ecc] = await Promise.all([makeGpgHome({ keyType: 'rsa3072' }), makeGpgHome()]);
	});

	afterAll(async () => {
		await rsa?.cleanup();
		await ecc?.cleanup();
	});

	it.each([
		['RSA-3072', () => rsa],
		['ed25519/cv25519', () => ecc],
	])('%s: gpg --decrypt gives back the exact bytes (SEIPD v1, AES-256)', async (_name, home) => {
		const recipient = home();
		const plaintext = Buffer.concat([Buffer.from('{"a":"ü\r\n"}\n'), randomBytes(4096)]);
		const recipients = await readPublicKeys({ armoredKeys: recipient.publicKeyArmored });
		const result = await encrypt({ data: plaintext, recipients, filename: 'record.json' });
		expect(result.ciphertext).toBeInstanceOf(Uint8Array);
		expect(result.recipientFingerprints).toEqual([recipient.fingerprint]);
		expect(result.profile).toBe('gnupg');
		const { plaintext: decrypted, status } = gpgDecryptWithStatus(
			recipient.home,
			result.ciphertext as Uint8Array,
		);
		expect(decrypted.equals(plaintext)).toBe(true);
		// DECRYPTION_INFO <mdc_method> <sym_algo>: 2 = MDC (SEIPD v1), 9 = AES-256
		expect(status).toMatch(/\[GNUPG:\] DECRYPTION_INFO 2 9/);
		expect(status).toMatch(/\[GNUPG:\] PLAINTEXT 62 \d+ record\.json/);
		expect(await packetSummary(result.ciphertext as Uint8Array)).toEqual(['1:3', '18:1']);
	});

	it('two recipients: each gpg home decrypts', async () => {
		const recipients = await readPublicKeys({
			armoredKeys: rsa.publicKeyArmored + ecc.publicKeyArmored,
		});
		const plaintext = randomBytes(10_000);
		const { ciphertext, recipientFingerprints } = await encrypt({ data: plaintext, recipients });
		expect(recipientFingerprints).toEqual([rsa.fingerprint, ecc.fingerprint]);
		expect(gpgDecrypt(rsa.home, ciphertext as Uint8Array).equals(plaintext)).toBe(true);
		expect(gpgDecrypt(ecc.home, ciphertext as Uint8Array).equals(plaintext)).toBe(true);
		expect(await packetSummary(ciphertext as Uint8Array)).toEqual(['1:3', '1:3', '18:1']);
	});

	it('sq decrypts it too', async () => {
		const recipients = await readPublicKeys({ armoredKeys: ecc.publicKeyArmored });
		const plaintext = Buffer.from(JSON.stringify({ hello: 'sq', n: 1 }));
		const { ciphertext } = await encrypt({ data: plaintext, recipients });
		expect(sqDecrypt(ecc.secretKeyArmored, ciphertext as Uint8Array).equals(plaintext)).toBe(true);
	});

	it('armored output is a string gpg decrypts', async () => {
		const recipients = await readPublicKeys({ armoredKeys: rsa.publicKeyArmored });
		const plaintext = Buffer.from('armored please');
		const { ciphertext, armored } = await encrypt({ data: plaintext, recipients, armor: true });
		expect(armored).toBe(true);
		expect(typeof ciphertext).toBe('string');
		expect(ciphertext as string).toMatch(/^-----BEGIN PGP MESSAGE-----\n/);
		expect(gpgDecrypt(rsa.home, ciphertext as string).equals(plaintext)).toBe(true);
	});

	it('Node Readable in → Node Readable out, gpg decrypts (binary and armored)', async () => {
		const recipients = await readPublicKeys({ armoredKeys: ecc.publicKeyArmored });
		const plaintext = randomBytes(3 * 1024 * 1024 + 17);
		const chunks = Array.from({ length: Math.ceil(plaintext.length / 65536) }, (_v, i) =>
			plaintext.subarray(i * 65536, (i + 1) * 65536),
		);
		for (const armor of [false, true]) {
			const result = await encrypt({ data: Readable.from(chunks), recipients, armor });
			expect(result.ciphertext).toBeInstanceOf(Readable);
			const ciphertext = await collect(result.ciphertext as Readable);
			if (armor) expect(ciphertext.toString('latin1')).toMatch(/^-----BEGIN PGP MESSAGE-----/);
			expect(gpgDecrypt(ecc.home, ciphertext).equals(plaintext)).toBe(true);
		}
	});

	it('web ReadableStream input works too', async () => {
		const recipients = await readPublicKeys({ armoredKeys: ecc.publicKeyArmored });
		const plaintext = randomBytes(1000);
		const web = new ReadableStream<Uint8Array>({
			start(controller) {
				controller.enqueue(plaintext.subarray(0, 500));
				controller.enqueue(plaintext.subarray(500));
				controller.close();
			},
		});
		const result = await encrypt({ data: web, recipients });
		const ciphertext = await collect(result.ciphertext as Readable);
		expect(gpgDecrypt(ecc.home, ciphertext).equals(plaintext)).toBe(true);
	});

	it('signed: gpg decrypts and reports a good signature', async () => {
		const signer = await openpgp.generateKey({
			type: 'ecc',
			userIDs: [{ name: 'Signer Test Only', email: 'signer@example.org' }],
			format: 'object',
		});
		gpgImport(ecc.home, signer.publicKey.armor());
		const recipients = await readPublicKeys({ armoredKeys: ecc.publicKeyArmored });
		const plaintext = Buffer.from('signed and sealed');
		const result = await encrypt({ data: plaintext, recipients, signingKey: signer.privateKey });
		expect(result.signerFingerprint).toBe(signer.privateKey.getFingerprint().toUpperCase());
		const { plaintext: decrypted, status } = gpgDecryptWithStatus(
			ecc.home,
			result.ciphertext as Uint8Array,
		);
		expect(decrypted.equals(plaintext)).toBe(true);
		expect(status).toMatch(/\[GNUPG:\] GOODSIG /);
	});
});

describe('encrypt: compression', () => {
	let home: GpgHome;

	beforeAll(async () => {
		home = await makeGpgHome();
	});

	afterAll(async () => home?.cleanup());

	it.each([
		['zlib', 2],
		['zip', 1],
	] as const)(
		'%s: applied (gpg sees compression algo %d), gpg gives back the bytes',
		async (compression, algo) => {
			const recipients = await readPublicKeys({ armoredKeys: home.publicKeyArmored });
			const plaintext = Buffer.from(
				JSON.stringify(Array.from({ length: 2000 }, (_v, i) => ({ i, text: 'hello archive' }))),
			);
			const result = await encrypt({ data: plaintext, recipients, compression });
			expect(result.compression).toBe(compression);
			const ciphertext = result.ciphertext as Uint8Array;
			expect(ciphertext.length).toBeLessThan(plaintext.length / 5);
			expect(gpgDecrypt(home.home, ciphertext).equals(plaintext)).toBe(true);
			const listing = gpg(
				home.home,
				['--passphrase', '', '--list-packets'],
				Buffer.from(ciphertext),
			);
			expect(listing.toString()).toContain(`:compressed packet: algo=${algo}`);
			const none = await encrypt({ data: plaintext, recipients });
			expect(none.compression).toBe('none');
			expect((none.ciphertext as Uint8Array).length).toBeGreaterThan(plaintext.length);
		},
	);
});

describe('encrypt: recipients advertising SEIPD v2 (RFC 9580 feature 0x08)', () => {
	let gpgHome: GpgHome;
	let aeadKey: { publicKey: openpgp.PublicKey; privateKey: openpgp.PrivateKey };

	beforeAll(async () => {
		gpgHome = await makeGpgHome();
		// aeadProtect at generation sets features 0x09 (MDC + SEIPDv2) on the v4 key.
		aeadKey = await openpgp.generateKey({
			type: 'ecc',
			userIDs: [{ name: 'AEAD Test Only', email: 'aead@example.org' }],
			format: 'object',
			config: { aeadProtect: true },
		});
		const primary = aeadKey.publicKey as unknown as {
			getPrimarySelfSignature(): Promise<{ features: number[] | null }>;
		};
		const features = (await primary.getPrimarySelfSignature()).features;
		expect(features?.[0]).toBe(0x09);
		// unprotected secret key, so gpg 2.2 can import it
		gpgImport(gpgHome.home, aeadKey.privateKey.armor());
	});

	afterAll(async () => gpgHome?.cleanup());

	it('rfc9580 profile picks SEIPD v2 (which gpg 2.2 cannot read)', async () => {
		const { ciphertext } = await encrypt({
			data: Buffer.from('v2'),
			recipients: [aeadKey.publicKey],
			profile: 'rfc9580',
		});
		expect(await packetSummary(ciphertext as Uint8Array)).toEqual(['1:6', '18:2']);
		expect(() => gpgDecrypt(gpgHome.home, ciphertext as Uint8Array)).toThrow();
	});

	it('gnupg profile still writes SEIPD v1 + AES-256 that gpg and sq decrypt', async () => {
		const plaintext = randomBytes(2048);
		const { ciphertext } = await encrypt({ data: plaintext, recipients: [aeadKey.publicKey] });
		expect(await packetSummary(ciphertext as Uint8Array)).toEqual(['1:3', '18:1']);
		const { plaintext: decrypted, status } = gpgDecryptWithStatus(
			gpgHome.home,
			ciphertext as Uint8Array,
		);
		expect(decrypted.equals(plaintext)).toBe(true);
		expect(status).toMatch(/\[GNUPG:\] DECRYPTION_INFO 2 9/);
		expect(sqDecrypt(aeadKey.privateKey.armor(), ciphertext as Uint8Array).equals(plaintext)).toBe(
			true,
		);
	});

	it('gnupg profile with a mixed recipient list (gpg key + SEIPDv2 key) is SEIPD v1', async () => {
		const recipients = [
			...(await readPublicKeys({ armoredKeys: gpgHome.publicKeyArmored })),
			aeadKey.publicKey,
		];
		const plaintext = randomBytes(100);
		const { ciphertext } = await encrypt({ data: plaintext, recipients });
		expect(gpgDecrypt(gpgHome.home, ciphertext as Uint8Array).equals(plaintext)).toBe(true);
	});
});

describe('encrypt: refusals', () => {
	it('needs at least one recipient', async () => {
		await expect(encrypt({ data: Buffer.from('x'), recipients: [] })).rejects.toThrow(
			'At least one recipient public key is required.',
		);
	});

	it('refuses a recipient whose only encryption subkey expired, naming fingerprint and day', async () => {
		const home = await makeGpgHome({ encryptionSubkeyExpiry: '2d' });
		try {
			const recipients = await readPublicKeys({ armoredKeys: home.publicKeyArmored });
			const expiry = await recipients[0].subkeys[0].getExpirationTime();
			expect(expiry).toBeInstanceOf(Date);
			const later = new Date((expiry as Date).getTime() + 86_400_000);
			const day = (expiry as Date).toISOString().slice(0, 10);
			let caught: unknown;
			try {
				await encrypt({ data: Buffer.from('x'), recipients, date: later });
			} catch (error) {
				caught = error;
			}
			expect(caught).toBeInstanceOf(PgpError);
			expect((caught as PgpError).code).toBe('UNUSABLE_KEY');
			expect((caught as PgpError).message).toBe(
				`Cannot encrypt to key ${home.fingerprint}: encryption subkey expired on ${day}.`,
			);
			// still fine today
			const ok = await encrypt({ data: Buffer.from('x'), recipients });
			expect(gpgDecrypt(home.home, ok.ciphertext as Uint8Array).toString()).toBe('x');
		} finally {
			await home.cleanup();
		}
	});

	it('refuses a revoked key and an RSA-1024 key with the reason', async () => {
		const [revoked, weak] = await Promise.all([
			makeGpgHome({ keyType: 'rsa3072' }),
			makeGpgHome({ keyType: 'rsa1024' }),
		]);
		try {
			const revokedKeys = await readPublicKeys({
				armoredKeys: gpgRevoke(revoked.home, revoked.fingerprint),
			});
			await expect(encrypt({ data: Buffer.from('x'), recipients: revokedKeys })).rejects.toThrow(
				`Cannot encrypt to key ${revoked.fingerprint}: key is revoked.`,
			);
			const weakKeys = await readPublicKeys({ armoredKeys: weak.publicKeyArmored });
			await expect(encrypt({ data: Buffer.from('x'), recipients: weakKeys })).rejects.toThrow(
				`Cannot encrypt to key ${weak.fingerprint}: RSA-1024 is too weak (at least 2048 bits required).`,
			);
		} finally {
			await revoked.cleanup();
			await weak.cleanup();
		}
	});

	it('refuses an RFC 9580-algorithm key in the gnupg profile even if passed directly', async () => {
		const { publicKey } = await openpgp.generateKey({
			type: 'curve25519',
			userIDs: [{ name: 'New Algo Test Only' }],
			format: 'object',
		});
		await expect(encrypt({ data: Buffer.from('x'), recipients: [publicKey] })).rejects.toThrow(
			/uses Ed25519 \(public-key algorithm 27, RFC 9580\)/,
		);
		const ok = await encrypt({
			data: Buffer.from('x'),
			recipients: [publicKey],
			profile: 'rfc9580',
		});
		expect(ok.ciphertext).toBeInstanceOf(Uint8Array);
	});
});
