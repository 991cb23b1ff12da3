import { GraphApiError, graphRequest } from '../../../lib/capture';
import { plainFetchError } from '../../../lib/capture/graph';

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
