import type { IWebhookFunctions, IWebhookResponseData } from 'n8n-workflow';

import { normalizeTwilioWebhook, verifyTwilioSignature } from '../../lib/capture';
import { isLoopbackHttp, type CaptureOptions, type MediaSettings } from '../shared/capture';
import { emit, rawBodyOf } from './emit';
import type { TwilioCredentials } from './types';

/**
 * `webhook()` for Provider = Twilio WhatsApp: `POST` only (form-encoded). Verifies
 * `X-Twilio-Signature` over the configured URL (Options → Twilio Signature URL, else this node's
 * production URL, plus the request's query string) and every posted parameter, then emits one record
 * (WhatsApp or SMS/MMS), its media downloaded with Download Media on.
 * 413 above Options → Max Body Size, 401 on a bad signature; a `GET` (Twilio does not send one) is
 * answered 405.
 */
export async function twilioWebhook(this: IWebhookFunctions): Promise<IWebhookResponseData> {
	const res = this.getResponseObject();
	if (this.getWebhookName() === 'setup') {
		res.status(405).type('text/plain').send('Method Not Allowed');
		return { noWebhookResponse: true };
	}
	const credentials = await this.getCredentials<TwilioCredentials>('twilioWhatsAppApi');
	const req = this.getRequestObject();
	const options = this.getNodeParameter('options', {}) as CaptureOptions;
	const rawBody = rawBodyOf.call(this, 'WhatsApp Capture Trigger (Twilio)', options);
	if (!rawBody) return { noWebhookResponse: true };
	const header = req.headers['x-twilio-signature'];
	const signature = verifyTwilioSignature({
		url: signedUrl.call(this, options.twilioSignatureUrl, req.url),
		rawBody,
		header: typeof header === 'string' ? header : undefined,
		authToken: credentials.authToken ?? '',
	});
	if (!signature.verified || !signature.params) {
		this.logger.warn(`WhatsApp Capture Trigger (Twilio): request refused (401): ${signature.reason}`);
		res.status(401).json({ error: 'invalid signature' });
		return { noWebhookResponse: true };
	}
	const params = signature.params;
	const record = normalizeTwilioWebhook({ rawBody, params, receivedAt: new Date(), signatureVerified: true });
	const contentType = req.headers['content-type'];
	return await emit.call(this, {
		records: [record],
		rawBody,
		contentType: typeof contentType === 'string' ? contentType : undefined,
		options,
		media: this.getNodeParameter('downloadMedia', false) === true ? twilioMediaSettings(credentials, options) : undefined,
		indexKey: credentials.indexKey,
	});
}

/**
 * Media download settings for Twilio (Download Media on): MMS and WhatsApp media are fetched from
 * their `MediaUrl{N}` with the account's HTTP Basic auth (Twilio Docs, "Media resource": required
 * when HTTP auth on media URLs is enforced), sent only to the Twilio API host; the signed CDN URL
 * it redirects to gets none.
 */
function twilioMediaSettings(credentials: TwilioCredentials, options: CaptureOptions): MediaSettings {
	const baseUrl = (credentials.apiBaseUrl || 'https://api.twilio.com').replace(/\/+$/, '');
	const basic = Buffer.from(`${credentials.accountSid ?? ''}:${credentials.authToken ?? ''}`, 'utf8').toString('base64');
	return {
		graph: { baseUrl, version: '' },
		accessToken: '',
		attempts: options.mediaAttempts ?? 3,
		backoffMs: options.mediaRetryDelayMs ?? 500,
		authorization: { header: `Basic ${basic}`, host: new URL(baseUrl).host },
		allowLoopbackHttp: isLoopbackHttp(baseUrl),
	};
}

/** The URL Twilio signed: the configured override, else the production URL, plus the request's query. */
function signedUrl(this: IWebhookFunctions, override: string | undefined, requestUrl: string | undefined): string {
	const configured = (override ?? '').trim();
	if (configured) return configured;
	const base = this.getNodeWebhookUrl('default') ?? '';
	const query = (requestUrl ?? '').includes('?') ? (requestUrl ?? '').slice((requestUrl ?? '').indexOf('?')) : '';
	return base + query;
}
