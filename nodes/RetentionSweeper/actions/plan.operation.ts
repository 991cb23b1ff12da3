import type { IDataObject, IExecuteFunctions, INodeExecutionData, INodeProperties } from 'n8n-workflow';

import { planSweep } from '../../../lib/retention';
import { resolveBucket } from '../../shared/storeLocation';
import { archiveAuthority, planSummary, readPolicy, type SweeperContext } from './common';

/** Parameters shown for Plan and Execute. */
export const description: INodeProperties[] = [
	{
		displayName: 'Include Versions',
		name: 'includeVersions',
		type: 'boolean',
		default: false,
		displayOptions: { show: { operation: ['plan'] } },
		description:
			'Whether to list each version that would be deleted and each expired version that is kept (held, locked, unreadable), not only counts and bytes',
	},
	{
		displayName: 'Options',
		name: 'sweepOptions',
		type: 'collection',
		placeholder: 'Add Option',
		default: {},
		displayOptions: { show: { operation: ['plan', 'execute'] } },
		options: [
			{
				displayName: 'Batch Size',
				name: 'batchSize',
				type: 'number',
				typeOptions: { minValue: 1, maxValue: 1000 },
				default: 1000,
				displayOptions: { show: { '/operation': ['execute'] } },
				description: 'Versions per DeleteObjects request (S3 allows up to 1000)',
			},
			{
				displayName: 'Batches in Parallel',
				name: 'batchesInFlight',
				type: 'number',
				typeOptions: { minValue: 1, maxValue: 32 },
				default: 4,
				displayOptions: { show: { '/operation': ['execute'] } },
				description:
					'How many DeleteObjects requests run at once. The report lists versions in plan order whatever the value. Lower it if the store answers SlowDown or 503.',
			},
			{
				displayName: 'Lock Lookups in Parallel',
				name: 'concurrency',
				type: 'number',
				typeOptions: { minValue: 1, maxValue: 64 },
				default: 16,
				displayOptions: { show: { '/operation': ['plan'] } },
				description:
					'How many GetObjectLegalHold / GetObjectRetention requests run at once (2 per deletion candidate, Object Lock buckets only). Execute sends none: the store refuses locked versions.',
			},
		],
	},
];

/**
 * Plan (dry run): what a sweep would delete, keep, hold and find locked, per class, with counts and
 * bytes, and which hold events did not verify (`holdAuthentication`). Nothing is changed in the bucket.
 */
export async function execute(this: IExecuteFunctions, i: number, context: SweeperContext): Promise<INodeExecutionData[]> {
	const bucket = resolveBucket.call(this, i, context);
	const options = this.getNodeParameter('sweepOptions', i, {}) as { concurrency?: number };
	const plan = await planSweep({
		client: context.client,
		bucket,
		policy: readPolicy.call(this, i),
		concurrency: options.concurrency,
		verifier: (await archiveAuthority.call(this, i, 'plan')).verifier,
		// matters named by counterparty also hold the identities linked to them since placement
		indexKey: context.indexKey || undefined,
	});
	const json: IDataObject = { operation: 'plan', ...planSummary(plan) };
	if (this.getNodeParameter('includeVersions', i, false) as boolean) {
		json.deletions = plan.deletions as unknown as IDataObject[];
		json.protected = plan.protected as unknown as IDataObject[];
	}
	return [{ json, pairedItem: { item: i } }];
}
