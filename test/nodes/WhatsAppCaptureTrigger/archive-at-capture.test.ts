/**
 * Archive at Capture in real n8n-core (in-process runner) against the local Ceph RGW store: the
 * trigger writes every record of a signed delivery (and its media, from a Graph API stand-in) under
 * the archive layout with Object Lock, its identity links, the legal-hold flag from the registry, and
 * answers 200 without starting an execution; records it could not store are emitted, still
 * encrypted, with an error, and kept by the branch after it (nothing lost).
 */
import { createHash, createHmac, randomBytes } from 'node:crypto';
import { readdirSync } from 'node:fs';
import { tmpdir } from 'node:os';

import { GetObjectLegalHoldCommand, GetObjectRetentionCommand, ListObjectVersionsCommand, type S3Client } from '@aws-sdk/client-s3';
import type { IDataObject, INodeExecutionData, INodeParameters, IRun } from 'n8n-workflow';

import { recordId } from '../../../lib/archive';
import { placeHold } from '../../../lib/retention';
import { createS3Client } from '../../../lib/s3';
import { normalizeDelivery } from '../../../lib/capture';
import { GraphStandIn } from '../../helpers/graph-stand-in';
import { gpgDecrypt, makeGpgHome } from '../../helpers/gpg';
import { InProcessN8n, binaryBytes, newWebhookId, type WorkflowJson } from '../../helpers/n8n-runner';
import { getObjectBytes, listAllKeys, makeBucket, s3ArchiveCredential, s3Settings } from '../../helpers/s3';

const APP_SECRET = randomBytes(16).toString('hex');
const INDEX_KEY = randomBytes(32).toString('hex');
const TRIGGER = 'WhatsApp Capture Trigger';
const KEEP = 'Keep Unstored';
const PHONE_NUMBER_ID = '106000000000002';

const sign = (body: Buffer) => 'sha256=' + createHmac('sha256', APP_SECRET).update(body).digest('hex');
const sha256 = (bytes: Buffer) => createHash('sha256').update(bytes).digest('hex');
const output = (run: IRun | undefined, node: string): INodeExecutionData[] => run?.data.resultData.runData[node]?.[0]?.data?.main?.[0] ?? [];
const spools = () => readdirSync(tmpdir()).filter((name) => name.startsWith('chat-archive-spool-'));

/** A delivery of text messages (fresh wamids), each from a person with a phone number and a BSUID. */
function textDelivery(count: number, options: { phoneNumberId?: string; document?: { mediaId: string; bytes: Buffer } } = {}): Buffer {
	const messages = Array.from({ length: count }, (_, index) => {
		const from = `1555010${String(Math.floor(Math.random() * 10_000)).padStart(4, '0')}`;
		const base = { from, from_user_id: `US.${from}0000000001`, id: `wamid.ARCHIVEATCAPTURE${randomBytes(10).toString('hex')}`, timestamp: String(Math.floor(Date.now() / 1000) - 5) };
		return options.document
			? { ...base, type: 'document', document: { caption: 'Statement for Robin', filename: 'robin.pdf', mime_type: 'application/pdf', sha256: sha256(options.document.bytes), id: options.document.mediaId } }
			: { ...base, type: 'text', text: { body: `Please confirm order ${index} for Robin Papertrail` } };
	});
	return Buffer.from(
		JSON.stringify({
			object: 'whatsapp_business_account',
			entry: [
				{
					id: '102000000000001',
					changes: [
						{
							field: 'messages',
							value: {
								messaging_product: 'whatsapp',
								metadata: { display_phone_number: '15550100999', phone_number_id: options.phoneNumberId ?? PHONE_NUMBER_ID },
								contacts: messages.map((m) => ({ profile: { name: 'Robin Papertrail' }, wa_id: m.from, user_id: m.from_user_id })),
								messages,
							},
						},
					],
				},
			],
		}),
	);
}

describe('WhatsApp Capture Trigger: Archive at Capture (in-process n8n-core, local RGW, gpg)', () => {
	let gpg: Awaited<ReturnType<typeof makeGpgHome>>;
	let s3: S3Client;
	let bucket: string;
	const graph = new GraphStandIn();
	const documentBytes = Buffer.concat([Buffer.from('%PDF-1.7\n'), randomBytes(256 * 1024)]);
	const runners: InProcessN8n[] = [];

	const credentials = (storeBucket: string) => {
		return {
			whatsAppCaptureApi: { appSecret: APP_SECRET, verifyToken: 'x', accessToken: graph.accessToken, indexKey: INDEX_KEY, graphApiBaseUrl: graph.baseUrl, graphApiVersion: graph.version },
			openPgpPublicKeysApi: { publicKeys: gpg.publicKeyArmored, expectedFingerprints: gpg.fingerprint },
			s3ArchiveApi: s3ArchiveCredential(storeBucket, INDEX_KEY),
		};
	};

	/** Trigger (Archive at Capture) → a write of what it emits under keep/ (no lock: any bucket), or the trigger alone. */
	function workflow(trigger: INodeParameters, keep: boolean): WorkflowJson {
		const flow: WorkflowJson = {
			name: 'archive at capture',
			nodes: [
				{
					id: 't',
					name: TRIGGER,
					type: 'n8n-nodes-chat-archive.whatsAppCaptureTrigger',
					typeVersion: 1.1,
					position: [0, 0],
					webhookId: newWebhookId(),
					parameters: {
						outputMode: 'perRecord',
						encryptAtCapture: true,
						archiveAtCapture: true,
						downloadMedia: true,
						options: { mediaAttempts: 2, mediaRetryDelayMs: 5 },
						...trigger,
					},
					credentials: { whatsAppCaptureApi: { id: '1', name: 'Meta' }, openPgpPublicKeysApi: { id: '2', name: 'Keys' }, s3ArchiveApi: { id: '3', name: 'Store' } },
				},
				{
					id: 'k',
					name: KEEP,
					type: 'n8n-nodes-chat-archive.s3Archive',
					typeVersion: 1,
					position: [300, 0],
					parameters: {
						operation: 'write',
						binaryPropertyName: 'data',
						prefix: 'archive',
						retentionClass: 'default',
						options: { objectKey: "={{ 'keep/' + $json.record_id + '.pgp' }}" },
					},
					credentials: { s3ArchiveApi: { id: '3', name: 'Store' } },
				},
			],
			connections: { [TRIGGER]: { main: [[{ node: KEEP, type: 'main', index: 0 }]] } },
			settings: { executionOrder: 'v1' },
		};
		return keep ? flow : { ...flow, nodes: flow.nodes.slice(0, 1), connections: {} };
	}

	async function runner(storeBucket: string, trigger: INodeParameters = {}, keep = true): Promise<InProcessN8n> {
		const n8n = new InProcessN8n({ workflow: workflow(trigger, keep), credentials: credentials(storeBucket) });
		await n8n.start();
		runners.push(n8n);
		return n8n;
	}

	async function post(n8n: InProcessN8n, body: Buffer) {
		const response = await fetch(n8n.webhookUrl(), { method: 'POST', headers: { 'content-type': 'application/json', 'x-hub-signature-256': sign(body) }, body: new Uint8Array(body) });
		await n8n.idle();
		return { status: response.status, run: n8n.exchanges[n8n.exchanges.length - 1].run };
	}

	/** The record keys (no media, no identity links) of the delivery's records, by the record ids the layout gives them. */
	const recordKeysOf = (keys: string[], body: Buffer) => {
		const ids = normalizeDelivery({ rawBody: body, receivedAt: new Date(), signatureVerified: true }).map((r) => recordId({ indexKey: INDEX_KEY, idempotencyKey: r.idempotency_key }));
		return ids.map((id) => keys.find((key) => key.startsWith('archive/') && key.endsWith(`/${id}.pgp`)));
	};

	beforeAll(async () => {
		gpg = await makeGpgHome();
		s3 = createS3Client(s3Settings());
		bucket = await makeBucket(s3, { objectLock: true });
		await graph.start();
		graph.addMedia('5000000000000001', { bytes: documentBytes, mimeType: 'application/pdf' });
	});

	afterAll(async () => {
		for (const n8n of runners) await n8n.stop();
		await graph.stop();
		await gpg?.cleanup();
	});

	it('stores every record under the layout with the Object Lock of the options, answers 200 and starts no execution', async () => {
		const n8n = await runner(bucket);
		const body = textDelivery(3);
		const { status, run } = await post(n8n, body);
		expect(status).toBe(200);
		expect(run).toBeUndefined();

		const keys = await listAllKeys(s3, bucket);
		const recordKeys = recordKeysOf(keys, body);
		expect(recordKeys).toHaveLength(3);
		for (const key of recordKeys) {
			expect(key).toMatch(new RegExp(`^archive/default/${PHONE_NUMBER_ID}/\\d{4}/\\d{2}/\\d{2}/[0-9a-f]{32}/[0-9a-f]{32}\\.pgp$`));
			// no phone number, name or wamid in the key
			expect(key).not.toMatch(/15550107|Robin|wamid/);
			const record = JSON.parse(gpgDecrypt(gpg.home, await getObjectBytes(s3, bucket, key!)).toString('utf8'));
			expect(record).toMatchObject({ record_kind: 'message', type: 'text', phone_number_id: PHONE_NUMBER_ID });
			expect(record.content.body).toMatch(/^Please confirm order \d for Robin Papertrail$/);
			const retention = (await s3.send(new GetObjectRetentionCommand({ Bucket: bucket, Key: key }))).Retention;
			expect(retention?.Mode).toBe('GOVERNANCE');
			const days = (retention!.RetainUntilDate!.getTime() - Date.now()) / 86_400_000;
			expect(days).toBeGreaterThan(364);
			expect(days).toBeLessThan(367);
		}
		expect(keys.filter((key) => key.startsWith('keep/'))).toEqual([]);
	});

	it('reads each credential once for deliveries a few seconds apart (each read costs n8n an expression isolate outside an execution)', async () => {
		const reads: Record<string, number> = {};
		const data = credentials(bucket);
		const counted = new Proxy(data, {
			get(target, type: string) {
				reads[type] = (reads[type] ?? 0) + 1;
				return (target as Record<string, unknown>)[type];
			},
		});
		const n8n = new InProcessN8n({ workflow: workflow({}, true), credentials: counted as typeof data });
		await n8n.start();
		runners.push(n8n);
		for (const count of [1, 2, 1]) expect((await post(n8n, textDelivery(count))).status).toBe(200);
		expect(reads).toEqual({ whatsAppCaptureApi: 1, openPgpPublicKeysApi: 1, s3ArchiveApi: 1 });
	});

	it('links the identities each record names (phone number and BSUID) under _identities/', async () => {
		const n8n = await runner(bucket);
		const before = await listAllKeys(s3, bucket, 'archive/_identities/');
		const { status, run } = await post(n8n, textDelivery(1));
		expect(status).toBe(200);
		expect(run).toBeUndefined();
		const added = (await listAllKeys(s3, bucket, 'archive/_identities/')).filter((key) => !before.includes(key));
		// one link each way between the two identities of the one person
		expect(added).toHaveLength(2);
		for (const key of added) expect(key).toMatch(/^archive\/_identities\/[0-9a-f]{32}\/[0-9a-f]{32}\.[0-9a-f]{32}$/);
	});

	it('the same delivery again: nothing written twice (no new key, no new version); Emit Archived Records reports the duplicates', async () => {
		const n8n = await runner(bucket);
		const body = textDelivery(2);
		expect((await post(n8n, body)).status).toBe(200);
		const keysBefore = await listAllKeys(s3, bucket);
		const recordKeys = recordKeysOf(keysBefore, body);
		expect(recordKeys.every(Boolean)).toBe(true);

		expect((await post(n8n, body)).status).toBe(200);
		// (the trigger alone: a stored record's result carries no ciphertext for a write after it)
		const emitting = await runner(bucket, { archiveOptions: { emitArchived: true } }, false);
		const { status, run } = await post(emitting, body);
		expect(status).toBe(200);
		expect(run?.status).toBe('success');
		const emitted = output(run, TRIGGER);
		expect(emitted.map((item) => (item.json.archive as IDataObject).status)).toEqual(['duplicate', 'duplicate']);
		expect(emitted.map((item) => (item.json.archive as IDataObject).key)).toEqual(recordKeys);
		for (const item of emitted) {
			expect(item.binary).toBeUndefined();
			expect(JSON.stringify(item.json)).not.toMatch(/Robin|15550107|wamid/);
		}
		expect(await listAllKeys(s3, bucket)).toEqual(keysBefore);
		for (const key of recordKeys) {
			const versions = await s3.send(new ListObjectVersionsCommand({ Bucket: bucket, Prefix: key }));
			expect(versions.Versions ?? []).toHaveLength(1);
		}
	});

	it('writes the media beside its record (<record id>.media.pgp), and leaves no spooled file behind', async () => {
		const n8n = await runner(bucket);
		const body = textDelivery(1, { document: { mediaId: '5000000000000001', bytes: documentBytes } });
		const { status, run } = await post(n8n, body);
		expect(status).toBe(200);
		expect(run).toBeUndefined();
		const [key] = recordKeysOf(await listAllKeys(s3, bucket), body);
		const record = JSON.parse(gpgDecrypt(gpg.home, await getObjectBytes(s3, bucket, key!)).toString('utf8'));
		expect(record).toMatchObject({ type: 'document', media_status: 'downloaded', media_sha256: sha256(documentBytes), media_sha256_verified: true });
		const mediaKey = key!.replace(/\.pgp$/, '.media.pgp');
		const media = await getObjectBytes(s3, bucket, mediaKey);
		expect(media.includes(documentBytes.subarray(0, 64))).toBe(false);
		expect(gpgDecrypt(gpg.home, media).equals(documentBytes)).toBe(true);
		expect((await s3.send(new GetObjectRetentionCommand({ Bucket: bucket, Key: mediaKey }))).Retention?.Mode).toBe('GOVERNANCE');
		expect(spools()).toEqual([]);
	});

	it('flags a new record with the S3 legal hold when an active matter of the registry covers it', async () => {
		const held = await makeBucket(s3, { objectLock: true });
		await placeHold({ client: s3, bucket: held, prefix: 'archive', matterId: 'SEC-T', actor: 'legal@example.org', reason: 'subpoena', scope: { phoneNumberIds: [PHONE_NUMBER_ID] } });
		const n8n = await runner(held);
		const inScope = textDelivery(1);
		const outOfScope = textDelivery(1, { phoneNumberId: '106000000000003' });
		expect((await post(n8n, inScope)).status).toBe(200);
		expect((await post(n8n, outOfScope)).status).toBe(200);
		const keys = await listAllKeys(s3, held);
		const flag = async (key: string) => (await s3.send(new GetObjectLegalHoldCommand({ Bucket: held, Key: key })).catch(() => null))?.LegalHold?.Status ?? 'OFF';
		const [heldKey] = recordKeysOf(keys, inScope);
		const [freeKey] = recordKeysOf(keys, outOfScope);
		expect(await flag(heldKey!)).toBe('ON');
		expect(await flag(freeKey!)).toBe('OFF');
	});

	it('a store that refuses the write (Object Lock on a bucket without it): the records are emitted still encrypted with the error, kept by the next node, answered after it', async () => {
		const plain = await makeBucket(s3);
		const n8n = await runner(plain);
		const body = textDelivery(2, { document: { mediaId: '5000000000000001', bytes: documentBytes } });
		const { status, run } = await post(n8n, body);
		expect(status).toBe(200);
		expect(run?.status).toBe('success');
		const emitted = output(run, TRIGGER);
		expect(emitted).toHaveLength(2);
		for (const item of emitted) {
			const error = item.json.error as IDataObject;
			expect(error.message).toEqual(expect.any(String));
			expect(error.code).toEqual(expect.any(String));
			expect(JSON.stringify(item.json)).not.toMatch(/Robin|15550107|wamid/);
			expect(item.json).toMatchObject({ encrypted: true, record_kind: 'message', type: 'document' });
			const record = JSON.parse(gpgDecrypt(gpg.home, await binaryBytes(item.binary!.data)).toString('utf8'));
			expect(record.content.caption).toBe('Statement for Robin');
			expect(gpgDecrypt(gpg.home, await binaryBytes(item.binary!.media)).equals(documentBytes)).toBe(true);
		}
		// nothing lost: the next node kept both records
		const kept = output(run, KEEP).map((item) => item.json.archive as IDataObject);
		expect(kept.map((k) => k.status)).toEqual(['created', 'created']);
		expect(kept.map((k) => (k.media as IDataObject).status)).toEqual(['created', 'created']);
		const keys = await listAllKeys(s3, plain);
		expect(keys.filter((key) => key.startsWith('keep/')).sort()).toEqual(kept.flatMap((k) => [String(k.key), String((k.media as IDataObject).key)]).sort());
		expect(keys.filter((key) => key.startsWith('archive/') && !key.startsWith('archive/_'))).toEqual([]);
		expect(spools()).toEqual([]);
	});

	it('a store that cannot be reached and a next node that fails as well: 500, so the sender retries', async () => {
		const n8n = await runner(`missing-${randomBytes(6).toString('hex')}`);
		const { status, run } = await post(n8n, textDelivery(1));
		expect(status).toBe(500);
		expect(output(run, TRIGGER)).toHaveLength(1);
		expect((output(run, TRIGGER)[0].json.error as IDataObject).code).toBe('NoSuchBucket');
	});
});
