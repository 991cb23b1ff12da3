import type { IAuthenticateGeneric, Icon, ICredentialTestRequest, ICredentialType, INodeProperties } from 'n8n-workflow';

/**
 * Credential of the WhatsApp Capture Trigger with Provider = Twilio WhatsApp.
 *
 * - `authToken` keys the `X-Twilio-Signature` HMAC-SHA1 (Twilio Docs, "Webhooks security").
 * - `accountSid` identifies the account; the credential test reads
 *   `GET https://api.twilio.com/2010-04-01/Accounts/<AccountSid>.json` with HTTP Basic auth.
 * - `indexKey` (optional) is only used by Encrypt at Capture: it must equal the S3 Archive Store
 *   credential's index key so pseudonyms and record ids match the archive.
 */
export class TwilioWhatsAppApi implements ICredentialType {
	name = 'twilioWhatsAppApi';

	displayName = 'Twilio WhatsApp Capture API';

	icon: Icon = {
		light: 'file:../nodes/WhatsAppCaptureTrigger/whatsapp-capture.svg',
		dark: 'file:../nodes/WhatsAppCaptureTrigger/whatsapp-capture.dark.svg',
	};

	documentationUrl =
		'https://github.com/n8n-nodes-chat-archive/n8n-nodes-chat-archive/blob/main/docs/FORMAT.md';

	properties: INodeProperties[] = [
		{
			displayName: 'Account SID',
			name: 'accountSid',
			type: 'string',
			required: true,
			default: '',
			placeholder: 'AC…',
			description: 'Twilio Account SID (Console → Account Info)',
		},
		{
			displayName: 'Auth Token',
			name: 'authToken',
			type: 'string',
			typeOptions: { password: true },
			required: true,
			default: '',
			description: 'Twilio Auth Token: verifies the X-Twilio-Signature header of every webhook',
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
				"Secret used only by Encrypt at Capture: must equal the S3 Archive Store credential's Index Key (a random secret of at least 32 bytes, e.g. from: openssl rand -hex 32)",
		},
		{
			displayName: 'Twilio API Base URL',
			name: 'apiBaseUrl',
			type: 'string',
			default: 'https://api.twilio.com',
			description:
				'Base URL of the Twilio REST API. Download Media sends the Account SID and Auth Token only to this host (media URLs of MMS and WhatsApp messages); must be https (plain http only on a loopback address).',
		},
	];

	authenticate: IAuthenticateGeneric = {
		type: 'generic',
		properties: {
			auth: {
				username: '={{$credentials.accountSid}}',
				password: '={{$credentials.authToken}}',
			},
		},
	};

	test: ICredentialTestRequest = {
		request: {
			method: 'GET',
			baseURL: 'https://api.twilio.com',
			url: '=/2010-04-01/Accounts/{{$credentials.accountSid}}.json',
		},
	};
}
