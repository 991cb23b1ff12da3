/**
 * OpenPGP node: Decrypt, Sign, Verify and Inspect Key through the shared execution context (test/helpers/execute-context.ts), with gpg
 * producing and checking messages and signatures.
 */
import { randomBytes } from 'node:crypto';

import { readPublicKeys } from '../../../lib/pgp';
import { OpenPgp } from '../../../nodes/OpenPgp/OpenPgp.node';
import { bombMessage } from '../../helpers/bombs';
import { binaryBytes, type ExecuteContextOptions, inlineBinary, runNode } from '../../helpers/execute-context';
import {
	type GpgHome,
	gpgEncrypt,
	gpgImport,
	gpgVerify,
	makeGpgHome,
	sqEncrypt,
} from '../../helpers/gpg';

const runOpenPgp = async (options: Omit<ExecuteContextOptions, 'nodeType'>) => await runNode(new OpenPgp(), options);

const record = { wamid: 'wamid.TEST', text: 'hallo ✓', n: 3 };

describe('OpenPGP node: Decrypt', () => {
	let me: GpgHome;
	let sender: GpgHome;
	let credentials: Record<string, Record<string, string>>;

	beforeAll(async () => {
		[me, sender] = await Promise.all([makeGpgHome(), makeGpgHome({ keyType: 'rsa3072' })]);
		gpgImport(sender.home, me.publicKeyArmored);
		credentials = {
			openPgpPrivateKeyApi: { privateKey: me.secretKeyArmored, passphrase: '' },
			openPgpPublicKeysApi: { publicKeys: me.publicKeyArmored, expectedFingerprints: '' },
		};
	});

	afterAll(async () => {
		await me?.cleanup();
		await sender?.cleanup();
	});

	it('Encrypt → Decrypt (auto): JSON comes back, metadata in "pgp"; key unlocked once', async () => {
		const encrypted = await runOpenPgp({
			parameters: { operation: 'encrypt' },
			items: [{ json: record }, { json: { ...record, n: 4 } }],
			credentials,
		});
		const { output, stats } = await runOpenPgp({
			parameters: { operation: 'decrypt' },
			items: encrypted.output.map((item) => ({ json: {}, binary: item.binary })),
			credentials,
		});
		expect(stats.getCredentialsCalls).toEqual({ openPgpPrivateKeyApi: 1 });
		expect(output).toHaveLength(2);
		const { pgp, ...decrypted } = output[0].json;
		expect(decrypted).toEqual(record);
		expect(pgp).toEqual({
			decryptedWith: me.fingerprint,
			fileName: 'record.json',
			signed: false,
			verified: false,
			signatures: [],
		});
		expect(output[1].json.n).toBe(4);
		expect(output[1].pairedItem).toEqual({ item: 1 });
	});

	it('gpg signed binary file → binary output, signer verified', async () => {
		const file = randomBytes(5000);
		const ciphertext = gpgEncrypt(sender.home, file, {
			recipients: [me.fingerprint],
			signWith: sender.fingerprint,
			compressAlgo: 'zlib',
		});
		const { output } = await runOpenPgp({
			parameters: {
				operation: 'decrypt',
				options: { expectSigned: true, signerPublicKeys: sender.publicKeyArmored },
			},
			items: [{ json: { id: 7 }, binary: { data: inlineBinary(ciphertext, 'report.pdf.gpg') } }],
			credentials,
		});
		expect(output[0].json.id).toBe(7);
		const pgp = output[0].json.pgp as {
			verified: boolean;
			signatures: Array<{ fingerprint: string; valid: boolean }>;
		};
		expect(pgp.verified).toBe(true);
		expect(pgp.signatures[0]).toMatchObject({ fingerprint: sender.fingerprint, valid: true });
		expect(binaryBytes(output[0].binary!.data).equals(file)).toBe(true);
		// gpg stores no file name when reading stdin: fall back to the input name minus ".gpg"
		expect(output[0].binary!.data.fileName).toBe('report.pdf');
	});

	it('armored message from a JSON field (sq), JSON output mode', async () => {
		const armored = sqEncrypt(me.publicKeyArmored, JSON.stringify([1, 2, 3])).toString('utf8');
		const { output } = await runOpenPgp({
			parameters: {
				operation: 'decrypt',
				ciphertextSource: 'field',
				ciphertextField: 'payload.message',
				decryptedOutput: 'json',
				options: { metadataField: '' },
			},
			items: [{ json: { payload: { message: armored } } }],
			credentials,
		});
		expect(output[0].json).toEqual({ data: [1, 2, 3] });
	});

	it('expectSigned on an unsigned message fails the item with the reason', async () => {
		const ciphertext = gpgEncrypt(sender.home, Buffer.from('x'), { recipients: [me.fingerprint] });
		const { output } = await runOpenPgp({
			parameters: {
				operation: 'decrypt',
				options: { expectSigned: true, signerPublicKeys: sender.publicKeyArmored },
			},
			items: [{ json: {}, binary: { data: inlineBinary(ciphertext) } }],
			credentials,
			continueOnFail: true,
		});
		// the failed item keeps its input binary (the ciphertext), so an error branch can still archive it
		expect(output[0]).toEqual({
			json: { error: expect.objectContaining({ message: 'The message is not signed, but a valid signature is required.' }) },
			binary: { data: inlineBinary(ciphertext) },
			pairedItem: { item: 0 },
		});
	});

	it('Max Decrypted Size refuses a message that expands beyond it, naming the limit and the option', async () => {
		const big = Buffer.alloc(3 * 1024 * 1024, 0x41);
		for (const compressAlgo of ['zlib', 'zip'] as const) {
			const ciphertext = gpgEncrypt(sender.home, big, {
				recipients: [me.fingerprint],
				compressAlgo,
			});
			expect(ciphertext.length).toBeLessThan(100_000);
			const item = { json: {}, binary: { data: inlineBinary(ciphertext) } };
			const limited = await runOpenPgp({
				parameters: { operation: 'decrypt', options: { maxDecompressedMegabytes: 1 } },
				items: [item],
				credentials,
				continueOnFail: true,
			});
			expect(limited.output[0].json.error).toMatchObject({
				message: 'Decryption stopped: the plaintext exceeds the limit of 1 MiB.',
				code: 'OUTPUT_LIMIT',
				description: "If the message is trusted and really this large, raise the node's Max Decrypted Size (MB) option",
			});
			const unlimited = await runOpenPgp({
				parameters: { operation: 'decrypt', options: { maxDecompressedMegabytes: 4 } },
				items: [item],
				credentials,
			});
			expect(binaryBytes(unlimited.output[0].binary!.data).equals(big)).toBe(true);
		}
	});

	it('compression bombs: refused by default for their ratio, naming Max Compression Ratio; 0 switches it off; bad values name the option', async () => {
		const [recipient] = await readPublicKeys({ armoredKeys: me.publicKeyArmored });
		const bomb = await bombMessage({ inflatedSize: 20 * 1024 * 1024, recipient });
		const item = { json: {}, binary: { data: inlineBinary(bomb) } };
		const refused = await runOpenPgp({ parameters: { operation: 'decrypt', decryptedOutput: 'binary' }, items: [item], credentials, continueOnFail: true });
		expect(refused.output[0].json.error).toMatchObject({
			code: 'OUTPUT_LIMIT',
			message: 'Decryption stopped: the plaintext grew past 8 MiB to more than 100 times the size of the message, as a compression bomb does.',
			description: "If the message is trusted, raise the node's Max Compression Ratio option (0 switches the check off)",
		});
		expect(refused.stats.prepareBinaryDataCalls).toBe(0);
		const allowed = await runOpenPgp({
			parameters: { operation: 'decrypt', decryptedOutput: 'binary', options: { maxCompressionRatio: 0 } },
			items: [item],
			credentials,
		});
		expect(binaryBytes(allowed.output[0].binary!.data).length).toBe(20 * 1024 * 1024);
		for (const options of [{ maxCompressionRatio: -1 }, { maxDecompressedMegabytes: -5 }]) {
			const bad = await runOpenPgp({ parameters: { operation: 'decrypt', options }, items: [item], credentials, continueOnFail: true });
			expect(String((bad.output[0].json.error as { message: string }).message)).toMatch(/^Max (Compression Ratio|Decrypted Size \(MB\)) must be/);
		}
	});

	it('JSON mode on non-JSON plaintext is an item error', async () => {
		const ciphertext = gpgEncrypt(sender.home, Buffer.from('not json'), {
			recipients: [me.fingerprint],
		});
		await expect(
			runOpenPgp({
				parameters: { operation: 'decrypt', decryptedOutput: 'json' },
				items: [{ json: {}, binary: { data: inlineBinary(ciphertext) } }],
				credentials,
			}),
		).rejects.toThrow('The decrypted data is not JSON; set Output to Binary File or Auto');
	});
});

describe('OpenPGP node: Sign and Verify', () => {
	let signer: GpgHome;
	let credentials: Record<string, Record<string, string>>;

	beforeAll(async () => {
		signer = await makeGpgHome({ keyType: 'rsa3072' });
		credentials = {
			openPgpPrivateKeyApi: { privateKey: signer.secretKeyArmored, passphrase: '' },
			openPgpPublicKeysApi: { publicKeys: signer.publicKeyArmored, expectedFingerprints: '' },
		};
	});

	afterAll(async () => signer?.cleanup());

	it('detached armored signature of the whole item: gpg verifies it; Verify accepts it, rejects a change', async () => {
		const signed = await runOpenPgp({
			parameters: { operation: 'sign' },
			items: [{ json: record }],
			credentials,
		});
		const json = signed.output[0].json;
		expect(String(json.signature)).toMatch(/^-----BEGIN PGP SIGNATURE-----/);
		expect(gpgVerify(signer.home, JSON.stringify(record), String(json.signature)).good).toBe(true);

		const verified = await runOpenPgp({
			parameters: { operation: 'verify' },
			items: [{ json }],
			credentials,
		});
		expect(verified.output[0].json.verification).toEqual({
			valid: true,
			signatures: [expect.objectContaining({ fingerprint: signer.fingerprint, valid: true })],
		});

		const changed = { ...json, n: 99 };
		await expect(
			runOpenPgp({ parameters: { operation: 'verify' }, items: [{ json: changed }], credentials }),
		).rejects.toThrow(
			new RegExp(`^No valid signature: ${signer.fingerprint}: .*Signed digest did not match`),
		);
		const reported = await runOpenPgp({
			parameters: { operation: 'verify', options: { errorIfInvalid: false } },
			items: [{ json: changed }],
			credentials,
		});
		expect((reported.output[0].json.verification as { valid: boolean }).valid).toBe(false);
	});

	it('binary file, binary detached signature (.sig) and inline signed message', async () => {
		const file = randomBytes(2000);
		const item = { json: {}, binary: { data: inlineBinary(file) } };
		const detached = await runOpenPgp({
			parameters: { operation: 'sign', source: 'binary', signatureFormat: 'binary' },
			items: [item],
			credentials,
		});
		const signature = detached.output[0].binary!.signature;
		expect(signature.fileName).toBe('signature.sig');
		expect(signature.mimeType).toBe('application/pgp-signature');
		expect(detached.output[0].binary!.data).toBeDefined();
		expect(gpgVerify(signer.home, file, binaryBytes(signature)).good).toBe(true);
		const verified = await runOpenPgp({
			parameters: { operation: 'verify', source: 'binary', signatureSource: 'binary' },
			items: [detached.output[0]],
			credentials,
		});
		expect((verified.output[0].json.verification as { valid: boolean }).valid).toBe(true);

		const inline = await runOpenPgp({
			parameters: {
				operation: 'sign',
				source: 'binary',
				signatureType: 'inline',
				signatureFormat: 'binary',
			},
			items: [item],
			credentials,
		});
		const message = binaryBytes(inline.output[0].binary!.signature);
		expect(gpgVerify(signer.home, message).good).toBe(true);
		const extracted = await runOpenPgp({
			parameters: {
				operation: 'verify',
				signatureType: 'inline',
				source: 'binary',
				inputBinaryPropertyName: 'signed',
			},
			items: [{ json: {}, binary: { signed: inlineBinary(message) } }],
			credentials,
		});
		expect(binaryBytes(extracted.output[0].binary!.data).equals(file)).toBe(true);
	});
});

describe('OpenPGP node: Inspect Key', () => {
	it('one item per key with fingerprint, algorithm, expiry and usability', async () => {
		const [a, b] = await Promise.all([
			makeGpgHome({ encryptionSubkeyExpiry: '2030-01-01' }),
			makeGpgHome({ keyType: 'rsa1024' }),
		]);
		try {
			const { output } = await runOpenPgp({
				parameters: {
					operation: 'inspectKey',
					publicKeys: a.publicKeyArmored + b.publicKeyArmored,
				},
				items: [{ json: {} }],
			});
			expect(output).toHaveLength(2);
			expect(output[0].json).toMatchObject({
				fingerprint: a.fingerprint,
				userIds: ['Archive Test <archive-test@example.org>'],
				algorithm: 'EdDSA (ed25519, legacy)',
				subkeyAlgorithms: ['ECDH (curve25519, legacy)'],
				expires: null,
				revoked: false,
				usableForEncryption: true,
				encryptionProblem: null,
				usableForSigning: true,
				gnupgCompatible: true,
			});
			expect(String(output[0].json.encryptionKeyExpires)).toMatch(/^2030-01-01T/);
			expect(output[1].json).toMatchObject({
				fingerprint: b.fingerprint,
				algorithm: 'RSA 1024',
				usableForEncryption: false,
				encryptionProblem: 'RSA-1024 is too weak (at least 2048 bits required)',
			});
			expect(output.map((item) => item.pairedItem)).toEqual([{ item: 0 }, { item: 0 }]);
		} finally {
			await a.cleanup();
			await b.cleanup();
		}
	});
});
