import type { Icon, ICredentialType, INodeProperties } from 'n8n-workflow';

/**
 * Credential of the Telegram Business Capture Trigger: the bot whose updates the trigger receives.
 *
 * - `botToken` (from @BotFather, `<bot id>:<secret>`) calls the Bot API (`setWebhook`,
 *   `deleteWebhook`, `getFile`, and `getMe` for the credential test); the bot id before `:` is the
 *   records' `account_id`.
 * - `secretToken` is chosen by the user; the trigger passes it to `setWebhook` as `secret_token` and
 *   Telegram sends it back in `X-Telegram-Bot-Api-Secret-Token` with every update (Bot API, setWebhook).
 * - `indexKey` (optional) is only used by Encrypt at Capture: it must equal the S3 Archive Store
 *   credential's index key.
 * - `apiBaseUrl`: `https://api.telegram.org`, or a local Bot API server.
 * The test is `telegramBotCaptureApiTest` (nodes/shared/credentialTests.ts): shapes, then `getMe`.
 */
export class TelegramBotCaptureApi implements ICredentialType {
	name = 'telegramBotCaptureApi';

	displayName = 'Telegram Bot API';

	icon: Icon = {
		light: 'file:../nodes/TelegramBusinessCaptureTrigger/telegram-capture.svg',
		dark: 'file:../nodes/TelegramBusinessCaptureTrigger/telegram-capture.dark.svg',
	};

	documentationUrl =
		'https://github.com/n8n-nodes-chat-archive/n8n-nodes-chat-archive/blob/main/docs/FORMAT.md';

	properties: INodeProperties[] = [
		{
			displayName: 'Bot Token',
			name: 'botToken',
			type: 'string',
			typeOptions: { password: true },
			required: true,
			default: '',
			placeholder: '123456789:AA…',
			description: 'Token @BotFather gave the bot. The business account connects this bot in Telegram Business → Chatbots.',
		},
		{
			displayName: 'Secret Token',
			name: 'secretToken',
			type: 'string',
			typeOptions: { password: true },
			required: true,
			default: '',
			placeholder: 'output of: openssl rand -hex 32',
			description:
				'A secret you choose (1-256 characters: A-Z, a-z, 0-9, _ and -). The trigger registers it with setWebhook; Telegram sends it in the X-Telegram-Bot-Api-Secret-Token header of every update, and updates without it are refused.',
		},
		// The index key is a secret (HMAC key of pseudonyms) whose name the rule does not recognize.
		// eslint-disable-next-line @n8n/community-nodes/credential-unnecessary-password
		{
			displayName: 'Index Key',
			name: 'indexKey',
			type: 'string',
			typeOptions: { password: true },
			default: '',
			placeholder: 'output of: openssl rand -hex 32',
			description:
				"Secret used only by Encrypt at Capture: must equal the S3 Archive Store credential's Index Key (a random secret of at least 32 bytes, e.g. from: openssl rand -hex 32), so record ids and counterparty pseudonyms match the archive",
		},
		{
			displayName: 'API Base URL',
			name: 'apiBaseUrl',
			type: 'string',
			default: 'https://api.telegram.org',
			description: 'The Bot API server: Telegram\'s, or a local Bot API server (https; plain http only on loopback)',
		},
	];
}
