/**
 * Groups (Meta Groups API): a group message and its statuses belong to the group's conversation (the
 * key's counterparty segment is the group), the sender or member is the record's participant, linked
 * apart from the group; group events are `group` records. 1:1 keys are unchanged.
 */
import { randomBytes } from 'node:crypto';

import { counterpartyPseudonym, identifierPseudonyms, objectKeyForRecord, recordIdentityPseudonyms, recordParticipantPseudonyms, usernamePseudonym } from '../../../lib/archive';
import { normalizeDelivery, routingFields, type CaptureRecord } from '../../../lib/capture';
import { fixtureBody, GRAPH_API_VERSION, RECEIVED_AT } from './fixtures';

const INDEX_KEY = randomBytes(32).toString('hex');
const GROUP = 'Y2FwaV9ncm91cDoxNTU1MDEwMDk5OToxMjAzNjMwMDAwMDAwMDAwMDE=';

const records = (name: string): CaptureRecord[] =>
	normalizeDelivery({ rawBody: fixtureBody(name), receivedAt: RECEIVED_AT, signatureVerified: true, graphApiVersion: GRAPH_API_VERSION });
const wa = (digits: string) => counterpartyPseudonym({ indexKey: INDEX_KEY, counterparty: { wa_id: digits, user_id: null } })!;
const uid = (bsuid: string) => counterpartyPseudonym({ indexKey: INDEX_KEY, counterparty: { wa_id: null, user_id: bsuid } })!;
const grp = (id: string) => counterpartyPseudonym({ indexKey: INDEX_KEY, counterparty: { wa_id: null, user_id: null, group_id: id } })!;
const key = (record: CaptureRecord) => objectKeyForRecord({ indexKey: INDEX_KEY, prefix: 'archive', retentionClass: 'default', record }).key;

describe('group messages and statuses', () => {
	const [message, sent, delivered, readByDana, readByOther] = records('group-message-and-statuses');

	it('a group message: the conversation is the group, the sender its participant with every identity field sent', () => {
		expect(message.record_kind).toBe('message');
		expect(message.counterparty).toEqual({ wa_id: null, user_id: null, name: null, group_id: GROUP });
		expect(message.participant).toEqual({
			wa_id: '15550100123',
			user_id: 'US.13491208655302741918',
			name: 'Dana Example',
			username: 'dana.example',
			parent_user_id: 'US.ENT.13491208655302740001',
			identity_key_hash: 'DF2lS5v2W6x=',
		});
		expect(message.idempotency_key).toBe(`106000000000002:${message.wamid}`);
	});

	it('is filed under the group, not under the sender; a 1:1 message of the same person keeps its wa: key', () => {
		expect(key(message).split('/')[6]).toBe(grp(GROUP));
		expect(key(message)).not.toContain(wa('15550100123'));
		const [oneToOne] = records('inbound-text');
		expect(key(oneToOne).split('/')[6]).toBe(wa('15550100123'));
		// the group's conversation is what a typed group id finds, in Meta's form or as group:<id>
		expect(identifierPseudonyms({ indexKey: INDEX_KEY, identifier: GROUP })).toEqual([grp(GROUP)]);
		expect(identifierPseudonyms({ indexKey: INDEX_KEY, identifier: `group:${GROUP}` })).toEqual([grp(GROUP)]);
	});

	it('links the sender among their own identifiers, never to the group', () => {
		expect(recordIdentityPseudonyms({ indexKey: INDEX_KEY, record: message })).toEqual([grp(GROUP)]);
		const participant = recordParticipantPseudonyms({ indexKey: INDEX_KEY, record: message });
		expect(participant[0]).toBe(wa('15550100123'));
		expect(participant).toEqual(expect.arrayContaining([uid('US.13491208655302741918'), uid('US.ENT.13491208655302740001'), usernamePseudonym({ indexKey: INDEX_KEY, username: 'dana.example' })]));
		expect(participant).not.toContain(grp(GROUP));
		// encrypted at capture: the same pseudonyms travel as routing fields, no plaintext
		const routing = routingFields(message, INDEX_KEY);
		expect(routing.counterparty_pseudonym).toBe(grp(GROUP));
		expect(routing.identity_pseudonyms).toBeUndefined();
		expect(routing.participant_pseudonyms).toEqual(participant);
		expect(JSON.stringify(routing)).not.toMatch(/15550100123|US\.1349|dana|Y2Fw/);
	});

	it('statuses: the group-level sent has no participant; each member has their own delivered and read', () => {
		expect([sent, delivered, readByDana, readByOther].map((r) => [r.type, r.counterparty.group_id, r.participant?.wa_id ?? null])).toEqual([
			['sent', GROUP, null],
			['delivered', GROUP, '15550100123'],
			['read', GROUP, '15550100123'],
			['read', GROUP, '15550100124'],
		]);
		expect(delivered.participant?.user_id).toBe('US.13491208655302741918');
		// two members reading the same message are two records, not a duplicate
		expect(readByDana.idempotency_key).toBe(`106000000000002:${readByDana.wamid}:read:15550100123`);
		expect(readByOther.idempotency_key).toBe(`106000000000002:${readByOther.wamid}:read:15550100124`);
		expect(sent.idempotency_key).toBe(`106000000000002:${sent.wamid}:sent`);
		expect(new Set([sent, delivered, readByDana, readByOther].map(key)).size).toBe(4);
		expect(new Set([sent, delivered, readByDana, readByOther].map((r) => key(r).split('/')[6]))).toEqual(new Set([grp(GROUP)]));
	});

	it('an echo the business sent into a group belongs to the group, with no participant', () => {
		const body = Buffer.from(
			JSON.stringify({
				object: 'whatsapp_business_account',
				entry: [{ id: '102000000000001', changes: [{ field: 'smb_message_echoes', value: { metadata: { phone_number_id: '106000000000002' }, message_echoes: [{ from: '15550100999', group_id: GROUP, id: 'wamid.GE', timestamp: '1767254400', type: 'text', text: { body: 'x' } }] } }] }],
			}),
		);
		const [echo] = normalizeDelivery({ rawBody: body, receivedAt: RECEIVED_AT, signatureVerified: true });
		expect(echo.direction).toBe('outbound');
		expect(echo.counterparty.group_id).toBe(GROUP);
		expect(echo.participant).toBeUndefined();
	});
});

describe('group events (group_lifecycle_update, group_participants_update, group_settings_update, group_status_update)', () => {
	it('one `group` record per groups[] element, typed by its type, filed under its group', () => {
		const all = ['group-lifecycle-update', 'group-participants-update', 'group-settings-update', 'group-status-update'].flatMap(records);
		expect(all.map((r) => [r.record_kind, r.field, r.type])).toEqual([
			['group', 'group_lifecycle_update', 'group_create'],
			['group', 'group_lifecycle_update', 'group_delete'],
			['group', 'group_participants_update', 'group_join_request_created'],
			['group', 'group_participants_update', 'group_participants_add'],
			['group', 'group_participants_update', 'group_participants_remove'],
			['group', 'group_settings_update', 'group_settings_update'],
			['group', 'group_status_update', 'group_suspend'],
			['group', 'group_status_update', 'group_suspend_cleared'],
		]);
		for (const record of all) expect(record.counterparty.group_id).toMatch(/^Y2FwaV9ncm91cDo/);
		expect(all[0].counterparty.name).toBe('Bond desk: Dana Example');
		expect(all[0].content).toMatchObject({ invite_link: 'https://chat.whatsapp.com/EXAMPLEINVITE01', join_approval_mode: 'approval_required' });
		expect(all[0].content).not.toHaveProperty('group_id');
		expect(all[0].timestamp).toBe('2026-01-01T06:01:40.000Z');
	});

	it('names the member a join request or an invite-link join is about; a removal keeps its lists in content', () => {
		const [request, joined, removed] = records('group-participants-update');
		expect(request.participant).toEqual({ wa_id: '15550100124', user_id: 'US.13491208655302741920', name: null });
		expect(recordParticipantPseudonyms({ indexKey: INDEX_KEY, record: joined })).toEqual([wa('15550100124'), uid('US.13491208655302741920')]);
		expect(removed.participant).toBeUndefined();
		expect(removed.content).toMatchObject({ initiated_by: 'business', removed_participants: [{ wa_id: '15550100125' }] });
	});

	it('an element type that is not a lower-case word is `unknown`, kept in content; no groups[] → an event', () => {
		const body = (value: unknown) =>
			Buffer.from(JSON.stringify({ object: 'whatsapp_business_account', entry: [{ id: 'W', changes: [{ field: 'group_status_update', value }] }] }));
		const [odd] = normalizeDelivery({ rawBody: body({ groups: [{ group_id: GROUP, type: 'Group Suspend!' }] }), receivedAt: RECEIVED_AT, signatureVerified: true });
		expect([odd.record_kind, odd.type, odd.content]).toEqual(['group', 'unknown', { type: 'Group Suspend!' }]);
		const [empty] = normalizeDelivery({ rawBody: body({ groups: 'none' }), receivedAt: RECEIVED_AT, signatureVerified: true });
		expect([empty.record_kind, empty.type]).toEqual(['event', 'group_status_update']);
	});
});
