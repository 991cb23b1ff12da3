/**
 * The Telegram capture template end to end on real parts: `workflows/telegram-business-capture-archive.json`
 * runs in real n8n-core (in-process); every fixture update is POSTed to the trigger's production URL
 * with the webhook's secret token; the trigger normalizes, downloads the files from the Bot API
 * stand-in, encrypts inside itself (Encrypt at Capture) and writes to the local Ceph RGW store
 * (Archive at Capture), answering without an execution; each object is decrypted by `gpg` and
 * compared with the records the capture engine makes of that update. Forged updates archive nothing.
 *
 * Key layout: until lib/archive knows the channel segment (`telegram-<bot id>`, the channel
 * contract), a record without `phone_number_id` is filed under `_unknown`; the key check accepts both.
 */
import { createHash, randomBytes } from 'node:crypto';
import { readdirSync, readFileSync } from 'node:fs';
import path from 'node:path';

import type { S3Client } from '@aws-sdk/client-s3';

import { createS3Client } from '../../lib/s3';
import { normalizeTelegramUpdate } from '../../lib/capture';
import { gpgDecrypt, makeGpgHome } from '../helpers/gpg';
import { InProcessN8n, loadTemplate } from '../helpers/n8n-runner';
import { getObjectBytes, listAllKeys, makeBucket, s3ArchiveCredential, s3Settings } from '../helpers/s3';
import { TelegramStandIn } from '../helpers/telegram-stand-in';

const FIXTURES = path.join(__dirname, '..', 'fixtures', 'telegram');
const updates = readdirSync(FIXTURES).filter((file) => file.endsWith('.json')).sort();
const SECRET = randomBytes(32).toString('hex');
const INDEX_KEY = randomBytes(32).toString('hex');

/** The files the fixtures name, served by the stand-in (invented bytes). */
const FILES: Record<string, Buffer> = {
	AgACAgIAAxkBAAIBPhotoLarge0001: randomBytes(48213),
	BQACAgIAAxkBAAIBDocument0001: randomBytes(31337),
	AwACAgIAAxkBAAIBVoice0001: randomBytes(9120),
};

const sortKeys = (value: unknown): unknown =>
	Array.isArray(value)
		? value.map(sortKeys)
		: value && typeof value === 'object'
			? Object.fromEntries(Object.entries(value).sort(([a], [b]) => (a < b ? -1 : 1)).map(([k, v]) => [k, sortKeys(v)]))
			: value;

describe('template telegram-business-capture-archive (in-process n8n-core, Bot API stand-in, local Ceph RGW, gpg)', () => {
	const telegram = new TelegramStandIn();
	let gpg: Awaited<ReturnType<typeof makeGpgHome>>;
	let s3: S3Client;
	let bucket: string;
	let n8n: InProcessN8n;

	beforeAll(async () => {
		await telegram.start();
		for (const [fileId, bytes] of Object.entries(FILES)) telegram.addFile(fileId, { bytes });
		gpg = await makeGpgHome();
		const settings = s3Settings();
		s3 = createS3Client(settings);
		bucket = await makeBucket(s3, { objectLock: true });
		n8n = new InProcessN8n({
			workflow: loadTemplate('telegram-business-capture-archive'),
			credentials: {
				telegramBotCaptureApi: { botToken: telegram.token, secretToken: SECRET, indexKey: INDEX_KEY, apiBaseUrl: telegram.baseUrl },
				openPgpPublicKeysApi: { publicKeys: gpg.publicKeyArmored, expectedFingerprints: '' },
				s3ArchiveApi: s3ArchiveCredential(bucket, INDEX_KEY),
			},
		});
		await n8n.start();
	});

	afterAll(async () => {
		await n8n?.stop();
		await gpg?.cleanup();
		await telegram.stop();
	});

	const post = async (body: Buffer, secret?: string) => {
		const headers: Record<string, string> = { 'content-type': 'application/json' };
		if (secret !== undefined) headers['x-telegram-bot-api-secret-token'] = secret;
		const response = await fetch(n8n.webhookUrl(), { method: 'POST', headers, body: new Uint8Array(body) });
		await n8n.idle();
		return { status: response.status, exchange: n8n.exchanges[n8n.exchanges.length - 1] };
	};
	const recordKeys = async () =>
		(await listAllKeys(s3, bucket)).filter((key) => key.startsWith('archive/') && !key.startsWith('archive/_') && key.endsWith('.pgp') && !/\.media[^/]*\.pgp$/.test(key));

	it.each(updates)('%s: without the secret or with a wrong one → 403, no execution, nothing archived', async (file) => {
		const body = readFileSync(path.join(FIXTURES, file));
		const before = await listAllKeys(s3, bucket);
		for (const secret of [undefined, randomBytes(32).toString('hex'), SECRET.slice(0, 32)]) {
			const { status, exchange } = await post(body, secret);
			expect(status).toBe(403);
			expect(exchange.run).toBeUndefined();
		}
		expect(await listAllKeys(s3, bucket)).toEqual(before);
	});

	it.each(updates)('%s: with the secret → archived by the trigger, no execution; gpg decrypts each object to the record, files beside', async (file) => {
		const body = readFileSync(path.join(FIXTURES, file));
		const before = new Set(await listAllKeys(s3, bucket));
		const { status, exchange } = await post(body, SECRET);
		expect(status).toBe(200);
		expect(exchange.run).toBeUndefined();

		const records = normalizeTelegramUpdate({ rawBody: body, botId: telegram.botId, receivedAt: new Date(), secretVerified: true, contentType: 'application/json' });
		const added = (await listAllKeys(s3, bucket)).filter((key) => !before.has(key));
		const keys = (await recordKeys()).filter((key) => !before.has(key));
		expect(keys).toHaveLength(records.length);
		// no Telegram user id, name, username, chat or message id in any key
		const markers = ['6100000001', '6200000001', '1700000001', 'Dana', 'dana_example', 'Acme', ...records.map((record) => record.wamid).filter((m): m is string => Boolean(m))];
		const receipt = { received_at: 'X' };
		const canonical = (record: unknown) => JSON.stringify(sortKeys(JSON.parse(JSON.stringify(record))));
		const stored: string[] = [];
		const expected: string[] = [];
		for (const key of keys) {
			for (const marker of markers) expect(key).not.toContain(marker);
			expect(key).toMatch(/^archive\/default\/(_unknown|telegram-7000000001)\/\d{4}\/\d{2}\/\d{2}\/[0-9a-f_]+[^/]*\/[^/]+\.pgp$/);
			const decrypted = JSON.parse(gpgDecrypt(gpg.home, await getObjectBytes(s3, bucket, key)).toString('utf8'));
			const { media_status, media_sha256, media_size, media_mime_type, media_sha256_verified, ...rest } = decrypted;
			stored.push(canonical({ ...rest, ...receipt }));
			const fileId = (rest.content as { file_id?: string } | null)?.file_id;
			if (fileId && FILES[fileId]) {
				// the file: downloaded, hashed at capture, stored encrypted beside the record
				expect({ media_status, media_sha256, media_size, media_sha256_verified }).toEqual({
					media_status: 'downloaded',
					media_sha256: createHash('sha256').update(FILES[fileId]).digest('hex'),
					media_size: FILES[fileId].length,
					media_sha256_verified: false,
				});
				expect(typeof media_mime_type).toBe('string');
				const media = added.filter((candidate) => candidate.startsWith(key.replace(/\.pgp$/, '.media')));
				expect(media).toHaveLength(1);
				expect(gpgDecrypt(gpg.home, await getObjectBytes(s3, bucket, media[0])).equals(FILES[fileId])).toBe(true);
			} else {
				expect(media_status).toBeUndefined();
			}
		}
		for (const record of records) expected.push(canonical({ ...record, ...receipt }));
		expect(stored.sort()).toEqual(expected.sort());
	});

	it('the same update twice → no new object, the repeat answered 200 with no execution', async () => {
		const body = readFileSync(path.join(FIXTURES, 'business-message-text.json'));
		const before = await listAllKeys(s3, bucket);
		const again = await post(body, SECRET);
		expect(again.status).toBe(200);
		expect(again.exchange.run).toBeUndefined();
		expect(await listAllKeys(s3, bucket)).toEqual(before);
	});
});
