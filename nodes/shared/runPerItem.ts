import type { IExecuteFunctions, INodeExecutionData } from 'n8n-workflow';

import { toNodeError, type ErrorHints } from './errors';

/** One operation of a node: its per-item `execute`, given the execution's shared context. */
export interface ItemOperation<Context> {
	execute(this: IExecuteFunctions, itemIndex: number, context: Context): Promise<INodeExecutionData[]>;
}

/** Operation value → operation, as a node's `operation` parameter names them. */
export type OperationTable<Context> = Record<string, ItemOperation<Context>>;

/** How a node runs its operations: the operation table and the context shared by every item. */
export type PerItemRouting<Context> = (
	| {
			/** A node without resources: its operations by `operation` value. */
			operations: OperationTable<Context>;
			resources?: never;
	  }
	| {
			/** A node with resources (n8n's resource/operation pattern): `resource` value → its operations. */
			resources: Record<string, OperationTable<Context>>;
			operations?: never;
	  }
) & {
	/** Opens the context on the first item that needs it (e.g. one S3 client per execution). */
	openContext(this: IExecuteFunctions): Promise<Context> | Context;
	/** Releases the context after the last item (e.g. destroys the S3 client's sockets). */
	closeContext?(context: Context): void;
	/** What the node adds to mapped errors (nodes/shared/errors.ts `toNodeError`). */
	errorHints?: ErrorHints;
};

/** The operation item `i` selects: by `operation`, and first by `resource` when the node has resources. */
function selectOperation<Context>(this: IExecuteFunctions, routing: PerItemRouting<Context>, i: number): ItemOperation<Context> {
	let operations = routing.operations;
	if (routing.resources) {
		const resource = this.getNodeParameter('resource', i) as string;
		operations = routing.resources[resource];
		if (!operations) throw new Error(`Unknown resource "${resource}"`);
	}
	const operationName = this.getNodeParameter('operation', i) as string;
	const operation = operations?.[operationName];
	if (!operation) throw new Error(`Unknown operation "${operationName}"`);
	return operation;
}

/**
 * The one execute loop of the pack's action nodes (n8n v2 node shape: `actions/router.ts` picks the
 * operation per item). Runs the selected `operation` (of the selected `resource`) for every input item
 * with one shared context; errors become NodeOperationError/NodeApiError with `itemIndex`. Under "Continue On Fail" a
 * failed item yields `{ json: { error: { message, name, code, description? } }, binary, pairedItem }`
 * and the loop goes on, so no item is silently dropped: the failed input's binary properties travel
 * with the error, so an error branch ("On Error: Continue (using error output)", where n8n merges the
 * input item's JSON back in) can still archive what could not be processed.
 *
 * @throws NodeOperationError | NodeApiError for the first failing item unless Continue On Fail is on.
 */
export async function runPerItem<Context>(
	this: IExecuteFunctions,
	routing: PerItemRouting<Context>,
): Promise<INodeExecutionData[][]> {
	const items = this.getInputData();
	const results: INodeExecutionData[] = [];
	let context: Context | undefined;
	try {
		for (let i = 0; i < items.length; i++) {
			try {
				const operation = selectOperation.call(this, routing, i);
				context ??= await routing.openContext.call(this);
				results.push(...(await operation.execute.call(this, i, context)));
			} catch (error) {
				const nodeError = toNodeError(this.getNode(), error, i, routing.errorHints);
				if (!this.continueOnFail()) throw nodeError;
				results.push({
					json: {
						error: {
							message: nodeError.message,
							name: nodeError.name,
							code: (error as { code?: string })?.code ?? null,
							...(nodeError.description ? { description: nodeError.description } : {}),
						},
					},
					...(items[i].binary ? { binary: items[i].binary } : {}),
					pairedItem: { item: i },
				});
			}
		}
	} finally {
		if (context !== undefined) routing.closeContext?.(context);
	}
	return [results];
}
