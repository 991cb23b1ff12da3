import { ArchiveError } from '../../../lib/archive';
import { RetentionError } from '../../../lib/retention';

describe('RetentionError keeps no raw SDK error', () => {
	it('a store error as cause becomes a plain copy (no $response, no socket, no extra fields)', () => {
		const raw = Object.assign(new Error('Access Denied'), {
			name: 'AccessDenied',
			Code: 'AccessDenied',
			$fault: 'client',
			$metadata: { httpStatusCode: 403, requestId: 'r-1', attempts: 1 },
			$response: { body: { socket: { _httpMessage: { _header: 'Authorization: AWS4-HMAC-SHA256 Credential=AKIDSECRET/…' } } } },
		});
		const error = new RetentionError('StoreError', 'DeleteObjects s3://b failed: AccessDenied (HTTP 403)', { storeCode: 'AccessDenied', httpStatusCode: 403, cause: raw });
		expect(error.cause).toEqual({ name: 'AccessDenied', Code: 'AccessDenied', message: 'Access Denied', $fault: 'client', $metadata: { httpStatusCode: 403, requestId: 'r-1', attempts: 1 } });
		expect(JSON.stringify(error.cause)).not.toContain('AKIDSECRET');
	});

	it('the engine’s own errors are kept as they are; no cause stays no cause', () => {
		const archive = new ArchiveError('Invalid prefix: must not be empty', { code: 'InvalidInput' });
		expect(new RetentionError('InvalidPolicy', archive.message, { cause: archive }).cause).toBe(archive);
		const retention = new RetentionError('StoreError', 'x');
		expect(new RetentionError('StoreError', 'y', { cause: retention }).cause).toBe(retention);
		expect('cause' in new RetentionError('InvalidInput', 'z')).toBe(false);
	});
});
