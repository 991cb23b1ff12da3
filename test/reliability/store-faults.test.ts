/**
 * Store faults, through a fault-injecting proxy on loopback in front of RGW (helpers/fault-proxy.ts):
 * 5xx answers, the store stopped mid-upload / mid-multipart / mid-sweep, responses lost after the
 * store acted, slow and stalled responses. Checked: clear errors (operation, bucket, code, HTTP
 * status), the AWS SDK's retries with backoff, no partial object and no incomplete multipart upload,
 * a rerun after recovery completes, and no record lost (count and compare after recovery).
 */
import { createHash, randomBytes } from 'node:crypto';
import { Readable } from 'node:stream';

import type { S3Client } from '@aws-sdk/client-s3';

import { writeObject, writeObjectStream } from '../../lib/archive';
import { createS3Client } from '../../lib/s3';
import { executeSweep, planSweep } from '../../lib/retention';
import { getObjectBytes, listAllKeys } from '../helpers/s3';
import { expectedSurvivors, writePopulation } from '../lib/retention/population';
import { record } from './helpers/counters';
import { expectedRecordCount, fixtureMarkers, fixtures, idempotencyKeys } from './helpers/deliveries';
import { FaultProxy, type ProxiedRequest } from './helpers/fault-proxy';
import { startPipeline } from './helpers/pipeline';
import { errorText, findSecrets, liveHttpPath, OutputCapture } from './helpers/secrets';
import { listIncompleteUploads, listVersions, SuiteStore } from './helpers/store';

const store = new SuiteStore();
const capture = new OutputCapture();
const errorTexts: string[] = [];
const extraSecrets: Record<string, string> = {};
let proxy: FaultProxy;
let viaProxy: S3Client;

beforeAll(async () => {
	proxy = new FaultProxy();
	await proxy.start();
	viaProxy = createS3Client({ ...store.settings, endpoint: proxy.url });
	capture.install();
});

afterAll(async () => {
	capture.uninstall();
	viaProxy?.destroy();
	await proxy?.stop();
	const leaks = findSecrets([...capture.chunks, ...errorTexts], {
		accessKeyId: store.settings.accessKeyId,
		secretAccessKey: store.settings.secretAccessKey,
		...extraSecrets,
	});
	const atRest = await store.scan(fixtureMarkers());
	record({ category: 'store faults: secrets/plaintext', tried: errorTexts.length, passed: errorTexts.length - leaks.length, lost: 0, leaked: leaks.length + atRest.length, note: `${errorTexts.length} errors and ${capture.chunks.length} output chunks scanned` });
	expect(await store.cleanup()).toEqual([]);
	expect(leaks).toEqual([]);
	expect(atRest).toEqual([]);
});

beforeEach(() => proxy.heal());

/** Runs `fn`, expecting it to throw; keeps the error's full text for the secrets scan. */
async function failure(fn: () => Promise<unknown>): Promise<Error & { code?: string; httpStatusCode?: number }> {
	try {
		await fn();
	} catch (error) {
		errorTexts.push(errorText(error));
		return error as Error & { code?: string; httpStatusCode?: number };
	}
	throw new Error('expected a failure, the call succeeded');
}

const body = () => randomBytes(2048);
const key = () => `archive/default/106000000000002/2026/01/01/_unknown/${randomBytes(16).toString('hex')}.pgp`;
const gaps = (times: number[]) => times.slice(1).map((t, i) => t - times[i]);

describe('single PutObject (writeObject)', () => {
	let bucket: string;
	beforeAll(async () => {
		bucket = await store.bucket({ objectLock: true });
	});

	it('503 twice → the SDK retries with backoff and the write succeeds once', async () => {
		const k = key();
		proxy.fault({ kind: 'status', status: 503, code: 'SlowDown', match: 'PutObject', count: 2 });
		const before = proxy.requests('PutObject').length;
		const result = await writeObject({ client: viaProxy, bucket, key: k, body: body() });
		const attempts = proxy.requests('PutObject').slice(before);
		expect(result.status).toBe('created');
		expect(attempts.map((a) => a.status)).toEqual([503, 503, 200]);
		expect(gaps(attempts.map((a) => a.at)).every((g) => g >= 1)).toBe(true);
		expect(await listVersions(store.client, bucket, k)).toHaveLength(1);
		record({ category: 'store faults: 5xx, retried', tried: 1, passed: 1, lost: 0, leaked: 0, note: `3 attempts, gaps ${gaps(attempts.map((a) => a.at)).join('/')} ms` });
	});

	it('503 until the store recovers → clear error after 3 attempts, nothing stored; rerun after recovery → one object', async () => {
		const k = key();
		const bytes = body();
		proxy.fault({ kind: 'status', status: 503, code: 'ServiceUnavailable', match: 'PutObject' });
		const before = proxy.requests('PutObject').length;
		const error = await failure(() => writeObject({ client: viaProxy, bucket, key: k, body: bytes }));
		expect(proxy.requests('PutObject').length - before).toBe(3);
		expect(error.name).toBe('ArchiveError');
		expect(error.code).toBe('ServiceUnavailable');
		expect(error.httpStatusCode).toBe(503);
		expect(error.message).toContain(`PutObject s3://${bucket}/${k} failed: ServiceUnavailable (HTTP 503)`);
		expect(await listVersions(store.client, bucket, k)).toHaveLength(0);
		proxy.heal();
		expect((await writeObject({ client: viaProxy, bucket, key: k, body: bytes })).status).toBe('created');
		expect(await getObjectBytes(store.client, bucket, k)).toEqual(bytes);
		record({ category: 'store faults: 5xx persistent', tried: 1, passed: 1, lost: 0, leaked: 0 });
	});

	it('store stopped mid-upload once → retried, one intact object', async () => {
		const k = key();
		const bytes = body();
		proxy.fault({ kind: 'reset', match: 'PutObject', count: 1 });
		const result = await writeObject({ client: viaProxy, bucket, key: k, body: bytes });
		expect(result.status).toBe('created');
		expect(await listVersions(store.client, bucket, k)).toHaveLength(1);
		expect(await getObjectBytes(store.client, bucket, k)).toEqual(bytes);
		record({ category: 'store faults: reset mid-upload', tried: 1, passed: 1, lost: 0, leaked: 0 });
	});

	it('store down (connections refused) → clear network error, nothing stored; rerun after recovery → one object', async () => {
		const k = key();
		const bytes = body();
		proxy.fault({ kind: 'refuse' });
		const error = await failure(() => writeObject({ client: viaProxy, bucket, key: k, body: bytes }));
		expect(error.name).toBe('ArchiveError');
		expect(error.message).toMatch(new RegExp(`^(HeadObject|PutObject) s3://${bucket}/`));
		expect(error.message).toMatch(/ECONNRESET|socket hang up|EPIPE|ECONNREFUSED/);
		proxy.heal();
		expect(await listVersions(store.client, bucket, k)).toHaveLength(0);
		expect((await writeObject({ client: viaProxy, bucket, key: k, body: bytes })).status).toBe('created');
		expect(await listVersions(store.client, bucket, k)).toHaveLength(1);
		record({ category: 'store faults: store down', tried: 1, passed: 1, lost: 0, leaked: 0 });
	});

	it('slow store (1.5 s per response) → the write succeeds, once', async () => {
		const k = key();
		proxy.fault({ kind: 'delay', ms: 1500 });
		const started = Date.now();
		expect((await writeObject({ client: viaProxy, bucket, key: k, body: body() })).status).toBe('created');
		expect(Date.now() - started).toBeGreaterThanOrEqual(2900); // PutObject + ListObjectVersions (Object Lock bucket)
		proxy.heal();
		expect(await listVersions(store.client, bucket, k)).toHaveLength(1);
		record({ category: 'store faults: slow responses', tried: 1, passed: 1, lost: 0, leaked: 0 });
	});

	// The store stored the PUT but the response was lost (connection cut after the store acted): the
	// SDK retries the PUT. On a versioned bucket RGW ignores If-None-Match, so the retry stores a
	// second version of the same ciphertext; the caller sees `created`. Measured and reported.
	it.each([
		['versioned', { objectLock: true }],
		['unversioned', { objectLock: false }],
	] as const)('response lost after the store wrote (%s bucket) → measured', async (label, options) => {
		const b = await store.bucket(options);
		const k = key();
		proxy.fault({ kind: 'dropResponse', match: 'PutObject', count: 1 });
		const result = await writeObject({ client: viaProxy, bucket: b, key: k, body: body() });
		proxy.heal();
		const versions = await listVersions(store.client, b, k);
		record({ category: 'store faults: response lost', tried: 1, passed: versions.length === 1 ? 1 : 0, lost: 0, leaked: 0, note: `${label}: result ${result.status}, ${versions.length} version(s)` });
		expect(['created', 'duplicate']).toContain(result.status);
		expect(versions.length).toBeGreaterThanOrEqual(1); // never lost
		if (!options.objectLock) expect(versions).toHaveLength(1);
	});

	// A store that accepts the connection and never answers: the AWS SDK's Node handler sets no
	// timeout of its own, so only the client's time limits (lib/s3 createS3Client) end the write
	// (and the S3 Archive node, and a webhook answered after the workflow).
	it('a stalled store (accepts, never answers) → the write fails within 20 s', async () => {
		const k = key();
		// a bucket without Object Lock: the write starts with its HeadObject pre-check
		const plain = await store.bucket({ objectLock: false });
		proxy.fault({ kind: 'stall', match: 'HeadObject' });
		const pending = writeObject({ client: viaProxy, bucket: plain, key: k, body: body() });
		const outcome = await Promise.race([
			pending.then(
				() => 'resolved',
				(error) => {
					errorTexts.push(errorText(error));
					return 'rejected';
				},
			),
			new Promise((resolve) => setTimeout(() => resolve('still waiting after 20 s'), 20_000)),
		]);
		proxy.heal(); // the stalled request is cut: the SDK retries and the write settles
		await Promise.race([pending.catch(() => {}), new Promise((resolve) => setTimeout(resolve, 10_000))]);
		record({ category: 'store faults: stalled store', tried: 1, passed: outcome === 'rejected' ? 1 : 0, lost: 0, leaked: 0, note: String(outcome) });
		expect(outcome).toBe('rejected');
		expect(errorTexts[errorTexts.length - 1]).toMatch(/HeadObject s3:\/\/\S+ failed: TimeoutError/);
	}, 30_000);
});

// An AWS SDK error's `$response.body` is the live IncomingMessage, and through its socket
// (`socket._httpMessage._header`) the signed request headers are reachable: `Authorization:
// AWS4-HMAC-SHA256 Credential=<access key id>/…` and, with temporary credentials,
// `x-amz-security-token`. A store error must keep only a plain copy of it as `cause`, so that a logger
// or error tracker that serializes errors deeply cannot leak them.
it('a store error keeps no live HTTP object (socket, request headers) reachable', async () => {
	const bucket = await store.bucket({ versioning: true });
	proxy.fault({ kind: 'status', status: 503, match: 'PutObject' });
	const error = await failure(() => writeObject({ client: viaProxy, bucket, key: key(), body: body() }));
	const path = liveHttpPath(error);
	record({ category: 'errors keep live HTTP objects', tried: 1, passed: path ? 0 : 1, lost: 0, leaked: path ? 1 : 0, note: path ?? 'none' });
	expect(path).toBeNull();
	// the cause is a plain copy of the SDK error: code, message, status, request id, attempts
	expect(error.cause).toMatchObject({ Code: 'ServiceUnavailable', $metadata: { httpStatusCode: 503, attempts: 3 } });
	expect(error.cause).not.toHaveProperty('$response');
});

describe('multipart upload (writeObjectStream, 12 MiB in 5 MiB parts)', () => {
	let bucket: string;
	const big = randomBytes(12 * 1024 * 1024);
	const open = () => Readable.from([big.subarray(0, 4 << 20), big.subarray(4 << 20, 9 << 20), big.subarray(9 << 20)]);
	beforeAll(async () => {
		bucket = await store.bucket({ objectLock: true });
	});

	it('UploadPart answered 503 until recovery → clear error, upload aborted, nothing left; rerun → one intact object', async () => {
		const k = key();
		proxy.fault({ kind: 'status', status: 503, code: 'ServiceUnavailable', match: 'UploadPart' });
		const error = await failure(() => writeObjectStream({ client: viaProxy, bucket, key: k, openBody: open, partSize: 5 << 20 }));
		expect(error.message).toContain(`MultipartUpload s3://${bucket}/${k} failed`);
		expect(proxy.requests('AbortMultipartUpload').length).toBeGreaterThanOrEqual(1);
		expect(await listIncompleteUploads(store.client, bucket)).toEqual([]);
		expect(await listVersions(store.client, bucket, k)).toHaveLength(0);
		proxy.heal();
		const result = await writeObjectStream({ client: viaProxy, bucket, key: k, openBody: open, partSize: 5 << 20 });
		expect(result.status).toBe('created');
		const stored = await getObjectBytes(store.client, bucket, k);
		expect(createHash('sha256').update(stored).digest('hex')).toBe(createHash('sha256').update(big).digest('hex'));
		record({ category: 'store faults: multipart 5xx', tried: 1, passed: 1, lost: 0, leaked: 0 });
	});

	it('a part cut mid-body once → retried, one intact object', async () => {
		const k = key();
		proxy.fault({ kind: 'reset', match: 'UploadPart', count: 1 });
		const result = await writeObjectStream({ client: viaProxy, bucket, key: k, openBody: open, partSize: 5 << 20 });
		expect(result.status).toBe('created');
		expect(result.size).toBe(big.length);
		expect(await listIncompleteUploads(store.client, bucket)).toEqual([]);
		record({ category: 'store faults: multipart reset once', tried: 1, passed: 1, lost: 0, leaked: 0 });
	});

	// The store stops after the first part (every later request, AbortMultipartUpload included, is
	// refused), then comes back. The write fails with a clear error; the rerun aborts the incomplete
	// upload the first attempt left behind (its abort could not reach the store) and stores the object.
	// Uploads never retried are the lifecycle rule's job (AbortIncompleteMultipartUpload).
	it('store stopped mid-multipart, then back → rerun stores one object and no incomplete upload remains', async () => {
		const k = key();
		let parts = 0;
		proxy.fault({
			kind: 'refuse',
			match: (r) => {
				if (r.operation === 'UploadPart') parts += 1;
				return parts > 1;
			},
		});
		const error = await failure(() => writeObjectStream({ client: viaProxy, bucket, key: k, openBody: open, partSize: 5 << 20 }));
		expect(error.message).toContain(`s3://${bucket}/${k}`);
		proxy.heal();
		expect(await listVersions(store.client, bucket, k)).toHaveLength(0);
		const result = await writeObjectStream({ client: viaProxy, bucket, key: k, openBody: open, partSize: 5 << 20 });
		expect(result.status).toBe('created');
		expect(await listVersions(store.client, bucket, k)).toHaveLength(1);
		expect(createHash('sha256').update(await getObjectBytes(store.client, bucket, k)).digest('hex')).toBe(createHash('sha256').update(big).digest('hex'));
		const left = await listIncompleteUploads(store.client, bucket);
		record({ category: 'store faults: stopped mid-multipart', tried: 1, passed: left.length === 0 ? 1 : 0, lost: 0, leaked: 0, note: `${left.length} incomplete upload(s) left after recovery and rerun` });
		expect(left).toEqual([]);
	});
});

describe('the template workflow (Archive at Capture, Quarantine Record), store failing', () => {
	// Every write refused: the trigger cannot store the records and emits them (still encrypted, with
	// the store's error) to Quarantine Record, whose write is refused too, so the run fails and the
	// answer is 500: Meta retries.
	it('503 until recovery → webhook answered 500 (Meta retries) with a clear node error; the retry after recovery archives every record', async () => {
		const bucket = await store.bucket({ objectLock: true });
		const pipeline = await startPipeline({ endpoint: proxy.url, bucket });
		Object.assign(extraSecrets, { appSecret: pipeline.appSecret, indexKey: pipeline.indexKey, gpgSecretKey: pipeline.secrets.gpgSecretKey });
		try {
			const deliveries = fixtures.map((f) => f.body);
			proxy.fault({ kind: 'status', status: 503, code: 'ServiceUnavailable', match: 'PutObject' });
			let recordsIn = 0;
			for (const b of deliveries) {
				const { status, run, emitted, versions } = await pipeline.postSigned(b);
				expect(status).toBe(500);
				const error = run?.data.resultData.error as (Error & { description?: string; httpCode?: string }) | undefined;
				errorTexts.push(errorText(error));
				expect(error?.name).toBe('NodeApiError');
				expect(error?.message).toMatch(/PutObject s3:\/\/\S+ failed: ServiceUnavailable \(HTTP 503\)/);
				expect(error?.httpCode).toBe('503');
				// every record of the delivery emitted, with the store's error
				expect(emitted).toHaveLength(expectedRecordCount(b).modeled ? expectedRecordCount(b).count : idempotencyKeys(b).length);
				for (const e of emitted) {
					errorTexts.push(JSON.stringify(e.fields.error));
					expect(e.fields.error).toMatchObject({ code: 'ServiceUnavailable' });
				}
				expect(versions).toEqual([]);
				recordsIn += emitted.length;
			}
			expect(await listAllKeys(store.client, bucket)).toEqual([]);
			proxy.heal();
			// Meta's retry of every delivery
			let archived = 0;
			for (const b of deliveries) {
				const delivery = await pipeline.postSigned(b);
				expect(delivery.status).toBe(200);
				expect(delivery.run).toBeUndefined(); // all stored at capture
				archived += delivery.archived.length;
			}
			// records only: the identity links (`_identities/`) they name are written beside them
			const keys = (await listAllKeys(store.client, bucket)).filter((key) => !key.includes('/_identities/'));
			record({ category: 'store faults: node, 503 then retry', tried: recordsIn, passed: keys.length, lost: recordsIn - keys.length, leaked: 0 });
			expect(archived).toBe(recordsIn);
			expect(keys).toHaveLength(recordsIn);
		} finally {
			await pipeline.stop();
		}
	});

	// With the template's settings, n8n saves the data of every failed execution
	// (`saveDataErrorExecution: "all"`). This was a finding (plaintext records in every saved error
	// execution, i.e. every store outage wrote plaintext into n8n's database); the template now encrypts
	// at capture, so the trigger emits ciphertext and routing fields only and the saved run data holds no
	// plaintext. The in-process runner returns exactly the run data n8n would save.
	it('a failed archive run leaves no plaintext in the execution data n8n saves', async () => {
		const bucket = await store.bucket({ versioning: true });
		const pipeline = await startPipeline({ endpoint: proxy.url, bucket });
		try {
			proxy.fault({ kind: 'status', status: 503, match: 'PutObject' });
			const text = fixtures.find((f) => f.name === 'inbound-text')!.body;
			const { status, run } = await pipeline.postSigned(text);
			expect(status).toBe(500);
			expect(run).toBeDefined(); // the run data n8n saves: scanned below
			const settings = pipeline.n8n.workflow.settings as { saveDataErrorExecution?: string };
			const saved = settings.saveDataErrorExecution === 'none' ? '' : JSON.stringify(run?.data ?? {});
			const hits = fixtureMarkers().filter((m) => saved.includes(m));
			record({ category: 'saved error execution', tried: 1, passed: hits.length ? 0 : 1, lost: 0, leaked: hits.length, note: `saveDataErrorExecution=${settings.saveDataErrorExecution}; ${hits.length} plaintext markers in the saved run data` });
			expect(hits).toEqual([]);
		} finally {
			await pipeline.stop();
		}
	});

	// Archive at Capture cannot store the records (the store refuses writes under the archive prefix, and
	// only there): the trigger emits them, still encrypted, with the store's error, and Quarantine Record
	// keeps that ciphertext under `quarantine/`, so the delivery is answered 200 and nothing is lost.
	it('archive writes refused, quarantine writes accepted → 200, every record kept encrypted under quarantine/', async () => {
		const bucket = await store.bucket({ objectLock: true });
		const pipeline = await startPipeline({ endpoint: proxy.url, bucket });
		Object.assign(extraSecrets, { appSecret: pipeline.appSecret, indexKey: pipeline.indexKey, gpgSecretKey: pipeline.secrets.gpgSecretKey });
		try {
			const intoArchive = (r: ProxiedRequest) => r.operation === 'PutObject' && new URL(r.url, 'http://proxy').pathname.startsWith(`/${bucket}/archive/`);
			proxy.fault({ kind: 'status', status: 503, code: 'ServiceUnavailable', match: intoArchive });
			const body = fixtures.find((f) => f.name === 'location-and-reaction-batch')!.body;
			const delivery = await pipeline.postSigned(body);
			for (const e of delivery.emitted) errorTexts.push(JSON.stringify(e.fields.error));
			const kept = delivery.quarantined.length;
			record({ category: 'store faults: archive refused → quarantine', tried: delivery.emitted.length, passed: kept, lost: delivery.emitted.length - kept, leaked: 0, note: `HTTP ${delivery.status}, ${kept} kept under quarantine/` });
			expect(delivery.status).toBe(200);
			expect(proxy.log.some((r) => r.fault === 'status' && intoArchive(r))).toBe(true); // the archive write was attempted
			expect(delivery.archived).toEqual([]);
			expect(delivery.emitted).toHaveLength(expectedRecordCount(body).modeled ? expectedRecordCount(body).count : idempotencyKeys(body).length);
			for (const e of delivery.emitted) expect(e.fields.error).toMatchObject({ code: 'ServiceUnavailable' });
			// what Quarantine Record stored decrypts to the records the trigger emitted, one object each
			const byKey = (a: { idempotency_key?: unknown }, b: { idempotency_key?: unknown }) => String(a.idempotency_key).localeCompare(String(b.idempotency_key));
			expect(delivery.quarantined.map((q) => q.record).sort(byKey)).toEqual(delivery.emitted.map((e) => e.record).sort(byKey));
			for (const q of delivery.quarantined) expect(q.key).toMatch(/^quarantine\/\d{4}\/\d{2}\/\d{2}\/[0-9a-f]{64}-\d+\.pgp$/);
			expect(delivery.quarantineWrites.map((w) => `${String(w.key)}#${String(w.versionId)}`).sort()).toEqual(delivery.quarantined.map((q) => `${q.key}#${q.versionId}`).sort());
			expect(delivery.quarantineWrites.every((w) => w.status === 'created')).toBe(true);
		} finally {
			await pipeline.stop();
		}
	});
});

describe('retention sweep, store stopped mid-sweep', () => {
	const POLICY = { prefix: 'archive', classes: [{ name: 'default', retention: 'P1Y' }, { name: 'mifid', retention: 'P5Y' }] };

	it.each([
		['store stopped after the 2nd DeleteObjects batch', 'refuse' as const],
		['2nd DeleteObjects done by the store, its response lost', 'dropResponse' as const],
	])('%s → the run fails or reports skips, the rerun completes, 0 wrong deletions', async (_label, kind) => {
		const bucket = await store.bucket({ objectLock: true });
		const truths = await writePopulation({
			client: store.client,
			bucket,
			prefix: 'archive',
			classes: { default: 1, mifid: 5 },
			count: 40,
			seed: kind === 'refuse' ? 91 : 92,
			matterPhoneNumberId: '1099900001',
			kinds: ['plain', 'plain', 'governance', 'legalHold', 'deleteMarker', 'media'],
		});
		const plan = await planSweep({ client: store.client, bucket, policy: POLICY });
		expect(plan.deletions.length).toBeGreaterThan(10);
		let batches = 0;
		proxy.fault({
			kind,
			match: (r) => {
				if (r.operation === 'DeleteObjects') batches += 1;
				return kind === 'refuse' ? batches > 2 : r.operation === 'DeleteObjects' && batches === 2;
			},
		});
		let firstOutcome = 'completed';
		try {
			const first = await executeSweep({ client: viaProxy, bucket, policy: POLICY, batchSize: 4, reportLock: null });
			firstOutcome = `completed: ${first.deleted.count} deleted, ${first.skipped.count} skipped`;
		} catch (error) {
			errorTexts.push(errorText(error));
			firstOutcome = `threw ${(error as Error).name}: ${(error as Error).message.slice(0, 120)}`;
		}
		proxy.heal();
		const rerun = await executeSweep({ client: viaProxy, bucket, policy: POLICY, batchSize: 4, reportLock: null, recoverAfter: 'PT0S' });
		const after = (await listVersions(store.client, bucket, 'archive/'))
			.filter((v) => !v.key.startsWith('archive/_reports/') && !v.key.startsWith('archive/_holds/'))
			.map((v) => `${v.key}#${v.versionId}`)
			.sort();
		const expected = expectedSurvivors(truths);
		const wrong = expected.filter((ref) => !after.includes(ref));
		const missed = after.filter((ref) => !expected.includes(ref));
		record({
			category: 'store faults: mid-sweep',
			tried: truths.length,
			passed: truths.length - wrong.length - missed.length,
			lost: wrong.length,
			leaked: 0,
			note: `${kind}: first run ${firstOutcome}; rerun deleted ${rerun.deleted.count}, recovered runs ${rerun.recoveredRuns.length}`,
		});
		expect(wrong).toEqual([]); // nothing deleted that must survive
		expect(missed).toEqual([]); // and the rerun finished the job
		// a second rerun has nothing left to do
		expect((await executeSweep({ client: store.client, bucket, policy: POLICY, reportLock: null })).deleted.count).toBe(0);
	});
});
