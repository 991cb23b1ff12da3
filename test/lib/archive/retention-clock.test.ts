/**
 * The retention clock (issue 16), on the local Ceph RGW store through the S3 Archive node's Write and
 * the Retention Sweeper's plan: a record's retention never starts before its receipt, a redelivered
 * record lands on the object already stored whatever the day and the JSON encoding, and quarantined
 * bodies live under their own folder.
 */
import { randomBytes } from 'node:crypto';
import type { S3Client } from '@aws-sdk/client-s3';
import type { INodeExecutionData } from 'n8n-workflow';

import { listObjects } from '../../../lib/archive';
import { escapeUnicode, normalizeDelivery, type CaptureRecord } from '../../../lib/capture';
import { routingFields } from '../../../lib/capture/encrypt';
import { planSweep } from '../../../lib/retention';
import { createS3Client } from '../../../lib/s3';
import { S3Archive } from '../../../nodes/S3Archive/S3Archive.node';
import { ciphertextShaped } from '../../helpers/ciphertext';
import { executeContext } from '../../helpers/execute-context';
import { listAllKeys, makeBucket, s3ArchiveCredential, s3Settings } from '../../helpers/s3';

const INDEX_KEY = randomBytes(32).toString('hex');
const PHONE_NUMBER_ID = '106000000000002';
const PREFIX = 'archive';
/** The shortest policy the sweeper accepts (the default floor is P1D). */
const SHORT_POLICY = { prefix: PREFIX, classes: [{ name: 'default', retention: 'P1D' }] };

const day = (date: Date) => date.toISOString().slice(0, 10).replace(/-/g, '/');

/** A Meta delivery with one inbound text message whose provider `timestamp` is `timestamp`. */
function messageDelivery(timestamp: string, wamid: string): Buffer {
	return Buffer.from(
		JSON.stringify({
			object: 'whatsapp_business_account',
			entry: [
				{
					id: '102290129340398',
					changes: [
						{
							field: 'messages',
							value: {
								messaging_product: 'whatsapp',
								metadata: { display_phone_number: '15550783881', phone_number_id: PHONE_NUMBER_ID },
								contacts: [{ profile: { name: 'Jane Roe' }, wa_id: '447700900123' }],
								messages: [{ from: '447700900123', id: wamid, timestamp, type: 'text', text: { body: 'clock test' } }],
							},
						},
					],
				},
			],
		}),
	);
}

/** A Meta delivery with one value-level error (no provider timestamp, no id); non-ASCII in its details. */
function errorDelivery(): Buffer {
	return Buffer.from(
		JSON.stringify({
			object: 'whatsapp_business_account',
			entry: [
				{
					id: '102290129340398',
					changes: [
						{
							field: 'messages',
							value: {
								messaging_product: 'whatsapp',
								metadata: { display_phone_number: '15550783881', phone_number_id: PHONE_NUMBER_ID },
								errors: [{ code: 131000, title: 'Something went wrong', error_data: { details: 'Échec — réessayez ' + randomBytes(4).toString('hex') } }],
							},
						},
					],
				},
			],
		}),
		'utf8',
	);
}

const normalize = (rawBody: Buffer, receivedAt: Date): CaptureRecord[] =>
	normalizeDelivery({ rawBody, receivedAt, signatureVerified: true, graphApiVersion: 'v24.0' });

/** The item the trigger hands to an archive write (Record → Write, Archive at Capture): plaintext record fields or routing fields encrypted at capture. */
function itemOf(record: CaptureRecord, encrypted: boolean): INodeExecutionData {
	const json = encrypted ? { ...routingFields(record, INDEX_KEY), recipient_fingerprints: [] } : { ...record };
	return {
		json: json as unknown as INodeExecutionData['json'],
		binary: { data: { data: ciphertextShaped(randomBytes(200)).toString('base64'), mimeType: 'application/pgp-encrypted' } },
	};
}

describe('retention clock on the local store', () => {
	let client: S3Client;
	let bucket: string;
	const node = new S3Archive();

	/** Record → Write of the S3 Archive node; returns each item's archive result. */
	const write = async (items: INodeExecutionData[]) => {
		const context = executeContext({
			nodeType: node,
			parameters: { resource: 'record', operation: 'write', binaryPropertyName: 'data', prefix: PREFIX, retentionClass: 'default', bucket: '', options: {} },
			credentials: { s3ArchiveApi: s3ArchiveCredential(bucket, INDEX_KEY) },
			items,
		});
		const output = await node.execute.call(context);
		return output[0].map((item) => item.json.archive as { status: string; key: string });
	};

	beforeAll(async () => {
		client = createS3Client(s3Settings());
		bucket = await makeBucket(client, { objectLock: true });
	});
	afterAll(() => client?.destroy());

	describe('a message whose provider timestamp is 1 (1970-01-01)', () => {
		const receivedAt = new Date();
		const [record] = normalize(messageDelivery('1', `wamid.CLOCK${randomBytes(8).toString('hex')}`), receivedAt);
		let key = '';

		it('keeps both times, flags the skew and says which clock files it', () => {
			expect(record.timestamp).toBe('1970-01-01T00:00:01.000Z');
			expect(record.received_at).toBe(receivedAt.toISOString());
			expect(record.filed_by).toBe('received_at');
			expect(record.timestamp_skew_seconds).toBe(Math.floor(receivedAt.getTime() / 1000) - 1);
		});

		it('is filed under its receipt day, plaintext and encrypted at capture alike', async () => {
			const [plain, encrypted] = await write([itemOf(record, false), itemOf(record, true)]);
			expect(plain.status).toBe('created');
			expect(plain.key).toContain(`/${PHONE_NUMBER_ID}/${day(receivedAt)}/`);
			expect(encrypted).toEqual({ ...plain, status: 'duplicate' });
			key = plain.key;
		});

		it('is not deleted by a sweep under a short policy', async () => {
			const plan = await planSweep({ client, bucket, policy: SHORT_POLICY, matters: [] });
			expect(plan.deletions.map((d) => d.key)).toEqual([]);
			expect(key).not.toBe('');
		});
	});

	it('a message Meta delivered 7 days late keeps its own date, and its retention still starts at its receipt', async () => {
		const lateBucket = await makeBucket(client, { objectLock: true });
		const receivedAt = new Date();
		const sentAt = Math.floor(receivedAt.getTime() / 1000) - 7 * 86_400 + 3600;
		const [record] = normalize(messageDelivery(String(sentAt), `wamid.LATE${randomBytes(8).toString('hex')}`), receivedAt);
		expect(record.filed_by).toBe('timestamp');
		const context = executeContext({
			nodeType: node,
			parameters: { resource: 'record', operation: 'write', binaryPropertyName: 'data', prefix: PREFIX, retentionClass: 'default', bucket: '', options: {} },
			credentials: { s3ArchiveApi: s3ArchiveCredential(lateBucket, INDEX_KEY) },
			items: [itemOf(record, true)],
		});
		const [archive] = (await node.execute.call(context))[0].map((item) => item.json.archive as { key: string });
		expect(archive.key).toContain(`/${day(new Date(sentAt * 1000))}/`);
		const plan = await planSweep({ client, bucket: lateBucket, policy: SHORT_POLICY, matters: [] });
		expect(plan.deletions.map((d) => d.key)).toEqual([]);
		// the clock runs from the receipt: a period and a day later the record is due
		const later = await planSweep({ client, bucket: lateBucket, policy: SHORT_POLICY, matters: [], now: new Date(receivedAt.getTime() + 3 * 86_400_000) });
		expect(later.deletions.map((d) => d.key)).toEqual([archive.key]);
	});

	it.each([
		['plaintext', false],
		['encrypted at capture', true],
	])('a timestamp-less record redelivered across UTC midnight maps to one object (%s)', async (_label, encrypted) => {
		const body = errorDelivery();
		const [first] = normalize(body, new Date('2026-12-05T23:59:50.000Z'));
		const [again] = normalize(body, new Date('2026-12-06T00:00:10.000Z'));
		const [laterInTheRetryWindow] = normalize(body, new Date('2026-12-11T09:00:00.000Z'));
		expect(first.record_kind).toBe('error');
		expect(first.timestamp).toBeNull();
		const results = await write([itemOf(first, encrypted), itemOf(again, encrypted), itemOf(laterInTheRetryWindow, encrypted)]);
		expect(results.map((r) => r.status)).toEqual(['created', 'duplicate', 'duplicate']);
		expect(new Set(results.map((r) => r.key)).size).toBe(1);
		expect(results[0].key).toContain('/2026/12/05/');
		expect((await listAllKeys(client, bucket)).filter((k) => k === results[0].key)).toHaveLength(1);
	});

	it('the same delivery sent raw and with \\u escapes (both validly signed by Meta) maps to one object', async () => {
		const raw = errorDelivery();
		const escaped = Buffer.from(escapeUnicode(raw.toString('utf8')), 'utf8');
		expect(escaped.equals(raw)).toBe(false);
		const receivedAt = new Date('2026-12-04T12:00:00.000Z');
		const [fromRaw] = normalize(raw, receivedAt);
		const [fromEscaped] = normalize(escaped, receivedAt);
		expect(fromEscaped.idempotency_key).toBe(fromRaw.idempotency_key);
		const results = await write([itemOf(fromRaw, true), itemOf(fromEscaped, false)]);
		expect(results.map((r) => r.status)).toEqual(['created', 'duplicate']);
		expect(results[1].key).toBe(results[0].key);
	});

	it('quarantined bodies live under their own _quarantine folder that List reads back', async () => {
		const [quarantine] = normalize(Buffer.from('not json at all'), new Date('2026-12-03T08:00:00.000Z'));
		expect(quarantine.record_kind).toBe('quarantine');
		const [plain, encrypted] = await write([itemOf(quarantine, false), itemOf(quarantine, true)]);
		expect(plain.key).toMatch(new RegExp(`^${PREFIX}/default/_quarantine/2026/12/03/_unknown/[0-9a-f]{32}\\.pgp$`));
		expect(encrypted.key).toBe(plain.key);
		const listed: string[] = [];
		for await (const object of listObjects({ client, bucket, filter: { prefix: PREFIX, retentionClass: 'default', phoneNumberId: '_quarantine', from: '2026-12-01', to: '2026-12-31' } })) listed.push(object.key);
		expect(listed).toEqual([plain.key]);
	});
});
