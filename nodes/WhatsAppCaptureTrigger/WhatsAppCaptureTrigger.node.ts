import type {
	IDataObject,
	IHookFunctions,
	INodeExecutionData,
	INodePropertyOptions,
	INodeType,
	INodeTypeDescription,
	IWebhookFunctions,
	IWebhookResponseData,
} from 'n8n-workflow';
import { NodeConnectionTypes, NodeOperationError } from 'n8n-workflow';

import {
	answerHandshake,
	buildDeliveryItem,
	filterRecords,
	KNOWN_EVENT_FIELDS,
	KNOWN_MESSAGE_TYPES,
	KNOWN_STATUS_VALUES,
	MESSAGE_FIELDS,
	normalizeDelivery,
	verifySignature,
} from '../../lib/capture';

/** Credential fields read by the trigger. */
interface CaptureCredentials {
	appSecret?: string;
	verifyToken?: string;
	graphApiVersion?: string;
}

/** Options collection of the node. */
interface CaptureOptions {
	messageTypes?: string[];
	statusKinds?: string[];
	fields?: string[];
}

/** `snake_case` → `Snake Case` for option labels. */
function label(value: string): string {
	return value
		.split('_')
		.map((word) => word.charAt(0).toUpperCase() + word.slice(1))
		.join(' ');
}

/** Multi-options list of `values` plus the catch-all `unknown`, sorted by label. */
function choices(values: readonly string[], unknownLabel: string): INodePropertyOptions[] {
	return [
		...values.map((value) => ({ name: label(value), value })),
		{ name: unknownLabel, value: 'unknown' },
	].sort((a, b) => a.name.localeCompare(b.name));
}

/**
 * WhatsApp Capture Trigger: receives Meta WhatsApp Business Cloud API webhooks for archiving.
 *
 * - `GET <url>` (webhook `setup`): answers the verification handshake itself (text/plain challenge or 403).
 * - `POST <url>` (webhook `default`): verifies `X-Hub-Signature-256` over the raw body (401 and no
 *   execution on failure), normalizes the delivery with `lib/capture` and emits one item per record
 *   (or one per delivery). With "Respond" = "After Workflow Finished" the 200 is only sent when the
 *   workflow succeeded, so Meta retries deliveries whose archive write failed.
 *
 * All parsing, verification and normalization lives in `lib/capture`; this file only maps n8n I/O.
 */
export class WhatsAppCaptureTrigger implements INodeType {
	description: INodeTypeDescription = {
		displayName: 'WhatsApp Capture Trigger',
		name: 'whatsAppCaptureTrigger',
		icon: { light: 'file:whatsapp-capture.svg', dark: 'file:whatsapp-capture.dark.svg' },
		group: ['trigger'],
		version: 1,
		subtitle:
			'={{$parameter["outputMode"] === "perDelivery" ? "One item per delivery" : "One item per record"}}',
		description:
			'Captures WhatsApp Business Cloud API webhooks (messages, statuses, echoes, events) as signed, normalized records for archiving',
		defaults: {
			name: 'WhatsApp Capture Trigger',
		},
		inputs: [],
		outputs: [NodeConnectionTypes.Main],
		credentials: [
			{
				name: 'whatsAppCaptureApi',
				required: true,
			},
		],
		webhooks: [
			{
				name: 'setup',
				httpMethod: 'GET',
				responseMode: 'onReceived',
				path: 'webhook',
			},
			{
				name: 'default',
				httpMethod: 'POST',
				responseMode:
					'={{$parameter["responseTiming"] === "afterWorkflow" ? "lastNode" : "onReceived"}}',
				responseData: 'noData',
				path: 'webhook',
			},
		],
		properties: [
			{
				displayName:
					'Manual subscription: in the Meta App Dashboard (WhatsApp → Configuration → Webhook) paste this node\'s Production URL as Callback URL and the credential\'s Verify Token, then subscribe the "messages" field (and "smb_message_echoes" for coexistence). n8n does not call Meta on activation or deactivation in this mode.',
				name: 'manualNotice',
				type: 'notice',
				default: '',
			},
			{
				displayName: 'Subscription Mode',
				name: 'subscriptionMode',
				type: 'options',
				options: [
					{
						name: 'Manual (Paste URL in Meta App Dashboard)',
						value: 'manual',
						description: 'You register the callback URL and verify token in the Meta App Dashboard yourself',
					},
				],
				default: 'manual',
			},
			{
				displayName: 'Output',
				name: 'outputMode',
				type: 'options',
				options: [
					{
						name: 'One Item per Record',
						value: 'perRecord',
						description: 'Each message, status, error and event of the delivery becomes its own item',
					},
					{
						name: 'One Item per Delivery',
						value: 'perDelivery',
						description: 'One item per webhook request, holding all its records in "records"',
					},
				],
				default: 'perRecord',
			},
			{
				displayName: 'Respond',
				name: 'responseTiming',
				type: 'options',
				options: [
					{
						name: 'Immediately',
						value: 'immediately',
						description: 'Answer 200 as soon as the signature is verified',
					},
					{
						name: 'After Workflow Finished',
						value: 'afterWorkflow',
						description:
							'Answer 200 only when the workflow succeeded; an error (e.g. a failed archive write) answers 500 so Meta retries the delivery',
					},
				],
				default: 'immediately',
			},
			{
				displayName: 'Options',
				name: 'options',
				type: 'collection',
				placeholder: 'Add option',
				default: {},
				options: [
					{
						displayName: 'Fields',
						name: 'fields',
						type: 'multiOptions',
						options: choices(
							[...MESSAGE_FIELDS, ...KNOWN_EVENT_FIELDS],
							'Unknown (Undocumented Fields)',
						),
						default: [],
						description:
							'Keep only records from these webhook fields. Empty keeps all. Quarantined deliveries are always kept.',
					},
					{
						displayName: 'Message Types',
						name: 'messageTypes',
						type: 'multiOptions',
						options: choices(KNOWN_MESSAGE_TYPES, 'Unknown (New Types)'),
						default: [],
						description:
							'Keep only message records of these types. Empty keeps all. Does not affect statuses, errors or events.',
					},
					{
						displayName: 'Status Kinds',
						name: 'statusKinds',
						type: 'multiOptions',
						options: choices(KNOWN_STATUS_VALUES, 'Unknown (New Statuses)'),
						default: [],
						description:
							'Keep only status records of these kinds (e.g. leave out Sent and Delivered). Empty keeps all. Does not affect messages.',
					},
				],
			},
		],
	};

	webhookMethods = {
		default: {
			/** Manual mode: the subscription lives in the Meta App Dashboard, so it always "exists". */
			async checkExists(this: IHookFunctions): Promise<boolean> {
				assertManualMode(this);
				return true;
			},
			/** Manual mode: nothing to create at Meta; the user pastes the URL and verify token. */
			async create(this: IHookFunctions): Promise<boolean> {
				assertManualMode(this);
				return true;
			},
			/** Manual mode: nothing to delete at Meta. */
			async delete(this: IHookFunctions): Promise<boolean> {
				assertManualMode(this);
				return true;
			},
		},
	};

	async webhook(this: IWebhookFunctions): Promise<IWebhookResponseData> {
		const credentials = await this.getCredentials<CaptureCredentials>('whatsAppCaptureApi');
		const res = this.getResponseObject();

		if (this.getWebhookName() === 'setup') {
			const answer = answerHandshake({
				query: this.getQueryData() as Record<string, unknown>,
				verifyToken: credentials.verifyToken ?? '',
			});
			if (answer.status === 200) {
				res.status(200).type('text/plain').send(answer.body);
			} else {
				this.logger.warn('WhatsApp Capture Trigger: verification request refused (403)');
				res.status(403).type('text/plain').send('Forbidden');
			}
			return { noWebhookResponse: true };
		}

		const req = this.getRequestObject();
		const rawBody: unknown = (req as { rawBody?: unknown }).rawBody;
		if (!Buffer.isBuffer(rawBody)) {
			this.logger.warn('WhatsApp Capture Trigger: request has no raw body; refused (401)');
			res.status(401).json({ error: 'raw body unavailable' });
			return { noWebhookResponse: true };
		}

		const header = req.headers['x-hub-signature-256'];
		const signature = verifySignature({
			rawBody,
			header: typeof header === 'string' ? header : undefined,
			appSecret: credentials.appSecret ?? '',
		});
		if (!signature.verified) {
			this.logger.warn(`WhatsApp Capture Trigger: delivery refused (401): ${signature.reason}`);
			res.status(401).json({ error: 'invalid signature' });
			return { noWebhookResponse: true };
		}

		const contentTypeHeader = req.headers['content-type'];
		const contentType = typeof contentTypeHeader === 'string' ? contentTypeHeader : undefined;
		const records = normalizeDelivery({
			rawBody,
			receivedAt: new Date(),
			signatureVerified: true,
			graphApiVersion: credentials.graphApiVersion,
			contentType,
		});
		const options = this.getNodeParameter('options', {}) as CaptureOptions;
		const { kept, dropped } = filterRecords(records, options);
		if (kept.length === 0) {
			// Every record was filtered out on purpose: acknowledge, start no execution.
			res.status(200).type('text/plain').send('');
			return { noWebhookResponse: true };
		}

		const outputMode = this.getNodeParameter('outputMode', 'perRecord') as string;
		const items: INodeExecutionData[] =
			outputMode === 'perDelivery'
				? [
						{
							json: buildDeliveryItem({
								records: kept,
								rawBody,
								filteredOut: dropped,
								contentType,
							}) as unknown as IDataObject,
						},
					]
				: this.helpers.returnJsonArray(kept as unknown as IDataObject[]);
		return { workflowData: [items] };
	}
}

/** Throws when the node is set to a subscription mode this version does not implement. */
function assertManualMode(context: IHookFunctions): void {
	const mode = context.getNodeParameter('subscriptionMode', 'manual') as string;
	if (mode !== 'manual') {
		throw new NodeOperationError(context.getNode(), `Subscription mode "${mode}" is not supported`);
	}
}
