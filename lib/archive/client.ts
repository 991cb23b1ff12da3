import { createHash } from 'node:crypto';
import { Agent as HttpsAgent } from 'node:https';
import { S3Client, type S3ClientConfig } from '@aws-sdk/client-s3';

import { ArchiveError, type S3Settings } from './types';

/**
 * Builds an `S3Client` for an S3-compatible store from plain settings.
 *
 * - `forcePathStyle` defaults to `true`; `checksumMode` defaults to `WHEN_REQUIRED` and is applied to
 *   both `requestChecksumCalculation` and `responseChecksumValidation` (AWS SDK v3 ≥ 3.729 otherwise
 *   sends CRC32 / `aws-chunked` bodies that R2, B2, older MinIO and RGW 16 streams reject).
 * - `ignoreTlsErrors: true` installs an `https.Agent({ rejectUnauthorized: false })`.
 * - Every `UploadPart` carries `Content-MD5` (added by a build-step middleware), so multipart uploads
 *   into Object Lock buckets satisfy stores that demand an integrity header on every part
 *   (S3 API reference, UploadPart / "Content-MD5"; Object Lock "Checksum required").
 *
 * @throws ArchiveError `InvalidInput` when the endpoint is not an http(s) URL or keys are missing.
 */
export function createS3Client(settings: S3Settings): S3Client {
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
	if (settings.ignoreTlsErrors) {
		config.requestHandler = { httpsAgent: new HttpsAgent({ rejectUnauthorized: false }) };
	}
	const client = new S3Client(config);
	client.middlewareStack.add(
		(next, context) => async (args) => {
			const request = args.request as { headers?: Record<string, string>; body?: unknown };
			if (
				context.commandName === 'UploadPartCommand' &&
				request.headers &&
				!Object.keys(request.headers).some((h) => h.toLowerCase() === 'content-md5') &&
				request.body instanceof Uint8Array
			) {
				request.headers['content-md5'] = createHash('md5').update(request.body).digest('base64');
			}
			return await next(args);
		},
		{ step: 'build', name: 'chatArchiveUploadPartContentMd5', override: true },
	);
	return client;
}
