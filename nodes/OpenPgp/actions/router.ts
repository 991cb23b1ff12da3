import type { IExecuteFunctions, INodeExecutionData } from 'n8n-workflow';

import { KeyCache, toNodeError, type OperationContext, type OperationExecute } from './common';
import * as decrypt from './decrypt.operation';
import * as encrypt from './encrypt.operation';
import * as inspectKey from './inspectKey.operation';
import * as sign from './sign.operation';
import * as verify from './verify.operation';

const operations: Record<string, { execute: OperationExecute }> = {
	encrypt,
	decrypt,
	sign,
	verify,
	inspectKey,
};

/**
 * Runs the selected operation for every input item. Keys are read (and a private key unlocked)
 * once per execution through one {@link KeyCache}. Every output item carries `pairedItem`; under
 * "Continue On Fail" a failed item yields `{ json: { error: message }, pairedItem }`.
 */
export async function router(this: IExecuteFunctions): Promise<INodeExecutionData[][]> {
	const items = this.getInputData();
	const results: INodeExecutionData[] = [];
	const context: OperationContext = { keys: new KeyCache(this) };
	for (let i = 0; i < items.length; i++) {
		try {
			const operationName = this.getNodeParameter('operation', i) as string;
			const operation = operations[operationName];
			if (!operation) throw new Error(`Unknown operation "${operationName}"`);
			results.push(...(await operation.execute.call(this, i, context)));
		} catch (error) {
			const nodeError = toNodeError(this.getNode(), error, i);
			if (this.continueOnFail()) {
				results.push({ json: { error: nodeError.message }, pairedItem: { item: i } });
				continue;
			}
			throw nodeError;
		}
	}
	return [results];
}
