/**
 * A local stand-in for the parts of Meta's Graph API the capture trigger calls, speaking the documented
 * shapes (Meta, "WhatsApp Cloud API – Media", "Graph API – Application Subscriptions", "Webhook
 * overrides", "Handling Errors"):
 *
 * - `GET /<v>/me` → `{ id, name }` (system-user token);
 * - `GET /<v>/<MEDIA_ID>[?phone_number_id=]` → `{ messaging_product, url, mime_type, sha256, file_size, id }`;
 * - `GET <url>` (the "lookaside" URL) with the same Bearer token → the bytes, streamed in chunks;
 * - `GET|POST|DELETE /<v>/<APP_ID>/subscriptions` with the app token `<app-id>|<app-secret>`;
 * - `GET|POST /<v>/<WABA_ID>/subscribed_apps` (`override_callback_uri`, `verify_token`);
 * - `GET /<v>/<PHONE_NUMBER_ID>?fields=webhook_configuration`, `POST /<v>/<PHONE_NUMBER_ID>`
 *   (`webhook_configuration.override_callback_uri`).
 * Errors come as `{ error: { message, type, code, fbtrace_id } }`. With `verifyCallbacks`, registering a
 * callback first performs Meta's GET handshake against it (code 2200 when it fails), as Meta does.
 */
import { createHash, randomBytes } from 'node:crypto';
import http from 'node:http';
import type { AddressInfo } from 'node:net';

/** One media object served by the stand-in. */
export interface StandInMedia {
	bytes: Buffer;
	mimeType: string;
	/** `sha256` the lookup reports; default the true digest (hex). */
	sha256?: string;
	/** Serve these bytes instead of `bytes` (simulates corruption in transit). */
	servedBytes?: Buffer;
	/** `url` the lookup reports instead of the stand-in's own download URL (e.g. another host). */
	url?: string;
	/** The lookup reports no `sha256`. */
	noSha256?: boolean;
	/** The download answers `302 Found` with this `Location` instead of the bytes. */
	redirectTo?: string;
}

/** A request the stand-in saw (token replaced by its kind). */
export interface SeenRequest {
	method: string;
	path: string;
	query: Record<string, string>;
	auth: 'system' | 'app' | 'none' | 'wrong';
	body?: Record<string, unknown>;
}

interface AppSubscription {
	object: string;
	callback_url: string;
	active: boolean;
	fields: Array<{ name: string; version: string }>;
}

export class GraphStandIn {
	version = 'v24.0';
	readonly accessToken = `EAAG${randomBytes(12).toString('hex')}`;
	readonly appId = '670843887433847';
	readonly appSecret = randomBytes(16).toString('hex');
	readonly media = new Map<string, StandInMedia>();
	/** Download URLs issued with a sequence number below this answer 404 (expired 5-minute URL). */
	expireUrlsBefore = 0;
	/** Status codes to answer for the next lookups of a media id, one per lookup (then normal). */
	readonly lookupFailures = new Map<string, number[]>();
	/** Status codes to answer for the next downloads (any media), one per download. */
	downloadFailures: number[] = [];
	/** Whether POSTs registering a callback perform Meta's verification GET first. */
	verifyCallbacks = false;
	readonly requests: SeenRequest[] = [];
	readonly appSubscriptions = new Map<string, AppSubscription[]>();
	readonly wabaApps = new Map<string, Array<Record<string, unknown>>>();
	readonly phones = new Map<string, { application?: string; whatsapp_business_account?: string; phone_number?: string }>();
	private issued = 0;
	private server?: http.Server;
	baseUrl = '';

	async start(): Promise<string> {
		this.server = http.createServer((req, res) => {
			this.handle(req, res).catch((error) => {
				if (!res.headersSent) this.error(res, 500, String(error?.message ?? error), 'GraphMethodException', 1);
				else res.destroy();
			});
		});
		await new Promise<void>((resolve) => this.server!.listen(0, '127.0.0.1', resolve));
		this.baseUrl = `http://127.0.0.1:${(this.server.address() as AddressInfo).port}`;
		return this.baseUrl;
	}

	async stop(): Promise<void> {
		await new Promise<void>((resolve) => (this.server ? this.server.close(() => resolve()) : resolve()));
	}

	/** The next `count` download URLs issued are already expired (their download answers 404). */
	expireNextUrls(count: number): void {
		this.expireUrlsBefore = this.issued + count;
	}

	/** Adds a media object; returns its id. */
	addMedia(id: string, media: StandInMedia): string {
		this.media.set(id, media);
		return id;
	}

	/** Requests whose path matches. */
	seen(pathPattern: RegExp, method?: string): SeenRequest[] {
		return this.requests.filter((r) => pathPattern.test(r.path) && (!method || r.method === method));
	}

	private async handle(req: http.IncomingMessage, res: http.ServerResponse) {
		const url = new URL(req.url ?? '/', this.baseUrl);
		const chunks: Buffer[] = [];
		for await (const chunk of req) chunks.push(chunk as Buffer);
		const text = Buffer.concat(chunks).toString('utf8');
		let body: Record<string, unknown> | undefined;
		if (text) {
			body = (req.headers['content-type'] ?? '').includes('json')
				? (JSON.parse(text) as Record<string, unknown>)
				: Object.fromEntries(new URLSearchParams(text));
		}
		const query = Object.fromEntries(url.searchParams);
		const token =
			(req.headers.authorization ?? '').replace(/^Bearer /, '') || (typeof query.access_token === 'string' ? query.access_token : '');
		const auth: SeenRequest['auth'] = !token
			? 'none'
			: token === this.accessToken
				? 'system'
				: token === `${this.appId}|${this.appSecret}`
					? 'app'
					: 'wrong';
		const method = req.method ?? 'GET';
		this.requests.push({ method, path: url.pathname, query, auth, body });

		if (url.pathname.startsWith('/lookaside/')) return this.download(url, auth, res);
		const prefix = `/${this.version}/`;
		if (!url.pathname.startsWith(prefix)) return this.error(res, 400, 'Unknown path components', 'OAuthException', 2500);
		const segments = url.pathname.slice(prefix.length).split('/').filter(Boolean);
		if (auth === 'none') return this.error(res, 400, 'An active access token must be used to query information about the current user.', 'OAuthException', 2500);
		if (auth === 'wrong') return this.error(res, 401, 'Invalid OAuth access token - Cannot parse access token', 'OAuthException', 190);

		if (segments.length === 1 && segments[0] === 'me' && method === 'GET') {
			return this.json(res, 200, { id: '1000000001', name: 'Archive System User' });
		}
		if (segments.length === 2 && segments[1] === 'subscriptions') return this.subscriptions(segments[0], method, auth, query, body, res);
		if (segments.length === 2 && segments[1] === 'subscribed_apps') return this.subscribedApps(segments[0], method, auth, body, res);
		if (segments.length === 1 && this.media.has(segments[0]) && method === 'GET') return this.lookup(segments[0], auth, res);
		if (segments.length === 1 && this.phones.has(segments[0])) return this.phone(segments[0], method, auth, body, res);
		return this.error(
			res,
			method === 'GET' ? 400 : 400,
			`Unsupported ${method} request. Object with ID '${segments[0]}' does not exist, cannot be loaded due to missing permissions, or does not support this operation.`,
			'GraphMethodException',
			100,
		);
	}

	private lookup(id: string, auth: SeenRequest['auth'], res: http.ServerResponse) {
		if (auth !== 'system') return this.error(res, 403, 'Permission denied', 'OAuthException', 200);
		const failures = this.lookupFailures.get(id);
		const failure = failures?.shift();
		if (failure !== undefined) return this.error(res, failure, 'Simulated failure', 'OAuthException', failure === 404 ? 100 : 1);
		const media = this.media.get(id)!;
		const sequence = this.issued++;
		return this.json(res, 200, {
			messaging_product: 'whatsapp',
			url: media.url ?? `${this.baseUrl}/lookaside/${id}?mid=${id}&seq=${sequence}&hash=${randomBytes(4).toString('hex')}`,
			mime_type: media.mimeType,
			...(media.noSha256 ? {} : { sha256: media.sha256 ?? createHash('sha256').update(media.bytes).digest('hex') }),
			file_size: media.bytes.length,
			id,
		});
	}

	private download(url: URL, auth: SeenRequest['auth'], res: http.ServerResponse) {
		if (auth !== 'system') return this.error(res, 401, 'Unauthorized', 'OAuthException', 190);
		const failure = this.downloadFailures.shift();
		if (failure !== undefined) return this.error(res, failure, 'Simulated failure', 'OAuthException', 1);
		const sequence = Number(url.searchParams.get('seq'));
		if (!(sequence >= this.expireUrlsBefore)) return this.error(res, 404, 'URL expired', 'OAuthException', 100);
		const media = this.media.get(url.pathname.slice('/lookaside/'.length));
		if (!media) return this.error(res, 404, 'Not found', 'OAuthException', 100);
		if (media.redirectTo) {
			res.writeHead(302, { location: media.redirectTo, 'content-length': '0' });
			return void res.end();
		}
		const bytes = media.servedBytes ?? media.bytes;
		res.writeHead(200, { 'content-type': media.mimeType, 'content-length': String(bytes.length) });
		const chunk = 64 * 1024;
		let offset = 0;
		const pump = () => {
			while (offset < bytes.length) {
				const ok = res.write(bytes.subarray(offset, offset + chunk));
				offset += chunk;
				if (!ok) return void res.once('drain', pump);
			}
			res.end();
		};
		pump();
	}

	private async subscriptions(
		appId: string,
		method: string,
		auth: SeenRequest['auth'],
		query: Record<string, string>,
		body: Record<string, unknown> | undefined,
		res: http.ServerResponse,
	) {
		if (appId !== this.appId) return this.error(res, 400, `Object with ID '${appId}' does not exist`, 'GraphMethodException', 100);
		if (auth !== 'app') return this.error(res, 400, '(#15) This method must be called with an app access_token.', 'OAuthException', 15);
		const list = this.appSubscriptions.get(appId) ?? [];
		this.appSubscriptions.set(appId, list);
		if (method === 'GET') return this.json(res, 200, { data: list });
		if (method === 'DELETE') {
			const object = query.object;
			const remaining = list.filter((s) => object && s.object !== object);
			this.appSubscriptions.set(appId, remaining);
			return this.json(res, 200, { success: true });
		}
		if (method === 'POST') {
			const callback = String(body?.callback_url ?? '');
			const token = String(body?.verify_token ?? '');
			if (!(await this.verify(callback, token))) {
				return this.error(res, 400, '(#2200) callback verification failed', 'OAuthException', 2200);
			}
			const fields = String(body?.fields ?? '')
				.split(',')
				.map((f) => f.trim())
				.filter(Boolean)
				.map((name) => ({ name, version: this.version }));
			const object = String(body?.object ?? '');
			const others = list.filter((s) => s.object !== object);
			this.appSubscriptions.set(appId, [...others, { object, callback_url: callback, active: true, fields }]);
			return this.json(res, 200, { success: true });
		}
		return this.error(res, 400, 'Unsupported method', 'GraphMethodException', 100);
	}

	private async subscribedApps(
		wabaId: string,
		method: string,
		auth: SeenRequest['auth'],
		body: Record<string, unknown> | undefined,
		res: http.ServerResponse,
	) {
		if (!this.wabaApps.has(wabaId)) return this.error(res, 400, `Object with ID '${wabaId}' does not exist`, 'GraphMethodException', 100);
		if (auth !== 'system') return this.error(res, 403, 'Permission denied', 'OAuthException', 200);
		const entries = this.wabaApps.get(wabaId)!;
		if (method === 'GET') return this.json(res, 200, { data: entries });
		if (method === 'POST') {
			let entry = entries.find((e) => (e.whatsapp_business_api_data as { id: string }).id === this.appId);
			if (!entry) {
				entry = { whatsapp_business_api_data: { id: this.appId, link: 'https://www.facebook.com/games/?app_id=' + this.appId, name: 'Archive App' } };
				entries.push(entry);
			}
			const uri = typeof body?.override_callback_uri === 'string' ? body.override_callback_uri : '';
			if (uri) {
				if (!(await this.verify(uri, String(body?.verify_token ?? '')))) {
					return this.error(res, 400, '(#2200) callback verification failed', 'OAuthException', 2200);
				}
				entry.override_callback_uri = uri;
			} else {
				delete entry.override_callback_uri;
			}
			return this.json(res, 200, { success: true });
		}
		if (method === 'DELETE') {
			this.wabaApps.set(wabaId, entries.filter((e) => (e.whatsapp_business_api_data as { id: string }).id !== this.appId));
			return this.json(res, 200, { success: true });
		}
		return this.error(res, 400, 'Unsupported method', 'GraphMethodException', 100);
	}

	private async phone(
		id: string,
		method: string,
		auth: SeenRequest['auth'],
		body: Record<string, unknown> | undefined,
		res: http.ServerResponse,
	) {
		if (auth !== 'system') return this.error(res, 403, 'Permission denied', 'OAuthException', 200);
		const configuration = this.phones.get(id)!;
		if (method === 'GET') return this.json(res, 200, { webhook_configuration: configuration, id });
		if (method === 'POST') {
			const wanted = (body?.webhook_configuration ?? {}) as Record<string, unknown>;
			const uri = typeof wanted.override_callback_uri === 'string' ? wanted.override_callback_uri : undefined;
			if (uri === undefined) return this.error(res, 400, '(#100) Param webhook_configuration must be set', 'OAuthException', 100);
			if (uri === '') delete configuration.phone_number;
			else {
				if (!(await this.verify(uri, String(wanted.verify_token ?? '')))) {
					return this.error(res, 400, '(#2200) callback verification failed', 'OAuthException', 2200);
				}
				configuration.phone_number = uri;
			}
			return this.json(res, 200, { success: true });
		}
		return this.error(res, 400, 'Unsupported method', 'GraphMethodException', 100);
	}

	/** Meta's verification request against a callback URL (only with `verifyCallbacks`). */
	private async verify(callback: string, token: string): Promise<boolean> {
		if (!this.verifyCallbacks) return true;
		const challenge = String(Math.floor(Math.random() * 1e9));
		const url = new URL(callback);
		url.searchParams.set('hub.mode', 'subscribe');
		url.searchParams.set('hub.challenge', challenge);
		url.searchParams.set('hub.verify_token', token);
		try {
			const response = await fetch(url);
			return response.status === 200 && (await response.text()) === challenge;
		} catch {
			return false;
		}
	}

	private json(res: http.ServerResponse, status: number, body: unknown) {
		res.writeHead(status, { 'content-type': 'application/json' });
		res.end(JSON.stringify(body));
	}

	private error(res: http.ServerResponse, status: number, message: string, type: string, code: number) {
		this.json(res, status, { error: { message, type, code, fbtrace_id: `A${randomBytes(8).toString('hex')}` } });
	}
}
