import type { IDataObject, IExecuteFunctions, INodeExecutionData, INodeProperties } from 'n8n-workflow';

import { releaseHold } from '../../../lib/retention';
import { resolveBucket } from '../../shared/storeLocation';
import type { SweeperContext } from './common';

/** Release Hold has no parameters beyond the matter fields shared with Place Hold. */
export const description: INodeProperties[] = [];

/**
 * Release Hold: records the release in `<prefix>/_holds/` (earlier events stay) and clears the
 * legal-hold flag on versions no other active matter covers. Records return to normal retention.
 */
export async function execute(this: IExecuteFunctions, i: number, context: SweeperContext): Promise<INodeExecutionData[]> {
	const bucket = resolveBucket.call(this, i, context);
	const result = await releaseHold({
		client: context.client,
		bucket,
		prefix: String(this.getNodeParameter('prefix', i, 'archive')),
		matterId: String(this.getNodeParameter('matterId', i, '')),
		actor: String(this.getNodeParameter('actor', i, '')),
		reason: String(this.getNodeParameter('reason', i, '')),
		applyLegalHoldFlag: this.getNodeParameter('applyLegalHoldFlag', i, true) as boolean,
	});
	return [
		{
			json: {
				operation: 'releaseHold',
				bucket,
				matter: result.matter as unknown as IDataObject,
				eventKey: result.eventKey,
				legalHold: result.legalHold as unknown as IDataObject,
			},
			pairedItem: { item: i },
		},
	];
}
