/**
 * Benchmark: webhook acknowledgement latency of the capture template in a real n8n 2.x (regular mode,
 * SQLite), as Meta sees it — the time from sending a signed delivery to receiving n8n's answer.
 *
 *   bash scripts/n8n-e2e.sh bench        (installs n8n, starts the local store, packs the pack, runs this)
 *
 * Two copies of the template run side by side (own webhook ids): "Respond: After Workflow Finished"
 * (the template: 200 only once the record is archived) and "Respond: Immediately" (200 once the
 * signature is verified). For each: 50 deliveries one after the other, then 50 at once; every
 * delivery is a distinct message (fresh wamid), so each one is encrypted and written. Results are
 * printed and written to $E2E_DIR/bench-webhook-latency.json.
 */
import { createHmac, randomBytes, randomUUID } from 'node:crypto';
import { readFileSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';

import { createS3Client } from '../lib/s3';
import {
	api,
	E2E_DIR,
	makeUserFolder,
	setupOwner,
	startN8n,
	stopN8n,
	waitUntilNot404,
} from '../test/e2e/helpers/n8n';
import { makeGpgHome } from '../test/helpers/gpg';
import { listAllKeys, makeBucket, s3Settings } from '../test/helpers/s3';

const REPO = path.resolve(__dirname, '..');
const TEMPLATE = JSON.parse(
	readFileSync(path.join(REPO, 'workflows', 'whatsapp-capture-archive.json'), 'utf8'),
);
const BASE_DELIVERY = readFileSync(
	path.join(REPO, 'test', 'fixtures', 'whatsapp', 'inbound-text.json'),
	'utf8',
);
const N = Number(process.env.BENCH_REQUESTS || 50);

const APP_SECRET = randomBytes(16).toString('hex');
const INDEX_KEY = randomBytes(32).toString('hex');
const sign = (body: Buffer) =>
	'sha256=' + createHmac('sha256', APP_SECRET).update(body).digest('hex');

function delivery(): Buffer {
	const d = JSON.parse(BASE_DELIVERY);
	d.entry[0].changes[0].value.messages[0].id = `wamid.BENCH${randomBytes(12).toString('hex')}`;
	return Buffer.from(JSON.stringify(d));
}

const percentile = (values: number[], p: number) => {
	const sorted = [...values].sort((a, b) => a - b);
	return sorted[Math.min(sorted.length - 1, Math.ceil((p / 100) * sorted.length) - 1)];
};

async function post(url: string): Promise<{ status: number; ms: number }> {
	const body = delivery();
	const t0 = performance.now();
	const response = await fetch(url, {
		method: 'POST',
		headers: { 'content-type': 'application/json', 'x-hub-signature-256': sign(body) },
		body: new Uint8Array(body),
	});
	await response.arrayBuffer();
	return { status: response.status, ms: performance.now() - t0 };
}

function summary(answers: Array<{ status: number; ms: number }>, wallMs: number) {
	const ms = answers.map((a) => a.ms);
	return {
		requests: answers.length,
		non200: answers.filter((a) => a.status !== 200).length,
		wallMs: Math.round(wallMs),
		medianMs: Math.round(percentile(ms, 50)),
		p99Ms: Math.round(percentile(ms, 99)),
		maxMs: Math.round(Math.max(...ms)),
	};
}

async function main() {
	const gpg = await makeGpgHome();
	const settings = s3Settings();
	const s3 = createS3Client(settings);
	const bucket = await makeBucket(s3, { objectLock: true, prefix: 'bench' });
	const userFolder = makeUserFolder('bench');
	try {
		const n8n = startN8n(userFolder);
		const session = await setupOwner(n8n.baseUrl);
		const credential = async (type: string, data: Record<string, unknown>) =>
			(
				await api(n8n.baseUrl, session.apiKey, 'POST', '/credentials', {
					name: `${type} (bench)`,
					type,
					data,
				})
			).id;
		const ids: Record<string, string> = {
			whatsAppCaptureApi: await credential('whatsAppCaptureApi', {
				appSecret: APP_SECRET,
				verifyToken: randomBytes(8).toString('hex'),
				// Encrypt at Capture (as shipped): the store credential's index key; throw-away access token
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
		const results: Record<string, unknown> = {
			n8n: '2.40.7 regular mode, SQLite',
			host: { cpus: os.cpus().length, loadavg: os.loadavg().map((l) => Math.round(l * 10) / 10) },
		};
		for (const responseTiming of ['afterWorkflow', 'immediately']) {
			const webhookId = randomUUID();
			const nodes = TEMPLATE.nodes.map((node: any) => {
				const copy = structuredClone(node);
				if (copy.webhookId) {
					copy.webhookId = webhookId;
					copy.parameters = { ...copy.parameters, responseTiming };
				}
				for (const type of Object.keys(copy.credentials ?? {}))
					copy.credentials[type] = { id: ids[type], name: `${type} (bench)` };
				return copy;
			});
			const workflow = await api(n8n.baseUrl, session.apiKey, 'POST', '/workflows', {
				name: `${TEMPLATE.name} (${responseTiming})`,
				nodes,
				connections: TEMPLATE.connections,
				settings: TEMPLATE.settings,
			});
			await api(n8n.baseUrl, session.apiKey, 'POST', `/workflows/${workflow.id}/activate`);
			const url = `${n8n.baseUrl}/webhook/${webhookId}/webhook`;
			await waitUntilNot404(() =>
				fetch(`${url}?hub.mode=subscribe&hub.verify_token=x&hub.challenge=1`),
			);
			await post(url); // warm-up

			const sequential: Array<{ status: number; ms: number }> = [];
			let t0 = performance.now();
			for (let i = 0; i < N; i++) sequential.push(await post(url));
			const sequentialWall = performance.now() - t0;
			await new Promise((r) => setTimeout(r, 3000)); // let "immediately" runs drain
			t0 = performance.now();
			const concurrent = await Promise.all(Array.from({ length: N }, () => post(url)));
			const concurrentWall = performance.now() - t0;
			await new Promise((r) => setTimeout(r, responseTiming === 'immediately' ? 20_000 : 0));
			results[responseTiming] = {
				sequential: summary(sequential, sequentialWall),
				concurrent: summary(concurrent, concurrentWall),
			};
			console.log(`[bench] ${responseTiming}: ${JSON.stringify(results[responseTiming])}`);
		}
		const objects = (await listAllKeys(s3, bucket)).length;
		results.objectsWritten = objects;
		results.expectedObjects = 2 * (2 * N + 1);
		writeFileSync(
			path.join(E2E_DIR, 'bench-webhook-latency.json'),
			JSON.stringify(results, null, 2),
		);
		console.log(JSON.stringify(results, null, 2));
	} finally {
		stopN8n(userFolder);
		await gpg.cleanup();
	}
}

main().catch((error) => {
	console.error(error);
	process.exit(1);
});
