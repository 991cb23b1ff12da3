import { buildDeliveryItem, filterRecords, normalizeDelivery } from '../../../lib/capture';
import { fixtureBody, RECEIVED_AT } from './fixtures';

describe('buildDeliveryItem', () => {
	it('carries the delivery facts, the exact body and the kept records in order', () => {
		const rawBody = fixtureBody('location-and-reaction-batch');
		const records = normalizeDelivery({ rawBody, receivedAt: RECEIVED_AT, signatureVerified: true, graphApiVersion: 'v24.0' });
		const { kept, dropped } = filterRecords(records, { messageTypes: ['reaction'] });
		const item = buildDeliveryItem({ records: kept, rawBody, filteredOut: dropped, contentType: 'application/json' });
		expect(item).toEqual({
			schema_version: 2,
			record_kind: 'delivery',
			channel: 'whatsapp',
			phone_number_id: '106000000000002',
			account_id: null,
			idempotency_key: `sha256:${records[0].delivery_sha256}`,
			delivery_sha256: records[0].delivery_sha256,
			received_at: '2026-01-01T08:00:00.000Z',
			signature_verified: true,
			graph_api_version: 'v24.0',
			content_type: 'application/json',
			body_base64: rawBody.toString('base64'),
			record_count: 1,
			filtered_out_count: 1,
			records: [records[1]],
		});
		expect(Buffer.from(item.body_base64, 'base64').equals(rawBody)).toBe(true);
	});
});
