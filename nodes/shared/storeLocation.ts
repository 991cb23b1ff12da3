/**
 * Where in the store a node works, for every node using the S3 Archive Store credential: the Bucket
 * override and the Prefix parameters, the bucket an item uses, and the Object Lock modes offered.
 */
import { NodeOperationError, type IExecuteFunctions, type INodeProperties, type INodePropertyOptions } from 'n8n-workflow';

/** The bucket override: empty uses the credential's bucket. */
export const bucketDescription: INodeProperties = {
	displayName: 'Bucket',
	name: 'bucket',
	type: 'string',
	default: '',
	description: "Leave empty to use the credential's bucket",
};

/** The archive prefix (first key segment(s)); a node adds `displayOptions` when only some operations use it. */
export const prefixDescription: INodeProperties = {
	displayName: 'Prefix',
	name: 'prefix',
	type: 'string',
	default: 'archive',
	required: true,
	description:
		'First part of every object key of the archive (may contain "/"), e.g. archive or team-a/archive',
};

/**
 * The bucket of item `itemIndex`: the node's Bucket parameter, else the credential's.
 *
 * @throws NodeOperationError naming both places when both are empty.
 */
export function resolveBucket(this: IExecuteFunctions, itemIndex: number, store: { bucket: string }): string {
	const bucket = String(this.getNodeParameter('bucket', itemIndex, '') ?? '').trim() || store.bucket;
	if (!bucket) {
		throw new NodeOperationError(this.getNode(), 'No bucket: set Bucket in the S3 Archive Store credential or in the node', { itemIndex });
	}
	return bucket;
}

/** The bucket ({@link resolveBucket}) and the archive Prefix parameter of item `itemIndex`. */
export function storeLocation(this: IExecuteFunctions, itemIndex: number, store: { bucket: string }): { bucket: string; prefix: string } {
	return { bucket: resolveBucket.call(this, itemIndex, store), prefix: String(this.getNodeParameter('prefix', itemIndex, 'archive') ?? '') };
}

/**
 * The choices of an Object Lock mode parameter (S3 User Guide, "Object Lock retention modes"), with
 * what None means where it is offered.
 */
export function objectLockModeOptions(none: string): INodePropertyOptions[] {
	return [
		{
			name: 'Governance',
			value: 'GOVERNANCE',
			description: 'Principals with s3:BypassGovernanceRetention can still delete it',
		},
		{
			name: 'Compliance',
			value: 'COMPLIANCE',
			description: 'Nobody can delete it before the date',
		},
		{ name: 'None', value: 'none', description: none },
	];
}

/** Options → Duplicate Check of a record write (Record → Write, the trigger's Archive at Capture). */
export const duplicateCheckOption: INodeProperties = {
	displayName: 'Duplicate Check',
	name: 'duplicateCheck',
	type: 'options',
	options: [
		{
			name: 'Check Before Write (Any Store)',
			value: 'precheck',
			description:
				'A version check after each write in versioned buckets (a losing version is deleted; in Object Lock buckets without default retention the lock is placed on the winner after it), HeadObject before it elsewhere: works on stores that ignore If-None-Match (Ceph RGW 16 in versioned buckets). Up to 3 requests per new record.',
		},
		{
			name: 'Store Rejects Duplicates (If-None-Match)',
			value: 'store',
			description:
				'One request per record: the store refuses a key that exists. Only when Setup Check reports recommendedDuplicateCheck "store" for this bucket (AWS S3, MinIO); elsewhere a repeated record becomes another version.',
		},
	],
	default: 'precheck',
	description:
		'How a retried delivery (same record, same key) is recognised so it is written once',
};
