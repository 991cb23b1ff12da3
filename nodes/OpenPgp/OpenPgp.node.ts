import {
	NodeConnectionTypes,
	type ICredentialDataDecryptedObject,
	type ICredentialTestFunctions,
	type ICredentialsDecrypted,
	type IExecuteFunctions,
	type INodeCredentialTestResult,
	type INodeExecutionData,
	type INodeType,
	type INodeTypeDescription,
} from 'n8n-workflow';

import * as encrypt from './actions/encrypt.operation';
import { router } from './actions/router';
import { testPrivateKeyCredential, testPublicKeysCredential } from './methods/credentialTest';

/**
 * OpenPGP: encrypts items to keys the team holds, in a form GnuPG 2.2 and sq read by default.
 * The verbs live in `actions/` (one file each); the engine is `lib/pgp`.
 */
export class OpenPgp implements INodeType {
	description: INodeTypeDescription = {
		displayName: 'OpenPGP',
		name: 'openPgp',
		icon: { light: 'file:openpgp.svg', dark: 'file:openpgp.dark.svg' },
		group: ['transform'],
		version: 1,
		subtitle: '={{$parameter["operation"]}}',
		description: 'Encrypt, decrypt, sign and verify with OpenPGP (GnuPG compatible)',
		defaults: { name: 'OpenPGP' },
		usableAsTool: true,
		inputs: [NodeConnectionTypes.Main],
		outputs: [NodeConnectionTypes.Main],
		credentials: [
			{
				name: 'openPgpPublicKeysApi',
				required: true,
				testedBy: 'openPgpPublicKeysApiTest',
				displayOptions: { show: { operation: ['encrypt'] } },
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
						name: 'Encrypt',
						value: 'encrypt',
						action: 'Encrypt data',
						description: 'Encrypt JSON or a binary file to the public keys of the credential',
					},
				],
				default: 'encrypt',
			},
			...encrypt.description,
		],
	};

	methods = {
		credentialTest: {
			async openPgpPublicKeysApiTest(
				this: ICredentialTestFunctions,
				credential: ICredentialsDecrypted<ICredentialDataDecryptedObject>,
			): Promise<INodeCredentialTestResult> {
				return await testPublicKeysCredential(credential.data ?? {});
			},
			async openPgpPrivateKeyApiTest(
				this: ICredentialTestFunctions,
				credential: ICredentialsDecrypted<ICredentialDataDecryptedObject>,
			): Promise<INodeCredentialTestResult> {
				return await testPrivateKeyCredential(credential.data ?? {});
			},
		},
	};

	async execute(this: IExecuteFunctions): Promise<INodeExecutionData[][]> {
		return await router.call(this);
	}
}
