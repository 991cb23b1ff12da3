import type { INodeProperties } from 'n8n-workflow';

import type { ArchiveStore } from '../../../shared/credentials';
import { operationParameter } from '../../../shared/parameters';
import type { OperationTable } from '../../../shared/runPerItem';
import * as setupCheck from './setupCheck.operation';

/** Bucket: the archive bucket's own configuration, by `operation` value. */
export const operations: OperationTable<ArchiveStore> = { setupCheck };

/** The Bucket operations (shown for resource Bucket). */
export const operationDescription = operationParameter(
	'bucket',
	[
		{
			name: 'Setup Check',
			value: 'setupCheck',
			action: 'Check the bucket set up',
			description:
				'Report versioning, Object Lock, default retention and conditional write support',
		},
	],
	'setupCheck',
);

/** The parameters of the Bucket operations. */
export const description: INodeProperties[] = [...setupCheck.description];
