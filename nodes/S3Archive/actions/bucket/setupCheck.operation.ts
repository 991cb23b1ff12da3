import { updateDisplayOptions, type IDataObject, type IDisplayOptions, type IExecuteFunctions, type INodeExecutionData, type INodeProperties } from 'n8n-workflow';

import { checkBucket } from '../../../../lib/archive';
import type { ArchiveStore } from '../../../shared/credentials';
import { resolveBucket } from '../../../shared/storeLocation';

const showForSetupCheck: IDisplayOptions = {
	show: { resource: ['bucket'], operation: ['setupCheck'] },
};

/** Parameters of Bucket → Setup Check. */
const properties: INodeProperties[] = [
	{
		displayName: 'Test Conditional Writes',
		name: 'probeWrites',
		type: 'boolean',
		default: true,
		description:
			'Whether to write two tiny probe objects under _setup-check/ to see if the store honours If-None-Match (a bucket default retention keeps them until it ends)',
	},
];

export const description = updateDisplayOptions(showForSetupCheck, properties);

/**
 * Bucket → Setup Check: probes the bucket (versioning, Object Lock, default retention, conditional writes)
 * and outputs the report as `{ setupCheck: SetupReport }`; `writesWithoutLockOptions` says whether a
 * write with Object Lock Mode None is still locked by the bucket's default retention.
 */
export async function execute(this: IExecuteFunctions, i: number, context: ArchiveStore): Promise<INodeExecutionData[]> {
	const bucket = resolveBucket.call(this, i, context);
	const probeWrites = this.getNodeParameter('probeWrites', i, true) as boolean;
	const report = await checkBucket({ client: context.client, bucket, probeWrites });
	return [{ json: { setupCheck: report as unknown as IDataObject }, pairedItem: { item: i } }];
}
