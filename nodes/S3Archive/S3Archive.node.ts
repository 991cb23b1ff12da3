import { NodeConnectionTypes, type IExecuteFunctions, type INodeExecutionData, type INodeType, type INodeTypeDescription } from 'n8n-workflow';

import * as audit from './actions/audit/Audit.resource';
import * as bucket from './actions/bucket/Bucket.resource';
import * as conversation from './actions/conversation/Conversation.resource';
import * as record from './actions/record/Record.resource';
import { router } from './actions/router';
import * as seal from './actions/seal/Seal.resource';
import { credentialTest } from '../shared/credentialTests';
import { bucketDescription, prefixDescription } from '../shared/storeLocation';

/**
 * S3 Archive: writes encrypted records to S3-compatible storage once, under a key layout that
 * reveals no personal data, optionally with S3 Object Lock; reads and lists them, seals them (signed
 * Merkle manifests) and verifies seals, exports conversations, checks the bucket's set-up, and verifies
 * the audit trail that every decrypting read, export and seal appends to.
 * Resources in `actions/<resource>/` (`<Resource>.resource.ts` gathers its `<verb>.operation.ts` files).
 */
export class S3Archive implements INodeType {
	description: INodeTypeDescription = {
		displayName: 'S3 Archive',
		name: 's3Archive',
		icon: { light: 'file:s3archive.svg', dark: 'file:s3archive.dark.svg' },
		group: ['output'],
		version: 1,
		subtitle: '={{$parameter["operation"] + ": " + $parameter["resource"]}}',
		description: 'Archive encrypted records on S3-compatible storage with Object Lock',
		defaults: { name: 'S3 Archive' },
		usableAsTool: true,
		inputs: [NodeConnectionTypes.Main],
		outputs: [NodeConnectionTypes.Main],
		// Operation values are unique across resources, so `operation` alone selects the credentials.
		// Both OpenPGP rules are `hide` lists: n8n's editor (nodeTypesUtils getMainAuthField /
		// findAlternativeAuthField) takes an options parameter whose every value appears in the
		// credentials' `show` rules for the node's authentication field and hides it, and with it what
		// depends on it; a `show` list naming verify would do that to Audit's Operation (its one value).
		credentials: [
			{ name: 's3ArchiveApi', required: true, testedBy: 's3ArchiveApiTest' },
			{
				// decrypts (Record → Get with Decrypt, Conversation → Export) and signs their audit events,
				// signs seals (Seal → Create) and theirs, or gives Seal → Verify and Audit → Verify the signer's public key
				name: 'openPgpPrivateKeyApi',
				required: false,
				testedBy: 'openPgpPrivateKeyApiTest',
				displayOptions: { hide: { operation: ['write', 'list', 'setupCheck'] } },
			},
			{
				// the seal or audit signer's public key(s) for Verify (Seal: else the private key's public part
				// is used; Audit: with it);
				// for Write, the archive key's public part that verifies releases in the legal-hold registry;
				// for Export with Encrypt Files, the reader's keys the files are encrypted to
				name: 'openPgpPublicKeysApi',
				required: false,
				testedBy: 'openPgpPublicKeysApiTest',
				displayOptions: { hide: { operation: ['seal', 'get', 'list', 'setupCheck'] } },
			},
		],
		properties: [
			{
				displayName: 'Resource',
				name: 'resource',
				type: 'options',
				noDataExpression: true,
				options: [
					{
						name: 'Audit',
						value: 'audit',
						description: 'The signed, hash-chained trail of every access to the archive',
					},
					{
						name: 'Bucket',
						value: 'bucket',
						description: "The archive bucket's versioning, Object Lock and write support",
					},
					{
						name: 'Conversation',
						value: 'conversation',
						description: 'All archived records of one counterparty, decrypted for eDiscovery',
					},
					{
						name: 'Record',
						value: 'record',
						description: 'Encrypted records and media in the archive',
					},
					{
						name: 'Seal',
						value: 'seal',
						description: 'Signed manifests that make changes to the archive evident',
					},
				],
				default: 'record',
			},
			record.operationDescription,
			seal.operationDescription,
			conversation.operationDescription,
			bucket.operationDescription,
			audit.operationDescription,
			bucketDescription,
			{
				...prefixDescription,
				displayOptions: {
					show: { resource: ['record', 'seal', 'conversation'], operation: ['write', 'list', 'seal', 'export'] },
				},
			},
			...record.description,
			...seal.description,
			...conversation.description,
			...bucket.description,
			...audit.description,
		],
	};

	methods = { credentialTest };

	async execute(this: IExecuteFunctions): Promise<INodeExecutionData[][]> {
		return await router.call(this);
	}
}
