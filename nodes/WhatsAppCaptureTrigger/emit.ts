import type { IDataObject, IWebhookFunctions, IWebhookResponseData } from 'n8n-workflow';

import { assertIndexKey } from '../../lib/archive';
import { filterRecords, type CaptureRecord } from '../../lib/capture';
import { credentialPublicKeys } from '../shared/credentials';
import { buildItems } from './items';
import type { CaptureOptions, MediaSettings, EncryptSettings } from './types';

/**
 * Shared tail of both providers: filters, builds (and encrypts) items, answers 200 without execution
 * when every record was filtered out, and 500 (so the sender retries) when Encrypt at Capture is
 * misconfigured.
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

	let encryption: EncryptSettings | undefined;
	if (this.getNodeParameter('encryptAtCapture', false) === true) {
		try {
			encryption = await encryptSettings.call(this, input.indexKey);
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
		encryption,
	});
	return { workflowData: [items.map((item) => ({ ...item, json: item.json as IDataObject }))] };
}

/** Recipients (OpenPGP Public Keys credential, pinned fingerprints) and the index key. */
async function encryptSettings(this: IWebhookFunctions, indexKey: string | undefined): Promise<EncryptSettings> {
	const key = assertIndexKey(indexKey, 'WhatsApp Capture or Twilio WhatsApp');
	// the gnupg profile: the trigger's ciphertext must be readable by GnuPG 2.2
	const recipients = await credentialPublicKeys.call(this, { profile: 'gnupg' });
	return { recipients, indexKey: key };
}

/** Default of Options → Max Body Size (MiB): Meta documents webhook payloads of up to 3 MB. */
export const DEFAULT_MAX_BODY_SIZE_MB = 3;

/** Options → Max Body Size in bytes (default {@link DEFAULT_MAX_BODY_SIZE_MB} MiB). */
export function maxBodyBytes(options: CaptureOptions): number {
	const mb = Number(options.maxBodySizeMb ?? DEFAULT_MAX_BODY_SIZE_MB);
	return Math.floor((Number.isFinite(mb) && mb > 0 ? mb : DEFAULT_MAX_BODY_SIZE_MB) * 1024 * 1024);
}

/**
 * The raw body bytes of the request (n8n keeps them for webhooks), which every signature is computed
 * over. Refused here, before any signature work, and null returned: without them (401), or above
 * `maxBytes` (413 Content Too Large, RFC 9110 §15.5.14: the size is known before authentication, and an
 * honest sender whose delivery outgrows the option sees why in its delivery log). The body is never
 * logged, only its length.
 */
export function rawBodyOf(this: IWebhookFunctions, trigger: string, maxBytes: number): Buffer | null {
	const rawBody: unknown = (this.getRequestObject() as { rawBody?: unknown }).rawBody;
	if (!Buffer.isBuffer(rawBody)) {
		this.logger.warn(`${trigger}: request has no raw body; refused (401)`);
		this.getResponseObject().status(401).json({ error: 'raw body unavailable' });
		return null;
	}
	if (rawBody.length > maxBytes) {
		this.logger.warn(
			`${trigger}: delivery refused (413): its body of ${rawBody.length} bytes exceeds Options → Max Body Size (${maxBytes} bytes); raise the option if your provider sends larger deliveries`,
		);
		this.getResponseObject().status(413).json({ error: 'body too large' });
		return null;
	}
	return rawBody;
}
