/**
 * The capture template in n8n's distributed QUEUE mode, as n8n recommends it
 * (docs.n8n.io/hosting/scaling/queue-mode/): PostgreSQL (Debian's postgresql, a throw-away cluster) as
 * the database, Redis (Debian's redis-server) as the queue, one main process with production webhooks
 * disabled, two webhook processes and two workers (concurrency 5 each), on one machine.
 *
 * Two workflows made from the template, each with its own bucket:
 * - the template as shipped: the trigger encrypts and archives at capture, so the WEBHOOK processes
 *   write every record and answer without starting an execution (a worker runs one only for records
 *   not stored, into Quarantine Record);
 * - "the template with the archive write in the workflow" (helpers/workflows.ts `withArchiveInWorkflow`:
 *   Archive at Capture off, an Archive Record node with the trigger's settings): every delivery is an
 *   execution and the WORKERS write, the set-up queue mode scales by adding workers.
 *
 * 1000 signed deliveries to each: 900 distinct text messages plus 100 repeats of random ones, shuffled;
 * half of the repeats are sent right after their first delivery, to the other webhook process, so that
 * two webhook processes (as shipped) or two executions on the workers (archive write in the workflow)
 * race on the same record. Each delivery carries the time it is sent (as Meta's do). The test client
 * sends them round-robin to the two webhook ports (no load balancer) in closed-loop bursts: BURST
 * deliveries at once, the next burst when every answer of the last is in. Each burst goes to the
 * template as shipped, then the same burst to the variant, then to n8n's bare Webhook workflow
 * (Webhook node alone, answering after its empty workflow, run on a worker) in the same set-up: the
 * ratio of their rates is each workflow's throughput against n8n's floor, measured in the same minutes.
 *
 * Operator settings (what the README recommends): N8N_EXPRESSION_ENGINE_LAZY_ACQUIRE=true (n8n's vm
 * expression engine then creates an isolate only when an expression reaches it, instead of one per
 * webhook request and per execution: @n8n/expression-runtime ExpressionEvaluator.acquire),
 * N8N_EXECUTIONS_QUEUE_KEEP_LAST_COMPLETED / _FAILED=1000: n8n removes a finished job from Redis at
 * once by default, and its webhook process waits for the job's end with Bull's job.finished() only
 * after the job is enqueued and a database hook has run (n8n/dist/workflow-runner.js); a job that
 * finished and was removed in between is never seen finished (bull/lib/job.js Job.prototype.finished:
 * it finds no finished job and waits for an event already past), and the caller gets no answer. Kept
 * jobs are found finished. DB_POSTGRESDB_POOL_SIZE matched to the worker concurrency, the template's
 * own execution-data settings (successes not saved).
 *
 * Asserted for each workflow: every delivery of round 1 answered 200 within 10 s (none unanswered),
 * exactly one object per message (900 record ids as expected), no quarantine object, as many object
 * versions as objects (two writers of the same record leave no second locked version), a sample
 * decrypts with gpg; the template as shipped started no execution, the variant one per delivery on
 * the workers. A delivery answered otherwise is sent again afterwards, as Meta would (at most 3 more
 * rounds), so a failure report tells a late answer from a lost message. Figures: printed and written
 * to $E2E_DIR/results-queue.json.
 */
import { randomBytes } from 'node:crypto';
import { readFileSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';

import { ListObjectVersionsCommand, type S3Client } from '@aws-sdk/client-s3';

import { recordId } from '../../lib/archive';
import { createS3Client } from '../../lib/s3';
import { gpgDecrypt, makeGpgHome } from '../helpers/gpg';
import { getObjectBytes, listAllKeys, makeBucket, s3Settings } from '../helpers/s3';
import {
	E2E_DIR,
	makeUserFolder,
	PACK,
	setupOwner,
	startPostgres,
	startRedis,
	startRole,
	stopN8n,
	waitUntilNot404,
} from './helpers/n8n';
import {
	bareWebhookWorkflow,
	createActiveWorkflow,
	credentialMaker,
	instantiateTemplate,
	metaSignature,
	templateCredentialData,
	textDelivery,
	withArchiveInWorkflow,
} from './helpers/workflows';

const REPO = path.resolve(__dirname, '..', '..');
const TEMPLATE = JSON.parse(
	readFileSync(path.join(REPO, 'workflows', 'whatsapp-capture-archive.json'), 'utf8'),
);
const BASE_DELIVERY = readFileSync(
	path.join(REPO, 'test', 'fixtures', 'whatsapp', 'inbound-text.json'),
	'utf8',
);

const MESSAGES = Number(process.env.E2E_QUEUE_MESSAGES || 900);
const DELIVERIES = Number(process.env.E2E_QUEUE_DELIVERIES || 1000);
/** Deliveries sent at once; the next burst leaves when every answer of this one is in. */
const BURST = Number(process.env.E2E_QUEUE_BURST || 20);
const WORKER_CONCURRENCY = Number(process.env.E2E_QUEUE_WORKER_CONCURRENCY || 5);
/** n8n's vm expression engine with lazy acquisition (E2E_QUEUE_LAZY_ACQUIRE=false: n8n's default). */
const LAZY_ACQUIRE = (process.env.E2E_QUEUE_LAZY_ACQUIRE || 'true') === 'true';
/** Finished jobs n8n keeps in Redis (0: n8n's default, removed at once). */
const KEEP_LAST = Number(process.env.E2E_QUEUE_KEEP_LAST ?? 1000);
/** A delivery not answered within this time counts as unanswered (and is sent again). */
const ANSWER_TIMEOUT_MS = 10_000;

/** Ports: main, webhook-1/-2 (+ their task brokers), the workers' health checks; override when busy. */
const BASE_PORT = Number(process.env.E2E_QUEUE_PORT || 5678);
const MAIN_PORT = BASE_PORT;
const WEBHOOK_PORTS = [BASE_PORT + 10, BASE_PORT + 12];
const WORKER_HEALTH_PORTS = [BASE_PORT + 14, BASE_PORT + 16];
const REDIS_PORT = Number(process.env.E2E_QUEUE_REDIS_PORT || 6390);
const PG_PORT = Number(process.env.E2E_QUEUE_PG_PORT || 5440);

const BARE_NAME = 'bare Webhook, respond after workflow';
const IN_WORKFLOW_NAME = `${TEMPLATE.name} (archive write in the workflow)`;
const APP_SECRET = randomBytes(16).toString('hex');
const INDEX_KEY = randomBytes(32).toString('hex');

const percentile = (values: number[], p: number) => {
	const sorted = [...values].sort((a, b) => a - b);
	return sorted[Math.min(sorted.length - 1, Math.ceil((p / 100) * sorted.length) - 1)];
};
const round1 = (v: number) => Math.round(v * 10) / 10;

interface Answer {
	index: number;
	status: number;
	ms: number;
	text: string;
}

/** A workflow the deliveries go to: its production URLs on the webhook processes, its bucket, its answers. */
interface Target {
	label: string;
	/** The workflow's name (worker log lines carry it). */
	name: string;
	urls: string[];
	/** Null for the bare Webhook, which writes nothing. */
	bucket: string | null;
	answers: Answer[];
	/** Summed wall time of its bursts. */
	ms: number;
}

describe('template whatsapp-capture-archive in n8n queue mode (PostgreSQL, redis, main + 2 webhook processes + 2 workers)', () => {
	let runFolder: string;
	let pgFolder: string;
	let gpg: Awaited<ReturnType<typeof makeGpgHome>>;
	let s3: S3Client;
	const targets: Record<'shipped' | 'inWorkflow' | 'bare', Target> = {
		shipped: {
			label: 'template as shipped (Archive at Capture: written on the webhook processes)',
			name: TEMPLATE.name,
			urls: [],
			bucket: null,
			answers: [],
			ms: 0,
		},
		inWorkflow: {
			label: 'template with the archive write in the workflow (written on the workers)',
			name: IN_WORKFLOW_NAME,
			urls: [],
			bucket: null,
			answers: [],
			ms: 0,
		},
		bare: { label: 'bare Webhook', name: BARE_NAME, urls: [], bucket: null, answers: [], ms: 0 },
	};
	const results: Record<string, unknown> = {};
	const note = (key: string, value: unknown) => {
		results[key] = value;
		console.log(`[e2e queue] ${key}: ${JSON.stringify(value)}`);
	};
	/** Executions a worker finished, by workflow name (its JSON log lines). */
	const finishedByWorkflow = (n: number) => {
		const counts: Record<string, number> = {};
		for (const line of readFileSync(path.join(runFolder, `n8n-worker-${n}.log`), 'utf8').split(
			'\n',
		)) {
			if (!line.startsWith('{') || !line.includes('Worker finished execution')) continue;
			const entry = JSON.parse(line);
			const name = entry.metadata?.workflowName ?? entry.workflowName ?? '?';
			counts[name] = (counts[name] ?? 0) + 1;
		}
		return counts;
	};

	beforeAll(async () => {
		const t0 = Date.now();
		gpg = await makeGpgHome();
		const settings = s3Settings();
		s3 = createS3Client(settings);
		targets.shipped.bucket = await makeBucket(s3, { objectLock: true, prefix: 'e2e-queue' });
		targets.inWorkflow.bucket = await makeBucket(s3, { objectLock: true, prefix: 'e2e-queue-wf' });
		runFolder = makeUserFolder('queue');
		pgFolder = makeUserFolder('queue-pg');
		const dbEnv = startPostgres(pgFolder, PG_PORT);
		startRedis(runFolder, REDIS_PORT);
		const queueEnv = {
			...dbEnv,
			DB_POSTGRESDB_POOL_SIZE: String(WORKER_CONCURRENCY),
			EXECUTIONS_MODE: 'queue',
			QUEUE_BULL_REDIS_HOST: '127.0.0.1',
			QUEUE_BULL_REDIS_PORT: String(REDIS_PORT),
			N8N_EXPRESSION_ENGINE: 'vm',
			N8N_EXPRESSION_ENGINE_LAZY_ACQUIRE: String(LAZY_ACQUIRE),
			N8N_EXECUTIONS_QUEUE_KEEP_LAST_COMPLETED: String(KEEP_LAST),
			N8N_EXECUTIONS_QUEUE_KEEP_LAST_FAILED: String(KEEP_LAST),
			N8N_WEBHOOK_URL: `http://127.0.0.1:${WEBHOOK_PORTS[0]}/`,
		};
		note(
			'boot ms main (migrations on an empty PostgreSQL database)',
			await startRole(runFolder, 'main', {
				...queueEnv,
				N8N_PORT: String(MAIN_PORT),
				N8N_DISABLE_PRODUCTION_MAIN_PROCESS: 'true',
			}),
		);
		const baseUrl = `http://127.0.0.1:${MAIN_PORT}`;
		const session = await setupOwner(baseUrl);
		const credential = credentialMaker(baseUrl, session.apiKey, 'e2e queue');
		const secrets = { appSecret: APP_SECRET, indexKey: INDEX_KEY };
		const shipped = await instantiateTemplate(
			TEMPLATE,
			templateCredentialData(secrets, gpg, settings, targets.shipped.bucket),
			credential,
		);
		expect(
			shipped.nodes.some(
				(n: any) =>
					n.type === `${PACK}.whatsAppCaptureTrigger` && n.parameters.archiveAtCapture === true,
			),
		).toBe(true);
		await createActiveWorkflow(baseUrl, session.apiKey, targets.shipped.name, shipped);
		const inWorkflow = await instantiateTemplate(
			withArchiveInWorkflow(TEMPLATE),
			templateCredentialData(secrets, gpg, settings, targets.inWorkflow.bucket),
			credential,
		);
		await createActiveWorkflow(baseUrl, session.apiKey, targets.inWorkflow.name, inWorkflow);
		const bare = bareWebhookWorkflow(true, 'e2e-queue-bare');
		await createActiveWorkflow(baseUrl, session.apiKey, BARE_NAME, bare);

		// the webhook processes and both workers boot together
		const boots = await Promise.all([
			...WEBHOOK_PORTS.map((port, i) =>
				startRole(runFolder, `webhook-${i + 1}`, {
					...queueEnv,
					N8N_PORT: String(port),
					N8N_RUNNERS_BROKER_PORT: String(port + 1),
				}),
			),
			...WORKER_HEALTH_PORTS.map((port, i) =>
				startRole(runFolder, `worker-${i + 1}`, {
					...queueEnv,
					QUEUE_HEALTH_CHECK_ACTIVE: 'true',
					QUEUE_HEALTH_CHECK_PORT: String(port),
					N8N_RUNNERS_BROKER_PORT: String(port + 1),
					N8N_WORKER_CONCURRENCY: String(WORKER_CONCURRENCY),
					// JSON lines carry the workflow of each finished execution
					N8N_LOG_FORMAT: 'json',
				}),
			),
		]);
		note('boot ms webhook-1, webhook-2, worker-1, worker-2 (in parallel)', boots);
		const urls = (webhookPath: string) =>
			WEBHOOK_PORTS.map((port) => `http://127.0.0.1:${port}/webhook/${webhookPath}`);
		targets.shipped.urls = urls(shipped.webhookPath);
		targets.inWorkflow.urls = urls(inWorkflow.webhookPath);
		targets.bare.urls = urls(bare.webhookPath);
		const live = [];
		for (const url of [...targets.shipped.urls, ...targets.inWorkflow.urls])
			live.push(
				await waitUntilNot404(
					() => fetch(`${url}?hub.mode=subscribe&hub.verify_token=x&hub.challenge=1`),
					30_000,
				),
			);
		note(
			'template webhooks (as shipped, archive write in the workflow) live on webhook-1, webhook-2 after ms',
			live,
		);
		// the main process does not serve production webhooks
		const onMain = await fetch(`${baseUrl}/webhook/${shipped.webhookPath}`, {
			method: 'POST',
			body: '{}',
		});
		await onMain.arrayBuffer();
		note('POST to the main process (production webhooks disabled there)', onMain.status);
		// n8n on this PostgreSQL: its own words about the version, if any
		const pgWords = readFileSync(path.join(runFolder, 'n8n.log'), 'utf8')
			.split('\n')
			.filter((l) => /postgres/i.test(l) && /version|support|deprecat|recommend/i.test(l));
		note('n8n log lines on the PostgreSQL version', pgWords.slice(0, 5));
		note('set-up ms (store, postgres, redis, five n8n processes, workflows)', Date.now() - t0);
	});

	afterAll(async () => {
		if (runFolder) stopN8n(runFolder);
		if (pgFolder) stopN8n(pgFolder);
		await gpg?.cleanup();
		writeFileSync(
			path.join(E2E_DIR, 'results-queue.json'),
			JSON.stringify(
				{
					...results,
					buckets: { shipped: targets.shipped.bucket, inWorkflow: targets.inWorkflow.bucket },
				},
				null,
				2,
			),
		);
	});

	it(`${DELIVERIES} signed deliveries of ${MESSAGES} messages to the template as shipped and to the archive write in the workflow (repeats, racing writers; bursts of ${BURST}) → answered within 10 s, exactly one object per message`, async () => {
		const wamids = Array.from(
			{ length: MESSAGES },
			(_, i) => `wamid.QUEUE${i.toString().padStart(5, '0')}${randomBytes(8).toString('hex')}`,
		);
		// MESSAGES distinct messages and half of the repeats, shuffled; the other half of the repeats
		// right after their message's first delivery (the other webhook process, the same burst)
		const repeats = Array.from({ length: DELIVERIES - MESSAGES }, () =>
			Math.floor(Math.random() * MESSAGES),
		);
		const racing = repeats.slice(0, Math.floor(repeats.length / 2));
		const order = [...wamids.map((_, i) => i), ...repeats.slice(racing.length)];
		for (let i = order.length - 1; i > 0; i--) {
			const j = Math.floor(Math.random() * (i + 1));
			[order[i], order[j]] = [order[j], order[i]];
		}
		for (const index of racing) order.splice(order.indexOf(index) + 1, 0, index);
		expect(order).toHaveLength(DELIVERIES);
		const bursts: number[][] = [];
		for (let i = 0; i < order.length; i += BURST) bursts.push(order.slice(i, i + BURST));
		const sameBurstRepeats = bursts.reduce((sum, b) => sum + b.length - new Set(b).size, 0);

		let sent = 0;
		const send = async (url: string, index: number): Promise<Answer> => {
			const raw = textDelivery(BASE_DELIVERY, wamids[index], `queue message ${index}`);
			const t0 = performance.now();
			try {
				const response = await fetch(url, {
					method: 'POST',
					headers: {
						'content-type': 'application/json',
						'x-hub-signature-256': metaSignature(APP_SECRET, raw),
					},
					body: new Uint8Array(raw),
					// Meta gives up on an unanswered delivery and retries it later
					signal: AbortSignal.timeout(ANSWER_TIMEOUT_MS),
				});
				const text = await response.text();
				return { index, status: response.status, ms: performance.now() - t0, text };
			} catch (error) {
				return { index, status: 0, ms: performance.now() - t0, text: String(error) };
			}
		};
		/** One closed-loop burst, round-robin over the webhook processes; its answers and wall time. */
		const burst = async (urls: string[], indices: number[]) => {
			const t0 = performance.now();
			const answers = await Promise.all(
				indices.map((index) => send(urls[sent++ % urls.length], index)),
			);
			return { answers, ms: performance.now() - t0 };
		};

		const loadAtStart = os.loadavg().map(round1);
		const t0 = performance.now();
		for (const indices of bursts) {
			// the same burst to each workflow in turn, in the same minutes
			for (const target of [targets.shipped, targets.inWorkflow, targets.bare]) {
				const b = await burst(target.urls, indices);
				target.answers.push(...b.answers);
				target.ms += b.ms;
			}
		}
		const wallMs = performance.now() - t0;
		const rate = (t: Target) => (t.answers.length * 1000) / t.ms;
		const summary = (t: Target) => {
			const ms = t.answers.map((a) => a.ms);
			return {
				deliveries: t.answers.length,
				perSecond: round1(rate(t)),
				medianMs: Math.round(percentile(ms, 50)),
				p99Ms: Math.round(percentile(ms, 99)),
				maxMs: Math.round(Math.max(...ms)),
				statuses: t.answers.reduce<Record<number, number>>(
					(acc, a) => ({ ...acc, [a.status]: (acc[a.status] ?? 0) + 1 }),
					{},
				),
			};
		};
		note('settings', {
			burst: `${BURST} at once, closed loop (next burst when all are answered), round-robin over 2 webhook processes`,
			workers: `2 × concurrency ${WORKER_CONCURRENCY}`,
			expressionEngine: `vm, N8N_EXPRESSION_ENGINE_LAZY_ACQUIRE=${LAZY_ACQUIRE}`,
			keepLastCompletedJobs: KEEP_LAST,
			postgresPoolSize: WORKER_CONCURRENCY,
			answerTimeoutMs: ANSWER_TIMEOUT_MS,
			loadAverageAtStart: loadAtStart,
			cpus: os.cpus().length,
		});
		const written = [targets.shipped, targets.inWorkflow];
		const failed = new Map(written.map((t) => [t, t.answers.filter((a) => a.status !== 200)]));
		for (const target of written) {
			note(`round 1, ${target.label}`, {
				...summary(target),
				repeatsInTheirMessagesBurst: sameBurstRepeats,
				failureSample: failed
					.get(target)!
					.slice(0, 3)
					.map((a) => `${a.status} ${a.text.slice(0, 200)}`),
			});
		}
		note('round 1, bare Webhook (interleaved bursts)', summary(targets.bare));
		for (const target of written)
			note(
				`${target.label} / bare deliveries per second`,
				Math.round((rate(target) / rate(targets.bare)) * 100) / 100,
			);
		note('round 1 wall s (all three workflows)', round1(wallMs / 1000));

		// Meta retries what was not acknowledged
		const lost = new Map<Target, number[]>();
		for (const target of written) {
			let retry = [...new Set(failed.get(target)!.map((a) => a.index))];
			for (let round = 2; round <= 4 && retry.length; round++) {
				const answers: Answer[] = [];
				for (let i = 0; i < retry.length; i += BURST)
					answers.push(...(await burst(target.urls, retry.slice(i, i + BURST))).answers);
				note(`round ${round} (retries), ${target.label}`, {
					deliveries: answers.length,
					non200: answers.filter((a) => a.status !== 200).length,
				});
				retry = [...new Set(answers.filter((a) => a.status !== 200).map((a) => a.index))];
			}
			lost.set(target, retry);
		}

		// which worker ran what (n8n's own log lines)
		const perWorker = [1, 2].map(finishedByWorkflow);
		note('executions finished per worker, by workflow', perWorker);
		const ran = (name: string) => perWorker.reduce((sum, w) => sum + (w[name] ?? 0), 0);

		const idOf = (wamid: string) =>
			recordId({ indexKey: INDEX_KEY, idempotencyKey: `106000000000002:${wamid}` });
		const racingIds = new Set(
			bursts.flatMap((b) =>
				b.filter((index, at) => b.indexOf(index) !== at).map((index) => idOf(wamids[index])),
			),
		);
		const expectedIds = new Set(wamids.map(idOf));
		const stored = new Map<Target, { keys: string[]; quarantined: string[]; versions: number }>();
		for (const target of written) {
			const all = await listAllKeys(s3, target.bucket!);
			// records the trigger (as shipped) or Archive Record could not store go to Quarantine Record
			const quarantined = all.filter((k) => k.startsWith('quarantine/'));
			const keys = all.filter(
				(k) => k.startsWith('archive/') && !k.startsWith('archive/_') && k.endsWith('.pgp'),
			);
			const versionsByKey = await countVersions(s3, target.bucket!);
			const versions = [...versionsByKey]
				.filter(([key]) => key.startsWith('archive/') && !key.startsWith('archive/_'))
				.reduce((sum, [, n]) => sum + n, 0);
			// records with a second version, and whether their message had a repeat in its own burst
			const extra = [...versionsByKey]
				.filter(([, n]) => n > 1)
				.map(([key]) => path.basename(key, '.pgp'));
			note(
				`${target.label}: records with extra versions (of them with a repeat in the same burst)`,
				[extra.length, extra.filter((id) => racingIds.has(id)).length],
			);
			note(`${target.label}: objects / distinct messages / object versions / quarantined`, [
				keys.length,
				MESSAGES,
				versions,
				quarantined.length,
			]);
			stored.set(target, { keys, quarantined, versions });
		}
		note('executions on the workers: as shipped / archive write in the workflow / bare', [
			ran(targets.shipped.name),
			ran(targets.inWorkflow.name),
			ran(targets.bare.name),
		]);

		for (const target of written) {
			const { keys, quarantined, versions } = stored.get(target)!;
			expect({
				workflow: target.label,
				unansweredOrNon200InRound1: failed.get(target)!.length,
				lostAfterRetries: lost.get(target)!.length,
			}).toEqual({ workflow: target.label, unansweredOrNon200InRound1: 0, lostAfterRetries: 0 });
			expect(quarantined).toEqual([]);
			const foundIds = keys.map((k) => path.basename(k, '.pgp'));
			expect(new Set(foundIds).size).toBe(foundIds.length);
			expect(new Set(foundIds)).toEqual(expectedIds);
			// two writers of the same record must not leave a second (locked) version
			expect(versions).toBe(keys.length);

			// a sample decrypts with gpg to the message it belongs to
			for (const index of [0, Math.floor(MESSAGES / 2), MESSAGES - 1]) {
				const key = keys.find((k) => k.endsWith(`/${idOf(wamids[index])}.pgp`))!;
				const record = JSON.parse(
					gpgDecrypt(gpg.home, await getObjectBytes(s3, target.bucket!, key)).toString('utf8'),
				);
				expect(record.wamid).toBe(wamids[index]);
				expect(record.content).toEqual({ body: `queue message ${index}` });
			}
		}
		// as shipped, the webhook processes stored every record: no execution at all; with the archive
		// write in the workflow, every delivery ran as one execution on one of the workers
		expect(ran(targets.shipped.name)).toBe(0);
		expect(ran(targets.inWorkflow.name)).toBe(targets.inWorkflow.answers.length);
	}, 900_000);
});

/** Versions of each .pgp key in the bucket. */
async function countVersions(s3: S3Client, bucket: string): Promise<Map<string, number>> {
	const count = new Map<string, number>();
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
		for (const v of page.Versions ?? [])
			if (v.Key?.endsWith('.pgp')) count.set(v.Key, (count.get(v.Key) ?? 0) + 1);
		if (!page.IsTruncated) return count;
		keyMarker = page.NextKeyMarker;
		versionMarker = page.NextVersionIdMarker;
	}
}
