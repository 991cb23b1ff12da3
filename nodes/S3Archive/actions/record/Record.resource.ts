import type { INodeProperties } from 'n8n-workflow';

import type { ArchiveStore } from '../../../shared/credentials';
import { operationParameter } from '../../../shared/parameters';
import type { OperationTable } from '../../../shared/runPerItem';
import * as get from './get.operation';
import * as list from './list.operation';
import * as write from './write.operation';

/** Record: the archived objects themselves (records, media, manifests), by `operation` value. */
export const operations: OperationTable<ArchiveStore> = { write, get, list };

/** The Record operations (shown for resource Record). */
export const operationDescription = operationParameter(
	'record',
	[
		{
			name: 'Get',
			value: 'get',
			action: 'Get an archived object',
			description: 'Download one object version as binary, checking its SHA-256',
		},
		{
			name: 'List',
			value: 'list',
			action: 'List archived objects',
			description: 'List objects by retention class, phone number ID, dates or counterparty',
		},
		{
			name: 'Write',
			value: 'write',
			action: 'Write an encrypted record',
			description: 'Store the binary ciphertext once under the archive key layout',
		},
	],
	'write',
);

/** The parameters of the Record operations. */
export const description: INodeProperties[] = [
	...write.description,
	...get.description,
	...list.description,
];
