/**
 * Coexistence history sync: chunks of past messages become `message` records of their original time,
 * keyed like the live capture of the same message (stored once); each chunk's progress is a
 * `history_progress` record; a declined sync is kept with its error.
 */
import { randomBytes } from 'node:crypto';

import { objectKeyForRecord, recordFiling } from '../../../lib/archive';
import { normalizeDelivery, type CaptureRecord } from '../../../lib/capture';
import { fixtureBody, GRAPH_API_VERSION, RECEIVED_AT } from './fixtures';

const INDEX_KEY = randomBytes(32).toString('hex');
const metadata = { display_phone_number: '15550100999', phone_number_id: '106000000000002' };
const normalize = (body: Buffer, receivedAt = RECEIVED_AT): CaptureRecord[] =>
	normalizeDelivery({ rawBody: body, receivedAt, signatureVerified: true, graphApiVersion: GRAPH_API_VERSION });
const delivery = (field: string, value: Record<string, unknown>) =>
	Buffer.from(JSON.stringify({ object: 'whatsapp_business_account', entry: [{ id: '102000000000001', changes: [{ field, value: { messaging_product: 'whatsapp', metadata, ...value } }] }] }));
const chunk = (messages: unknown[], thread = '15550100123') => delivery('history', { history: [{ metadata: { phase: 0, chunk_order: 1, progress: 100 }, threads: [{ id: thread, messages }] }] });
const key = (record: CaptureRecord) => objectKeyForRecord({ indexKey: INDEX_KEY, prefix: 'archive', retentionClass: 'default', record }).key;

describe('history chunks', () => {
	const [progress, inbound, outbound, placeholder] = normalize(fixtureBody('history-chunk'));

	it('the chunk progress first: phase, chunk order, progress and what it carries', () => {
		expect(progress.record_kind).toBe('history_progress');
		expect(progress.type).toBe('progress');
		expect(progress.content).toEqual({ phase: 1, chunk_order: 2, progress: 55, threads: 2, messages: 3 });
		expect(progress.raw).toEqual({ metadata: { phase: 1, chunk_order: 2, progress: 55 } });
	});

	it('each message at its original time, filed by it; the thread user is the counterparty both ways', () => {
		expect([inbound, outbound, placeholder].map((r) => [r.record_kind, r.direction, r.timestamp, r.filed_by, r.counterparty.wa_id])).toEqual([
			['message', 'inbound', '2025-10-15T08:00:00.000Z', 'timestamp', '15550100127'],
			['message', 'outbound', '2025-10-15T08:05:00.000Z', 'timestamp', '15550100127'],
			['message', 'inbound', '2025-07-10T08:00:00.000Z', 'timestamp', '15550100128'],
		]);
		expect(key(inbound)).toContain('/2025/10/15/');
		expect(key(placeholder)).toContain('/2025/07/10/');
		expect(inbound.content).toEqual({ body: 'Can I move my appointment to Friday?', extra: { history_context: { status: 'READ' } } });
		// the record holds its message, not the whole chunk
		expect(inbound.raw).toEqual(JSON.parse(fixtureBody('history-chunk').toString()).entry[0].changes[0].value.history[0].threads[0].messages[0]);
	});

	it('a media placeholder has a key apart, so the later history webhook with its media id is stored too', () => {
		expect(placeholder.type).toBe('media_placeholder');
		expect(placeholder.idempotency_key).toBe(`106000000000002:${placeholder.wamid}:placeholder`);
		const [, media] = normalize(chunk([{ from: '15550100128', id: placeholder.wamid, timestamp: '1752134400', type: 'image', image: { id: '1555010000000901', mime_type: 'image/jpeg', sha256: 'abc' } }], '15550100128'));
		expect(media.idempotency_key).toBe(`106000000000002:${placeholder.wamid}`);
		expect(key(media)).not.toBe(key(placeholder));
	});

	it('a message captured live and again by the sync gets the same idempotency key and object key', () => {
		const wamid = 'wamid.HBgLMTU1NTAxMDAxMjMVAgASGBRMSVZFQU5ESElTVE9SWTAwMQA=';
		const [live] = normalize(delivery('messages', {
			contacts: [{ profile: { name: 'Dana Example' }, wa_id: '15550100123', user_id: 'US.13491208655302741918' }],
			messages: [{ from: '15550100123', from_user_id: 'US.13491208655302741918', id: wamid, timestamp: '1767250000', type: 'text', text: { body: 'hi' } }],
		}));
		// the sync comes days later, with the device's own time for the same message
		const [, synced] = normalize(chunk([{ from: '15550100123', id: wamid, timestamp: '1767249990', type: 'text', text: { body: 'hi' } }]), new Date('2026-01-04T09:00:00.000Z'));
		expect(synced.idempotency_key).toBe(live.idempotency_key);
		expect(key(synced)).toBe(key(live));
	});

	it('device and server times on either side of midnight: the live copy\'s day is among the days checked', () => {
		const [, synced] = normalize(chunk([{ from: '15550100123', id: 'wamid.M', timestamp: String(Date.UTC(2025, 11, 31, 23, 59, 50) / 1000), type: 'text', text: { body: 'x' } }]));
		const filing = recordFiling(synced);
		expect(filing.date.toISOString().slice(0, 10)).toBe('2025-12-31');
		expect(filing.otherDates.map((d) => d.toISOString().slice(0, 10))).toEqual(['2026-01-01', '2025-12-30']);
		// a live record filed by its time checks no other day (nothing changes for live keys)
		expect(recordFiling({ ...synced, field: 'messages' }).otherDates).toEqual([]);
	});

	it('older than 195 days before the receipt: filed by the receipt, its own day still checked', () => {
		const [, old] = normalize(chunk([{ from: '15550100123', id: 'wamid.OLD', timestamp: String(Date.UTC(2025, 5, 1) / 1000), type: 'text', text: { body: 'x' } }]));
		expect(old.filed_by).toBe('received_at');
		expect(recordFiling(old).otherDates.map((d) => d.toISOString().slice(0, 10))).toContain('2025-06-01');
		const [, recent] = normalize(chunk([{ from: '15550100123', id: 'wamid.NEW', timestamp: String(Date.UTC(2025, 5, 21) / 1000), type: 'text', text: { body: 'x' } }]));
		expect(recent.filed_by).toBe('timestamp');
	});

	it('a declined sync: one history_progress record of type error keeping code 2593109', () => {
		const [declined, ...rest] = normalize(fixtureBody('history-declined'));
		expect(rest).toEqual([]);
		expect(declined.record_kind).toBe('history_progress');
		expect(declined.type).toBe('error');
		expect((declined.content as { errors: Array<{ code: number }> }).errors[0].code).toBe(2593109);
	});

	it('a chunk of 3000 messages: 3001 records whose total size stays linear in the chunk', () => {
		const messages = Array.from({ length: 3000 }, (_, n) => ({ from: '15550100123', id: `wamid.H${n}`, timestamp: String(1767250000 - n * 60), type: 'text', text: { body: `message ${n}` } }));
		const body = chunk(messages);
		const out = normalize(body);
		expect(out).toHaveLength(3001);
		expect(new Set(out.map((r) => r.idempotency_key)).size).toBe(3001);
		expect(Buffer.byteLength(JSON.stringify(out))).toBeLessThan(body.length * 20);
	});
});
