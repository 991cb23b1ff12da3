import type { IExecuteFunctions, INodeExecutionData } from 'n8n-workflow';

import { openArchiveStore } from '../../shared/credentials';
import { runPerItem, type ItemOperation } from '../../shared/runPerItem';
import type { ArchiveContext } from './common';
import * as exportOperation from './export.operation';
import * as get from './get.operation';
import * as list from './list.operation';
import * as seal from './seal.operation';
import * as setupCheck from './setupCheck.operation';
import * as verify from './verify.operation';
import * as write from './write.operation';

const operations: Record<string, ItemOperation<ArchiveContext>> = { write, get, list, setupCheck, seal, verify, export: exportOperation };

/**
 * Runs the selected operation for every input item with one S3 client for the whole execution.
 * Under "Continue On Fail" a failed item yields `{ json: { error: { message, name, code } } }`.
 */
export async function router(this: IExecuteFunctions): Promise<INodeExecutionData[][]> {
	return await runPerItem.call(this, {
		operations,
		openContext: openArchiveStore,
		closeContext: (context: ArchiveContext) => context.client.destroy(),
	});
}
