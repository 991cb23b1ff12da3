/**
 * The streamed JSONL export at scale on the local store: hundreds of records of one person filed under
 * two retention classes, two business numbers and several days (so the listing order is not the time
 * order), with media; its files read as streams; its spool checked on disk.
 */
import { createHash, randomBytes } from 'node:crypto';
import { mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import type { Readable } from 'node:stream';
import v8 from 'node:v8';
import vm from 'node:vm';
import type { S3Client } from '@aws-sdk/client-s3';
import { unzipSync } from 'fflate';

import { exportConversation, mediaObjectKey, objectKeyForRecord, writeObject, type ArchiveRecordFields } from '../../../lib/archive';
import { createS3Client, mapLimit } from '../../../lib/s3';
import { encrypt, readPrivateKey, readPublicKeys, type PrivateKey, type PublicKey } from '../../../lib/pgp';
import { gpgDecrypt, makeGpgHome, type GpgHome } from '../../helpers/gpg';
import { getObjectBytes, makeBucket, s3Settings } from '../../helpers/s3';

const EXPECTED = path.join(__dirname, '..', '..', 'fixtures', 'expected');
const INDEX_KEY = randomBytes(32).toString('hex');
const DANA = '15550100123';

type Rec = ArchiveRecordFields & Record<string, unknown>;
const fixture = (file: string): Rec => (JSON.parse(readFileSync(path.join(EXPECTED, file), 'utf8')) as Rec[])[0];
const textTemplate = fixture('inbound-text.records.json');
const statusTemplate = fixture('status-delivered.records.json');

async function bytesOf(stream: Readable | null): Promise<Buffer> {
	const chunks: Buffer[] = [];
	for await (const chunk of stream ?? []) chunks.push(chunk as Buffer);
	return Buffer.concat(chunks);
}

const sha256 = (bytes: Buffer) => createHash('sha256').update(bytes).digest('hex');
const iso = (ms: number) => new Date(ms).toISOString();
const byTimeThenWamid = (a: Rec, b: Rec) => String(a.timestamp).localeCompare(String(b.timestamp)) || String(a.wamid).localeCompare(String(b.wamid));

/** `count` records of Dana over five days, alternating classes and business numbers so that listing order differs from time order. */
function conversation(count: number): Array<{ record: Rec; retentionClass: string }> {
	const start = Date.parse('2026-03-01T08:00:00Z');
	const out: Array<{ record: Rec; retentionClass: string }> = [];
	for (let n = 0; n < count; n++) {
		// later records under "default", earlier ones under "long" (listed after "default")
		const time = start + Math.floor((n * 5 * 86_400_000) / count);
		const retentionClass = n < count / 2 ? 'long' : 'default';
		const phoneNumberId = n % 3 === 0 ? '106000000000003' : '106000000000002';
		const wamid = `wamid.STREAM-${String(n).padStart(4, '0')}`;
		const record: Rec =
			n % 10 === 9
				? {
						...statusTemplate,
						wamid: `wamid.STREAM-${String(n - 1).padStart(4, '0')}`,
						phone_number_id: phoneNumberId,
						timestamp: iso(time),
						received_at: iso(time + 1000),
						idempotency_key: `${phoneNumberId}:wamid.STREAM-${n}:delivered`,
					}
				: {
						...textTemplate,
						wamid,
						phone_number_id: phoneNumberId,
						// every 25th record shares its second with the next one: ordered by wamid
						timestamp: iso(n % 25 === 1 ? start + Math.floor(((n - 1) * 5 * 86_400_000) / count) : time),
						received_at: iso(time + 1000),
						content: { body: `stream body ${n} <&>` },
						idempotency_key: `${phoneNumberId}:${wamid}`,
					};
		out.push({ record, retentionClass });
	}
	// a record whose provider time is implausible is filed under its receipt day but ordered by its timestamp
	out.push({
		retentionClass: 'default',
		record: {
			...textTemplate,
			wamid: 'wamid.STREAM-SKEWED',
			timestamp: '2026-02-01T00:00:00.000Z',
			received_at: '2026-03-04T12:00:00.000Z',
			content: { body: 'skewed clock' },
			idempotency_key: '106000000000002:wamid.STREAM-SKEWED',
		},
	});
	return out;
}

describe('exportConversation streamed (local RGW, lib/pgp, gpg)', () => {
	let client: S3Client;
	let bucket: string;
	let gpg: GpgHome;
	let decryptionKey: PrivateKey;
	let recipients: PublicKey[];
	let temp: string;
	const archived: Rec[] = [];
	/** Media plaintext by the media object key. */
	const mediaBytes = new Map<string, Buffer>();

	async function archive(prefix: string, record: Rec, retentionClass: string, media: Buffer[] = [], mediaSha?: string, compression: 'none' | 'zlib' = 'none'): Promise<string[]> {
		const filed = mediaSha ?? (media.length ? sha256(media[0]) : undefined);
		const stored = media.length ? { ...record, media_status: 'downloaded', media_sha256: filed, media_size: media[0].length } : record;
		const placed = objectKeyForRecord({ indexKey: INDEX_KEY, prefix, retentionClass, record: stored });
		const { ciphertext } = await encrypt({ data: Buffer.from(JSON.stringify(stored)), recipients, filename: 'record.json' });
		await writeObject({ client, bucket, key: placed.key, body: ciphertext as Uint8Array });
		const keys: string[] = [];
		for (const [index, bytes] of media.entries()) {
			const key = mediaObjectKey({ prefix, retentionClass, phoneNumberId: stored.phone_number_id, date: placed.date, pseudonym: placed.pseudonym, recordId: placed.recordId, index });
			await writeObject({ client, bucket, key, body: (await encrypt({ data: bytes, recipients, compression })).ciphertext as Uint8Array });
			mediaBytes.set(key, bytes);
			keys.push(key);
		}
		if (prefix === 'archive') archived.push(stored);
		return keys;
	}

	beforeAll(async () => {
		client = createS3Client(s3Settings());
		bucket = await makeBucket(client);
		gpg = await makeGpgHome();
		decryptionKey = await readPrivateKey({ armoredKey: gpg.secretKeyArmored });
		recipients = await readPublicKeys({ armoredKeys: gpg.publicKeyArmored });
		temp = mkdtempSync(path.join(os.tmpdir(), 'export-stream-test-'));
		await mapLimit(conversation(300), 16, async ({ record, retentionClass }) => void (await archive('archive', record, retentionClass)));
		// media: an image, two documents of the same name, one of them with a second file
		const image = { ...textTemplate, type: 'image', wamid: 'wamid.STREAM-IMAGE', timestamp: '2026-03-02T10:00:00.000Z', received_at: '2026-03-02T10:00:01.000Z', content: { caption: 'photo', mime_type: 'image/jpeg', id: '1' }, idempotency_key: '106000000000002:wamid.STREAM-IMAGE' };
		const document = (n: number) => ({ ...textTemplate, type: 'document', wamid: `wamid.STREAM-DOC${n}`, timestamp: `2026-03-0${n + 2}T11:00:00.000Z`, received_at: `2026-03-0${n + 2}T11:00:01.000Z`, content: { filename: 'Term sheet.pdf', mime_type: 'application/pdf', id: String(n + 1) }, idempotency_key: `106000000000002:wamid.STREAM-DOC${n}` });
		await archive('archive', image, 'default', [randomBytes(300 * 1024 + 7)]);
		await archive('archive', document(1), 'long', [randomBytes(1000)]);
		await archive('archive', document(2), 'default', [randomBytes(0), randomBytes(70_000)]);
	}, 180_000);
	afterAll(async () => {
		client?.destroy();
		await gpg?.cleanup();
		if (temp) rmSync(temp, { recursive: true, force: true });
	});

	it('writes every record in time order (not listing order) as JSONL and transcripts, with its media, past the limits that bound RSMF', async () => {
		const exported = await exportConversation({
			client,
			bucket,
			prefix: 'archive',
			indexKey: INDEX_KEY,
			phoneNumber: DANA,
			decryptionKeys: [decryptionKey],
			concurrency: 4,
			// the records are not held in memory: these RSMF limits do not apply
			maxRecords: 10,
			maxExportBytes: 4096,
			tempDirectory: temp,
		});
		try {
			const expected = [...archived].sort(byTimeThenWamid);
			expect(expected.length).toBe(304);
			// the listing order differs from the time order, and a record is filed on another day than it is ordered by
			expect(exported.sources.map((s) => s.key)).not.toEqual([...exported.sources.map((s) => s.key)].sort());
			expect(expected[0].wamid).toBe('wamid.STREAM-SKEWED');

			// read the four files at once, as the node does
			const [jsonl, text, html, zip] = await Promise.all([
				bytesOf(exported.createJsonlStream()),
				bytesOf(exported.createTranscriptTextStream()),
				bytesOf(exported.createTranscriptHtmlStream()),
				bytesOf(exported.createMediaZipStream()),
			]);
			const lines = jsonl.toString('utf8').trimEnd().split('\n').map((line) => JSON.parse(line) as Rec);
			const mediaPaths: Record<string, string | undefined> = {
				'wamid.STREAM-IMAGE': 'media/image-20260302-100000.jpg',
				'wamid.STREAM-DOC1': 'media/Term sheet.pdf',
				'wamid.STREAM-DOC2': 'media/Term sheet (2).pdf',
			};
			expect(lines).toEqual(
				expected.map((record) => {
					const file = mediaPaths[String(record.wamid)];
					if (!file) return record;
					return record.wamid === 'wamid.STREAM-DOC2' ? { ...record, media_file: file, media_files: [file, 'media/Term sheet (3).pdf'] } : { ...record, media_file: file };
				}),
			);
			expect(exported.counts).toEqual({ records: 304, messages: 274, statuses: 30, other: 0, media: 4 });
			expect(exported.period).toEqual({ first: '2026-02-01T00:00:00.000Z', last: expected[expected.length - 1].timestamp });

			// the transcripts: the header knows the counts before the first line; lines in record order
			const transcript = text.toString('utf8');
			expect(transcript).toContain('Records: 304 (messages 274, statuses 30, other 0)');
			expect(transcript).toContain('Media files: 4 (media.zip)');
			const lineTimes = [...transcript.matchAll(/^(\d{4}-\d\d-\d\d \d\d:\d\d:\d\d) UTC/gm)].map((m) => m[1]);
			expect(lineTimes).toEqual(expected.map((r) => String(r.timestamp).slice(0, 19).replace('T', ' ')));
			expect(transcript).toContain('    media: media/Term sheet (2).pdf\n    media: media/Term sheet (3).pdf\n');
			// statuses carry no name: the messages' name is shown
			expect(transcript).toMatch(/\.\.\s+Dana Example\s+\[delivered\]/);
			const page = html.toString('utf8');
			expect(page).toMatch(/^<!DOCTYPE html>[\s\S]*<\/body>\n<\/html>\n$/);
			expect(page.match(/<div class="record /g)).toHaveLength(304);
			expect(page).toContain('stream body 2 &lt;&amp;&gt;');

			// media.zip: the media files in record order, each equal to its object as gpg decrypts it
			const files = unzipSync(new Uint8Array(zip));
			expect(Object.keys(files)).toEqual(exported.mediaFiles.map((f) => f.path));
			expect(exported.mediaFiles.map((f) => f.path)).toEqual(['media/image-20260302-100000.jpg', 'media/Term sheet.pdf', 'media/Term sheet (2).pdf', 'media/Term sheet (3).pdf']);
			for (const file of exported.mediaFiles) {
				const decrypted = gpgDecrypt(gpg.home, await getObjectBytes(client, bucket, file.key));
				expect(Buffer.from(files[file.path])).toEqual(decrypted);
				expect(decrypted).toEqual(mediaBytes.get(file.key));
			}
		} finally {
			await exported.dispose();
		}
		expect(readdirSync(temp)).toEqual([]);
	}, 120_000);

	it('holds no record in memory between reading and writing: 24 MB of records add less than a quarter of it to the heap', async () => {
		const body = 'x'.repeat(256 * 1024);
		const big = Array.from({ length: 96 }, (_, n) => ({
			...textTemplate,
			wamid: `wamid.BIG-${n}`,
			content: { body: `${n} ${body}` },
			idempotency_key: `106000000000002:wamid.BIG-${n}`,
		}));
		await mapLimit(big, 8, async (record) => void (await archive('big', record, 'default')));
		// a collection on demand, to compare the heap in use before and after
		v8.setFlagsFromString('--expose-gc');
		const gc = vm.runInNewContext('gc') as () => void;
		const base = { client, bucket, prefix: 'big', indexKey: INDEX_KEY, phoneNumber: DANA, decryptionKeys: [decryptionKey] };
		const warmUp = await exportConversation(base);
		await warmUp.dispose();
		gc();
		const before = process.memoryUsage().heapUsed;
		const exported = await exportConversation(base);
		try {
			gc();
			const held = process.memoryUsage().heapUsed - before;
			expect(exported.counts.records).toBe(96);
			expect(held).toBeLessThan((96 * body.length) / 4);
			const jsonl = await bytesOf(exported.createJsonlStream());
			expect(jsonl.length).toBeGreaterThan(96 * body.length);
		} finally {
			await exported.dispose();
		}
	}, 120_000);

	it('keeps the records on disk only encrypted and authenticated: an altered spool fails the files', async () => {
		const exported = await exportConversation({ client, bucket, prefix: 'archive', indexKey: INDEX_KEY, phoneNumber: DANA, decryptionKeys: [decryptionKey], tempDirectory: temp });
		try {
			const [folder] = readdirSync(temp);
			const spool = path.join(temp, folder, 'records.spool');
			const bytes = readFileSync(spool);
			expect(bytes.length).toBeGreaterThan(304 * 500);
			for (const marker of ['stream body', 'Dana Example', DANA, 'wamid.STREAM']) expect(bytes.includes(Buffer.from(marker))).toBe(false);
			bytes[Math.floor(bytes.length / 2)] ^= 0x01;
			writeFileSync(spool, bytes);
			await expect(bytesOf(exported.createJsonlStream())).rejects.toMatchObject({ code: 'IntegrityError', message: expect.stringContaining('temporary spool was changed') });
		} finally {
			await exported.dispose();
		}
		expect(readdirSync(temp)).toEqual([]);
		await expect(bytesOf(exported.createJsonlStream())).rejects.toMatchObject({ message: expect.stringContaining('disposed') });
	}, 60_000);

	it('decrypts media past 8 MiB through the spool, and media that inflate past 16 MiB read again through it', async () => {
		const large = randomBytes(9 * 1024 * 1024);
		const inflating = Buffer.alloc(20 * 1024 * 1024, 0x41);
		const image = { ...textTemplate, type: 'image', wamid: 'wamid.LARGE', content: { mime_type: 'image/jpeg', id: '10' }, idempotency_key: '106000000000002:wamid.LARGE' };
		const document = { ...textTemplate, type: 'document', wamid: 'wamid.INFLATING', timestamp: '2026-01-01T09:00:00.000Z', content: { filename: 'zeros.txt', mime_type: 'text/plain', id: '11' }, idempotency_key: '106000000000002:wamid.INFLATING' };
		const [largeKey] = await archive('large', image, 'default', [large]);
		const [inflatingKey] = await archive('large', document, 'default', [inflating], undefined, 'zlib');
		expect((await getObjectBytes(client, bucket, inflatingKey)).length).toBeLessThan(1024 * 1024);
		const base = { client, bucket, prefix: 'large', indexKey: INDEX_KEY, phoneNumber: DANA, decryptionKeys: [decryptionKey] };
		const exported = await exportConversation({ ...base, maxCompressionRatio: Infinity });
		try {
			const files = unzipSync(new Uint8Array(await bytesOf(exported.createMediaZipStream())));
			expect(exported.mediaFiles.map((f) => f.key)).toEqual([largeKey, inflatingKey]);
			expect(Buffer.from(files['media/image-20260101-080000.jpg']).equals(large)).toBe(true);
			expect(Buffer.from(files['media/zeros.txt']).equals(inflating)).toBe(true);
		} finally {
			await exported.dispose();
		}
		// the limits still hold on the second reading: the ratio by default, Max Media Size when set
		for (const options of [{}, { maxCompressionRatio: Infinity, maxMediaBytes: 18 * 1024 * 1024 }]) {
			const limited = await exportConversation({ ...base, ...options });
			try {
				await expect(bytesOf(limited.createMediaZipStream())).rejects.toMatchObject({ code: 'OutputLimit', message: expect.stringContaining(inflatingKey) });
			} finally {
				await limited.dispose();
			}
		}
	}, 120_000);

	it('fails media.zip, naming the object, when a media file differs from its record; the other files are whole', async () => {
		const record = { ...textTemplate, type: 'image', wamid: 'wamid.BAD-MEDIA', content: { mime_type: 'image/jpeg', id: '9' }, idempotency_key: '106000000000002:wamid.BAD-MEDIA' };
		const [key] = await archive('tampered', record, 'default', [randomBytes(5000)], 'f'.repeat(64));
		const exported = await exportConversation({ client, bucket, prefix: 'tampered', indexKey: INDEX_KEY, phoneNumber: DANA, decryptionKeys: [decryptionKey] });
		try {
			expect(JSON.parse((await bytesOf(exported.createJsonlStream())).toString('utf8'))).toMatchObject({ wamid: 'wamid.BAD-MEDIA', media_file: 'media/image-20260101-080000.jpg' });
			const error = await bytesOf(exported.createMediaZipStream()).catch((e: unknown) => e);
			expect(error).toMatchObject({ code: 'IntegrityError', message: `The decrypted media object ${key} does not match the media_sha256 of its record` });
		} finally {
			await exported.dispose();
		}
	});
});
