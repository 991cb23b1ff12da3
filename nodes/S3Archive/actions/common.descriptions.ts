import type { INodeProperties } from 'n8n-workflow';

/**
 * The record filters List and Export both take (by the parts of the object key): a date range of
 * record days, a business phone number ID and a retention class.
 */
export const recordFilters = {
	from: { displayName: 'From Date', name: 'from', type: 'dateTime', default: '', description: 'First UTC day included' },
	to: { displayName: 'To Date', name: 'to', type: 'dateTime', default: '', description: 'Last UTC day included' },
	phoneNumberId: {
		displayName: 'Phone Number ID',
		name: 'phoneNumberId',
		type: 'string',
		default: '',
		description: 'Only records captured on this WhatsApp business phone number ID, or on another channel\'s account as filed: channel-account ID, e.g. messenger-1045566778899 or sms-15550100999',
	},
	retentionClass: {
		displayName: 'Retention Class',
		name: 'retentionClass',
		type: 'string',
		default: '',
		description: 'Only this retention class (empty: all)',
	},
} satisfies Record<string, INodeProperties>;
