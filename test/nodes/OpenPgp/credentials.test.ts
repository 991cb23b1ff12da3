/**
 * Credential tests of the OpenPGP node (methods.credentialTest) and the broken-key messages:
 * expired encryption subkey, revoked key, RSA-1024, wrong passphrase, private key in the public field.
 */
import {
	NodeHelpers,
	type ICredentialTestFunctions,
	type INode,
	type INodeParameters,
} from 'n8n-workflow';

import { OpenPgp } from '../../../nodes/OpenPgp/OpenPgp.node';
import {
	testPrivateKeyCredential,
	testPublicKeysCredential,
} from '../../../nodes/OpenPgp/methods/credentialTest';
import { type GpgHome, gpgRevoke, makeGpgHome } from '../../helpers/gpg';

describe('OpenPGP credential tests', () => {
	let good: GpgHome;
	let expiring: GpgHome;
	let weak: GpgHome;
	let revokedHome: GpgHome;
	let revokedPublicKey: string;

	beforeAll(async () => {
		[good, expiring, weak, revokedHome] = await Promise.all([
			makeGpgHome(),
			makeGpgHome({ encryptionSubkeyExpiry: '2d' }),
			makeGpgHome({ keyType: 'rsa1024' }),
			makeGpgHome({ keyType: 'rsa3072' }),
		]);
		revokedPublicKey = gpgRevoke(revokedHome.home, revokedHome.fingerprint);
	});

	afterAll(async () => {
		await Promise.all(
			[good, expiring, weak, revokedHome].map(async (home) => await home?.cleanup()),
		);
	});

	it('the node declares testedBy for both credentials and implements them', async () => {
		const node = new OpenPgp();
		const entries = node.description.credentials ?? [];
		expect(entries.map((entry) => [entry.name, entry.testedBy])).toEqual([
			['openPgpPublicKeysApi', 'openPgpPublicKeysApiTest'],
			['openPgpPrivateKeyApi', 'openPgpPrivateKeyApiTest'],
			['openPgpPrivateKeyApi', 'openPgpPrivateKeyApiTest'], // Encrypt with Sign With
		]);
		expect(entries[2].displayOptions).toEqual({
			show: { operation: ['encrypt'], signWith: ['credential'] },
		});
		const result = await node.methods.credentialTest.openPgpPublicKeysApiTest.call(
			{} as ICredentialTestFunctions,
			{
				id: '1',
				name: 'keys',
				type: 'openPgpPublicKeysApi',
				data: { publicKeys: good.publicKeyArmored },
			},
		);
		expect(result.status).toBe('OK');
	});

	it("n8n's own NodeHelpers: which credentials each configuration needs (parameters as given, and with defaults)", () => {
		const description = new OpenPgp().description;
		const active = (parameters: Record<string, unknown>, withDefaults: boolean) => {
			const resolved = withDefaults
				? NodeHelpers.getNodeParameters(
						description.properties,
						parameters as INodeParameters,
						true,
						false,
						{ typeVersion: 1 },
						description,
					)
				: (parameters as INodeParameters);
			const node = {
				id: 'n',
				name: 'OpenPGP',
				type: 'n8n-nodes-chat-archive.openPgp',
				typeVersion: 1,
				position: [0, 0],
				parameters: resolved ?? {},
			} as INode;
			return [...(NodeHelpers.getActiveCredentialTypes(node, description) ?? [])].sort();
		};
		for (const withDefaults of [true, false]) {
			expect(active({ operation: 'encrypt' }, withDefaults)).toEqual(['openPgpPublicKeysApi']);
			expect(active({ operation: 'encrypt', signWith: 'credential' }, withDefaults)).toEqual([
				'openPgpPrivateKeyApi',
				'openPgpPublicKeysApi',
			]);
			expect(active({ operation: 'decrypt' }, withDefaults)).toEqual(['openPgpPrivateKeyApi']);
			// a leftover signWith from Encrypt does not matter once the operation changed
			expect(active({ operation: 'verify', signWith: 'credential' }, withDefaults)).toEqual([
				'openPgpPublicKeysApi',
			]);
		}
	});

	it('public keys OK: lists fingerprints, algorithm and expiry', async () => {
		const result = await testPublicKeysCredential({
			publicKeys: good.publicKeyArmored + '\n' + expiring.publicKeyArmored,
			expectedFingerprints: `${good.fingerprint}, ${expiring.fingerprint}`,
		});
		expect(result.status).toBe('OK');
		expect(result.message).toMatch(
			new RegExp(
				`^2 keys usable for encryption: ${good.fingerprint} \\(EdDSA \\(ed25519, legacy\\), never expires\\); ${expiring.fingerprint} \\(EdDSA \\(ed25519, legacy\\), expires \\d{4}-\\d{2}-\\d{2}\\)$`,
			),
		);
	});

	it('expired encryption subkey: names the key and the day it expired', async () => {
		const later = new Date(Date.now() + 5 * 86_400_000);
		const result = await testPublicKeysCredential({ publicKeys: expiring.publicKeyArmored }, later);
		expect(result.status).toBe('Error');
		expect(result.message).toMatch(
			new RegExp(
				`^Key ${expiring.fingerprint} cannot be used for encryption: encryption subkey expired on \\d{4}-\\d{2}-\\d{2}$`,
			),
		);
	});

	it('revoked key', async () => {
		const result = await testPublicKeysCredential({ publicKeys: revokedPublicKey });
		expect(result).toEqual({
			status: 'Error',
			message: `Key ${revokedHome.fingerprint} cannot be used for encryption: key is revoked`,
		});
	});

	it('RSA-1024 is too weak', async () => {
		const result = await testPublicKeysCredential({ publicKeys: weak.publicKeyArmored });
		expect(result).toEqual({
			status: 'Error',
			message: `Key ${weak.fingerprint} cannot be used for encryption: RSA-1024 is too weak (at least 2048 bits required)`,
		});
	});

	it('private key pasted as public key; pinned fingerprint mismatch', async () => {
		const pasted = await testPublicKeysCredential({ publicKeys: good.secretKeyArmored });
		expect(pasted.status).toBe('Error');
		expect(pasted.message).toMatch(new RegExp(`^Key ${good.fingerprint} is a PRIVATE key`));
		expect(pasted.message).not.toContain('PRIVATE KEY BLOCK');
		const pinned = await testPublicKeysCredential({
			publicKeys: good.publicKeyArmored,
			expectedFingerprints: expiring.fingerprint,
		});
		expect(pinned.status).toBe('Error');
		expect(pinned.message).toBe(
			`Key ${good.fingerprint} is not one of the expected fingerprints (a wrong key, or a damaged paste).`,
		);
	});

	it('private key: OK unlocked; wrong passphrase refused without echoing it', async () => {
		const protectedHome = await makeGpgHome({ passphrase: 'test only secret' });
		try {
			const ok = await testPrivateKeyCredential({
				privateKey: protectedHome.secretKeyArmored,
				passphrase: 'test only secret',
			});
			expect(ok.status).toBe('OK');
			expect(ok.message).toBe(
				`Unlocked ${protectedHome.fingerprint} (EdDSA (ed25519, legacy), never expires): can decrypt, sign`,
			);
			const wrong = await testPrivateKeyCredential({
				privateKey: protectedHome.secretKeyArmored,
				passphrase: 'nope nope',
			});
			expect(wrong).toEqual({
				status: 'Error',
				message: `Wrong passphrase for private key ${protectedHome.fingerprint}.`,
			});
			const publicInstead = await testPrivateKeyCredential({
				privateKey: protectedHome.publicKeyArmored,
			});
			expect(publicInstead.status).toBe('Error');
			expect(publicInstead.message).toMatch(/is a public key; this field needs the private key/);
		} finally {
			await protectedHome.cleanup();
		}
	});
});
