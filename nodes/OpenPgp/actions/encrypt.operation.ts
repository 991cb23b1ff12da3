import { Readable } from 'node:stream';
import {
	NodeOperationError,
	type IDataObject,
	type IExecuteFunctions,
	type INodeExecutionData,
	type INodeProperties,
} from 'n8n-workflow';

import { encrypt, type CompatibilityProfile } from '../../../lib/pgp';
import {
	PGP_MIME_TYPE,
	getByPath,
	readBinaryInput,
	streamToBuffer,
	uniqueKeys,
	withSuffix,
	type OperationContext,
} from './common';

const showForEncrypt = { show: { operation: ['encrypt'] } };

/** Parameters of the Encrypt operation. */
export const description: INodeProperties[] = [
	{
		displayName: 'Source',
		name: 'source',
		type: 'options',
		noDataExpression: true,
		displayOptions: showForEncrypt,
		options: [
			{
				name: 'JSON',
				value: 'json',
				description: "Encrypt the item's JSON (the whole item or one field)",
			},
			{
				name: 'Binary File',
				value: 'binary',
				description: 'Encrypt a binary property of the item, streamed',
			},
		],
		default: 'json',
	},
	{
		displayName: 'JSON Mode',
		name: 'jsonMode',
		type: 'options',
		noDataExpression: true,
		displayOptions: { show: { operation: ['encrypt'], source: ['json'] } },
		options: [
			{
				name: 'Whole Item',
				value: 'wholeItem',
				description: 'Encrypt JSON.stringify of the whole item JSON',
			},
			{
				name: 'Field',
				value: 'field',
				description: 'Encrypt one field: strings as UTF-8 text, other values as JSON',
			},
		],
		default: 'wholeItem',
	},
	{
		displayName: 'JSON Field',
		name: 'jsonField',
		type: 'string',
		displayOptions: { show: { operation: ['encrypt'], source: ['json'], jsonMode: ['field'] } },
		default: '',
		required: true,
		placeholder: 'record.body',
		description: 'Dot path of the field to encrypt, e.g. record.body or messages[0]',
	},
	{
		displayName: 'Input Binary Field',
		name: 'inputBinaryPropertyName',
		type: 'string',
		displayOptions: { show: { operation: ['encrypt'], source: ['binary'] } },
		default: 'data',
		required: true,
		description: 'Name of the binary property holding the file to encrypt',
	},
	{
		displayName: 'Output Format',
		name: 'outputFormat',
		type: 'options',
		noDataExpression: true,
		displayOptions: showForEncrypt,
		options: [
			{
				name: 'Binary (.pgp)',
				value: 'binary',
				description: 'OpenPGP binary message in a binary property; compact, for storage',
			},
			{
				name: 'ASCII Armored Text',
				value: 'armored',
				description: 'Armored text in a JSON field; for text channels (e-mail, chat)',
			},
		],
		default: 'binary',
	},
	{
		displayName: 'Output Binary Field',
		name: 'outputBinaryPropertyName',
		type: 'string',
		displayOptions: { show: { operation: ['encrypt'], outputFormat: ['binary'] } },
		default: 'data',
		required: true,
		description: 'Name of the binary property that receives the ciphertext',
	},
	{
		displayName: 'Output Field',
		name: 'outputField',
		type: 'string',
		displayOptions: { show: { operation: ['encrypt'], outputFormat: ['armored'] } },
		default: 'encrypted',
		required: true,
		description: 'Name of the JSON field that receives the armored message',
	},
	{
		displayName: 'Options',
		name: 'options',
		type: 'collection',
		placeholder: 'Add option',
		displayOptions: showForEncrypt,
		default: {},
		options: [
			{
				displayName: 'Additional Recipients',
				name: 'additionalRecipients',
				type: 'string',
				typeOptions: { rows: 4 },
				default: '',
				placeholder: '-----BEGIN PGP PUBLIC KEY BLOCK-----…',
				description:
					'More armored public keys to encrypt to, besides the credential (expressions allowed)',
			},
			{
				displayName: 'Compatibility Profile',
				name: 'profile',
				type: 'options',
				options: [
					{
						name: 'GnuPG Compatible',
						value: 'gnupg',
						description:
							'Readable by GnuPG 2.2 and sq: v4 keys, SEIPD v1 with AES-256 even for recipients that advertise AEAD',
					},
					{
						name: 'RFC 9580',
						value: 'rfc9580',
						description:
							'Let OpenPGP.js negotiate: v6 keys and AEAD (SEIPD v2) allowed; older GnuPG cannot read the result',
					},
				],
				default: 'gnupg',
			},
			{
				displayName: 'File Name',
				name: 'fileName',
				type: 'string',
				default: '',
				placeholder: 'record.pgp',
				description:
					'Name of the output binary (".pgp" is appended when missing). Default: record.pgp for JSON, data.pgp for binaries. The name stored inside the ciphertext is always neutral.',
			},
		],
	},
];

interface EncryptOperationOptions {
	additionalRecipients?: string;
	profile?: CompatibilityProfile;
	fileName?: string;
}

/** The plaintext of item `itemIndex` and the neutral name stored inside the ciphertext. */
async function plaintextOf(
	this: IExecuteFunctions,
	itemIndex: number,
): Promise<{ data: Uint8Array | Readable; innerName: string; source: 'json' | 'binary' }> {
	const source = this.getNodeParameter('source', itemIndex) as 'json' | 'binary';
	const item = this.getInputData()[itemIndex];
	if (source === 'binary') {
		const propertyName = this.getNodeParameter('inputBinaryPropertyName', itemIndex) as string;
		const { data } = await readBinaryInput.call(this, itemIndex, propertyName, { stream: true });
		return { data, innerName: 'data.bin', source };
	}
	const jsonMode = this.getNodeParameter('jsonMode', itemIndex) as 'wholeItem' | 'field';
	if (jsonMode === 'wholeItem') {
		return { data: Buffer.from(JSON.stringify(item.json)), innerName: 'record.json', source };
	}
	const path = (this.getNodeParameter('jsonField', itemIndex) as string).trim();
	const value = getByPath(item.json, path);
	if (value === undefined) {
		throw new NodeOperationError(this.getNode(), `Field "${path}" not found in the item`, {
			itemIndex,
		});
	}
	if (typeof value === 'string') {
		return { data: Buffer.from(value, 'utf8'), innerName: 'record.txt', source };
	}
	return { data: Buffer.from(JSON.stringify(value)), innerName: 'record.json', source };
}

/**
 * Encrypt one item to the credential's public keys plus any additional recipients. The output item
 * keeps the input JSON unchanged and carries the ciphertext in a binary property
 * (`application/pgp-encrypted`, `*.pgp`), or in a JSON field when armored output is chosen.
 */
export async function execute(
	this: IExecuteFunctions,
	itemIndex: number,
	context: OperationContext,
): Promise<INodeExecutionData[]> {
	const item = this.getInputData()[itemIndex];
	const options = this.getNodeParameter('options', itemIndex, {}) as EncryptOperationOptions;
	const outputFormat = this.getNodeParameter('outputFormat', itemIndex) as 'binary' | 'armored';
	const recipients = uniqueKeys(
		await context.keys.credentialPublicKeys(),
		await context.keys.keysFromText(options.additionalRecipients ?? ''),
	);
	const { data, innerName, source } = await plaintextOf.call(this, itemIndex);
	const result = await encrypt({
		data,
		recipients,
		armor: outputFormat === 'armored',
		profile: options.profile ?? 'gnupg',
		filename: innerName,
	});

	if (outputFormat === 'armored') {
		const field = (this.getNodeParameter('outputField', itemIndex) as string).trim() || 'encrypted';
		const armored =
			result.ciphertext instanceof Readable
				? (await streamToBuffer(result.ciphertext)).toString('utf8')
				: typeof result.ciphertext === 'string'
					? result.ciphertext
					: Buffer.from(result.ciphertext).toString('utf8');
		return [
			{ json: { ...item.json, [field]: armored } as IDataObject, pairedItem: { item: itemIndex } },
		];
	}

	const outputProperty =
		(this.getNodeParameter('outputBinaryPropertyName', itemIndex) as string).trim() || 'data';
	const fileName = withSuffix(
		options.fileName?.trim() || (source === 'json' ? 'record.pgp' : 'data.pgp'),
		'.pgp',
	);
	const body =
		result.ciphertext instanceof Readable
			? result.ciphertext
			: Buffer.from(result.ciphertext as Uint8Array);
	const binary = await this.helpers.prepareBinaryData(body, fileName, PGP_MIME_TYPE);
	return [
		{
			json: item.json,
			binary: { [outputProperty]: binary },
			pairedItem: { item: itemIndex },
		},
	];
}
