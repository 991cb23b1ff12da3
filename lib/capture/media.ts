/**
 * Media download of the capture engine (Meta, "WhatsApp Cloud API – Media": "Retrieve media URL"
 * and "Download media"): `GET /<version>/<MEDIA_ID>` with the access token gives
 * `{ messaging_product, url, mime_type, sha256, file_size, id }`; `GET <url>` with the same Bearer
 * token gives the bytes. The URL is valid for 5 minutes; after that it is re-resolved. The token only
 * goes where {@link tokenUrlRefusal} allows (https, the Graph API host or Meta's media host).
 */
import { createHash, timingSafeEqual } from 'node:crypto';
import { Readable, Transform, type TransformCallback } from 'node:stream';

import { isObject, MEDIA_MESSAGE_TYPES, stringOrNull } from './content';
import { GraphApiError, graphRequest, graphUrl, networkReason, tokenUrlRefusal, type GraphEndpoint } from './graph';
import type { CaptureRecord } from './types';

export { MEDIA_MESSAGE_TYPES };

/** Largest media Meta allows (documents: 100 MB), used as the default byte limit. */
export const DEFAULT_MAX_MEDIA_BYTES = 100 * 1024 * 1024;

/** Redirects followed per download, each to a host {@link tokenUrlRefusal} allows. */
export const MAX_MEDIA_REDIRECTS = 3;

/** HTTP redirect statuses (RFC 9110 §15.4). */
const REDIRECT_STATUSES = new Set([301, 302, 303, 307, 308]);

/** What a media message says about its file. */
export interface MediaReference {
	/** Graph API media id (`content.id`). */
	mediaId: string;
	/** `content.mime_type`, or null. */
	mimeType: string | null;
	/** `content.sha256` as sent in the webhook (hex or base64), or null. */
	sha256: string | null;
	/** `content.filename` (documents only), or null. This is user content: never put it in object keys. */
	fileName: string | null;
}

/**
 * The media reference of a record: for `message` records of a media type ({@link MEDIA_MESSAGE_TYPES})
 * whose content has a non-empty `id`; null for every other record.
 */
export function mediaReference(record: CaptureRecord): MediaReference | null {
	if (record.record_kind !== 'message') return null;
	if (!(MEDIA_MESSAGE_TYPES as readonly string[]).includes(record.type)) return null;
	const content = isObject(record.content) ? record.content : {};
	const mediaId = stringOrNull(content.id);
	if (mediaId === null) return null;
	return {
		mediaId,
		mimeType: stringOrNull(content.mime_type),
		sha256: stringOrNull(content.sha256),
		fileName: stringOrNull(content.filename),
	};
}

/** Facts handed to {@link DownloadMediaOptions.consume} with the byte stream. */
export interface MediaStreamInfo {
	/** MIME type from the media object (else the webhook), `application/octet-stream` when neither. */
	mimeType: string;
	/** `file_size` of the media object (bytes), or null when absent. */
	fileSize: number | null;
	/** 1-based attempt number. */
	attempt: number;
}

/** Attempts and back-off of a download (every media download shares them). */
export interface MediaRetryOptions {
	/** Attempts in all (a WhatsApp media lookup and its download count as one); default 3. */
	attempts?: number;
	/** First back-off in ms, doubled per attempt; default 500. */
	backoffMs?: number;
	/** Sleep function (tests). */
	sleep?: (ms: number) => Promise<void>;
}

/** Options of {@link downloadMedia}. */
export interface DownloadMediaOptions<T> extends MediaRetryOptions {
	/** Graph API endpoint (credential's base URL and version). */
	graph: GraphEndpoint;
	/** System-user access token with `whatsapp_business_messaging`. Never logged nor returned. */
	accessToken: string;
	/** Media id from the webhook. */
	mediaId: string;
	/** Business phone number id, sent as `phone_number_id` query parameter (Meta: optional check). */
	phoneNumberId?: string | null;
	/** `sha256` from the webhook (hex or base64). When absent, the media object's `sha256` is used. */
	expectedSha256?: string | null;
	/** MIME type from the webhook, used when the media object has none. */
	mimeType?: string | null;
	/**
	 * Receives the byte stream (never buffered here) and returns what the caller made of it (e.g. an
	 * n8n binary). It must consume the stream to the end; a stream error rejects the attempt.
	 */
	consume: (stream: Readable, info: MediaStreamInfo) => Promise<T>;
	/** Refuse media larger than this many bytes; default {@link DEFAULT_MAX_MEDIA_BYTES}. */
	maxBytes?: number;
}

/** Result of {@link downloadMedia}. */
export type DownloadMediaResult<T> =
	| {
			status: 'downloaded';
			/** What `consume` returned for the successful attempt. */
			value: T;
			/** Lowercase hex SHA-256 of the bytes. */
			sha256: string;
			/** Number of bytes. */
			size: number;
			mimeType: string;
			/** True when the bytes were checked against a `sha256` (webhook or media object). */
			sha256Verified: boolean;
			attempts: number;
	  }
	| {
			status: 'failed';
			/** Why, e.g. `media lookup: HTTP 404 (code 100)`, `sha256 mismatch`. Never content nor tokens. */
			error: string;
			attempts: number;
	  };

/** One failed attempt: whether to go on, and whether the URL must be looked up again. */
class AttemptFailure extends Error {
	constructor(
		message: string,
		readonly retry: boolean,
		readonly reResolve: boolean,
	) {
		super(message);
	}
}

/** The bytes of one successful attempt: what {@link DownloadMediaResult} says besides status and attempts. */
export type DownloadedMedia<T> = Omit<Extract<DownloadMediaResult<T>, { status: 'downloaded' }>, 'status' | 'attempts'>;

/**
 * The retry policy of every media download (WhatsApp, Messenger / Instagram / Twilio attachments,
 * Telegram files): `tryOnce` up to `attempts` times, the n-th after `backoffMs · 2^(n-2)` ms, until it
 * succeeds or `judge` says a failure would repeat. Never throws.
 *
 * @param judge the reason (never content nor a secret) of a failed attempt and whether to retry
 */
export async function withMediaRetries<T>(
	options: MediaRetryOptions,
	tryOnce: (attempt: number) => Promise<DownloadedMedia<T>>,
	judge: (error: unknown) => { reason: string; retry: boolean },
): Promise<DownloadMediaResult<T>> {
	const attempts = Math.max(1, Math.floor(options.attempts ?? 3));
	const backoffMs = Math.max(0, options.backoffMs ?? 500);
	const sleep = options.sleep ?? ((ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms)));
	let lastError = 'not attempted';
	for (let attempt = 1; attempt <= attempts; attempt++) {
		if (attempt > 1) await sleep(backoffMs * 2 ** (attempt - 2));
		try {
			return { ...(await tryOnce(attempt)), status: 'downloaded', attempts: attempt };
		} catch (error) {
			const { reason, retry } = judge(error);
			lastError = reason;
			if (!retry) return { status: 'failed', error: lastError, attempts: attempt };
		}
	}
	return { status: 'failed', error: `${lastError} (after ${attempts} attempts)`, attempts };
}

/** An {@link AttemptFailure} as it is, any other error as a retryable failure with a safe reason. */
function asAttemptFailure(error: unknown): AttemptFailure {
	return error instanceof AttemptFailure ? error : new AttemptFailure(safeReason(error), true, false);
}

/**
 * Downloads one media file, streamed, with retries.
 *
 * Per attempt: look the media id up (unless a still-valid URL is known), `GET` the URL with the same
 * Bearer token, pipe the bytes through a SHA-256 / size tap into `consume`. The token goes only where
 * {@link tokenUrlRefusal} allows: a lookup `url` elsewhere (another host, plain http) is refused before
 * any request, and redirects are followed by hand, at most {@link MAX_MEDIA_REDIRECTS}, each only to
 * such a URL. When a `sha256` is known (`expectedSha256`, else the lookup's), the tap compares it
 * (constant time; hex or base64) before it ends the stream: on a mismatch the consumer's stream fails
 * instead of ending, so no consumer ever finishes with bytes that do not match.
 * - Lookup answered 4xx (not 429), a refused URL or redirect: permanent failure (the media id is
 *   unknown or expired after 7 days; the URL would be refused again).
 * - Download answered 401/403/404/410: the 5-minute URL expired or was refused → re-resolve the media
 *   id on the next attempt.
 * - 429, 5xx, network errors, stream errors, sha256 mismatch: retried after
 *   `backoffMs · 2^(attempt-1)` ms (a mismatch looks the media id up again); size over `maxBytes`: not.
 *
 * @returns `downloaded` with the consumer's value, digest and size, or `failed` with a content-free
 *   reason after the last attempt. Never throws for HTTP or stream problems; rethrows nothing.
 */
export async function downloadMedia<T>(options: DownloadMediaOptions<T>): Promise<DownloadMediaResult<T>> {
	const doFetch = options.graph.fetch ?? fetch;
	let known: { url: string; mimeType: string; sha256: string | null; fileSize: number | null } | undefined;
	return await withMediaRetries(
		options,
		async (attempt) => {
			known ??= await lookup(options);
			return await fetchAndConsume(options, known, attempt, doFetch);
		},
		(error) => {
			const failure = asAttemptFailure(error);
			// an expired or refused URL: the next attempt looks the media up again
			if (failure.reResolve) known = undefined;
			return { reason: failure.message, retry: failure.retry };
		},
	);
}

/** `GET /<version>/<media id>`: the short-lived URL and the file facts. */
async function lookup<T>(options: DownloadMediaOptions<T>) {
	const baseRefusal = tokenUrlRefusal(options.graph, graphUrl(options.graph, encodeURIComponent(options.mediaId)));
	if (baseRefusal !== null) throw new AttemptFailure(`media lookup not sent: ${baseRefusal}`, false, false);
	let media;
	try {
		media = await graphRequest(options.graph, {
			method: 'GET',
			path: encodeURIComponent(options.mediaId),
			token: options.accessToken,
			query: options.phoneNumberId ? { phone_number_id: options.phoneNumberId } : undefined,
		});
	} catch (error) {
		if (error instanceof GraphApiError) {
			const reason = `media lookup: ${error.status === 0 ? 'network error' : `HTTP ${error.status}`}${
				error.code !== undefined ? ` (code ${error.code})` : ''
			}`;
			throw new AttemptFailure(reason, error.retryable, true);
		}
		throw error;
	}
	const url = stringOrNull(media.url);
	if (url === null || !/^https?:\/\//i.test(url)) {
		throw new AttemptFailure('media lookup: answer has no url', true, true);
	}
	const refusal = tokenUrlRefusal(options.graph, url);
	if (refusal !== null) throw new AttemptFailure(`media lookup: answer url refused: ${refusal}`, false, false);
	const size = typeof media.file_size === 'number' ? media.file_size : Number(media.file_size);
	return {
		url,
		mimeType: stringOrNull(media.mime_type) ?? options.mimeType ?? 'application/octet-stream',
		sha256: stringOrNull(media.sha256),
		fileSize: Number.isFinite(size) && size >= 0 ? size : null,
	};
}

/** `GET <url>` with the Bearer token (redirects checked and followed by hand), streamed through the hash tap into `consume`. */
async function fetchAndConsume<T>(
	options: DownloadMediaOptions<T>,
	known: { url: string; mimeType: string; sha256: string | null; fileSize: number | null },
	attempt: number,
	doFetch: typeof fetch,
) {
	const response = await fetchMedia(options, known.url, doFetch);
	if (!response.ok || !response.body) {
		await response.body?.cancel().catch(() => undefined);
		const expired = [401, 403, 404, 410].includes(response.status);
		throw new AttemptFailure(
			`media download: HTTP ${response.status}${expired ? ' (URL expired or refused, re-resolved)' : ''}`,
			true,
			expired,
		);
	}
	const maxBytes = options.maxBytes ?? DEFAULT_MAX_MEDIA_BYTES;
	const declared = Number(response.headers.get('content-length'));
	if (Number.isFinite(declared) && declared > maxBytes) {
		await response.body.cancel().catch(() => undefined);
		throw new AttemptFailure(`media download: ${declared} bytes exceed the limit of ${maxBytes}`, false, false);
	}
	const expected = options.expectedSha256 ?? known.sha256 ?? null;
	const source = Readable.fromWeb(response.body as Parameters<typeof Readable.fromWeb>[0]);
	const tap = new HashTap(maxBytes, expected);
	// the consumer sees the tap's errors through its own reading; this keeps one it missed (a consumer
	// that read everything before the failing end) from becoming an uncaught exception
	tap.on('error', () => undefined);
	source.on('error', (error) => tap.destroy(error));
	source.pipe(tap);
	let value: T;
	try {
		value = await options.consume(tap, { mimeType: known.mimeType, fileSize: known.fileSize, attempt });
	} catch (error) {
		source.destroy();
		if (tap.tooLarge) throw new AttemptFailure(`media download: more than ${maxBytes} bytes`, false, false);
		if (tap.mismatch) throw new AttemptFailure('media download: sha256 mismatch', true, true);
		throw new AttemptFailure(`media download: stream failed (${safeReason(error)})`, true, false);
	}
	if (tap.mismatch) throw new AttemptFailure('media download: sha256 mismatch', true, true);
	if (!tap.finished) {
		throw new AttemptFailure('media download: the consumer did not read the whole stream', false, false);
	}
	return {
		value,
		sha256: tap.digest().toString('hex'),
		size: tap.bytes,
		mimeType: known.mimeType,
		sha256Verified: expected !== null,
	};
}

/**
 * `GET <url>` with the Bearer token and `redirect: 'manual'`: each hop's URL is checked with
 * {@link tokenUrlRefusal} before the token is sent, at most {@link MAX_MEDIA_REDIRECTS} redirects.
 * @returns the first response that is not a redirect.
 */
async function fetchMedia<T>(options: DownloadMediaOptions<T>, firstUrl: string, doFetch: typeof fetch): Promise<Response> {
	const signal = AbortSignal.timeout(options.graph.timeoutMs ?? 300_000);
	let url = firstUrl;
	for (let redirects = 0; ; redirects++) {
		let response: Response;
		try {
			response = await doFetch(url, { headers: { Authorization: `Bearer ${options.accessToken}` }, redirect: 'manual', signal });
		} catch (error) {
			throw new AttemptFailure(`media download: ${networkReason(error)}`, true, false);
		}
		if (!REDIRECT_STATUSES.has(response.status)) return response;
		await response.body?.cancel().catch(() => undefined);
		const location = response.headers.get('location');
		if (location === null) throw new AttemptFailure(`media download: HTTP ${response.status} without Location`, true, true);
		if (redirects >= MAX_MEDIA_REDIRECTS) throw new AttemptFailure(`media download: more than ${MAX_MEDIA_REDIRECTS} redirects`, false, false);
		let next: string;
		try {
			next = new URL(location, url).toString();
		} catch {
			throw new AttemptFailure('media download: redirect refused: not a valid URL', false, false);
		}
		const refusal = tokenUrlRefusal(options.graph, next);
		if (refusal !== null) throw new AttemptFailure(`media download: redirect refused: ${refusal}`, false, false);
		url = next;
	}
}

/** Options of {@link downloadAttachment}. */
export interface DownloadAttachmentOptions<T> extends MediaRetryOptions {
	/** The attachment URL from the webhook (Messenger / Instagram `payload.url`). */
	url: string;
	/** MIME type to report when the answer has no Content-Type. */
	mimeType?: string | null;
	/** As {@link DownloadMediaOptions.consume}. */
	consume: (stream: Readable, info: MediaStreamInfo) => Promise<T>;
	/** Refuse attachments larger than this many bytes; default {@link DEFAULT_MAX_MEDIA_BYTES}. */
	maxBytes?: number;
	/** Whole-download timeout in ms; default 300 000. */
	timeoutMs?: number;
	/** Fetch implementation (tests). */
	fetch?: typeof fetch;
	/** Also accept plain http to a loopback address (a local stand-in in tests); default false. */
	allowLoopbackHttp?: boolean;
	/**
	 * An `Authorization` header value sent only to URLs on `host` (Twilio's media URLs need the
	 * account's HTTP Basic auth; the CDN they redirect to gets no credential).
	 */
	authorization?: { header: string; host: string };
}

/**
 * Downloads one attachment of a Messenger or Instagram message from the URL in the webhook (Meta
 * "Webhook Events Reference", `message.attachments[].payload.url`: a CDN URL that needs no token and
 * expires), or a Twilio MMS media file (`MediaUrl{N}`; Twilio Docs, "Media resource": HTTP Basic auth
 * with the account when media URL auth is enforced, then a redirect to a signed CDN URL), streamed
 * through the same SHA-256 / size tap as WhatsApp media. A credential is sent only with
 * `authorization`, only to its host.
 * https only (plain http only to a loopback address with `allowLoopbackHttp`), at most
 * {@link MAX_MEDIA_REDIRECTS} redirects, each checked the same way. 429, 5xx, network and stream
 * errors are retried; other 4xx (an expired URL), a refused URL and a size over `maxBytes` are not.
 *
 * @returns as {@link downloadMedia} (`sha256Verified` false: the webhook gives no digest). Never throws.
 */
export async function downloadAttachment<T>(options: DownloadAttachmentOptions<T>): Promise<DownloadMediaResult<T>> {
	return await withMediaRetries(
		options,
		async (attempt) => await fetchAttachment(options, attempt),
		(error) => {
			const failure = asAttemptFailure(error);
			return { reason: failure.message, retry: failure.retry };
		},
	);
}

/** Why an attachment URL is refused, or null: https only, plain http only to loopback when allowed. */
function attachmentUrlRefusal(url: string, allowLoopbackHttp: boolean): string | null {
	let target: URL;
	try {
		target = new URL(url);
	} catch {
		return 'not a valid URL';
	}
	if (target.protocol === 'https:') return null;
	const loopback = ['localhost', '[::1]'].includes(target.hostname) || /^127\.\d{1,3}\.\d{1,3}\.\d{1,3}$/.test(target.hostname);
	if (target.protocol === 'http:' && allowLoopbackHttp && loopback) return null;
	return `${target.protocol.replace(/:$/, '')} refused: https only`;
}

async function fetchAttachment<T>(options: DownloadAttachmentOptions<T>, attempt: number) {
	const doFetch = options.fetch ?? fetch;
	const signal = AbortSignal.timeout(options.timeoutMs ?? 300_000);
	let url = options.url;
	let response: Response;
	for (let redirects = 0; ; redirects++) {
		const refusal = attachmentUrlRefusal(url, options.allowLoopbackHttp === true);
		if (refusal !== null) throw new AttemptFailure(`attachment download: ${redirects ? 'redirect ' : ''}refused: ${refusal}`, false, false);
		try {
			const auth = options.authorization && new URL(url).host === options.authorization.host ? { Authorization: options.authorization.header } : undefined;
			response = await doFetch(url, { redirect: 'manual', signal, ...(auth ? { headers: auth } : {}) });
		} catch (error) {
			throw new AttemptFailure(`attachment download: ${networkReason(error)}`, true, false);
		}
		if (!REDIRECT_STATUSES.has(response.status)) break;
		await response.body?.cancel().catch(() => undefined);
		const location = response.headers.get('location');
		if (location === null || redirects >= MAX_MEDIA_REDIRECTS) throw new AttemptFailure(`attachment download: HTTP ${response.status}, redirect not followed`, false, false);
		url = new URL(location, url).toString();
	}
	if (!response.ok || !response.body) {
		await response.body?.cancel().catch(() => undefined);
		const retry = response.status === 429 || response.status >= 500;
		throw new AttemptFailure(`attachment download: HTTP ${response.status}`, retry, false);
	}
	const maxBytes = options.maxBytes ?? DEFAULT_MAX_MEDIA_BYTES;
	const declared = Number(response.headers.get('content-length'));
	if (Number.isFinite(declared) && declared > maxBytes) {
		await response.body.cancel().catch(() => undefined);
		throw new AttemptFailure(`attachment download: ${declared} bytes exceed the limit of ${maxBytes}`, false, false);
	}
	const mimeType = (response.headers.get('content-type') ?? '').split(';')[0].trim() || options.mimeType || 'application/octet-stream';
	const source = Readable.fromWeb(response.body as Parameters<typeof Readable.fromWeb>[0]);
	const tap = new HashTap(maxBytes, null);
	tap.on('error', () => undefined);
	source.on('error', (error) => tap.destroy(error));
	source.pipe(tap);
	let value: T;
	try {
		value = await options.consume(tap, { mimeType, fileSize: Number.isFinite(declared) ? declared : null, attempt });
	} catch (error) {
		source.destroy();
		if (tap.tooLarge) throw new AttemptFailure(`attachment download: more than ${maxBytes} bytes`, false, false);
		throw new AttemptFailure(`attachment download: stream failed (${safeReason(error)})`, true, false);
	}
	if (!tap.finished) throw new AttemptFailure('attachment download: the consumer did not read the whole stream', false, false);
	return { value, sha256: tap.digest().toString('hex'), size: tap.bytes, mimeType, sha256Verified: false };
}

/**
 * The first attachment with a URL of a Messenger or Instagram message (`content.attachments[]`) or of
 * a Twilio message (`content.media[]`, SMS/MMS and WhatsApp), or null.
 */
export function attachmentReference(record: CaptureRecord): { url: string; type: string; mimeType: string | null } | null {
	if (record.record_kind !== 'message' || (record.provider !== 'meta_messaging' && record.provider !== 'twilio')) return null;
	const content = isObject(record.content) ? record.content : {};
	const list = record.provider === 'twilio' ? content.media : content.attachments;
	for (const attachment of Array.isArray(list) ? list : []) {
		if (isObject(attachment) && typeof attachment.url === 'string' && attachment.url) {
			return { url: attachment.url, type: stringOrNull(attachment.type) ?? record.type, mimeType: stringOrNull(attachment.content_type) };
		}
	}
	return null;
}

/**
 * Pass-through stream computing SHA-256 and size, failing above `maxBytes`, and — when `expected` is
 * given — failing at the end instead of ending when the digest does not match it.
 */
export class HashTap extends Transform {
	bytes = 0;
	finished = false;
	tooLarge = false;
	mismatch = false;
	private readonly hash = createHash('sha256');
	private result?: Buffer;

	constructor(
		private readonly maxBytes: number,
		private readonly expected: string | null,
	) {
		super();
	}

	override _transform(chunk: Buffer, _encoding: BufferEncoding, callback: TransformCallback): void {
		this.bytes += chunk.length;
		if (this.bytes > this.maxBytes) {
			this.tooLarge = true;
			callback(new Error('size limit exceeded'));
			return;
		}
		this.hash.update(chunk);
		callback(null, chunk);
	}

	override _flush(callback: TransformCallback): void {
		this.result = this.hash.digest();
		if (this.expected !== null && !digestMatches(this.result, this.expected)) {
			this.mismatch = true;
			callback(new Error('sha256 mismatch'));
			return;
		}
		this.finished = true;
		callback();
	}

	digest(): Buffer {
		return this.result ?? Buffer.alloc(32);
	}
}

/** Constant-time check of a 32-byte digest against hex or base64 text; false for other shapes. */
export function digestMatches(digest: Buffer, expected: string): boolean {
	const text = expected.trim();
	let wanted: Buffer | undefined;
	if (/^[0-9a-fA-F]{64}$/.test(text)) wanted = Buffer.from(text, 'hex');
	else if (/^[A-Za-z0-9+/_-]{43}=?$/.test(text)) wanted = Buffer.from(text.replace(/-/g, '+').replace(/_/g, '/'), 'base64');
	return wanted !== undefined && wanted.length === digest.length && timingSafeEqual(wanted, digest);
}

/** A content-free reason for an unexpected error: its class name and code only. */
function safeReason(error: unknown): string {
	const code = (error as { code?: unknown })?.code;
	const name = (error as { name?: unknown })?.name;
	return [typeof name === 'string' ? name : 'Error', typeof code === 'string' ? code : '']
		.filter(Boolean)
		.join(' ');
}
