import type { IDataObject, IWebhookFunctions, IWebhookResponseData } from 'n8n-workflow';

import type { CaptureRecord } from '../../lib/capture';
import { captureItems, sizeRefusal, type CaptureOptions, type MediaSettings } from './capture';
import { archiveItems, archivesAtCapture } from './captureArchive';

/** Which capture trigger emits: its name in warnings, and the credentials that hold its Index Key. */
export interface CaptureSource {
	/** e.g. `WhatsApp Capture Trigger`. */
	trigger: string;
	/** e.g. `WhatsApp Capture or Twilio WhatsApp`. */
	indexKeyCredential: string;
}

/** The WhatsApp Capture Trigger (both providers). */
export const WHATSAPP_CAPTURE: CaptureSource = { trigger: 'WhatsApp Capture Trigger', indexKeyCredential: 'WhatsApp Capture or Twilio WhatsApp' };

/**
 * Shared tail of every capture trigger and provider: the items of `nodes/shared/capture.ts`, answered as a trigger does:
 * 200 without execution when every record was filtered out, 500 (so the sender retries) when Encrypt
 * at Capture is misconfigured, else the items start the workflow. With Archive at Capture
 * (`archive.ts`) the records are stored first: 200 without execution when all were, else the records
 * not stored start the workflow, answered after it.
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
		/** Default {@link WHATSAPP_CAPTURE}. */
		source?: CaptureSource;
	},
): Promise<IWebhookResponseData> {
	const source = input.source ?? WHATSAPP_CAPTURE;
	const res = this.getResponseObject();
	const archive = archivesAtCapture.call(this);
	const outcome = await captureItems.call(this, {
		...input,
		outputMode: this.getNodeParameter('outputMode', 'perRecord') === 'perDelivery' ? 'perDelivery' : 'perRecord',
		encryptAtCapture: this.getNodeParameter('encryptAtCapture', false) === true,
		indexKeyCredential: source.indexKeyCredential,
		source: source.trigger,
		keepCiphertext: archive,
	});
	if (outcome.filteredOut) {
		// Every record was filtered out on purpose: acknowledge, start no execution.
		res.status(200).type('text/plain').send('');
		return { noWebhookResponse: true };
	}
	if (outcome.encryptionError !== undefined) {
		// Fail closed: never emit plaintext when encryption was asked for; the sender retries.
		this.logger.error(`${source.trigger}: cannot encrypt at capture: ${outcome.encryptionError}`);
		res.status(500).json({ error: 'capture encryption is not configured' });
		return { noWebhookResponse: true };
	}
	let items = outcome.items;
	if (outcome.ciphertexts) {
		items = (await archiveItems.call(this, outcome.items, outcome.ciphertexts, source.trigger)).items;
		if (items.length === 0) {
			// Every record is in the archive: acknowledge, start no execution.
			res.status(200).type('text/plain').send('');
			return { noWebhookResponse: true };
		}
	}
	return { workflowData: [items.map((item) => ({ ...item, json: item.json as IDataObject }))] };
}

/**
 * The raw body bytes of the request (n8n keeps them for webhooks), which every signature is computed
 * over. Refused here, before any signature work, and null returned: without them (401), or above
 * Options → Max Body Size (413, see `sizeRefusal`). The body is never logged, only its length.
 */
export function rawBodyOf(this: IWebhookFunctions, trigger: string, options: CaptureOptions): Buffer | null {
	const rawBody: unknown = (this.getRequestObject() as { rawBody?: unknown }).rawBody;
	if (!Buffer.isBuffer(rawBody)) {
		this.logger.warn(`${trigger}: request has no raw body; refused (401)`);
		this.getResponseObject().status(401).json({ error: 'raw body unavailable' });
		return null;
	}
	const tooLarge = sizeRefusal(rawBody, options);
	if (tooLarge) {
		this.logger.warn(
			`${trigger}: delivery refused (413): ${tooLarge.reason}; raise the option if your provider sends larger deliveries`,
		);
		this.getResponseObject().status(413).json({ error: 'body too large' });
		return null;
	}
	return rawBody;
}
