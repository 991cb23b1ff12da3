/**
 * decryptToSpool(): streaming decrypt with bounded memory that releases plaintext only after the
 * MDC / AEAD tags (and the signature, with expectSigned) were checked; compression-bomb guard;
 * no temporary file left behind, whatever happens.
 */
import { execFileSync } from 'node:child_process';
import { createHash, randomBytes } from 'node:crypto';
import { mkdtempSync, readFileSync, readdirSync, readlinkSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Readable } from 'node:stream';

import {
	decryptToSpool,
	readPrivateKey,
	readPublicKeys,
	type PrivateKey,
	type PublicKey,
} from '../../../lib/pgp';
import { pgpRejection } from '../../helpers/pgp-error';
import { type GpgHome, gpg, gpgEncrypt, gpgRaw, makeGpgHome, sqEncrypt } from '../../helpers/gpg';

/** A Node stream of `bytes` in 16 KiB chunks, as n8n's getBinaryStream gives. */
function streamOf(bytes: Buffer): Readable {
	return Readable.from(
		Array.from({ length: Math.ceil(bytes.length / 16384) }, (_v, i) =>
			bytes.subarray(i * 16384, (i + 1) * 16384),
		),
	);
}

describe('decryptToSpool', () => {
	let home: GpgHome;
	let other: GpgHome;
	let key: PrivateKey;
	let publicKeys: PublicKey[];
	let otherPublic: PublicKey[];
	let spoolParent: string;
	const plaintext = Buffer.concat([Buffer.from('{"big":true}\n'), randomBytes(5 * 1024 * 1024)]);

	const leftovers = () => readdirSync(spoolParent);

	beforeAll(async () => {
		[home, other] = await Promise.all([
			makeGpgHome({ passphrase: 'test only passphrase' }),
			makeGpgHome({ keyType: 'rsa3072' }),
		]);
		key = await readPrivateKey({
			armoredKey: home.secretKeyArmored,
			passphrase: 'test only passphrase',
		});
		publicKeys = await readPublicKeys({ armoredKeys: home.publicKeyArmored });
		otherPublic = await readPublicKeys({ armoredKeys: other.publicKeyArmored });
	});

	beforeEach(() => {
		spoolParent = mkdtempSync(join(tmpdir(), 'spool-parent-'));
	});

	afterEach(() => {
		rmSync(spoolParent, { recursive: true, force: true });
	});

	afterAll(async () => {
		await home?.cleanup();
		await other?.cleanup();
	});

	it.each([
		['binary', {}],
		['armored', { armor: true }],
		['zlib', { compressAlgo: 'zlib' as const }],
	])(
		'gpg %s, as a Node stream: exact bytes; spool encrypted on disk; removed by dispose',
		async (_name, extra) => {
			const ciphertext = gpgEncrypt(home.home, plaintext, {
				recipients: [home.fingerprint],
				compressAlgo: 'none',
				...extra,
			});
			const result = await decryptToSpool({
				data: streamOf(ciphertext),
				decryptionKeys: [key],
				tempDirectory: spoolParent,
			});
			try {
				expect(result.size).toBe(plaintext.length);
				expect((await result.readAll()).equals(plaintext)).toBe(true);
				expect((await result.readPrefix(13)).toString()).toBe('{"big":true}\n');
				// the spool on disk holds ciphertext of the same length, not the plaintext
				const [directory] = leftovers();
				expect(directory).toMatch(/^openpgp-decrypt-/);
				const raw = readFileSync(join(spoolParent, directory, 'plaintext.spool'));
				expect(raw.length).toBe(plaintext.length);
				expect(raw.subarray(0, 4096).equals(plaintext.subarray(0, 4096))).toBe(false);
				expect(raw.includes(plaintext.subarray(100_000, 100_032))).toBe(false);
			} finally {
				await result.dispose();
			}
			expect(leftovers()).toEqual([]);
			await result.dispose(); // idempotent
		},
	);

	it('a reader that stops early (destroys the stream) closes the spool file', async () => {
		const ciphertext = gpgEncrypt(home.home, plaintext, { recipients: [home.fingerprint], compressAlgo: 'none' });
		const result = await decryptToSpool({ data: streamOf(ciphertext), decryptionKeys: [key], tempDirectory: spoolParent });
		/** Open descriptors of this process on a spool file (Linux: /proc/self/fd). */
		const openSpools = () =>
			readdirSync('/proc/self/fd').filter((fd) => {
				try {
					return readlinkSync(join('/proc/self/fd', fd)).includes('plaintext.spool');
				} catch {
					return false; // closed meanwhile
				}
			}).length;
		try {
			const stream = result.createReadStream();
			await new Promise<void>((resolve) => stream.once('data', () => resolve()));
			expect(openSpools()).toBe(1);
			stream.destroy();
			await new Promise((resolve) => setTimeout(resolve, 50));
			expect(openSpools()).toBe(0);
		} finally {
			await result.dispose();
		}
	});

	it('tampered stream: INTEGRITY error, no result, no spool left', async () => {
		const ciphertext = gpgEncrypt(home.home, plaintext, {
			recipients: [home.fingerprint],
			compressAlgo: 'none',
		});
		for (const offset of [ciphertext.length >> 1, ciphertext.length - 30]) {
			const tampered = Buffer.from(ciphertext);
			tampered[offset] ^= 0x01;
			const error = await pgpRejection(
				decryptToSpool({
					data: streamOf(tampered),
					decryptionKeys: [key],
					tempDirectory: spoolParent,
				}),
			);
			expect(error.code).toBe('INTEGRITY');
			expect(error.message).toMatch(
				/^The message failed its integrity check \(modified or truncated\)/,
			);
			expect(leftovers()).toEqual([]);
		}
	});

	it('truncated stream: refused, no spool left', async () => {
		const ciphertext = gpgEncrypt(home.home, plaintext, {
			recipients: [home.fingerprint],
			compressAlgo: 'none',
		});
		const error = await pgpRejection(
			decryptToSpool({
				data: streamOf(ciphertext.subarray(0, ciphertext.length - 1000)),
				decryptionKeys: [key],
				tempDirectory: spoolParent,
			}),
		);
		expect(['INTEGRITY', 'OPERATION']).toContain(error.code);
		expect(leftovers()).toEqual([]);
	});

	it('expectSigned on a stream: valid signer reported; unknown signer refused with nothing left', async () => {
		const ciphertext = gpgEncrypt(home.home, plaintext, {
			recipients: [home.fingerprint],
			signWith: home.fingerprint,
			passphrase: 'test only passphrase',
		});
		const ok = await decryptToSpool({
			data: streamOf(ciphertext),
			decryptionKeys: [key],
			verificationKeys: publicKeys,
			expectSigned: true,
			tempDirectory: spoolParent,
		});
		try {
			expect(ok.signatures).toHaveLength(1);
			expect(ok.signatures[0]).toMatchObject({ fingerprint: home.fingerprint, valid: true });
			expect(
				createHash('sha256')
					.update(await ok.readAll())
					.digest('hex'),
			).toBe(createHash('sha256').update(plaintext).digest('hex'));
		} finally {
			await ok.dispose();
		}
		const error = await pgpRejection(
			decryptToSpool({
				data: streamOf(ciphertext),
				decryptionKeys: [key],
				verificationKeys: otherPublic,
				expectSigned: true,
				tempDirectory: spoolParent,
			}),
		);
		expect(error.code).toBe('SIGNATURE');
		expect(error.message).toMatch(
			/^The message is signed by key ID [0-9A-F]{16}, which is not among the verification keys\.$/,
		);
		expect(leftovers()).toEqual([]);
	});

	it('no-MDC message (gpg --rfc2440, 64 MiB): refused at once, before the data is read', async () => {
		const rsa = other; // RSA-3072: --rfc2440 accepts RSA recipients
		const rsaKey = await readPrivateKey({ armoredKey: rsa.secretKeyArmored });
		const big = Buffer.alloc(64 * 1024 * 1024, 0x61);
		const noMdc = gpg(
			rsa.home,
			['--trust-model', 'always', '--rfc2440', '--compress-algo', 'none'].concat([
				'--cipher-algo',
				'AES256',
				'--recipient',
				rsa.fingerprint,
				'--encrypt',
			]),
			big,
		);
		// gpg itself refuses to decrypt it; its packet listing shows tag 9 without an MDC method
		const listing = gpgRaw(rsa.home, ['--list-packets'], noMdc).stdout.toString();
		expect(listing).toContain(':encrypted data packet:');
		expect(listing).not.toContain('mdc_method');
		const input = streamOf(noMdc);
		const started = Date.now();
		const error = await pgpRejection(
			decryptToSpool({ data: input, decryptionKeys: [rsaKey], tempDirectory: spoolParent }),
		);
		expect(Date.now() - started).toBeLessThan(5000);
		expect(error.code).toBe('INTEGRITY');
		expect(error.message).toBe(
			'The message has no integrity protection (no MDC) and is refused: Message is not authenticated.',
		);
		expect(input.readableEnded).toBe(false);
		expect(leftovers()).toEqual([]);
	});

	it('not for our key: NOT_FOR_US before anything is spooled; the input stream is closed', async () => {
		const ciphertext = gpgEncrypt(other.home, plaintext, {
			recipients: [other.fingerprint],
			compressAlgo: 'none',
		});
		const input = streamOf(ciphertext);
		const error = await pgpRejection(
			decryptToSpool({ data: input, decryptionKeys: [key], tempDirectory: spoolParent }),
		);
		expect(error.code).toBe('NOT_FOR_US');
		expect(leftovers()).toEqual([]);
		// stopped early: the rest of the input is not read, and the stream (a file handle in
		// n8n's binary store) is destroyed rather than left open
		expect(input.destroyed).toBe(true);
		expect(input.readableEnded).toBe(false);
	});

	it.each(['zlib', 'zip', 'bzip2'] as const)(
		'%s compression bomb (gpg --compress-level 9, 64 MiB of zeros): refused by maxDecryptedBytes and by the ratio',
		async (compressAlgo) => {
			const zeros = Buffer.alloc(64 * 1024 * 1024);
			const args = ['--trust-model', 'always', '--compress-level', '9'];
			args.push('--compress-algo', compressAlgo, '--recipient', home.fingerprint, '--encrypt');
			const bomb = gpg(home.home, args, zeros);
			expect(bomb.length).toBeLessThan(zeros.length / 500);
			const error = await pgpRejection(
				decryptToSpool({
					data: streamOf(bomb),
					decryptionKeys: [key],
					maxDecryptedBytes: 1024 * 1024,
					tempDirectory: spoolParent,
				}),
			);
			expect(error.code).toBe('OUTPUT_LIMIT');
			expect(error.limit).toBe('size');
			expect(error.message).toBe('Decryption stopped: the plaintext exceeds the limit of 1 MiB.');
			expect(leftovers()).toEqual([]);
			// by default: refused for its compression ratio (800 and more), past 8 MiB
			const ratio = await pgpRejection(decryptToSpool({ data: streamOf(bomb), decryptionKeys: [key], tempDirectory: spoolParent }));
			expect(ratio.code).toBe('OUTPUT_LIMIT');
			expect(ratio.limit).toBe('ratio');
			expect(ratio.message).toBe('Decryption stopped: the plaintext grew past 8 MiB to more than 100 times the size of the message, as a compression bomb does.');
			expect(leftovers()).toEqual([]);
			// under the limits it decrypts
			const ok = await decryptToSpool({
				data: streamOf(bomb),
				decryptionKeys: [key],
				maxDecryptedBytes: 65 * 1024 * 1024,
				maxCompressionRatio: Infinity,
				tempDirectory: spoolParent,
			});
			expect(ok.size).toBe(zeros.length);
			await ok.dispose();
		},
	);

	it('sq ZIP packets (bytes after the deflate end): second streamed pass with reread, else a clear error', async () => {
		const small = plaintext.subarray(0, 200_000);
		const binary = sqEncrypt(home.publicKeyArmored, small, { binary: true });
		const ok = await decryptToSpool({
			data: streamOf(binary),
			decryptionKeys: [key],
			reread: async () => binary,
			tempDirectory: spoolParent,
		});
		expect((await ok.readAll()).equals(small)).toBe(true);
		await ok.dispose();
		// bytes in: reread is implicit
		const fromBytes = await decryptToSpool({
			data: binary,
			decryptionKeys: [key],
			tempDirectory: spoolParent,
		});
		expect((await fromBytes.readAll()).equals(small)).toBe(true);
		await fromBytes.dispose();
		expect(leftovers()).toEqual([]);
	});

	it('armored string input (JSON field) and empty input', async () => {
		const armored = gpgEncrypt(home.home, 'hello', { recipients: [home.fingerprint], armor: true });
		const result = await decryptToSpool({
			data: armored.toString('utf8'),
			decryptionKeys: [key],
			tempDirectory: spoolParent,
		});
		expect((await result.readAll()).toString()).toBe('hello');
		await result.dispose();
		const error = await pgpRejection(
			decryptToSpool({
				data: Readable.from([]),
				decryptionKeys: [key],
				tempDirectory: spoolParent,
			}),
		);
		expect(error.message).toBe('The input is empty, not an OpenPGP message.');
	});

	it('200 MiB stream: peak RSS stays within 200 MB of the baseline; spool removed (child process)', async () => {
		const work = mkdtempSync(join(tmpdir(), 'rss-'));
		try {
			const source = join(work, 'plain');
			const random = randomBytes(1024 * 1024);
			const hash = createHash('sha256');
			const parts: Buffer[] = [];
			for (let i = 0; i < 200; i++) {
				// 200 distinct MiB without holding 200 MiB of fresh randomness
				const part = Buffer.from(random);
				part.writeUInt32BE(i, 0);
				parts.push(part);
				hash.update(part);
			}
			writeFileSync(source, Buffer.concat(parts));
			parts.length = 0;
			const ciphertextFile = join(work, 'ct.pgp');
			gpg(home.home, [
				'--trust-model',
				'always',
				'--compress-algo',
				'none',
				'--recipient',
				home.fingerprint,
				'--output',
				ciphertextFile,
				'--encrypt',
				source,
			]);
			rmSync(source);
			const keyFile = join(work, 'key.asc');
			writeFileSync(keyFile, key.armor());
			const spools = join(work, 'spools');
			execFileSync('mkdir', [spools]);
			const line = execFileSync(
				join(__dirname, '../../../node_modules/.bin/tsx'),
				[join(__dirname, 'decrypt-rss-child.ts'), ciphertextFile, keyFile, 'stream', spools],
				{ maxBuffer: 1 << 20 },
			).toString();
			const report = JSON.parse(line) as {
				baseline: number;
				peak: number;
				size: number;
				sha256: string;
				seconds: number;
				leftovers: string[];
				error?: string;
			};
			const growthMb = (report.peak - report.baseline) / 1e6;
			process.stdout.write(
				`streaming decrypt 200 MiB: ${report.seconds.toFixed(1)} s, baseline ${(report.baseline / 1e6).toFixed(0)} MB, peak ${(report.peak / 1e6).toFixed(0)} MB (+${growthMb.toFixed(0)} MB)\n`,
			);
			expect(report.error).toBeUndefined();
			expect(report.size).toBe(200 * 1024 * 1024);
			expect(report.sha256).toBe(hash.digest('hex'));
			expect(report.leftovers).toEqual([]);
			expect(readdirSync(spools)).toEqual([]);
			// The bound leaves room for V8 freeing buffers later when it shares the CPU; buffering the
			// whole message would pass it by far (figures: docs/OPENPGP.md §4).
			expect(growthMb).toBeLessThanOrEqual(200);
		} finally {
			rmSync(work, { recursive: true, force: true });
		}
	}, 300_000);
});
