import type { IExecuteFunctions, INodeExecutionData } from 'n8n-workflow';

import { openArchiveStore } from '../../shared/credentials';
import { runPerItem, type ItemOperation } from '../../shared/runPerItem';
import type { SweeperContext } from './common';
import * as execute from './execute.operation';
import * as lifecycle from './lifecycle.operation';
import * as placeHold from './placeHold.operation';
import * as plan from './plan.operation';
import * as releaseHold from './releaseHold.operation';

const operations: Record<string, ItemOperation<SweeperContext>> = { plan, execute, placeHold, releaseHold, lifecycle };

/**
 * Runs the selected operation once per input item (a Schedule Trigger gives one item: one sweep),
 * with one S3 client for the whole execution. Under "Continue On Fail" a failed item yields
 * `{ json: { error: { message, name, code } } }` with its `pairedItem`.
 */
export async function router(this: IExecuteFunctions): Promise<INodeExecutionData[][]> {
	return await runPerItem.call(this, {
		operations,
		openContext: openArchiveStore,
		// a key problem here is the archive key's (signs and verifies holds, plans, reports)
		errorHints: { pgp: 'Check the OpenPGP Private Key credential: the archive key that signs legal holds, sweep plans and deletion reports' },
	});
}
