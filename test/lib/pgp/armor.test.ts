/**
 * repairArmoredText: armor lines found in one linear walk, the input size cap, armor headers kept
 * out of the body (RFC 4880 §6.2) with newlines kept, collapsed or removed, truncated blocks.
 */
import * as openpgp from 'openpgp';

import { KEY_TEXT_LIMIT, repairArmoredText } from '../../../lib/pgp/armor';
import { PgpError, readPublicKeys } from '../../../lib/pgp';
import { gpg, makeGpgHome, type GpgHome } from '../../helpers/gpg';

function thrown(run: () => unknown): PgpError {
	try {
		run();
	} catch (error) {
		expect(error).toBeInstanceOf(PgpError);
		return error as PgpError;
	}
	throw new Error('expected a PgpError');
}

/** The base64 body of a canonical block (between the blank line and the CRC or END line). */
function bodyOf(text: string): string {
	const lines = text.split('\n');
	return lines.slice(2, lines.findIndex((line) => line.startsWith('=') || line.startsWith('-----END'))).join('');
}

describe('repairArmoredText: armor headers', () => {
	let me: GpgHome;
	let commented: string;
	let generated: string;
	let fingerprint: string;

	beforeAll(async () => {
		me = await makeGpgHome();
		commented = gpg(me.home, ['--armor', '--comment', me.fingerprint, '--export', me.fingerprint]).toString();
		const key = await openpgp.generateKey({ type: 'ecc', curve: 'curve25519Legacy', userIDs: [{ email: 'test-only@example.org' }], format: 'armored' });
		// Without its CRC line (optional, RFC 9580 §6.2): the packets alone tell where the headers end.
		generated = key.publicKey
			.replace(/-----\n\n/, '-----\nVersion: Test Only 1.0\nComment: https://example.org/keys\n\n')
			.replace(/\n=[A-Za-z0-9+/]{4}\n/, '\n');
		fingerprint = (await openpgp.readKey({ armoredKey: key.publicKey })).getFingerprint().toUpperCase();
	});

	afterAll(async () => await me?.cleanup());

	it('drops a Comment header holding an unspaced fingerprint (gpg --comment)', () => {
		expect(commented).toContain(`\nComment: ${me.fingerprint}\n`);
		const clean = repairArmoredText(me.publicKeyArmored).blocks![0];
		for (const paste of [commented, commented.replace(/\n/g, ' '), commented.replace(/\n/g, ''), commented.replace(/\n/g, '\r\n')]) {
			const block = repairArmoredText(paste).blocks![0];
			expect(bodyOf(block.text)).toBe(bodyOf(clean.text));
			expect(block.text).not.toContain(me.fingerprint);
		}
	});

	it('finds the body after Version / Comment URL headers with every newline removed, without a CRC line', async () => {
		expect(generated).not.toMatch(/\n=[A-Za-z0-9+/]{4}\n/);
		for (const paste of [generated, generated.replace(/\n/g, ' '), generated.replace(/\n/g, '')]) {
			const keys = await readPublicKeys({ armoredKeys: paste });
			expect(keys.map((key) => key.getFingerprint().toUpperCase())).toEqual([fingerprint]);
		}
	});

	it('drops the fingerprint header when the blank line after it is missing', async () => {
		const noBlank = commented.replace(`Comment: ${me.fingerprint}\n\n`, `Comment: ${me.fingerprint}\n`);
		const keys = await readPublicKeys({ armoredKeys: noBlank });
		expect(keys[0].getFingerprint().toUpperCase()).toBe(me.fingerprint);
	});

	it('a block of headers only has no content; a glued paste whose data is damaged says so', () => {
		expect(thrown(() => repairArmoredText('-----BEGIN PGP PUBLIC KEY BLOCK-----\nVersion: 1\nComment: x\n-----END PGP PUBLIC KEY BLOCK-----')).message).toBe(
			'Armored block 1 (PUBLIC KEY BLOCK) has no content.',
		);
		const glued = commented.replace(/\n/g, '');
		const damaged = glued.replace(/(Comment: [0-9A-F]{40})(.{20})/, (_all, head: string, next: string) => head + next.split('').reverse().join(''));
		expect(thrown(() => repairArmoredText(damaged)).message).toBe(
			'Armored block 1 (PUBLIC KEY BLOCK): its armor headers cannot be told apart from its data (the line breaks were removed); paste the block with its line breaks, exactly as exported.',
		);
	});
});

describe('repairArmoredText: armor lines and size', () => {
	const block = (type: string, body = 'xsBN') => `-----BEGIN PGP ${type}-----\n\n${body}\n-----END PGP ${type}-----\n`;

	it('refuses input over the cap before reading it, naming what it is and the limit', () => {
		const text = 'x'.repeat(KEY_TEXT_LIMIT + 1);
		const error = thrown(() => repairArmoredText(text, { maxBytes: KEY_TEXT_LIMIT, what: 'the key text in "Public Keys"', hint: 'paste only the keys' }));
		expect(error.code).toBe('INPUT_TOO_LARGE');
		expect(error.message).toBe('The key text in "Public Keys" is 1048577 bytes, over the 1 MiB that is read; paste only the keys');
		expect(thrown(() => repairArmoredText(new Uint8Array(KEY_TEXT_LIMIT + 1), { maxBytes: KEY_TEXT_LIMIT })).code).toBe('INPUT_TOO_LARGE');
		// at the cap: read
		expect(thrown(() => repairArmoredText('.'.repeat(KEY_TEXT_LIMIT), { maxBytes: KEY_TEXT_LIMIT })).code).toBe('KEY_FORMAT');
	});

	it('a BEGIN inside an open block, or a block left open after complete ones, is a truncated paste', () => {
		const truncated = 'The armored text has a BEGIN line without a matching END line (truncated paste?).';
		expect(thrown(() => repairArmoredText('-----BEGIN PGP PUBLIC KEY BLOCK-----\nxsBN\n' + block('PUBLIC KEY BLOCK'))).message).toBe(truncated);
		expect(thrown(() => repairArmoredText(block('PUBLIC KEY BLOCK') + '-----BEGIN PGP PUBLIC KEY BLOCK-----\nxsBN')).message).toBe(truncated);
		expect(thrown(() => repairArmoredText('-----BEGIN PGP MESSAGE-----\n'.repeat(1000))).message).toBe(truncated);
	});

	it('pairs END lines by type, ignores stray ones, and reads the signature of a cleartext-signed message', () => {
		const repaired = repairArmoredText(`-----END PGP MESSAGE-----\n${block('MESSAGE')}\n-----END PGP SIGNATURE-----\n${block('SIGNATURE', 'wnUE')}`);
		expect(repaired.blocks!.map((found) => found.type)).toEqual(['MESSAGE', 'SIGNATURE']);
		const cleartext = `-----BEGIN PGP SIGNED MESSAGE-----\nHash: SHA256\n\nhello\n${block('SIGNATURE', 'wnUE')}`;
		expect(repairArmoredText(cleartext).blocks!.map((found) => found.type)).toEqual(['SIGNATURE']);
	});

	it('removes NUL bytes and reads armor lines with newlines collapsed between several blocks', () => {
		const withNul = block('MESSAGE').split('').join('\u0000');
		expect(repairArmoredText(withNul).blocks![0].text).toBe(block('MESSAGE'));
		const collapsed = (block('MESSAGE') + block('SIGNATURE', 'wnUE')).replace(/\n/g, ' ');
		expect(repairArmoredText(collapsed).blocks!.map((found) => found.type)).toEqual(['MESSAGE', 'SIGNATURE']);
	});
});
