import type { IExecuteFunctions, INodeExecutionData, INodeProperties } from 'n8n-workflow';

import { releaseHold } from '../../../lib/retention';
import { resolveBucket } from '../../shared/storeLocation';
import { archiveAuthority, holdItem, readMatter, type SweeperContext } from './common';

/** Release Hold has no parameters beyond the matter fields shared with Place Hold (common.ts). */
export const description: INodeProperties[] = [];

/**
 * Release Hold: records the release in `<prefix>/_holds/`, signed with the archive's key (earlier events stay) and clears the
 * legal-hold flag on versions no other active matter covers. Records return to normal retention.
 */
export async function execute(this: IExecuteFunctions, i: number, context: SweeperContext): Promise<INodeExecutionData[]> {
	const bucket = resolveBucket.call(this, i, context);
	const { signer, verifier } = await archiveAuthority.call(this, i, 'releaseHold');
	const result = await releaseHold({ client: context.client, bucket, signer, verifier, ...readMatter.call(this, i) });
	return [holdItem('releaseHold', bucket, result, i)];
}
