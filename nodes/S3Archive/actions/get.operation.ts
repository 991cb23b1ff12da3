import type { IDataObject, IExecuteFunctions, INodeExecutionData, INodeProperties } from 'n8n-workflow';

import { getObject } from '../../../lib/archive';
import { resolveBucket, type ArchiveContext } from './common';

const showForGet = { show: { operation: ['get'] } };

/** Parameters of the Get operation. */
export const description: INodeProperties[] = [
	{
		displayName: 'Object Key',
		name: 'key',
		type: 'string',
		default: '',
		required: true,
		displayOptions: showForGet,
		description: 'Key of the archived object, e.g. the "key" of a Write or List result',
	},
	{
		displayName: 'Version ID',
		name: 'versionId',
		type: 'string',
		default: '',
		displayOptions: showForGet,
		description: 'Version to read; empty reads the current version',
	},
	{
		displayName: 'Put Output File in Field',
		name: 'outputBinaryPropertyName',
		type: 'string',
		default: 'data',
		required: true,
		displayOptions: showForGet,
		description: 'Name of the binary property to put the ciphertext in',
	},
	{
		displayName: 'Verify SHA-256',
		name: 'verifySha256',
		type: 'boolean',
		default: true,
		displayOptions: showForGet,
		description: 'Whether to fail when the bytes do not match the SHA-256 recorded at write time (x-amz-meta-sha256)',
	},
];

/**
 * Get: downloads one object version (streamed into n8n's binary data store) and outputs it as a
 * binary with `{ archive: { bucket, key, versionId, etag, size, sha256, contentType, lastModified, objectLock } }`.
 */
export async function execute(
	this: IExecuteFunctions,
	i: number,
	context: ArchiveContext,
): Promise<INodeExecutionData[]> {
	const bucket = resolveBucket(this.getNode(), this.getNodeParameter('bucket', i, '') as string, context, i);
	const key = (this.getNodeParameter('key', i) as string).trim();
	const versionId = (this.getNodeParameter('versionId', i, '') as string).trim() || undefined;
	const property = (this.getNodeParameter('outputBinaryPropertyName', i, 'data') as string).trim() || 'data';
	const verify = this.getNodeParameter('verifySha256', i, true) as boolean;
	const result = await getObject({ client: context.client, bucket, key, versionId, verify });
	const fileName = key.split('/').pop() || 'object.pgp';
	const binary = await this.helpers.prepareBinaryData(
		result.body,
		fileName,
		result.contentType ?? 'application/pgp-encrypted',
	);
	const archive: IDataObject = {
		bucket: result.bucket,
		key: result.key,
		versionId: result.versionId,
		etag: result.etag,
		size: result.size,
		sha256: result.sha256,
		contentType: result.contentType,
		lastModified: result.lastModified?.toISOString() ?? null,
		objectLock: {
			mode: result.objectLock.mode,
			retainUntil: result.objectLock.retainUntil?.toISOString() ?? null,
			legalHold: result.objectLock.legalHold,
		},
	};
	return [{ json: { archive }, binary: { [property]: binary }, pairedItem: { item: i } }];
}
