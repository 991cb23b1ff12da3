/**
 * readPublicKeys / readPrivateKey / repairArmoredText / parseFingerprints: every broken paste form
 * people produce is repaired, and the ones that must fail fail with the exact message.
 */
import * as openpgp from 'openpgp';

import {
	PgpError,
	parseFingerprints,
	readPrivateKey,
	readPublicKeys,
	repairArmoredText,
} from '../../../lib/pgp';

interface TestKey {
	publicKey: string;
	privateKey: string;
	fingerprint: string;
}

async function makeKey(
	options: Partial<Parameters<typeof openpgp.generateKey>[0]> = {},
	passphrase?: string,
): Promise<TestKey> {
	const generated = await openpgp.generateKey({
		type: 'ecc',
		curve: 'curve25519Legacy',
		userIDs: [{ name: 'Test Only', email: 'test-only@example.org' }],
		format: 'armored',
		passphrase,
		...options,
	} as Parameters<typeof openpgp.generateKey>[0] & { format: 'armored' });
	const key = await openpgp.readKey({ armoredKey: generated.publicKey });
	return {
		publicKey: generated.publicKey,
		privateKey: generated.privateKey,
		fingerprint: key.getFingerprint().toUpperCase(),
	};
}

/** Longest base64 line of an armored key: errors must never contain it or any 20-char part of it. */
function assertNoKeyMaterial(message: string, armored: string): void {
	const body = armored
		.split('\n')
		.filter((line) => /^[A-Za-z0-9+/=]{40,}$/.test(line.trim()))
		.join('');
	for (let i = 0; i + 20 <= body.length; i += 10) {
		expect(message).not.toContain(body.slice(i, i + 20));
	}
}

async function expectPgpError(promise: Promise<unknown>, code: string, message: string | RegExp) {
	let caught: unknown;
	try {
		await promise;
	} catch (error) {
		caught = error;
	}
	expect(caught).toBeInstanceOf(PgpError);
	expect((caught as PgpError).code).toBe(code);
	if (typeof message === 'string') expect((caught as PgpError).message).toBe(message);
	else expect((caught as PgpError).message).toMatch(message);
	return caught as PgpError;
}

describe('readPublicKeys: repairs pasted keys', () => {
	let alice: TestKey;
	let bob: TestKey;

	beforeAll(async () => {
		alice = await makeKey();
		bob = await makeKey({ type: 'rsa', rsaBits: 2048 });
	});

	const fingerprintsOf = async (armoredKeys: string | Uint8Array) =>
		(await readPublicKeys({ armoredKeys })).map((key) => key.getFingerprint().toUpperCase());

	it('reads a clean armored key', async () => {
		expect(await fingerprintsOf(alice.publicKey)).toEqual([alice.fingerprint]);
	});

	it('strips a leading BOM (string)', async () => {
		expect(await fingerprintsOf('\uFEFF' + alice.publicKey)).toEqual([alice.fingerprint]);
	});

	it('decodes UTF-16LE with BOM, UTF-16BE with BOM and UTF-16LE without BOM (buffers)', async () => {
		const le = Buffer.concat([Buffer.from([0xff, 0xfe]), Buffer.from(alice.publicKey, 'utf16le')]);
		const beBody = Buffer.from(alice.publicKey, 'utf16le').swap16();
		const be = Buffer.concat([Buffer.from([0xfe, 0xff]), beBody]);
		const leNoBom = Buffer.from(alice.publicKey, 'utf16le');
		expect(await fingerprintsOf(le)).toEqual([alice.fingerprint]);
		expect(await fingerprintsOf(be)).toEqual([alice.fingerprint]);
		expect(await fingerprintsOf(leNoBom)).toEqual([alice.fingerprint]);
	});

	it('reads UTF-8 bytes with a UTF-8 BOM', async () => {
		const bytes = Buffer.concat([Buffer.from([0xef, 0xbb, 0xbf]), Buffer.from(alice.publicKey)]);
		expect(await fingerprintsOf(bytes)).toEqual([alice.fingerprint]);
	});

	it('removes indentation (spaces and tabs) and trailing blanks', async () => {
		const indented = alice.publicKey
			.split('\n')
			.map((line, i) => (i % 2 ? '\t' : '    ') + line + '  ')
			.join('\n');
		await expect(openpgp.readKey({ armoredKey: indented })).rejects.toThrow();
		expect(await fingerprintsOf(indented)).toEqual([alice.fingerprint]);
	});

	it('accepts CRLF and CR-only line endings', async () => {
		expect(await fingerprintsOf(alice.publicKey.replace(/\n/g, '\r\n'))).toEqual([
			alice.fingerprint,
		]);
		expect(await fingerprintsOf(alice.publicKey.replace(/\n/g, '\r'))).toEqual([alice.fingerprint]);
	});

	it('turns literal \\n and \\r\\n escapes into newlines', async () => {
		expect(await fingerprintsOf(alice.publicKey.replace(/\n/g, '\\n'))).toEqual([
			alice.fingerprint,
		]);
		expect(await fingerprintsOf(alice.publicKey.replace(/\n/g, '\\r\\n'))).toEqual([
			alice.fingerprint,
		]);
	});

	it('rebuilds a key whose newlines were collapsed to spaces (n8n password field)', async () => {
		const collapsed = alice.publicKey.replace(/\n/g, ' ');
		expect(collapsed).not.toContain('\n');
		expect(await fingerprintsOf(collapsed)).toEqual([alice.fingerprint]);
		// newlines removed entirely: the CRC is glued to the body and must be split off again
		const stripped = alice.publicKey.replace(/\n/g, '');
		expect(await fingerprintsOf(stripped)).toEqual([alice.fingerprint]);
	});

	it('rebuilds collapsed keys that carry armor headers', async () => {
		const withHeaders = alice.publicKey.replace(
			'-----BEGIN PGP PUBLIC KEY BLOCK-----\n\n',
			'-----BEGIN PGP PUBLIC KEY BLOCK-----\nVersion: GnuPG v2\nComment: Test Only key\n\n',
		);
		expect(await fingerprintsOf(withHeaders)).toEqual([alice.fingerprint]);
		expect(await fingerprintsOf(withHeaders.replace(/\n/g, ' '))).toEqual([alice.fingerprint]);
	});

	it('adds the blank line missing after armor headers (#1835)', async () => {
		const noBlank = alice.publicKey.replace(
			'-----BEGIN PGP PUBLIC KEY BLOCK-----\n\n',
			'-----BEGIN PGP PUBLIC KEY BLOCK-----\nComment: Test Only key\n',
		);
		await expect(openpgp.readKey({ armoredKey: noBlank })).rejects.toThrow(/blank line/);
		expect(await fingerprintsOf(noBlank)).toEqual([alice.fingerprint]);
	});

	it('accepts lower-case and 4-dash armor lines', async () => {
		const lower = alice.publicKey
			.replace('-----BEGIN PGP PUBLIC KEY BLOCK-----', '----begin pgp public key block----')
			.replace('-----END PGP PUBLIC KEY BLOCK-----', '-----end pgp public key block-----');
		expect(await fingerprintsOf(lower)).toEqual([alice.fingerprint]);
	});

	it('reads ALL concatenated blocks (readKeys keeps only the first), with prose around them', async () => {
		const both = `Our archive keys:\n${alice.publicKey}\nand the second one:\n\n${bob.publicKey}\nthanks`;
		const firstOnly = await openpgp.readKeys({ armoredKeys: alice.publicKey + bob.publicKey });
		expect(firstOnly).toHaveLength(1);
		expect(await fingerprintsOf(both)).toEqual([alice.fingerprint, bob.fingerprint]);
		expect(await fingerprintsOf(alice.publicKey + bob.publicKey)).toEqual([
			alice.fingerprint,
			bob.fingerprint,
		]);
	});

	it('drops duplicate keys', async () => {
		expect(await fingerprintsOf(alice.publicKey + '\n' + alice.publicKey)).toEqual([
			alice.fingerprint,
		]);
	});

	it('reads binary keys and bare base64', async () => {
		const key = await openpgp.readKey({ armoredKey: bob.publicKey });
		const binary = key.write();
		expect(await fingerprintsOf(binary)).toEqual([bob.fingerprint]);
		expect(await fingerprintsOf(Buffer.from(binary).toString('base64'))).toEqual([bob.fingerprint]);
	});

	it('tolerates NBSP and zero-width characters', async () => {
		const dirty = '\u200B' + alice.publicKey.replace(/\n\n/, '\n\u00A0\n');
		expect(await fingerprintsOf(dirty)).toEqual([alice.fingerprint]);
	});

	it('repairArmoredText returns canonical blocks', () => {
		const repaired = repairArmoredText('  ' + alice.publicKey.replace(/\n/g, '\r\n  '));
		expect(repaired.blocks).toHaveLength(1);
		expect(repaired.blocks?.[0].type).toBe('PUBLIC KEY BLOCK');
		expect(repaired.blocks?.[0].text.startsWith('-----BEGIN PGP PUBLIC KEY BLOCK-----\n\n')).toBe(
			true,
		);
		expect(repaired.blocks?.[0].text.endsWith('-----END PGP PUBLIC KEY BLOCK-----\n')).toBe(true);
	});
});

describe('readPublicKeys: refuses what must not be accepted', () => {
	let alice: TestKey;
	let bob: TestKey;

	beforeAll(async () => {
		alice = await makeKey();
		bob = await makeKey();
	});

	it('rejects a private key in the public-key field, naming the fingerprint only', async () => {
		const error = await expectPgpError(
			readPublicKeys({ armoredKeys: alice.privateKey }),
			'PRIVATE_KEY_IN_PUBLIC_FIELD',
			`Key ${alice.fingerprint} is a PRIVATE key; paste only the public key here ("gpg --armor --export ${alice.fingerprint}"), and keep the private key secret.`,
		);
		assertNoKeyMaterial(error.message, alice.privateKey);
	});

	it('rejects a private key hidden among public keys', async () => {
		await expectPgpError(
			readPublicKeys({ armoredKeys: bob.publicKey + alice.privateKey }),
			'PRIVATE_KEY_IN_PUBLIC_FIELD',
			new RegExp(`^Key ${alice.fingerprint} is a PRIVATE key`),
		);
	});

	it('pins fingerprints: refuses a key not in expectedFingerprints', async () => {
		await expectPgpError(
			readPublicKeys({
				armoredKeys: alice.publicKey + bob.publicKey,
				expectedFingerprints: [alice.fingerprint],
			}),
			'UNEXPECTED_FINGERPRINT',
			`Key ${bob.fingerprint} is not one of the expected fingerprints (a wrong key, or a damaged paste).`,
		);
	});

	it('pins fingerprints: refuses when an expected key is missing', async () => {
		await expectPgpError(
			readPublicKeys({
				armoredKeys: alice.publicKey,
				expectedFingerprints: [alice.fingerprint, bob.fingerprint],
			}),
			'MISSING_EXPECTED_FINGERPRINT',
			`Expected key ${bob.fingerprint} was not found among the pasted keys.`,
		);
	});

	it('pins fingerprints: accepts grouped / lower-case / 0x forms', async () => {
		const grouped = alice.fingerprint
			.toLowerCase()
			.replace(/(.{4})/g, '$1 ')
			.trim();
		const keys = await readPublicKeys({
			armoredKeys: alice.publicKey + bob.publicKey,
			expectedFingerprints: [grouped, '0x' + bob.fingerprint],
		});
		expect(keys).toHaveLength(2);
	});

	it('rejects a PGP MESSAGE pasted as a key', async () => {
		const message = await openpgp.encrypt({
			message: await openpgp.createMessage({ text: 'x' }),
			encryptionKeys: await openpgp.readKey({ armoredKey: alice.publicKey }),
		});
		await expectPgpError(
			readPublicKeys({ armoredKeys: message as string }),
			'KEY_FORMAT',
			'Armored block 1 is a PGP MESSAGE, not a key; paste the output of "gpg --armor --export <fingerprint>".',
		);
	});

	it('rejects garbage and truncated pastes', async () => {
		await expectPgpError(
			readPublicKeys({ armoredKeys: 'hello world' }),
			'KEY_FORMAT',
			'No OpenPGP data found: expected an armored block starting with "-----BEGIN PGP PUBLIC KEY BLOCK-----".',
		);
		await expectPgpError(
			readPublicKeys({ armoredKeys: alice.publicKey.slice(0, 300) }),
			'KEY_FORMAT',
			'The armored text has a BEGIN line without a matching END line (truncated paste?).',
		);
	});

	it('rejects a block whose body is damaged, without echoing the key', async () => {
		const lines = alice.publicKey.split('\n');
		lines[3] = lines[3].slice(0, 10) + '!!' + lines[3].slice(12);
		const error = await expectPgpError(
			readPublicKeys({ armoredKeys: lines.join('\n') }),
			'KEY_FORMAT',
			'Armored block 1 (PUBLIC KEY BLOCK) contains characters that are not base64; paste the block exactly as exported.',
		);
		assertNoKeyMaterial(error.message, alice.publicKey);
	});

	it('gnupg profile refuses v6 keys, naming the fingerprint; rfc9580 accepts them', async () => {
		const v6 = await makeKey({ type: 'curve25519', config: { v6Keys: true } } as never);
		await expectPgpError(
			readPublicKeys({ armoredKeys: v6.publicKey }),
			'INCOMPATIBLE_KEY',
			`Key ${v6.fingerprint} is a version 6 key (RFC 9580), which GnuPG 2.2 and sq 0.27 cannot read; use a v4 key or the rfc9580 profile.`,
		);
		const keys = await readPublicKeys({ armoredKeys: v6.publicKey, profile: 'rfc9580' });
		expect(keys[0].keyPacket.version).toBe(6);
	});

	it('gnupg profile refuses v4 keys with RFC 9580 algorithms (Ed25519 = 27)', async () => {
		const v4New = await makeKey({ type: 'curve25519' } as never);
		await expectPgpError(
			readPublicKeys({ armoredKeys: v4New.publicKey }),
			'INCOMPATIBLE_KEY',
			`Key ${v4New.fingerprint} uses Ed25519 (public-key algorithm 27, RFC 9580), which GnuPG 2.2 and sq 0.27 cannot use; use an RSA or ed25519/cv25519 (legacy) v4 key, or the rfc9580 profile.`,
		);
		expect(await readPublicKeys({ armoredKeys: v4New.publicKey, profile: 'rfc9580' })).toHaveLength(
			1,
		);
	});
});

describe('parseFingerprints', () => {
	const a = 'A'.repeat(40);
	const b = '0123456789ABCDEF0123456789ABCDEF01234567';

	it('splits on commas, semicolons, newlines and whole-fingerprint spaces', () => {
		expect(parseFingerprints(`${a}, ${b.toLowerCase()}`)).toEqual([a, b]);
		expect(parseFingerprints(`${a}\n${b}`)).toEqual([a, b]);
		expect(parseFingerprints(`${a} ${b}`)).toEqual([a, b]);
		expect(parseFingerprints(`${a};${a}`)).toEqual([a]);
	});

	it('joins grouped fingerprints and strips 0x / colons', () => {
		expect(parseFingerprints(b.replace(/(.{4})/g, '$1 ').trim())).toEqual([b]);
		expect(parseFingerprints('0x' + b)).toEqual([b]);
		expect(parseFingerprints(b.replace(/(.{2})/g, '$1:').slice(0, -1))).toEqual([b]);
		expect(parseFingerprints('')).toEqual([]);
		expect(parseFingerprints(undefined)).toEqual([]);
	});

	it('rejects short key ids and non-hex', () => {
		expect(() => parseFingerprints('DEADBEEFDEADBEEF')).toThrow(
			'Expected fingerprint "DEADBEEFDEADBEEF" is not a 40- or 64-digit hexadecimal fingerprint.',
		);
		expect(() => parseFingerprints('Z'.repeat(40))).toThrow(PgpError);
	});
});

describe('readPrivateKey', () => {
	it('unlocks a passphrase-protected key and refuses a wrong or missing passphrase', async () => {
		const key = await makeKey({}, 'correct horse');
		const unlocked = await readPrivateKey({
			armoredKey: key.privateKey,
			passphrase: 'correct horse',
		});
		expect(unlocked.isDecrypted()).toBe(true);
		expect(unlocked.getFingerprint().toUpperCase()).toBe(key.fingerprint);
		const wrong = await expectPgpError(
			readPrivateKey({ armoredKey: key.privateKey, passphrase: 'wrong horse' }),
			'PASSPHRASE',
			`Wrong passphrase for private key ${key.fingerprint}.`,
		);
		expect(wrong.message).not.toContain('wrong horse');
		await expectPgpError(
			readPrivateKey({ armoredKey: key.privateKey }),
			'PASSPHRASE',
			`Private key ${key.fingerprint} is protected by a passphrase, but none was given.`,
		);
	});

	it('reads an unprotected key pasted with indentation and CRLF', async () => {
		const key = await makeKey();
		const messy = key.privateKey
			.split('\n')
			.map((line) => '  ' + line)
			.join('\r\n');
		const unlocked = await readPrivateKey({ armoredKey: messy });
		expect(unlocked.getFingerprint().toUpperCase()).toBe(key.fingerprint);
	});

	it('refuses a public key in the private-key field', async () => {
		const key = await makeKey();
		await expectPgpError(
			readPrivateKey({ armoredKey: key.publicKey }),
			'KEY_FORMAT',
			`Key ${key.fingerprint} is a public key; this field needs the private key ("gpg --armor --export-secret-keys <fingerprint>").`,
		);
	});
});
