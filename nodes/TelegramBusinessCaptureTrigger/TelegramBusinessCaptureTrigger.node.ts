import type { INodeProperties, INodeType, INodeTypeDescription, IWebhookFunctions, IWebhookResponseData } from 'n8n-workflow';
import { NodeConnectionTypes } from 'n8n-workflow';

import { TELEGRAM_UPDATE_TYPES } from '../../lib/capture';
import { archiveProperties, responseModeField, responseTimingParameter } from '../shared/archiveAtCapture';
import { DEFAULT_MAX_BODY_SIZE_MB, captureChoices, outputModeParameter } from '../shared/capture';
import { credentialTest } from '../shared/credentialTests';
import { withCredentialReuse } from '../shared/credentials';
import { optionsCollection } from '../shared/parameters';
import { registrationMethods } from './registration';
import { telegramWebhook } from './webhook';

/**
 * Telegram Business Capture Trigger: receives the Bot API updates of a bot that Telegram Business
 * accounts connect (Settings → Telegram Business → Chatbots), and of the bot's own chats, for
 * archiving.
 *
 * - `POST <url>`: checks `X-Telegram-Bot-Api-Secret-Token` (403 and no execution when wrong or
 *   missing), normalizes with `lib/capture` (`normalizeTelegramUpdate`), optionally downloads files
 *   (`files.ts`), encrypts and archives at capture as the WhatsApp Capture Trigger does
 *   (`../shared/triggerEmit.ts`, `../shared/archiveAtCapture.ts`).
 * - `webhookMethods` (`registration.ts`): `setWebhook` with the secret and `allowed_updates` on
 *   activation, `deleteWebhook` on deactivation.
 */
export class TelegramBusinessCaptureTrigger implements INodeType {
	description: INodeTypeDescription = {
		displayName: 'Telegram Business Capture Trigger',
		name: 'telegramBusinessCaptureTrigger',
		icon: { light: 'file:telegram-capture.svg', dark: 'file:telegram-capture.dark.svg' },
		group: ['trigger'],
		version: 1,
		subtitle: '={{$parameter["outputMode"] === "perDelivery" ? "One item per update" : "One item per record"}}',
		description:
			'Captures Telegram Business chats (and the bot\'s own chats) from Bot API webhooks as normalized records for archiving, optionally encrypted at capture',
		defaults: {
			name: 'Telegram Business Capture Trigger',
		},
		inputs: [],
		outputs: [NodeConnectionTypes.Main],
		credentials: [
			{
				name: 'telegramBotCaptureApi',
				required: true,
				testedBy: 'telegramBotCaptureApiTest',
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
					"On activation the trigger registers its URL with the bot (setWebhook, with the credential's Secret Token), and removes it on deactivation. Telegram needs a public HTTPS URL on port 443, 80, 88 or 8443. A business account connects the bot in Telegram → Settings → Telegram Business → Chatbots.",
				name: 'registrationNotice',
				type: 'notice',
				default: '',
			},
			{
				displayName: 'Update Types',
				name: 'updateTypes',
				type: 'multiOptions',
				options: captureChoices(TELEGRAM_UPDATE_TYPES, 'Unknown').filter((option) => option.value !== 'unknown'),
				default: [...TELEGRAM_UPDATE_TYPES],
				description: 'Updates the bot receives (setWebhook allowed_updates) and the trigger keeps. Empty: all of these.',
			},
			outputModeParameter,
			responseTimingParameter,
			{
				displayName: 'Encrypt at Capture',
				name: 'encryptAtCapture',
				type: 'boolean',
				default: false,
				description:
					"Whether to encrypt each record (and its file) inside the trigger with the OpenPGP Public Keys credential, so items carry only ciphertext (binary \"data\", \"media\") and non-identifying routing fields. Needs the Index Key in the Telegram Bot API credential (equal to the S3 Archive Store credential's).",
			},
			...archiveProperties,
			{
				displayName: 'Download Files',
				name: 'downloadFiles',
				type: 'boolean',
				default: false,
				description:
					'Whether to download the file of each photo, document, voice, video, audio and sticker message (getFile), hash it (SHA-256) and attach it as binary "media"',
			},
			optionsCollection(
				([
					{
						displayName: 'Max Body Size (MiB)',
						name: 'maxBodySizeMb',
						type: 'number',
						typeOptions: { minValue: 0.01, numberPrecision: 2 },
						default: DEFAULT_MAX_BODY_SIZE_MB,
						description: 'Updates with a larger body are refused (HTTP 413) after the secret check',
					},
					{
						displayName: 'Max File Size (MiB)',
						name: 'maxFileSizeMb',
						type: 'number',
						typeOptions: { minValue: 0.01, numberPrecision: 2 },
						default: 20,
						description: "Larger files are not downloaded (media_status \"failed\"). Telegram's Bot API serves files of up to 20 MB; a local Bot API server more.",
					},
					{
						displayName: 'File Download Attempts',
						name: 'mediaAttempts',
						type: 'number',
						typeOptions: { minValue: 1, maxValue: 10 },
						default: 3,
						description: 'Attempts per file before the record is marked media_status "failed"',
					},
					{
						displayName: 'File Retry Delay (Ms)',
						name: 'mediaRetryDelayMs',
						type: 'number',
						typeOptions: { minValue: 0 },
						default: 500,
						description: 'First wait between file attempts, doubled after each attempt',
					},
				] satisfies INodeProperties[]).sort((a, b) => a.displayName.localeCompare(b.displayName)),
			),
		],
	};

	methods = { credentialTest };

	webhookMethods = { default: registrationMethods };

	async webhook(this: IWebhookFunctions): Promise<IWebhookResponseData> {
		// credentials read once per few seconds, not per request (each read costs n8n an expression isolate)
		return await telegramWebhook.call(withCredentialReuse(this));
	}
}
