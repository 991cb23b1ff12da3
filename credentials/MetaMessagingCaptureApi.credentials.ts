import type { Icon, ICredentialTestRequest, ICredentialType, INodeProperties } from 'n8n-workflow';

/**
 * Credential of the Meta Messaging Capture Trigger: the Meta app whose Messenger and Instagram
 * messaging webhooks the trigger receives (Meta, "Messenger Platform – Webhooks", "Instagram
 * Messaging – Webhooks").
 *
 * - `appSecret` keys the `X-Hub-Signature-256` HMAC, as for WhatsApp.
 * - `verifyToken` is chosen by the user and typed both here and in the App Dashboard (Messenger or
 *   Instagram → Webhooks → Verify token); Meta echoes it in the `hub.verify_token` handshake.
 * - `pageAccessToken` (optional) is the Page access token; the credential test calls Graph
 *   `GET /<version>/me` with it. Attachments are fetched from their webhook URL without it.
 * - `indexKey` (optional) is only used by Encrypt at Capture: it must equal the S3 Archive Store
 *   credential's index key.
 * - `graphApiBaseUrl` / `graphApiVersion` select the Graph API endpoint; the version is stamped on
 *   every captured record.
 */
export class MetaMessagingCaptureApi implements ICredentialType {
	name = 'metaMessagingCaptureApi';

	displayName = 'Meta Messaging Capture (Messenger, Instagram) API';

	icon: Icon = {
		light: 'file:../nodes/MetaMessagingCaptureTrigger/meta-messaging-capture.svg',
		dark: 'file:../nodes/MetaMessagingCaptureTrigger/meta-messaging-capture.dark.svg',
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
				'A secret string you choose and also type into the Meta App Dashboard (Messenger or Instagram → Webhooks → Verify token)',
		},
		{
			displayName: 'Page Access Token',
			name: 'pageAccessToken',
			type: 'string',
			typeOptions: { password: true },
			default: '',
			description: 'Optional Page access token of the Facebook Page (and its linked Instagram account). Used by the credential test.',
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
			description: 'Base URL of the Graph API, without version and without trailing slash. Must be https (plain http only on a loopback address).',
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
				Authorization: '=Bearer {{$credentials.pageAccessToken}}',
			},
		},
	};
}
