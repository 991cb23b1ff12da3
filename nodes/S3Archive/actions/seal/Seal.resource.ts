import type { INodeProperties } from 'n8n-workflow';

import type { ArchiveStore } from '../../../shared/credentials';
import { operationParameter } from '../../../shared/parameters';
import type { OperationTable } from '../../../shared/runPerItem';
import * as create from './create.operation';
import * as verify from './verify.operation';

/**
 * Seal: signed, hash-chained manifests of object versions (lib/archive seal.ts, verify.ts), by
 * `operation` value. Create keeps the value `seal` that templates and saved workflows use.
 */
export const operations: OperationTable<ArchiveStore> = { seal: create, verify };

/** The Seal operations (shown for resource Seal). */
export const operationDescription = operationParameter(
	'seal',
	[
		{
			name: 'Create',
			value: 'seal',
			action: 'Seal a day or prefix',
			description:
				'Sign a hash-chained manifest (Merkle root) of every object version under a prefix',
		},
		{
			name: 'Verify',
			value: 'verify',
			action: 'Verify a seal',
			description:
				'Check a seal signature and report missing, altered and unsealed object versions',
		},
	],
	'seal',
);

/** The parameters of the Seal operations. */
export const description: INodeProperties[] = [...create.description, ...verify.description];
