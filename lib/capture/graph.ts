/**
 * The only place of the capture engine that speaks HTTP to Meta's Graph API (Meta, "Graph API –
 * Overview", "Handling Errors"). Plain `fetch` (Node's undici), so the engine stays free of n8n.
 */
import type { JsonObject } from './types';

/** Where the Graph API lives, as configured in the WhatsApp Capture credential. */
export interface GraphEndpoint {
	/** Base URL without version and trailing slash, e.g. `https://graph.facebook.com`. */
	baseUrl: string;
	/** Version segment, e.g. `v24.0`. */
	version: string;
	/** `fetch` to use (tests may inject one); default the global `fetch`. */
	fetch?: typeof fetch;
	/** Per-request timeout in milliseconds; default 30 000. */
	timeoutMs?: number;
}

/** One Graph API call. */
export interface GraphRequest {
	method: 'GET' | 'POST' | 'DELETE';
	/** Path after the version, without leading slash: `me`, `<app-id>/subscriptions`, `<media-id>`. */
	path: string;
	/** Bearer token: a system-user token, or an app access token `<app-id>|<app-secret>`. Never logged. */
	token: string;
	/** Query parameters (GET, DELETE) — strings, or values that are JSON-encoded. */
	query?: Record<string, unknown>;
	/** JSON body (POST). */
	body?: JsonObject;
}

/**
 * A Graph API call that failed: HTTP status plus the fields of Graph's error object
 * `{ error: { message, type, code, error_subcode, fbtrace_id } }`. The message names the method and the
 * path template (ids are business ids, never tokens) and Graph's own message.
 */
export class GraphApiError extends Error {
	/** HTTP status, or 0 for a network failure / timeout. */
	readonly status: number;
	/** Graph `error.code` (e.g. 100 invalid parameter, 190 invalid token), when given. */
	readonly code?: number;
	/** Graph `error.type` (e.g. `OAuthException`), when given. */
	readonly type?: string;
	/** Graph `error.fbtrace_id`, for Meta support. */
	readonly fbtraceId?: string;

	constructor(
		message: string,
		details: { status: number; code?: number; type?: string; fbtraceId?: string; cause?: unknown },
	) {
		super(message, details.cause === undefined ? undefined : { cause: details.cause });
		this.name = 'GraphApiError';
		this.status = details.status;
		this.code = details.code;
		this.type = details.type;
		this.fbtraceId = details.fbtraceId;
	}

	/** True for failures worth retrying: network errors, timeouts, 429 and 5xx. */
	get retryable(): boolean {
		return this.status === 0 || this.status === 429 || this.status >= 500;
	}
}

/** `<base>/<version>/<path>` with the query string appended. */
export function graphUrl(endpoint: GraphEndpoint, path: string, query?: Record<string, unknown>): string {
	const base = String(endpoint.baseUrl ?? '').replace(/\/+$/, '');
	const url = new URL(`${base}/${encodeURIComponent(endpoint.version)}/${path.replace(/^\/+/, '')}`);
	for (const [key, value] of Object.entries(query ?? {})) {
		if (value === undefined || value === null) continue;
		url.searchParams.set(key, typeof value === 'string' ? value : JSON.stringify(value));
	}
	return url.toString();
}

/**
 * Meta's media download host: a media lookup's `url` is on `lookaside.fbsbx.com` (Meta, "WhatsApp
 * Cloud API – Media", "Retrieve media URL" / "Download media"), fetched with the same Bearer token.
 */
export const META_MEDIA_HOST = 'lookaside.fbsbx.com';

/**
 * Why the access token may not be sent to `url`, or null when it may. The token goes only to the Graph
 * API host of `endpoint` (scheme, host and port of its base URL, so an override such as a provider's
 * proxy is followed) and to Meta's media host {@link META_MEDIA_HOST}, and only over https. Plain http
 * is accepted for one case: the base URL itself is http on a loopback address (a local stand-in, as
 * tests use), and then only for that same origin. The reason names the host, never the path or query.
 */
export function tokenUrlRefusal(endpoint: GraphEndpoint, url: string): string | null {
	let base: URL;
	let target: URL;
	try {
		base = new URL(String(endpoint.baseUrl ?? ''));
		target = new URL(url);
	} catch {
		return 'not a valid URL';
	}
	if (target.host !== base.host && target.host !== META_MEDIA_HOST) {
		return `host ${target.hostname} is neither the Graph API host (${base.hostname}) nor Meta's media host (${META_MEDIA_HOST})`;
	}
	if (target.protocol === 'https:') return null;
	if (target.protocol === 'http:' && base.protocol === 'http:' && target.origin === base.origin && isLoopback(base.hostname)) return null;
	return `${target.protocol.replace(/:$/, '')} to ${target.hostname} refused: https only (plain http only for a Graph API Base URL on a loopback address)`;
}

/** `localhost`, 127.0.0.0/8 or ::1 (RFC 6761 §6.3, RFC 1122 §3.2.1.3, RFC 4291 §2.5.3). */
function isLoopback(hostname: string): boolean {
	return hostname === 'localhost' || hostname === '[::1]' || /^127\.\d{1,3}\.\d{1,3}\.\d{1,3}$/.test(hostname);
}

/**
 * Sends one Graph API request with `Authorization: Bearer <token>` and returns the JSON body.
 *
 * @returns the parsed JSON object (an empty object for an empty 2xx body).
 * @throws GraphApiError for non-2xx answers (status, code, type, fbtrace_id from Graph's error
 *   object), for network failures and timeouts (status 0), for a 2xx body that is not JSON, and
 *   (status 0, nothing sent) for a base URL the token may not go to ({@link tokenUrlRefusal}).
 *   The message never contains the token.
 */
export async function graphRequest(endpoint: GraphEndpoint, request: GraphRequest): Promise<JsonObject> {
	const doFetch = endpoint.fetch ?? fetch;
	const where = `${request.method} /${endpoint.version}/${describePath(request.path)}`;
	const url = graphUrl(endpoint, request.path, request.query);
	const refusal = tokenUrlRefusal(endpoint, url);
	if (refusal !== null) {
		throw new GraphApiError(`Graph API ${where} not sent: ${refusal}; check the credential's Graph API Base URL`, { status: 0 });
	}
	let response: Response;
	try {
		response = await doFetch(url, {
			method: request.method,
			headers: {
				Authorization: `Bearer ${request.token}`,
				Accept: 'application/json',
				...(request.body ? { 'Content-Type': 'application/json' } : {}),
			},
			body: request.body ? JSON.stringify(request.body) : undefined,
			signal: AbortSignal.timeout(endpoint.timeoutMs ?? 30_000),
			redirect: 'error',
		});
	} catch (error) {
		throw new GraphApiError(`Graph API ${where} failed: ${networkReason(error)}`, { status: 0, cause: plainFetchError(error) });
	}
	const text = await response.text();
	let json: unknown;
	try {
		json = text.length > 0 ? JSON.parse(text) : {};
	} catch {
		json = undefined;
	}
	if (!response.ok) {
		const error =
			json && typeof json === 'object' && typeof (json as JsonObject).error === 'object'
				? ((json as JsonObject).error as JsonObject)
				: {};
		const code = typeof error.code === 'number' ? error.code : undefined;
		const type = typeof error.type === 'string' ? error.type : undefined;
		const message = typeof error.message === 'string' ? error.message.slice(0, 300) : 'no error message';
		throw new GraphApiError(
			`Graph API ${where} failed: HTTP ${response.status}${type ? ` ${type}` : ''}${code !== undefined ? ` (code ${code})` : ''}: ${message}`,
			{
				status: response.status,
				code,
				type,
				fbtraceId: typeof error.fbtrace_id === 'string' ? error.fbtrace_id : undefined,
			},
		);
	}
	if (json === undefined || json === null || typeof json !== 'object' || Array.isArray(json)) {
		throw new GraphApiError(`Graph API ${where} answered HTTP ${response.status} without a JSON object`, {
			status: response.status,
		});
	}
	return json as JsonObject;
}

/** The path with purely numeric ids kept (business ids) and anything else reduced to its shape. */
function describePath(path: string): string {
	return path
		.replace(/^\/+/, '')
		.split('/')
		.map((segment) => (/^[A-Za-z0-9_.-]{1,64}$/.test(segment) ? segment : '…'))
		.join('/');
}

/**
 * A plain copy of a fetch failure kept as `GraphApiError.cause`: `{ name, message, code?, cause?: {
 * name, message, code? } }`, strings only. The raw error is not kept: it belongs to the HTTP client
 * (undici), whose objects may reach the connection and the request, and the request carries the
 * `Authorization: Bearer` token.
 */
export function plainFetchError(error: unknown): { name: string; message: string; code?: string; cause?: { name: string; message: string; code?: string } } {
	const flat = (value: unknown) => {
		const e = (value !== null && typeof value === 'object' ? value : {}) as { name?: unknown; message?: unknown; code?: unknown };
		return {
			name: typeof e.name === 'string' ? e.name : 'Error',
			message: typeof e.message === 'string' ? e.message : '',
			...(typeof e.code === 'string' ? { code: e.code } : {}),
		};
	};
	const inner = (error as { cause?: unknown } | null)?.cause;
	return { ...flat(error), ...(inner !== null && typeof inner === 'object' ? { cause: flat(inner) } : {}) };
}

/** A short, content-free description of a fetch failure (`timeout`, `ECONNREFUSED`, …). */
export function networkReason(error: unknown): string {
	const name = (error as { name?: string })?.name;
	if (name === 'TimeoutError' || name === 'AbortError') return 'timeout';
	const cause = (error as { cause?: { code?: unknown } })?.cause;
	if (cause && typeof cause.code === 'string') return `network error (${cause.code})`;
	const code = (error as { code?: unknown })?.code;
	if (typeof code === 'string') return `network error (${code})`;
	return 'network error';
}
