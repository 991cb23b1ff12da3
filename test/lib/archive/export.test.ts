/**
 * exportConversation against the local store: the checked-in records of the fixture deliveries are
 * encrypted (lib/pgp), written under the archive layout, and exported back for one counterparty
 * (the streamed files read whole here; export-stream.test.ts reads them at scale).
 */
import { randomBytes } from 'node:crypto';
import { readdirSync, readFileSync } from 'node:fs';
import path from 'node:path';
import type { S3Client } from '@aws-sdk/client-s3';
import { unzipSync } from 'fflate';

import { ArchiveError, mediaObjectKey, objectKeyForRecord, writeObject, type ArchiveRecordFields } from '../../../lib/archive';
import { createS3Client } from '../../../lib/s3';
import { encrypt, readPrivateKey, readPublicKeys, type PrivateKey } from '../../../lib/pgp';
import { exportWhole as exportConversation } from '../../helpers/export';
import { makeGpgHome, type GpgHome } from '../../helpers/gpg';
import { makeBucket, s3Settings } from '../../helpers/s3';

const EXPECTED = path.join(__dirname, '..', '..', 'fixtures', 'expected');
const INDEX_KEY = randomBytes(32).toString('hex');

type Rec = ArchiveRecordFields & Record<string, unknown>;
const fixtureRecords: Rec[] = readdirSync(EXPECTED)
	.filter((f) => f.endsWith('.records.json'))
	.sort()
	.flatMap((f) => JSON.parse(readFileSync(path.join(EXPECTED, f), 'utf8')) as Rec[]);

const DANA = '15550100123';

const byTimeThenWamid = (a: Rec, b: Rec) =>
	String(a.timestamp).localeCompare(String(b.timestamp)) || String(a.wamid).localeCompare(String(b.wamid));

describe('exportConversation (local RGW, lib/pgp)', () => {
	let client: S3Client;
	let bucket: string;
	let gpg: GpgHome;
	let wrongGpg: GpgHome;
	let decryptionKey: PrivateKey;
	let mediaKey: string;
	const media = randomBytes(64);
	const withMediaFile = (record: Rec): Rec => (record.type === 'image' ? { ...record, media_file: 'media/image-20260101-080100.jpg' } : record);
	// two messages at the same second: ordered by wamid
	const sameSecond: Rec[] = ['wamid.TIE-B', 'wamid.TIE-A'].map((wamid, n) => ({
		...fixtureRecords.find((r) => r.type === 'text' && r.direction === 'inbound' && r.counterparty?.wa_id === DANA)!,
		wamid,
		timestamp: '2026-01-01T09:00:00.000Z',
		content: { body: `tie <${n}> & "quoted"` },
		idempotency_key: `106000000000002:${wamid}`,
	}));
	const all = [...fixtureRecords, ...sameSecond];

	beforeAll(async () => {
		client = createS3Client(s3Settings());
		bucket = await makeBucket(client, { versioning: true });
		gpg = await makeGpgHome();
		wrongGpg = await makeGpgHome();
		decryptionKey = await readPrivateKey({ armoredKey: gpg.secretKeyArmored });
		const recipients = await readPublicKeys({ armoredKeys: gpg.publicKeyArmored });
		for (const record of all) {
			const placed = objectKeyForRecord({ indexKey: INDEX_KEY, prefix: 'archive', retentionClass: 'default', record });
			const { ciphertext } = await encrypt({ data: Buffer.from(JSON.stringify(record)), recipients, filename: 'record.json' });
			await writeObject({ client, bucket, key: placed.key, body: ciphertext as Uint8Array });
			if (record.type === 'image') {
				mediaKey = mediaObjectKey({
					prefix: 'archive',
					retentionClass: 'default',
					phoneNumberId: record.phone_number_id,
					date: placed.date,
					pseudonym: placed.pseudonym,
					recordId: placed.recordId,
				});
				const encrypted = await encrypt({ data: media, recipients });
				await writeObject({ client, bucket, key: mediaKey, body: encrypted.ciphertext as Uint8Array });
			}
		}
	});
	afterAll(async () => {
		client?.destroy();
		await gpg?.cleanup();
		await wrongGpg?.cleanup();
	});

	it('returns exactly the counterparty records, decrypted, in time then wamid order', async () => {
		const result = await exportConversation({
			client,
			bucket,
			prefix: 'archive',
			indexKey: INDEX_KEY,
			phoneNumber: '+1 555-010-0123',
			decryptionKeys: [decryptionKey],
		});
		const expected = all.filter((r) => r.counterparty?.wa_id === DANA).sort(byTimeThenWamid).map(withMediaFile);
		expect(expected.length).toBeGreaterThanOrEqual(9);
		expect(result.records).toEqual(expected);
		expect(result.records.map((r) => r.wamid).slice(-2)).toEqual(['wamid.TIE-A', 'wamid.TIE-B']);
		expect(result.jsonl.toString('utf8').trimEnd().split('\n').map((line) => JSON.parse(line))).toEqual(expected);
		expect(result.counts).toMatchObject({ records: expected.length, statuses: 1, media: 1 });
		expect(result.sources.find((s) => s.mediaKeys.length)?.mediaKeys).toEqual([mediaKey]);
		expect(result.period.first).toBe(expected[0].timestamp);

		const text = result.transcriptText.toString('utf8');
		expect(text).toContain('2026-01-01 08:00:00 UTC  <-  Dana Example  [text]\n    | Can you confirm the bond order for 50k?');
		expect(text).toContain('media: media/image-20260101-080100.jpg');
		expect(result.mediaFiles).toEqual([{ path: 'media/image-20260101-080100.jpg', key: mediaKey, recordKey: result.sources.find((s) => s.mediaKeys.length)!.key }]);
		expect(unzipSync(new Uint8Array(result.mediaZip))).toEqual({ 'media/image-20260101-080100.jpg': new Uint8Array(media) });
		expect(text).toMatch(/\.\.\s+Dana Example\s+\[delivered\]/);
		expect(text).toMatch(/->\s+Business \(\+15550100999\)\s+\[text\]/);
		// transcript lines follow the record order
		const lineTimes = [...text.matchAll(/^(\d{4}-\d\d-\d\d \d\d:\d\d:\d\d) UTC/gm)].map((m) => m[1]);
		expect(lineTimes).toEqual(expected.map((r) => String(r.timestamp).slice(0, 19).replace('T', ' ')));

		const html = result.transcriptHtml.toString('utf8');
		expect(html).toMatch(/^<!DOCTYPE html>/);
		expect(html).toContain('tie &lt;0&gt; &amp; &quot;quoted&quot;');
		expect(html).not.toContain('tie <0>');
		expect(html).not.toMatch(/<script/i);
	});

	it('narrows by phone number id and dates; a pseudonym works instead of the number', async () => {
		const other = await exportConversation({
			client,
			bucket,
			prefix: 'archive',
			indexKey: INDEX_KEY,
			phoneNumber: '15550100456',
			decryptionKeys: [decryptionKey],
		});
		expect(other.records.map((r) => r.type)).toEqual(['failed']);
		const none = await exportConversation({
			client,
			bucket,
			prefix: 'archive',
			pseudonym: other.pseudonym!,
			retentionClass: 'default',
			phoneNumberId: '106000000000002',
			from: '2026-01-03',
			to: '2026-01-31',
			decryptionKeys: [decryptionKey],
		});
		expect(none.records).toEqual([]);
		expect(none.jsonl.length).toBe(0);
		const noStatuses = await exportConversation({
			client,
			bucket,
			prefix: 'archive',
			indexKey: INDEX_KEY,
			phoneNumber: DANA,
			includeStatuses: false,
			decryptionKeys: [decryptionKey],
		});
		expect(noStatuses.records.some((r) => r.record_kind === 'status')).toBe(false);
	});

	it('custodian scope: every conversation of one phone number ID in the date range; the scope must be complete', async () => {
		const base = { client, bucket, prefix: 'archive', indexKey: INDEX_KEY, decryptionKeys: [decryptionKey], scope: 'custodian' as const, phoneNumberId: '106000000000002' };
		const custodian = await exportConversation({ ...base, from: '2026-01-01', to: '2026-01-02' });
		// the records on that number filed on those days (history-sync records keep their own, earlier days)
		const inRange = (r: Rec) => String(r.timestamp ?? r.received_at) >= '2026-01-01' && String(r.timestamp ?? r.received_at) < '2026-01-03';
		const expected = all.filter((r) => r.phone_number_id === '106000000000002' && inRange(r)).sort(byTimeThenWamid).map(withMediaFile);
		// more than one conversation: Dana's and another client's (and those of the other fixtures on this number)
		expect([...new Set(expected.map((r) => r.counterparty?.wa_id))]).toEqual(expect.arrayContaining([DANA, '15550100456']));
		// the same records (records of one time without a wamid are ordered by key, which the test does not know)
		expect(custodian.records).toHaveLength(expected.length);
		expect(custodian.records).toEqual(expect.arrayContaining(expected));
		expect(custodian).toMatchObject({ scope: 'custodian', pseudonym: null, pseudonyms: [] });
		expect(custodian.transcriptText.toString('utf8')).toContain('Custodian (phone number ID): 106000000000002');
		// another business number has none of them; a day outside the range neither
		expect((await exportConversation({ ...base, phoneNumberId: '106000000000009', from: '2026-01-01', to: '2026-01-02' })).records).toEqual([]);
		expect((await exportConversation({ ...base, from: '2026-01-03', to: '2026-01-31' })).records).toEqual([]);

		await expect(exportConversation({ ...base, phoneNumberId: '', from: '2026-01-01' })).rejects.toMatchObject({
			code: 'InvalidInput',
			message: 'A custodian export needs phoneNumberId (the business phone number ID), to (the last day)',
		});
		await expect(exportConversation({ ...base, phoneNumberId: '+1 555', from: '2026-01-01', to: '2026-01-02' })).rejects.toMatchObject({
			code: 'InvalidInput',
			message: expect.stringMatching(/^Invalid phoneNumberId: must be a WhatsApp phone number ID/),
		});
	});

	it('fails with DecryptionFailed naming the key, never the plaintext, with the wrong private key', async () => {
		const wrong = await readPrivateKey({ armoredKey: wrongGpg.secretKeyArmored });
		const error = await exportConversation({
			client,
			bucket,
			prefix: 'archive',
			indexKey: INDEX_KEY,
			phoneNumber: DANA,
			decryptionKeys: [wrong],
		}).catch((e: unknown) => e);
		expect(error).toBeInstanceOf(ArchiveError);
		expect((error as ArchiveError).code).toBe('DecryptionFailed');
		expect((error as ArchiveError).message).toMatch(/s3:\/\/.+\/archive\/default\/106000000000002\/2026\/01\/01\/[0-9a-f]{32}\/[0-9a-f]{32}\.pgp/);
		expect((error as ArchiveError).message).not.toContain('bond order');
		await expect(
			exportConversation({ client, bucket, prefix: 'archive', indexKey: INDEX_KEY, decryptionKeys: [wrong] }),
		).rejects.toMatchObject({ code: 'InvalidInput' });
	});

	it('stops with OutputLimit past the limit per record and before reading an object too large for a record; the limits on all records are not its', async () => {
		const base = { client, bucket, prefix: 'archive', indexKey: INDEX_KEY, phoneNumber: DANA, decryptionKeys: [decryptionKey] };
		const perRecord = await exportConversation({ ...base, maxRecordBytes: 100 }).catch((e: unknown) => e);
		expect(perRecord).toBeInstanceOf(ArchiveError);
		expect(perRecord).toMatchObject({ code: 'OutputLimit' });
		expect((perRecord as ArchiveError).message).toMatch(/^Record s3:\/\/.+\.pgp: Decryption stopped: the plaintext exceeds the limit of 100 bytes\.$/);
		// the streamed export holds no records in memory: the RSMF limits on all records do not apply to it
		const streamed = await exportConversation({ ...base, maxExportBytes: 3000, maxRecords: 2 });
		expect(streamed.records.length).toBeGreaterThan(2);
		expect(streamed.jsonl.length).toBeGreaterThan(3000);
		// an object far larger than any record within the limit is refused from its Content-Length
		const dana = all.find((r) => r.counterparty?.wa_id === DANA)!;
		const big = { ...dana, idempotency_key: '106000000000002:wamid.BIG', wamid: 'wamid.BIG' };
		const placed = objectKeyForRecord({ indexKey: INDEX_KEY, prefix: 'archive', retentionClass: 'default', record: big });
		await writeObject({ client, bucket, key: placed.key, body: randomBytes(2 * 1024 * 1024 + 10) });
		const tooBig = await exportConversation({ ...base, maxRecordBytes: 1024 * 1024 }).catch((e: unknown) => e);
		expect(tooBig).toMatchObject({ code: 'OutputLimit' });
		expect((tooBig as ArchiveError).message).toContain(`${placed.key} holds 2097162 bytes, more than a record within the limit of 1 MiB per record can take`);
	});
});
