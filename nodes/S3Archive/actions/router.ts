import type { IExecuteFunctions, INodeExecutionData } from 'n8n-workflow';

import { openArchiveStore } from '../../shared/credentials';
import { runPerItem } from '../../shared/runPerItem';
import * as audit from './audit/Audit.resource';
import * as bucket from './bucket/Bucket.resource';
import * as conversation from './conversation/Conversation.resource';
import * as record from './record/Record.resource';
import * as seal from './seal/Seal.resource';

/**
 * Runs the operation each item selects (`resource`, then `operation`) with one S3 client for the
 * whole execution. Under "Continue On Fail" a failed item yields `{ json: { error: { message, name, code } } }`.
 */
export async function router(this: IExecuteFunctions): Promise<INodeExecutionData[][]> {
	return await runPerItem.call(this, {
		resources: {
			record: record.operations,
			seal: seal.operations,
			conversation: conversation.operations,
			bucket: bucket.operations,
			audit: audit.operations,
		},
		openContext: openArchiveStore,
	});
}
