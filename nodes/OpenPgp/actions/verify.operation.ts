import { NodeOperationError, updateDisplayOptions, type IDataObject, type IDisplayOptions, type IExecuteFunctions, type INodeExecutionData, type INodeProperties } from 'n8n-workflow';

import { verify } from '../../../lib/pgp';
import { credentialPublicKeys } from '../../shared/credentials';
import { safeFileName } from '../../shared/binary';
import { getByPath, plaintextInputDescription, readPlaintext, signatureJson } from './common';
import { optionsCollection } from '../../shared/parameters';

const showForVerify: IDisplayOptions = { show: { operation: ['verify'] } };

/** Parameters of the Verify operation. */
const properties: INodeProperties[] = [
	{
		displayName: 'Signature Type',
		name: 'signatureType',
		type: 'options',
		noDataExpression: true,
		options: [
			{
				name: 'Detached',
				value: 'detached',
				description: 'The data and a separate signature',
			},
			{
				name: 'Inline (Signed Message)',
				value: 'inline',
				description: 'One OpenPGP message holding the data and its signature',
			},
		],
		default: 'detached',
	},
	...plaintextInputDescription('verify', 'Verify'),
	{
		displayName: 'Signature Source',
		name: 'signatureSource',
		type: 'options',
		noDataExpression: true,
		displayOptions: { show: { signatureType: ['detached'] } },
		options: [
			{ name: 'JSON Field (Armored)', value: 'field' },
			{ name: 'Binary File', value: 'binary' },
		],
		default: 'field',
	},
	{
		displayName: 'Signature Field',
		name: 'signatureField',
		type: 'string',
		displayOptions: {
			show: { signatureType: ['detached'], signatureSource: ['field'] },
		},
		default: 'signature',
		required: true,
		description:
			'JSON field holding the armored signature. With Whole Item JSON this field is left out of what is verified.',
	},
	{
		displayName: 'Signature Binary Field',
		name: 'signatureBinaryPropertyName',
		type: 'string',
		displayOptions: {
			show: { signatureType: ['detached'], signatureSource: ['binary'] },
		},
		default: 'signature',
		required: true,
		description: 'Binary property holding the signature (.sig or .asc)',
	},
	optionsCollection([
			{
				displayName: 'Error If Not Valid',
				name: 'errorIfInvalid',
				type: 'boolean',
				default: true,
				description:
					'Whether to fail the item when no valid signature of the credential keys is found (else report it)',
			},
			{
				displayName: 'Result Field',
				name: 'resultField',
				type: 'string',
				default: 'verification',
				description: 'JSON field receiving the result (valid, signer fingerprints, reasons)',
			},
		]),
];

export const description = updateDisplayOptions(showForVerify, properties);

interface VerifyOperationOptions {
	errorIfInvalid?: boolean;
	resultField?: string;
}

/**
 * Verify one item's signature against the public keys of the `openPgpPublicKeysApi` credential.
 * Adds `{ valid, signatures[] }` to the result field (default `verification`); for inline signed
 * messages the signed content goes to the binary property `data`. Fails the item when nothing
 * valid is found, unless "Error If Not Valid" is off.
 */
export async function execute(
	this: IExecuteFunctions,
	itemIndex: number,
): Promise<INodeExecutionData[]> {
	const item = this.getInputData()[itemIndex];
	const options = this.getNodeParameter('options', itemIndex, {}) as VerifyOperationOptions;
	const signatureType = this.getNodeParameter('signatureType', itemIndex) as 'detached' | 'inline';
	const verificationKeys = await credentialPublicKeys.call(this, { profile: 'rfc9580' });

	let signature: Uint8Array | string | undefined;
	let omitField: string | undefined;
	if (signatureType === 'detached') {
		const signatureSource = this.getNodeParameter('signatureSource', itemIndex) as
			| 'field'
			| 'binary';
		if (signatureSource === 'field') {
			const path = (this.getNodeParameter('signatureField', itemIndex) as string).trim();
			const value = getByPath(item.json, path);
			if (typeof value !== 'string' || !value.trim()) {
				throw new NodeOperationError(
					this.getNode(),
					`Field "${path}" does not hold an armored signature`,
					{ itemIndex },
				);
			}
			signature = value;
			omitField = path;
		} else {
			const property = this.getNodeParameter('signatureBinaryPropertyName', itemIndex) as string;
			this.helpers.assertBinaryData(itemIndex, property);
			signature = await this.helpers.getBinaryDataBuffer(itemIndex, property);
		}
	}
	const { data } = await readPlaintext.call(this, itemIndex, { stream: false, omitField });
	const result = await verify({ data: data as Uint8Array, signature, verificationKeys });
	if (!result.valid && options.errorIfInvalid !== false) {
		const reasons = result.signatures.map(
			(entry) => `${entry.fingerprint ?? entry.keyId}: ${entry.reason ?? 'not valid'}`,
		);
		throw new NodeOperationError(
			this.getNode(),
			result.signatures.length === 0
				? 'No signature found'
				: `No valid signature: ${reasons.join('; ')}`,
			{ itemIndex },
		);
	}
	const resultField = (options.resultField ?? 'verification').trim() || 'verification';
	const json: IDataObject = {
		...item.json,
		[resultField]: { valid: result.valid, signatures: result.signatures.map(signatureJson) },
	};
	if (signatureType === 'inline') {
		const binary = await this.helpers.prepareBinaryData(
			Buffer.from(result.data),
			safeFileName(undefined, 'data.bin'),
		);
		return [
			{ json, binary: { ...(item.binary ?? {}), data: binary }, pairedItem: { item: itemIndex } },
		];
	}
	return [
		{ json, ...(item.binary ? { binary: item.binary } : {}), pairedItem: { item: itemIndex } },
	];
}
