/**
 * OpenPGP node, Decrypt of id-backed binaries (filesystem/S3 binary mode): streamed through
 * getBinaryStream into an encrypted spool; output only after authentication; spool removed.
 */
import { randomBytes } from 'node:crypto';
import { mkdtempSync, readdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

import { OpenPgp } from '../../../nodes/OpenPgp/OpenPgp.node';
import { binaryBytes, type ExecuteContextOptions, runNode } from '../../helpers/execute-context';
import { type GpgHome, gpgEncrypt, makeGpgHome, sqEncrypt } from '../../helpers/gpg';

const runOpenPgp = async (options: Omit<ExecuteContextOptions, 'nodeType'>) => await runNode(new OpenPgp(), options);

describe('OpenPGP node: Decrypt, streamed', () => {
	let me: GpgHome;
	let credentials: Record<string, Record<string, string>>;
	let spoolParent: string;
	const savedTmp = process.env.TMPDIR;

	const storedItem = (fileName = 'photo.jpg.gpg') => ({
		json: { id: 1 },
		binary: {
			data: {
				id: 'filesystem-v2:ct',
				data: 'filesystem-v2',
				mimeType: 'application/pgp-encrypted',
				fileName,
			},
		},
	});

	beforeAll(async () => {
		me = await makeGpgHome();
		credentials = {
			openPgpPrivateKeyApi: { privateKey: me.secretKeyArmored, passphrase: '' },
		};
	});

	beforeEach(() => {
		// os.tmpdir() follows TMPDIR: spools of this test land in a folder of its own.
		spoolParent = mkdtempSync(join(tmpdir(), 'node-spool-'));
		process.env.TMPDIR = spoolParent;
	});

	afterEach(() => {
		if (savedTmp === undefined) delete process.env.TMPDIR;
		else process.env.TMPDIR = savedTmp;
		rmSync(spoolParent, { recursive: true, force: true });
	});

	afterAll(async () => me?.cleanup());

	it('id-backed binary is streamed (no whole-buffer read), plaintext output, spool removed', async () => {
		const file = randomBytes(2 * 1024 * 1024 + 5);
		const ciphertext = gpgEncrypt(me.home, file, { recipients: [me.fingerprint] });
		const { output, stats } = await runOpenPgp({
			parameters: { operation: 'decrypt' },
			items: [storedItem()],
			credentials,
			binaryStore: { 'filesystem-v2:ct': ciphertext },
		});
		expect(stats.getBinaryStreamCalls).toBe(1);
		expect(stats.getBinaryDataBufferCalls).toBe(0);
		expect(binaryBytes(output[0].binary!.data).equals(file)).toBe(true);
		expect(output[0].binary!.data.fileName).toBe('photo.jpg');
		expect(output[0].json).toMatchObject({ id: 1, pgp: { decryptedWith: me.fingerprint } });
		expect(readdirSync(spoolParent)).toEqual([]);
	});

	it('JSON plaintext from a stored binary becomes the item JSON', async () => {
		const record = { wamid: 'wamid.STREAM', n: 1 };
		const ciphertext = gpgEncrypt(me.home, JSON.stringify(record), {
			recipients: [me.fingerprint],
		});
		const { output } = await runOpenPgp({
			parameters: { operation: 'decrypt', options: { metadataField: '' } },
			items: [storedItem()],
			credentials,
			binaryStore: { 'filesystem-v2:ct': ciphertext },
		});
		expect(output[0].json).toEqual(record);
		expect(output[0].binary).toBeUndefined();
		expect(readdirSync(spoolParent)).toEqual([]);
	});

	it('tampered stored binary: item error, no binary prepared, spool removed', async () => {
		const file = randomBytes(1024 * 1024);
		const ciphertext = gpgEncrypt(me.home, file, {
			recipients: [me.fingerprint],
			compressAlgo: 'none',
		});
		ciphertext[ciphertext.length >> 1] ^= 0x04;
		const { output, stats } = await runOpenPgp({
			parameters: { operation: 'decrypt' },
			items: [storedItem()],
			credentials,
			binaryStore: { 'filesystem-v2:ct': ciphertext },
			continueOnFail: true,
		});
		expect(stats.prepareBinaryDataCalls).toBe(0);
		expect(output).toEqual([
			{
				json: {
					error: expect.objectContaining({
						message: 'The message failed its integrity check (modified or truncated): Modification detected.',
						}),
				},
				// the failed item keeps its input binary (still the ciphertext reference), nothing decrypted
				binary: expect.objectContaining({ data: expect.objectContaining({ id: 'filesystem-v2:ct' }) }),
				pairedItem: { item: 0 },
			},
		]);
		expect(readdirSync(spoolParent)).toEqual([]);
	});

	it('sq ZIP in a stored binary: the second pass streams the binary again (never buffered)', async () => {
		const file = randomBytes(100_000);
		const ciphertext = sqEncrypt(me.publicKeyArmored, file, { binary: true });
		const { output, stats } = await runOpenPgp({
			parameters: { operation: 'decrypt', decryptedOutput: 'binary' },
			items: [storedItem('x.pgp')],
			credentials,
			binaryStore: { 'filesystem-v2:ct': ciphertext },
		});
		expect(binaryBytes(output[0].binary!.data).equals(file)).toBe(true);
		expect(stats.getBinaryStreamCalls).toBe(2);
		expect(stats.getBinaryDataBufferCalls).toBe(0);
		expect(readdirSync(spoolParent)).toEqual([]);
	});
});
