import { createHash } from 'node:crypto';
import { Agent as HttpsAgent } from 'node:https';
import { S3Client, type S3ClientConfig } from '@aws-sdk/client-s3';

import { ArchiveError } from './errors';

/** How the AWS SDK computes and validates flexible checksums (CRC32 etc.). */
export type ChecksumMode = 'WHEN_REQUIRED' | 'WHEN_SUPPORTED';

/**
 * Connection settings for an S3-compatible store.
 *
 * - `endpoint`: full URL, e.g. `https://s3.us-east-1.amazonaws.com` or `http://127.0.0.1:7480`.
 * - `region`: signing region (docs/stores.md for stores that name it otherwise).
 * - `forcePathStyle`: `https://host/bucket/key` instead of `https://bucket.host/key` (default `true`;
 *   see docs/stores.md).
 * - `checksumMode`: applied to both `requestChecksumCalculation` and `responseChecksumValidation`
 *   (default `WHEN_REQUIRED`; see docs/stores.md for the stores that reject the SDK's CRC32 headers).
 * - `ignoreTlsErrors`: accept self-signed certificates (default `false`; only for private stores).
 */
export interface S3Settings {
	endpoint: string;
	region: string;
	accessKeyId: string;
	secretAccessKey: string;
	sessionToken?: string;
	forcePathStyle?: boolean;
	checksumMode?: ChecksumMode;
	ignoreTlsErrors?: boolean;
}

/**
 * Time limits of the HTTP requests a client makes (all optional, in milliseconds; `0` disables the
 * connection or request limit).
 * Without them a store that accepts the connection and never answers hangs a write (and the S3
 * Archive node, and a webhook answered after the workflow) forever: the AWS SDK's default handler
 * has no timeout. A request that times out fails with `TimeoutError`, which the SDK retries like any
 * transient error (3 attempts in all) before the call throws.
 */
export interface S3Timeouts {
	/** Connecting (TCP, TLS) to the endpoint. Default {@link DEFAULT_TIMEOUTS}.connectionTimeoutMs (5 s). */
	connectionTimeoutMs?: number;
	/**
	 * Sending a request and receiving the response headers (a response body that follows is not
	 * bounded). Long enough for one multipart part or a single PutObject on a slow link. Default
	 * 120 s. Note: the SDK's Node handler also waits up to this long for `100 Continue` before it
	 * sends a body of 2 MiB or more (`Expect: 100-continue`); stores and proxies answer at once, as
	 * HTTP/1.1 requires, but one that never does would make such uploads time out.
	 */
	requestTimeoutMs?: number;
	/**
	 * The same for metadata lookups the store answers in milliseconds: HEAD requests (HeadObject,
	 * HeadBucket) and GetObjectLockConfiguration. Writes start with them, so a stalled store fails a
	 * write after a few times this instead of 3 × `requestTimeoutMs`. Default 5 s; `0`: they get
	 * `requestTimeoutMs` like the others.
	 */
	headTimeoutMs?: number;
}

/** Defaults of {@link S3Timeouts}. */
export const DEFAULT_TIMEOUTS: Required<S3Timeouts> = {
	connectionTimeoutMs: 5_000,
	requestTimeoutMs: 120_000,
	headTimeoutMs: 5_000,
};

/** Which store a client talks to (endpoint URL), for per-store bookkeeping such as write single-flight. */
const storeIdentities = new WeakMap<S3Client, string>();

/**
 * The endpoint URL a client made by {@link createS3Client} talks to (`undefined` for other clients):
 * clients built separately (one per n8n execution) for the same store share it.
 */
export function clientStoreIdentity(client: S3Client): string | undefined {
	return storeIdentities.get(client);
}

function timeout(value: number | undefined, fallback: number, name: string): number {
	if (value === undefined || value === null) return fallback;
	if (typeof value !== 'number' || !Number.isFinite(value) || value < 0) {
		throw new ArchiveError(`${name} must be a number of milliseconds ≥ 0`, {
			code: 'InvalidInput',
		});
	}
	return Math.floor(value);
}

/**
 * The requests that carry `Content-MD5` (RFC 1864) over their in-memory body, with whether the
 * SDK's flexible-checksum headers are removed from them.
 *
 * - PutObject and UploadPart: S3 demands an integrity header on writes with Object Lock parameters
 *   and on every part uploaded into an Object Lock bucket (S3 API reference, PutObject / UploadPart,
 *   "Content-MD5"); under `WHEN_REQUIRED` the SDK sends none, so the MD5 is added. Any checksum the
 *   SDK adds under `WHEN_SUPPORTED` stays (a multipart upload may have announced one).
 * - DeleteObjects, PutObjectLegalHold, PutObjectRetention, PutBucketLifecycleConfiguration: the API
 *   requires an integrity header, and the SDK sends CRC32 on them even under `WHEN_REQUIRED`
 *   (docs/stores.md), which some stores reject: the CRC32 headers are replaced
 *   by Content-MD5.
 */
export const CONTENT_MD5_COMMANDS: Readonly<Record<string, { replaceChecksums: boolean }>> = {
	PutObjectCommand: { replaceChecksums: false },
	UploadPartCommand: { replaceChecksums: false },
	DeleteObjectsCommand: { replaceChecksums: true },
	PutObjectLegalHoldCommand: { replaceChecksums: true },
	PutObjectRetentionCommand: { replaceChecksums: true },
	PutBucketLifecycleConfigurationCommand: { replaceChecksums: true },
};

/**
 * The client's one Content-MD5 policy ({@link CONTENT_MD5_COMMANDS}), a build-step middleware of low
 * priority: it runs after the SDK's checksum middleware and before signing. Streamed bodies are left
 * alone (their length is unknown here).
 */
function addContentMd5Policy(client: S3Client): void {
	client.middlewareStack.add(
		(next, context) => async (args) => {
			const policy = CONTENT_MD5_COMMANDS[context.commandName ?? ''];
			const request = args.request as { headers?: Record<string, string>; body?: unknown };
			const body =
				typeof request.body === 'string' ? Buffer.from(request.body, 'utf8') : request.body;
			if (policy && request.headers && body instanceof Uint8Array) {
				const names = Object.keys(request.headers).map(
					(name) => [name, name.toLowerCase()] as const,
				);
				const hasMd5 = names.some(([, lower]) => lower === 'content-md5');
				if (policy.replaceChecksums) {
					for (const [name, lower] of names) {
						if (
							lower.startsWith('x-amz-checksum-') ||
							lower === 'x-amz-sdk-checksum-algorithm' ||
							lower === 'content-md5'
						) {
							delete request.headers[name];
						}
					}
				}
				if (policy.replaceChecksums || !hasMd5) {
					request.headers['content-md5'] = createHash('md5').update(body).digest('base64');
				}
			}
			return await next(args);
		},
		{ step: 'build', priority: 'low', name: 'chatArchiveContentMd5', override: true },
	);
}

/**
 * Builds an `S3Client` for an S3-compatible store from plain settings.
 *
 * - `forcePathStyle` defaults to `true`; `checksumMode` defaults to `WHEN_REQUIRED` and is applied to
 *   both `requestChecksumCalculation` and `responseChecksumValidation` (the SDK's default checksums
 *   are rejected by several stores: docs/stores.md).
 * - `ignoreTlsErrors: true` installs an `https.Agent({ rejectUnauthorized: false })`.
 * - Requests are time-limited ({@link S3Timeouts}, defaults {@link DEFAULT_TIMEOUTS}), through the SDK's Node handler
 *   (`@smithy/node-http-handler` `connectionTimeout`, `requestTimeout`, `throwOnRequestTimeout: true`
 *   so a breach is an error, not a logged warning); a timed-out attempt is retried by the SDK.
 * - Content-MD5 policy ({@link CONTENT_MD5_COMMANDS}): see {@link addContentMd5Policy}.
 *
 * @throws ArchiveError `InvalidInput` when the endpoint is not an http(s) URL, keys are missing or a
 * timeout is not a number ≥ 0.
 */
export function createS3Client(settings: S3Settings & S3Timeouts): S3Client {
	const url = URL.canParse(settings.endpoint) ? new URL(settings.endpoint) : null;
	if (!url) {
		throw new ArchiveError(
			`Endpoint "${settings.endpoint}" is not a URL: use e.g. https://s3.us-east-1.amazonaws.com or http://127.0.0.1:7480`,
			{ code: 'InvalidInput' },
		);
	}
	if (url.protocol !== 'https:' && url.protocol !== 'http:') {
		throw new ArchiveError(`Endpoint must start with https:// or http:// (got "${url.protocol}")`, {
			code: 'InvalidInput',
		});
	}
	if (!settings.accessKeyId || !settings.secretAccessKey) {
		throw new ArchiveError('Access Key ID and Secret Access Key are both required', {
			code: 'InvalidInput',
		});
	}
	const connectionTimeout = timeout(
		settings.connectionTimeoutMs,
		DEFAULT_TIMEOUTS.connectionTimeoutMs,
		'connectionTimeoutMs',
	);
	const requestTimeout = timeout(
		settings.requestTimeoutMs,
		DEFAULT_TIMEOUTS.requestTimeoutMs,
		'requestTimeoutMs',
	);
	const headTimeout = timeout(
		settings.headTimeoutMs,
		DEFAULT_TIMEOUTS.headTimeoutMs,
		'headTimeoutMs',
	);
	const checksumMode = settings.checksumMode ?? 'WHEN_REQUIRED';
	const config: S3ClientConfig = {
		endpoint: settings.endpoint,
		region: settings.region || 'us-east-1',
		credentials: {
			accessKeyId: settings.accessKeyId,
			secretAccessKey: settings.secretAccessKey,
			...(settings.sessionToken ? { sessionToken: settings.sessionToken } : {}),
		},
		forcePathStyle: settings.forcePathStyle ?? true,
		requestChecksumCalculation: checksumMode,
		responseChecksumValidation: checksumMode,
	};
	config.requestHandler = {
		connectionTimeout,
		requestTimeout,
		throwOnRequestTimeout: true,
		...(settings.ignoreTlsErrors
			? { httpsAgent: new HttpsAgent({ rejectUnauthorized: false }) }
			: {}),
	};
	const client = new S3Client(config);
	storeIdentities.set(client, `${url.protocol}//${url.host}${url.pathname.replace(/\/+$/, '')}`);
	// Metadata lookups get their own, shorter limit: the handler takes a per-request `requestTimeout`.
	const handler = client.config.requestHandler as unknown as {
		handle: (
			request: { method?: string; query?: Record<string, unknown> },
			options?: { requestTimeout?: number },
		) => Promise<unknown>;
	};
	const handle = handler.handle.bind(handler);
	const isLookup = (request: { method?: string; query?: Record<string, unknown> }) =>
		request.method === 'HEAD' || (request.method === 'GET' && request.query !== undefined && 'object-lock' in request.query);
	handler.handle = async (request, options = {}) =>
		await handle(
			request,
			headTimeout > 0 && options.requestTimeout === undefined && isLookup(request)
				? { ...options, requestTimeout: headTimeout }
				: options,
		);
	addContentMd5Policy(client);
	return client;
}

/** At most this many shared clients ({@link sharedS3Client}) are kept per process. */
export const SHARED_CLIENT_LIMIT = 16;
/** An evicted shared client is destroyed this long after eviction, once requests it started are done. */
const EVICTED_CLIENT_GRACE_MS = 10 * 60_000;

/** Shared clients by a SHA-256 of their settings (no secret is kept as a key), oldest use first. */
const sharedClients = new Map<string, S3Client>();

/**
 * One client per store settings in this process, shared by every caller with the same settings (n8n
 * runs each execution of a node afresh: building a client per execution costs a new connection per
 * request batch and loses the per-client caches, such as the buckets known to have Object Lock).
 * Idle keep-alive sockets do not hold the process open (Node's `http.Agent` unrefs free sockets).
 * Changed settings (a rotated key) make a new client; the least recently used of more than
 * {@link SHARED_CLIENT_LIMIT} is destroyed after a grace period. Callers must not `destroy()` it.
 *
 * @throws ArchiveError as {@link createS3Client}.
 */
export function sharedS3Client(settings: S3Settings & S3Timeouts): S3Client {
	const id = createHash('sha256').update(JSON.stringify(settings, Object.keys(settings).sort())).digest('hex');
	let client = sharedClients.get(id);
	if (client) {
		sharedClients.delete(id);
	} else {
		client = createS3Client(settings);
	}
	sharedClients.set(id, client);
	while (sharedClients.size > SHARED_CLIENT_LIMIT) {
		const [oldestId, oldest] = sharedClients.entries().next().value as [string, S3Client];
		sharedClients.delete(oldestId);
		setTimeout(() => oldest.destroy(), EVICTED_CLIENT_GRACE_MS).unref();
	}
	return client;
}
