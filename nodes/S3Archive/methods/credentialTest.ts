import type { ICredentialDataDecryptedObject, INodeCredentialTestResult } from 'n8n-workflow';

import { assertIndexKey } from '../../../lib/archive';
import { createS3Client, listOneObject, toArchiveError } from '../../../lib/s3';
import { s3SettingsFrom } from '../../shared/credentials';

/**
 * Credential test for `s3ArchiveApi`: ListObjectsV2 with MaxKeys=1 on the credential's bucket
 * (S3 API reference, ListObjectsV2), chosen over HeadBucket because its error responses carry the
 * store's XML code and message (HeadBucket errors have no body). On failure returns the store's own
 * code and message (wrong region, bad signature, unknown key, no such bucket) with a fix hint.
 * Also refuses an empty bucket and an index key `assertIndexKey` of lib/archive refuses.
 */
export async function testS3ArchiveCredential(
	credentials: ICredentialDataDecryptedObject,
): Promise<INodeCredentialTestResult> {
	const bucket = String(credentials.bucket ?? '').trim();
	if (!bucket) return { status: 'Error', message: 'Bucket is empty: set the archive bucket name' };
	try {
		assertIndexKey(credentials.indexKey);
	} catch (error) {
		return { status: 'Error', message: (error as Error).message };
	}
	let client;
	try {
		client = createS3Client(s3SettingsFrom(credentials));
	} catch (error) {
		return { status: 'Error', message: (error as Error).message };
	}
	try {
		await listOneObject(client, bucket);
		return { status: 'OK', message: `Connected: bucket "${bucket}" is reachable` };
	} catch (error) {
		const archiveError = toArchiveError(error, { operation: 'ListObjectsV2', bucket });
		const status = archiveError.httpStatusCode;
		const generic = ['NotFound', 'Forbidden', 'UnknownError', 'BadRequest'].includes(archiveError.code);
		const explained = !generic
			? archiveError.message
			: status === 404
				? `ListObjectsV2 s3://${bucket} failed: HTTP 404, no such bucket on this endpoint. Check the Bucket name.`
				: status === 403
					? `ListObjectsV2 s3://${bucket} failed: HTTP 403, the store refused the request. Check the Access Key ID, Secret Access Key and Region, and that the keys may list this bucket.`
					: status === 301
						? `ListObjectsV2 s3://${bucket} failed: HTTP 301, the bucket lives in another region. Set the Region of the bucket.`
						: archiveError.message;
		return { status: 'Error', message: explained };
	} finally {
		client.destroy();
	}
}
