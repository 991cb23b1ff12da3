import type { IExecuteFunctions, INodeExecutionData } from 'n8n-workflow';

import { getSweeperContext, toNodeError, type SweeperContext } from './common';
import * as execute from './execute.operation';
import * as lifecycle from './lifecycle.operation';
import * as placeHold from './placeHold.operation';
import * as plan from './plan.operation';
import * as releaseHold from './releaseHold.operation';

/** One operation: its parameters and its per-item `execute`. */
interface Operation {
	execute(this: IExecuteFunctions, itemIndex: number, context: SweeperContext): Promise<INodeExecutionData[]>;
}

const operations: Record<string, Operation> = { plan, execute, placeHold, releaseHold, lifecycle };

/**
 * Runs the selected operation once per input item (a Schedule Trigger gives one item: one sweep),
 * with one S3 client for the whole execution. Under "Continue On Fail" a failed item yields
 * `{ json: { error: { message, name, code } } }` with its `pairedItem`.
 */
export async function router(this: IExecuteFunctions): Promise<INodeExecutionData[][]> {
	const items = this.getInputData();
	const results: INodeExecutionData[] = [];
	let context: SweeperContext | undefined;
	try {
		for (let i = 0; i < items.length; i++) {
			try {
				const operationName = this.getNodeParameter('operation', i, 'plan') as string;
				const operation = operations[operationName];
				if (!operation) throw new Error(`Unknown operation "${operationName}"`);
				context ??= await getSweeperContext.call(this);
				results.push(...(await operation.execute.call(this, i, context)));
			} catch (error) {
				const nodeError = toNodeError(this.getNode(), error, i);
				if (this.continueOnFail()) {
					results.push({
						json: {
							error: {
								message: nodeError.message,
								name: nodeError.name,
								code: (error as { code?: string })?.code ?? null,
								...(nodeError.description ? { description: nodeError.description } : {}),
							},
						},
						pairedItem: { item: i },
					});
					continue;
				}
				throw nodeError;
			}
		}
	} finally {
		context?.client.destroy();
	}
	return [results];
}
