import { NodeOperationError, type IDataObject, type IExecuteFunctions, type INodeExecutionData, type INodeProperties } from 'n8n-workflow';

import { readPublicKeys, type PublicKey } from '../../../lib/pgp';
import type { ArchiveAuthority, HoldCommandOptions, HoldCommandResult, RetentionPolicyInput, SweepPlan } from '../../../lib/retention';
import { credentialArchiveAuthority, type ArchiveStore } from '../../shared/credentials';
import { bucketDescription, prefixDescription } from '../../shared/storeLocation';

/** Shared parameters: bucket override, prefix, and the retention classes. */
export const commonDescription: INodeProperties[] = [
	bucketDescription,
	prefixDescription,
	{
		displayName: 'Retention Classes',
		name: 'classes',
		type: 'fixedCollection',
		typeOptions: { multipleValues: true, sortable: true },
		placeholder: 'Add Retention Class',
		default: { values: [{ name: 'default', retention: 'P1Y', minimum: '' }] },
		displayOptions: { show: { operation: ['plan', 'execute', 'lifecycle'] } },
		description: 'Each class is a folder under the prefix (&lt;prefix&gt;/&lt;class&gt;/…). Records in folders not listed here are never touched.',
		options: [
			{
				displayName: 'Class',
				name: 'values',
				values: [
					{
						displayName: 'Name',
						name: 'name',
						type: 'string',
						default: 'default',
						description: 'Class name as used in the S3 Archive node, e.g. default, mifid, sec-17a-4',
					},
					{
						displayName: 'Retention',
						name: 'retention',
						type: 'string',
						default: 'P1Y',
						description:
							'ISO 8601 duration counted from the end of the record date, e.g. P1Y, P3Y (SEC 17a-4), P5Y (MiFID II), P6Y (FINRA 4511)',
					},
					{
						displayName: 'Minimum',
						name: 'minimum',
						type: 'string',
						default: '',
						description:
							'ISO 8601 floor: a shorter Retention is refused. Empty: the floor of a known class name (sec-17a-4 P3Y, mifid P5Y, finra P6Y, cftc P5Y, hipaa P6Y), else P1D.',
					},
				],
			},
		],
	},
];

/**
 * Earlier archive keys, trusted across a key rotation: hold events and sweep plans signed by them
 * still count (each signature is checked as of its own time, so a key that has expired since still
 * verifies what it signed while valid).
 */
export const earlierArchiveKeysDescription: INodeProperties = {
	displayName: 'Earlier Archive Keys',
	name: 'earlierArchiveKeys',
	type: 'string',
	typeOptions: { rows: 4 },
	default: '',
	placeholder: '-----BEGIN PGP PUBLIC KEY BLOCK-----',
	description:
		'Public keys (armored, several allowed) of archive keys used before the one in the OpenPGP Private Key credential. Legal-hold events and sweep plans they signed still count; without them, a release signed by an earlier key is ignored and its matter stays active. Paste the old key here before rotating.',
};

const showForHolds = { show: { operation: ['placeHold', 'releaseHold'] } };

/** Parameters shared by Place Hold and Release Hold. */
export const matterDescription: INodeProperties[] = [
	{
		displayName: 'Matter ID',
		name: 'matterId',
		type: 'string',
		default: '',
		required: true,
		displayOptions: showForHolds,
		placeholder: 'SEC-2026-014',
		description: 'Identifier of the matter (case, investigation): letters, digits, ".", "_" or "-"',
	},
	{
		displayName: 'Actor',
		name: 'actor',
		type: 'string',
		default: '',
		required: true,
		displayOptions: showForHolds,
		placeholder: 'legal@example.org',
		description: 'Who places or releases the hold; recorded in the registry',
	},
	{
		displayName: 'Reason',
		name: 'reason',
		type: 'string',
		default: '',
		required: true,
		displayOptions: showForHolds,
		placeholder: 'Litigation 2026-CV-1234',
		description: 'Why; recorded in the registry. Do not name counterparties here.',
	},
];

/** Shared by Place Hold and Release Hold, shown after Place Hold's scope. */
export const legalHoldFlagDescription: INodeProperties = {
	displayName: 'Update S3 Legal Hold Flags',
	name: 'applyLegalHoldFlag',
	type: 'boolean',
	default: true,
	displayOptions: showForHolds,
	description:
		'Whether to also set (place) or clear (release) the S3 legal-hold flag on every matching object version, so lifecycle rules and other tools respect the hold (needs Object Lock on the bucket)',
};

/** What every operation receives: one S3 client per execution plus the credential's bucket and index key. */
export type SweeperContext = ArchiveStore;

const OPERATION_NAMES: Record<string, string> = {
	plan: 'Plan',
	execute: 'Execute',
	placeHold: 'Place Hold',
	releaseHold: 'Release Hold',
	lifecycle: 'Lifecycle',
};

/**
 * The archive's key (OpenPGP Private Key credential): every operation verifies the hold registry with
 * it (a release counts only when signed by it), Place / Release Hold and Execute sign with it.
 *
 * @throws NodeOperationError naming the operation and the credential when none is attached.
 */
export async function archiveAuthority(this: IExecuteFunctions, i: number, operation: string): Promise<ArchiveAuthority> {
	const earlier = String(this.getNodeParameter('earlierArchiveKeys', i, '') ?? '').trim();
	let trustedKeys: PublicKey[] = [];
	if (earlier) {
		try {
			trustedKeys = await readPublicKeys({ armoredKeys: earlier, field: earlierArchiveKeysDescription.displayName });
		} catch (error) {
			throw new NodeOperationError(this.getNode(), `Earlier Archive Keys: ${(error as Error).message}`, {
				itemIndex: i,
				description: 'Paste the public part of each earlier archive key ("gpg --armor --export <fingerprint>"), or leave the field empty',
			});
		}
	}
	return await credentialArchiveAuthority.call(this, {
		itemIndex: i,
		purpose: `${OPERATION_NAMES[operation] ?? operation} (signed legal holds and sweep plans)`,
		trustedKeys,
	});
}

/** The policy from the node's Prefix and Retention Classes (validated later by `resolvePolicy`). */
export function readPolicy(this: IExecuteFunctions, i: number): RetentionPolicyInput {
	const classes = this.getNodeParameter('classes.values', i, []) as Array<{ name?: string; retention?: string; minimum?: string }>;
	return {
		prefix: String(this.getNodeParameter('prefix', i, 'archive') ?? ''),
		classes: classes.map((entry) => ({
			name: String(entry.name ?? ''),
			retention: String(entry.retention ?? ''),
			...(entry.minimum ? { minimum: String(entry.minimum) } : {}),
		})),
	};
}

/** Splits a comma / newline separated list, trimming and dropping empties. */
export function splitList(value: unknown): string[] {
	return String(value ?? '')
		.split(/[,\n]/)
		.map((part) => part.trim())
		.filter((part) => part !== '');
}

/** The matter fields of Place Hold and Release Hold: prefix, matter, who, why, and the S3 flag choice. */
export function readMatter(this: IExecuteFunctions, i: number): Pick<
	HoldCommandOptions,
	'prefix' | 'matterId' | 'actor' | 'reason' | 'applyLegalHoldFlag'
> {
	return {
		prefix: String(this.getNodeParameter('prefix', i, 'archive')),
		matterId: String(this.getNodeParameter('matterId', i, '')),
		actor: String(this.getNodeParameter('actor', i, '')),
		reason: String(this.getNodeParameter('reason', i, '')),
		applyLegalHoldFlag: this.getNodeParameter('applyLegalHoldFlag', i, true) as boolean,
	};
}

/**
 * The audit event counts of Place Hold and Release Hold: the records and identities matched (Place), the
 * versions in scope, their flags set or cleared, kept for other matters, refused by the store (then `partial`).
 */
export function holdOutcome(result: HoldCommandResult): { counts: Record<string, number>; result: 'success' | 'partial' } {
	const flags = result.legalHold;
	const counts: Record<string, number> = {
		...(result.matched ? { records: result.matched.records, identities: result.matched.identities } : {}),
		...(flags ? { versions: flags.matched, flagsChanged: flags.changed, keptForOtherMatters: flags.keptForOtherMatters, flagsFailed: flags.failed.length } : {}),
	};
	return { counts, result: flags?.failed.length ? 'partial' : 'success' };
}

/** The output item of Place Hold and Release Hold: the matter (pseudonyms only) and the flag counts. */
export function holdItem(
	operation: 'placeHold' | 'releaseHold',
	bucket: string,
	result: HoldCommandResult,
	i: number,
): INodeExecutionData {
	return {
		json: {
			operation,
			bucket,
			matter: result.matter as unknown as IDataObject,
			eventKey: result.eventKey,
			signatureKey: `${result.eventKey}.asc`,
			legalHold: result.legalHold as unknown as IDataObject,
		},
		pairedItem: { item: i },
	};
}

/** The plan without its version lists, for output items. */
export function planSummary(plan: Omit<SweepPlan, 'deletions' | 'protected'>): IDataObject {
	return {
		bucket: plan.bucket,
		prefix: plan.prefix,
		evaluatedAt: plan.evaluatedAt,
		objectLockEnabled: plan.objectLockEnabled,
		lockStatusRead: plan.lockStatusRead,
		matterIds: plan.matterIds,
		holdAuthentication: plan.holdAuthentication as unknown as IDataObject,
		totals: plan.totals as unknown as IDataObject,
		classes: plan.classes as unknown as IDataObject[],
		unmanaged: plan.unmanaged as unknown as IDataObject,
		requests: plan.requests as unknown as IDataObject,
	};
}
