import { NodeOperationError, updateDisplayOptions, type IDataObject, type IDisplayOptions, type IExecuteFunctions, type INodeExecutionData, type INodeProperties } from 'n8n-workflow';

import { verifySeal } from '../../../../lib/archive';
import type { PublicKey } from '../../../../lib/pgp';
import { recordedDeletions } from '../../../../lib/retention';
import { credentialPrivateKey, credentialPublicKeysIfSet, type ArchiveStore } from '../../../shared/credentials';
import { resolveBucket } from '../../../shared/storeLocation';

const showForVerify: IDisplayOptions = { show: { resource: ['seal'], operation: ['verify'] } };

/** Parameters of Seal → Verify. */
const properties: INodeProperties[] = [
	{
		displayName: 'Manifest Key',
		name: 'manifestKey',
		type: 'string',
		default: '',
		required: true,
		placeholder:
			'archive/_seals/default/106000000000002/2026/01/01/20260102T010000000Z-1a2b3c4d.json',
		description:
			'Key of the seal manifest, e.g. the "manifestKey" of a Seal → Create result; its signature is the same key + .asc',
	},
	{
		displayName: 'Options',
		name: 'verifyOptions',
		type: 'collection',
		placeholder: 'Add option',
		default: {},
		options: [
			{
				displayName: 'Check Hash Chain',
				name: 'checkChain',
				type: 'boolean',
				default: true,
				description:
					"Whether to check that the previous manifest still matches this manifest's prev_manifest_sha256",
			},
			{
				displayName: 'Fail When Not Valid',
				name: 'failWhenInvalid',
				type: 'boolean',
				default: false,
				description:
					'Whether to stop with an error when the signature, the manifest or any sealed version does not check out (otherwise the report is output with valid: false)',
			},
			{
				displayName: 'Max Listed per Outcome',
				name: 'maxListed',
				type: 'number',
				typeOptions: { minValue: 0 },
				default: 1000,
				description:
					'Most versions listed under missing, altered, deletedByRetention and unsealed each (counts are always complete; "truncated" names the cut lists)',
			},
			{
				displayName: 'Hash Content',
				name: 'hashContent',
				type: 'boolean',
				default: true,
				description:
					'Whether to download every sealed version and recompute its SHA-256; off compares sizes and x-amz-meta-sha256 only (faster, weaker)',
			},
		],
	},
];

export const description = updateDisplayOptions(showForVerify, properties);

/**
 * Verification keys: the OpenPGP Public Keys credential (pinned to its expected fingerprints) when
 * attached, else the public part of the OpenPGP Private Key credential.
 *
 * @throws NodeOperationError when neither credential is attached.
 */
async function verificationKeys(this: IExecuteFunctions, itemIndex: number): Promise<PublicKey[]> {
	const publicKeys = await credentialPublicKeysIfSet.call(this, { profile: 'rfc9580', itemIndex });
	if (publicKeys) return publicKeys;
	const privateKey = await credentialPrivateKey
		.call(this, { itemIndex, purpose: 'Verify' })
		.catch(() => null);
	if (!privateKey) {
		throw new NodeOperationError(this.getNode(), "Verify needs the signer's public key", {
			itemIndex,
			description:
				'Select an "OpenPGP Public Keys" credential holding the seal signer\'s public key',
		});
	}
	return [privateKey.toPublic()];
}

interface VerifyNodeOptions {
	maxListed?: number;
	checkChain?: boolean;
	failWhenInvalid?: boolean;
	hashContent?: boolean;
}

/**
 * Seal → Verify: checks a seal's signature (with the OpenPGP Public Keys credential, else the public part of
 * the private key credential) as of the seal's own time, reports the signing key's expiry and
 * revocation apart (`verify.signature.key`), and recomputes the seal from the store. Outputs
 * `{ valid, verify: { signature, merkleRoot, chain, problems, counts, missing, altered, deletedByRetention, unsealed, … } }`.
 */
export async function execute(this: IExecuteFunctions, i: number, context: ArchiveStore): Promise<INodeExecutionData[]> {
	const bucket = resolveBucket.call(this, i, context);
	const manifestKey = String(this.getNodeParameter('manifestKey', i, '')).trim();
	if (!manifestKey)
		throw new NodeOperationError(this.getNode(), 'Manifest Key is required', { itemIndex: i });
	const options = this.getNodeParameter('verifyOptions', i, {}) as VerifyNodeOptions;
	const keys = await verificationKeys.call(this, i);
	const result = await verifySeal({
		client: context.client,
		bucket,
		manifestKey,
		verificationKeys: keys,
		// a sealed version the sweeper deleted is explained by its signed deletion report
		recordedDeletions: recordedDeletions({
			client: context.client,
			bucket,
			verificationKeys: keys,
		}),
		hashContent: options.hashContent !== false,
		checkChain: options.checkChain !== false,
	});
	if (options.failWhenInvalid && !result.valid) {
		const c = result.counts;
		const key = result.signature.key;
		const keyNote = key && key.status !== 'valid' ? ` (signing key ${key.status}${key.revocationReason ? `: ${key.revocationReason}` : ''})` : '';
		const description = [result.signature.reason, ...result.problems].filter(Boolean).join('; ');
		throw new NodeOperationError(
			this.getNode(),
			`Seal ${manifestKey} does not verify: signature ${result.signature.valid ? 'valid' : 'INVALID'}${keyNote}, ${c.missing} missing, ${c.altered} altered, ${result.problems.length} manifest problem(s)`,
			{ itemIndex: i, description: description || undefined },
		);
	}
	const maxListed = Math.max(0, options.maxListed ?? 1000);
	const truncated: string[] = [];
	const cut = <T>(name: string, list: T[]): T[] => {
		if (list.length <= maxListed) return list;
		truncated.push(name);
		return list.slice(0, maxListed);
	};
	const verify = {
		...result,
		missing: cut('missing', result.missing),
		altered: cut('altered', result.altered),
		deletedByRetention: cut('deletedByRetention', result.deletedByRetention),
		unsealed: cut('unsealed', result.unsealed),
		truncated,
	};
	return [
		{
			json: { valid: result.valid, verify: verify as unknown as IDataObject },
			pairedItem: { item: i },
		},
	];
}
