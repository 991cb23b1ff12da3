import type { IDataObject, IExecuteFunctions, INodeExecutionData, INodeProperties } from 'n8n-workflow';

import { checkBucket } from '../../../lib/archive';
import { resolveBucket } from '../../shared/storeLocation';
import type { ArchiveContext } from './common';

const showForSetupCheck = { show: { operation: ['setupCheck'] } };

/** Parameters of the Setup Check operation. */
export const description: INodeProperties[] = [
	{
		displayName: 'Test Conditional Writes',
		name: 'probeWrites',
		type: 'boolean',
		default: true,
		displayOptions: showForSetupCheck,
		description:
			'Whether to write two tiny probe objects under _setup-check/ to see if the store honours If-None-Match (a bucket default retention keeps them until it ends)',
	},
];

/**
 * Setup Check: probes the bucket (versioning, Object Lock, default retention, conditional writes)
 * and outputs the report as `{ setupCheck: SetupReport }`.
 */
export async function execute(
	this: IExecuteFunctions,
	i: number,
	context: ArchiveContext,
): Promise<INodeExecutionData[]> {
	const bucket = resolveBucket.call(this, i, context);
	const probeWrites = this.getNodeParameter('probeWrites', i, true) as boolean;
	const report = await checkBucket({ client: context.client, bucket, probeWrites });
	return [{ json: { setupCheck: report as unknown as IDataObject }, pairedItem: { item: i } }];
}
