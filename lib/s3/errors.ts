/**
 * Errors of the S3 transport. A failed store call becomes an {@link ArchiveError} that keeps the
 * store's code, HTTP status, message and request id, names the operation, bucket and key, and adds a
 * fix hint when one is known; it never holds a request or response body, nor the live SDK error.
 */

/**
 * The one error class of the archive and of its store: every failed store call (the store's code,
 * e.g. `AccessDenied`, `NoSuchBucket`) and every rule of `lib/archive` (engine codes such as
 * `InvalidInput`). Never contains an object body, credentials or plaintext.
 */
export class ArchiveError extends Error {
	/** The store's error code (e.g. `AccessDenied`, `NoSuchBucket`) or an engine code (`InvalidInput`). */
	readonly code: string;
	/** HTTP status of the failing response, when there was one. */
	readonly httpStatusCode?: number;
	/** The store's own message, unchanged. */
	readonly storeMessage?: string;
	/** The request id the store returned, for support tickets. */
	readonly requestId?: string;
	/** A hint naming how to fix the problem, when one is known. */
	readonly hint?: string;

	constructor(
		message: string,
		details: {
			code: string;
			httpStatusCode?: number;
			storeMessage?: string;
			requestId?: string;
			hint?: string;
			cause?: unknown;
		},
	) {
		super(message, details.cause !== undefined ? { cause: details.cause } : undefined);
		this.name = 'ArchiveError';
		this.code = details.code;
		this.httpStatusCode = details.httpStatusCode;
		this.storeMessage = details.storeMessage;
		this.requestId = details.requestId;
		this.hint = details.hint;
	}
}

/** What the engine was doing when a store call failed (used to phrase the error). */
export interface StoreCallContext {
	/** S3 API operation name, e.g. `PutObject`. */
	operation: string;
	bucket?: string;
	key?: string;
	/** Object Lock parameters were sent with the request. */
	objectLockSent?: boolean;
}

interface SdkErrorShape {
	name?: string;
	Code?: string;
	message?: string;
	$metadata?: { httpStatusCode?: number; requestId?: string; attempts?: number };
	$fault?: string;
}

/**
 * What an error keeps of a failed store call as its `cause`: plain data, never the SDK error itself.
 * An AWS SDK error carries `$response` (whose `body` is the live `IncomingMessage`; through its
 * socket the signed request headers are reachable: `Authorization` with the access key id, and
 * `x-amz-security-token` with temporary credentials), so any logger or error tracker that
 * serializes errors deeply could leak them.
 */
export interface PlainStoreError {
	name: string;
	/** The store's error code (`AccessDenied`…), when it sent one. */
	Code?: string;
	/** A Node network error code (`ECONNRESET`, `ETIMEDOUT`…), when there is one. */
	code?: string;
	message: string;
	/** `client` or `server`, as the SDK classified it. */
	$fault?: string;
	$metadata: { httpStatusCode?: number; requestId?: string; attempts?: number };
}

/**
 * A plain copy of an SDK / network error: `{ name, Code, code, message, $fault, $metadata:
 * { httpStatusCode, requestId, attempts } }` (strings and numbers only). No `$response`, request,
 * socket, nested cause or extra field of the store's error body (AWS puts `AWSAccessKeyId`,
 * `StringToSign`, `CanonicalRequest` on SignatureDoesNotMatch) is kept.
 */
export function plainStoreError(error: unknown): PlainStoreError {
	const e = (error !== null && typeof error === 'object' ? error : {}) as SdkErrorShape & {
		code?: unknown;
	};
	const text = (value: unknown): string | undefined =>
		typeof value === 'string' ? value : undefined;
	const number = (value: unknown): number | undefined =>
		typeof value === 'number' ? value : undefined;
	const metadata = e.$metadata !== null && typeof e.$metadata === 'object' ? e.$metadata : {};
	const plain: PlainStoreError = {
		name: text(e.name) ?? 'Error',
		message: text(e.message) ?? (typeof error === 'string' ? error : ''),
		$metadata: {},
	};
	if (text(e.Code)) plain.Code = e.Code;
	if (text(e.code)) plain.code = e.code as string;
	if (text(e.$fault)) plain.$fault = e.$fault;
	if (number(metadata.httpStatusCode) !== undefined)
		plain.$metadata.httpStatusCode = metadata.httpStatusCode;
	if (text(metadata.requestId)) plain.$metadata.requestId = metadata.requestId;
	if (number(metadata.attempts) !== undefined) plain.$metadata.attempts = metadata.attempts;
	return plain;
}

/** The store's error code (`AccessDenied`…), or the SDK / network error name. */
export function storeErrorCode(error: unknown): string {
	if (error instanceof ArchiveError) return error.code;
	const e = (error ?? {}) as SdkErrorShape & { code?: string };
	return e.Code ?? (e.name && e.name !== 'Error' ? e.name : undefined) ?? e.code ?? 'UnknownError';
}

/** The HTTP status of a failed store call, when known. */
export function storeHttpStatus(error: unknown): number | undefined {
	if (error instanceof ArchiveError) return error.httpStatusCode;
	return ((error ?? {}) as SdkErrorShape).$metadata?.httpStatusCode;
}

function hintFor(code: string, status: number | undefined, context: StoreCallContext): string | undefined {
	if (
		context.objectLockSent &&
		(code === 'InvalidRequest' || code === 'InvalidBucketState') &&
		status === 400
	) {
		return `Bucket "${context.bucket}" does not accept Object Lock parameters: Object Lock is not enabled on it. Fix: archive into a bucket created with Object Lock enabled (ObjectLockEnabledForBucket), or set the Object Lock Mode option to "None".`;
	}
	if (!context.key && code === 'NotFound') {
		return `Bucket "${context.bucket}" does not exist on this endpoint: check the Bucket field of the credential or the node's Bucket override.`;
	}
	if (!context.key && code === 'Forbidden') {
		return 'The store refused the request (HTTP 403, no details for HEAD requests): check the Access Key ID, Secret Access Key and Region, and that the keys may access this bucket.';
	}
	switch (code) {
		case 'NoSuchBucket':
			return `Bucket "${context.bucket}" does not exist on this endpoint: check the Bucket field of the credential or the node's Bucket override.`;
		case 'SignatureDoesNotMatch':
			return 'The store rejected the request signature: check the Secret Access Key (and the Region).';
		case 'InvalidAccessKeyId':
			return 'The store does not know this Access Key ID: check the credential.';
		case 'AuthorizationHeaderMalformed':
		case 'PermanentRedirect':
		case 'IllegalLocationConstraintException':
			return 'The Region in the credential does not match the bucket or the endpoint: set the region the bucket lives in.';
		case 'AccessDenied':
			return 'The store denied the request: the keys lack permission, or the object version is protected by Object Lock or a legal hold.';
		default:
			return undefined;
	}
}

/**
 * Wraps an AWS SDK / network error into an {@link ArchiveError} that keeps the store's code,
 * HTTP status, message and request id, names the operation, bucket and key, and adds a fix hint
 * when one is known. Never includes a request or response body: `cause` is a
 * {@link plainStoreError} copy, not the SDK error (which references the live response and socket).
 */
export function toArchiveError(error: unknown, context: StoreCallContext): ArchiveError {
	if (error instanceof ArchiveError) return error;
	const e = (error ?? {}) as SdkErrorShape;
	const code = storeErrorCode(error);
	const status = storeHttpStatus(error);
	const storeMessage =
		typeof e.message === 'string' && e.message && e.message !== 'UnknownError'
			? e.message
			: undefined;
	const target = context.bucket
		? ` s3://${context.bucket}${context.key ? `/${context.key}` : ''}`
		: '';
	const hint = hintFor(code, status, context);
	const message =
		`${context.operation}${target} failed: ${code}${status ? ` (HTTP ${status})` : ''}` +
		(storeMessage && storeMessage !== code ? `: ${storeMessage}` : '') +
		(hint ? `. ${hint}` : '');
	return new ArchiveError(message, {
		code,
		httpStatusCode: status,
		storeMessage,
		requestId: e.$metadata?.requestId,
		hint,
		cause: plainStoreError(error),
	});
}

/** A conditional request the store refused: 412 PreconditionFailed (`If-None-Match: *` on an existing key). */
export function isPreconditionFailed(error: unknown): boolean {
	return storeHttpStatus(error) === 412 || storeErrorCode(error) === 'PreconditionFailed';
}

/** The key or version does not exist (404, `NoSuchKey`, `NoSuchVersion`, `NotFound`). */
export function isNotFound(error: unknown): boolean {
	const code = storeErrorCode(error);
	return (
		(storeHttpStatus(error) === 404 && code !== 'NoSuchBucket') ||
		code === 'NoSuchKey' ||
		code === 'NoSuchVersion'
	);
}
