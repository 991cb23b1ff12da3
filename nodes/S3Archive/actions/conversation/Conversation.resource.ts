import type { INodeProperties } from 'n8n-workflow';

import type { ArchiveStore } from '../../../shared/credentials';
import { operationParameter } from '../../../shared/parameters';
import type { OperationTable } from '../../../shared/runPerItem';
import * as exportConversation from './export.operation';

/** Conversation: all archived records of one person or of one business number (custodian), by `operation` value. */
export const operations: OperationTable<ArchiveStore> = { export: exportConversation };

/** The Conversation operations (shown for resource Conversation). */
export const operationDescription = operationParameter(
	'conversation',
	[
		{
			name: 'Export',
			value: 'export',
			action: 'Export a conversation',
			description:
				"Decrypt the records of one person or one business number in order: RSMF 2.0 files with media, or JSONL plus HTML and text transcripts (eDiscovery)",
		},
	],
	'export',
);

/** The parameters of the Conversation operations. */
export const description: INodeProperties[] = [...exportConversation.description];
