import type { INodeProperties, INodeType, INodeTypeDescription, IWebhookFunctions, IWebhookResponseData } from 'n8n-workflow';
import { NodeConnectionTypes } from 'n8n-workflow';

import { DEFAULT_MAX_BODY_SIZE_MB, outputModeParameter } from '../shared/capture';
import { archiveProperties, responseModeField, responseTimingParameter } from '../shared/archiveAtCapture';
import { credentialTest } from '../shared/credentialTests';
import { withCredentialReuse } from '../shared/credentials';
import { optionsCollection } from '../shared/parameters';
import { messagingWebhook } from './webhook';

/**
 * Meta Messaging Capture Trigger: receives the Messenger and Instagram messaging webhooks of a Meta
 * app (`object: "page"` / `"instagram"`) for archiving, as the WhatsApp Capture Trigger does for
 * WhatsApp: the same handshake and signature, the same record model (`channel` `messenger` or
 * `instagram`, docs/FORMAT.md), Download Media (attachments fetched from their URL and hashed),
 * Encrypt at Capture and Archive at Capture.
 *
 * Files: `webhook.ts` (GET handshake, POST delivery); the capture tail is `../shared/triggerEmit.ts`
 * and `../shared/archiveAtCapture.ts`; logic lives in `lib/capture` (`meta-messaging.ts`).
 */
export class MetaMessagingCaptureTrigger implements INodeType {
	description: INodeTypeDescription = {
		displayName: 'Meta Messaging Capture Trigger',
		name: 'metaMessagingCaptureTrigger',
		icon: { light: 'file:meta-messaging-capture.svg', dark: 'file:meta-messaging-capture.dark.svg' },
		group: ['trigger'],
		version: 1,
		subtitle: '={{$parameter["outputMode"] === "perDelivery" ? "One item per delivery" : "One item per record"}}',
		description: 'Captures Messenger and Instagram messaging webhooks as signed, normalized records for archiving, optionally encrypted at capture',
		defaults: {
			name: 'Meta Messaging Capture Trigger',
		},
		inputs: [],
		outputs: [NodeConnectionTypes.Main],
		credentials: [
			{
				name: 'metaMessagingCaptureApi',
				required: true,
			},
			{
				name: 'openPgpPublicKeysApi',
				required: true,
				testedBy: 'openPgpPublicKeysApiTest',
				displayOptions: { show: { encryptAtCapture: [true] } },
			},
			{
				name: 's3ArchiveApi',
				required: true,
				testedBy: 's3ArchiveApiTest',
				displayOptions: { show: { encryptAtCapture: [true], archiveAtCapture: [true] } },
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
				...responseModeField(),
				responseData: 'noData',
				path: 'webhook',
			},
		],
		properties: [
			{
				displayName:
					'In the Meta App Dashboard (Messenger → Settings → Webhooks, or Instagram → Webhooks) paste this node\'s Production URL as Callback URL and the credential\'s Verify Token, then subscribe the Page or Instagram account to "messages", "message_echoes", "message_edits", "message_reactions", "message_reads", "message_deliveries" (Messenger) or "messages", "message_reactions", "messaging_seen" (Instagram).',
				name: 'setupNotice',
				type: 'notice',
				default: '',
			},
			outputModeParameter,
			responseTimingParameter,
			{
				displayName: 'Encrypt at Capture',
				name: 'encryptAtCapture',
				type: 'boolean',
				default: false,
				description:
					"Whether to encrypt each record (and its attachment) inside the trigger with the OpenPGP Public Keys credential, so items carry only ciphertext (binary \"data\", \"media\") and non-identifying routing fields. Needs the Index Key in the Meta Messaging credential (equal to the S3 Archive Store credential's).",
			},
			...archiveProperties,
			{
				displayName: 'Download Media',
				name: 'downloadMedia',
				type: 'boolean',
				default: false,
				description:
					'Whether to download the first attachment of each message from the URL in the webhook (no token is sent), compute its SHA-256 and attach it as binary "media"',
			},
			optionsCollection(
				([
					{
						displayName: 'Max Body Size (MiB)',
						name: 'maxBodySizeMb',
						type: 'number',
						typeOptions: { minValue: 0.01, numberPrecision: 2 },
						default: DEFAULT_MAX_BODY_SIZE_MB,
						description: 'Deliveries with a larger body are refused (HTTP 413) before their signature is checked',
					},
					{
						displayName: 'Media Download Attempts',
						name: 'mediaAttempts',
						type: 'number',
						typeOptions: { minValue: 1, maxValue: 10 },
						default: 3,
						description: 'Attempts per attachment before the record is marked media_status "failed"',
					},
					{
						displayName: 'Media Retry Delay (Ms)',
						name: 'mediaRetryDelayMs',
						type: 'number',
						typeOptions: { minValue: 0 },
						default: 500,
						description: 'First wait between attachment attempts, doubled after each attempt',
					},
				] satisfies INodeProperties[]).sort((a, b) => a.displayName.localeCompare(b.displayName)),
			),
		],
	};

	methods = { credentialTest };

	/**
	 * Nothing to register on activation: the callback URL is set in the App Dashboard (Meta does not
	 * support configuring Instagram messaging webhooks through the App Subscriptions edge, "Webhooks for
	 * Instagram Messaging"), and the Page's app subscription outlives any one workflow.
	 */
	webhookMethods = {
		default: {
			async checkExists(): Promise<boolean> {
				return true;
			},
			async create(): Promise<boolean> {
				return true;
			},
			async delete(): Promise<boolean> {
				return true;
			},
		},
	};

	async webhook(this: IWebhookFunctions): Promise<IWebhookResponseData> {
		// credentials read once per few seconds, not per request (each read costs n8n an expression isolate)
		return await messagingWebhook.call(withCredentialReuse(this));
	}
}
