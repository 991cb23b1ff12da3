/**
 * The ciphertext check of S3 Archive Write (lib/archive/ciphertext.ts) on real OpenPGP output (gpg,
 * sq, lib/pgp: PKESK and SKESK, old- and new-format headers, partial lengths, armor) and on what must
 * be refused (plaintext files, other OpenPGP packets, truncations, hand-built packet sequences).
 */
import { randomBytes } from 'node:crypto';
import { Readable } from 'node:stream';

import { CIPHERTEXT_CHECK_BYTES, encryptedMessageProblem, assertEncryptedMessage, readHead, ArchiveError } from '../../../lib/archive';
import { encrypt, readPublicKeys } from '../../../lib/pgp';
import { ciphertextShaped } from '../../helpers/ciphertext';
import { gpg, type GpgHome, gpgEncrypt, makeGpgHome, sqEncrypt } from '../../helpers/gpg';

/** A new-format packet with a one-octet length (RFC 9580 §4.2.1.1). */
const packet = (tag: number, body: number[]) => Buffer.from([0xc0 | tag, body.length, ...body]);
const pkeskV3 = packet(1, [3, 1, 2, 3, 4, 5, 6, 7, 8, 1, 0x00, 0x08, 0xff]);

describe('encryptedMessageProblem', () => {
	let me: GpgHome;
	beforeAll(async () => {
		me = await makeGpgHome();
	});
	afterAll(async () => me?.cleanup());

	it('accepts what gpg, sq and lib/pgp write: PKESK and SKESK, old and new headers, partial lengths, armor', async () => {
		const plaintext = randomBytes(200 * 1024);
		const recipients = await readPublicKeys({ armoredKeys: me.publicKeyArmored });
		const streamed = await encrypt({ data: Readable.from([plaintext]), recipients, filename: 'media.bin' });
		const chunks: Buffer[] = [];
		for await (const chunk of streamed.ciphertext as Readable) chunks.push(Buffer.from(chunk as Uint8Array));
		const cases: Array<[string, Buffer]> = [
			['gpg (old-format PKESK, partial-length SEIPD)', gpgEncrypt(me.home, plaintext, { recipients: [me.fingerprint] })],
			['gpg armored', gpgEncrypt(me.home, plaintext, { recipients: [me.fingerprint], armor: true })],
			['gpg hidden recipient', gpgEncrypt(me.home, plaintext, { recipients: [me.fingerprint], throwKeyids: true })],
			['gpg symmetric (SKESK)', gpg(me.home, ['--passphrase', 'correct horse', '--symmetric'], plaintext)],
			['sq binary (new-format headers)', sqEncrypt(me.publicKeyArmored, plaintext, { binary: true })],
			['sq armored', sqEncrypt(me.publicKeyArmored, plaintext)],
			['lib/pgp in memory', Buffer.from((await encrypt({ data: plaintext, recipients })).ciphertext as Uint8Array)],
			['lib/pgp stream writer', Buffer.concat(chunks)],
			['a marker packet first', Buffer.concat([packet(10, [0x50, 0x47, 0x50]), gpgEncrypt(me.home, plaintext, { recipients: [me.fingerprint] })])],
		];
		for (const [label, bytes] of cases) {
			expect({ label, whole: encryptedMessageProblem(bytes, true) }).toEqual({ label, whole: null });
			const head = bytes.subarray(0, CIPHERTEXT_CHECK_BYTES);
			expect({ label, head: encryptedMessageProblem(head, head.length === bytes.length) }).toEqual({ label, head: null });
		}
	});

	it('refuses plaintext, other OpenPGP data and broken sequences, with a reason that quotes nothing', () => {
		const secret = 'SECRET-CONTENT-1234';
		const cases: Array<[string, Buffer, RegExp]> = [
			['empty', Buffer.alloc(0), /empty/],
			['JSON', Buffer.from(`{"text":"${secret}"}`), /does not start with an OpenPGP packet/],
			['PDF', Buffer.from(`%PDF-1.7 ${secret}`), /does not start with an OpenPGP packet/],
			['PNG', Buffer.concat([Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]), Buffer.from(secret)]), /first OpenPGP packet is a signature/],
			['JPEG', Buffer.concat([Buffer.from([0xff, 0xd8, 0xff, 0xe0]), Buffer.from(secret)]), /packet of type 63/],
			['literal data', packet(11, [0x62, 0, 0, 0, 0, 0, ...Buffer.from(secret)]), /literal data/],
			['compressed data', packet(8, [0, ...Buffer.from(secret)]), /compressed data/],
			['unprotected encrypted data (tag 9)', Buffer.concat([pkeskV3, packet(9, [...Buffer.from(secret)])]), /unprotected encrypted data.* follows its session keys/],
			['SEIPD without session key', packet(18, [1, ...Buffer.from(secret)]), /no session key packet/],
			['session keys only', pkeskV3, /end before any encrypted data/],
			['a PKESK of version 9', packet(1, [9, 1, 2, 3]), /unknown version 9/],
			['SEIPD of version 7', Buffer.concat([pkeskV3, packet(18, [7, 1, 2])]), /unknown version 7/],
			['a partial-length PKESK', Buffer.concat([Buffer.from([0xc1, 0xe9]), Buffer.alloc(512, 3)]), /length only data packets may have/],
			['junk after the session keys', Buffer.concat([pkeskV3, Buffer.from(secret)]), /not an OpenPGP packet follow/],
			['a truncated header', Buffer.from([0xc1]), /end before any encrypted data/],
			['armored public key', Buffer.from('-----BEGIN PGP PUBLIC KEY BLOCK-----\n\nmQINBF\n-----END PGP PUBLIC KEY BLOCK-----\n'), /armor of something other/],
			['armored literal data', Buffer.from(`-----BEGIN PGP MESSAGE-----\n\n${packet(11, [0x62, 0, 0, 0, 0, 0, 0x41]).toString('base64')}\n-----END PGP MESSAGE-----\n`), /literal data/],
		];
		for (const [label, bytes, reason] of cases) {
			const problem = encryptedMessageProblem(bytes, true);
			expect({ label, problem }).toEqual({ label, problem: expect.stringMatching(reason) });
			expect(problem).not.toContain(secret);
		}
		// only the first bytes of a large binary: session keys running past them are refused
		const manyKeys = Buffer.concat(Array.from({ length: 6000 }, () => pkeskV3));
		expect(encryptedMessageProblem(manyKeys.subarray(0, CIPHERTEXT_CHECK_BYTES), false)).toMatch(/no encrypted data packet within the first 64 KiB/);
	});

	it('assertEncryptedMessage names the binary property and the fix', () => {
		const error = (() => {
			try {
				assertEncryptedMessage(Buffer.from('plain'), { field: 'media', complete: true });
			} catch (e) {
				return e as ArchiveError;
			}
			return undefined;
		})();
		expect(error).toBeInstanceOf(ArchiveError);
		expect(error!.code).toBe('InvalidInput');
		expect(error!.message).toMatch(/Binary property "media" is not an OpenPGP encrypted message/);
		expect(error!.message).toMatch(/Put an OpenPGP node \(Encrypt\) or turn on Encrypt at Capture before S3 Archive Write/);
		expect(() => assertEncryptedMessage(ciphertextShaped(randomBytes(10)), { field: 'data', complete: true })).not.toThrow();
	});

	it('readHead reads the first bytes of a stream and releases it', async () => {
		let produced = 0;
		const stream = new Readable({
			read() {
				produced += 16 * 1024;
				this.push(Buffer.alloc(16 * 1024, 7));
			},
		});
		const { head, complete } = await readHead(stream, 40 * 1024);
		expect(head.length).toBe(40 * 1024);
		expect(complete).toBe(false);
		expect(stream.destroyed).toBe(true);
		expect(produced).toBeLessThanOrEqual(128 * 1024);
		const short = await readHead(Readable.from([Buffer.from('abc')]), 1024);
		expect(short).toEqual({ head: Buffer.from('abc'), complete: true });
	});
});
