/**
 * Records of the other 2026 fields: smb_app_state_sync contacts (feeding identity links), calls,
 * user_preferences, message_template_components_update, account_settings_update; and the identity
 * fields (`username`, `parent_user_id`, `identity_key_hash`) wherever Meta sends them.
 */
import { randomBytes } from 'node:crypto';

import { counterpartyPseudonym, recordIdentityPseudonyms, usernamePseudonym } from '../../../lib/archive';
import { filterRecords, normalizeDelivery, routingFields, type CaptureRecord } from '../../../lib/capture';
import { fixtureBody, GRAPH_API_VERSION, RECEIVED_AT } from './fixtures';

const INDEX_KEY = randomBytes(32).toString('hex');
const metadata = { display_phone_number: '15550100999', phone_number_id: '106000000000002' };
const normalize = (body: Buffer): CaptureRecord[] =>
	normalizeDelivery({ rawBody: body, receivedAt: RECEIVED_AT, signatureVerified: true, graphApiVersion: GRAPH_API_VERSION });
const records = (name: string) => normalize(fixtureBody(name));
const delivery = (field: string, value: Record<string, unknown>) =>
	Buffer.from(JSON.stringify({ object: 'whatsapp_business_account', entry: [{ id: '102000000000001', changes: [{ field, value: { messaging_product: 'whatsapp', metadata, ...value } }] }] }));
const wa = (digits: string) => counterpartyPseudonym({ indexKey: INDEX_KEY, counterparty: { wa_id: digits, user_id: null } })!;
const uid = (bsuid: string) => counterpartyPseudonym({ indexKey: INDEX_KEY, counterparty: { wa_id: null, user_id: bsuid } })!;

describe('smb_app_state_sync: contacts of the WhatsApp Business app', () => {
	const [dana, eli, removed] = records('smb-app-state-sync');

	it('one contact record per state_sync element, typed by its action, the contact as counterparty', () => {
		expect([dana, eli, removed].map((r) => [r.record_kind, r.type, r.counterparty.wa_id, r.counterparty.name])).toEqual([
			['contact', 'add', '15550100123', 'Dana Example'],
			['contact', 'add', '15550100129', 'Eli Sample'],
			['contact', 'remove', '15550100125', null],
		]);
		expect(dana.timestamp).toBe('2026-01-01T06:05:00.000Z');
		expect(dana.raw).toEqual(dana.content);
	});

	it('feeds the identity links: the number, and the BSUID and username when the contact carries them', () => {
		expect(recordIdentityPseudonyms({ indexKey: INDEX_KEY, record: eli })).toEqual([
			wa('15550100129'),
			uid('US.13491208655302741929'),
			usernamePseudonym({ indexKey: INDEX_KEY, username: 'eli.sample' }),
		]);
		expect(routingFields(eli, INDEX_KEY).identity_pseudonyms).toEqual([uid('US.13491208655302741929'), usernamePseudonym({ indexKey: INDEX_KEY, username: 'eli.sample' })]);
		// a typed number with a trunk prefix or spaces is one person: its other WhatsApp forms are linked
		const [mexican] = normalize(delivery('smb_app_state_sync', { state_sync: [{ type: 'contact', contact: { full_name: 'Ana', phone_number: '+52 1 55 1234 5678' }, action: 'add', metadata: { timestamp: '1767247500' } }] }));
		expect(mexican.counterparty.wa_id).toBe('5215512345678');
		expect(recordIdentityPseudonyms({ indexKey: INDEX_KEY, record: mexican })).toEqual([wa('5215512345678'), wa('525512345678')]);
	});
});

describe('calls', () => {
	const [connect, terminate, ringing, rejected] = records('calls');

	it('who, when, direction and duration; the session description stays out of the content', () => {
		expect([connect, terminate, ringing, rejected].map((r) => [r.record_kind, r.type, r.direction, r.counterparty.wa_id])).toEqual([
			['call', 'connect', 'inbound', '15550100123'],
			['call', 'terminate', 'inbound', '15550100123'],
			['call', 'ringing', 'outbound', '15550100123'],
			['call', 'rejected', 'outbound', '15550100123'],
		]);
		expect(connect.counterparty.name).toBe('Dana Example');
		expect(connect.wamid).toMatch(/^wacid\./);
		expect(connect.content).toEqual({ event: 'connect', direction: 'USER_INITIATED' });
		expect(JSON.stringify(connect.content)).not.toContain('sdp');
		expect(terminate.content).toMatchObject({ status: 'COMPLETED', start_time: '1767247805', end_time: '1767248045', duration: 240 });
		expect(terminate.idempotency_key).toBe(`106000000000002:${terminate.wamid}:terminate`);
		expect(ringing.idempotency_key).toBe(`106000000000002:${ringing.wamid}:RINGING`);
	});

	it('without `direction` a call from the business number is outbound, to the callee', () => {
		const [call] = normalize(delivery('calls', { calls: [{ id: 'wacid.B', from: '15550100999', to: '15550100123', event: 'connect', timestamp: '1767247800' }] }));
		expect([call.direction, call.counterparty.wa_id]).toEqual(['outbound', '15550100123']);
	});
});

describe('user_preferences, template components, account settings', () => {
	it('a marketing opt-out: user_preference record of type stop, the user as counterparty', () => {
		const [stop] = records('user-preferences');
		expect([stop.record_kind, stop.type, stop.direction, stop.counterparty]).toEqual(['user_preference', 'stop', 'inbound', { wa_id: '15550100123', user_id: null, name: 'Dana Example' }]);
		expect(stop.content).toEqual({ detail: 'User requested to stop marketing messages', category: 'marketing_messages', value: 'stop' });
		expect(stop.timestamp).toBe('2026-01-01T06:15:00.000Z');
	});

	it('a template edit: template_update with the template as sent and the entry time', () => {
		const [edit] = records('template-components-update');
		expect([edit.record_kind, edit.type, edit.timestamp]).toEqual(['template_update', 'message_template_components_update', '2026-01-01T06:16:40.000Z']);
		expect(edit.content).toMatchObject({ message_template_id: 1234567890123456, message_template_name: 'kyc_reminder', message_template_footer: 'Example Bank, compliance desk' });
	});

	it('an account settings update: account_settings with the value (without metadata) as content', () => {
		const [settings] = records('account-settings-update');
		expect([settings.record_kind, settings.type, settings.phone_number_id]).toEqual(['account_settings', 'account_settings_update', '106000000000002']);
		expect(settings.content).toEqual({ type: 'calling', calling: { status: 'ENABLED', call_icon_visibility: 'DEFAULT', callback_permission_status: 'ENABLED' } });
	});

	it('the Fields filter narrows the new kinds by their field like any record', () => {
		const all = ['calls', 'user-preferences', 'smb-app-state-sync'].flatMap(records);
		const { kept, dropped } = filterRecords(all, { fields: ['calls'] });
		expect(kept.map((r) => r.record_kind)).toEqual(['call', 'call', 'call', 'call']);
		expect(dropped).toBe(4);
	});
});

describe('identity fields wherever sent', () => {
	it('message: username, parent_user_id and identity_key_hash from the contact, else the parent BSUID of the message', () => {
		const contact = { profile: { name: 'Dana', username: 'dana.example' }, wa_id: '15550100123', user_id: 'US.1', identity_key_hash: 'DF2lS5v2W6x=' };
		const [withContact] = normalize(delivery('messages', { contacts: [{ ...contact, parent_user_id: 'US.ENT.1' }], messages: [{ from: '15550100123', from_user_id: 'US.1', id: 'wamid.I1', timestamp: '1767250000', type: 'text', text: { body: 'x' } }] }));
		expect(withContact.counterparty).toEqual({ wa_id: '15550100123', user_id: 'US.1', name: 'Dana', username: 'dana.example', parent_user_id: 'US.ENT.1', identity_key_hash: 'DF2lS5v2W6x=' });
		const [fromMessage] = normalize(delivery('messages', { contacts: [contact], messages: [{ from: '15550100123', from_user_id: 'US.1', from_parent_user_id: 'US.ENT.2', id: 'wamid.I2', timestamp: '1767250000', type: 'text', text: { body: 'x' } }] }));
		expect(fromMessage.counterparty.parent_user_id).toBe('US.ENT.2');
	});

	it('status: parent_recipient_user_id and recipient_identity_key_hash; none of them changes the 1:1 key', () => {
		const [status] = normalize(delivery('messages', { statuses: [{ id: 'wamid.S', status: 'read', timestamp: '1767250000', recipient_id: '15550100123', recipient_user_id: 'US.1', parent_recipient_user_id: 'US.ENT.1', recipient_identity_key_hash: 'h=' }] }));
		expect(status.counterparty).toEqual({ wa_id: '15550100123', user_id: 'US.1', name: null, parent_user_id: 'US.ENT.1', identity_key_hash: 'h=' });
		expect(routingFields(status, INDEX_KEY).counterparty_pseudonym).toBe(wa('15550100123'));
	});
});
