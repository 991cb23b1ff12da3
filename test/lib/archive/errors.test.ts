import { ArchiveError, toArchiveError } from '../../../lib/archive';

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
