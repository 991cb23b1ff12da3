import { Readable } from 'node:stream';
import { updateDisplayOptions, type IDataObject, type IDisplayOptions, type IExecuteFunctions, type INodeExecutionData, type INodeProperties } from 'n8n-workflow';

import { encrypt, type CompatibilityProfile } from '../../../lib/pgp';
import { credentialPrivateKey, credentialPublicKeys } from '../../shared/credentials';
import { PGP_MIME_TYPE, plaintextInputDescription, readPlaintext, streamToBuffer, uniqueKeys, withSuffix, type OperationContext } from './common';
import { optionsCollection } from '../../shared/parameters';

const showForEncrypt: IDisplayOptions = { show: { operation: ['encrypt'] } };

/** Parameters of the Encrypt operation. */
const properties: INodeProperties[] = [
	...plaintextInputDescription('encrypt', 'Encrypt'),
	{
		displayName: 'Output Format',
		name: 'outputFormat',
		type: 'options',
		noDataExpression: true,
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
		displayOptions: { show: { outputFormat: ['binary'] } },
		default: 'data',
		required: true,
		description: 'Name of the binary property that receives the ciphertext',
	},
	{
		displayName: 'Output Field',
		name: 'outputField',
		type: 'string',
		displayOptions: { show: { outputFormat: ['armored'] } },
		default: 'encrypted',
		required: true,
		description: 'Name of the JSON field that receives the armored message',
	},
	{
		displayName: 'Sign With',
		name: 'signWith',
		type: 'options',
		noDataExpression: true,
		options: [
			{
				name: "Don't Sign",
				value: 'none',
				description: 'Encrypt only',
			},
			{
				name: 'OpenPGP Private Key Credential',
				value: 'credential',
				description:
					'Also sign (one-pass signature inside the encryption, like gpg --sign --encrypt) with the private key of an OpenPGP Private Key credential; recipients can check who wrote the message',
			},
		],
		default: 'none',
	},
	optionsCollection([
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
				displayName: 'Compression',
				name: 'compression',
				type: 'options',
				options: [
					{
						name: 'None',
						value: 'none',
						description: 'No compression (default: fastest; size does not hint at content)',
					},
					{
						name: 'ZLIB',
						value: 'zlib',
						description:
							'ZLIB (RFC 1950), like gpg by default; smaller output for text and JSON; applied only when every recipient key allows it',
					},
					{
						name: 'ZIP',
						value: 'zip',
						description: 'Raw deflate (RFC 1951); applied only when every recipient key allows it',
					},
				],
				default: 'none',
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
		]),
];

export const description = updateDisplayOptions(showForEncrypt, properties);

interface EncryptOperationOptions {
	additionalRecipients?: string;
	compression?: 'none' | 'zlib' | 'zip';
	profile?: CompatibilityProfile;
	fileName?: string;
}

/**
 * Encrypt one item to the credential's public keys plus any additional recipients, optionally
 * signed with the `openPgpPrivateKeyApi` credential (`signWith: 'credential'`) and compressed
 * (`options.compression`). The output item
 * keeps the input JSON unchanged and carries the ciphertext in a binary property
 * (`application/pgp-encrypted`, `*.pgp`), or in a JSON field when armored output is chosen.
 */
export async function execute(this: IExecuteFunctions, itemIndex: number, context: OperationContext): Promise<INodeExecutionData[]> {
	const item = this.getInputData()[itemIndex];
	const options = this.getNodeParameter('options', itemIndex, {}) as EncryptOperationOptions;
	const outputFormat = this.getNodeParameter('outputFormat', itemIndex) as 'binary' | 'armored';
	const recipients = uniqueKeys(
		// the lenient profile for reading; `encrypt` checks the profile chosen per item
		await credentialPublicKeys.call(this, { profile: 'rfc9580' }),
		await context.pastedKeys.read(options.additionalRecipients ?? ''),
	);
	const signWith = this.getNodeParameter('signWith', itemIndex, 'none') as 'none' | 'credential';
	// Unlocked once per execution, before the input stream is opened.
	const signingKey = signWith === 'credential' ? await credentialPrivateKey.call(this) : undefined;
	const { data, innerName, source } = await readPlaintext.call(this, itemIndex, { stream: true });
	const result = await encrypt({
		data,
		recipients,
		signingKey,
		compression: options.compression ?? 'none',
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
