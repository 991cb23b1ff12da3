import type { IExecuteFunctions, INodeExecutionData } from 'n8n-workflow';

import { runPerItem } from '../../shared/runPerItem';
import { PastedKeys, type OperationContext, type OperationExecute } from './common';
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
 * Runs the selected operation for every input item. Credential keys are read (and a private key
 * unlocked) once per execution (nodes/shared/credentials.ts), pasted keys once per text ({@link PastedKeys}). Every output item carries `pairedItem`; under
 * "Continue On Fail" a failed item yields `{ json: { error: { message, name, code } }, pairedItem }`.
 */
export async function router(this: IExecuteFunctions): Promise<INodeExecutionData[][]> {
	return await runPerItem.call(this, {
		operations,
		openContext(this: IExecuteFunctions): OperationContext {
			return { pastedKeys: new PastedKeys() };
		},
	});
}
