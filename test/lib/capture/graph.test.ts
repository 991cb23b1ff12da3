import { GraphApiError, graphRequest } from '../../../lib/capture';
import { META_MEDIA_HOST, plainFetchError, tokenUrlRefusal } from '../../../lib/capture/graph';

const TOKEN = 'EAAG-secret-token-for-tests';

describe('graphRequest network failures keep no raw fetch error', () => {
	it('cause is a plain copy of the fetch error and its cause; no request, no token', async () => {
		const request = { headers: { Authorization: `Bearer ${TOKEN}` } };
		const inner = Object.assign(new Error('connect ECONNREFUSED 127.0.0.1:1'), { code: 'ECONNREFUSED', socket: { request } });
		const failing = (async () => {
			throw Object.assign(new TypeError('fetch failed'), { cause: inner, request });
		}) as unknown as typeof fetch;
		const error = await graphRequest(
			{ baseUrl: 'https://graph.example', version: 'v24.0', fetch: failing },
			{ method: 'GET', path: '106000000000002/subscribed_apps', token: TOKEN },
		).then(
			() => null,
			(caught: unknown) => caught as GraphApiError,
		);
		expect(error).toBeInstanceOf(GraphApiError);
		expect(error?.status).toBe(0);
		expect(error?.message).toMatch(/network error \(ECONNREFUSED\)/);
		expect(error?.cause).toEqual({
			name: 'TypeError',
			message: 'fetch failed',
			cause: { name: 'Error', message: 'connect ECONNREFUSED 127.0.0.1:1', code: 'ECONNREFUSED' },
		});
		expect(JSON.stringify(error?.cause)).not.toContain(TOKEN);
	});

	it('plainFetchError copes with anything', () => {
		expect(plainFetchError(undefined)).toEqual({ name: 'Error', message: '' });
		expect(plainFetchError(new DOMException('The operation was aborted due to timeout', 'TimeoutError'))).toEqual({
			name: 'TimeoutError',
			message: 'The operation was aborted due to timeout',
		});
	});
});

describe('tokenUrlRefusal: where the access token may go', () => {
	const meta = { baseUrl: 'https://graph.facebook.com', version: 'v24.0' };
	const proxy = { baseUrl: 'https://waba.provider.example:8443/graph', version: 'v24.0' };
	const local = { baseUrl: 'http://127.0.0.1:4567', version: 'v24.0' };

	it.each([
		[meta, 'https://graph.facebook.com/v24.0/123'],
		[meta, `https://${META_MEDIA_HOST}/whatsapp_business/attachments/?mid=1`],
		[proxy, 'https://waba.provider.example:8443/media/1'],
		[proxy, `https://${META_MEDIA_HOST}/whatsapp_business/attachments/?mid=1`],
		[local, 'http://127.0.0.1:4567/lookaside/1'],
		[{ baseUrl: 'http://localhost:80', version: 'v1' }, 'http://localhost/x'],
		[{ baseUrl: 'http://[::1]:9', version: 'v1' }, 'http://[::1]:9/x'],
	])('%j → %s allowed', (endpoint, url) => {
		expect(tokenUrlRefusal(endpoint, url)).toBeNull();
	});

	it.each([
		[meta, 'https://cdn.attacker.example/x', /host cdn\.attacker\.example is neither/],
		[meta, `http://${META_MEDIA_HOST}/x`, /https only/],
		[meta, 'http://graph.facebook.com/v24.0/1', /https only/],
		[meta, `https://${META_MEDIA_HOST}:8443/x`, /neither/],
		[meta, 'https://graph.facebook.com.attacker.example/x', /neither/],
		[meta, 'ftp://graph.facebook.com/x', /https only/],
		[meta, 'not a url', /not a valid URL/],
		[proxy, 'https://waba.provider.example/media/1', /neither/], // another port
		[local, 'http://127.0.0.2:4567/x', /neither/],
		[local, 'http://127.0.0.1:4568/x', /neither/],
		[local, `http://${META_MEDIA_HOST}/x`, /https only/],
		[{ baseUrl: 'http://graph.internal.example', version: 'v1' }, 'http://graph.internal.example/v1/me', /https only/],
	])('%j → %s refused', (endpoint, url, reason) => {
		expect(tokenUrlRefusal(endpoint, url)).toMatch(reason);
	});

	it('graphRequest sends nothing to a plain-http base URL off loopback', async () => {
		let calls = 0;
		const counting = (async () => {
			calls++;
			return new Response('{}');
		}) as unknown as typeof fetch;
		await expect(
			graphRequest({ baseUrl: 'http://graph.internal.example', version: 'v24.0', fetch: counting }, { method: 'GET', path: 'me', token: TOKEN }),
		).rejects.toThrow(/not sent: http to graph\.internal\.example refused: https only/);
		expect(calls).toBe(0);
	});
});
