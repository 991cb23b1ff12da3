/**
 * The native SEIPD v1 stream writer (lib/pgp/seipd-stream.ts) and the `encrypt` path that uses it:
 * its packet opened by the letter of RFC 4880 (framing, CFB with a zero IV, prefix, literal, MDC) for
 * any input split and slice size, byte-exact decryption by gpg 2.2, sq 0.27 and lib/pgp (`decrypt`,
 * `decryptToSpool`) at sizes around block and partial-chunk boundaries, several recipients, streams
 * interleaved, a process ending by itself,
 * packet layout, source errors, and which inputs take the native path.
 * Keys are generated at test time.
 */
import { execFileSync } from 'node:child_process';
import { createCipheriv, createDecipheriv, createHash, randomBytes, randomInt } from 'node:crypto';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Readable } from 'node:stream';

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
import * as seipdStream from '../../../lib/pgp/seipd-stream';
import { encryptSeipdV1Stream } from '../../../lib/pgp/seipd-stream';
import { type GpgHome, gpg, gpgDecrypt, makeGpgHome, sqDecrypt } from '../../helpers/gpg';

const KiB = 1024;
const MiB = 1024 * 1024;

async function collect(stream: Readable): Promise<Buffer> {
	const chunks: Buffer[] = [];
	for await (const chunk of stream) chunks.push(Buffer.from(chunk as Uint8Array));
	return Buffer.concat(chunks);
}

/** A Node stream of `data` in pieces of random sizes (1 B – 200 KiB), so pieces straddle blocks. */
function choppedStream(data: Buffer, seed = 0): Readable {
	const pieces: Buffer[] = [];
	let offset = 0;
	let step = seed;
	while (offset < data.length) {
		step = (step * 1103515245 + 12345) % 2147483648;
		const n = Math.min(data.length - offset, 1 + (step % (200 * KiB)));
		pieces.push(data.subarray(offset, offset + n));
		offset += n;
	}
	return Readable.from(pieces, { objectMode: false });
}

/**
 * One new-format packet at `offset` (RFC 4880 §4.2.2): its tag, its body with partial lengths
 * (§4.2.2.4) joined, and the offset after it.
 */
function readPacket(bytes: Buffer, offset: number): { tag: number; body: Buffer; end: number } {
	expect(bytes[offset] & 0xc0).toBe(0xc0);
	const tag = bytes[offset] & 0x3f;
	const parts: Buffer[] = [];
	let pos = offset + 1;
	for (;;) {
		const first = bytes[pos];
		let header = 1;
		let length: number;
		if (first < 192) length = first;
		else if (first < 224) [header, length] = [2, ((first - 192) << 8) + bytes[pos + 1] + 192];
		else if (first === 255) [header, length] = [5, bytes.readUInt32BE(pos + 1)];
		else length = 1 << (first & 0x1f);
		if (pos + header + length > bytes.length) throw new Error('packet runs past the end');
		parts.push(bytes.subarray(pos + header, pos + header + length));
		pos += header + length;
		if (first < 224 || first === 255) break;
	}
	return { tag, body: Buffer.concat(parts), end: pos };
}

/**
 * The SEIPD v1 packet the writer makes for `plaintext` (no PKESK), opened by the letter of RFC 4880:
 * version 1, AES-256-CFB with a zero IV over prefix ‖ literal packet ‖ MDC (§5.13), the prefix's
 * last two octets repeated, the literal packet `b` (§5.9), the MDC over everything before its hash
 * (§5.14). Returns the literal data.
 */
async function openWriterOutput(
	plaintext: Buffer,
	options: { sessionKey: Buffer; openKey?: Buffer; sliceBytes?: number; chunkExponent?: number; seed?: number },
): Promise<Buffer> {
	const date = new Date(1_700_000_000_000);
	const writer = new seipdStream.SeipdV1Encryptor(options.sessionKey, new Uint8Array(0), {
		filename: 'clip.mp4',
		date,
		sliceBytes: options.sliceBytes,
		chunkExponent: options.chunkExponent,
	});
	const message = await collect(choppedStream(plaintext, options.seed ?? 0).pipe(writer));
	const seipd = readPacket(message, 0);
	expect({ tag: seipd.tag, end: seipd.end, version: seipd.body[0] }).toEqual({ tag: 18, end: message.length, version: 1 });
	const decipher = createDecipheriv('aes-256-cfb', options.openKey ?? options.sessionKey, Buffer.alloc(16));
	const inner = Buffer.concat([decipher.update(seipd.body.subarray(1)), decipher.final()]);
	if (!inner.subarray(14, 16).equals(inner.subarray(16, 18))) throw new Error('prefix check failed');
	const literal = readPacket(inner, 18);
	expect(literal.tag).toBe(11);
	const name = literal.body.subarray(2, 2 + literal.body[1]);
	expect({ format: literal.body[0], name: name.toString(), date: literal.body.readUInt32BE(2 + name.length) }).toEqual({
		format: 0x62,
		name: 'clip.mp4',
		date: date.getTime() / 1000,
	});
	const mdc = inner.subarray(literal.end);
	expect(mdc.subarray(0, 2)).toEqual(Buffer.from([0xd3, 0x14]));
	expect(mdc.length).toBe(22);
	expect(mdc.subarray(2).equals(createHash('sha1').update(inner.subarray(0, literal.end + 2)).digest())).toBe(true);
	return literal.body.subarray(2 + name.length + 4);
}

describe('SeipdV1Encryptor (OpenSSL AES-256-CFB on the calling thread)', () => {
	it('writes RFC 4880 §5.13 / §5.14 exactly, for any input split and slice size', async () => {
		const sizes = [0, 1, 15, 16, 17, 31, 32, 33, 4095, 4096, 4097, 65_536 + 5];
		for (let i = 0; i < 12; i++) sizes.push(randomInt(0, 3 * MiB));
		for (const [i, size] of sizes.entries()) {
			const plaintext = randomBytes(size);
			// Slices that are and are not multiples of the AES block; 16-octet ones on small inputs only.
			const sliceBytes = size < 100_000 ? [16, 17, 1000, 64 * KiB, MiB][i % 5] : [1000, 4096, 48_001, 64 * KiB, MiB][i % 5];
			const chunkExponent = [9, 16, 20][i % 3];
			const literal = await openWriterOutput(plaintext, { sessionKey: randomBytes(32), sliceBytes, chunkExponent, seed: i });
			expect({ size, sliceBytes, equal: literal.equals(plaintext) }).toEqual({ size, sliceBytes, equal: true });
		}
	});

	it('the check can fail: opened with another key, the packet does not read back', async () => {
		const plaintext = randomBytes(100_000);
		await expect(openWriterOutput(plaintext, { sessionKey: randomBytes(32), openKey: randomBytes(32) })).rejects.toThrow();
	});

	it('refuses a session key that is not 32 octets and a slice below one block', () => {
		const options = { filename: 'a', date: new Date() };
		expect(() => new seipdStream.SeipdV1Encryptor(randomBytes(16), new Uint8Array(0), options)).toThrow('AES-256 needs a 32-octet session key');
		expect(() => new seipdStream.SeipdV1Encryptor(randomBytes(32), new Uint8Array(0), { ...options, sliceBytes: 8 })).toThrow(
			'sliceBytes must be an integer of at least 16',
		);
	});
});

describe('encrypt (stream, gnupg profile) → native SEIPD v1 writer', () => {
	let ecc: GpgHome;
	let rsa: GpgHome;
	let eccPublic: PublicKey[];
	let eccPrivate: PrivateKey;
	let rsaPrivate: PrivateKey;
	let both: PublicKey[];

	beforeAll(async () => {
		[ecc, rsa] = await Promise.all([makeGpgHome(), makeGpgHome({ keyType: 'rsa3072' })]);
		eccPublic = await readPublicKeys({ armoredKeys: ecc.publicKeyArmored });
		eccPrivate = await readPrivateKey({ armoredKey: ecc.secretKeyArmored });
		rsaPrivate = await readPrivateKey({ armoredKey: rsa.secretKeyArmored });
		both = await readPublicKeys({
			armoredKeys: `${rsa.publicKeyArmored}\n${ecc.publicKeyArmored}`,
		});
	});

	afterAll(async () => {
		await ecc?.cleanup();
		await rsa?.cleanup();
	});

	afterEach(() => jest.restoreAllMocks());

	const sizes = [0, 1, 15, 16, 17, 511, 64 * KiB, 64 * KiB + 1, MiB - 1, MiB, MiB + 1, 3 * MiB + 7];

	it.each(sizes)(
		'%i bytes: gpg, sq, decrypt and decryptToSpool give back the exact bytes',
		async (size) => {
			const spy = jest.spyOn(seipdStream, 'encryptSeipdV1Stream');
			const plaintext = randomBytes(size);
			const result = await encrypt({
				data: choppedStream(plaintext, size),
				recipients: eccPublic,
				filename: 'media.bin',
			});
			expect(spy).toHaveBeenCalledTimes(1);
			expect(result).toMatchObject({
				recipientFingerprints: [ecc.fingerprint],
				profile: 'gnupg',
				armored: false,
				compression: 'none',
			});
			expect(result.ciphertext).toBeInstanceOf(Readable);
			const ciphertext = await collect(result.ciphertext as Readable);

			expect(gpgDecrypt(ecc.home, ciphertext).equals(plaintext)).toBe(true);
			expect(sqDecrypt(ecc.secretKeyArmored, ciphertext).equals(plaintext)).toBe(true);
			const decrypted = await decrypt({ data: ciphertext, decryptionKeys: [eccPrivate] });
			expect(Buffer.from(decrypted.data as Uint8Array).equals(plaintext)).toBe(true);
			expect(decrypted.filename).toBe('media.bin');
			const spool = await decryptToSpool({
				data: Readable.from([ciphertext]),
				decryptionKeys: [eccPrivate],
			});
			try {
				expect(spool.size).toBe(size);
				expect(spool.filename).toBe('media.bin');
				expect((await spool.readAll()).equals(plaintext)).toBe(true);
			} finally {
				await spool.dispose();
			}
		},
	);

	it('a web ReadableStream input takes the native path too', async () => {
		const spy = jest.spyOn(seipdStream, 'encryptSeipdV1Stream');
		const plaintext = randomBytes(200_003);
		const web = Readable.toWeb(
			choppedStream(plaintext, 7),
		) as unknown as ReadableStream<Uint8Array>;
		const result = await encrypt({ data: web, recipients: eccPublic });
		const ciphertext = await collect(result.ciphertext as Readable);
		expect(spy).toHaveBeenCalledTimes(1);
		expect(gpgDecrypt(ecc.home, ciphertext).equals(plaintext)).toBe(true);
	});

	it('two recipients (RSA-3072, cv25519): each decrypts with gpg, sq and lib/pgp', async () => {
		const plaintext = randomBytes(MiB + 333);
		const result = await encrypt({ data: choppedStream(plaintext, 3), recipients: both });
		expect(result.recipientFingerprints).toEqual([rsa.fingerprint, ecc.fingerprint]);
		const ciphertext = await collect(result.ciphertext as Readable);
		for (const home of [rsa, ecc]) {
			expect(gpgDecrypt(home.home, ciphertext).equals(plaintext)).toBe(true);
			expect(sqDecrypt(home.secretKeyArmored, ciphertext).equals(plaintext)).toBe(true);
		}
		for (const key of [rsaPrivate, eccPrivate]) {
			const decrypted = await decrypt({ data: ciphertext, decryptionKeys: [key] });
			expect(Buffer.from(decrypted.data as Uint8Array).equals(plaintext)).toBe(true);
		}
	});

	it('gpg --list-packets: PKESK v3 per recipient, SEIPD with MDC, literal b with name and date', async () => {
		// Whole seconds (the packet stores seconds), after the key's creation.
		const date = new Date(Math.floor(Date.now() / 1000) * 1000 + 60_000);
		const result = await encrypt({
			data: choppedStream(randomBytes(70_000), 1),
			recipients: both,
			filename: 'media.bin',
			date,
		});
		const ciphertext = await collect(result.ciphertext as Readable);
		const listing = gpg(ecc.home, ['--passphrase', '', '--list-packets'], ciphertext).toString();
		expect(listing.match(/^:pubkey enc packet: version 3, /gm)).toHaveLength(2);
		expect(listing).toMatch(
			/ctb=d2 tag=18 .*\n:encrypted data packet:\n\s+length: \d+\n\s+mdc_method: 2$/m,
		);
		expect(listing).toContain(`mode b (62), created ${date.getTime() / 1000}, name="media.bin",`);
		expect(listing).toMatch(/^:literal data packet:/m);
	});

	it('small partial chunks (2^9 bytes): many partial lengths, still read by gpg and sq', async () => {
		const plaintext = randomBytes(100_001);
		const ciphertext = await collect(
			await encryptSeipdV1Stream({
				data: choppedStream(plaintext, 11),
				recipients: eccPublic,
				filename: 'data.bin',
				date: new Date(),
				chunkExponent: 9,
				sliceBytes: 4096,
			}),
		);
		expect(gpgDecrypt(ecc.home, ciphertext).equals(plaintext)).toBe(true);
		expect(sqDecrypt(ecc.secretKeyArmored, ciphertext).equals(plaintext)).toBe(true);
	});

	it('a source error surfaces as an error of the ciphertext stream', async () => {
		let sent = 0;
		const source = new Readable({
			read() {
				if (sent < 3) {
					sent++;
					this.push(randomBytes(300 * KiB));
				} else {
					this.destroy(new Error('disk went away'));
				}
			},
		});
		const result = await encrypt({ data: source, recipients: eccPublic });
		await expect(collect(result.ciphertext as Readable)).rejects.toThrow('disk went away');
	});

	it('a web stream error surfaces too', async () => {
		let pulls = 0;
		const web = new ReadableStream<Uint8Array>({
			pull(controller) {
				if (pulls++ < 2) controller.enqueue(new Uint8Array(randomBytes(100 * KiB)));
				else controller.error(new Error('upstream reset'));
			},
		});
		const result = await encrypt({ data: web, recipients: eccPublic });
		await expect(collect(result.ciphertext as Readable)).rejects.toThrow('upstream reset');
	});

	it('destroying the ciphertext stream destroys the source', async () => {
		// An endless source that delivers asynchronously, like a file or a socket.
		const source = new Readable({
			read() {
				setImmediate(() => this.push(randomBytes(64 * KiB)));
			},
		});
		const result = await encrypt({ data: source, recipients: eccPublic });
		const ciphertext = result.ciphertext as Readable;
		await new Promise<void>((resolve) => ciphertext.once('data', () => resolve()));
		ciphertext.destroy();
		await new Promise((resolve) => setImmediate(resolve));
		expect(source.destroyed).toBe(true);
	});

	it('six streams at once, interleaved on one thread: each decrypts to its own plaintext', async () => {
		const plaintexts = [0, 5, 3 * MiB + 1, MiB, 700_001, 2 * MiB + 15].map((n) => randomBytes(n));
		const ciphertexts = await Promise.all(
			plaintexts.map(async (plaintext, i) => {
				const result = await encrypt({
					data: choppedStream(plaintext, i + 7),
					recipients: eccPublic,
				});
				return collect(result.ciphertext as Readable);
			}),
		);
		for (const [i, ciphertext] of ciphertexts.entries()) {
			expect({ i, equal: gpgDecrypt(ecc.home, ciphertext).equals(plaintexts[i]) }).toEqual({
				i,
				equal: true,
			});
		}
	});

	it('a process that encrypts ends by itself, with the whole ciphertext written', async () => {
		const work = mkdtempSync(join(tmpdir(), 'seipd-exit-'));
		try {
			const plaintext = randomBytes(5 * MiB + 3);
			writeFileSync(join(work, 'in.bin'), plaintext);
			writeFileSync(join(work, 'key.asc'), ecc.publicKeyArmored);
			const started = Date.now();
			const stdout = execFileSync(
				join(__dirname, '../../../node_modules/.bin/tsx'),
				[
					join(__dirname, 'encrypt-exit-child.ts'),
					join(work, 'in.bin'),
					join(work, 'key.asc'),
					join(work, 'out.pgp'),
				],
				{ timeout: 60_000 },
			).toString();
			expect(stdout).toBe('written\n');
			expect(Date.now() - started).toBeLessThan(60_000);
			expect(gpgDecrypt(ecc.home, readFileSync(join(work, 'out.pgp'))).equals(plaintext)).toBe(
				true,
			);
		} finally {
			rmSync(work, { recursive: true, force: true });
		}
	});

	it('buffers, armor, signing, compression and the rfc9580 profile stay on OpenPGP.js', async () => {
		const spy = jest.spyOn(seipdStream, 'encryptSeipdV1Stream');
		const plaintext = randomBytes(5000);
		await encrypt({ data: plaintext, recipients: eccPublic });
		const armored = await encrypt({
			data: choppedStream(plaintext),
			recipients: eccPublic,
			armor: true,
		});
		await collect(armored.ciphertext as Readable);
		const signed = await encrypt({
			data: choppedStream(plaintext),
			recipients: eccPublic,
			signingKey: eccPrivate,
		});
		await collect(signed.ciphertext as Readable);
		const zlib = await encrypt({
			data: choppedStream(plaintext),
			recipients: eccPublic,
			compression: 'zlib',
		});
		expect(zlib.compression).toBe('zlib');
		await collect(zlib.ciphertext as Readable);
		const modern = await encrypt({
			data: choppedStream(plaintext),
			recipients: eccPublic,
			profile: 'rfc9580',
		});
		await collect(modern.ciphertext as Readable);
		expect(spy).not.toHaveBeenCalled();
	});

	it('recipient checks run first: an expired encryption subkey is refused for stream input', async () => {
		const spy = jest.spyOn(seipdStream, 'encryptSeipdV1Stream');
		const inTenDays = new Date(Date.now() + 10 * 86_400_000);
		const short = await makeGpgHome({ encryptionSubkeyExpiry: '1d' });
		try {
			const keys = await readPublicKeys({ armoredKeys: short.publicKeyArmored });
			const attempt = encrypt({
				data: choppedStream(randomBytes(10)),
				recipients: keys,
				date: inTenDays,
			});
			await expect(attempt).rejects.toBeInstanceOf(PgpError);
			await expect(attempt).rejects.toMatchObject({
				code: 'UNUSABLE_KEY',
				fingerprint: short.fingerprint,
			});
			expect(spy).not.toHaveBeenCalled();
		} finally {
			await short.cleanup();
		}
	});
});

describe('SeipdV1Decryptor (the reader of the tolerant second pass)', () => {
	/** SEIPD v1 encrypted data (after the version octet) of `packets`: prefix, packets, MDC (RFC 4880 §5.13, §5.14). */
	function seipdBody(sessionKey: Buffer, packets: Buffer): Buffer {
		const prefix = randomBytes(18);
		prefix[16] = prefix[14];
		prefix[17] = prefix[15];
		const hashed = Buffer.concat([prefix, packets, Buffer.from([0xd3, 0x14])]);
		const plaintext = Buffer.concat([hashed, createHash('sha1').update(hashed).digest()]);
		const cipher = createCipheriv('aes-256-cfb', sessionKey, Buffer.alloc(16));
		return Buffer.concat([cipher.update(plaintext), cipher.final()]);
	}

	async function run(body: Buffer, sessionKey: Buffer): Promise<Buffer> {
		const decryptor = new seipdStream.SeipdV1Decryptor('aes-256-cfb', sessionKey, () => new Error('Modification detected'));
		const pieces: Buffer[] = [];
		for (let offset = 0; offset < body.length; ) {
			const n = randomInt(1, 40);
			pieces.push(body.subarray(offset, offset + n));
			offset += n;
		}
		return await collect(Readable.from(pieces).pipe(decryptor));
	}

	it('gives back the packets, in any piece sizes, and fails a modified, truncated or MDC-less body', async () => {
		const sessionKey = randomBytes(32);
		for (const size of [0, 1, 21, 22, 23, 100_000]) {
			const packets = randomBytes(size);
			expect((await run(seipdBody(sessionKey, packets), sessionKey)).equals(packets)).toBe(true);
		}
		const body = seipdBody(sessionKey, randomBytes(5000));
		const modified = Buffer.from(body);
		modified[2000] ^= 0x01;
		await expect(run(modified, sessionKey)).rejects.toThrow('Modification detected');
		await expect(run(body.subarray(0, body.length - 1), sessionKey)).rejects.toThrow('Modification detected');
		await expect(run(body.subarray(0, 30), sessionKey)).rejects.toThrow('Modification detected');
		await expect(run(body, randomBytes(32))).rejects.toThrow('Modification detected');
	});
});
