import type { IBinaryKeyData, IDataObject, INodeExecutionData, IWebhookFunctions } from 'n8n-workflow';

import { PGP_MIME_TYPE, buildDeliveryItem, downloadMedia, mediaReference, encryptMediaStream, encryptRecord, type CaptureRecord } from '../../lib/capture';
import { safeFileName } from '../shared/binary';
import type { MediaSettings, EncryptSettings } from './types';

/** What the trigger turns into items. */
export interface ItemPlan {
	records: CaptureRecord[];
	outputMode: 'perRecord' | 'perDelivery';
	rawBody: Buffer;
	filteredOut: number;
	contentType?: string;
	media?: MediaSettings;
	encryption?: EncryptSettings;
}

/**
 * Builds the trigger's output items: downloads media (binary `media`, or `media_<record index>` per
 * delivery), then either emits the plaintext records, or — with Encrypt at Capture — one item per
 * record (or delivery) whose JSON holds only the routing fields and whose binary `data` is the
 * OpenPGP message of the full record (`record.pgp`), media encrypted as well (`media.pgp`).
 */
export async function buildItems(this: IWebhookFunctions, plan: ItemPlan): Promise<INodeExecutionData[]> {
	const mediaBinaries: Array<IBinaryKeyData[string] | undefined> = [];
	if (plan.media) {
		for (const [index, record] of plan.records.entries()) {
			mediaBinaries[index] = await attachMedia.call(this, record, plan.media, plan.encryption);
		}
	}

	if (plan.outputMode === 'perDelivery') {
		const delivery = buildDeliveryItem({
			records: plan.records,
			rawBody: plan.rawBody,
			filteredOut: plan.filteredOut,
			contentType: plan.contentType,
		});
		const binary: IBinaryKeyData = {};
		mediaBinaries.forEach((media, index) => {
			if (media) binary[`media_${index}`] = media;
		});
		if (plan.encryption) {
			const encrypted = await encryptRecord({ record: delivery, ...plan.encryption });
			binary.data = await this.helpers.prepareBinaryData(Buffer.from(encrypted.ciphertext), 'record.pgp', PGP_MIME_TYPE);
			return [{ json: encrypted.routing as unknown as IDataObject, binary }];
		}
		return [withBinary({ json: delivery as unknown as IDataObject }, binary)];
	}

	const items: INodeExecutionData[] = [];
	for (const [index, record] of plan.records.entries()) {
		const binary: IBinaryKeyData = {};
		if (mediaBinaries[index]) binary.media = mediaBinaries[index];
		if (plan.encryption) {
			const encrypted = await encryptRecord({ record, ...plan.encryption });
			binary.data = await this.helpers.prepareBinaryData(Buffer.from(encrypted.ciphertext), 'record.pgp', PGP_MIME_TYPE);
			items.push({ json: encrypted.routing as unknown as IDataObject, binary });
		} else {
			items.push(withBinary({ json: record as unknown as IDataObject }, binary));
		}
	}
	return items;
}

/**
 * Downloads the media of one record (when it is a media message), streamed into n8n's binary store,
 * encrypted on the way with Encrypt at Capture. Sets `media_status` and the other `media_*` fields on the record.
 */
async function attachMedia(
	this: IWebhookFunctions,
	record: CaptureRecord,
	media: MediaSettings,
	encryption: EncryptSettings | undefined,
): Promise<IBinaryKeyData[string] | undefined> {
	const reference = mediaReference(record);
	if (!reference) return undefined;
	if (!media.accessToken) {
		record.media_status = 'failed';
		record.media_error = 'the WhatsApp credential has no Access Token';
		return undefined;
	}
	const result = await downloadMedia({
		graph: media.graph,
		accessToken: media.accessToken,
		mediaId: reference.mediaId,
		phoneNumberId: record.phone_number_id,
		expectedSha256: reference.sha256,
		mimeType: reference.mimeType,
		attempts: media.attempts,
		backoffMs: media.backoffMs,
		consume: async (stream, info) => {
			if (encryption) {
				const ciphertext = await encryptMediaStream({ stream, recipients: encryption.recipients });
				return await this.helpers.prepareBinaryData(ciphertext, 'media.pgp', PGP_MIME_TYPE);
			}
			const fileName = safeFileName(reference.fileName || `${record.type}-${reference.mediaId}`, 'media.bin');
			return await this.helpers.prepareBinaryData(stream, fileName, info.mimeType);
		},
	});
	if (result.status === 'failed') {
		record.media_status = 'failed';
		record.media_error = result.error;
		this.logger.warn(`WhatsApp Capture Trigger: media download failed: ${result.error}`);
		return undefined;
	}
	record.media_status = 'downloaded';
	record.media_sha256 = result.sha256;
	record.media_size = result.size;
	record.media_mime_type = result.mimeType;
	record.media_sha256_verified = result.sha256Verified;
	return result.value;
}

function withBinary(item: INodeExecutionData, binary: IBinaryKeyData): INodeExecutionData {
	return Object.keys(binary).length > 0 ? { ...item, binary } : item;
}
