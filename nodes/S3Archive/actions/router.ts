import type { IExecuteFunctions, INodeExecutionData } from 'n8n-workflow';

import { getArchiveContext, toNodeError, type ArchiveContext } from './common';
import * as exportOperation from './export.operation';
import * as get from './get.operation';
import * as list from './list.operation';
import * as seal from './seal.operation';
import * as setupCheck from './setupCheck.operation';
import * as verify from './verify.operation';
import * as write from './write.operation';

/** One operation: its parameters and its per-item `execute`. */
interface Operation {
	execute(this: IExecuteFunctions, itemIndex: number, context: ArchiveContext): Promise<INodeExecutionData[]>;
}

const operations: Record<string, Operation> = { write, get, list, setupCheck, seal, verify, export: exportOperation };

/**
 * Runs the selected operation for every input item with one S3 client for the whole execution.
 * Under "Continue On Fail" a failed item yields `{ json: { error: { message, name, code } } }`.
 */
export async function router(this: IExecuteFunctions): Promise<INodeExecutionData[][]> {
	const items = this.getInputData();
	const results: INodeExecutionData[] = [];
	let context: ArchiveContext | undefined;
	try {
		for (let i = 0; i < items.length; i++) {
			try {
				const operationName = this.getNodeParameter('operation', i) as string;
				const operation = operations[operationName];
				if (!operation) throw new Error(`Unknown operation "${operationName}"`);
				context ??= await getArchiveContext.call(this);
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
