/**
 * OpenPGP node, Encrypt operation, run through the shared execution context (test/helpers/execute-context.ts); gpg checks the output.
 */
import { randomBytes } from 'node:crypto';
import { NodeOperationError } from 'n8n-workflow';

import { OpenPgp } from '../../../nodes/OpenPgp/OpenPgp.node';
import { binaryBytes, type ExecuteContextOptions, inlineBinary, runNode } from '../../helpers/execute-context';
import {
	type GpgHome,
	gpgDecrypt,
	gpgDecryptWithStatus,
	gpgImport,
	makeGpgHome,
} from '../../helpers/gpg';

const runOpenPgp = async (options: Omit<ExecuteContextOptions, 'nodeType'>) => await runNode(new OpenPgp(), options);

const record = {
	wamid: 'wamid.HBgLMTU1NTAxMjM0NTYVAgASGBQzQTk',
	direction: 'inbound',
	text: 'Grüße 👋\nline two',
	nested: { a: [1, 2, { b: 'c' }] },
};

describe('OpenPGP node: Encrypt', () => {
	let alice: GpgHome;
	let bob: GpgHome;
	let credentials: Record<string, { publicKeys: string; expectedFingerprints: string }>;

	beforeAll(async () => {
		[alice, bob] = await Promise.all([makeGpgHome(), makeGpgHome({ keyType: 'rsa3072' })]);
		credentials = {
			openPgpPublicKeysApi: { publicKeys: alice.publicKeyArmored, expectedFingerprints: '' },
		};
	});

	afterAll(async () => {
		await alice?.cleanup();
		await bob?.cleanup();
	});

	it('whole item (template parameters): gpg gives back exactly JSON.stringify(item.json); JSON unchanged', async () => {
		const items = [{ json: { ...record } }, { json: { ...record, wamid: 'second' } }];
		const { output, stats } = await runOpenPgp({
			parameters: {
				operation: 'encrypt',
				source: 'json',
				jsonMode: 'wholeItem',
				outputFormat: 'binary',
				outputBinaryPropertyName: 'data',
			},
			items,
			credentials,
		});
		expect(output).toHaveLength(2);
		expect(stats.getCredentialsCalls).toEqual({ openPgpPublicKeysApi: 1 });
		for (const [i, item] of output.entries()) {
			expect(item.pairedItem).toEqual({ item: i });
			expect(item.json).toEqual(items[i].json);
			const binary = item.binary?.data;
			expect(binary?.mimeType).toBe('application/pgp-encrypted');
			expect(binary?.fileName).toBe('record.pgp');
			const { plaintext, status } = gpgDecryptWithStatus(alice.home, binaryBytes(binary!));
			expect(plaintext.equals(Buffer.from(JSON.stringify(items[i].json)))).toBe(true);
			expect(status).toMatch(/PLAINTEXT 62 \d+ record\.json/);
			expect(status).toMatch(/DECRYPTION_INFO 2 9/);
		}
	});

	it('uses the defaults: operation encrypt, json, whole item, binary output in "data"', async () => {
		const { output } = await runOpenPgp({ parameters: {}, items: [{ json: record }], credentials });
		expect(output[0].binary?.data.fileName).toBe('record.pgp');
		expect(gpgDecrypt(alice.home, binaryBytes(output[0].binary!.data)).toString()).toBe(
			JSON.stringify(record),
		);
	});

	it('field mode: strings as UTF-8 text, other values as JSON', async () => {
		const { output } = await runOpenPgp({
			parameters: { jsonMode: 'field', jsonField: 'text', outputBinaryPropertyName: 'sealed' },
			items: [{ json: record }],
			credentials,
		});
		expect(gpgDecrypt(alice.home, binaryBytes(output[0].binary!.sealed)).toString('utf8')).toBe(
			record.text,
		);
		const nested = await runOpenPgp({
			parameters: { jsonMode: 'field', jsonField: 'nested.a[2]' },
			items: [{ json: record }],
			credentials,
		});
		expect(gpgDecrypt(alice.home, binaryBytes(nested.output[0].binary!.data)).toString()).toBe(
			'{"b":"c"}',
		);
	});

	it('binary input, inline base64: encrypted bytes round-trip, neutral names inside and out', async () => {
		const file = randomBytes(50_000);
		const { output, stats } = await runOpenPgp({
			parameters: { source: 'binary' },
			items: [{ json: { id: 1 }, binary: { data: inlineBinary(file) } }],
			credentials,
		});
		expect(stats.getBinaryStreamCalls).toBe(0);
		expect(output[0].json).toEqual({ id: 1 });
		expect(output[0].binary?.data.fileName).toBe('data.pgp');
		const { plaintext, status } = gpgDecryptWithStatus(
			alice.home,
			binaryBytes(output[0].binary!.data),
		);
		expect(plaintext.equals(file)).toBe(true);
		expect(status).toMatch(/PLAINTEXT 62 \d+ data\.bin/);
		expect(status).not.toContain('secret-report');
	});

	it('binary input with an id is streamed through getBinaryStream', async () => {
		const file = randomBytes(300_000);
		const { output, stats } = await runOpenPgp({
			parameters: {
				source: 'binary',
				inputBinaryPropertyName: 'attachment',
				options: { fileName: 'archive-item' },
			},
			items: [
				{
					json: {},
					binary: {
						attachment: {
							id: 'filesystem-v2:abc',
							data: 'filesystem-v2',
							mimeType: 'image/jpeg',
							fileName: 'holiday.jpg',
						},
					},
				},
			],
			credentials,
			binaryStore: { 'filesystem-v2:abc': file },
		});
		expect(stats.getBinaryStreamCalls).toBe(1);
		// 1 MiB reads instead of n8n's 64 KiB default: faster stream encryption (docs/benchmarks.md)
		expect(stats.getBinaryStreamChunkSizes).toEqual([1024 * 1024]);
		expect(stats.getBinaryDataBufferCalls).toBe(0);
		expect(output[0].binary?.data.fileName).toBe('archive-item.pgp');
		expect(gpgDecrypt(alice.home, binaryBytes(output[0].binary!.data)).equals(file)).toBe(true);
	});

	it('armored output goes to the JSON field "encrypted", the rest of the JSON kept', async () => {
		const { output } = await runOpenPgp({
			parameters: { outputFormat: 'armored' },
			items: [{ json: record }],
			credentials,
		});
		const json = output[0].json as Record<string, unknown>;
		expect(output[0].binary).toBeUndefined();
		expect(json.wamid).toBe(record.wamid);
		expect(String(json.encrypted)).toMatch(/^-----BEGIN PGP MESSAGE-----/);
		expect(gpgDecrypt(alice.home, String(json.encrypted)).toString()).toBe(JSON.stringify(record));
	});

	it('additional recipients from a parameter: both keys decrypt', async () => {
		const { output } = await runOpenPgp({
			parameters: { options: { additionalRecipients: bob.publicKeyArmored } },
			items: [{ json: record }],
			credentials,
		});
		const ciphertext = binaryBytes(output[0].binary!.data);
		expect(gpgDecrypt(alice.home, ciphertext).toString()).toBe(JSON.stringify(record));
		expect(gpgDecrypt(bob.home, ciphertext).toString()).toBe(JSON.stringify(record));
	});

	it('a private key in the credential is refused with a clear error', async () => {
		const run = runOpenPgp({
			parameters: {},
			items: [{ json: record }],
			credentials: {
				openPgpPublicKeysApi: { publicKeys: alice.secretKeyArmored, expectedFingerprints: '' },
			},
		});
		await expect(run).rejects.toThrow(NodeOperationError);
		await expect(run).rejects.toThrow(`Key ${alice.fingerprint} is a PRIVATE key`);
	});

	it('fingerprint pinning in the credential refuses another key', async () => {
		await expect(
			runOpenPgp({
				parameters: {},
				items: [{ json: record }],
				credentials: {
					openPgpPublicKeysApi: {
						publicKeys: alice.publicKeyArmored,
						expectedFingerprints: bob.fingerprint,
					},
				},
			}),
		).rejects.toThrow(`Key ${alice.fingerprint} is not one of the expected fingerprints`);
	});

	it('errors carry the item index; continueOnFail emits { error } and goes on', async () => {
		const items = [{ json: { text: 'ok' } }, { json: { other: 1 } }, { json: { text: 'ok too' } }];
		const parameters = { jsonMode: 'field', jsonField: 'text' };
		let caught: unknown;
		try {
			await runOpenPgp({ parameters, items, credentials });
		} catch (error) {
			caught = error;
		}
		expect(caught).toBeInstanceOf(NodeOperationError);
		expect((caught as NodeOperationError).message).toBe('Field "text" not found in the item');
		expect((caught as NodeOperationError).context.itemIndex).toBe(1);

		const { output } = await runOpenPgp({ parameters, items, credentials, continueOnFail: true });
		expect(output).toHaveLength(3);
		expect(output[1]).toEqual({
			json: { error: expect.objectContaining({ message: 'Field "text" not found in the item' }) },
			pairedItem: { item: 1 },
		});
		expect(gpgDecrypt(alice.home, binaryBytes(output[2].binary!.data)).toString()).toBe('ok too');
	});

	it('Sign With the private key credential: gpg reports a valid signature; key unlocked once', async () => {
		const signer = await makeGpgHome({ keyType: 'rsa3072', passphrase: 'test only signer' });
		try {
			const items = [{ json: record }, { json: { ...record, wamid: 'second' } }];
			const { output, stats } = await runOpenPgp({
				parameters: { signWith: 'credential', options: { compression: 'zlib' } },
				items,
				credentials: {
					...credentials,
					openPgpPrivateKeyApi: {
						privateKey: signer.secretKeyArmored,
						passphrase: 'test only signer',
					},
				},
			});
			expect(stats.getCredentialsCalls).toEqual({
				openPgpPublicKeysApi: 1,
				openPgpPrivateKeyApi: 1,
			});
			gpgImport(alice.home, signer.publicKeyArmored);
			for (const [i, item] of output.entries()) {
				const { plaintext, status } = gpgDecryptWithStatus(
					alice.home,
					binaryBytes(item.binary!.data),
				);
				expect(plaintext.toString()).toBe(JSON.stringify(items[i].json));
				expect(status).toMatch(new RegExp(`\\[GNUPG:\\] VALIDSIG ${signer.fingerprint}`));
			}
		} finally {
			await signer.cleanup();
		}
	});

	it('Sign With is off by default: no signature, no private key credential read', async () => {
		const { output, stats } = await runOpenPgp({
			parameters: {},
			items: [{ json: record }],
			credentials,
		});
		expect(stats.getCredentialsCalls).toEqual({ openPgpPublicKeysApi: 1 });
		const { status } = gpgDecryptWithStatus(alice.home, binaryBytes(output[0].binary!.data));
		expect(status).not.toMatch(/SIG_ID|VALIDSIG|GOODSIG/);
	});

	it('missing input binary is an item error', async () => {
		const { output } = await runOpenPgp({
			parameters: { source: 'binary' },
			items: [{ json: {} }],
			credentials,
			continueOnFail: true,
		});
		expect(String((output[0].json.error as { message: string }).message)).toContain("binary file 'data'");
	});
});
