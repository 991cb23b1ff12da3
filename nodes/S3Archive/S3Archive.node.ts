import {
	NodeConnectionTypes,
	type IExecuteFunctions,
	type INodeExecutionData,
	type INodeType,
	type INodeTypeDescription,
} from 'n8n-workflow';

import * as exportOperation from './actions/export.operation';
import * as get from './actions/get.operation';
import * as list from './actions/list.operation';
import { router } from './actions/router';
import * as seal from './actions/seal.operation';
import * as setupCheck from './actions/setupCheck.operation';
import * as verify from './actions/verify.operation';
import * as write from './actions/write.operation';
import { credentialTest } from '../shared/credentialTests';
import { bucketDescription, prefixDescription } from '../shared/storeLocation';

/**
 * S3 Archive: writes encrypted records to S3-compatible storage once, under a key layout that
 * reveals no personal data, optionally with S3 Object Lock; reads, lists, seals (signed Merkle
 * manifests), verifies seals and exports conversations. The verbs live in `actions/`.
 */
export class S3Archive implements INodeType {
	description: INodeTypeDescription = {
		displayName: 'S3 Archive',
		name: 's3Archive',
		icon: { light: 'file:s3archive.svg', dark: 'file:s3archive.dark.svg' },
		group: ['output'],
		version: 1,
		subtitle: '={{$parameter["operation"]}}',
		description: 'Archive encrypted records on S3-compatible storage with Object Lock',
		defaults: { name: 'S3 Archive' },
		usableAsTool: true,
		inputs: [NodeConnectionTypes.Main],
		outputs: [NodeConnectionTypes.Main],
		credentials: [
			{ name: 's3ArchiveApi', required: true, testedBy: 's3ArchiveApiTest' },
			{
				// decrypts (Get with Decrypt, Export), signs (Seal), or gives Verify the signer's public key
				name: 'openPgpPrivateKeyApi',
				required: false,
				testedBy: 'openPgpPrivateKeyApiTest',
				displayOptions: { show: { operation: ['get', 'seal', 'verify', 'export'] } },
			},
			{
				// the seal signer's public key(s) for Verify (else the private key's public part is used)
				name: 'openPgpPublicKeysApi',
				required: false,
				testedBy: 'openPgpPublicKeysApiTest',
				displayOptions: { show: { operation: ['verify'] } },
			},
		],
		properties: [
			{
				displayName: 'Operation',
				name: 'operation',
				type: 'options',
				noDataExpression: true,
				options: [
					{
						name: 'Export Conversation',
						value: 'export',
						action: 'Export a conversation',
						description: 'Decrypt one counterparty\'s records in order: JSONL plus HTML and text transcripts (eDiscovery)',
					},
					{
						name: 'Get',
						value: 'get',
						action: 'Get an archived object',
						description: 'Download one object version as binary, checking its SHA-256',
					},
					{
						name: 'List',
						value: 'list',
						action: 'List archived objects',
						description: 'List objects by retention class, phone number ID, dates or counterparty',
					},
					{
						name: 'Seal',
						value: 'seal',
						action: 'Seal a day or prefix',
						description: 'Sign a hash-chained manifest (Merkle root) of every object version under a prefix',
					},
					{
						name: 'Setup Check',
						value: 'setupCheck',
						action: 'Check the bucket set up',
						description: 'Report versioning, Object Lock, default retention and conditional write support',
					},
					{
						name: 'Verify Seal',
						value: 'verify',
						action: 'Verify a seal',
						description: 'Check a seal signature and report missing, altered and unsealed object versions',
					},
					{
						name: 'Write',
						value: 'write',
						action: 'Write an encrypted record',
						description: 'Store the binary ciphertext once under the archive key layout',
					},
				],
				default: 'write',
			},
			bucketDescription,
			{ ...prefixDescription, displayOptions: { show: { operation: ['write', 'list', 'seal', 'export'] } } },
			...write.description,
			...get.description,
			...list.description,
			...setupCheck.description,
			...seal.description,
			...verify.description,
			...exportOperation.description,
		],
	};

	methods = { credentialTest };

	async execute(this: IExecuteFunctions): Promise<INodeExecutionData[][]> {
		return await router.call(this);
	}
}
