/**
 * A fault-injecting HTTP proxy on loopback in front of the S3 store (Ceph RGW). Point an S3 client's
 * endpoint at `proxy.url`; requests are forwarded byte for byte (Host header kept, so SigV4 signatures
 * stay valid) unless a fault rule matches.
 *
 * Faults (each rule applies to the next `count` matching requests, default unlimited):
 * - `delay`: forward, but hold the response for `ms`;
 * - `status`: answer `status` with an S3 XML error (`code`) without forwarding;
 * - `reset`: read `afterBytes` of the request body (default half of Content-Length), then destroy
 *   the connection (the store "stopped mid-upload"; nothing forwarded);
 * - `dropResponse`: forward the request completely, let the store act, then destroy the connection
 *   before the response reaches the client (the store "stopped" after doing the work);
 * - `stall`: read the request and never answer (until `stop()`);
 * - `refuse`: destroy the connection immediately (the store is down).
 *
 * Every request is logged (`log`) with its S3 operation, the fault applied and the time.
 */
import http from 'node:http';
import type { AddressInfo, Socket } from 'node:net';

export type FaultKind = 'delay' | 'status' | 'reset' | 'dropResponse' | 'stall' | 'refuse';

export interface FaultRule {
	kind: FaultKind;
	/** Which requests: an S3 operation name (see {@link s3Operation}), a predicate, or all. */
	match?: string | ((request: ProxiedRequest) => boolean);
	/** Applies to this many matching requests, then the rule is spent (default: unlimited). */
	count?: number;
	ms?: number;
	status?: number;
	code?: string;
	afterBytes?: number;
}

export interface ProxiedRequest {
	method: string;
	url: string;
	operation: string;
	contentLength: number;
}

export interface LogEntry extends ProxiedRequest {
	at: number;
	fault: FaultKind | 'pass';
	status?: number;
}

/** The S3 operation of a path-style request, from method and query (enough for the suite's needs). */
export function s3Operation(method: string, url: string): string {
	const u = new URL(url, 'http://x');
	const q = u.searchParams;
	const segments = u.pathname.split('/').filter(Boolean);
	const hasKey = segments.length > 1;
	switch (method) {
		case 'PUT':
			if (q.has('partNumber') && q.has('uploadId')) return 'UploadPart';
			if (q.has('legal-hold')) return 'PutObjectLegalHold';
			if (q.has('retention')) return 'PutObjectRetention';
			return hasKey ? 'PutObject' : 'PutBucket';
		case 'POST':
			if (q.has('uploads')) return 'CreateMultipartUpload';
			if (q.has('uploadId')) return 'CompleteMultipartUpload';
			if (q.has('delete')) return 'DeleteObjects';
			return 'Post';
		case 'DELETE':
			if (q.has('uploadId')) return 'AbortMultipartUpload';
			return hasKey ? 'DeleteObject' : 'DeleteBucket';
		case 'HEAD':
			return hasKey ? 'HeadObject' : 'HeadBucket';
		case 'GET':
			if (q.has('versions')) return 'ListObjectVersions';
			if (q.has('uploads')) return 'ListMultipartUploads';
			if (q.has('legal-hold')) return 'GetObjectLegalHold';
			if (q.has('retention')) return 'GetObjectRetention';
			if (q.has('object-lock')) return 'GetObjectLockConfiguration';
			return hasKey ? 'GetObject' : 'ListObjects';
		default:
			return method;
	}
}

const errorXml = (code: string, message: string) =>
	`<?xml version="1.0" encoding="UTF-8"?><Error><Code>${code}</Code><Message>${message}</Message><RequestId>fault-proxy</RequestId></Error>`;

export class FaultProxy {
	readonly log: LogEntry[] = [];
	private rules: Array<FaultRule & { left: number }> = [];
	private server?: http.Server;
	private sockets = new Set<Socket>();
	private stalled = new Set<http.ServerResponse>();
	url = '';

	constructor(private readonly upstream = process.env.S3_ENDPOINT || 'http://127.0.0.1:7480') {}

	async start(): Promise<string> {
		this.server = http.createServer((req, res) => this.handle(req, res));
		this.server.keepAliveTimeout = 1000;
		this.server.on('connection', (socket) => {
			this.sockets.add(socket);
			socket.on('close', () => this.sockets.delete(socket));
		});
		await new Promise<void>((resolve) => this.server!.listen(0, '127.0.0.1', resolve));
		this.url = `http://127.0.0.1:${(this.server.address() as AddressInfo).port}`;
		return this.url;
	}

	/** Adds a fault rule (rules are tried in the order added). */
	fault(rule: FaultRule): this {
		this.rules.push({ ...rule, left: rule.count ?? Number.POSITIVE_INFINITY });
		return this;
	}

	/** Removes every rule, answers stalled requests with a reset: back to pass-through. */
	heal(): void {
		this.rules = [];
		for (const res of this.stalled) res.destroy();
		this.stalled.clear();
	}

	/** Requests logged for one operation. */
	requests(operation: string): LogEntry[] {
		return this.log.filter((entry) => entry.operation === operation);
	}

	async stop(): Promise<void> {
		this.heal();
		for (const socket of this.sockets) socket.destroy();
		await new Promise<void>((resolve) => (this.server ? this.server.close(() => resolve()) : resolve()));
	}

	private pick(request: ProxiedRequest): FaultRule | undefined {
		for (const rule of this.rules) {
			if (rule.left <= 0) continue;
			const matches =
				rule.match === undefined ||
				(typeof rule.match === 'string' ? rule.match === request.operation : rule.match(request));
			if (!matches) continue;
			rule.left -= 1;
			return rule;
		}
		return undefined;
	}

	private handle(req: http.IncomingMessage, res: http.ServerResponse) {
		const method = req.method ?? 'GET';
		const url = req.url ?? '/';
		const request: ProxiedRequest = {
			method,
			url,
			operation: s3Operation(method, url),
			contentLength: Number(req.headers['content-length'] ?? 0),
		};
		const rule = this.pick(request);
		const entry: LogEntry = { ...request, at: Date.now(), fault: rule?.kind ?? 'pass' };
		this.log.push(entry);
		req.on('error', () => {});
		res.on('error', () => {});

		switch (rule?.kind) {
			case 'refuse':
				req.socket.destroy();
				return;
			case 'status': {
				req.resume();
				req.on('end', () => {
					const status = rule.status ?? 503;
					entry.status = status;
					const body = method === 'HEAD' ? '' : errorXml(rule.code ?? 'ServiceUnavailable', 'injected by the fault proxy');
					res.writeHead(status, { 'content-type': 'application/xml', 'content-length': Buffer.byteLength(body) });
					res.end(body);
				});
				return;
			}
			case 'stall':
				req.resume();
				this.stalled.add(res);
				return;
			case 'reset': {
				const limit = rule.afterBytes ?? Math.floor(request.contentLength / 2);
				let seen = 0;
				const cut = () => req.socket.destroy();
				if (limit <= 0) return void cut();
				req.on('data', (chunk: Buffer) => {
					seen += chunk.length;
					if (seen >= limit) cut();
				});
				req.on('end', cut);
				return;
			}
			default:
				this.forward(req, res, entry, rule);
		}
	}

	private forward(req: http.IncomingMessage, res: http.ServerResponse, entry: LogEntry, rule?: FaultRule) {
		const target = new URL(this.upstream);
		const upstream = http.request(
			{
				host: target.hostname,
				port: target.port,
				method: req.method,
				path: req.url,
				headers: req.headers,
			},
			(answer) => {
				entry.status = answer.statusCode;
				if (rule?.kind === 'dropResponse') {
					answer.resume();
					answer.on('end', () => req.socket.destroy());
					return;
				}
				const relay = () => {
					res.writeHead(answer.statusCode ?? 502, answer.headers);
					answer.pipe(res);
				};
				if (rule?.kind === 'delay') setTimeout(relay, rule.ms ?? 1000);
				else relay();
			},
		);
		upstream.on('error', () => req.socket.destroy());
		req.pipe(upstream);
	}
}
