import type { Icon, ICredentialTestRequest, ICredentialType, INodeProperties } from 'n8n-workflow';

/**
 * Credential of the WhatsApp Capture Trigger: the Meta app whose webhooks the trigger receives.
 *
 * - `appSecret` keys the `X-Hub-Signature-256` HMAC (Meta, "Graph API Webhooks – Getting Started").
 * - `verifyToken` is chosen by the user and typed both here and in the App Dashboard (WhatsApp →
 *   Configuration → Webhook → Verify token); Meta echoes it in the `hub.verify_token` handshake.
 * - `accessToken` (optional) is a system-user token, used for media download and WABA / phone number
 *   overrides; the credential test calls Graph `GET /<version>/me` with it.
 * - `appId` (optional) is the Meta App ID: with the App Secret it forms the app access token
 *   (`<app-id>|<app-secret>`) that registers the app subscription (Subscription Mode "Register App").
 * - `indexKey` (optional) is only used by Encrypt at Capture: it must equal the S3 Archive Store
 *   credential's index key, so the trigger's `counterparty_pseudonym` and `record_id` match the archive.
 * - `graphApiBaseUrl` / `graphApiVersion` select the Graph API endpoint; the version is stamped on
 *   every captured record.
 */
export class WhatsAppCaptureApi implements ICredentialType {
	name = 'whatsAppCaptureApi';

	displayName = 'WhatsApp Capture (Meta App) API';

	icon: Icon = {
		light: 'file:../nodes/WhatsAppCaptureTrigger/whatsapp-capture.svg',
		dark: 'file:../nodes/WhatsAppCaptureTrigger/whatsapp-capture.dark.svg',
	};

	documentationUrl =
		'https://github.com/n8n-nodes-chat-archive/n8n-nodes-chat-archive/blob/main/docs/FORMAT.md';

	properties: INodeProperties[] = [
		{
			displayName: 'App Secret',
			name: 'appSecret',
			type: 'string',
			typeOptions: { password: true },
			required: true,
			default: '',
			description:
				'App Secret of the Meta app (App Dashboard → App settings → Basic). Used to verify the X-Hub-Signature-256 header of every delivery.',
		},
		{
			displayName: 'Verify Token',
			name: 'verifyToken',
			type: 'string',
			typeOptions: { password: true },
			required: true,
			default: '',
			description:
				'A secret string you choose and also type into the Meta App Dashboard (WhatsApp → Configuration → Webhook → Verify token)',
		},
		{
			displayName: 'Access Token',
			name: 'accessToken',
			type: 'string',
			typeOptions: { password: true },
			default: '',
			description:
				'Optional system-user access token (for media download and WABA / phone number overrides). Used by the credential test.',
		},
		{
			displayName: 'App ID',
			name: 'appId',
			type: 'string',
			default: '',
			description:
				'Optional Meta App ID (App Dashboard → App settings → Basic). Needed for Subscription Mode "Register App Subscription".',
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
			displayName: 'Graph API Base URL',
			name: 'graphApiBaseUrl',
			type: 'string',
			default: 'https://graph.facebook.com',
			description:
				"Base URL of the Graph API, without version and without trailing slash. Must be https (plain http only on a loopback address); the Access Token is sent only to this host and to Meta's media host lookaside.fbsbx.com.",
		},
		{
			displayName: 'Graph API Version',
			name: 'graphApiVersion',
			type: 'string',
			default: 'v24.0',
			description: 'Graph API version, e.g. v24.0. Stamped on every captured record.',
		},
	];

	test: ICredentialTestRequest = {
		request: {
			method: 'GET',
			baseURL: '={{$credentials.graphApiBaseUrl}}',
			url: '=/{{$credentials.graphApiVersion}}/me',
			headers: {
				Authorization: '=Bearer {{$credentials.accessToken}}',
			},
		},
	};
}
