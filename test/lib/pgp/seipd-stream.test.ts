/**
 * The native SEIPD v1 stream writer (lib/pgp/seipd-stream.ts) and the `encrypt` path that uses it:
 * the CFB-from-CBC core (on its worker thread) against Node's aes-256-cfb, byte-exact decryption by
 * gpg 2.2, sq 0.27 and lib/pgp (`decrypt`, `decryptToSpool`) at sizes around block, partial-chunk
 * and batch boundaries, several recipients, streams sharing the worker, a process ending by itself,
 * packet layout, source errors, and which inputs take the native path.
 * Keys are generated at test time.
 */
import { execFileSync } from 'node:child_process';
import { createCipheriv, createHash, randomBytes, randomInt } from 'node:crypto';
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
import { cfbWorker, terminateCfbWorker } from '../../../lib/pgp/aes-cfb';
import { Aes256CfbEncryptor, encryptSeipdV1Stream } from '../../../lib/pgp/seipd-stream';
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

/** The whole CFB output of the core for `data` fed in `pieces` sizes. */
async function coreEncrypt(
	key: Buffer,
	data: Buffer,
	batchBytes: number,
	maxPiece: number,
): Promise<Buffer> {
	const out: Buffer[] = [];
	const encryptor = new Aes256CfbEncryptor(key, { batchBytes, onCiphertext: (c) => out.push(c) });
	let offset = 0;
	let piece = 0;
	while (offset < data.length) {
		const n = Math.min(data.length - offset, randomInt(1, maxPiece + 1));
		// Copies at odd offsets inside a bigger buffer: pieces whose byteOffset is not 4-aligned.
		const holder = Buffer.alloc(n + 3);
		data.copy(holder, 3, offset, offset + n);
		encryptor.write(holder.subarray(3));
		// The holder is reused at once: write() must have copied it.
		holder.fill(0xa5);
		offset += n;
		// Sometimes write on while jobs are queued, sometimes wait as a stream does.
		if (piece++ % 3 !== 2) await encryptor.ready();
	}
	await encryptor.end();
	return Buffer.concat(out);
}

describe('Aes256CfbEncryptor (CFB computed from CBC)', () => {
	it('equals Node aes-256-cfb (IV 0) on random sizes, splits and batch sizes', async () => {
		const sizes = [0, 1, 15, 16, 17, 31, 32, 33, 4095, 4096, 4097, 65_536 + 5];
		for (let i = 0; i < 24; i++) sizes.push(randomInt(0, 3 * MiB));
		for (const [i, size] of sizes.entries()) {
			const key = randomBytes(32);
			const data = randomBytes(size);
			// Tiny batches (one job per 16 or 48 octets) only on small inputs (slow otherwise).
			const batch =
				size < 100_000
					? [16, 48, 1000, 64 * KiB, MiB][i % 5]
					: [1008, 4096, 48_000, 64 * KiB, MiB][i % 5];
			const want = createCipheriv('aes-256-cfb', key, Buffer.alloc(16)).update(data);
			// 1-byte pieces only on small inputs (slow otherwise).
			const maxPiece =
				size < 100_000 ? [1, 17, 4096, 300_000][i % 4] : [300_000, 17, 4096, 65_536][i % 4];
			const got = await coreEncrypt(key, data, batch, maxPiece);
			expect({ size, batch, equal: got.equals(want) }).toEqual({ size, batch, equal: true });
		}
	});

	it('differs from CFB when the key differs (the comparison can fail)', async () => {
		const data = randomBytes(100_000);
		const want = createCipheriv('aes-256-cfb', randomBytes(32), Buffer.alloc(16)).update(data);
		expect((await coreEncrypt(randomBytes(32), data, MiB, 50_000)).equals(want)).toBe(false);
	});

	it('refuses a key that is not 32 bytes', () => {
		expect(
			() => new Aes256CfbEncryptor(randomBytes(16), { onCiphertext: () => undefined }),
		).toThrow('AES-256 needs a 32-octet key');
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
				batchBytes: 4096,
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

	it('six streams at once share the AES worker thread: each decrypts to its own plaintext', async () => {
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

	it('the AES worker thread ends when idle, and the next stream starts a new one', async () => {
		cfbWorker({ idleMs: 50 });
		try {
			const first = randomBytes(300_000);
			const one = await encrypt({ data: choppedStream(first), recipients: eccPublic });
			const ciphertextOne = await collect(one.ciphertext as Readable);
			expect(cfbWorker().running).toBe(true);
			await new Promise((resolve) => setTimeout(resolve, 400));
			expect(cfbWorker().running).toBe(false);
			const second = randomBytes(200_001);
			const two = await encrypt({ data: choppedStream(second), recipients: eccPublic });
			const ciphertextTwo = await collect(two.ciphertext as Readable);
			expect(gpgDecrypt(ecc.home, ciphertextOne).equals(first)).toBe(true);
			expect(gpgDecrypt(ecc.home, ciphertextTwo).equals(second)).toBe(true);
		} finally {
			cfbWorker({ idleMs: 30_000 });
		}
	});

	it('the AES worker dying mid-stream fails the ciphertext stream (nothing cut short silently)', async () => {
		const source = new Readable({
			read() {
				setImmediate(() => this.push(randomBytes(256 * KiB)));
			},
		});
		const result = await encrypt({ data: source, recipients: eccPublic });
		const ciphertext = result.ciphertext as Readable;
		const failed = new Promise<Error>((resolve) => ciphertext.once('error', resolve));
		await new Promise<void>((resolve) => ciphertext.once('data', () => resolve()));
		ciphertext.resume();
		await terminateCfbWorker();
		expect((await failed).message).toMatch(/AES-CFB worker thread exited/);
		expect(cfbWorker().running).toBe(false);
		// The next stream starts a new worker.
		const plaintext = randomBytes(100_000);
		const again = await encrypt({ data: choppedStream(plaintext), recipients: eccPublic });
		expect(
			gpgDecrypt(ecc.home, await collect(again.ciphertext as Readable)).equals(plaintext),
		).toBe(true);
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
