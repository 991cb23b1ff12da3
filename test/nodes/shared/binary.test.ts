import { MAX_FILE_NAME_BYTES, safeFileName } from '../../../nodes/shared/binary';

describe('safeFileName: the one sanitizer of file names handed to n8n', () => {
	it.each([
		['robin-statement-q4.pdf', 'robin-statement-q4.pdf'],
		['Relatório março.pdf', 'Relatório março.pdf'],
		['../../../../home/node/.n8n/config', 'config'],
		['..\\..\\windows\\system32\\evil.dll', 'evil.dll'],
		['/etc/passwd', 'passwd'],
		['invoice\u202Efdp.exe', 'invoicefdp.exe'],
		['\u2066a\u2069\u200Eb\u200F\u061C.txt', 'ab.txt'],
		['a\nb\r\u0000c\u0085d\u2028.txt', 'abcd.txt'],
		['.\u0000.', 'fallback.bin'],
		['..', 'fallback.bin'],
		['.', 'fallback.bin'],
		['dir/', 'fallback.bin'],
		['   ', 'fallback.bin'],
		['', 'fallback.bin'],
		[null, 'fallback.bin'],
		[undefined, 'fallback.bin'],
		['report. . .', 'report'],
		['CON', '_CON'],
		['con.txt', '_con.txt'],
		['LPT1.log', '_LPT1.log'],
		['console.txt', 'console.txt'],
		['a<b>c:d"e|f?g*h.txt', 'a_b_c_d_e_f_g_h.txt'],
		['.bashrc', '.bashrc'],
	])('%j → %j', (input, expected) => {
		expect(safeFileName(input, 'fallback.bin')).toBe(expected);
	});

	it('cuts to 255 UTF-8 bytes at a character boundary, keeping the extension', () => {
		const long = safeFileName(`${'x'.repeat(400)}.pdf`, 'f');
		expect(long).toBe(`${'x'.repeat(251)}.pdf`);
		const wide = safeFileName(`${'é'.repeat(200)}.txt`, 'f');
		expect(Buffer.byteLength(wide)).toBeLessThanOrEqual(MAX_FILE_NAME_BYTES);
		expect(wide).toMatch(/^é+\.txt$/);
		const emoji = safeFileName('😀'.repeat(100), 'f');
		expect(Buffer.byteLength(emoji)).toBeLessThanOrEqual(MAX_FILE_NAME_BYTES);
		expect(emoji).toBe('😀'.repeat(63));
	});
});
