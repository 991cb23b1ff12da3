import { ArchiveError, plainStoreError, toArchiveError } from '../../../lib/s3';

const sdkError = (name: string, status: number, message: string) =>
	Object.assign(new Error(message), { name, $fault: 'client', $metadata: { httpStatusCode: status, requestId: 'req-1' } });

describe('toArchiveError', () => {
	it('keeps the store code, status, message and request id, and adds a fix hint', () => {
		const error = toArchiveError(
			sdkError('AuthorizationHeaderMalformed', 400, "The authorization header is malformed; the region 'us-east-1' is wrong; expecting 'eu-west-1'"),
			{ operation: 'PutObject', bucket: 'b', key: 'archive/x.pgp' },
		);
		expect(error).toBeInstanceOf(ArchiveError);
		expect(error).toMatchObject({ code: 'AuthorizationHeaderMalformed', httpStatusCode: 400, requestId: 'req-1' });
		expect(error.message).toMatch(/^PutObject s3:\/\/b\/archive\/x\.pgp failed: AuthorizationHeaderMalformed \(HTTP 400\): The authorization header/);
		expect(error.message).toMatch(/Region/);
		expect(toArchiveError(sdkError('PermanentRedirect', 301, 'x'), { operation: 'ListObjectsV2', bucket: 'b' }).hint).toMatch(/Region/);
		expect(toArchiveError(sdkError('SignatureDoesNotMatch', 403, 'x'), { operation: 'PutObject', bucket: 'b' }).hint).toMatch(/Secret Access Key/);
	});

	it('names the Object Lock fix only when lock parameters were sent', () => {
		const invalid = sdkError('InvalidRequest', 400, 'Bucket is missing ObjectLockConfiguration');
		expect(toArchiveError(invalid, { operation: 'PutObject', bucket: 'b', objectLockSent: true }).message).toMatch(/Object Lock is not enabled.*Fix:/);
		expect(toArchiveError(invalid, { operation: 'PutObject', bucket: 'b' }).hint).toBeUndefined();
	});

	it('handles network errors without HTTP metadata', () => {
		const error = toArchiveError(Object.assign(new Error('connect ECONNREFUSED 127.0.0.1:1'), { code: 'ECONNREFUSED', name: 'Error' }), {
			operation: 'PutObject',
			bucket: 'b',
		});
		expect(error.httpStatusCode).toBeUndefined();
		expect(error.code).toBe('ECONNREFUSED');
		expect(error.message).toMatch(/ECONNREFUSED/);
	});
});

describe('toArchiveError keeps no raw SDK error', () => {
	it('cause is a plain copy: name, Code, code, message, $fault, $metadata { httpStatusCode, requestId, attempts } only', () => {
		const socket = { _httpMessage: { _header: 'Authorization: AWS4-HMAC-SHA256 Credential=AKIDSECRET/…' } };
		const raw = Object.assign(new Error('Please reduce your request rate.'), {
			name: 'SlowDown',
			Code: 'SlowDown',
			$fault: 'server',
			$metadata: { httpStatusCode: 503, requestId: 'req-9', attempts: 3, totalRetryDelay: 400, cfId: 'x' },
			$response: { statusCode: 503, body: { socket } },
			AWSAccessKeyId: 'AKIDSECRET',
			StringToSign: 'AWS4-HMAC-SHA256\n…',
		});
		const error = toArchiveError(raw, { operation: 'PutObject', bucket: 'b', key: 'k' });
		expect(error.cause).toEqual({
			name: 'SlowDown',
			Code: 'SlowDown',
			message: 'Please reduce your request rate.',
			$fault: 'server',
			$metadata: { httpStatusCode: 503, requestId: 'req-9', attempts: 3 },
		});
		expect(error.cause).not.toBe(raw);
		expect(Object.getPrototypeOf(error.cause)).toBe(Object.prototype);
		expect(JSON.stringify(error.cause)).not.toMatch(/AKIDSECRET|StringToSign|_header/);
		expect(error).toMatchObject({ code: 'SlowDown', httpStatusCode: 503, requestId: 'req-9' });
	});

	it('a network error keeps its code; junk causes do not throw', () => {
		const error = toArchiveError(Object.assign(new Error('socket hang up'), { code: 'ECONNRESET', $metadata: { attempts: 3 } }), { operation: 'PutObject' });
		expect(error.cause).toEqual({ name: 'Error', code: 'ECONNRESET', message: 'socket hang up', $metadata: { attempts: 3 } });
		expect(plainStoreError(null)).toEqual({ name: 'Error', message: '', $metadata: {} });
		expect(plainStoreError('boom')).toEqual({ name: 'Error', message: 'boom', $metadata: {} });
		expect(plainStoreError({ name: 7, message: { x: 1 }, $metadata: 'x' })).toEqual({ name: 'Error', message: '', $metadata: {} });
	});
});
