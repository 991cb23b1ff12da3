import type { IWebhookFunctions, IWebhookResponseData } from 'n8n-workflow';

import { answerHandshake, normalizeMessagingDelivery } from '../../lib/capture';
import { metaMediaSettings, readMetaDelivery, type CaptureOptions } from '../shared/capture';
import { emitCapture, rawBodyOf } from '../shared/triggerEmit';

/** Credential fields of the Meta Messaging Capture credential. */
export interface MessagingCredentials {
	appSecret?: string;
	verifyToken?: string;
	pageAccessToken?: string;
	indexKey?: string;
	graphApiBaseUrl?: string;
	graphApiVersion?: string;
}

const SOURCE = { trigger: 'Meta Messaging Capture Trigger', indexKeyCredential: 'Meta Messaging Capture' };

/**
 * `webhook()` of the Meta Messaging Capture Trigger: `GET` answers the `hub.challenge` handshake
 * (lib/capture `answerHandshake`, as for WhatsApp), `POST` checks the size, verifies
 * `X-Hub-Signature-256` over the raw body (401 and nothing emitted or archived when it fails),
 * normalizes with `normalizeMessagingDelivery` and hands the records to the shared capture tail
 * (`emitCapture`: Download Media, Encrypt at Capture, Archive at Capture).
 */
export async function messagingWebhook(this: IWebhookFunctions): Promise<IWebhookResponseData> {
	const credentials = await this.getCredentials<MessagingCredentials>('metaMessagingCaptureApi');
	const res = this.getResponseObject();
	if (this.getWebhookName() === 'setup') {
		const answer = answerHandshake({ query: this.getQueryData() as Record<string, unknown>, verifyToken: credentials.verifyToken ?? '' });
		if (answer.status === 200) {
			res.status(200).type('text/plain').send(answer.body);
		} else {
			this.logger.warn(`${SOURCE.trigger}: verification request refused (403)`);
			res.status(403).type('text/plain').send('Forbidden');
		}
		return { noWebhookResponse: true };
	}

	const req = this.getRequestObject();
	const options = this.getNodeParameter('options', {}) as CaptureOptions;
	const rawBody = rawBodyOf.call(this, SOURCE.trigger, options);
	if (!rawBody) return { noWebhookResponse: true };
	const delivery = readMetaDelivery({
		rawBody,
		signatureHeader: req.headers['x-hub-signature-256'],
		contentType: req.headers['content-type'],
		credentials: { ...credentials, accessToken: credentials.pageAccessToken },
		options,
		normalize: normalizeMessagingDelivery,
	});
	if (delivery.refusal) {
		this.logger.warn(`${SOURCE.trigger}: delivery refused (${delivery.refusal.status}): ${delivery.refusal.reason}`);
		res.status(delivery.refusal.status).json({ error: delivery.refusal.status === 401 ? 'invalid signature' : 'body too large' });
		return { noWebhookResponse: true };
	}
	const contentType = req.headers['content-type'];
	return await emitCapture.call(this, {
		records: delivery.records,
		rawBody,
		contentType: typeof contentType === 'string' ? contentType : undefined,
		options,
		media: this.getNodeParameter('downloadMedia', false) === true ? metaMediaSettings({ ...credentials, accessToken: credentials.pageAccessToken }, options) : undefined,
		indexKey: credentials.indexKey,
		source: SOURCE.trigger,
		indexKeyCredential: SOURCE.indexKeyCredential,
	});
}
