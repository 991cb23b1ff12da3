import { answerHandshake } from '../../../lib/capture';

const TOKEN = 'my-verify-token-9f8e7d';
const query = (mode: unknown, token: unknown, challenge: unknown) => ({
	'hub.mode': mode,
	'hub.verify_token': token,
	'hub.challenge': challenge,
});

describe('answerHandshake', () => {
	it('right mode and token → 200 with the bare challenge', () => {
		expect(answerHandshake({ query: query('subscribe', TOKEN, '1158201444'), verifyToken: TOKEN })).toEqual({
			status: 200,
			body: '1158201444',
		});
	});

	it('nested (hub: {…}) and PHP-style (hub_mode) spellings are accepted', () => {
		expect(answerHandshake({ query: { hub: { mode: 'subscribe', verify_token: TOKEN, challenge: '42' } }, verifyToken: TOKEN })).toEqual({ status: 200, body: '42' });
		expect(answerHandshake({ query: { hub_mode: 'subscribe', hub_verify_token: TOKEN, hub_challenge: '43' }, verifyToken: TOKEN })).toEqual({ status: 200, body: '43' });
	});

	it.each([
		['wrong token', query('subscribe', 'wrong', '1')],
		['token prefix', query('subscribe', TOKEN.slice(0, -1), '1')],
		['token with suffix', query('subscribe', TOKEN + 'x', '1')],
		['token case differs', query('subscribe', TOKEN.toUpperCase(), '1')],
		['wrong mode', query('unsubscribe', TOKEN, '1')],
		['mode case differs', query('Subscribe', TOKEN, '1')],
		['missing mode', query(undefined, TOKEN, '1')],
		['missing token', query('subscribe', undefined, '1')],
		['missing challenge', query('subscribe', TOKEN, undefined)],
		['empty challenge', query('subscribe', TOKEN, '')],
		['repeated token (array)', query('subscribe', [TOKEN, TOKEN], '1')],
		['repeated mode (array)', query(['subscribe'], TOKEN, '1')],
		['empty query', {}],
	])('%s → 403', (_label, q) => {
		expect(answerHandshake({ query: q as Record<string, unknown>, verifyToken: TOKEN })).toEqual({ status: 403 });
	});

	it('an empty configured verify token never matches, not even an empty one', () => {
		expect(answerHandshake({ query: query('subscribe', '', '1'), verifyToken: '' })).toEqual({ status: 403 });
	});
});
