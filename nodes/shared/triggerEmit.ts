import type { IDataObject, IWebhookFunctions, IWebhookResponseData } from 'n8n-workflow';

import type { CaptureRecord } from '../../lib/capture';
import { archiveItems, archivesAtCapture } from './archiveAtCapture';
import { captureItems, sizeRefusal, type CaptureOptions, type MediaSettings, type ProviderMedia } from './capture';

/**
 * Shared tail of the capture triggers (WhatsApp's Meta and Twilio providers, Telegram): the items
 * of `capture.ts`, answered as a trigger does: 200 without execution when every record was filtered
 * out, 500 (so the sender retries) when Encrypt at Capture is misconfigured, else the items start the
 * workflow. With Archive at Capture (`archiveAtCapture.ts`) the records are stored first: 200
 * without execution when all were, else the records not stored start the workflow, answered after it.
 */
export async function emitCapture(
	this: IWebhookFunctions,
	input: {
		records: CaptureRecord[];
		rawBody: Buffer;
		contentType?: string;
		options: CaptureOptions;
		media?: MediaSettings | ProviderMedia;
		indexKey?: string;
		/** The trigger's name in logs, e.g. `WhatsApp Capture Trigger`. */
		source: string;
		/** The credential(s) holding the Index Key, for the error, e.g. `Telegram Bot API`. */
		indexKeyCredential: string;
	},
): Promise<IWebhookResponseData> {
	const res = this.getResponseObject();
	const archive = archivesAtCapture.call(this);
	const outcome = await captureItems.call(this, {
		...input,
		outputMode: this.getNodeParameter('outputMode', 'perRecord') === 'perDelivery' ? 'perDelivery' : 'perRecord',
		encryptAtCapture: this.getNodeParameter('encryptAtCapture', false) === true,
		keepCiphertext: archive,
	});
	if (outcome.filteredOut) {
		// Every record was filtered out on purpose: acknowledge, start no execution.
		res.status(200).type('text/plain').send('');
		return { noWebhookResponse: true };
	}
	if (outcome.encryptionError !== undefined) {
		// Fail closed: never emit plaintext when encryption was asked for; the sender retries.
		this.logger.error(`${input.source}: cannot encrypt at capture: ${outcome.encryptionError}`);
		res.status(500).json({ error: 'capture encryption is not configured' });
		return { noWebhookResponse: true };
	}
	let items = outcome.items;
	if (outcome.ciphertexts) {
		items = (await archiveItems.call(this, outcome.items, outcome.ciphertexts)).items;
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
