import { NodeOperationError, updateDisplayOptions, type IDataObject, type IDisplayOptions, type IExecuteFunctions, type INodeExecutionData, type INodeProperties } from 'n8n-workflow';

import { verifyAudit } from '../../../../lib/archive';
import type { PublicKey } from '../../../../lib/pgp';
import { scopeDay } from '../../../shared/audit';
import { credentialPrivateKey, credentialPublicKeysIfSet, type ArchiveStore } from '../../../shared/credentials';
import { toNodeError } from '../../../shared/errors';
import { prefixDescription, storeLocation } from '../../../shared/storeLocation';

const showForVerify: IDisplayOptions = { show: { resource: ['audit'], operation: ['verify'] } };

/** Parameters of Audit → Verify. */
const properties: INodeProperties[] = [
	prefixDescription,
	{
		displayName: 'From Date',
		name: 'auditFrom',
		type: 'dateTime',
		default: '',
		description: 'First UTC day of the trail to check; empty: from its first event',
	},
	{
		displayName: 'To Date',
		name: 'auditTo',
		type: 'dateTime',
		default: '',
		description: 'Last UTC day of the trail to check; empty: up to its newest event',
	},
	{
		displayName: 'Options',
		name: 'auditVerifyOptions',
		type: 'collection',
		placeholder: 'Add option',
		default: {},
		options: [
			{
				displayName: 'Fail When Not Valid',
				name: 'failWhenInvalid',
				type: 'boolean',
				default: false,
				description:
					'Whether to stop with an error when the trail has a gap, a break, a bad signature or a problem (otherwise the report is output with valid: false)',
			},
		],
	},
];

export const description = updateDisplayOptions(showForVerify, properties);

/**
 * Keys allowed to have signed events: those of the OpenPGP Public Keys credential (the archive keys,
 * earlier ones kept after a rotation) and the public part of the OpenPGP Private Key credential, as
 * far as each is attached.
 *
 * @throws NodeOperationError when neither credential is attached.
 */
async function verificationKeys(this: IExecuteFunctions, itemIndex: number): Promise<PublicKey[]> {
	const publicKeys = (await credentialPublicKeysIfSet.call(this, { profile: 'rfc9580', itemIndex })) ?? [];
	// no private key credential attached is fine here; a key that cannot be read is not
	const privateKey = await credentialPrivateKey
		.call(this, { itemIndex, purpose: 'Verify Audit' })
		.catch((error: unknown) => {
			if (error instanceof NodeOperationError) return null;
			throw toNodeError(this.getNode(), error, itemIndex);
		});
	const keys = privateKey ? [...publicKeys, privateKey.toPublic()] : publicKeys;
	if (!keys.length) {
		throw new NodeOperationError(this.getNode(), "Verify Audit needs the public key of the archive key that signs audit events", {
			itemIndex,
			description: 'Select an "OpenPGP Public Keys" credential holding the archive key\'s public part (and earlier archive keys), or the "OpenPGP Private Key" credential',
		});
	}
	return keys;
}

/**
 * Audit → Verify: checks the audit trail under `<prefix>/_audit/` for a range of days (`verifyAudit` of
 * lib/archive): each event's signature, its place in the hash chain and its key. Outputs
 * `{ valid, audit: { eventsChecked, first, last, gaps, breaks, badSignatures, problems, extraVersions, signers, … } }`.
 * Keep `audit.last.sha256` outside the bucket: the newest event has no successor to vouch for it.
 */
export async function execute(this: IExecuteFunctions, i: number, context: ArchiveStore): Promise<INodeExecutionData[]> {
	const { bucket, prefix } = storeLocation.call(this, i, context);
	// a value that is not a date goes to verifyAudit as it is, which names the field
	const day = (name: string) => {
		const value = String(this.getNodeParameter(name, i, '') ?? '').trim();
		return scopeDay(value) ?? (value || undefined);
	};
	const from = day('auditFrom');
	const to = day('auditTo');
	const options = this.getNodeParameter('auditVerifyOptions', i, {}) as { failWhenInvalid?: boolean };
	const report = await verifyAudit({
		client: context.client,
		bucket,
		prefix,
		from,
		to,
		verificationKeys: await verificationKeys.call(this, i),
	});
	if (options.failWhenInvalid && !report.valid) {
		const findings = [...report.gaps, ...report.breaks, ...report.badSignatures].map((finding) => finding.message);
		throw new NodeOperationError(
			this.getNode(),
			`The audit trail under ${report.folder}/ does not verify: ${report.gaps.length} gap(s), ${report.breaks.length} break(s), ${report.badSignatures.length} bad signature(s), ${report.problems.length} problem(s)`,
			{ itemIndex: i, description: [...findings, ...report.problems].slice(0, 10).join('; ') || undefined },
		);
	}
	return [{ json: { valid: report.valid, audit: report as unknown as IDataObject }, pairedItem: { item: i } }];
}
