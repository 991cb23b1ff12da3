import { NodeOperationError, updateDisplayOptions, type IDataObject, type IDisplayOptions, type IExecuteFunctions, type INodeExecutionData, type INodeProperties } from 'n8n-workflow';

import { OutboundError, normalizeOutbound } from '../../../lib/capture';
import { optionsCollection } from '../../shared/parameters';

const showForOperation: IDisplayOptions = { show: { operation: ['normalizeOutbound'] } };

/** Parameters of the Normalize Outbound operation. */
const properties: INodeProperties[] = [
	{
		displayName:
			"Place this node after n8n's WhatsApp node (Send Message / Send Template). Its output (the Graph API response with the new wamid) is this node's input; give the request body you sent below.",
		name: 'outboundNotice',
		type: 'notice',
		default: '',
	},
	{
		displayName: 'Phone Number ID',
		name: 'phoneNumberId',
		type: 'string',
		default: '',
		required: true,
		placeholder: '106540352242922',
		description:
			'The business phone number ID the message was sent from (the "Sender Phone Number" of the WhatsApp node)',
	},
	{
		displayName: 'Request Body',
		name: 'request',
		type: 'json',
		default:
			'{\n  "messaging_product": "whatsapp",\n  "to": "",\n  "type": "text",\n  "text": { "body": "" }\n}',
		required: true,
		description:
			'The body sent to POST /{phone_number_id}/messages: messaging_product, to, type and the type object (text, template, image, document, interactive…), context.message_id for replies. Use expressions to rebuild it from the values given to the WhatsApp node.',
	},
	{
		displayName: 'Response',
		name: 'response',
		type: 'json',
		default: '={{ $json }}',
		required: true,
		description:
			'The Graph API response of the send: { messaging_product, contacts: [{ input, wa_id }], messages: [{ ID, message_status? }] }. Default: the input item (the WhatsApp node output).',
	},
	optionsCollection([
			{
				displayName: 'Graph API Version',
				name: 'graphApiVersion',
				type: 'string',
				default: '',
				placeholder: 'v24.0',
				description: 'Version used for the send, stamped on the record',
			},
			{
				displayName: 'Sent At',
				name: 'sentAt',
				type: 'dateTime',
				default: '',
				description: 'When the message was sent (record timestamp); empty uses now',
			},
			{
				displayName: 'WhatsApp Business Account ID',
				name: 'wabaId',
				type: 'string',
				default: '',
				description: 'WABA of the sending number, stamped on the record',
			},
		]),
];

export const description = updateDisplayOptions(showForOperation, properties);

interface NormalizeOutboundNodeOptions {
	graphApiVersion?: string;
	sentAt?: string;
	wabaId?: string;
}

/**
 * Normalize Outbound: one outbound `message` record (lib/capture `normalizeOutbound`) per input item,
 * in the same shape as the trigger's records, ready for the OpenPGP and S3 Archive nodes.
 */
export async function execute(
	this: IExecuteFunctions,
	itemIndex: number,
): Promise<INodeExecutionData[]> {
	const options = this.getNodeParameter('options', itemIndex, {}) as NormalizeOutboundNodeOptions;
	const sentAt = options.sentAt ? new Date(options.sentAt) : undefined;
	if (sentAt && Number.isNaN(sentAt.getTime())) {
		throw new NodeOperationError(this.getNode(), 'Options → Sent At is not a valid date', {
			itemIndex,
		});
	}
	try {
		const record = normalizeOutbound({
			request: this.getNodeParameter('request', itemIndex),
			response: this.getNodeParameter('response', itemIndex),
			phoneNumberId: String(this.getNodeParameter('phoneNumberId', itemIndex, '')),
			wabaId: options.wabaId?.trim() || null,
			sentAt,
			graphApiVersion: options.graphApiVersion?.trim() || null,
		});
		return [{ json: record as unknown as IDataObject, pairedItem: { item: itemIndex } }];
	} catch (error) {
		const message = error instanceof OutboundError ? error.message : (error as Error).message;
		throw new NodeOperationError(this.getNode(), message, { itemIndex });
	}
}
