/**
 * A local stand-in for the parts of the Telegram Bot API the capture trigger calls, in the documented
 * shapes (Telegram, "Bot API": "Making requests", `getMe`, `setWebhook`, `deleteWebhook`,
 * `getWebhookInfo`, `getFile`, and file download):
 *
 * - `POST /bot<token>/<method>` with a JSON body → `{ ok: true, result }`, or
 *   `{ ok: false, error_code, description }` (401 `Unauthorized` for another token, 400 for bad input);
 * - `GET /file/bot<token>/<file_path>` → the file's bytes, streamed in chunks.
 * Unlike Telegram, `setWebhook` accepts plain-http loopback URLs (tests run without TLS).
 */
import { randomBytes } from 'node:crypto';
import http from 'node:http';
import type { AddressInfo } from 'node:net';

import { TELEGRAM_SECRET_TOKEN_PATTERN } from '../../lib/capture';

/** One file the stand-in serves. */
export interface StandInFile {
	bytes: Buffer;
	/** `file_path` getFile reports; default `documents/file_<n>.bin`. */
	filePath?: string;
	/** `file_size` getFile reports; default the true size; null leaves it out. */
	fileSize?: number | null;
}

/** A request the stand-in saw (the token replaced by `<token>` or `<wrong>`). */
export interface SeenBotRequest {
	method: string;
	path: string;
	body?: Record<string, unknown>;
}

export class TelegramStandIn {
	readonly botId = '7000000001';
	readonly token = `${this.botId}:${randomBytes(26).toString('base64url')}`;
	readonly files = new Map<string, StandInFile>();
	readonly requests: SeenBotRequest[] = [];
	/** The webhook set by `setWebhook` (null after `deleteWebhook`). */
	webhook: { url: string; secret_token?: string; allowed_updates?: string[] } | null = null;
	/** Status codes to answer for the next file downloads, one per download. */
	downloadFailures: number[] = [];
	baseUrl = '';
	private server?: http.Server;

	async start(): Promise<string> {
		this.server = http.createServer((req, res) => {
			this.handle(req, res).catch(() => {
				if (!res.headersSent) this.answer(res, 500, { ok: false, error_code: 500, description: 'Internal Server Error' });
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

	/** Adds a file; returns its `file_id`. */
	addFile(fileId: string, file: StandInFile): string {
		this.files.set(fileId, { filePath: `documents/file_${this.files.size}.bin`, ...file });
		return fileId;
	}

	/** Requests to a Bot API method. */
	seen(method: string): SeenBotRequest[] {
		return this.requests.filter((request) => request.path === `/bot<token>/${method}`);
	}

	private async handle(req: http.IncomingMessage, res: http.ServerResponse) {
		const url = new URL(req.url ?? '/', this.baseUrl);
		const chunks: Buffer[] = [];
		for await (const chunk of req) chunks.push(chunk as Buffer);
		const text = Buffer.concat(chunks).toString('utf8');
		const body = text ? (JSON.parse(text) as Record<string, unknown>) : undefined;
		const match = /^\/(file\/)?bot([^/]+)\/(.+)$/.exec(url.pathname);
		const tokenOk = match?.[2] === this.token;
		const path = match ? `/${match[1] ?? ''}bot${tokenOk ? '<token>' : '<wrong>'}/${match[3]}` : url.pathname;
		this.requests.push({ method: req.method ?? 'GET', path, body });
		if (!match) return this.answer(res, 404, { ok: false, error_code: 404, description: 'Not Found' });
		if (!tokenOk) return this.answer(res, 401, { ok: false, error_code: 401, description: 'Unauthorized' });
		if (match[1]) return this.download(match[3], res);
		return this.method(match[3], body ?? {}, res);
	}

	private method(method: string, body: Record<string, unknown>, res: http.ServerResponse) {
		const badRequest = (description: string) => this.answer(res, 400, { ok: false, error_code: 400, description: `Bad Request: ${description}` });
		switch (method) {
			case 'getMe':
				return this.ok(res, { id: Number(this.botId), is_bot: true, first_name: 'Archive Bot', username: 'archive_test_bot', can_connect_to_business: true });
			case 'setWebhook': {
				if (typeof body.url !== 'string' || !/^https?:\/\//.test(body.url)) return badRequest('bad webhook: An HTTPS URL must be provided for webhook');
				if (body.secret_token !== undefined && !TELEGRAM_SECRET_TOKEN_PATTERN.test(String(body.secret_token))) {
					return badRequest('bad webhook: secret token contains unallowed characters');
				}
				this.webhook = {
					url: body.url,
					...(typeof body.secret_token === 'string' ? { secret_token: body.secret_token } : {}),
					...(Array.isArray(body.allowed_updates) ? { allowed_updates: body.allowed_updates as string[] } : {}),
				};
				return this.answer(res, 200, { ok: true, result: true, description: 'Webhook was set' });
			}
			case 'deleteWebhook':
				this.webhook = null;
				return this.answer(res, 200, { ok: true, result: true, description: 'Webhook was deleted' });
			case 'getWebhookInfo':
				return this.ok(res, { url: this.webhook?.url ?? '', has_custom_certificate: false, pending_update_count: 0, allowed_updates: this.webhook?.allowed_updates });
			case 'getFile': {
				const file = typeof body.file_id === 'string' ? this.files.get(body.file_id) : undefined;
				if (!file) return badRequest('invalid file_id');
				return this.ok(res, {
					file_id: body.file_id,
					file_unique_id: `U${String(body.file_id).slice(0, 8)}`,
					...(file.fileSize === null ? {} : { file_size: file.fileSize ?? file.bytes.length }),
					file_path: file.filePath,
				});
			}
			default:
				return this.answer(res, 404, { ok: false, error_code: 404, description: 'Not Found: method not found' });
		}
	}

	private download(filePath: string, res: http.ServerResponse) {
		const failure = this.downloadFailures.shift();
		if (failure !== undefined) return this.answer(res, failure, { ok: false, error_code: failure, description: 'stand-in failure' });
		const file = [...this.files.values()].find((candidate) => candidate.filePath === filePath);
		if (!file) return this.answer(res, 404, { ok: false, error_code: 404, description: 'Not Found' });
		res.writeHead(200, { 'content-type': 'application/octet-stream', 'content-length': String(file.bytes.length) });
		for (let at = 0; at < file.bytes.length; at += 16 * 1024) res.write(file.bytes.subarray(at, at + 16 * 1024));
		res.end();
	}

	private ok(res: http.ServerResponse, result: unknown) {
		this.answer(res, 200, { ok: true, result });
	}

	private answer(res: http.ServerResponse, status: number, body: unknown) {
		res.writeHead(status, { 'content-type': 'application/json' });
		res.end(JSON.stringify(body));
	}
}
