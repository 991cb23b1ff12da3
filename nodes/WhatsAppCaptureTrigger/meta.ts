import type { IWebhookFunctions, IWebhookResponseData } from 'n8n-workflow';

import { answerHandshake } from '../../lib/capture';
import { metaMediaSettings, readMetaDelivery, type CaptureCredentials, type CaptureOptions } from '../shared/capture';
import { emit, rawBodyOf } from '../shared/captureEmit';

/**
 * `webhook()` for Provider = Meta WhatsApp Cloud API: `GET` answers the handshake, `POST` verifies
 * `X-Hub-Signature-256` and normalizes (`readMetaDelivery`), then hands the records to {@link emit}.
 */
export async function metaWebhook(this: IWebhookFunctions): Promise<IWebhookResponseData> {
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
	const options = this.getNodeParameter('options', {}) as CaptureOptions;
	const rawBody = rawBodyOf.call(this, 'WhatsApp Capture Trigger', options);
	if (!rawBody) return { noWebhookResponse: true };

	const delivery = readMetaDelivery({
		rawBody,
		signatureHeader: req.headers['x-hub-signature-256'],
		contentType: req.headers['content-type'],
		credentials,
		options,
	});
	if (delivery.refusal) {
		this.logger.warn(`WhatsApp Capture Trigger: delivery refused (${delivery.refusal.status}): ${delivery.refusal.reason}`);
		res.status(delivery.refusal.status).json({ error: delivery.refusal.status === 401 ? 'invalid signature' : 'body too large' });
		return { noWebhookResponse: true };
	}
	const contentType = req.headers['content-type'];
	return await emit.call(this, {
		records: delivery.records,
		rawBody,
		contentType: typeof contentType === 'string' ? contentType : undefined,
		options,
		media: this.getNodeParameter('downloadMedia', false) === true ? metaMediaSettings(credentials, options) : undefined,
		indexKey: credentials.indexKey,
	});
}
