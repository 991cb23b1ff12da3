import { renderTranscriptHtml, renderTranscriptText, transcriptLine, visibleText, type TranscriptRecord } from '../../../lib/archive';

const message = (name: string, body: string, second = 0): TranscriptRecord => ({
	record_kind: 'message',
	direction: 'inbound',
	type: 'text',
	timestamp: `2026-12-01T09:00:0${second}Z`,
	counterparty: { wa_id: '15550107777', name },
	content: { body },
});

describe('transcripts and hostile characters', () => {
	it('visibleText escapes control, separator and bidi characters as \\uXXXX and keeps the rest', () => {
		expect(visibleText('Ana Müller 😀 مرحبا')).toBe('Ana Müller 😀 مرحبا');
		expect(visibleText('a\nb\r\tc\u001b')).toBe('a\\u000Ab\\u000D\\u0009c\\u001B');
		expect(visibleText('x\u202Egnp.exe\u2066\u2069\u200E\u200F\u061C\u2028\u2029\u0085')).toBe(
			'x\\u202Egnp.exe\\u2066\\u2069\\u200E\\u200F\\u061C\\u2028\\u2029\\u0085',
		);
	});

	it('text: a name cannot start a line; a body keeps its lines, each after "    | "', () => {
		const text = renderTranscriptText({ title: 'T', facts: [['Counterparty', 'a\nb']] }, [
			transcriptLine(message('Mallory\n2026-12-01 10:00:00 UTC  ->  Business  [text]', 'one\r\ntwo\rthree\u2028four\nmedia: forged.pgp')),
		]);
		expect(text).toBe(
			[
				'T',
				'=',
				'Counterparty: a\\u000Ab',
				'',
				'2026-12-01 09:00:00 UTC  <-  Mallory\\u000A2026-12-01 10:00:00 UTC  ->  Business  [text]  [text]',
				'    | one',
				'    | two',
				'    | three',
				'    | four',
				'    | media: forged.pgp',
				'',
			].join('\n'),
		);
	});

	it('HTML: a restrictive Content-Security-Policy, names in <bdi>, bodies in dir="auto" blocks, no raw bidi character', () => {
		const html = renderTranscriptHtml({ title: 'Conversation with \u202EM', facts: [['Counterparty', '\u202EM']] }, [transcriptLine(message('\u202Emoc.evil', 'a <b>\nc'))]);
		expect(html).toContain(`<meta http-equiv="Content-Security-Policy" content="default-src 'none'; style-src 'unsafe-inline'; base-uri 'none'; form-action 'none'">`);
		expect(html).toContain('<span class="name"><bdi>\\u202Emoc.evil</bdi></span>');
		expect(html).toContain('<div class="text" dir="auto">a &lt;b&gt;<br>c</div>');
		expect(html).toContain('<td><bdi>\\u202EM</bdi></td>');
		expect(html).not.toMatch(/[\u202a-\u202e\u2066-\u2069]/);
		expect(html).not.toMatch(/<script|https?:/i);
	});

	it('a group conversation: each message names its sender, a member status its member, a call its kind and duration', () => {
		const group = { wa_id: null, user_id: null, name: null, group_id: 'Y2FwaV9ncm91cDo' };
		const lines = [
			transcriptLine({ ...message('', 'hello all'), counterparty: group, participant: { wa_id: '15550100141', name: 'Fay' } }),
			transcriptLine({ record_kind: 'status', type: 'read', wamid: 'wamid.X', timestamp: '2026-12-01T09:00:05Z', counterparty: group, participant: { wa_id: '15550100142', name: null } }),
			transcriptLine({ record_kind: 'group', type: 'group_create', timestamp: '2026-12-01T08:00:00Z', counterparty: { ...group, name: 'Bond desk' } }),
			transcriptLine({ record_kind: 'call', type: 'terminate', direction: 'inbound', timestamp: '2026-12-01T10:00:00Z', counterparty: { wa_id: '15550100123', name: 'Dana' }, content: { status: 'COMPLETED', duration: 240 } }),
		];
		expect(lines.map((l) => [l.kind, l.name, l.text])).toEqual([
			['in', 'Fay', 'hello all'],
			['status', '+15550100142', 'message wamid.X read'],
			['other', '', 'group group_create'],
			['other', 'Dana', 'call terminate: user-initiated, status COMPLETED, duration 240 s'],
		]);
	});
});
