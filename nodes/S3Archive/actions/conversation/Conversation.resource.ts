import type { INodeProperties } from 'n8n-workflow';

import type { ArchiveStore } from '../../../shared/credentials';
import type { OperationTable } from '../../../shared/runPerItem';
import * as exportConversation from './export.operation';

/** Conversation: all archived records of one counterparty, by `operation` value. */
export const operations: OperationTable<ArchiveStore> = { export: exportConversation };

/** The Conversation operations (shown for resource Conversation). */
export const operationDescription: INodeProperties = {
	displayName: 'Operation',
	name: 'operation',
	type: 'options',
	noDataExpression: true,
	displayOptions: { show: { resource: ['conversation'] } },
	options: [
		{
			name: 'Export',
			value: 'export',
			action: 'Export a conversation',
			description: "Decrypt one counterparty's records in order: JSONL plus HTML and text transcripts (eDiscovery)",
		},
	],
	default: 'export',
};

/** The parameters of the Conversation operations. */
export const description: INodeProperties[] = [
	...exportConversation.description,
];
