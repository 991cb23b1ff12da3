import { NodeConnectionTypes, type IExecuteFunctions, type INodeExecutionData, type INodeType, type INodeTypeDescription } from 'n8n-workflow';

import { runPerItem } from '../shared/runPerItem';
import * as normalizeOutbound from './actions/normalizeOutbound.operation';

/**
 * WhatsApp Record: turns what the business sends through n8n's WhatsApp node into the capture record
 * shape (`docs/FORMAT.md`), since Meta never echoes API-sent messages. The verbs live in `actions/`.
 */
export class WhatsAppRecord implements INodeType {
	description: INodeTypeDescription = {
		displayName: 'WhatsApp Record',
		name: 'whatsAppRecord',
		icon: { light: 'file:whatsapp-record.svg', dark: 'file:whatsapp-record.dark.svg' },
		group: ['transform'],
		version: 1,
		subtitle: '={{$parameter["operation"]}}',
		description: 'Normalize messages sent with the WhatsApp node into archive records (direction outbound)',
		defaults: { name: 'WhatsApp Record' },
		usableAsTool: true,
		inputs: [NodeConnectionTypes.Main],
		outputs: [NodeConnectionTypes.Main],
		properties: [
			{
				displayName: 'Operation',
				name: 'operation',
				type: 'options',
				noDataExpression: true,
				options: [
					{
						name: 'Normalize Outbound',
						value: 'normalizeOutbound',
						action: 'Normalize an outbound message',
						description:
							'Turn the request and response of a WhatsApp send (message or template) into an outbound record with its wamid',
					},
				],
				default: 'normalizeOutbound',
			},
			...normalizeOutbound.description,
		],
	};

	async execute(this: IExecuteFunctions): Promise<INodeExecutionData[][]> {
		return await runPerItem.call(this, {
			operations: { normalizeOutbound },
			openContext: () => undefined,
		});
	}
}
