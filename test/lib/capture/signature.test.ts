import { createHmac } from 'node:crypto';

import { escapeUnicode, verifySignature } from '../../../lib/capture';
import { deliveryFixtures, fixtureBody } from './fixtures';

const SECRET = 'test-app-secret-0123456789abcdef';
const hmacHex = (data: Buffer | string, secret = SECRET) =>
	createHmac('sha256', secret).update(data).digest('hex');
const header = (data: Buffer | string, secret = SECRET) => `sha256=${hmacHex(data, secret)}`;

describe('verifySignature', () => {
	it.each(deliveryFixtures)('%s signed over its raw bytes → verified (raw)', (name) => {
		const body = fixtureBody(name);
		expect(verifySignature({ rawBody: body, header: header(body), appSecret: SECRET })).toEqual({
			verified: true,
			form: 'raw',
		});
	});

	it('a body with 👍 and é signed over its escaped-unicode form → verified (escaped-unicode)', () => {
		const text = '{"entry":[{"text":{"body":"Très bien 👍"}}]}';
		const escaped = '{"entry":[{"text":{"body":"Tr\\u00e8s bien \\ud83d\\udc4d"}}]}';
		expect(escapeUnicode(text)).toBe(escaped);
		const rawBody = Buffer.from(text, 'utf8');
		expect(verifySignature({ rawBody, header: header(escaped), appSecret: SECRET })).toEqual({
			verified: true,
			form: 'escaped-unicode',
		});
		// and the raw form still verifies as raw
		expect(verifySignature({ rawBody, header: header(rawBody), appSecret: SECRET }).form).toBe('raw');
	});

	it('escapeUnicode leaves ASCII (including control characters and backslashes) alone, hex is lowercase', () => {
		expect(escapeUnicode('a\n\t\\"~\u007f')).toBe('a\n\t\\"~\u007f');
		expect(escapeUnicode('\u00ff\u0100\uabcd')).toBe('\\u00ff\\u0100\\uabcd');
	});

	it('the location-and-reaction fixture (contains 👍) also verifies over its escaped form', () => {
		const body = fixtureBody('location-and-reaction-batch');
		const escaped = escapeUnicode(body.toString('utf8'));
		expect(escaped).toContain('\\ud83d\\udc4d');
		expect(verifySignature({ rawBody: body, header: header(escaped), appSecret: SECRET })).toEqual({
			verified: true,
			form: 'escaped-unicode',
		});
	});

	it('every one-byte mutation of the body fails (sampled positions)', () => {
		const body = fixtureBody('inbound-text');
		const good = header(body);
		for (const position of [0, 1, Math.floor(body.length / 2), body.length - 1]) {
			const mutated = Buffer.from(body);
			mutated[position] ^= 0x01;
			expect(verifySignature({ rawBody: mutated, header: good, appSecret: SECRET })).toEqual({
				verified: false,
				reason: 'signature mismatch',
			});
		}
		// appended / removed byte
		expect(verifySignature({ rawBody: Buffer.concat([body, Buffer.from('\n')]), header: good, appSecret: SECRET }).verified).toBe(false);
		expect(verifySignature({ rawBody: body.subarray(0, body.length - 1), header: good, appSecret: SECRET }).verified).toBe(false);
	});

	it('every one-character mutation of the header hex fails', () => {
		const body = fixtureBody('status-delivered');
		const hex = hmacHex(body);
		for (let i = 0; i < hex.length; i += 1) {
			const swapped = hex[i] === '0' ? '1' : '0';
			const mutated = `sha256=${hex.slice(0, i)}${swapped}${hex.slice(i + 1)}`;
			expect(verifySignature({ rawBody: body, header: mutated, appSecret: SECRET }).verified).toBe(false);
		}
	});

	it('wrong secret → mismatch; empty secret → refused', () => {
		const body = fixtureBody('inbound-text');
		expect(verifySignature({ rawBody: body, header: header(body, 'other-secret'), appSecret: SECRET })).toEqual({
			verified: false,
			reason: 'signature mismatch',
		});
		expect(verifySignature({ rawBody: body, header: header(body, ''), appSecret: '' })).toEqual({
			verified: false,
			reason: 'missing app secret',
		});
	});

	it.each([
		['missing', undefined, 'missing header'],
		['empty', '', 'missing header'],
		['no prefix', 'HEX', 'malformed header'],
		['sha1 prefix', 'sha1=HEX', 'malformed header'],
		['uppercase prefix', 'SHA256=HEX', 'malformed header'],
		['truncated hex', 'sha256=HEX'.slice(0, -2), 'malformed header'],
		['extra hex', 'sha256=HEX00', 'malformed header'],
		['non-hex', 'sha256=' + 'z'.repeat(64), 'malformed header'],
		['two values', 'sha256=HEX,sha256=HEX', 'malformed header'],
	])('%s header → not verified', (_label, template, reason) => {
		const body = fixtureBody('inbound-text');
		const hex = hmacHex(body);
		const value = template === undefined ? undefined : template.replace(/HEX/g, hex);
		expect(verifySignature({ rawBody: body, header: value, appSecret: SECRET })).toEqual({ verified: false, reason });
	});

	it('uppercase hex digest and surrounding whitespace are accepted', () => {
		const body = fixtureBody('inbound-text');
		expect(verifySignature({ rawBody: body, header: ` sha256=${hmacHex(body).toUpperCase()} `, appSecret: SECRET }).verified).toBe(true);
	});

	it('a non-UTF-8 body is only checked in raw form', () => {
		const body = Buffer.from([0x7b, 0xff, 0x7d]);
		expect(verifySignature({ rawBody: body, header: header(body), appSecret: SECRET }).form).toBe('raw');
		expect(verifySignature({ rawBody: body, header: header('{\\u00ff}'), appSecret: SECRET }).verified).toBe(false);
	});

	describe('the escaped-unicode form is hashed as it is produced (equal to escapeUnicode of the text)', () => {
		// every UTF-8 length, the edges of each range, a BOM, surrogate pairs, and text longer than one
		// 64 KiB decoding step so characters straddle the step boundary at every offset
		const samples = [
			'\ufeff{"a":"x"}',
			'\u0080\u07ff\u0800\uffff\u{10000}\u{10ffff}',
			'Très bien 👍 — 你好 — مرحبا',
		];
		for (let shift = 0; shift < 4; shift++) samples.push('a'.repeat(64 * 1024 - shift) + '👍é€'.repeat(5000));
		it.each(samples.map((text, index) => [index, text] as const))('sample %i', (_index, text) => {
			const rawBody = Buffer.from(text, 'utf8');
			const result = verifySignature({ rawBody, header: header(escapeUnicode(text)), appSecret: SECRET });
			expect(result).toEqual({ verified: true, form: 'escaped-unicode' });
		});

		it('random text of every character class', () => {
			let seed = 7;
			const next = () => (seed = (seed * 1103515245 + 12345) % 2 ** 31);
			const ranges = [[0x20, 0x7e], [0x80, 0x7ff], [0x800, 0xd7ff], [0xe000, 0xffff], [0x10000, 0x10ffff]];
			for (let round = 0; round < 20; round++) {
				let text = '';
				for (let i = 0; i < 2000; i++) {
					const [low, high] = ranges[next() % ranges.length];
					text += String.fromCodePoint(low + (next() % (high - low + 1)));
				}
				const rawBody = Buffer.from(text, 'utf8');
				expect(verifySignature({ rawBody, header: header(escapeUnicode(text)), appSecret: SECRET }).form).toBe('escaped-unicode');
			}
		});

		it('overlong, surrogate and out-of-range encodings give no escaped form', () => {
			for (const bytes of [[0xc0, 0xaf], [0xed, 0xa0, 0x80], [0xf4, 0x90, 0x80, 0x80], [0xe2, 0x82]]) {
				const rawBody = Buffer.from([0x61, ...bytes, 0x62]);
				const replaced = escapeUnicode(rawBody.toString('utf8'));
				expect(verifySignature({ rawBody, header: header(replaced), appSecret: SECRET })).toEqual({ verified: false, reason: 'signature mismatch' });
			}
		});
	});
});
