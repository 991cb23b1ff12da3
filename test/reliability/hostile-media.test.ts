/**
 * Hostile media lookups: the Graph media lookup's `url` decides where the access token goes. A lookup
 * (or a download) pointing at another host, at plain http, or redirecting elsewhere must never hand the
 * token to that host nor archive its bytes; bytes whose SHA-256 does not match must never reach the
 * consumer as a finished stream. A "foreign" server on another loopback address (127.0.0.2) records
 * every request it gets and serves its own bytes.
 *
 * 1. lib/capture downloadMedia in the production configuration (Graph base `https://graph.facebook.com`):
 *    an injected fetch plays DNS and TLS, routing `https://graph.facebook.com` and
 *    `https://lookaside.fbsbx.com` to the Graph stand-in and any other origin named in `routes` (plain
 *    http on Meta's media host, an attacker's CDN) to the foreign server, as a network attacker would.
 * 2. The capture template in in-process n8n-core (Encrypt and Archive at Capture, Download Media, the
 *    local store) with the Graph stand-in as Graph base URL (http on loopback, allowed for tests): the
 *    record the trigger stored says media failed with a reason, and no media object reaches the store.
 */
import { createHash, randomBytes } from 'node:crypto';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import type { Readable } from 'node:stream';

import type { IDataObject } from 'n8n-workflow';

import { downloadMedia, type DownloadMediaResult } from '../../lib/capture';
import { GraphStandIn } from '../helpers/graph-stand-in';
import { record } from './helpers/counters';
import { fixtures, sign } from './helpers/deliveries';
import { startPipeline, type Pipeline } from './helpers/pipeline';
import { OutputCapture } from './helpers/secrets';
import { SuiteStore } from './helpers/store';

const sha256 = (bytes: Buffer) => createHash('sha256').update(bytes).digest('hex');
const FOREIGN_BYTES = Buffer.from('FOREIGN-BYTES-7d0c: not the media Meta stored');

/** A server on 127.0.0.2 that records what reaches it and serves its own bytes. */
class ForeignServer {
	readonly seen: Array<{ path: string; authorization: string | undefined }> = [];
	baseUrl = '';
	private server?: http.Server;

	async start(): Promise<void> {
		this.server = http.createServer((req, res) => {
			this.seen.push({ path: req.url ?? '', authorization: req.headers.authorization });
			res.writeHead(200, { 'content-type': 'image/jpeg', 'content-length': String(FOREIGN_BYTES.length) });
			res.end(FOREIGN_BYTES);
		});
		await new Promise<void>((resolve) => this.server!.listen(0, '127.0.0.2', resolve));
		this.baseUrl = `http://127.0.0.2:${(this.server.address() as AddressInfo).port}`;
	}

	async stop(): Promise<void> {
		await new Promise<void>((resolve) => (this.server ? this.server.close(() => resolve()) : resolve()));
	}

	tokens(token: string): number {
		return this.seen.filter((r) => (r.authorization ?? '').includes(token)).length;
	}
}

interface Outcome {
	label: string;
	foreignRequests: number;
	foreignTokens: number;
	/** Consumers that read a stream to its end without an error, with bytes that are not the genuine media. */
	wrongBytesKept: number;
	failed: boolean;
	reason: string;
}

describe('hostile media lookups', () => {
	const graph = new GraphStandIn();
	const foreign = new ForeignServer();
	const outcomes: Outcome[] = [];
	const genuine = randomBytes(4096);

	beforeAll(async () => {
		await graph.start();
		await foreign.start();
	});
	afterAll(async () => {
		await graph.stop();
		await foreign.stop();
		const safe = (o: Outcome) => o.foreignRequests === 0 && o.wrongBytesKept === 0 && o.failed;
		record({
			category: 'media: hostile lookup url',
			tried: outcomes.length,
			passed: outcomes.filter(safe).length,
			lost: 0,
			leaked: outcomes.filter((o) => o.foreignTokens > 0 || o.wrongBytesKept > 0).length,
			note: outcomes.map((o) => `${o.label}: foreign requests ${o.foreignRequests} (with token ${o.foreignTokens}), wrong bytes kept ${o.wrongBytesKept}, ${o.failed ? `failed: ${o.reason}` : 'downloaded'}`).join('; '),
		});
	});

	describe('downloadMedia, production configuration (https://graph.facebook.com)', () => {
		/** Origins the injected fetch sends to a local server: Meta's two to the stand-in, the rest to the foreign server. */
		const routes = () => ({
			'https://graph.facebook.com': graph.baseUrl,
			'https://lookaside.fbsbx.com': graph.baseUrl,
			'http://lookaside.fbsbx.com': foreign.baseUrl,
			'https://cdn.attacker.example': foreign.baseUrl,
		});
		const routed: typeof fetch = (input, init) => {
			const url = new URL(String(input instanceof Request ? input.url : input));
			const target = (routes() as Record<string, string>)[url.origin];
			return fetch(target ? target + url.pathname + url.search : url, init);
		};

		async function attempt(label: string, media: { url?: string; noSha256?: boolean; redirectTo?: string; servedBytes?: Buffer }, expectedSha256?: string) {
			const id = String(4000000000000000 + outcomes.length);
			graph.addMedia(id, { bytes: genuine, mimeType: 'image/jpeg', ...media, url: media.url?.replace(/ID$/, id) });
			const before = { requests: foreign.seen.length, tokens: foreign.tokens(graph.accessToken) };
			let wrongBytesKept = 0;
			const result: DownloadMediaResult<Buffer> = await downloadMedia({
				graph: { baseUrl: 'https://graph.facebook.com', version: graph.version, fetch: routed },
				accessToken: graph.accessToken,
				mediaId: id,
				expectedSha256,
				attempts: 2,
				backoffMs: 1,
				consume: async (stream: Readable) => {
					const chunks: Buffer[] = [];
					for await (const chunk of stream) chunks.push(chunk as Buffer);
					const bytes = Buffer.concat(chunks);
					if (!bytes.equals(genuine)) wrongBytesKept++;
					return bytes;
				},
			});
			const outcome: Outcome = {
				label,
				foreignRequests: foreign.seen.length - before.requests,
				foreignTokens: foreign.tokens(graph.accessToken) - before.tokens,
				wrongBytesKept,
				failed: result.status === 'failed',
				reason: result.status === 'failed' ? result.error : '',
			};
			outcomes.push(outcome);
			expect(JSON.stringify(result)).not.toContain(graph.accessToken);
			return outcome;
		}

		it.each([
			['lookup url on another host (https)', { url: 'https://cdn.attacker.example/whatsapp_business/attachments/?mid=1' }, /host|allow/i],
			['lookup url on Meta\'s media host over plain http', { url: 'http://lookaside.fbsbx.com/whatsapp_business/attachments/?mid=1' }, /https|http/i],
			['no sha256 anywhere, url on another host', { url: 'https://cdn.attacker.example/whatsapp_business/attachments/?mid=2', noSha256: true }, /host|allow/i],
		] as const)('%s → refused before any request; the token stays home', async (label, media, reason) => {
			const outcome = await attempt(label, media);
			expect(outcome).toMatchObject({ foreignRequests: 0, foreignTokens: 0, wrongBytesKept: 0, failed: true });
			expect(outcome.reason).toMatch(reason);
		});

		it('a download redirected to another host → not followed; the foreign host sees nothing', async () => {
			const outcome = await attempt('download redirected to another host', { url: 'https://lookaside.fbsbx.com/lookaside/ID', redirectTo: `${foreign.baseUrl}/stolen`, noSha256: true });
			expect(outcome).toMatchObject({ foreignRequests: 0, foreignTokens: 0, wrongBytesKept: 0, failed: true });
			expect(outcome.reason).toMatch(/redirect/i);
		});

		it('bytes that do not match sha256 → the consumer\'s stream fails; no consumer finishes with them', async () => {
			const outcome = await attempt('served bytes do not match sha256', { url: 'https://lookaside.fbsbx.com/lookaside/ID', servedBytes: randomBytes(4096) }, sha256(genuine));
			expect(outcome).toMatchObject({ foreignRequests: 0, wrongBytesKept: 0, failed: true });
			expect(outcome.reason).toMatch(/sha256 mismatch/);
		});

		it('the genuine media on Meta\'s media host, also through a redirect that stays there, still downloads', async () => {
			const direct = String(5000000000000001);
			const redirected = String(5000000000000002);
			graph.addMedia(direct, { bytes: genuine, mimeType: 'image/jpeg', url: `https://lookaside.fbsbx.com/lookaside/${direct}` });
			graph.addMedia(redirected, {
				bytes: genuine,
				mimeType: 'image/jpeg',
				url: `https://lookaside.fbsbx.com/lookaside/${redirected}`,
				redirectTo: `https://lookaside.fbsbx.com/lookaside/${direct}`,
			});
			for (const mediaId of [direct, redirected]) {
				const result = await downloadMedia({
					graph: { baseUrl: 'https://graph.facebook.com', version: graph.version, fetch: routed },
					accessToken: graph.accessToken,
					mediaId,
					attempts: 1,
					consume: async (stream: Readable) => {
						const chunks: Buffer[] = [];
						for await (const chunk of stream) chunks.push(chunk as Buffer);
						return Buffer.concat(chunks);
					},
				});
				expect(result).toMatchObject({ status: 'downloaded', sha256: sha256(genuine), sha256Verified: true });
			}
		});
	});

	describe('the capture template in n8n-core (Graph stand-in on loopback, local store)', () => {
		const store = new SuiteStore();
		const output = new OutputCapture();
		let pipeline: Pipeline;
		let bucket: string;

		beforeAll(async () => {
			output.install();
			bucket = await store.bucket({ objectLock: true });
			pipeline = await startPipeline({ bucket, graph: { baseUrl: graph.baseUrl, accessToken: graph.accessToken } });
		});
		afterAll(async () => {
			await pipeline?.stop();
			output.uninstall();
			expect(await store.cleanup()).toEqual([]);
		});

		/** The image fixture with its own wamid, media id and (optionally) sha256. */
		function imageDelivery(mediaId: string, sha: string | null): Buffer {
			const json = JSON.parse(fixtures.find((f) => f.name === 'inbound-image-forwarded')!.body.toString('utf8'));
			const message = json.entry[0].changes[0].value.messages[0];
			message.id = `wamid.HOSTILEMEDIA${mediaId}`;
			message.image.id = mediaId;
			if (sha === null) delete message.image.sha256;
			else message.image.sha256 = sha;
			return Buffer.from(JSON.stringify(json));
		}

		it.each([
			['lookup url on another host, no sha256', (id: string) => graph.addMedia(id, { bytes: genuine, mimeType: 'image/jpeg', url: `${foreign.baseUrl}/whatsapp_business/attachments/?mid=${id}`, noSha256: true }), null, /host|allow/i],
			['download redirected to another host, no sha256', (id: string) => graph.addMedia(id, { bytes: genuine, mimeType: 'image/jpeg', redirectTo: `${foreign.baseUrl}/stolen`, noSha256: true }), null, /redirect/i],
			['served bytes do not match the webhook sha256', (id: string) => graph.addMedia(id, { bytes: genuine, mimeType: 'image/jpeg', servedBytes: randomBytes(4096) }), sha256(genuine), /sha256 mismatch/],
		] as const)('%s → the record says media failed, no media object in the store, nothing reached the foreign host', async (label, setUp, sha, reason) => {
			const id = String(6000000000000000 + outcomes.length);
			setUp(id);
			const before = { requests: foreign.seen.length, tokens: foreign.tokens(graph.accessToken) };
			const body = imageDelivery(id, sha);
			const { status, run, versions, archived } = await pipeline.post(body, sign(body, pipeline.appSecret));
			expect(status).toBe(200);
			// the record as the trigger stored it (decrypted from the store)
			const captured: IDataObject | undefined = archived[0]?.record;
			const newMedia = versions.filter((v) => v.key.endsWith('.media.pgp')).length;
			const outcome: Outcome = {
				label: `n8n: ${label}`,
				foreignRequests: foreign.seen.length - before.requests,
				foreignTokens: foreign.tokens(graph.accessToken) - before.tokens,
				wrongBytesKept: newMedia,
				failed: captured?.media_status === 'failed',
				reason: String(captured?.media_error ?? ''),
			};
			outcomes.push(outcome);
			// the record is stored at capture (no execution, so no item carried media into n8n), without media
			expect(archived).toHaveLength(1);
			expect(archived[0].media).toBeUndefined();
			expect(run).toBeUndefined();
			expect(outcome).toMatchObject({ foreignRequests: 0, foreignTokens: 0, wrongBytesKept: 0, failed: true });
			expect(outcome.reason).toMatch(reason);
		});
	});
});
