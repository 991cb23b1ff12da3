import { randomBytes } from 'node:crypto';
import { PutObjectCommand, type S3Client } from '@aws-sdk/client-s3';

import { ArchiveError, getObject, listObjects, objectKeyForRecord, phoneNumberPseudonym, recordObjectKey, writeObject, type ListFilter } from '../../../lib/archive';
import { createS3Client } from '../../../lib/s3';
import { makeBucket, s3Settings } from '../../helpers/s3';

const INDEX_KEY = randomBytes(32).toString('hex');

async function collect(client: S3Client, bucket: string, filter: ListFilter, pageSize?: number) {
	const out = [];
	for await (const object of listObjects({ client, bucket, filter, pageSize })) out.push(object);
	return out;
}

async function streamToBuffer(stream: NodeJS.ReadableStream): Promise<Buffer> {
	const chunks: Buffer[] = [];
	for await (const chunk of stream) chunks.push(Buffer.from(chunk as Buffer));
	return Buffer.concat(chunks);
}

describe('getObject and listObjects against the local store', () => {
	let client: S3Client;
	let bucket: string;
	const records = [
		{ pn: '111', day: '2026-01-30', wa: '447700900001', n: 1 },
		{ pn: '111', day: '2026-01-31', wa: '447700900001', n: 2 },
		{ pn: '111', day: '2026-02-01', wa: '447700900002', n: 3 },
		{ pn: '111', day: '2026-02-02', wa: '447700900001', n: 4 },
		{ pn: '222', day: '2026-02-01', wa: '447700900001', n: 5 },
	];

	beforeAll(async () => {
		client = createS3Client(s3Settings());
		bucket = await makeBucket(client, { objectLock: true });
		for (const r of records) {
			const { key } = objectKeyForRecord({
				indexKey: INDEX_KEY,
				prefix: 'archive',
				retentionClass: r.n === 3 ? 'finra-6y' : 'default',
				record: {
					phone_number_id: r.pn,
					timestamp: `${r.day}T12:00:00Z`,
					received_at: `${r.day}T12:00:01Z`,
					counterparty: { wa_id: r.wa, user_id: null },
					idempotency_key: `${r.pn}:wamid.${r.n}`,
				},
			});
			await writeObject({ client, bucket, key, body: Buffer.from(`ciphertext ${r.n}`) });
		}
	});
	afterAll(() => client?.destroy());

	it('filters by class, phone_number_id, date range and counterparty phone number', async () => {
		expect(await collect(client, bucket, { prefix: 'archive' })).toHaveLength(5);
		expect(await collect(client, bucket, { prefix: 'archive', retentionClass: 'finra-6y' })).toHaveLength(1);
		const pn111 = await collect(client, bucket, { prefix: 'archive', retentionClass: 'default', phoneNumberId: '111' });
		expect(pn111.map((o) => o.date)).toEqual(['2026-01-30', '2026-01-31', '2026-02-02']);
		const range = await collect(client, bucket, {
			prefix: 'archive',
			retentionClass: 'default',
			phoneNumberId: '111',
			from: '2026-01-31',
			to: '2026-02-01T23:00:00Z',
		});
		expect(range.map((o) => o.date)).toEqual(['2026-01-31']);
		const pseudonym = phoneNumberPseudonym({ indexKey: INDEX_KEY, phoneNumber: '+44 7700 900001' });
		const person = await collect(client, bucket, { prefix: 'archive', pseudonym });
		expect(person.map((o) => `${o.phoneNumberId}/${o.date}`).sort()).toEqual([
			'111/2026-01-30',
			'111/2026-01-31',
			'111/2026-02-02',
			'222/2026-02-01',
		]);
		expect(person[0]).toMatchObject({ size: expect.any(Number), etag: expect.any(String), kind: 'record', pseudonym });
		await expect(collect(client, bucket, { prefix: 'archive', from: 'yesterday' })).rejects.toThrow(/from/);
	});

	it('pages through more than 1000 objects', async () => {
		const big = await makeBucket(client);
		const keys = Array.from({ length: 1005 }, (_, i) =>
			recordObjectKey({
				prefix: 'bulk',
				retentionClass: 'default',
				phoneNumberId: '333',
				date: '2026-03-01T00:00:00Z',
				pseudonym: null,
				recordId: i.toString(16).padStart(32, '0'),
			}),
		);
		for (let i = 0; i < keys.length; i += 25) {
			await Promise.all(keys.slice(i, i + 25).map((Key) => client.send(new PutObjectCommand({ Bucket: big, Key, Body: 'x' }))));
		}
		const listed = await collect(client, big, { prefix: 'bulk' });
		expect(listed.map((o) => o.key)).toEqual([...keys].sort());
		expect(await collect(client, big, { prefix: 'bulk', retentionClass: 'default', phoneNumberId: '333' }, 100)).toHaveLength(1005);
	});

	it('gets a version as a stream and detects tampering through the sha256 metadata', async () => {
		const [object] = await collect(client, bucket, { prefix: 'archive', retentionClass: 'finra-6y' });
		const got = await getObject({ client, bucket, key: object.key });
		expect(await streamToBuffer(got.body)).toEqual(Buffer.from('ciphertext 3'));
		expect(got).toMatchObject({ size: 12, versionId: expect.any(String), sha256: expect.stringMatching(/^[0-9a-f]{64}$/) });

		// a second version with forged metadata: reading it fails the integrity check
		const forged = await client.send(
			new PutObjectCommand({ Bucket: bucket, Key: object.key, Body: 'tampered', Metadata: { sha256: got.sha256! } }),
		);
		const tampered = await getObject({ client, bucket, key: object.key });
		expect(tampered.versionId).toBe(forged.VersionId);
		await expect(streamToBuffer(tampered.body)).rejects.toMatchObject({ code: 'IntegrityError' });
		// the original version is still there and readable by version id
		const original = await getObject({ client, bucket, key: object.key, versionId: got.versionId! });
		expect(await streamToBuffer(original.body)).toEqual(Buffer.from('ciphertext 3'));

		const missing = await getObject({ client, bucket, key: 'archive/none.pgp' }).catch((e: unknown) => e);
		expect(missing).toBeInstanceOf(ArchiveError);
		expect((missing as ArchiveError).code).toBe('NoSuchKey');
	});
});
