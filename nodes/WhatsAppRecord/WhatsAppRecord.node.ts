import {
	NodeConnectionTypes,
	NodeOperationError,
	type IExecuteFunctions,
	type INodeExecutionData,
	type INodeType,
	type INodeTypeDescription,
} from 'n8n-workflow';

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
		const items = this.getInputData();
		const results: INodeExecutionData[] = [];
		for (let i = 0; i < items.length; i++) {
			try {
				const operation = this.getNodeParameter('operation', i) as string;
				if (operation !== 'normalizeOutbound') {
					throw new NodeOperationError(this.getNode(), `Unknown operation "${operation}"`, { itemIndex: i });
				}
				results.push(...(await normalizeOutbound.execute.call(this, i)));
			} catch (error) {
				if (this.continueOnFail()) {
					results.push({ json: { error: { message: (error as Error).message } }, pairedItem: { item: i } });
					continue;
				}
				throw error instanceof NodeOperationError
					? error
					: new NodeOperationError(this.getNode(), error as Error, { itemIndex: i });
			}
		}
		return [results];
	}
}
