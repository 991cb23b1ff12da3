import { NodeOperationError, type INode, type INodeProperties } from 'n8n-workflow';

import type { ArchiveStore } from '../../shared/credentials';


/** The bucket override, shared by every operation. */
export const bucketDescription: INodeProperties = {
	displayName: 'Bucket',
	name: 'bucket',
	type: 'string',
	default: '',
	description: "Leave empty to use the credential's bucket",
};

/** The key prefix, shared by Write and List. */
export const prefixDescription: INodeProperties = {
	displayName: 'Prefix',
	name: 'prefix',
	type: 'string',
	default: 'archive',
	required: true,
	displayOptions: { show: { operation: ['write', 'list', 'seal', 'export'] } },
	description: 'First part of every object key (may contain "/"), e.g. archive or team-a/archive',
};

/** What every operation receives: one S3 client per execution plus the credential's bucket and index key. */
export type ArchiveContext = ArchiveStore;


/** The bucket to use: the node's override, else the credential's; throws naming both fields when empty. */
export function resolveBucket(node: INode, override: string, context: ArchiveContext, itemIndex: number): string {
	const bucket = (override ?? '').trim() || context.bucket;
	if (!bucket) {
		throw new NodeOperationError(node, 'No bucket: set Bucket in the S3 Archive Store credential or in the node', {
			itemIndex,
		});
	}
	return bucket;
}
