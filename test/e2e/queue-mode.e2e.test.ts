/**
 * The capture template in n8n QUEUE mode: Redis (Debian redis-server) as the queue, one main process
 * (production webhooks disabled on it), one webhook process and two workers, all on one SQLite file
 * (n8n warns that scaling mode is only supported on PostgreSQL). 500 signed deliveries — 300 distinct
 * messages plus 200 duplicates, shuffled, 10 in flight — go to the webhook process; every message must
 * end up as exactly one object in the bucket, decryptable by gpg.
 *
 * A delivery answered with anything but 200, or not answered within 30 s, is sent again afterwards, as
 * Meta would (at most 3 more rounds); the first-round failures are reported.
 */
import { createHmac, randomBytes, randomUUID } from 'node:crypto';
import { readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';

import { ListObjectVersionsCommand, type S3Client } from '@aws-sdk/client-s3';

import { recordId } from '../../lib/archive';
import { createS3Client } from '../../lib/s3';
import { gpgDecrypt, makeGpgHome } from '../helpers/gpg';
import { getObjectBytes, listAllKeys, makeBucket, s3Settings } from '../helpers/s3';
import {
	api,
	E2E_DIR,
	makeUserFolder,
	PACK,
	setupOwner,
	startRedis,
	startRole,
	stopN8n,
	waitUntilNot404,
} from './helpers/n8n';

const REPO = path.resolve(__dirname, '..', '..');
const TEMPLATE = JSON.parse(
	readFileSync(path.join(REPO, 'workflows', 'whatsapp-capture-archive.json'), 'utf8'),
);
const BASE_DELIVERY = readFileSync(
	path.join(REPO, 'test', 'fixtures', 'whatsapp', 'inbound-text.json'),
	'utf8',
);

const MESSAGES = Number(process.env.E2E_QUEUE_MESSAGES || 300);
const DELIVERIES = Number(process.env.E2E_QUEUE_DELIVERIES || 500);
const IN_FLIGHT = Number(process.env.E2E_QUEUE_IN_FLIGHT || 10);

/** A delivery not answered within this time counts as failed (and is sent again). */
const ANSWER_TIMEOUT_MS = Number(process.env.E2E_QUEUE_ANSWER_TIMEOUT_MS || 30_000);

const REDIS_PORT = 6390;
const MAIN_PORT = 5678;
const WEBHOOK_PORT = 5688;

const APP_SECRET = randomBytes(16).toString('hex');
const INDEX_KEY = randomBytes(32).toString('hex');
const sign = (body: Buffer) =>
	'sha256=' + createHmac('sha256', APP_SECRET).update(body).digest('hex');

const percentile = (values: number[], p: number) => {
	const sorted = [...values].sort((a, b) => a - b);
	return sorted[Math.min(sorted.length - 1, Math.ceil((p / 100) * sorted.length) - 1)];
};

describe('template whatsapp-capture-archive in n8n queue mode (redis, main + webhook + 2 workers)', () => {
	let userFolder: string;
	let gpg: Awaited<ReturnType<typeof makeGpgHome>>;
	let s3: S3Client;
	let bucket: string;
	let webhookUrl: string;
	const results: Record<string, unknown> = {};
	const note = (key: string, value: unknown) => {
		results[key] = value;
		console.log(`[e2e queue] ${key}: ${JSON.stringify(value)}`);
	};

	const queueEnv = {
		EXECUTIONS_MODE: 'queue',
		QUEUE_BULL_REDIS_HOST: '127.0.0.1',
		QUEUE_BULL_REDIS_PORT: String(REDIS_PORT),
		N8N_WEBHOOK_URL: `http://127.0.0.1:${WEBHOOK_PORT}/`,
	};

	beforeAll(async () => {
		gpg = await makeGpgHome();
		const settings = s3Settings();
		s3 = createS3Client(settings);
		bucket = await makeBucket(s3, { objectLock: true, prefix: 'e2e-queue' });
		userFolder = makeUserFolder('queue');
		startRedis(userFolder, REDIS_PORT);
		note(
			'boot ms main',
			await startRole(userFolder, 'main', {
				...queueEnv,
				N8N_PORT: String(MAIN_PORT),
				N8N_DISABLE_PRODUCTION_MAIN_PROCESS: 'true',
			}),
		);
		const baseUrl = `http://127.0.0.1:${MAIN_PORT}`;
		const session = await setupOwner(baseUrl);
		const credential = async (type: string, data: Record<string, unknown>) =>
			(
				await api(baseUrl, session.apiKey, 'POST', '/credentials', {
					name: `${type} (e2e queue)`,
					type,
					data,
				})
			).id;
		const ids: Record<string, string> = {
			whatsAppCaptureApi: await credential('whatsAppCaptureApi', {
				appSecret: APP_SECRET,
				verifyToken: randomBytes(8).toString('hex'),
				// Encrypt at Capture (as shipped): the store credential's index key; a throw-away access
				// token (text messages only here, no media download)
				accessToken: randomBytes(8).toString('hex'),
				graphApiBaseUrl: 'http://127.0.0.1:9',
				graphApiVersion: 'v24.0',
				indexKey: INDEX_KEY,
			}),
			openPgpPublicKeysApi: await credential('openPgpPublicKeysApi', {
				publicKeys: gpg.publicKeyArmored,
				expectedFingerprints: gpg.fingerprint,
			}),
			s3ArchiveApi: await credential('s3ArchiveApi', {
				endpoint: settings.endpoint,
				region: settings.region,
				accessKeyId: settings.accessKeyId,
				secretAccessKey: settings.secretAccessKey,
				forcePathStyle: true,
				checksumMode: 'WHEN_REQUIRED',
				bucket,
				indexKey: INDEX_KEY,
			}),
		};
		const webhookId = randomUUID();
		const nodes = TEMPLATE.nodes.map((node: any) => {
			const copy = structuredClone(node);
			if (copy.webhookId) copy.webhookId = webhookId;
			for (const type of Object.keys(copy.credentials ?? {}))
				copy.credentials[type] = { id: ids[type], name: `${type} (e2e queue)` };
			return copy;
		});
		const workflow = await api(baseUrl, session.apiKey, 'POST', '/workflows', {
			name: TEMPLATE.name,
			nodes,
			connections: TEMPLATE.connections,
			settings: TEMPLATE.settings,
		});
		await api(baseUrl, session.apiKey, 'POST', `/workflows/${workflow.id}/activate`);
		expect(nodes.some((n: any) => n.type === `${PACK}.whatsAppCaptureTrigger`)).toBe(true);

		// the webhook process and both workers boot together
		const boots = await Promise.all([
			startRole(userFolder, 'webhook', {
				...queueEnv,
				N8N_PORT: String(WEBHOOK_PORT),
				N8N_RUNNERS_BROKER_PORT: String(WEBHOOK_PORT + 1),
			}),
			...[1, 2].map((n) =>
				startRole(userFolder, `worker-${n}`, {
					...queueEnv,
					QUEUE_HEALTH_CHECK_ACTIVE: 'true',
					QUEUE_HEALTH_CHECK_PORT: String(5690 + 2 * n),
					N8N_RUNNERS_BROKER_PORT: String(5691 + 2 * n),
					N8N_WORKER_CONCURRENCY: '5',
				}),
			),
		]);
		note('boot ms webhook, worker-1, worker-2 (in parallel)', boots);
		webhookUrl = `http://127.0.0.1:${WEBHOOK_PORT}/webhook/${webhookId}/webhook`;
		note(
			'webhook live on the webhook process after ms',
			await waitUntilNot404(
				() => fetch(`${webhookUrl}?hub.mode=subscribe&hub.verify_token=x&hub.challenge=1`),
				30_000,
			),
		);
		// the main process does not serve production webhooks
		const onMain = await fetch(`${baseUrl}/webhook/${webhookId}/webhook`, {
			method: 'POST',
			body: '{}',
		});
		note('POST to the main process (production webhooks disabled there)', onMain.status);
	});

	afterAll(async () => {
		if (userFolder) stopN8n(userFolder);
		await gpg?.cleanup();
		writeFileSync(
			path.join(E2E_DIR, 'results-queue.json'),
			JSON.stringify({ ...results, bucket }, null, 2),
		);
	});

	it(`${DELIVERIES} signed deliveries of ${MESSAGES} messages (duplicates, ${IN_FLIGHT} in flight) → exactly one object per message`, async () => {
		// MESSAGES distinct messages, then DELIVERIES - MESSAGES duplicates of random ones, shuffled
		const messages = Array.from({ length: MESSAGES }, (_, i) => {
			const delivery = JSON.parse(BASE_DELIVERY);
			const wamid = `wamid.QUEUE${i.toString().padStart(5, '0')}${randomBytes(8).toString('hex')}`;
			delivery.entry[0].changes[0].value.messages[0].id = wamid;
			delivery.entry[0].changes[0].value.messages[0].text.body = `queue message ${i}`;
			return { wamid, raw: Buffer.from(JSON.stringify(delivery)) };
		});
		const order = [
			...messages.map((_, i) => i),
			...Array.from({ length: DELIVERIES - MESSAGES }, () => Math.floor(Math.random() * MESSAGES)),
		];
		for (let i = order.length - 1; i > 0; i--) {
			const j = Math.floor(Math.random() * (i + 1));
			[order[i], order[j]] = [order[j], order[i]];
		}

		const send = async (index: number) => {
			const { raw } = messages[index];
			const t0 = Date.now();
			try {
				const response = await fetch(webhookUrl, {
					method: 'POST',
					headers: { 'content-type': 'application/json', 'x-hub-signature-256': sign(raw) },
					body: new Uint8Array(raw),
					// Meta gives up on an unanswered delivery and retries it later
					signal: AbortSignal.timeout(ANSWER_TIMEOUT_MS),
				});
				const text = await response.text();
				return { status: response.status, ms: Date.now() - t0, text };
			} catch (error) {
				return { status: 0, ms: Date.now() - t0, text: String(error) };
			}
		};
		const runRound = async (indices: number[]) => {
			const answers: Array<{ index: number; status: number; ms: number; text: string }> = [];
			let next = 0;
			await Promise.all(
				Array.from({ length: IN_FLIGHT }, async () => {
					while (next < indices.length) {
						const index = indices[next++];
						answers.push({ index, ...(await send(index)) });
					}
				}),
			);
			return answers;
		};

		const t0 = Date.now();
		const first = await runRound(order);
		const wallMs = Date.now() - t0;
		const failed = first.filter((a) => a.status !== 200);
		const latencies = first.map((a) => a.ms);
		note('round 1', {
			deliveries: first.length,
			wallMs,
			perSecond: Math.round((first.length / wallMs) * 10000) / 10,
			medianMs: percentile(latencies, 50),
			p99Ms: percentile(latencies, 99),
			statuses: first.reduce<Record<number, number>>(
				(acc, a) => ({ ...acc, [a.status]: (acc[a.status] ?? 0) + 1 }),
				{},
			),
			failureSample: failed.slice(0, 3).map((a) => `${a.status} ${a.text.slice(0, 200)}`),
		});
		// Meta retries what was not acknowledged
		let retry = [...new Set(failed.map((a) => a.index))];
		for (let round = 2; round <= 4 && retry.length; round++) {
			const answers = await runRound(retry);
			note(`round ${round} (retries)`, {
				deliveries: answers.length,
				non200: answers.filter((a) => a.status !== 200).length,
			});
			retry = [...new Set(answers.filter((a) => a.status !== 200).map((a) => a.index))];
		}
		expect(retry).toEqual([]);

		// which worker ran what (n8n's own log lines)
		note(
			'executions finished per worker',
			[1, 2].map(
				(n) =>
					(
						readFileSync(path.join(userFolder, `n8n-worker-${n}.log`), 'utf8').match(
							/^Worker finished execution/gm,
						) ?? []
					).length,
			),
		);
		note(
			'SQLITE_BUSY lines in the worker logs',
			[1, 2].reduce(
				(sum, n) =>
					sum +
					(
						readFileSync(path.join(userFolder, `n8n-worker-${n}.log`), 'utf8').match(
							/SQLITE_BUSY/g,
						) ?? []
					).length,
				0,
			),
		);

		const all = await listAllKeys(s3, bucket);
		// nothing refused by Archive Record (its error output goes to Quarantine Record)
		note('quarantined objects', all.filter((k) => k.startsWith('quarantine/')).length);
		expect(all.filter((k) => k.startsWith('quarantine/'))).toEqual([]);
		const keys = all.filter((k) => k.endsWith('.pgp'));
		const expectedIds = new Set(
			messages.map((m) =>
				recordId({ indexKey: INDEX_KEY, idempotencyKey: `106000000000002:${m.wamid}` }),
			),
		);
		const foundIds = keys.map((k) => path.basename(k, '.pgp'));
		const versions = await countVersions(s3, bucket);
		note('objects / distinct messages / object versions', [keys.length, MESSAGES, versions]);
		expect(new Set(foundIds).size).toBe(foundIds.length);
		expect(new Set(foundIds)).toEqual(expectedIds);

		// a sample decrypts with gpg to the message it belongs to
		for (const index of [0, Math.floor(MESSAGES / 2), MESSAGES - 1]) {
			const id = recordId({
				indexKey: INDEX_KEY,
				idempotencyKey: `106000000000002:${messages[index].wamid}`,
			});
			const key = keys.find((k) => k.endsWith(`/${id}.pgp`))!;
			const record = JSON.parse(
				gpgDecrypt(gpg.home, await getObjectBytes(s3, bucket, key)).toString('utf8'),
			);
			expect(record.wamid).toBe(messages[index].wamid);
			expect(record.content).toEqual({ body: `queue message ${index}` });
		}
	}, 900_000);
});

async function countVersions(s3: S3Client, bucket: string): Promise<number> {
	let count = 0;
	let keyMarker: string | undefined;
	let versionMarker: string | undefined;
	for (;;) {
		const page = await s3.send(
			new ListObjectVersionsCommand({
				Bucket: bucket,
				KeyMarker: keyMarker,
				VersionIdMarker: versionMarker,
			}),
		);
		count += (page.Versions ?? []).filter((v) => v.Key?.endsWith('.pgp')).length;
		if (!page.IsTruncated) return count;
		keyMarker = page.NextKeyMarker;
		versionMarker = page.NextVersionIdMarker;
	}
}
