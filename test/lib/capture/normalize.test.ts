import { createHash } from 'node:crypto';
import canonicalize from 'canonicalize';

import { normalizeDelivery } from '../../../lib/capture';
import { MAX_NESTING_DEPTH, nestingExceeds } from '../../../lib/capture/normalize';
import type { CaptureRecord } from '../../../lib/capture';
import {
	deliveryFixtures,
	expectedRecords,
	fixtureBody,
	GRAPH_API_VERSION,
	RECEIVED_AT,
} from './fixtures';

const normalize = (rawBody: Buffer, extra: { contentType?: string } = {}) =>
	normalizeDelivery({
		rawBody,
		receivedAt: RECEIVED_AT,
		signatureVerified: true,
		graphApiVersion: GRAPH_API_VERSION,
		...extra,
	});

const json = (value: unknown) => Buffer.from(JSON.stringify(value));

const envelope = (entry: unknown[]) => ({ object: 'whatsapp_business_account', entry });

const metadata = { display_phone_number: '15550100999', phone_number_id: '106000000000002' };

describe('normalizeDelivery: fixtures', () => {
	it('finds the delivery fixtures', () => {
		expect(deliveryFixtures.length).toBeGreaterThanOrEqual(10);
	});

	it.each(deliveryFixtures)('%s → the checked-in records', (name) => {
		const records = normalize(fixtureBody(name));
		expect(JSON.parse(JSON.stringify(records))).toEqual(expectedRecords(name, records));
	});

	/** The element a position names, e.g. `entry[0].changes[0].history[0].threads[1].messages[0]` (a change's elements are in its value). */
	const at = (parsed: unknown, position: string): unknown =>
		[...position.matchAll(/(\w+)\[(\d+)\]/g)].reduce<unknown>((node, [, key, index]) => {
			const element = (node as Record<string, unknown[]>)[key][Number(index)];
			return key === 'changes' ? (element as { value: unknown }).value : element;
		}, parsed);

	it.each(deliveryFixtures)('%s → raw is the very change.value object (the element for history and contact sync), sha256 of the bytes', (name) => {
		const body = fixtureBody(name);
		const records = normalize(body);
		const parsed = JSON.parse(body.toString('utf8'));
		const sha = createHash('sha256').update(body).digest('hex');
		for (const record of records) {
			expect(record.delivery_sha256).toBe(sha);
			const [, e, c] = /^entry\[(\d+)\]\.changes\[(\d+)\]/.exec(record.position)!;
			if (record.field === 'history' && record.record_kind === 'history_progress') {
				const { threads: _threads, ...chunk } = at(parsed, record.position) as Record<string, unknown>;
				expect(record.raw).toEqual(chunk);
			} else if (record.field === 'history' || record.field === 'smb_app_state_sync') {
				expect(record.raw).toEqual(at(parsed, record.position));
			} else {
				expect(record.raw).toEqual(parsed.entry[Number(e)].changes[Number(c)].value);
			}
		}
	});
});

describe('normalizeDelivery: batch', () => {
	const message = (n: number, type = 'text') => ({
		from: '15550100123',
		id: `wamid.M${n}`,
		timestamp: String(1767254400 + n),
		type,
		text: { body: `m${n}` },
	});
	const status = (n: number, value: string) => ({
		id: `wamid.S${n}`,
		status: value,
		timestamp: String(1767254500 + n),
		recipient_id: '15550100123',
	});
	const body = json(
		envelope([
			{
				id: 'WABA-1',
				changes: [
					{ field: 'messages', value: { messaging_product: 'whatsapp', metadata, messages: [message(1), message(2), message(3)] } },
					{ field: 'messages', value: { messaging_product: 'whatsapp', metadata, statuses: [status(1, 'sent'), status(1, 'delivered')] } },
				],
			},
			{
				id: 'WABA-2',
				changes: [
					{ field: 'messages', value: { messaging_product: 'whatsapp', metadata, messages: [message(4)], statuses: [status(2, 'read')] } },
					{ field: 'message_template_status_update', value: { event: 'APPROVED', message_template_id: 1 } },
				],
			},
		]),
	);

	it('2 entries × 2 changes → one record per message, status and event, in delivery order', () => {
		const records = normalize(body);
		expect(records).toHaveLength(8);
		expect(records.map((r) => [r.record_kind, r.type, r.waba_id, r.position])).toEqual([
			['message', 'text', 'WABA-1', 'entry[0].changes[0].messages[0]'],
			['message', 'text', 'WABA-1', 'entry[0].changes[0].messages[1]'],
			['message', 'text', 'WABA-1', 'entry[0].changes[0].messages[2]'],
			['status', 'sent', 'WABA-1', 'entry[0].changes[1].statuses[0]'],
			['status', 'delivered', 'WABA-1', 'entry[0].changes[1].statuses[1]'],
			['message', 'text', 'WABA-2', 'entry[1].changes[0].messages[0]'],
			['status', 'read', 'WABA-2', 'entry[1].changes[0].statuses[0]'],
			['event', 'message_template_status_update', 'WABA-2', 'entry[1].changes[1]'],
		]);
	});

	it('idempotency keys: phone_number_id:wamid, phone_number_id:wamid:status, jcs:…:position', () => {
		const records = normalize(body);
		// RFC 8785 canonical form of the parsed body, not its bytes (a \u-escaped resend is the same record).
		const sha = createHash('sha256').update(canonicalize(JSON.parse(body.toString('utf8')))!).digest('hex');
		expect(records.map((r) => r.idempotency_key)).toEqual([
			'106000000000002:wamid.M1',
			'106000000000002:wamid.M2',
			'106000000000002:wamid.M3',
			'106000000000002:wamid.S1:sent',
			'106000000000002:wamid.S1:delivered',
			'106000000000002:wamid.M4',
			'106000000000002:wamid.S2:read',
			`jcs:${sha}:entry[1].changes[1]`,
		]);
		expect(new Set(records.map((r) => r.idempotency_key)).size).toBe(records.length);
	});

	it('value-level errors[] → one error record each, echoes → outbound messages', () => {
		const records = normalize(
			json(
				envelope([
					{
						id: 'W',
						changes: [
							{
								field: 'messages',
								value: {
									messaging_product: 'whatsapp',
									metadata,
									errors: [
										{ code: 131000, title: 'Something went wrong' },
										{ code: 368, title: 'Temporarily blocked' },
									],
								},
							},
							{
								field: 'smb_message_echoes',
								value: {
									messaging_product: 'whatsapp',
									metadata,
									message_echoes: [
										{ from: '15550100999', to: '15550100123', id: 'wamid.E1', timestamp: '1767254700', type: 'image', image: { id: '1', mime_type: 'image/jpeg', sha256: 'x' } },
									],
								},
							},
						],
					},
				]),
			),
		);
		expect(records.map((r) => [r.record_kind, r.type, r.direction])).toEqual([
			['error', 'error', null],
			['error', 'error', null],
			['message', 'image', 'outbound'],
		]);
		expect(records[0].content).toEqual({ code: 131000, title: 'Something went wrong' });
		expect(records[2].counterparty).toEqual({ wa_id: '15550100123', user_id: null, name: null });
	});
});

describe('normalizeDelivery: quarantine', () => {
	it('a body that is not JSON → one quarantine record carrying the bytes', () => {
		const body = Buffer.from('hello=world&x=1');
		const [record, ...rest] = normalize(body, { contentType: 'application/x-www-form-urlencoded' });
		expect(rest).toHaveLength(0);
		expect(record.record_kind).toBe('quarantine');
		expect(record.type).toBe('quarantine');
		expect(record.content).toEqual({ reason: 'not_json', body_bytes: body.length });
		expect(record.raw).toEqual({
			body_base64: body.toString('base64'),
			content_type: 'application/x-www-form-urlencoded',
		});
		expect(Buffer.from((record.raw as { body_base64: string }).body_base64, 'base64')).toEqual(body);
		expect(record.idempotency_key).toBe(`sha256:${record.delivery_sha256}:body`);
	});

	it('invalid UTF-8 and truncated JSON → quarantine', () => {
		expect(normalize(Buffer.from([0x7b, 0xff, 0xfe, 0x7d]))[0].record_kind).toBe('quarantine');
		expect(normalize(Buffer.from('{"object":"whatsapp_business_account","entry":['))[0].content).toMatchObject({ reason: 'not_json' });
		expect(normalize(Buffer.alloc(0))[0].content).toMatchObject({ reason: 'not_json' });
	});

	it.each([
		['an array', [1, 2]],
		['another object type', { object: 'page', entry: [] }],
		['an envelope without entry[]', { object: 'whatsapp_business_account' }],
		['a string', 'whatsapp_business_account'],
		['null', null],
	])('%s → quarantine not_envelope', (_label, value) => {
		const records = normalize(json(value));
		expect(records).toHaveLength(1);
		expect(records[0].record_kind).toBe('quarantine');
		expect(records[0].content).toMatchObject({ reason: 'not_envelope' });
		expect(records[0].raw).toEqual({ body_base64: json(value).toString('base64') });
	});

	it('an envelope with no entries → quarantine empty_envelope (the body is still archived)', () => {
		expect(normalize(json(envelope([])))[0].content).toMatchObject({ reason: 'empty_envelope' });
	});

	// A message element sits at level 8 (envelope, entry[], entry, changes[], change, value, messages[],
	// message); `extra` adds `levels` arrays below it: total depth = 8 + levels.
	const deepDelivery = (levels: number) =>
		Buffer.from(
			`{"object":"whatsapp_business_account","entry":[{"id":"W","changes":[{"field":"messages","value":{"metadata":{"phone_number_id":"106000000000002"},"messages":[{"id":"wamid.D","from":"15550100123","timestamp":"1767254400","type":"text","text":{"body":"d"},"extra":${'['.repeat(levels)}1${']'.repeat(levels)}}]}}]}]}`,
		);

	it.each([5_000, 10_000, 100_000])('a delivery nested %i levels deep → one quarantine too_deep record that serializes', (levels) => {
		const body = deepDelivery(levels);
		const records = normalize(body);
		expect(records).toHaveLength(1);
		expect(records[0].record_kind).toBe('quarantine');
		expect(records[0].content).toEqual({ reason: 'too_deep', body_bytes: body.length });
		expect(Buffer.from((records[0].raw as { body_base64: string }).body_base64, 'base64')).toEqual(body);
		expect(() => JSON.stringify(records)).not.toThrow();
		expect(() => structuredClone(records)).not.toThrow();
	});

	it(`the limit is ${MAX_NESTING_DEPTH} levels: exactly at it → normalized, one more → quarantined`, () => {
		expect(MAX_NESTING_DEPTH).toBe(512);
		const atLimit = normalize(deepDelivery(MAX_NESTING_DEPTH - 8));
		expect(atLimit.map((r) => r.record_kind)).toEqual(['message']);
		expect(normalize(deepDelivery(MAX_NESTING_DEPTH - 7))[0].content).toMatchObject({ reason: 'too_deep' });
	});

	it('nestingExceeds counts arrays and objects, scalars are level 0, and never recurses', () => {
		expect(nestingExceeds(1, 0)).toBe(false);
		expect(nestingExceeds([], 0)).toBe(true);
		expect(nestingExceeds([], 1)).toBe(false);
		expect(nestingExceeds({ a: [{ b: 1 }] }, 3)).toBe(false);
		expect(nestingExceeds({ a: [{ b: 1 }] }, 2)).toBe(true);
		expect(nestingExceeds({ a: 1, b: [[[]]] }, 3)).toBe(true);
		let deep: unknown = 0;
		for (let i = 0; i < 200_000; i++) deep = i % 2 ? [deep] : { n: deep };
		expect(nestingExceeds(deep, 512)).toBe(true);
		expect(nestingExceeds(deep, 200_000)).toBe(false);
	});
});

describe('normalizeDelivery: nothing dropped', () => {
	it('unknown message type → type unknown with its raw value', () => {
		const [record] = normalize(
			json(envelope([{ id: 'W', changes: [{ field: 'messages', value: { metadata, messages: [
				{ from: '15550100123', id: 'wamid.P', timestamp: '1767254400', type: 'poll_creation', poll_creation: { question: 'q?' } },
			] } }] }])),
		);
		expect(record.record_kind).toBe('message');
		expect(record.type).toBe('unknown');
		expect(record.content).toEqual({ original_type: 'poll_creation', value: { question: 'q?' } });
		expect(record.wamid).toBe('wamid.P');
	});

	it('unknown field → event of type unknown keeping field and value; documented field → its name', () => {
		const records = normalize(
			json(envelope([{ id: 'W', time: 1767255000, changes: [
				{ field: 'brand_new_field', value: { anything: [1, 2] } },
				{ field: 'account_update', value: { messaging_product: 'whatsapp', metadata, event: 'ACCOUNT_VIOLATION' } },
			] }])),
		);
		expect(records.map((r) => [r.record_kind, r.type, r.field])).toEqual([
			['event', 'unknown', 'brand_new_field'],
			['event', 'account_update', 'account_update'],
		]);
		expect(records[0].content).toEqual({ field: 'brand_new_field', value: { anything: [1, 2] } });
		expect(records[0].timestamp).toBe('2026-01-01T08:10:00.000Z');
		expect(records[1].phone_number_id).toBe('106000000000002');
	});

	it('malformed entries and changes are kept as events', () => {
		const records = normalize(
			json(envelope([
				'not an entry',
				{ id: 'W1' },
				{ id: 'W2', changes: [null, { field: 'messages', value: 'oops' }, { field: 'messages', value: { metadata, messages: [] } }, { field: 'messages', value: { metadata, messages: [42] } }] },
			])),
		);
		expect(records.map((r) => [r.record_kind, r.type, r.position])).toEqual([
			['event', 'unknown', 'entry[0]'],
			['event', 'unknown', 'entry[1]'],
			['event', 'unknown', 'entry[2].changes[0]'],
			['event', 'messages', 'entry[2].changes[1]'],
			['event', 'messages', 'entry[2].changes[2]'],
			['message', 'unknown', 'entry[2].changes[3].messages[0]'],
		]);
		expect(records[0].raw).toBe('not an entry');
		expect(records[5].content).toEqual({ original_type: null, value: null, extra: { value: 42 } });
	});
});

describe('normalizeDelivery: identity and content details', () => {
	const one = (message: Record<string, unknown>, contacts?: unknown[]): CaptureRecord =>
		normalize(json(envelope([{ id: 'W', changes: [{ field: 'messages', value: { metadata, ...(contacts ? { contacts } : {}), messages: [message] } }] }])))[0];

	it('username-only user: no phone, BSUID, name and username from contacts matched on user_id', () => {
		const record = one(
			{ from_user_id: 'US.1', id: 'wamid.U', timestamp: '1767254400', type: 'text', text: { body: 'x' } },
			[{ profile: { name: 'Ana', username: '@ana' }, user_id: 'US.1' }, { profile: { name: 'Other' }, wa_id: '1999', user_id: 'US.2' }],
		);
		expect(record.counterparty).toEqual({ wa_id: null, user_id: 'US.1', name: 'Ana', username: '@ana' });
	});

	it('phone only: BSUID completed from the matching contact', () => {
		const record = one(
			{ from: '15550100123', id: 'wamid.P', timestamp: '1767254400', type: 'text', text: { body: 'x' } },
			[{ profile: { name: 'Dana' }, wa_id: '15550100123', user_id: 'US.9' }],
		);
		expect(record.counterparty).toEqual({ wa_id: '15550100123', user_id: 'US.9', name: 'Dana' });
	});

	it('no contacts, no identifiers → nulls', () => {
		expect(one({ id: 'wamid.N', type: 'request_welcome' }).counterparty).toEqual({ wa_id: null, user_id: null, name: null });
	});

	it('reaction removal: empty or missing emoji → removed true', () => {
		expect(one({ from: '1', id: 'wamid.R1', type: 'reaction', reaction: { message_id: 'wamid.X', emoji: '' } }).content).toEqual({ message_id: 'wamid.X', emoji: '', removed: true });
		expect(one({ from: '1', id: 'wamid.R2', type: 'reaction', reaction: { message_id: 'wamid.X' } }).content).toEqual({ message_id: 'wamid.X', removed: true });
		expect(one({ from: '1', id: 'wamid.R3', type: 'reaction', reaction: { message_id: 'wamid.X', emoji: '❤️' } }).content).toEqual({ message_id: 'wamid.X', emoji: '❤️', removed: false });
	});

	it('edit links to the original message; revoke too', () => {
		const edit = one({ from: '1', id: 'wamid.ED', timestamp: '1767254400', type: 'edit', edit: { original_message_id: 'wamid.ORIG', message: { type: 'text', text: { body: 'new' } } } });
		expect(edit.type).toBe('edit');
		expect(edit.original_wamid).toBe('wamid.ORIG');
		expect(edit.content).toEqual({ original_message_id: 'wamid.ORIG', message: { type: 'text', text: { body: 'new' } } });
		expect(one({ from: '1', id: 'wamid.RV', type: 'revoke', revoke: { original_message_id: 'wamid.O2' } }).original_wamid).toBe('wamid.O2');
		expect(one({ from: '1', id: 'wamid.T', type: 'text', text: { body: 'x' } }).original_wamid).toBeNull();
	});

	it('media, interactive list/nfm, order, contacts, system keep the type object', () => {
		const audio = { id: 'A', mime_type: 'audio/ogg; codecs=opus', sha256: 'h', voice: true, url: 'https://lookaside.example/a' };
		expect(one({ from: '1', id: 'w1', type: 'audio', audio }).content).toEqual(audio);
		const sticker = { id: 'S', mime_type: 'image/webp', sha256: 'h', animated: true };
		expect(one({ from: '1', id: 'w2', type: 'sticker', sticker }).content).toEqual(sticker);
		const document = { id: 'D', mime_type: 'application/pdf', sha256: 'h', filename: 'a.pdf', caption: 'c' };
		expect(one({ from: '1', id: 'w3', type: 'document', document }).content).toEqual(document);
		const nfm = { type: 'nfm_reply', nfm_reply: { name: 'flow', body: 'Sent', response_json: '{"a":1}' } };
		expect(one({ from: '1', id: 'w4', type: 'interactive', interactive: nfm }).content).toEqual(nfm);
		const list = { type: 'list_reply', list_reply: { id: 'r1', title: 'T', description: 'D' } };
		expect(one({ from: '1', id: 'w5', type: 'interactive', interactive: list }).content).toEqual(list);
		const order = { catalog_id: 'C', product_items: [{ product_retailer_id: 'P', quantity: 1, item_price: 9.5, currency: 'USD' }] };
		expect(one({ from: '1', id: 'w6', type: 'order', order }).content).toEqual(order);
		const contacts = [{ name: { formatted_name: 'N' }, phones: [{ phone: '+1', wa_id: '1', type: 'CELL' }] }];
		expect(one({ from: '1', id: 'w7', type: 'contacts', contacts }).content).toEqual({ contacts });
		const system = { body: 'changed', type: 'user_changed_user_id', user_id: 'US.NEW', previous_user_id: 'US.OLD' };
		const sys = one({ id: 'w8', timestamp: '1767254400', type: 'system', system });
		expect(sys.content).toEqual(system);
		expect(sys.counterparty).toEqual({ wa_id: null, user_id: 'US.NEW', name: null });
		expect(one({ from: '1', id: 'w9', type: 'button', button: { payload: 'P', text: 'T' } }).content).toEqual({ payload: 'P', text: 'T' });
		expect(one({ from: '1', id: 'w10', type: 'request_welcome' }).content).toEqual({});
	});

	it('identity changes: system customer_changed_number / user_changed_number keep old and new identifiers', () => {
		const legacy = one({ from: '15550100123', id: 'wamid.SYS1', timestamp: '1767254400', type: 'system', system: { body: 'Dana changed from 15550100123 to 15550100777', new_wa_id: '15550100777', type: 'customer_changed_number' } });
		expect(legacy.type).toBe('system');
		expect(legacy.direction).toBe('inbound');
		expect(legacy.counterparty).toEqual({ wa_id: '15550100123', user_id: null, name: null });
		expect(legacy.content).toEqual({ body: 'Dana changed from 15550100123 to 15550100777', new_wa_id: '15550100777', type: 'customer_changed_number' });
		const current = one({ from: '15550100123', from_user_id: 'US.OLD', id: 'wamid.SYS2', timestamp: '1767254400', type: 'system', system: { body: 'changed', wa_id: '15550100777', type: 'user_changed_number', user_id: 'US.NEW', previous_user_id: 'US.OLD' } });
		expect(current.counterparty).toEqual({ wa_id: '15550100123', user_id: 'US.OLD', name: null });
		expect(current.content).toMatchObject({ wa_id: '15550100777', user_id: 'US.NEW', previous_user_id: 'US.OLD' });
		expect(current.idempotency_key).toBe('106000000000002:wamid.SYS2');
	});

	it('group message and parent BSUID are kept under content.extra', () => {
		const record = one({ from: '1', from_user_id: 'US.1', from_parent_user_id: 'US.P', group_id: 'G1', id: 'w', type: 'text', text: { body: 'x' } });
		expect(record.content).toEqual({ body: 'x', extra: { from_parent_user_id: 'US.P', group_id: 'G1' } });
	});

	it('context: reply, forwarded, referred product, referral; null without them', () => {
		const referral = { source_url: 'https://fb.example/ad', source_id: '1', source_type: 'ad', ctwa_clid: 'c' };
		const record = one({ from: '1', id: 'w', type: 'text', text: { body: 'x' }, context: { from: '2', id: 'wamid.Q', frequently_forwarded: true, forwarded: true, referred_product: { catalog_id: 'C', product_retailer_id: 'P' } }, referral });
		expect(record.context).toEqual({ reply_to: 'wamid.Q', reply_to_from: '2', forwarded: true, frequently_forwarded: true, referred_product: { catalog_id: 'C', product_retailer_id: 'P' }, referral });
		expect(one({ from: '1', id: 'w', type: 'text', text: { body: 'x' } }).context).toBeNull();
	});

	it('timestamps: epoch seconds string → ISO UTC; junk → null', () => {
		expect(one({ from: '1', id: 'w', timestamp: '1767254400', type: 'text', text: { body: 'x' } }).timestamp).toBe('2026-01-01T08:00:00.000Z');
		expect(one({ from: '1', id: 'w', timestamp: 'yesterday', type: 'text', text: { body: 'x' } }).timestamp).toBeNull();
		expect(one({ from: '1', id: 'w', type: 'text', text: { body: 'x' } }).timestamp).toBeNull();
	});

	it('statuses: played, group recipient, unknown status value kept', () => {
		const records = normalize(json(envelope([{ id: 'W', changes: [{ field: 'messages', value: { metadata, statuses: [
			{ id: 'wamid.V', status: 'played', timestamp: '1767254400', recipient_id: '15550100123' },
			{ id: 'wamid.G', status: 'read', timestamp: '1767254400', recipient_id: '120363000000000000', recipient_type: 'group', recipient_user_id: 'US.3' },
			{ id: 'wamid.Z', status: 'zapped', timestamp: '1767254400', recipient_id: '15550100123' },
		] } }] }])));
		expect(records.map((r) => r.type)).toEqual(['played', 'read', 'unknown']);
		// a group status belongs to the group; the member it is about (here known by BSUID only) is its participant
		expect(records[1].counterparty).toEqual({ wa_id: null, user_id: null, name: null, group_id: '120363000000000000' });
		expect(records[1].participant).toEqual({ wa_id: null, user_id: 'US.3', name: null });
		expect(records[1].idempotency_key).toBe('106000000000002:wamid.G:read:US.3');
		expect(records[1].content).toEqual({ status: 'read', recipient_id: '120363000000000000', recipient_type: 'group' });
		expect(records[2].content).toMatchObject({ status: 'zapped' });
		expect(records[2].idempotency_key).toBe('106000000000002:wamid.Z:zapped');
	});

	it('signature_verified and graph_api_version are copied; received_at is ISO', () => {
		const [record] = normalizeDelivery({ rawBody: fixtureBody('inbound-text'), receivedAt: RECEIVED_AT, signatureVerified: false });
		expect(record.signature_verified).toBe(false);
		expect(record.graph_api_version).toBeNull();
		expect(record.received_at).toBe('2026-01-01T08:00:00.000Z');
	});
});

describe('normalizeDelivery: size', () => {
	it('a ~3 MB delivery (2 entries × 2 changes × 3000 statuses) → 12000 records, each raw the shared change value', () => {
		const statuses = Array.from({ length: 3000 }, (_, i) => ({
			id: `wamid.HBgLMTU1NTAxMDAxMjMVAgARGBI5QTNDQTk5QjU4NzY1OTQyMzAA${i}`,
			status: 'delivered',
			timestamp: '1767254530',
			recipient_id: '15550100123',
			recipient_user_id: 'US.13491208655302741918',
			pricing: { billable: true, pricing_model: 'PMP', category: 'utility', type: 'regular' },
		}));
		const value = { messaging_product: 'whatsapp', metadata, statuses };
		const change = { field: 'messages', value };
		const body = json(envelope([{ id: 'W1', changes: [change, change] }, { id: 'W2', changes: [change, change] }]));
		expect(body.length).toBeGreaterThan(3_000_000);
		const started = Date.now();
		const records = normalize(body);
		expect(Date.now() - started).toBeLessThan(5000);
		expect(records).toHaveLength(12000);
		expect(records[11999].position).toBe('entry[1].changes[1].statuses[2999]');
		expect(records[0].raw).toBe(records[2999].raw);
		expect(new Set(records.map((r) => r.idempotency_key)).size).toBe(3000);
	});
});
