import type { IDataObject, IWebhookFunctions, IWebhookResponseData } from 'n8n-workflow';

import {
	answerHandshake,
	filterRecords,
	normalizeDelivery,
	verifySignature,
	type CaptureRecord,
} from '../../lib/capture';
import { credentialPublicKeys } from '../shared/credentials';
import { buildItems, type MediaSettings, type SealSettings } from './items';
import { twilioWebhook } from './twilio';

/** Credential fields read by the trigger (WhatsApp Capture credential). */
export interface CaptureCredentials {
	appSecret?: string;
	verifyToken?: string;
	accessToken?: string;
	appId?: string;
	indexKey?: string;
	graphApiBaseUrl?: string;
	graphApiVersion?: string;
}

/** Options collection of the node. */
export interface CaptureOptions {
	messageTypes?: string[];
	statusKinds?: string[];
	fields?: string[];
	mediaAttempts?: number;
	mediaRetryDelayMs?: number;
	twilioSignatureUrl?: string;
}

/**
 * `webhook()` of the trigger. Meta: `GET` answers the handshake, `POST` verifies
 * `X-Hub-Signature-256`, normalizes, filters, downloads media, optionally seals, and emits items.
 * Twilio: see {@link twilioWebhook}.
 */
export async function captureWebhook(this: IWebhookFunctions): Promise<IWebhookResponseData> {
	if (this.getNodeParameter('provider', 'metaCloud') === 'twilio') {
		return await twilioWebhook.call(this);
	}
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
	const rawBody: unknown = (req as { rawBody?: unknown }).rawBody;
	if (!Buffer.isBuffer(rawBody)) {
		this.logger.warn('WhatsApp Capture Trigger: request has no raw body; refused (401)');
		res.status(401).json({ error: 'raw body unavailable' });
		return { noWebhookResponse: true };
	}

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
	const options = this.getNodeParameter('options', {}) as CaptureOptions;
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

/**
 * Shared tail of both providers: filters, builds (and seals) items, answers 200 without execution when
 * every record was filtered out, and 500 (so the sender retries) when sealing is misconfigured.
 */
export async function emit(
	this: IWebhookFunctions,
	input: {
		records: CaptureRecord[];
		rawBody: Buffer;
		contentType?: string;
		options: CaptureOptions;
		media?: MediaSettings;
		indexKey?: string;
	},
): Promise<IWebhookResponseData> {
	const res = this.getResponseObject();
	const { kept, dropped } = filterRecords(input.records, input.options);
	if (kept.length === 0) {
		// Every record was filtered out on purpose: acknowledge, start no execution.
		res.status(200).type('text/plain').send('');
		return { noWebhookResponse: true };
	}

	let seal: SealSettings | undefined;
	if (this.getNodeParameter('encryptAtCapture', false) === true) {
		try {
			seal = await sealSettings.call(this, input.indexKey);
		} catch (error) {
			// Fail closed: never emit plaintext when encryption was asked for; the sender retries.
			this.logger.error(`WhatsApp Capture Trigger: cannot encrypt at capture: ${(error as Error).message}`);
			res.status(500).json({ error: 'capture encryption is not configured' });
			return { noWebhookResponse: true };
		}
	}

	const outputMode = this.getNodeParameter('outputMode', 'perRecord') === 'perDelivery' ? 'perDelivery' : 'perRecord';
	const items = await buildItems.call(this, {
		records: kept,
		outputMode,
		rawBody: input.rawBody,
		filteredOut: dropped,
		contentType: input.contentType,
		media: input.media,
		seal,
	});
	return { workflowData: [items.map((item) => ({ ...item, json: item.json as IDataObject }))] };
}

/** Recipients (OpenPGP Public Keys credential, pinned fingerprints) and the index key. */
async function sealSettings(this: IWebhookFunctions, indexKey: string | undefined): Promise<SealSettings> {
	if (typeof indexKey !== 'string' || indexKey.length < 16) {
		throw new Error('the capture credential has no Index Key of at least 16 characters');
	}
	// the gnupg profile: the trigger's ciphertext must be readable by GnuPG 2.2
	const recipients = await credentialPublicKeys.call(this, { profile: 'gnupg' });
	return { recipients, indexKey };
}
