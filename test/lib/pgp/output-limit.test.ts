/**
 * Output limits of decryption (lib/pgp/output-limit.ts) on compression bombs built in the test
 * (test/helpers/bombs.ts) and on plain large messages: `decrypt` and `decryptToSpool`, the size
 * limit and the compression ratio, the tolerant second pass for bytes after the deflate stream (it
 * decrypts, and counts and stops like the first), the input stream's own error passed through.
 */
import { randomBytes } from 'node:crypto';
import { mkdtempSync, readdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Readable } from 'node:stream';

import {
	COMPRESSION_RATIO_FLOOR,
	DEFAULT_MAX_DECRYPTED_BYTES,
	decrypt,
	decryptToSpool,
	encrypt,
	readPrivateKey,
	readPublicKeys,
	type PrivateKey,
	type PublicKey,
} from '../../../lib/pgp';
import { pgpRejection } from '../../helpers/pgp-error';
import { OutputMeter } from '../../../lib/pgp/output-limit';
import { bombMessage } from '../../helpers/bombs';
import { gpg, makeGpgHome, type GpgHome } from '../../helpers/gpg';

const MIB = 1024 * 1024;

describe('OutputMeter', () => {
	it('defaults, the ratio past its floor, Infinity, and no zero or negative limits', () => {
		const meter = new OutputMeter({});
		expect(meter.maxBytes).toBe(DEFAULT_MAX_DECRYPTED_BYTES);
		meter.messageBytes = 1000;
		expect(meter.allowed()).toBe(COMPRESSION_RATIO_FLOOR);
		meter.messageBytes = 1024 * 1024;
		expect(meter.allowed()).toBe(100 * MIB);
		expect(() => meter.check(100 * MIB)).not.toThrow();
		expect(() => meter.check(100 * MIB + 1)).toThrow('more than 100 times the size of the message');
		meter.messageBytes = 10 * MIB;
		expect(meter.error().limit).toBe('size');
		expect(() => meter.check(DEFAULT_MAX_DECRYPTED_BYTES + 1)).toThrow('Decryption stopped: the plaintext exceeds the limit of 256 MiB.');
		expect(() => meter.check(DEFAULT_MAX_DECRYPTED_BYTES + 10, 10)).not.toThrow();
		const open = new OutputMeter({ maxDecryptedBytes: Infinity, maxCompressionRatio: Infinity });
		expect(open.allowed()).toBe(Infinity);
		expect(() => new OutputMeter({ maxDecryptedBytes: 0 })).toThrow(RangeError);
		expect(() => new OutputMeter({ maxCompressionRatio: -1 })).toThrow(RangeError);
	});
});

describe('decrypt and decryptToSpool: output limits', () => {
	let home: GpgHome;
	let key: PrivateKey;
	let recipient: PublicKey;
	let spoolParent: string;
	const leftovers = () => readdirSync(spoolParent);

	beforeAll(async () => {
		home = await makeGpgHome();
		key = await readPrivateKey({ armoredKey: home.secretKeyArmored });
		[recipient] = await readPublicKeys({ armoredKeys: home.publicKeyArmored });
		spoolParent = mkdtempSync(join(tmpdir(), 'output-limit-'));
	});
	afterAll(async () => {
		await home?.cleanup();
		rmSync(spoolParent, { recursive: true, force: true });
	});

	it.each(['zip', 'zlib'] as const)('%s bomb of 64 MiB: refused for its ratio by default, for its size when the ratio is off, decrypted within both', async (algorithm) => {
		const bomb = await bombMessage({ inflatedSize: 64 * MIB, algorithm, recipient });
		for (const run of [
			(limits: object) => decrypt({ data: bomb, decryptionKeys: [key], ...limits }),
			(limits: object) => decryptToSpool({ data: Readable.from([bomb]), decryptionKeys: [key], tempDirectory: spoolParent, ...limits }),
		]) {
			expect(await pgpRejection(run({}))).toMatchObject({ code: 'OUTPUT_LIMIT', limit: 'ratio' });
			expect(await pgpRejection(run({ maxCompressionRatio: Infinity, maxDecryptedBytes: 32 * MIB }))).toMatchObject({
				code: 'OUTPUT_LIMIT',
				limit: 'size',
				message: 'Decryption stopped: the plaintext exceeds the limit of 32 MiB.',
			});
			expect(leftovers()).toEqual([]);
		}
		const plain = await decrypt({ data: bomb, decryptionKeys: [key], maxCompressionRatio: 2000 });
		expect(plain.data.length).toBe(64 * MIB);
		expect(Buffer.from(plain.data).every((byte) => byte === 0)).toBe(true);
	});

	it('a heartbeat log of 16 MiB (one line a second, past the floor of the ratio), compressed by gpg (zlib -9, ratio about 25): decrypted with the defaults', async () => {
		const lines: string[] = [];
		const start = Date.parse('2026-05-01T00:00:00Z');
		for (let n = 0; lines.length * 60 < 16 * MIB; n++) lines.push(`${new Date(start + n * 1000).toISOString()} INFO worker-3 heartbeat ok queue=0\n`);
		const text = Buffer.from(lines.join(''));
		const ciphertext = gpg(home.home, ['--trust-model', 'always', '--compress-algo', 'zlib', '--compress-level', '9', '--recipient', home.fingerprint, '--encrypt'], text);
		const ratio = text.length / ciphertext.length;
		process.stdout.write(`gpg zlib -9 log: ratio ${ratio.toFixed(1)}\n`);
		expect(ratio).toBeGreaterThan(15);
		expect(ratio).toBeLessThan(100);
		const result = await decryptToSpool({ data: Readable.from([ciphertext]), decryptionKeys: [key], tempDirectory: spoolParent });
		expect(result.size).toBe(text.length);
		await result.dispose();
	});

	it('uncompressed plaintext counts too: a 3 MiB message with a 2 MiB limit is refused by both', async () => {
		const { ciphertext } = await encrypt({ data: randomBytes(3 * MIB), recipients: [recipient] });
		const bytes = ciphertext as Uint8Array;
		expect(await pgpRejection(decrypt({ data: bytes, decryptionKeys: [key], maxDecryptedBytes: 2 * MIB }))).toMatchObject({ code: 'OUTPUT_LIMIT', limit: 'size' });
		const spooled = await pgpRejection(decryptToSpool({ data: Readable.from([bytes]), decryptionKeys: [key], maxDecryptedBytes: 2 * MIB, tempDirectory: spoolParent }));
		expect(spooled).toMatchObject({ code: 'OUTPUT_LIMIT', limit: 'size' });
		expect(leftovers()).toEqual([]);
	});

	it.each(['zip', 'zlib'] as const)('%s with bytes after the deflate stream: the second pass decrypts it, streamed, with the same limits', async (algorithm) => {
		const junk = await bombMessage({ inflatedSize: 3 * MIB + 17, algorithm, trailingJunk: 9, recipient });
		const plain = await decrypt({ data: junk, decryptionKeys: [key] });
		expect(plain.data.length).toBe(3 * MIB + 17);
		const spooled = await decryptToSpool({ data: Readable.from([junk]), reread: async () => Readable.from([junk]), decryptionKeys: [key], tempDirectory: spoolParent });
		expect(spooled.size).toBe(3 * MIB + 17);
		await spooled.dispose();
		// the first pass stops on the junk only after all the output: a second read of other bytes
		// (an object replaced in between) is counted and stopped on its own
		const bigger = await bombMessage({ inflatedSize: 200 * MIB, algorithm, trailingJunk: 9, recipient });
		const started = Date.now();
		const error = await pgpRejection(
			decryptToSpool({ data: Readable.from([junk]), reread: async () => Readable.from([bigger]), decryptionKeys: [key], maxDecryptedBytes: 4 * MIB, tempDirectory: spoolParent }),
		);
		expect(error).toMatchObject({ code: 'OUTPUT_LIMIT', limit: 'size' });
		expect(Date.now() - started).toBeLessThan(2000);
		expect(leftovers()).toEqual([]);
		// a modified message fails its MDC in the second pass
		const tampered = Buffer.from(junk);
		tampered[tampered.length - 30] ^= 0x01;
		expect(await pgpRejection(decrypt({ data: tampered, decryptionKeys: [key] }))).toMatchObject({ code: 'INTEGRITY' });
		expect(await pgpRejection(decryptToSpool({ data: tampered, decryptionKeys: [key], tempDirectory: spoolParent }))).toMatchObject({ code: 'INTEGRITY' });
		expect(leftovers()).toEqual([]);
	});

	it("an error of the input stream itself is thrown as it is, not as a decryption error", async () => {
		const { ciphertext } = await encrypt({ data: randomBytes(300_000), recipients: [recipient] });
		const bytes = Buffer.from(ciphertext as Uint8Array);
		const broken = new Error('store read failed');
		const input = Readable.from(
			(async function* () {
				yield bytes.subarray(0, 100_000);
				throw broken;
			})(),
		);
		await expect(decryptToSpool({ data: input, decryptionKeys: [key], tempDirectory: spoolParent })).rejects.toBe(broken);
		expect(leftovers()).toEqual([]);
	});
});
