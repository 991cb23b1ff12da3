import type { ICredentialType, INodeProperties, Icon } from 'n8n-workflow';

/**
 * S3 Archive Store: connection to an S3-compatible store (AWS S3, Ceph RGW, MinIO, Wasabi, B2…),
 * the archive bucket, and the index key that derives counterparty pseudonyms in object keys.
 * Tested by the S3 Archive node's `s3ArchiveApiTest` (HeadBucket on the bucket).
 */
export class S3ArchiveApi implements ICredentialType {
	name = 's3ArchiveApi';

	displayName = 'S3 Archive Store';

	icon: Icon = { light: 'file:../nodes/S3Archive/s3archive.svg', dark: 'file:../nodes/S3Archive/s3archive.dark.svg' };

	documentationUrl = 'https://github.com/n8n-nodes-chat-archive/n8n-nodes-chat-archive#s3-archive-store-credential';

	properties: INodeProperties[] = [
		{
			displayName: 'Endpoint',
			name: 'endpoint',
			type: 'string',
			default: '',
			required: true,
			placeholder: 'https://s3.us-east-1.amazonaws.com',
			description:
				'Full URL of the S3 API, e.g. https://s3.us-east-1.amazonaws.com, https://s3.eu-central-1.wasabisys.com or http://127.0.0.1:7480',
		},
		{
			displayName: 'Region',
			name: 'region',
			type: 'string',
			default: 'us-east-1',
			description: 'Signing region of the bucket (Ceph RGW: the zonegroup name, usually us-east-1 or default)',
		},
		{
			displayName: 'Access Key ID',
			name: 'accessKeyId',
			type: 'string',
			default: '',
			required: true,
		},
		{
			displayName: 'Secret Access Key',
			name: 'secretAccessKey',
			type: 'string',
			typeOptions: { password: true },
			default: '',
			required: true,
		},
		{
			displayName: 'Session Token',
			name: 'sessionToken',
			type: 'string',
			typeOptions: { password: true },
			default: '',
			description: 'Only for temporary credentials (AWS STS)',
		},
		{
			displayName: 'Force Path Style',
			name: 'forcePathStyle',
			type: 'boolean',
			default: true,
			description:
				'Whether to address buckets as https://host/bucket instead of https://bucket.host. Keep on for MinIO, Ceph and custom domains.',
		},
		{
			displayName: 'Checksum Mode',
			name: 'checksumMode',
			type: 'options',
			options: [
				{
					name: 'When Required',
					value: 'WHEN_REQUIRED',
					description: 'Only where the API demands one; works with R2, B2, MinIO, Ceph (Content-MD5 is always sent)',
				},
				{
					name: 'When Supported',
					value: 'WHEN_SUPPORTED',
					description: 'Also CRC32 checksums on every request (AWS S3 only)',
				},
			],
			default: 'WHEN_REQUIRED',
		},
		{
			displayName: 'Ignore TLS Errors',
			name: 'ignoreTlsErrors',
			type: 'boolean',
			default: false,
			description: 'Whether to accept self-signed or invalid certificates (private stores only)',
		},
		{
			displayName: 'Bucket',
			name: 'bucket',
			type: 'string',
			default: '',
			required: true,
			description: 'Archive bucket. Create it with Object Lock enabled to make records tamper-evident.',
		},
		// The index key is an HMAC secret: whoever holds it can link pseudonyms to phone numbers.
		// eslint-disable-next-line @n8n/community-nodes/credential-unnecessary-password
		{
			displayName: 'Index Key',
			name: 'indexKey',
			type: 'string',
			typeOptions: { password: true },
			default: '',
			required: true,
			placeholder: 'output of: openssl rand -hex 32',
			description:
				'Random secret of at least 32 bytes (generate one with: openssl rand -hex 32; short, repetitive or predictable keys are refused) that turns phone numbers into pseudonyms in object keys (HMAC-SHA256), so the storage provider never sees them. Keep a copy with your keys: losing it makes lookups by phone number impossible; changing it splits the archive (old and new records of one person get different pseudonyms).',
		},
	];
}
