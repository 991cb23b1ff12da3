/**
 * GnuPG 2.4 OCB messages (LibrePGP "AEAD Encrypted Data", packet tag 20), from the TEST ONLY
 * generator in test/fixtures/pgp: gpg 2.2 decrypts them (independent check of the fixture), lib
 * decrypt and decryptToSpool read them, tampering is caught, and their (slow) speed is measured.
 */
import { randomBytes } from 'node:crypto';
import { Readable } from 'node:stream';
import * as openpgp from 'openpgp';

import {
	PgpError,
	decrypt,
	decryptToSpool,
	encrypt,
	readPrivateKey,
	readPublicKeys,
	type PrivateKey,
	type PublicKey,
} from '../../../lib/pgp';
import { makeLibrePgpOcbMessage } from '../../fixtures/pgp/librepgp-ocb.TEST-ONLY';
import { type GpgHome, gpg, gpgDecryptWithStatus, makeGpgHome } from '../../helpers/gpg';

describe('GnuPG 2.4 OCB (tag 20) messages', () => {
	let ecc: GpgHome;
	let rsa: GpgHome;
	let eccKey: PrivateKey;
	let eccPublic: PublicKey[];
	let rsaPublic: PublicKey[];

	beforeAll(async () => {
		[ecc, rsa] = await Promise.all([makeGpgHome(), makeGpgHome({ keyType: 'rsa3072' })]);
		eccKey = await readPrivateKey({ armoredKey: ecc.secretKeyArmored });
		eccPublic = await readPublicKeys({ armoredKeys: ecc.publicKeyArmored });
		rsaPublic = await readPublicKeys({ armoredKeys: rsa.publicKeyArmored });
	});

	afterAll(async () => {
		await ecc?.cleanup();
		await rsa?.cleanup();
	});

	it('the fixture is a tag-20 OCB message that gpg 2.2 decrypts (two recipients)', async () => {
		const data = randomBytes(300_000);
		const message = await makeLibrePgpOcbMessage({
			data,
			recipients: [...eccPublic, ...rsaPublic],
		});
		const parsed = await openpgp.readMessage({ binaryMessage: message });
		expect(
			parsed.packets.map((packet) => (packet.constructor as unknown as { tag: number }).tag),
		).toEqual([1, 1, 20]);
		const listing = gpg(ecc.home, ['--list-packets'], Buffer.from(message)).toString();
		expect(listing).toMatch(/:aead encrypted packet: cipher=9 aead=2 cb=16/);
		for (const home of [ecc, rsa]) {
			const { plaintext, status } = gpgDecryptWithStatus(home.home, message);
			expect(plaintext.equals(data)).toBe(true);
			// DECRYPTION_INFO <mdc_method> <sym_algo>: 0 = no MDC (AEAD instead), 9 = AES-256
			expect(status).toMatch(/\[GNUPG:\] DECRYPTION_INFO 0 9 /);
			expect(status).toMatch(/\[GNUPG:\] DECRYPTION_OKAY/);
		}
	});

	it('decrypt and decryptToSpool (stream) give back the exact bytes; signed ones verify', async () => {
		const data = randomBytes(200_000);
		const message = await makeLibrePgpOcbMessage({ data, recipients: eccPublic });
		const buffered = await decrypt({ data: message, decryptionKeys: [eccKey] });
		expect(Buffer.from(buffered.data).equals(data)).toBe(true);
		expect(buffered.filename).toBe('data.bin');
		const streamed = await decryptToSpool({
			data: Readable.from([Buffer.from(message)]),
			decryptionKeys: [eccKey],
		});
		try {
			expect((await streamed.readAll()).equals(data)).toBe(true);
		} finally {
			await streamed.dispose();
		}
		const signed = await makeLibrePgpOcbMessage({
			data,
			recipients: eccPublic,
			signingKey: eccKey,
		});
		const verified = await decrypt({
			data: signed,
			decryptionKeys: [eccKey],
			verificationKeys: eccPublic,
			expectSigned: true,
		});
		expect(verified.signatures[0]).toMatchObject({ fingerprint: ecc.fingerprint, valid: true });
	});

	it('a tampered OCB message fails the integrity check', async () => {
		const data = randomBytes(100_000);
		const message = Buffer.from(await makeLibrePgpOcbMessage({ data, recipients: eccPublic }));
		message[message.length - 5000] ^= 0x01;
		let caught: unknown;
		try {
			await decrypt({ data: message, decryptionKeys: [eccKey] });
		} catch (error) {
			caught = error;
		}
		expect(caught).toBeInstanceOf(PgpError);
		expect((caught as PgpError).code).toBe('INTEGRITY');
		expect((caught as PgpError).message).toBe(
			'The message failed its integrity check (modified or truncated): Authentication tag mismatch',
		);
	});

	it('speed: OCB decrypt is far slower than SEIPD v1 (AES-256-CFB) in OpenPGP.js (documented limit)', async () => {
		const data = randomBytes(4 * 1024 * 1024);
		const ocb = await makeLibrePgpOcbMessage({ data, recipients: eccPublic });
		const { ciphertext: cfb } = await encrypt({ data, recipients: eccPublic });
		const time = async (message: Uint8Array) => {
			const started = process.hrtime.bigint();
			const result = await decrypt({ data: message, decryptionKeys: [eccKey] });
			const seconds = Number(process.hrtime.bigint() - started) / 1e9;
			expect(Buffer.from(result.data).equals(data)).toBe(true);
			return data.length / 1e6 / seconds;
		};
		// best of three after a warm-up: the machine is shared, and CFB runs are short
		await time(cfb as Uint8Array);
		let cfbMBps = 0;
		for (let run = 0; run < 3; run++) cfbMBps = Math.max(cfbMBps, await time(cfb as Uint8Array));
		const ocbMBps = await time(ocb);
		process.stdout.write(
			`decrypt 4 MiB: SEIPD v1 AES-256-CFB ${cfbMBps.toFixed(1)} MB/s, tag-20 OCB ${ocbMBps.toFixed(2)} MB/s (${(cfbMBps / ocbMBps).toFixed(0)}× slower)\n`,
		);
		// If this fails, OpenPGP.js made OCB fast: update docs/OPENPGP.md and the node's notice.
		expect(cfbMBps / ocbMBps).toBeGreaterThan(5);
	}, 180_000);
});
