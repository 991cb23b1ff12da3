import type { INodeProperties } from 'n8n-workflow';

import type { ArchiveStore } from '../../../shared/credentials';
import { operationParameter } from '../../../shared/parameters';
import type { OperationTable } from '../../../shared/runPerItem';
import * as verify from './verify.operation';

/** Audit: the signed, hash-chained trail of every access to the archive (lib/archive audit*.ts), by `operation` value. */
export const operations: OperationTable<ArchiveStore> = { verify };

/** The Audit operations (shown for resource Audit). */
export const operationDescription = operationParameter(
	'audit',
	[
		{
			name: 'Verify',
			value: 'verify',
			action: 'Verify the audit trail',
			description: 'Check the signatures and hash chain of the audit events of a date range; report gaps and breaks',
		},
	],
	'verify',
);

/** The parameters of the Audit operations. */
export const description: INodeProperties[] = [...verify.description];
