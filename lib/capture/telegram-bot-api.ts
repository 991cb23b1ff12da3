/**
 * The one place that speaks HTTP to the Telegram Bot API (Telegram, "Bot API": "Making requests",
 * `getMe`, `setWebhook`, `deleteWebhook`, `getFile`): `POST <base>/bot<token>/<method>` with a JSON
 * body, answered `{ ok: true, result }` or `{ ok: false, error_code, description }`; files from
 * `GET <base>/file/bot<token>/<file_path>`. The token is part of every URL, so no URL, request or
 * response header ever goes into an error or a result.
 */
import { Readable } from 'node:stream';

import { networkReason } from './graph';
import { HashTap, withMediaRetries, type DownloadMediaResult, type MediaRetryOptions, type MediaStreamInfo } from './media';
import { TELEGRAM_SECRET_TOKEN_PATTERN } from './telegram';

/** Largest file `getFile` lets a bot download from the cloud Bot API (Bot API, `getFile`: 20 MB). */
export const TELEGRAM_MAX_FILE_BYTES = 20 * 1024 * 1024;

/** Where the Bot API is and the bot it speaks for. */
export interface BotApiEndpoint {
	/** `https://api.telegram.org`, or a local Bot API server (http only on loopback). */
	baseUrl: string;
	/** Bot token from @BotFather. Never logged nor returned. */
	token: string;
	/** Per-request timeout in ms; default 30 s (a file download: 300 s). */
	timeoutMs?: number;
	/** `fetch` to use (tests). */
	fetch?: typeof fetch;
}

/** Error codes of {@link TelegramApiError}. */
export type TelegramApiErrorCode = 'InvalidInput' | 'RequestFailed' | 'Network' | 'InvalidResponse';

/** A Bot API call that failed. The message names the method and Telegram's answer, never the token. */
export class TelegramApiError extends Error {
	readonly code: TelegramApiErrorCode;
	/** HTTP status, 0 for a network error or a request not sent. */
	readonly status: number;
	/** Whether trying again later may succeed (network, 429, 5xx). */
	readonly retryable: boolean;

	constructor(message: string, options: { code: TelegramApiErrorCode; status?: number; cause?: unknown }) {
		super(message, options.cause !== undefined ? { cause: options.cause } : undefined);
		this.name = 'TelegramApiError';
		this.code = options.code;
		this.status = options.status ?? 0;
		this.retryable = options.code === 'Network' || this.status === 429 || this.status >= 500;
	}
}

/**
 * Why the base URL may not receive the token: not a URL, not https (plain http is allowed only to a
 * loopback host, e.g. a local Bot API server or a test stand-in), or it carries a path, query or
 * credentials. Null when it may.
 */
export function botApiBaseUrlRefusal(baseUrl: string): string | null {
	let url: URL;
	try {
		url = new URL(baseUrl);
	} catch {
		return 'API Base URL is not a URL (expected e.g. https://api.telegram.org)';
	}
	const loopback = ['127.0.0.1', 'localhost', '[::1]'].includes(url.hostname);
	if (url.protocol !== 'https:' && !(url.protocol === 'http:' && loopback)) {
		return 'API Base URL must use https (plain http only to a loopback host)';
	}
	if (url.username || url.password || url.search || url.hash || (url.pathname !== '/' && url.pathname !== '')) {
		return 'API Base URL must be scheme and host only (e.g. https://api.telegram.org)';
	}
	return null;
}

/** `<base>/bot<token>/<method>` after the base URL and token checks. */
function methodUrl(endpoint: BotApiEndpoint, method: string): string {
	const refusal = botApiBaseUrlRefusal(endpoint.baseUrl);
	if (refusal) throw new TelegramApiError(refusal, { code: 'InvalidInput' });
	if (!/^\d+:[A-Za-z0-9_-]+$/.test(endpoint.token ?? '')) {
		throw new TelegramApiError('Bot Token has not the shape <bot id>:<secret> that @BotFather gives', { code: 'InvalidInput' });
	}
	return `${new URL(endpoint.baseUrl).origin}/bot${endpoint.token}/${method}`;
}

/**
 * Calls one Bot API method with a JSON body.
 * @returns the `result` of `{ ok: true, result }`.
 * @throws TelegramApiError: `RequestFailed` (`ok: false`, with `error_code` and `description`),
 *   `Network`, `InvalidResponse`, `InvalidInput` (base URL or token refused before sending).
 */
export async function botApiRequest(endpoint: BotApiEndpoint, method: string, params: Record<string, unknown> = {}): Promise<unknown> {
	const url = methodUrl(endpoint, method);
	let response: Response;
	try {
		response = await (endpoint.fetch ?? fetch)(url, {
			method: 'POST',
			headers: { 'content-type': 'application/json' },
			body: JSON.stringify(params),
			redirect: 'manual',
			signal: AbortSignal.timeout(endpoint.timeoutMs ?? 30_000),
		});
	} catch (error) {
		throw new TelegramApiError(`Bot API ${method}: ${networkReason(error)}`, { code: 'Network' });
	}
	let answer: unknown;
	try {
		answer = await response.json();
	} catch {
		throw new TelegramApiError(`Bot API ${method}: HTTP ${response.status}, answer is not JSON`, { code: 'InvalidResponse', status: response.status });
	}
	const body = (answer ?? {}) as { ok?: unknown; result?: unknown; error_code?: unknown; description?: unknown };
	if (body.ok === true && response.ok) return body.result;
	const description = typeof body.description === 'string' ? body.description.split(endpoint.token).join('<token>').slice(0, 200) : 'no description';
	throw new TelegramApiError(`Bot API ${method}: HTTP ${response.status} (${description})`, {
		code: 'RequestFailed',
		status: typeof body.error_code === 'number' ? body.error_code : response.status,
	});
}

/** The bot itself (`getMe`): its user id and username. */
export async function getMe(endpoint: BotApiEndpoint): Promise<{ id: string; username: string | null }> {
	const result = (await botApiRequest(endpoint, 'getMe')) as { id?: unknown; username?: unknown } | null;
	if (typeof result?.id !== 'number') throw new TelegramApiError('Bot API getMe: answer has no id', { code: 'InvalidResponse' });
	return { id: String(result.id), username: typeof result.username === 'string' ? result.username : null };
}

/** Options of {@link setWebhook}. */
export interface SetWebhookOptions {
	/** The trigger's production URL (https; Telegram accepts ports 443, 80, 88 and 8443). */
	url: string;
	/** Sent back in `X-Telegram-Bot-Api-Secret-Token` ({@link TELEGRAM_SECRET_TOKEN_PATTERN}). */
	secretToken: string;
	/** Update types to receive (`allowed_updates`). */
	allowedUpdates: string[];
}

/**
 * `setWebhook` with `url`, `secret_token` and `allowed_updates`.
 * @throws TelegramApiError (`InvalidInput` for a secret Telegram would refuse, before sending).
 */
export async function setWebhook(endpoint: BotApiEndpoint, options: SetWebhookOptions): Promise<void> {
	if (!TELEGRAM_SECRET_TOKEN_PATTERN.test(options.secretToken ?? '')) {
		throw new TelegramApiError('Secret Token must be 1-256 characters of A-Z, a-z, 0-9, _ and - (Bot API, setWebhook secret_token)', {
			code: 'InvalidInput',
		});
	}
	await botApiRequest(endpoint, 'setWebhook', {
		url: options.url,
		secret_token: options.secretToken,
		allowed_updates: options.allowedUpdates,
	});
}

/** `getWebhookInfo`: the URL the bot's updates go to now ('' when none). */
export async function getWebhookUrl(endpoint: BotApiEndpoint): Promise<string> {
	const result = (await botApiRequest(endpoint, 'getWebhookInfo')) as { url?: unknown } | null;
	return typeof result?.url === 'string' ? result.url : '';
}

/** `deleteWebhook` (pending updates are kept: Telegram holds them for 24 hours). */
export async function deleteWebhook(endpoint: BotApiEndpoint): Promise<void> {
	await botApiRequest(endpoint, 'deleteWebhook', { drop_pending_updates: false });
}

/** Options of {@link downloadTelegramFile}. */
export interface DownloadTelegramFileOptions<T> extends MediaRetryOptions {
	endpoint: BotApiEndpoint;
	/** `file_id` from the message. */
	fileId: string;
	/** MIME type from the message (`mime_type`), when it has one. */
	mimeType?: string | null;
	/** Receives the byte stream (never buffered here); must read it to the end. */
	consume: (stream: Readable, info: MediaStreamInfo) => Promise<T>;
	/** Refuse files larger than this; default {@link TELEGRAM_MAX_FILE_BYTES}. */
	maxBytes?: number;
}

/**
 * Downloads one file: `getFile` (the `file_path`, valid for at least an hour), then
 * `GET <base>/file/bot<token>/<file_path>` streamed through a SHA-256 and size tap into `consume`.
 * Telegram sends no digest: `sha256Verified` is false; the digest is the capture's own.
 * A 4xx `getFile` (not 429), a file above `maxBytes` or a `file_path` that is not a relative path:
 * failed at once; network, 429, 5xx and stream errors: retried after `backoffMs · 2^(attempt-1)` ms.
 * @returns as `downloadMedia` (lib/capture/media.ts). Never throws; reasons never hold the token.
 */
export async function downloadTelegramFile<T>(options: DownloadTelegramFileOptions<T>): Promise<DownloadMediaResult<T>> {
	return await withMediaRetries(
		options,
		async (attempt) => await downloadOnce(options, attempt),
		(error) => ({
			retry: error instanceof TelegramApiError ? error.retryable : !(error instanceof PermanentFailure),
			reason: error instanceof TelegramApiError || error instanceof PermanentFailure ? error.message : `file download: stream failed`,
		}),
	);
}

/** A failure that another attempt would repeat. */
class PermanentFailure extends Error {}

async function downloadOnce<T>(options: DownloadTelegramFileOptions<T>, attempt: number) {
	const maxBytes = options.maxBytes ?? TELEGRAM_MAX_FILE_BYTES;
	const file = (await botApiRequest(options.endpoint, 'getFile', { file_id: options.fileId })) as { file_path?: unknown; file_size?: unknown } | null;
	const filePath = typeof file?.file_path === 'string' ? file.file_path : '';
	if (!/^[A-Za-z0-9_.-]+(\/[A-Za-z0-9_.-]+)*$/.test(filePath) || filePath.split('/').some((part) => part === '..' || part === '.')) {
		throw new PermanentFailure('file download: getFile answered no usable file_path');
	}
	const fileSize = typeof file?.file_size === 'number' ? file.file_size : null;
	if (fileSize !== null && fileSize > maxBytes) throw new PermanentFailure(`file download: ${fileSize} bytes exceed the limit of ${maxBytes}`);
	const base = new URL(options.endpoint.baseUrl).origin;
	let response: Response;
	try {
		response = await (options.endpoint.fetch ?? fetch)(`${base}/file/bot${options.endpoint.token}/${filePath}`, {
			redirect: 'manual',
			signal: AbortSignal.timeout(options.endpoint.timeoutMs ?? 300_000),
		});
	} catch (error) {
		throw new TelegramApiError(`file download: ${networkReason(error)}`, { code: 'Network' });
	}
	if (!response.ok || !response.body) {
		await response.body?.cancel().catch(() => undefined);
		throw new TelegramApiError(`file download: HTTP ${response.status}`, { code: 'RequestFailed', status: response.status });
	}
	const mimeType = options.mimeType || response.headers.get('content-type') || 'application/octet-stream';
	const source = Readable.fromWeb(response.body as Parameters<typeof Readable.fromWeb>[0]);
	const tap = new HashTap(maxBytes, null);
	tap.on('error', () => undefined);
	source.on('error', (error) => tap.destroy(error));
	source.pipe(tap);
	let value: T;
	try {
		value = await options.consume(tap, { mimeType, fileSize, attempt });
	} catch {
		source.destroy();
		if (tap.tooLarge) throw new PermanentFailure(`file download: more than ${maxBytes} bytes`);
		throw new Error('stream failed');
	}
	if (!tap.finished) throw new PermanentFailure('file download: the consumer did not read the whole stream');
	return { value, sha256: tap.digest().toString('hex'), size: tap.bytes, mimeType, sha256Verified: false };
}
