import type { CaptureRecord, DeliveryItem, DeliveryItemOptions } from './types';

/**
 * Builds the per-delivery item of the trigger's "One Item per Delivery" mode: the delivery facts,
 * the exact body bytes (base64, so the original envelope can be re-created and archived as received),
 * and the kept records in delivery order.
 *
 * @param options.records the records to carry (after filtering); at least one.
 * @param options.rawBody the exact request body.
 * @param options.filteredOut how many records the filters removed.
 * @param options.contentType Content-Type request header, if known.
 * @returns a {@link DeliveryItem}; delivery facts are taken from the first record.
 */
export function buildDeliveryItem({
	records,
	rawBody,
	filteredOut,
	contentType,
}: DeliveryItemOptions): DeliveryItem {
	const first: CaptureRecord | undefined = records[0];
	return {
		schema_version: 1,
		delivery_sha256: first?.delivery_sha256 ?? null,
		received_at: first?.received_at ?? null,
		signature_verified: first?.signature_verified ?? false,
		graph_api_version: first?.graph_api_version ?? null,
		content_type: typeof contentType === 'string' && contentType.length > 0 ? contentType : null,
		body_base64: rawBody.toString('base64'),
		record_count: records.length,
		filtered_out_count: filteredOut,
		records,
	};
}
