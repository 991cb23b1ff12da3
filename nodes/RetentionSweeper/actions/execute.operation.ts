import { updateDisplayOptions, type IDataObject, type IDisplayOptions, type IExecuteFunctions, type INodeExecutionData, type INodeProperties } from 'n8n-workflow';

import { loadSealedHashes } from '../../../lib/archive';
import { executeSweep, newRunId } from '../../../lib/retention';
import type { LockRetention } from '../../../lib/s3';
import { audited, scopeClasses } from '../../shared/audit';
import { objectLockModeOptions, resolveBucket } from '../../shared/storeLocation';
import { archiveAuthority, planSummary, readPolicy, type SweeperContext } from './common';

const showForExecute: IDisplayOptions = { show: { operation: ['execute'] } };

/** Parameters of the Execute operation. */
const properties: INodeProperties[] = [
	{
		displayName: 'Max Deletions',
		name: 'maxDeletions',
		type: 'number',
		typeOptions: { minValue: 0 },
		default: 10000,
		description:
			'Most versions sent for deletion in one run (versions the store refuses under Object Lock count too); the rest are left for the next run (reported as deferred). 0 means no limit.',
	},
	{
		displayName: 'Sign Report',
		name: 'signReport',
		type: 'boolean',
		default: true,
		description:
			'Whether to sign the write-ahead plan and the deletion report with the OpenPGP Private Key credential (detached signatures plan.JSON.asc and report.JSON.asc, checkable with gpg --verify). Unsigned plans of interrupted runs are never recovered.',
	},
	{
		displayName: 'Report Object Lock',
		name: 'reportLockMode',
		type: 'options',
		default: 'GOVERNANCE',
		options: objectLockModeOptions('No Object Lock on plan and report objects'),
		description:
			'Object Lock of the plan and report objects (used only when the bucket has Object Lock enabled)',
	},
	{
		displayName: 'Report Retention',
		name: 'reportRetention',
		type: 'string',
		default: 'P7Y',
		displayOptions: { show: { reportLockMode: ['GOVERNANCE', 'COMPLIANCE'] } },
		description: 'ISO 8601 duration the plan and report objects stay locked, e.g. P7Y',
	},
];

export const description = updateDisplayOptions(showForExecute, properties);

/**
 * Execute: deletes every expired version no matter holds (write-ahead plan, DeleteObjects batches,
 * signed report under `<prefix>/_reports/<runId>/`) and outputs a summary with counts and bytes.
 * On Object Lock buckets the store refuses versions under retention or legal hold; they are listed
 * under `skippedEntries` with the reason, as is any other version the store did not delete.
 * Appends a `sweep-execute` audit event (run id, classes, counts) signed with the archive key, also
 * when Sign Report is off.
 */
export async function execute(this: IExecuteFunctions, i: number, context: SweeperContext): Promise<INodeExecutionData[]> {
	const bucket = resolveBucket.call(this, i, context);
	const options = this.getNodeParameter('sweepOptions', i, {}) as {
		batchSize?: number;
		batchesInFlight?: number;
	};
	const maxDeletions = this.getNodeParameter('maxDeletions', i, 10000) as number;
	const lockMode = this.getNodeParameter('reportLockMode', i, 'GOVERNANCE') as string;
	const reportLock: LockRetention | null =
		lockMode === 'GOVERNANCE' || lockMode === 'COMPLIANCE'
			? { mode: lockMode, retention: String(this.getNodeParameter('reportRetention', i, 'P7Y')) }
			: null;
	const authority = await archiveAuthority.call(this, i, 'execute');
	const signer = (this.getNodeParameter('signReport', i, true) as boolean) ? authority.signer : null;
	const policy = readPolicy.call(this, i);
	// chosen here so that the audit event of a failed run names it too
	const runId = newRunId();
	const result = await audited(
		this,
		{ client: context.client, bucket, prefix: policy.prefix, signer: authority.signer },
		{
			operation: 'sweep-execute',
			scope: { runIds: [runId], classes: scopeClasses(policy.classes.map((entry) => entry.name)) },
			outcome: (swept) => ({
				counts: {
					deleted: swept.deleted.count,
					deletedBytes: swept.deleted.bytes,
					skipped: swept.skipped.count,
					deferred: swept.deferred.count,
					deleteRequests: swept.deleteRequests,
					recoveredRuns: swept.recoveredRuns.length,
				},
				// versions the store refused or left for the next run: the sweep did not finish its plan
				result: swept.skipped.count || swept.deferred.count ? 'partial' : 'success',
			}),
		},
		async () =>
			await executeSweep({
				client: context.client,
				bucket,
				policy,
				runId,
				// matters named by counterparty also hold the identities linked to them since placement
				indexKey: context.indexKey || undefined,
				// the deletion report carries each version's ciphertext SHA-256 as its seal manifest recorded it
				sha256Lookup: await loadSealedHashes({ client: context.client, bucket, prefix: policy.prefix }),
				maxDeletions: maxDeletions > 0 ? maxDeletions : undefined,
				batchSize: options.batchSize,
				batchesInFlight: options.batchesInFlight,
				signer,
				verifier: authority.verifier,
				reportLock,
				signal: this.getExecutionCancelSignal?.(),
			}),
	);
	const json: IDataObject = {
		operation: 'execute',
		runId: result.runId,
		bucket: result.bucket,
		prefix: result.prefix,
		planKey: result.planKey,
		reportKey: result.reportKey,
		signatureKey: result.signatureKey,
		signerFingerprint: result.signerFingerprint,
		deleted: result.deleted as unknown as IDataObject,
		skipped: result.skipped as unknown as IDataObject,
		deferred: result.deferred as unknown as IDataObject,
		classes: result.classes as unknown as IDataObject[],
		deleteRequests: result.deleteRequests,
		recoveredRuns: result.recoveredRuns,
		unverifiedPlans: result.unverifiedPlans,
		skippedEntries: result.entries.filter(
			(entry) => entry.status === 'skipped',
		) as unknown as IDataObject[],
		plan: planSummary(result.plan),
	};
	return [{ json, pairedItem: { item: i } }];
}
