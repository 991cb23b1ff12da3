import type { IExecuteFunctions, INodeExecutionData, INodeProperties } from 'n8n-workflow';

import { releaseHold } from '../../../lib/retention';
import { audited } from '../../shared/audit';
import { resolveBucket } from '../../shared/storeLocation';
import { archiveAuthority, holdItem, holdOutcome, readMatter, type SweeperContext } from './common';

/** Release Hold has no parameters beyond the matter fields shared with Place Hold (common.ts). */
export const description: INodeProperties[] = [];

/**
 * Release Hold: records the release in `<prefix>/_holds/`, signed with the archive's key (earlier events stay) and clears the
 * legal-hold flag on versions no other active matter covers. Records return to normal retention.
 * Appends a `hold-release` audit event (matter id, counts) signed with the archive key.
 */
export async function execute(this: IExecuteFunctions, i: number, context: SweeperContext): Promise<INodeExecutionData[]> {
	const bucket = resolveBucket.call(this, i, context);
	const { signer, verifier } = await archiveAuthority.call(this, i, 'releaseHold');
	const matter = readMatter.call(this, i);
	const result = await audited(
		this,
		{ client: context.client, bucket, prefix: matter.prefix, signer },
		{ operation: 'hold-release', scope: { matterIds: [matter.matterId.trim()] }, outcome: holdOutcome },
		async () => await releaseHold({ client: context.client, bucket, signer, verifier, ...matter }),
	);
	return [holdItem('releaseHold', bucket, result, i)];
}
