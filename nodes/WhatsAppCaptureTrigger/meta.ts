import type { IWebhookFunctions, IWebhookResponseData } from 'n8n-workflow';

import { answerHandshake, normalizeDelivery, verifySignature } from '../../lib/capture';
import { emit, maxBodyBytes, rawBodyOf } from './emit';
import type { CaptureCredentials, CaptureOptions, MediaSettings } from './types';

/**
 * `webhook()` for Provider = Meta WhatsApp Cloud API: `GET` answers the handshake, `POST` verifies
 * `X-Hub-Signature-256`, normalizes, downloads media (when on) and hands the records to {@link emit}.
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
	const rawBody = rawBodyOf.call(this, 'WhatsApp Capture Trigger', maxBodyBytes(options));
	if (!rawBody) return { noWebhookResponse: true };

	const header = req.headers['x-hub-signature-256'];
	const signature = verifySignature({
		rawBody,
		header: typeof header === 'string' ? header : undefined,
		appSecret: credentials.appSecret ?? '',
	});
	if (!signature.verified) {
		this.logger.warn(`WhatsApp Capture Trigger: delivery refused (401): ${signature.reason}`);
		res.status(401).json({ error: 'invalid signature' });
		return { noWebhookResponse: true };
	}

	const contentTypeHeader = req.headers['content-type'];
	const contentType = typeof contentTypeHeader === 'string' ? contentTypeHeader : undefined;
	const records = normalizeDelivery({
		rawBody,
		receivedAt: new Date(),
		signatureVerified: true,
		graphApiVersion: credentials.graphApiVersion,
		contentType,
	});
	const downloadMedia = this.getNodeParameter('downloadMedia', false) === true;
	const media: MediaSettings | undefined = downloadMedia
		? {
				graph: {
					baseUrl: credentials.graphApiBaseUrl || 'https://graph.facebook.com',
					version: credentials.graphApiVersion || 'v24.0',
				},
				accessToken: credentials.accessToken ?? '',
				attempts: options.mediaAttempts ?? 3,
				backoffMs: options.mediaRetryDelayMs ?? 500,
			}
		: undefined;
	return await emit.call(this, { records, rawBody, contentType, options, media, indexKey: credentials.indexKey });
}
