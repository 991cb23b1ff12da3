import { updateDisplayOptions, type IDataObject, type IDisplayOptions, type IExecuteFunctions, type INodeExecutionData, type INodeProperties } from 'n8n-workflow';

import { sign } from '../../../lib/pgp';
import { credentialPrivateKey } from '../../shared/credentials';
import { PGP_SIGNATURE_MIME_TYPE, plaintextInputDescription, readPlaintext } from './common';

const showForSign: IDisplayOptions = { show: { operation: ['sign'] } };

/** Parameters of the Sign operation. */
const properties: INodeProperties[] = [
	...plaintextInputDescription('sign', 'Sign'),
	{
		displayName: 'Signature Type',
		name: 'signatureType',
		type: 'options',
		noDataExpression: true,
		options: [
			{
				name: 'Detached',
				value: 'detached',
				description: 'A separate signature; the data stays as it is',
			},
			{
				name: 'Inline (Signed Message)',
				value: 'inline',
				description: 'One OpenPGP message holding the data and its signature',
			},
		],
		default: 'detached',
	},
	{
		displayName: 'Signature Format',
		name: 'signatureFormat',
		type: 'options',
		noDataExpression: true,
		options: [
			{
				name: 'ASCII Armored Text in a JSON Field',
				value: 'armored',
			},
			{
				name: 'Binary File',
				value: 'binary',
			},
		],
		default: 'armored',
	},
	{
		displayName: 'Signature Field',
		name: 'signatureField',
		type: 'string',
		displayOptions: { show: { signatureFormat: ['armored'] } },
		default: 'signature',
		required: true,
		description:
			'JSON field receiving the armored signature. With Whole Item JSON this field is left out of what is signed.',
	},
	{
		displayName: 'Signature Binary Field',
		name: 'signatureBinaryPropertyName',
		type: 'string',
		displayOptions: { show: { signatureFormat: ['binary'] } },
		default: 'signature',
		required: true,
		description: 'Binary property receiving the signature (.sig) or signed message (.pgp)',
	},
];

export const description = updateDisplayOptions(showForSign, properties);

/**
 * Sign one item with the private key of the `openPgpPrivateKeyApi` credential (unlocked once per
 * execution). The input JSON and binaries are kept; the signature is added as armored text in a
 * JSON field or as a binary property.
 */
export async function execute(
	this: IExecuteFunctions,
	itemIndex: number,
): Promise<INodeExecutionData[]> {
	const item = this.getInputData()[itemIndex];
	const signatureType = this.getNodeParameter('signatureType', itemIndex) as 'detached' | 'inline';
	const format = this.getNodeParameter('signatureFormat', itemIndex) as 'armored' | 'binary';
	const signatureField =
		format === 'armored'
			? (this.getNodeParameter('signatureField', itemIndex) as string).trim() || 'signature'
			: undefined;
	const { data } = await readPlaintext.call(this, itemIndex, {
		stream: false,
		omitField: signatureField,
	});
	const signingKey = await credentialPrivateKey.call(this);
	const result = await sign({
		data: data as Uint8Array,
		signingKey,
		detached: signatureType === 'detached',
		armor: format === 'armored',
	});
	if (signatureField) {
		return [
			{
				json: { ...item.json, [signatureField]: result.signature as string } as IDataObject,
				...(item.binary ? { binary: item.binary } : {}),
				pairedItem: { item: itemIndex },
			},
		];
	}
	const property =
		(this.getNodeParameter('signatureBinaryPropertyName', itemIndex) as string).trim() ||
		'signature';
	const detached = signatureType === 'detached';
	const binary = await this.helpers.prepareBinaryData(
		Buffer.from(result.signature as Uint8Array),
		detached ? 'signature.sig' : 'signed.pgp',
		detached ? PGP_SIGNATURE_MIME_TYPE : 'application/pgp-encrypted',
	);
	return [
		{
			json: item.json,
			binary: { ...(item.binary ?? {}), [property]: binary },
			pairedItem: { item: itemIndex },
		},
	];
}
