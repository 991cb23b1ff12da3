/**
 * downloadMedia against the local Graph stand-in: documented two-step flow (lookup, then the short-lived
 * URL with the same Bearer token), streaming, SHA-256 check, expiry re-resolution, retries, failures.
 */
import { createHash, randomBytes } from 'node:crypto';
import type { Readable } from 'node:stream';

import { digestMatches, downloadMedia, mediaReference, normalizeDelivery, type DownloadMediaOptions } from '../../../lib/capture';
import { GraphStandIn } from '../../helpers/graph-stand-in';
import { fixtureBody } from './fixtures';

const sha256 = (bytes: Buffer) => createHash('sha256').update(bytes).digest('hex');

async function collect(stream: Readable): Promise<Buffer> {
	const chunks: Buffer[] = [];
	for await (const chunk of stream) chunks.push(chunk as Buffer);
	return Buffer.concat(chunks);
}

describe('downloadMedia (Graph stand-in)', () => {
	const graph = new GraphStandIn();
	const bytes = randomBytes(300_000);

	beforeAll(async () => {
		await graph.start();
	});
	afterAll(async () => {
		await graph.stop();
	});
	beforeEach(() => {
		graph.requests.length = 0;
		graph.downloadFailures = [];
		graph.lookupFailures.clear();
		graph.addMedia('1013859600285441', { bytes, mimeType: 'image/jpeg' });
	});

	const options = (overrides: Partial<DownloadMediaOptions<Buffer>> = {}): DownloadMediaOptions<Buffer> => ({
		graph: { baseUrl: graph.baseUrl, version: graph.version },
		accessToken: graph.accessToken,
		mediaId: '1013859600285441',
		phoneNumberId: '106000000000002',
		expectedSha256: sha256(bytes),
		consume: collect,
		attempts: 3,
		backoffMs: 1,
		...overrides,
	});

	it('success: lookup with the token, URL with the same Bearer token, bytes checked and counted', async () => {
		const result = await downloadMedia(options());
		expect(result).toMatchObject({ status: 'downloaded', sha256: sha256(bytes), size: bytes.length, mimeType: 'image/jpeg', sha256Verified: true, attempts: 1 });
		if (result.status !== 'downloaded') throw new Error('unreachable');
		expect(result.value.equals(bytes)).toBe(true);
		expect(graph.requests.map((r) => [r.method, r.path.replace(/\d{6,}/, 'ID'), r.auth])).toEqual([
			['GET', `/${graph.version}/ID`, 'system'],
			['GET', '/lookaside/ID', 'system'],
		]);
		expect(graph.requests[0].query.phone_number_id).toBe('106000000000002');
	});

	it('accepts the webhook sha256 in base64 as well as hex', async () => {
		const base64 = createHash('sha256').update(bytes).digest('base64');
		expect((await downloadMedia(options({ expectedSha256: base64 }))).status).toBe('downloaded');
		expect(digestMatches(createHash('sha256').update(bytes).digest(), base64)).toBe(true);
		expect(digestMatches(createHash('sha256').update(bytes).digest(), sha256(Buffer.from('x')))).toBe(false);
	});

	it('sha256 mismatch is detected (bytes altered in transit) → failed after the retries', async () => {
		const altered = Buffer.from(bytes);
		altered[1000] ^= 0x01;
		graph.addMedia('1013859600285441', { bytes, mimeType: 'image/jpeg', servedBytes: altered });
		const result = await downloadMedia(options());
		expect(result).toEqual({ status: 'failed', error: 'media download: sha256 mismatch (after 3 attempts)', attempts: 3 });
	});

	it('sha256 mismatch against the lookup value when the webhook gave none', async () => {
		graph.addMedia('1013859600285441', { bytes, mimeType: 'image/jpeg', sha256: sha256(Buffer.from('other')) });
		const result = await downloadMedia(options({ expectedSha256: null, attempts: 1 }));
		expect(result).toMatchObject({ status: 'failed', error: 'media download: sha256 mismatch (after 1 attempts)' });
	});

	it('expired 5-minute URL (404) → the media id is looked up again and the download retried', async () => {
		graph.expireNextUrls(1); // the next URL issued is already expired
		const result = await downloadMedia(options());
		expect(result).toMatchObject({ status: 'downloaded', attempts: 2, sha256: sha256(bytes) });
		expect(graph.seen(/^\/v24\.0\/\d+$/).length).toBe(2);
		expect(graph.seen(/^\/lookaside\//).length).toBe(2);
	});

	it('a 5xx on the download is retried with the same URL; a 429 lookup is retried', async () => {
		graph.downloadFailures = [503];
		graph.lookupFailures.set('1013859600285441', [429]);
		const result = await downloadMedia(options());
		expect(result).toMatchObject({ status: 'downloaded', attempts: 3 });
		expect(graph.seen(/^\/v24\.0\/\d+$/).length).toBe(2);
	});

	it('404 on the lookup (unknown or expired media id) → failed at once, no content in the reason', async () => {
		graph.lookupFailures.set('1013859600285441', [404, 404, 404]);
		const result = await downloadMedia(options());
		expect(result).toEqual({ status: 'failed', error: 'media lookup: HTTP 404 (code 100)', attempts: 1 });
		expect(JSON.stringify(result)).not.toContain(graph.accessToken);
	});

	it('a wrong token fails without leaking it', async () => {
		const result = await downloadMedia(options({ accessToken: 'EAAGwrong-token-value' }));
		expect(result.status).toBe('failed');
		expect(JSON.stringify(result)).not.toContain('wrong-token-value');
	});

	it('refuses more than maxBytes', async () => {
		const result = await downloadMedia(options({ maxBytes: 1000 }));
		expect(result).toMatchObject({ status: 'failed', attempts: 1 });
		expect((result as { error: string }).error).toMatch(/exceed the limit of 1000|more than 1000 bytes/);
	});

	it('streams a large file (20 MB) through the consumer without buffering it in the engine', async () => {
		const large = randomBytes(20 * 1024 * 1024);
		graph.addMedia('2000000000000001', { bytes: large, mimeType: 'application/pdf' });
		let chunks = 0;
		const hash = createHash('sha256');
		const result = await downloadMedia(
			options({
				mediaId: '2000000000000001',
				expectedSha256: sha256(large),
				consume: async (stream) => {
					for await (const chunk of stream) {
						chunks++;
						hash.update(chunk as Buffer);
					}
					return Buffer.alloc(0);
				},
			}),
		);
		expect(result).toMatchObject({ status: 'downloaded', size: large.length });
		expect(chunks).toBeGreaterThan(10);
		expect(hash.digest('hex')).toBe(sha256(large));
	});

	it('mediaReference: media messages only', () => {
		const [image] = normalizeDelivery({ rawBody: fixtureBody('inbound-image-forwarded'), receivedAt: new Date(), signatureVerified: true });
		expect(mediaReference(image)).toEqual({
			mediaId: '1013859600285441',
			mimeType: 'image/jpeg',
			sha256: '81d3bd8a8db4868c9520ed47186e8b7c5789e61ff79f7f834be6950b808a90d3',
			fileName: null,
		});
		const [text] = normalizeDelivery({ rawBody: fixtureBody('inbound-text'), receivedAt: new Date(), signatureVerified: true });
		expect(mediaReference(text)).toBeNull();
	});

	describe('the token goes only to the Graph host and Meta\'s media host, over https', () => {
		const foreignBytes = Buffer.from('not the media');
		let foreignHits: Array<string | undefined> = [];
		let foreignUrl = '';
		let close: () => Promise<void> = async () => undefined;

		beforeAll(async () => {
			const http = await import('node:http');
			const server = http.createServer((req, res) => {
				foreignHits.push(req.headers.authorization);
				res.end(foreignBytes);
			});
			await new Promise<void>((resolve) => server.listen(0, '127.0.0.2', resolve));
			foreignUrl = `http://127.0.0.2:${(server.address() as { port: number }).port}`;
			close = () => new Promise<void>((resolve) => server.close(() => resolve()));
		});
		afterAll(async () => close());
		beforeEach(() => {
			foreignHits = [];
		});

		it('a lookup url on another host → failed at once (no retry), nothing sent there', async () => {
			graph.addMedia('1013859600285441', { bytes, mimeType: 'image/jpeg', url: `${foreignUrl}/x`, noSha256: true });
			const result = await downloadMedia(options({ expectedSha256: null }));
			expect(result).toEqual({
				status: 'failed',
				error: 'media lookup: answer url refused: host 127.0.0.2 is neither the Graph API host (127.0.0.1) nor Meta\'s media host (lookaside.fbsbx.com)',
				attempts: 1,
			});
			expect(foreignHits).toEqual([]);
		});

		it('a redirect to another host is not followed; one that stays on the Graph host is', async () => {
			graph.addMedia('1013859600285441', { bytes, mimeType: 'image/jpeg', redirectTo: `${foreignUrl}/stolen` });
			const refused = await downloadMedia(options());
			expect(refused).toMatchObject({ status: 'failed', attempts: 1 });
			expect((refused as { error: string }).error).toMatch(/^media download: redirect refused: host 127\.0\.0\.2 is neither/);
			expect(foreignHits).toEqual([]);

			graph.addMedia('2000000000000009', { bytes, mimeType: 'image/jpeg' });
			graph.addMedia('1013859600285441', { bytes, mimeType: 'image/jpeg', redirectTo: `${graph.baseUrl}/lookaside/2000000000000009?seq=999999` });
			expect(await downloadMedia(options())).toMatchObject({ status: 'downloaded', sha256: sha256(bytes) });
		});

		it('redirects are followed at most 3 times', async () => {
			graph.addMedia('1013859600285441', { bytes, mimeType: 'image/jpeg', redirectTo: `${graph.baseUrl}/lookaside/1013859600285441?seq=999999` });
			const result = await downloadMedia(options());
			expect(result).toEqual({ status: 'failed', error: 'media download: more than 3 redirects', attempts: 1 });
			expect(graph.seen(/^\/lookaside\//).length).toBe(4);
		});

		it('a plain-http Graph base URL off loopback → nothing sent', async () => {
			let calls = 0;
			const counting = (async () => {
				calls++;
				return new Response('{}');
			}) as unknown as typeof fetch;
			const result = await downloadMedia(options({ graph: { baseUrl: 'http://graph.internal.example', version: 'v24.0', fetch: counting } }));
			expect(result).toMatchObject({ status: 'failed', attempts: 1 });
			expect((result as { error: string }).error).toMatch(/^media lookup not sent: http to graph\.internal\.example refused: https only/);
			expect(calls).toBe(0);
		});
	});

	it('a sha256 mismatch fails the consumer\'s stream before it ends: no consumer finishes with the bytes', async () => {
		graph.addMedia('1013859600285441', { bytes, mimeType: 'image/jpeg', servedBytes: randomBytes(bytes.length) });
		let finished = 0;
		const errors: string[] = [];
		const result = await downloadMedia(
			options({
				consume: async (stream) => {
					try {
						const collected = await collect(stream);
						finished++;
						return collected;
					} catch (error) {
						errors.push((error as Error).message);
						throw error;
					}
				},
			}),
		);
		expect(result).toEqual({ status: 'failed', error: 'media download: sha256 mismatch (after 3 attempts)', attempts: 3 });
		expect(finished).toBe(0);
		expect(errors).toEqual(['sha256 mismatch', 'sha256 mismatch', 'sha256 mismatch']);
	});
});
