import { SCHEMA_VERSION, type CaptureRecord, type DeliveryItem, type DeliveryItemOptions } from './types';

/**
 * Builds the per-delivery item of the trigger's "One Item per Delivery" mode: the delivery facts,
 * the exact body bytes (base64, so the original envelope can be re-created and archived as received),
 * and the kept records in delivery order. It carries `record_kind: "delivery"`, an
 * `idempotency_key` (`sha256:<delivery_sha256>`), its `channel`, and `phone_number_id` / `account_id`
 * (when all records share one),
 * so the S3 Archive node can file it like a record.
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
	const phoneNumberIds = new Set(records.map((record) => record.phone_number_id));
	const accountIds = new Set(records.map((record) => `${record.channel}:${record.account_id}`));
	const deliverySha256 = first?.delivery_sha256 ?? null;
	return {
		schema_version: SCHEMA_VERSION,
		record_kind: 'delivery',
		channel: first?.channel ?? 'whatsapp',
		phone_number_id: phoneNumberIds.size === 1 ? (first?.phone_number_id ?? null) : null,
		account_id: accountIds.size === 1 ? (first?.account_id ?? null) : null,
		idempotency_key: `sha256:${deliverySha256 ?? ''}`,
		delivery_sha256: deliverySha256,
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
