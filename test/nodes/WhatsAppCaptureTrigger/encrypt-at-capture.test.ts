/**
 * Encrypt at capture and media download, end to end in real n8n-core (in-process runner): the
 * template-equivalent workflow "WhatsApp Capture Trigger (Encrypt at Capture, Download Media) → S3
 * Archive Write" — no OpenPGP node — archives objects that gpg decrypts to the full record, while no
 * item leaving the trigger holds any plaintext marker of the delivery (bodies, captions, names, phone
 * numbers, BSUIDs, wamids, idempotency keys). Media comes from the local Graph stand-in.
 */
import { createHash, createHmac, randomBytes } from 'node:crypto';
import path from 'node:path';

import type { S3Client } from '@aws-sdk/client-s3';
import type { IBinaryData, IDataObject, INodeExecutionData, INodeParameters, IRun } from 'n8n-workflow';

import { objectKeyForRecord } from '../../../lib/archive';
import { createS3Client } from '../../../lib/s3';
import { normalizeDelivery, type CaptureRecord } from '../../../lib/capture';
import { GraphStandIn } from '../../helpers/graph-stand-in';
import { gpgDecrypt, makeGpgHome } from '../../helpers/gpg';
import { InProcessN8n, binaryBytes, newWebhookId, type WorkflowJson } from '../../helpers/n8n-runner';
import { getObjectBytes, makeBucket, s3ArchiveCredential, s3Settings } from '../../helpers/s3';
import { deliveryFixtures, fixtureBody } from '../../lib/capture/fixtures';

const APP_SECRET = randomBytes(16).toString('hex');
const VERIFY_TOKEN = randomBytes(12).toString('hex');
const INDEX_KEY = randomBytes(32).toString('hex');
const TRIGGER = 'WhatsApp Capture Trigger';
const ARCHIVE = 'Archive Record';

const sign = (body: Buffer) => 'sha256=' + createHmac('sha256', APP_SECRET).update(body).digest('hex');
const sha256 = (bytes: Buffer) => createHash('sha256').update(bytes).digest('hex');
const output = (run: IRun | undefined, node: string): INodeExecutionData[] =>
	run?.data.resultData.runData[node]?.[0]?.data?.main?.[0] ?? [];

/** Reads a binary from n8n-core's BinaryDataService (the runner's filesystem mode). */

function workflow(triggerParameters: INodeParameters, withArchive: boolean): WorkflowJson {
	const nodes: WorkflowJson['nodes'] = [
		{
			id: 't',
			name: TRIGGER,
			type: 'n8n-nodes-chat-archive.whatsAppCaptureTrigger',
			typeVersion: 1,
			position: [0, 0],
			webhookId: newWebhookId(),
			parameters: triggerParameters,
			credentials: {
				whatsAppCaptureApi: { id: '1', name: 'Meta App' },
				openPgpPublicKeysApi: { id: '2', name: 'Keys' },
			},
		},
	];
	if (withArchive) {
		nodes.push({
			id: 'a',
			name: ARCHIVE,
			type: 'n8n-nodes-chat-archive.s3Archive',
			typeVersion: 1,
			position: [260, 0],
			parameters: {
				operation: 'write',
				binaryPropertyName: 'data',
				prefix: 'archive',
				retentionClass: 'default',
			},
			credentials: { s3ArchiveApi: { id: '3', name: 'Store' } },
		});
	}
	return {
		name: 'capture (encrypt at capture)',
		nodes,
		connections: withArchive ? { [TRIGGER]: { main: [[{ node: ARCHIVE, type: 'main', index: 0 }]] } } : {},
		settings: { executionOrder: 'v1' },
	};
}

/** A delivery of one document message whose file the stand-in serves (sha256 matches). */
function documentDelivery(mediaId: string, bytes: Buffer): Buffer {
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
								metadata: { display_phone_number: '15550100999', phone_number_id: '106000000000002' },
								contacts: [{ profile: { name: 'Robin Papertrail' }, wa_id: '15550107777', user_id: 'US.55501077770000000001' }],
								messages: [
									{
										from: '15550107777',
										from_user_id: 'US.55501077770000000001',
										id: 'wamid.HBgLMTU1NTAxMDc3NzcVAgASGBRET0NVTUVOVERPQ1VNRU5UMDEA',
										timestamp: '1767260000',
										type: 'document',
										document: {
											caption: 'Quarterly statement for Robin',
											filename: 'robin-statement-q4.pdf',
											mime_type: 'application/pdf',
											sha256: sha256(bytes),
											id: mediaId,
										},
									},
								],
							},
						},
					],
				},
			],
		}),
	);
}

/**
 * Every string that would reveal the conversation: counterparty ids and names, wamids, idempotency
 * keys, and every content string of 5+ characters (except the record's own type/field names).
 */
function plaintextMarkers(records: CaptureRecord[], body: Buffer): string[] {
	const markers = new Set<string>();
	const add = (value: unknown) => {
		if (typeof value === 'string' && value.length >= 5) markers.add(value);
	};
	const walk = (value: unknown, skip: Set<string>) => {
		if (typeof value === 'string') {
			if (!skip.has(value)) add(value);
		} else if (Array.isArray(value)) value.forEach((v) => walk(v, skip));
		else if (value && typeof value === 'object') Object.values(value).forEach((v) => walk(v, skip));
	};
	for (const record of records) {
		add(record.wamid);
		add(record.idempotency_key);
		add(record.original_wamid);
		add(record.counterparty.wa_id);
		add(record.counterparty.user_id);
		add(record.counterparty.name);
		add(record.counterparty.group_id);
		add(record.participant?.wa_id);
		add(record.participant?.user_id);
		add(record.participant?.name);
		walk(record.content, new Set([record.type, record.field ?? '', record.record_kind, 'whatsapp', 'individual', 'regular', 'utility', 'marketing', 'service', 'authentication']));
	}
	for (const wamid of body.toString('utf8').match(/wamid\.[A-Za-z0-9=_-]+/g) ?? []) markers.add(wamid);
	const businessIds = new Set(records.flatMap((r) => [r.phone_number_id, r.waba_id, r.display_phone_number]));
	for (const digits of body.toString('utf8').match(/\b\d{11,15}\b/g) ?? []) {
		if (!businessIds.has(digits)) markers.add(digits);
	}
	return [...markers];
}

describe('Encrypt at Capture + Download Media (in-process n8n-core, Graph stand-in, local RGW, gpg)', () => {
	let gpg: Awaited<ReturnType<typeof makeGpgHome>>;
	let s3: S3Client;
	let bucket: string;
	const graph = new GraphStandIn();
	const documentBytes = Buffer.concat([Buffer.from('%PDF-1.7\n'), randomBytes(2 * 1024 * 1024)]);
	const runners: InProcessN8n[] = [];

	const credentials = () => {
		return {
			whatsAppCaptureApi: {
				appSecret: APP_SECRET,
				verifyToken: VERIFY_TOKEN,
				accessToken: graph.accessToken,
				indexKey: INDEX_KEY,
				graphApiBaseUrl: graph.baseUrl,
				graphApiVersion: graph.version,
			},
			openPgpPublicKeysApi: { publicKeys: gpg.publicKeyArmored, expectedFingerprints: gpg.fingerprint },
			s3ArchiveApi: s3ArchiveCredential(bucket, INDEX_KEY),
		};
	};

	async function runner(triggerParameters: INodeParameters, withArchive = true): Promise<InProcessN8n> {
		const n8n = new InProcessN8n({ workflow: workflow(triggerParameters, withArchive), credentials: credentials() });
		await n8n.start();
		runners.push(n8n);
		return n8n;
	}

	async function post(n8n: InProcessN8n, body: Buffer) {
		const response = await fetch(n8n.webhookUrl(), {
			method: 'POST',
			headers: { 'content-type': 'application/json', 'x-hub-signature-256': sign(body) },
			body: new Uint8Array(body),
		});
		await n8n.idle();
		return { status: response.status, run: n8n.exchanges[n8n.exchanges.length - 1].run };
	}

	beforeAll(async () => {
		gpg = await makeGpgHome();
		s3 = createS3Client(s3Settings());
		bucket = await makeBucket(s3, { objectLock: true });
		await graph.start();
		// the image of the shipped fixture: served bytes do not match the webhook's sha256 → media_status failed
		graph.addMedia('1013859600285441', { bytes: randomBytes(1000), mimeType: 'image/jpeg' });
		graph.addMedia('3000000000000001', { bytes: documentBytes, mimeType: 'application/pdf' });
	});

	afterAll(async () => {
		for (const n8n of runners) await n8n.stop();
		await graph.stop();
		await gpg?.cleanup();
	});

	const encryptParameters = {
		outputMode: 'perRecord',
		responseTiming: 'afterWorkflow',
		encryptAtCapture: true,
		downloadMedia: true,
		options: { mediaAttempts: 2, mediaRetryDelayMs: 5 },
	};

	it.each([...deliveryFixtures, 'document-with-media', 'quarantine'])(
		'%s: archived objects decrypt (gpg) to the full records; nothing readable leaves the trigger',
		async (name) => {
			const n8n = runners[0] ?? (await runner(encryptParameters));
			const body =
				name === 'document-with-media'
					? documentDelivery('3000000000000001', documentBytes)
					: name === 'quarantine'
						? Buffer.from('{"object":"page","entry":"Robin Papertrail +15550107777 wamid.SECRETQUARANTINE"}')
						: fixtureBody(name);
			const { status, run } = await post(n8n, body);
			expect(status).toBe(200);
			expect(run?.status).toBe('success');

			const items = output(run, TRIGGER);
			const written = output(run, ARCHIVE).map((item) => item.json.archive as IDataObject);
			const expected = normalizeDelivery({ rawBody: body, receivedAt: new Date(), signatureVerified: true, graphApiVersion: graph.version, contentType: 'application/json' });
			expect(items).toHaveLength(expected.length);
			expect(written).toHaveLength(expected.length);

			const markers = name === 'quarantine' ? ['Robin Papertrail', '15550107777', 'wamid.SECRETQUARANTINE', body.toString('base64').slice(0, 40)] : plaintextMarkers(expected, body);
			expect(markers.length).toBeGreaterThan(0);
			for (const item of items) {
				const visible = JSON.stringify({ json: item.json, binary: item.binary });
				for (const marker of markers) expect(visible).not.toContain(marker);
				expect(item.json.encrypted).toBe(true);
				expect(item.json.index_key_check).toMatch(/^[0-9a-f]{16}$/);
				expect(Object.keys(item.json)).not.toEqual(expect.arrayContaining(['wamid']));
				expect(item.binary?.data).toMatchObject({ fileName: 'record.pgp', mimeType: 'application/pgp-encrypted' });
			}

			for (const [index, item] of items.entries()) {
				const key = String(written[index].key);
				expect(written[index].status).toBe('created');
				const decrypted = JSON.parse(gpgDecrypt(gpg.home, await getObjectBytes(s3, bucket, key)).toString('utf8')) as CaptureRecord;
				const { media_status, media_error, media_sha256, media_size, media_mime_type, media_sha256_verified, ...record } = decrypted;
				// received_at is the trigger's clock; timestamp_skew_seconds is measured from it
				const receipt = { received_at: 'X', timestamp_skew_seconds: 'X' };
				expect({ ...record, ...receipt }).toEqual(JSON.parse(JSON.stringify({ ...expected[index], ...receipt })));
				expect(decrypted.received_at).toBe(item.json.received_at);
				// the key from routing fields only equals the key the S3 node derives from the plaintext record
				expect(key).toBe(objectKeyForRecord({ indexKey: INDEX_KEY, prefix: 'archive', retentionClass: 'default', record: decrypted as never }).key);

				if (name === 'inbound-image-forwarded') {
					expect(media_status).toBe('failed');
					expect(media_error).toBe('media download: sha256 mismatch (after 2 attempts)');
					expect(item.json.media_status).toBe('failed');
					expect(item.binary?.media).toBeUndefined();
				}
				if (name === 'document-with-media') {
					expect({ media_status, media_sha256, media_size, media_mime_type, media_sha256_verified }).toEqual({
						media_status: 'downloaded',
						media_sha256: sha256(documentBytes),
						media_size: documentBytes.length,
						media_mime_type: 'application/pdf',
						media_sha256_verified: true,
					});
					expect(item.binary?.media).toMatchObject({ fileName: 'media.pgp', mimeType: 'application/pgp-encrypted' });
					const mediaCiphertext = await binaryBytes(item.binary!.media);
					expect(mediaCiphertext.includes(documentBytes.subarray(0, 64))).toBe(false);
					expect(gpgDecrypt(gpg.home, mediaCiphertext).equals(documentBytes)).toBe(true);
					// the S3 Archive node wrote the media beside the record, as <record id>.media.pgp
					const mediaResult = written[index].media as IDataObject;
					expect(mediaResult.status).toBe('created');
					expect(mediaResult.key).toBe(key.replace(/\.pgp$/, '.media.pgp'));
					expect(gpgDecrypt(gpg.home, await getObjectBytes(s3, bucket, String(mediaResult.key))).equals(documentBytes)).toBe(true);
				} else {
					expect(written[index].media).toBeUndefined();
				}
				if (media_status === undefined) expect(item.json.media_status).toBeUndefined();
			}
		},
	);

	it('One Item per Delivery + Encrypt at Capture + Download Media: one encrypted item, media as media_<record index>', async () => {
		const n8n = await runner({ ...encryptParameters, outputMode: 'perDelivery', responseTiming: 'immediately' }, false);
		const body = documentDelivery('3000000000000001', documentBytes);
		const { status, run } = await post(n8n, body);
		expect(status).toBe(200);
		const [item, ...rest] = output(run, TRIGGER);
		expect(rest).toHaveLength(0);
		expect(item.json).toMatchObject({ record_kind: 'delivery', type: 'delivery', encrypted: true, counterparty_pseudonym: null });
		expect(JSON.stringify(item.json)).not.toContain('Robin');
		expect(Object.keys(item.binary ?? {}).sort()).toEqual(['data', 'media_0']);
		const delivery = JSON.parse(gpgDecrypt(gpg.home, await binaryBytes(item.binary!.data)).toString('utf8'));
		expect(delivery.body_base64).toBe(body.toString('base64'));
		expect(delivery.records[0]).toMatchObject({ type: 'document', media_status: 'downloaded', media_sha256: sha256(documentBytes) });
		expect(gpgDecrypt(gpg.home, await binaryBytes(item.binary!.media_0)).equals(documentBytes)).toBe(true);
	});

	it('Encrypt at Capture without an Index Key → 500 (Meta retries), nothing emitted', async () => {
		const n8n = new InProcessN8n({
			workflow: workflow(encryptParameters, false),
			credentials: { ...credentials(), whatsAppCaptureApi: { ...credentials().whatsAppCaptureApi, indexKey: '' } },
		});
		await n8n.start();
		runners.push(n8n);
		const body = fixtureBody('inbound-text');
		const { status, run } = await post(n8n, body);
		expect(status).toBe(500);
		expect(run).toBeUndefined();
	});

	it('Download Media without encryption: plaintext binary "media" with file name and MIME type', async () => {
		const n8n = await runner({ downloadMedia: true, options: { mediaAttempts: 2, mediaRetryDelayMs: 5 } }, false);
		graph.expireNextUrls(1);
		const { status, run } = await post(n8n, documentDelivery('3000000000000001', documentBytes));
		expect(status).toBe(200);
		const [item] = output(run, TRIGGER);
		expect(item.json).toMatchObject({
			type: 'document',
			media_status: 'downloaded',
			media_sha256: sha256(documentBytes),
			media_size: documentBytes.length,
			media_sha256_verified: true,
		});
		expect(item.binary?.media).toMatchObject({ fileName: 'robin-statement-q4.pdf', mimeType: 'application/pdf' });
		expect((await binaryBytes(item.binary!.media)).equals(documentBytes)).toBe(true);
	});

	it('Download Media: a media id the Graph API does not know (HTTP 400, code 100) → media_status failed, record still emitted', async () => {
		const n8n = await runner({ downloadMedia: true, options: { mediaAttempts: 3, mediaRetryDelayMs: 5 } }, false);
		const { status, run } = await post(n8n, documentDelivery('4000000000000404', documentBytes));
		expect(status).toBe(200);
		const [item] = output(run, TRIGGER);
		expect(item.json).toMatchObject({ type: 'document', media_status: 'failed', media_error: 'media lookup: HTTP 400 (code 100)' });
		expect(item.binary).toBeUndefined();
	});
});
