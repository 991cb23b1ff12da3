import type { INodeProperties, INodeType, INodeTypeDescription, IWebhookFunctions, IWebhookResponseData } from 'n8n-workflow';
import { NodeConnectionTypes } from 'n8n-workflow';

import { KNOWN_EVENT_FIELDS, MESSAGE_FIELDS } from '../../lib/capture';
import { credentialTest } from '../shared/credentialTests';
import { withCredentialReuse } from '../shared/credentials';
import { DEFAULT_MAX_BODY_SIZE_MB, captureChoices as choices, captureFilterOptions, outputModeParameter } from '../shared/capture';
import { archiveProperties, responseModeField, responseTimingParameter } from '../shared/archiveAtCapture';
import { metaWebhook } from './meta';
import { subscriptionMethods } from './subscription';
import { twilioWebhook } from './twilio';
import { optionsCollection } from '../shared/parameters';

const forMeta = { show: { provider: ['metaCloud'] } };

/**
 * WhatsApp Capture Trigger: receives Meta WhatsApp Business Cloud API webhooks (or Twilio WhatsApp
 * webhooks) for archiving.
 *
 * - `GET <url>` (webhook `setup`): answers Meta's verification handshake (text/plain challenge or 403).
 * - `POST <url>` (webhook `default`): verifies the provider's signature over the raw body (401 and no
 *   execution on failure), normalizes with `lib/capture`, optionally downloads media and encrypts at
 *   capture, and emits one item per record (or one per delivery); with Archive at Capture it writes
 *   the records to the archive itself and emits only those it could not store (`../shared/archiveAtCapture.ts`).
 * - `webhookMethods`: Meta registration by Subscription Mode (manual, app subscription, WABA or phone
 *   number override), remembered in the workflow's static data.
 *
 * Files: `meta.ts` (Meta webhook), `twilio.ts` (Twilio webhook), `emit.ts` (how both answer with
 * the items of `../shared/capture.ts`, which WhatsApp Record → Capture Delivery emits too),
 * `subscription.ts` (webhookMethods), `types.ts` (Twilio credential fields). Logic lives in
 * `lib/capture`.
 */
export class WhatsAppCaptureTrigger implements INodeType {
	description: INodeTypeDescription = {
		displayName: 'WhatsApp Capture Trigger',
		name: 'whatsAppCaptureTrigger',
		icon: { light: 'file:whatsapp-capture.svg', dark: 'file:whatsapp-capture.dark.svg' },
		group: ['trigger'],
		// 1.1: same behaviour; n8n evaluates an `options.binaryData` expression for every request to a
		// version-1 start node (webhook-helpers `parseRequestBody`), which needs the expression sandbox
		version: [1, 1.1],
		defaultVersion: 1.1,
		subtitle:
			'={{$parameter["outputMode"] === "perDelivery" ? "One item per delivery" : "One item per record"}}',
		description:
			'Captures WhatsApp Business Cloud API (or Twilio WhatsApp) webhooks as signed, normalized records for archiving, optionally encrypted at capture',
		defaults: {
			name: 'WhatsApp Capture Trigger',
		},
		inputs: [],
		outputs: [NodeConnectionTypes.Main],
		credentials: [
			{
				name: 'whatsAppCaptureApi',
				required: true,
				displayOptions: forMeta,
			},
			{
				name: 'twilioWhatsAppApi',
				required: true,
				displayOptions: { show: { provider: ['twilio'] } },
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
				displayName: 'Provider',
				name: 'provider',
				type: 'options',
				noDataExpression: true,
				options: [
					{
						name: 'Meta WhatsApp Cloud API',
						value: 'metaCloud',
						description: 'Webhooks of a Meta app (X-Hub-Signature-256)',
					},
					{
						name: 'Twilio WhatsApp',
						value: 'twilio',
						description: 'Form-encoded Twilio messaging webhooks and status callbacks (X-Twilio-Signature), WhatsApp and SMS/MMS',
					},
				],
				default: 'metaCloud',
			},
			{
				displayName:
					'Manual subscription: in the Meta App Dashboard (WhatsApp → Configuration → Webhook) paste this node\'s Production URL as Callback URL and the credential\'s Verify Token, then subscribe the "messages" field (and "smb_message_echoes" for coexistence). n8n does not call Meta on activation or deactivation in this mode.',
				name: 'manualNotice',
				type: 'notice',
				default: '',
				displayOptions: { show: { provider: ['metaCloud'], subscriptionMode: ['manual'] } },
			},
			{
				displayName:
					"In the Twilio Console (Messaging → WhatsApp sender, the phone number's Messaging configuration for SMS/MMS, or the Messaging Service), set this node's Production URL as the incoming-message webhook (HTTP POST) and, if wanted, as the status callback URL. Signatures are checked against that exact URL.",
				name: 'twilioNotice',
				type: 'notice',
				default: '',
				displayOptions: { show: { provider: ['twilio'] } },
			},
			{
				displayName: 'Subscription Mode',
				name: 'subscriptionMode',
				type: 'options',
				displayOptions: forMeta,
				options: [
					{
						name: 'Manual (Paste URL in Meta App Dashboard)',
						value: 'manual',
						description: 'You register the callback URL and verify token in the Meta App Dashboard yourself',
					},
					{
						name: 'Register App Subscription',
						value: 'registerApp',
						description:
							"On activation, set the Meta app's whatsapp_business_account callback to this trigger (needs App ID); one trigger per app",
					},
					{
						name: 'Override for One WhatsApp Business Account',
						value: 'overrideWaba',
						description:
							"On activation, point one WABA's message webhooks at this trigger (alternate callback); several triggers can share one app",
					},
					{
						name: 'Override for One Phone Number',
						value: 'overridePhoneNumber',
						description:
							"On activation, point one business phone number's message webhooks at this trigger (alternate callback)",
					},
				],
				default: 'manual',
			},
			{
				displayName: 'Subscribed Fields',
				name: 'subscribedFields',
				type: 'multiOptions',
				displayOptions: { show: { provider: ['metaCloud'], subscriptionMode: ['registerApp'] } },
				options: choices([...MESSAGE_FIELDS, ...KNOWN_EVENT_FIELDS], 'Unknown').filter(
					(option) => option.value !== 'unknown',
				),
				default: ['messages'],
				description: 'Webhook fields of the app subscription (fields already subscribed for this URL are kept)',
			},
			{
				displayName: 'WhatsApp Business Account ID',
				name: 'wabaId',
				type: 'string',
				displayOptions: { show: { provider: ['metaCloud'], subscriptionMode: ['overrideWaba'] } },
				default: '',
				required: true,
				placeholder: '102290129340398',
				description: 'The WABA whose webhooks this trigger receives; the Meta app must be subscribed to it',
			},
			{
				displayName: 'Phone Number ID',
				name: 'phoneNumberId',
				type: 'string',
				displayOptions: { show: { provider: ['metaCloud'], subscriptionMode: ['overridePhoneNumber'] } },
				default: '',
				required: true,
				placeholder: '106540352242922',
				description: 'The business phone number ID whose webhooks this trigger receives',
			},
			outputModeParameter,
			responseTimingParameter,
			{
				displayName: 'Encrypt at Capture',
				name: 'encryptAtCapture',
				type: 'boolean',
				default: false,
				description:
					"Whether to encrypt each record (and its media) inside the trigger with the OpenPGP Public Keys credential, so items carry only ciphertext (binary \"data\", \"media\") and non-identifying routing fields. Needs the Index Key in the WhatsApp credential (equal to the S3 Archive Store credential's).",
			},
			...archiveProperties,
			{
				displayName: 'Download Media',
				name: 'downloadMedia',
				type: 'boolean',
				default: false,
				description:
					'Whether to download the file of each image, audio, video, document and sticker message (Meta: through the Graph API, needs the Access Token, SHA-256 checked; Twilio: the first MediaUrl, with the account\'s credentials), hash it and attach it as binary "media"',
			},
			// the capture filters (nodes/shared/capture.ts) among the trigger's own options, by label
			optionsCollection(
				([
					...captureFilterOptions,
					{
						displayName: 'Max Body Size (MiB)',
						name: 'maxBodySizeMb',
						type: 'number',
						typeOptions: { minValue: 0.01, numberPrecision: 2 },
						default: DEFAULT_MAX_BODY_SIZE_MB,
						description:
							'Deliveries with a larger body are refused (HTTP 413) before their signature is checked. Meta documents webhook payloads of up to 3 MB; raise this only if your provider sends larger ones (refusing a hostile body takes longer the larger this is).',
					},
					{
						displayName: 'Media Download Attempts',
						name: 'mediaAttempts',
						type: 'number',
						typeOptions: { minValue: 1, maxValue: 10 },
						default: 3,
						description:
							'Attempts per media file (an expired 5-minute URL is looked up again) before the record is marked media_status "failed"',
					},
					{
						displayName: 'Media Retry Delay (Ms)',
						name: 'mediaRetryDelayMs',
						type: 'number',
						typeOptions: { minValue: 0 },
						default: 500,
						description: 'First wait between media attempts, doubled after each attempt',
					},
					{
						displayName: 'Twilio Signature URL',
						name: 'twilioSignatureUrl',
						type: 'string',
						default: '',
						placeholder: 'https://n8n.example.com/webhook/…/webhook',
						description:
							"Twilio signs the URL exactly as configured in the Twilio Console. Set it here when n8n sits behind a proxy that changes scheme, host or port; empty uses this node's production URL.",
					},
				] satisfies INodeProperties[]).sort((a, b) => a.displayName.localeCompare(b.displayName)),
			),
		],
};

	methods = { credentialTest };

	webhookMethods = { default: subscriptionMethods };

	async webhook(this: IWebhookFunctions): Promise<IWebhookResponseData> {
		const provider = this.getNodeParameter('provider', 'metaCloud');
		// credentials read once per few seconds, not per request (each read costs n8n an expression isolate)
		const context = withCredentialReuse(this);
		return provider === 'twilio' ? await twilioWebhook.call(context) : await metaWebhook.call(context);
	}
}
