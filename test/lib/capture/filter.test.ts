import { filterRecords, normalizeDelivery } from '../../../lib/capture';
import { RECEIVED_AT } from './fixtures';

const metadata = { display_phone_number: '15550100999', phone_number_id: '106000000000002' };
const body = Buffer.from(
	JSON.stringify({
		object: 'whatsapp_business_account',
		entry: [
			{
				id: 'W',
				changes: [
					{
						field: 'messages',
						value: {
							metadata,
							messages: [
								{ from: '1', id: 'wamid.T', type: 'text', text: { body: 'x' } },
								{ from: '1', id: 'wamid.I', type: 'image', image: { id: 'm' } },
								{ from: '1', id: 'wamid.N', type: 'new_kind', new_kind: {} },
							],
							statuses: [
								{ id: 'wamid.S', status: 'sent', recipient_id: '1' },
								{ id: 'wamid.S', status: 'delivered', recipient_id: '1' },
								{ id: 'wamid.S', status: 'read', recipient_id: '1' },
							],
						},
					},
					{ field: 'message_template_status_update', value: { event: 'APPROVED' } },
					{ field: 'not_yet_documented', value: { a: 1 } },
				],
			},
		],
	}),
);
const records = normalizeDelivery({ rawBody: body, receivedAt: RECEIVED_AT, signatureVerified: true });
const summary = (list: typeof records) => list.map((r) => `${r.record_kind}:${r.type}`);

describe('filterRecords', () => {
	it('no options / empty lists keep everything', () => {
		expect(filterRecords(records)).toEqual({ kept: records, dropped: 0 });
		expect(filterRecords(records, { messageTypes: [], statusKinds: [], fields: [] }).dropped).toBe(0);
	});

	it('messageTypes narrows messages only', () => {
		const { kept, dropped } = filterRecords(records, { messageTypes: ['text'] });
		expect(dropped).toBe(2);
		expect(summary(kept)).toEqual([
			'message:text',
			'status:sent',
			'status:delivered',
			'status:read',
			'event:message_template_status_update',
			'event:unknown',
		]);
	});

	it('unknown message types are kept when "unknown" is listed', () => {
		const { kept } = filterRecords(records, { messageTypes: ['text', 'unknown'] });
		expect(summary(kept).filter((s) => s.startsWith('message:'))).toEqual(['message:text', 'message:unknown']);
	});

	it('statusKinds drops the unlisted statuses only (e.g. leave out sent/delivered)', () => {
		const { kept, dropped } = filterRecords(records, { statusKinds: ['read', 'failed'] });
		expect(dropped).toBe(2);
		expect(summary(kept)).toEqual([
			'message:text',
			'message:image',
			'message:unknown',
			'status:read',
			'event:message_template_status_update',
			'event:unknown',
		]);
	});

	it('fields keeps records of the listed fields; undocumented fields match "unknown"', () => {
		expect(summary(filterRecords(records, { fields: ['message_template_status_update'] }).kept)).toEqual([
			'event:message_template_status_update',
		]);
		expect(summary(filterRecords(records, { fields: ['unknown'] }).kept)).toEqual(['event:unknown']);
	});

	it('quarantine records are never dropped', () => {
		const quarantine = normalizeDelivery({ rawBody: Buffer.from('not json'), receivedAt: RECEIVED_AT, signatureVerified: true });
		expect(filterRecords(quarantine, { fields: ['messages'], messageTypes: ['text'], statusKinds: ['read'] })).toEqual({ kept: quarantine, dropped: 0 });
	});
});
