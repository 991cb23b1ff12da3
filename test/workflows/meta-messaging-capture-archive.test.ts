/**
 * The Messenger and Instagram capture template on real parts: `workflows/meta-messaging-capture-archive.json`
 * runs in real n8n-core (in-process, behind a loopback HTTP server); the fixture deliveries are signed
 * with the app secret and POSTed to the trigger; it encrypts each record (and a message's attachment,
 * fetched from a local stand-in of the CDN and hashed) inside itself and writes them to the local Ceph
 * RGW store, answering without an execution; gpg decrypts each object back to the record the capture
 * engine makes of that delivery. A forged delivery is refused 401 and nothing is archived.
 */
import { createHash, createHmac, randomBytes } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import path from 'node:path';

import type { S3Client } from '@aws-sdk/client-s3';

import { parseObjectKey } from '../../lib/archive';
import { normalizeMessagingDelivery } from '../../lib/capture';
import { readPrivateKey } from '../../lib/pgp';
import { createS3Client } from '../../lib/s3';
import { exportWhole as exportConversation } from '../helpers/export';
import { gpgDecrypt, makeGpgHome } from '../helpers/gpg';
import { InProcessN8n, loadTemplate } from '../helpers/n8n-runner';
import { getObjectBytes, listAllKeys, makeBucket, s3ArchiveCredential, s3Settings } from '../helpers/s3';

const FIXTURES = path.join(__dirname, '..', 'fixtures');
const DELIVERIES = ['messenger/message-text', 'messenger/echo-edit-reaction-read-delivery', 'instagram/message-text'];
const APP_SECRET = randomBytes(16).toString('hex');
const VERIFY_TOKEN = randomBytes(12).toString('hex');
const INDEX_KEY = randomBytes(32).toString('hex');
const PAGE = '1045566778899';
const PSID = '7000000000000001';

const sign = (body: Buffer, secret = APP_SECRET) => 'sha256=' + createHmac('sha256', secret).update(body).digest('hex');
const fixture = (name: string) => readFileSync(path.join(FIXTURES, `${name}.json`));
const sortKeys = (value: unknown): unknown =>
	Array.isArray(value)
		? value.map(sortKeys)
		: value && typeof value === 'object'
			? Object.fromEntries(Object.entries(value).sort(([a], [b]) => (a < b ? -1 : 1)).map(([k, v]) => [k, sortKeys(v)]))
			: value;

describe('template meta-messaging-capture-archive (in-process n8n-core, local Ceph RGW, gpg)', () => {
	let gpg: Awaited<ReturnType<typeof makeGpgHome>>;
	let s3: S3Client;
	let bucket: string;
	let n8n: InProcessN8n;
	let cdn: Server;
	let cdnBase: string;
	const picture = randomBytes(2048);

	beforeAll(async () => {
		cdn = createServer((req, res) => {
			if (req.url === '/statement.jpg') res.writeHead(200, { 'content-type': 'image/jpeg' }).end(picture);
			else res.writeHead(404).end();
		});
		await new Promise<void>((resolve) => cdn.listen(0, '127.0.0.1', resolve));
		cdnBase = `http://127.0.0.1:${(cdn.address() as AddressInfo).port}`;
		gpg = await makeGpgHome();
		const settings = s3Settings();
		s3 = createS3Client(settings);
		bucket = await makeBucket(s3, { objectLock: true });
		n8n = new InProcessN8n({
			workflow: loadTemplate('meta-messaging-capture-archive'),
			credentials: {
				metaMessagingCaptureApi: {
					appSecret: APP_SECRET,
					verifyToken: VERIFY_TOKEN,
					pageAccessToken: '',
					// a loopback Graph API base URL lets attachments come from the loopback CDN stand-in
					graphApiBaseUrl: cdnBase,
					graphApiVersion: 'v24.0',
					indexKey: INDEX_KEY,
				},
				openPgpPublicKeysApi: { publicKeys: gpg.publicKeyArmored, expectedFingerprints: '' },
				s3ArchiveApi: s3ArchiveCredential(bucket, INDEX_KEY),
			},
		});
		await n8n.start();
	});

	afterAll(async () => {
		await n8n?.stop();
		await gpg?.cleanup();
		await new Promise<void>((resolve) => (cdn ? cdn.close(() => resolve()) : resolve()));
	});

	const post = async (body: Buffer, signature?: string) => {
		const headers: Record<string, string> = { 'content-type': 'application/json' };
		if (signature !== undefined) headers['x-hub-signature-256'] = signature;
		const response = await fetch(n8n.webhookUrl(), { method: 'POST', headers, body: new Uint8Array(body) });
		await n8n.idle();
		return { status: response.status, exchange: n8n.exchanges[n8n.exchanges.length - 1] };
	};
	const recordKeys = async () =>
		(await listAllKeys(s3, bucket)).filter((key) => key.startsWith('archive/') && !key.startsWith('archive/_') && key.endsWith('.pgp') && !/\.media[^/]*\.pgp$/.test(key));

	it('answers the hub.challenge handshake for the right token, 403 otherwise', async () => {
		const url = (token: string) => `${n8n.webhookUrl()}?hub.mode=subscribe&hub.verify_token=${token}&hub.challenge=1158201444`;
		const ok = await fetch(url(VERIFY_TOKEN));
		expect(ok.status).toBe(200);
		expect(await ok.text()).toBe('1158201444');
		expect((await fetch(url('wrong-token'))).status).toBe(403);
	});

	it.each(DELIVERIES)('%s: forged or unsigned → 401 and nothing archived', async (name) => {
		const body = fixture(name);
		const before = await listAllKeys(s3, bucket);
		const mutated = Buffer.from(body);
		mutated[Math.floor(mutated.length / 2)] ^= 0x01;
		for (const [payload, signature] of [
			[body, undefined],
			[body, sign(body, 'not-the-app-secret')],
			[mutated, sign(body)],
		] as Array<[Buffer, string | undefined]>) {
			const { status, exchange } = await post(payload, signature);
			expect(status).toBe(401);
			expect(exchange.run).toBeUndefined();
		}
		expect(await listAllKeys(s3, bucket)).toEqual(before);
	});

	it.each(DELIVERIES)('%s: signed → every record archived under <channel>-<account id> with no execution, gpg decrypts each to the record', async (name) => {
		const body = fixture(name);
		const before = new Set(await recordKeys());
		const { status, exchange } = await post(body, sign(body));
		expect(status).toBe(200);
		expect(exchange.run).toBeUndefined();
		const records = normalizeMessagingDelivery({ rawBody: body, receivedAt: new Date(), signatureVerified: true, graphApiVersion: 'v24.0', contentType: 'application/json' });
		const keys = (await recordKeys()).filter((key) => !before.has(key));
		expect(keys).toHaveLength(records.length);
		const receipt = { received_at: 'X', timestamp_skew_seconds: 'X' };
		const canonical = (value: unknown) => JSON.stringify(sortKeys(JSON.parse(JSON.stringify({ ...(value as object), ...receipt }))));
		const stored: string[] = [];
		for (const key of keys) {
			expect(parseObjectKey(key)?.phoneNumberId).toBe(`${records[0].channel}-${records[0].account_id}`);
			for (const marker of [PSID, ...records.map((r) => r.wamid).filter((m): m is string => Boolean(m))]) expect(key).not.toContain(marker);
			stored.push(canonical(JSON.parse(gpgDecrypt(gpg.home, await getObjectBytes(s3, bucket, key)).toString('utf8'))));
		}
		expect(stored.sort()).toEqual(records.map(canonical).sort());
	});

	it('a message with an attachment: the attachment is fetched, hashed, encrypted and archived beside its record', async () => {
		const body = Buffer.from(
			JSON.stringify({
				object: 'page',
				entry: [
					{
						id: PAGE,
						time: Date.now(),
						messaging: [
							{
								sender: { id: PSID },
								recipient: { id: PAGE },
								timestamp: Date.now() - 1000,
								message: { mid: `m_attachment${randomBytes(6).toString('hex')}`, attachments: [{ type: 'image', payload: { url: `${cdnBase}/statement.jpg` } }] },
							},
						],
					},
				],
			}),
		);
		const before = new Set(await listAllKeys(s3, bucket));
		const { status, exchange } = await post(body, sign(body));
		expect(status).toBe(200);
		expect(exchange.run).toBeUndefined();
		const added = (await listAllKeys(s3, bucket)).filter((key) => !before.has(key) && !key.startsWith('archive/_'));
		const recordKey = added.find((key) => key.endsWith('.pgp') && !key.includes('.media'))!;
		expect(added.sort()).toEqual([recordKey, recordKey.replace(/\.pgp$/, '.media.pgp')].sort());
		const record = JSON.parse(gpgDecrypt(gpg.home, await getObjectBytes(s3, bucket, recordKey)).toString('utf8'));
		expect(record).toMatchObject({
			channel: 'messenger',
			type: 'image',
			media_status: 'downloaded',
			media_sha256: createHash('sha256').update(picture).digest('hex'),
			media_size: picture.length,
			media_mime_type: 'image/jpeg',
		});
		expect(gpgDecrypt(gpg.home, await getObjectBytes(s3, bucket, recordKey.replace(/\.pgp$/, '.media.pgp'))).equals(picture)).toBe(true);
	});

	it('the export of the Messenger user finds their records, each line labelled Messenger', async () => {
		const decryptionKey = await readPrivateKey({ armoredKey: gpg.secretKeyArmored });
		const pseudonym = createHmac('sha256', INDEX_KEY).update(`messenger:${PSID}`).digest('hex').slice(0, 32);
		const result = await exportConversation({ client: s3, bucket, prefix: 'archive', pseudonym, decryptionKeys: [decryptionKey] });
		expect(result.records.length).toBeGreaterThanOrEqual(6);
		expect(result.records.every((r) => r.channel === 'messenger')).toBe(true);
		const text = result.transcriptText.toString('utf8');
		expect(text).toMatch(/^Messenger conversation export\n/);
		expect(text).toContain('via Messenger');
		expect(text).toContain('| Can you confirm the bond order?');
	});
});
