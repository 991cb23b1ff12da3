import { NodeConnectionTypes, type IExecuteFunctions, type INodeExecutionData, type INodeType, type INodeTypeDescription } from 'n8n-workflow';

import * as decrypt from './actions/decrypt.operation';
import * as encrypt from './actions/encrypt.operation';
import * as inspectKey from './actions/inspectKey.operation';
import { router } from './actions/router';
import * as sign from './actions/sign.operation';
import * as verify from './actions/verify.operation';
import { credentialTest } from '../shared/credentialTests';

/**
 * OpenPGP: encrypts items to keys the team holds, in a form GnuPG 2.2 and sq read by default;
 * decrypts, signs, verifies and inspects keys.
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
				displayOptions: { show: { operation: ['encrypt', 'verify'] } },
			},
			{
				name: 'openPgpPrivateKeyApi',
				required: true,
				testedBy: 'openPgpPrivateKeyApiTest',
				displayOptions: { show: { operation: ['decrypt', 'sign'] } },
			},
			// The same credential, for Encrypt only when "Sign With" asks for it (show rules are ANDed,
			// so this needs its own entry; n8n collects active credential types by name).
			{
				name: 'openPgpPrivateKeyApi',
				required: true,
				testedBy: 'openPgpPrivateKeyApiTest',
				displayOptions: { show: { operation: ['encrypt'], signWith: ['credential'] } },
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
						name: 'Decrypt',
						value: 'decrypt',
						action: 'Decrypt a message',
						description:
							'Decrypt a binary or armored message with the private key of the credential',
					},
					{
						name: 'Encrypt',
						value: 'encrypt',
						action: 'Encrypt data',
						description: 'Encrypt JSON or a binary file to the public keys of the credential',
					},
					{
						name: 'Inspect Key',
						value: 'inspectKey',
						action: 'Inspect public keys',
						description:
							'Describe keys: fingerprint, user IDs, algorithm, expiry, usable for encryption and why not',
					},
					{
						name: 'Sign',
						value: 'sign',
						action: 'Sign data',
						description: 'Sign JSON or a binary file with the private key of the credential',
					},
					{
						name: 'Verify',
						value: 'verify',
						action: 'Verify a signature',
						description: 'Check a detached or inline signature against the credential public keys',
					},
				],
				default: 'encrypt',
			},
			...encrypt.description,
			...decrypt.description,
			...sign.description,
			...verify.description,
			...inspectKey.description,
		],
	};

	methods = { credentialTest };

	async execute(this: IExecuteFunctions): Promise<INodeExecutionData[][]> {
		return await router.call(this);
	}
}
