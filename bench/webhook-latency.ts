/**
 * Benchmark: what a signed WhatsApp delivery costs in a real n8n 2.x (regular mode, SQLite), the pack's
 * capture templates beside their peers in the same n8n process, interleaved:
 *
 *   bash scripts/n8n-e2e.sh bench   (= npm run bench:webhook; installs n8n, starts the local store,
 *                                    packs the pack, runs this)
 *   E2E_DIR=… N8N_PORT=… npx tsx bench/webhook-latency.ts [--runs 3] [--sequential 30] [--burst 50]
 *                                    [--engines vm,legacy,vm-lazy] [--only <name part>,…] [--no-profile]
 *
 * Peers (table WORKFLOWS below; one line adds a workflow):
 * - bare Webhook workflows, the physical floor: n8n's Webhook node alone (typeVersion 2.1, static
 *   parameters, so the webhook phase skips the expression isolate: n8n/dist/webhooks/live-webhooks.js
 *   webhookPhaseNeedsIsolate), answering after the (empty) workflow or on receipt;
 * - what a user would build with n8n's own nodes: Webhook (raw body) → Crypto (HMAC-SHA256 of the raw
 *   body, app secret) → If (X-Hub-Signature-256 equals "sha256=" + HMAC) → S3 (upload of the JSON body
 *   to the same store, Object Lock GOVERNANCE, key = message id), answering after the workflow;
 * - n8n's built-in WhatsApp Trigger → the same S3 upload (answers on receipt); its activation
 *   registers with the Graph API, answered by a local stand-in (bench/lib/graph-stand-in.ts);
 * - every shipped template (a workflows/*.json whose first node is a webhook trigger of the pack), with
 *   Respond "After Workflow Finished" and "Immediately"; a template whose trigger archives at capture
 *   once (it answers when the records are stored, Respond does not apply), beside the peers that
 *   answer after their workflow.
 *
 * One n8n process per expression engine setting (ENGINES): vm (n8n's default), legacy, and vm with
 * N8N_EXPRESSION_ENGINE_LAZY_ACQUIRE (an isolate only when an expression reaches the engine). In each,
 * every workflow is active; for each of R runs, each workflow in rotated order gets S sequential
 * deliveries, then a burst of B at once; every delivery is a fresh signed message. CPU is the whole
 * n8n process group's user + system time (/proc), read before and after each phase once the phase has
 * drained (every object written, CPU idle). Afterwards the main thread is profiled through the
 * inspector while each template takes S + B more deliveries: the time of samples with a frame of the
 * pack on the stack, per delivery.
 *
 * Prints the tables and ratios (stdout), writes $E2E_DIR/bench-webhook.json and bench-webhook.md.
 */
import { randomBytes, randomUUID } from 'node:crypto';
import { readdirSync, readFileSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';

import type { S3Client } from '@aws-sdk/client-s3';

import { api, E2E_DIR, makeUserFolder, setupOwner, startN8n, stopN8n } from '../test/e2e/helpers/n8n';
import {
	bareWebhookWorkflow,
	captureCredentialData as captureData,
	instantiateTemplate,
	metaSignature,
	PEER_SETTINGS,
	templateCredentialData,
	textDelivery,
	withArchiveInWorkflow,
} from '../test/e2e/helpers/workflows';
import { makeGpgHome } from '../test/helpers/gpg';
import { listAllKeys } from '../test/helpers/s3';
import { startGraphStandIn, type GraphStandIn } from './lib/graph-stand-in';
import { machineLine } from './lib/machine';
import { groupCpuMs, InspectorProfiler, profileTime } from './lib/n8n-proc';
import { createBucket, engineClient, removeBucket, storeSettings } from './lib/s3';
import { flag, hasFlag, median, numberFlag, percentile, progress } from './lib/stats';
import { table } from './lib/table';

const REPO = path.resolve(__dirname, '..');
const PACK = 'n8n-nodes-chat-archive';
const PORT = Number(process.env.N8N_PORT || 5950);
/** n8n's inspector when opened by SIGUSR1 (profile phase), and the Graph API stand-in's proxy. */
const INSPECTOR_PORT = PORT + 2;
const GRAPH_PROXY_PORT = PORT + 3;

const RUNS = numberFlag('runs', 3);
const SEQUENTIAL = numberFlag('sequential', 30);
const BURST = numberFlag('burst', 50);
const WARMUP = 2;

interface Engine {
	name: string;
	label: string;
	env: Record<string, string>;
}
const ALL_ENGINES: Engine[] = [
	{ name: 'vm', label: 'vm (n8n default)', env: { N8N_EXPRESSION_ENGINE: 'vm' } },
	{ name: 'legacy', label: 'legacy', env: { N8N_EXPRESSION_ENGINE: 'legacy' } },
	{ name: 'vm-lazy', label: 'vm, lazy acquire', env: { N8N_EXPRESSION_ENGINE: 'vm', N8N_EXPRESSION_ENGINE_LAZY_ACQUIRE: 'true' } },
];
const ENGINES = ALL_ENGINES.filter((e) => (flag('engines') ?? 'vm,legacy,vm-lazy').split(',').includes(e.name));

const APP_SECRET = randomBytes(16).toString('hex');
const INDEX_KEY = randomBytes(32).toString('hex');
const BASE_DELIVERY = readFileSync(path.join(REPO, 'test', 'fixtures', 'whatsapp', 'inbound-text.json'), 'utf8');

// ---------------------------------------------------------------------------------------------------
// The workflows

/** What a workflow builder gets from the instance. */
interface Instance {
	baseUrl: string;
	apiKey: string;
	s3: S3Client;
	gpg: { publicKeyArmored: string; fingerprint: string };
	credential(type: string, data: Record<string, unknown>): Promise<{ id: string; name: string }>;
}

interface Built {
	nodes: unknown[];
	connections: unknown;
	settings: unknown;
	/** Production URL of the POST webhook. */
	url: string;
	/** The bucket the workflow writes to (none: writes nothing). */
	bucket?: string;
}

type Role = 'bare-after' | 'bare-immediately' | 'trigger-only' | 'pipeline' | 'whatsapp-trigger' | 'template-after' | 'template-immediately' | 'template-archive-at-capture' | 'template-archive-at-capture-store';

interface WorkflowSpec {
	name: string;
	role: Role;
	/** Answers after the workflow (true) or on receipt. */
	afterWorkflow: boolean;
	build(instance: Instance): Promise<Built>;
}

const node = (name: string, type: string, typeVersion: number, parameters: Record<string, unknown>, extra: Record<string, unknown> = {}) => ({
	id: randomUUID(),
	name,
	type,
	typeVersion,
	position: [0, 0],
	parameters,
	...extra,
});
const link = (to: string) => ({ node: to, type: 'main', index: 0 });

/** n8n's Webhook node alone: the floor (test/e2e/helpers/workflows.ts bareWebhookWorkflow). */
function bare(afterWorkflow: boolean): WorkflowSpec {
	return {
		name: afterWorkflow ? 'bare Webhook, respond after workflow' : 'bare Webhook, respond immediately',
		role: afterWorkflow ? 'bare-after' : 'bare-immediately',
		afterWorkflow,
		build: async ({ baseUrl }) => {
			const built = bareWebhookWorkflow(afterWorkflow, 'bench-bare');
			return { ...built, url: `${baseUrl}/webhook/${built.webhookPath}` };
		},
	};
}

/** The S3 node's upload of one JSON document to an Object Lock bucket (GOVERNANCE, 2 days). */
function s3Upload(bucket: string, credential: { id: string; name: string }, key: string, content: string) {
	return node(
		'Upload to S3',
		'n8n-nodes-base.s3',
		1,
		{
			operation: 'upload',
			bucketName: bucket,
			fileName: key,
			binaryData: false,
			fileContent: content,
			additionalFields: { lockMode: 'governance', lockRetainUntilDate: '={{ $now.plus({ days: 2 }).toUTC().toISO() }}' },
		},
		{ credentials: { s3: credential } },
	);
}

async function s3Credential(instance: Instance) {
	const s = storeSettings();
	return instance.credential('s3', {
		endpoint: s.endpoint,
		region: s.region,
		accessKeyId: s.accessKeyId,
		secretAccessKey: s.secretAccessKey,
		forcePathStyle: true,
		ignoreSSLIssues: false,
	});
}

/** The WhatsApp Capture (Meta App) credential of the pack's workflows in the bench. */
const captureCredentialData = () => captureData({ appSecret: APP_SECRET, indexKey: INDEX_KEY });

/**
 * The pack's trigger alone, with a message-type filter that drops the text deliveries: it verifies the
 * signature and answers 200 without starting an execution. Beside the bare Webhook it isolates what
 * n8n charges a webhook request to a node other than its own Webhook node (the expression isolate of
 * the webhook phase: live-webhooks.js `webhookPhaseNeedsIsolate`), with no workflow run at all.
 */
const triggerOnly: WorkflowSpec = {
	name: 'pack trigger alone, deliveries filtered out (no execution)',
	role: 'trigger-only',
	afterWorkflow: false,
	build: async (instance) => {
		const webhookId = randomUUID();
		const capture = await instance.credential('whatsAppCaptureApi', captureCredentialData());
		return {
			nodes: [
				node(
					'WhatsApp Capture Trigger',
					`${PACK}.whatsAppCaptureTrigger`,
					1.1,
					{ options: { messageTypes: ['image'] } },
					{ webhookId, credentials: { whatsAppCaptureApi: capture } },
				),
			],
			connections: {},
			settings: PEER_SETTINGS,
			url: `${instance.baseUrl}/webhook/${webhookId}/webhook`,
		};
	},
};

/** Webhook (raw body) → Crypto (HMAC) → If (signature) → S3 upload; the false branch is left empty. */
const pipeline: WorkflowSpec = {
	name: 'n8n nodes: Webhook → Crypto → If → S3',
	role: 'pipeline',
	afterWorkflow: true,
	build: async (instance) => {
		const bucket = await createBucket(instance.s3, 'webhook', { objectLock: true });
		const webhookPath = `bench-pipeline-${randomUUID()}`;
		const crypto = await instance.credential('crypto', { hmacSecret: APP_SECRET });
		const s3 = await s3Credential(instance);
		const nodes = [
			node(
				'Webhook',
				'n8n-nodes-base.webhook',
				2.1,
				{ httpMethod: 'POST', path: webhookPath, responseMode: 'lastNode', responseData: 'noData', options: { rawBody: true } },
				{ webhookId: randomUUID() },
			),
			node(
				'HMAC',
				'n8n-nodes-base.crypto',
				2,
				{ action: 'hmac', binaryData: true, binaryPropertyName: 'data', type: 'SHA256', dataPropertyName: 'hmac', encoding: 'hex' },
				{ credentials: { crypto } },
			),
			node('Signature Matches', 'n8n-nodes-base.if', 2.2, {
				conditions: {
					options: { caseSensitive: true, leftValue: '', typeValidation: 'strict', version: 2 },
					conditions: [
						{
							id: randomUUID(),
							leftValue: "={{ $json.headers['x-hub-signature-256'] }}",
							rightValue: '=sha256={{ $json.hmac }}',
							operator: { type: 'string', operation: 'equals' },
						},
					],
					combinator: 'and',
				},
				options: {},
			}),
			s3Upload(bucket, s3, '={{ $json.body.entry[0].changes[0].value.messages[0].id }}.json', '={{ JSON.stringify($json.body) }}'),
		];
		return {
			nodes,
			connections: {
				Webhook: { main: [[link('HMAC')]] },
				HMAC: { main: [[link('Signature Matches')]] },
				'Signature Matches': { main: [[link('Upload to S3')], []] },
			},
			settings: PEER_SETTINGS,
			url: `${instance.baseUrl}/webhook/${webhookPath}`,
			bucket,
		};
	},
};

/** n8n's WhatsApp Trigger (checks the signature, answers on receipt) → the same S3 upload. */
const whatsAppTrigger: WorkflowSpec = {
	name: "n8n's WhatsApp Trigger → S3",
	role: 'whatsapp-trigger',
	afterWorkflow: false,
	build: async (instance) => {
		const bucket = await createBucket(instance.s3, 'webhook', { objectLock: true });
		const webhookId = randomUUID();
		const trigger = await instance.credential('whatsAppTriggerApi', { clientId: '1234567890', clientSecret: APP_SECRET });
		const s3 = await s3Credential(instance);
		return {
			nodes: [
				node(
					'WhatsApp Trigger',
					'n8n-nodes-base.whatsAppTrigger',
					1,
					{ updates: ['messages'], options: {} },
					{ webhookId, credentials: { whatsAppTriggerApi: trigger } },
				),
				s3Upload(bucket, s3, '={{ $json.messages[0].id }}.json', '={{ JSON.stringify($json) }}'),
			],
			connections: { 'WhatsApp Trigger': { main: [[link('Upload to S3')]] } },
			settings: PEER_SETTINGS,
			url: `${instance.baseUrl}/webhook/${webhookId}/webhook`,
			bucket,
		};
	},
};

/** A capture template of the pack, its trigger's Respond set to `responseTiming`, own bucket and credentials. */
function template(file: string, responseTiming: 'afterWorkflow' | 'immediately'): WorkflowSpec {
	const json = JSON.parse(readFileSync(path.resolve(REPO, file), 'utf8'));
	const short = path.basename(file, '.json');
	return {
		name: archivesAtCapture(file)
			? `template ${short}, archive at capture (answered once stored)`
			: `template ${short}, respond ${responseTiming === 'afterWorkflow' ? 'after workflow' : 'immediately'}`,
		role: responseTiming === 'afterWorkflow' ? 'template-after' : 'template-immediately',
		afterWorkflow: responseTiming === 'afterWorkflow',
		build: async (instance) => {
			const bucket = await createBucket(instance.s3, 'webhook', { objectLock: true });
			const data = templateCredentialData({ appSecret: APP_SECRET, indexKey: INDEX_KEY }, instance.gpg, storeSettings(), bucket);
			// a credential type without data fails here: add it in templateCredentialData (test/e2e/helpers/workflows.ts)
			const built = await instantiateTemplate(json, data, instance.credential, { responseTiming });
			return { ...built, url: `${instance.baseUrl}/webhook/${built.webhookPath}`, bucket };
		},
	};
}

/**
 * A capture template with Archive at Capture on (as shipped, or as an operator switches an older
 * template to it: the trigger takes the S3 Archive Store credential of Archive Record, whose error
 * output's node, Quarantine Record, it then feeds), with the Duplicate Check given. Null when the
 * template has neither shape.
 */
function archivingAtCapture(file: string, duplicateCheck: 'precheck' | 'store' = 'precheck'): WorkflowSpec | null {
	const json = JSON.parse(readFileSync(path.resolve(REPO, file), 'utf8'));
	const trigger = (json.nodes ?? []).find((n: any) => n.webhookId && String(n.type).startsWith(`${PACK}.`));
	if (!trigger || trigger.parameters?.encryptAtCapture !== true) return null;
	let variant = json;
	if (trigger.parameters?.archiveAtCapture !== true) {
		const archive = json.connections?.[trigger.name]?.main?.[0]?.[0]?.node;
		const quarantine = archive && json.connections?.[archive]?.main?.[1]?.[0]?.node;
		const store = (json.nodes ?? []).find((n: any) => n.name === archive)?.credentials?.s3ArchiveApi;
		if (!quarantine || !store) return null;
		variant = {
			...json,
			nodes: json.nodes
				.filter((n: any) => n.name !== archive)
				.map((n: any) => (n === trigger ? { ...n, parameters: { ...n.parameters, archiveAtCapture: true }, credentials: { ...n.credentials, s3ArchiveApi: store } } : n)),
			connections: {
				...Object.fromEntries(Object.entries(json.connections).filter(([from]) => from !== archive)),
				[trigger.name]: { main: [[{ node: quarantine, type: 'main', index: 0 }]] },
			},
		};
	}
	if (duplicateCheck === 'store') {
		variant = {
			...variant,
			nodes: variant.nodes.map((n: any) =>
				n.name === trigger.name ? { ...n, parameters: { ...n.parameters, archiveOptions: { ...n.parameters.archiveOptions, duplicateCheck } } } : n,
			),
		};
	}
	const short = path.basename(file, '.json');
	const shipped = trigger.parameters?.archiveAtCapture === true ? 'as shipped' : 'with Archive at Capture';
	return {
		name:
			duplicateCheck === 'store'
				? `template ${short}, Archive at Capture, Duplicate Check "store" (1 request/record)`
				: `template ${short} ${shipped} (Archive at Capture, answered once stored)`,
		role: duplicateCheck === 'store' ? 'template-archive-at-capture-store' : 'template-archive-at-capture',
		afterWorkflow: true,
		build: async (instance) => {
			const bucket = await createBucket(instance.s3, 'webhook', { objectLock: true });
			const data = templateCredentialData({ appSecret: APP_SECRET, indexKey: INDEX_KEY }, instance.gpg, storeSettings(), bucket);
			const built = await instantiateTemplate(variant, data, instance.credential);
			return { ...built, url: `${instance.baseUrl}/webhook/${built.webhookPath}`, bucket };
		},
	};
}

/**
 * A capture template that archives at capture, turned back into the archive write in the workflow
 * (Archive at Capture off; an S3 Archive → Record → Write node "Archive Record" with the trigger's
 * archive settings, its error output to Quarantine Record), with the Respond setting given: the shape
 * the README compares Archive at Capture with. Null when the template does not archive at capture.
 */
function archivingInWorkflow(file: string, responseTiming: 'afterWorkflow' | 'immediately'): WorkflowSpec | null {
	const json = JSON.parse(readFileSync(path.resolve(REPO, file), 'utf8'));
	if (!archivesAtCapture(file)) return null;
	const variant = withArchiveInWorkflow(json);
	const short = path.basename(file, '.json');
	return {
		name: `template ${short}, archive write in the workflow, respond ${responseTiming === 'afterWorkflow' ? 'after workflow' : 'immediately'}`,
		role: responseTiming === 'afterWorkflow' ? 'template-after' : 'template-immediately',
		afterWorkflow: responseTiming === 'afterWorkflow',
		build: async (instance) => {
			const bucket = await createBucket(instance.s3, 'webhook', { objectLock: true });
			const data = templateCredentialData({ appSecret: APP_SECRET, indexKey: INDEX_KEY }, instance.gpg, storeSettings(), bucket);
			const built = await instantiateTemplate(variant, data, instance.credential, { responseTiming });
			return { ...built, url: `${instance.baseUrl}/webhook/${built.webhookPath}`, bucket };
		},
	};
}

/** Whether the template's trigger archives at capture (WhatsApp Capture Trigger: Encrypt and Archive at Capture on). */
function archivesAtCapture(file: string): boolean {
	const json = JSON.parse(readFileSync(path.resolve(REPO, file), 'utf8'));
	return (json.nodes ?? []).some((n: any) => n.webhookId && n.parameters?.encryptAtCapture === true && n.parameters?.archiveAtCapture === true);
}

/** Shipped templates: workflows/*.json whose first node (sticky notes aside) is a webhook trigger of the pack. */
function shippedTemplates(): string[] {
	return readdirSync(path.join(REPO, 'workflows'))
		.filter((f) => f.endsWith('.json'))
		.sort()
		.filter((f) => {
			const json = JSON.parse(readFileSync(path.join(REPO, 'workflows', f), 'utf8'));
			const first = (json.nodes ?? []).find((n: any) => !String(n.type).endsWith('.stickyNote'));
			return Boolean(first?.webhookId) && String(first.type).startsWith(`${PACK}.`) && /Trigger$/.test(first.type);
		})
		.map((f) => path.join('workflows', f));
}

/** The workflows compared; add a line to add one (e.g. `template('path/to/other.json', 'afterWorkflow')`). */
const WORKFLOWS: WorkflowSpec[] = [
	bare(true),
	bare(false),
	triggerOnly,
	pipeline,
	whatsAppTrigger,
	// a template whose trigger archives at capture answers once the records are stored (Respond does not
	// apply): measured once; an older template (archive write in the workflow) with both Respond settings
	...shippedTemplates().flatMap((file) => (archivesAtCapture(file) ? [] : [template(file, 'afterWorkflow'), template(file, 'immediately')])),
	...shippedTemplates().flatMap((file) => [archivingAtCapture(file)].filter((w): w is WorkflowSpec => w !== null)),
	// the same with Duplicate Check "store": one PutObject per record, the request count of stores that
	// honour If-None-Match (AWS S3, MinIO); on this store (RGW 16, versioned bucket) it would keep a
	// repeated delivery as a second version, and the bench sends no repeats
	...shippedTemplates().flatMap((file) => [archivingAtCapture(file, 'store')].filter((w): w is WorkflowSpec => w !== null)),
	// the shipped template with the archive write in the workflow instead, both Respond settings: what
	// Archive at Capture saves
	...shippedTemplates().flatMap((file) =>
		(['afterWorkflow', 'immediately'] as const).map((timing) => archivingInWorkflow(file, timing)).filter((w): w is WorkflowSpec => w !== null),
	),
].filter((w) => !flag('only') || flag('only')!.split(',').some((part) => w.name.includes(part) || w.role.includes(part)));

// ---------------------------------------------------------------------------------------------------
// Deliveries and measurement

/** A fresh signed text message, stamped with the time it is sent (as Meta's are). */
const delivery = () => textDelivery(BASE_DELIVERY, `wamid.BENCH${randomBytes(12).toString('hex')}`);

async function post(url: string): Promise<{ status: number; ms: number }> {
	const body = delivery();
	const signature = metaSignature(APP_SECRET, body);
	const t0 = performance.now();
	const response = await fetch(url, {
		method: 'POST',
		headers: { 'content-type': 'application/json', 'x-hub-signature-256': signature },
		body: new Uint8Array(body),
	});
	await response.arrayBuffer();
	return { status: response.status, ms: performance.now() - t0 };
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** Waits until n8n's process group is idle: under 10 % of a core over two 150 ms windows (at most 10 s). */
async function cpuIdle(pgid: number): Promise<void> {
	let quiet = 0;
	for (let i = 0; i < 66 && quiet < 2; i++) {
		const a = groupCpuMs(pgid);
		await sleep(150);
		quiet = groupCpuMs(pgid) - a < 15 ? quiet + 1 : 0;
	}
}

interface Live {
	spec: WorkflowSpec;
	url: string;
	bucket?: string;
	/** Objects one more delivery adds to the bucket (measured at warm-up: some objects are per counterparty). */
	objectsPerDelivery: number;
	/** Objects in the bucket after the warm-up. */
	objectsAfterWarmup: number;
	/** Objects in the bucket when the last phase had drained. */
	objectsBefore: number;
	/** Deliveries answered 200 since then (each must add objectsPerDelivery objects). */
	pending: number;
	/** Deliveries answered 200 in all. */
	delivered: number;
}

async function countObjects(s3: S3Client, bucket: string): Promise<number> {
	return (await listAllKeys(s3, bucket)).length;
}

/** Waits until every delivery so far is written (or 180 s); returns ms from `since` until it was. */
async function drain(s3: S3Client, live: Live, pgid: number, since: number): Promise<number | undefined> {
	let writtenAt: number | undefined;
	if (live.bucket) {
		const expected = live.objectsBefore + live.pending * live.objectsPerDelivery;
		const t0 = Date.now();
		for (;;) {
			const found = await countObjects(s3, live.bucket);
			if (found >= expected) {
				writtenAt = performance.now() - since;
				live.objectsBefore = found;
				live.pending = 0;
				break;
			}
			if (Date.now() - t0 > 180_000) {
				progress(`${live.spec.name}: still not every object written after 180 s`);
				break;
			}
			await sleep(100);
		}
	}
	await cpuIdle(pgid);
	return writtenAt;
}

interface Sample {
	run: number;
	sequentialMs: number[];
	burstWallMs: number;
	burstWrittenMs?: number;
	non200: number;
	cpuSequentialMs: number;
	cpuBurstMs: number;
}

async function measure(s3: S3Client, live: Live, pgid: number, run: number): Promise<Sample> {
	let non200 = 0;
	const count = (answers: Array<{ status: number }>) => {
		for (const a of answers) {
			if (a.status === 200) {
				live.delivered++;
				live.pending++;
			} else non200++;
		}
	};
	const cpu0 = groupCpuMs(pgid);
	const sequential: Array<{ status: number; ms: number }> = [];
	const tSeq = performance.now();
	for (let i = 0; i < SEQUENTIAL; i++) sequential.push(await post(live.url));
	count(sequential);
	await drain(s3, live, pgid, tSeq);
	const cpu1 = groupCpuMs(pgid);
	const t0 = performance.now();
	const burst = await Promise.all(Array.from({ length: BURST }, () => post(live.url)));
	const burstWallMs = performance.now() - t0;
	count(burst);
	const burstWrittenMs = await drain(s3, live, pgid, t0);
	const cpu2 = groupCpuMs(pgid);
	return {
		run,
		sequentialMs: sequential.map((a) => a.ms),
		burstWallMs,
		burstWrittenMs,
		non200,
		cpuSequentialMs: cpu1 - cpu0,
		cpuBurstMs: cpu2 - cpu1,
	};
}

// ---------------------------------------------------------------------------------------------------
// One n8n process per engine setting

interface WorkflowResult {
	name: string;
	role: Role;
	afterWorkflow: boolean;
	samples: Sample[];
	sequentialMedianMs: number;
	sequentialP99Ms: number;
	burstPerSecond: number;
	burstWrittenPerSecond?: number;
	non200: number;
	cpuPerDeliveryMs: number;
	objectsExpected?: number;
	objectsFound?: number;
	/** Main-thread profile phase (templates): ms per delivery with a pack frame on the stack. */
	profile?: { deliveries: number; packMs: number; packAndDepsMs: number; mainThreadBusyMs: number };
}

interface EngineResult {
	engine: string;
	label: string;
	loadAverageAtStart: string;
	workflows: WorkflowResult[];
	/** Workflows that could not be activated, with the reason. */
	notRun: Array<{ name: string; reason: string }>;
}

async function runEngine(engine: Engine, graph: GraphStandIn, gpg: Instance['gpg'], s3: S3Client): Promise<EngineResult> {
	const loadAverageAtStart = os.loadavg().map((l) => l.toFixed(2)).join(' ');
	const userFolder = makeUserFolder(`bench-${engine.name}`);
	const buckets: string[] = [];
	try {
		progress(`${engine.label}: starting n8n on port ${PORT}`);
		const n8n = startN8n(userFolder, { ...engine.env, ...graph.env, NODE_OPTIONS: `--inspect-port=127.0.0.1:${INSPECTOR_PORT}` }, PORT);
		const pgid = Number(readFileSync(path.join(userFolder, 'n8n.pid'), 'utf8'));
		const session = await setupOwner(n8n.baseUrl);
		const instance: Instance = {
			baseUrl: n8n.baseUrl,
			apiKey: session.apiKey,
			s3,
			gpg,
			credential: async (type, data) => {
				const name = `${type} ${randomBytes(3).toString('hex')}`;
				const created = await api(n8n.baseUrl, session.apiKey, 'POST', '/credentials', { name, type, data });
				return { id: created.id, name };
			},
		};
		const live: Live[] = [];
		const notRun: EngineResult['notRun'] = [];
		for (const spec of WORKFLOWS) {
			try {
				const built = await spec.build(instance);
				if (built.bucket) buckets.push(built.bucket);
				const workflow = await api(n8n.baseUrl, session.apiKey, 'POST', '/workflows', {
					name: spec.name,
					nodes: built.nodes,
					connections: built.connections,
					settings: built.settings,
				});
				await api(n8n.baseUrl, session.apiKey, 'POST', `/workflows/${workflow.id}/activate`);
				live.push({ spec, url: built.url, bucket: built.bucket, objectsPerDelivery: 0, objectsAfterWarmup: 0, objectsBefore: 0, pending: 0, delivered: 0 });
			} catch (error) {
				notRun.push({ name: spec.name, reason: (error as Error).message.slice(0, 300) });
				progress(`${engine.label}: ${spec.name} not run: ${(error as Error).message.slice(0, 300)}`);
			}
		}
		// Warm-up: registration is asynchronous (404 until live); then WARMUP deliveries each, and the
		// objects they leave give the objects per delivery.
		for (const w of live) {
			const t0 = Date.now();
			let answer = await post(w.url);
			while (answer.status === 404 && Date.now() - t0 < 15_000) {
				await sleep(100);
				answer = await post(w.url);
			}
			if (answer.status !== 200) throw new Error(`${w.spec.name}: warm-up delivery answered ${answer.status}`);
			// the first delivery may also write objects shared by later ones (the counterparty's identity
			// links); the objects one more delivery adds are counted after the last warm-up delivery
			const settled = async (bucket: string, atLeast: number) => {
				let last = -1;
				let stable = 0;
				for (let i = 0; i < 300 && stable < 3; i++) {
					const n = await countObjects(s3, bucket);
					stable = n >= atLeast && n === last ? stable + 1 : 0;
					last = n;
					await sleep(200);
				}
				return last;
			};
			for (let i = 1; i < WARMUP - 1; i++) await post(w.url);
			const before = w.bucket ? await settled(w.bucket, 1) : 0;
			if ((await post(w.url)).status !== 200) throw new Error(`${w.spec.name}: warm-up delivery failed`);
			w.delivered = WARMUP;
			if (w.bucket) {
				w.objectsBefore = await settled(w.bucket, before + 1);
				w.objectsAfterWarmup = w.objectsBefore;
				w.objectsPerDelivery = w.objectsBefore - before;
				if (w.objectsPerDelivery < 1) throw new Error(`${w.spec.name}: a warm-up delivery wrote nothing to ${w.bucket}`);
			}
		}
		await cpuIdle(pgid);
		const samples = new Map<Live, Sample[]>(live.map((w) => [w, []]));
		for (let run = 0; run < RUNS; run++) {
			for (let i = 0; i < live.length; i++) {
				const w = live[(i + run) % live.length];
				const sample = await measure(s3, w, pgid, run);
				samples.get(w)!.push(sample);
				progress(
					`${engine.label} run ${run + 1}/${RUNS} ${w.spec.name}: seq median ${median(sample.sequentialMs).toFixed(0)} ms, ` +
						`burst ${((BURST * 1000) / sample.burstWallMs).toFixed(1)}/s, CPU ${((sample.cpuSequentialMs + sample.cpuBurstMs) / (SEQUENTIAL + BURST)).toFixed(1)} ms/delivery` +
						(sample.non200 ? `, ${sample.non200} non-200` : ''),
				);
			}
		}
		const results: WorkflowResult[] = [];
		for (const w of live) {
			const s = samples.get(w)!;
			const all = s.flatMap((x) => x.sequentialMs);
			const written = s.filter((x) => x.burstWrittenMs !== undefined).map((x) => (BURST * 1000) / x.burstWrittenMs!);
			results.push({
				name: w.spec.name,
				role: w.spec.role,
				afterWorkflow: w.spec.afterWorkflow,
				samples: s,
				sequentialMedianMs: median(all),
				sequentialP99Ms: percentile(all, 99),
				burstPerSecond: median(s.map((x) => (BURST * 1000) / x.burstWallMs)),
				burstWrittenPerSecond: written.length ? median(written) : undefined,
				non200: s.reduce((a, x) => a + x.non200, 0),
				cpuPerDeliveryMs: s.reduce((a, x) => a + x.cpuSequentialMs + x.cpuBurstMs, 0) / (s.length * (SEQUENTIAL + BURST)),
				...(w.bucket ? { objectsExpected: w.objectsAfterWarmup + (w.delivered - WARMUP) * w.objectsPerDelivery, objectsFound: await countObjects(s3, w.bucket) } : {}),
			});
		}
		if (!hasFlag('no-profile')) await profilePhase(engine.label, live, results, pgid, s3);
		return { engine: engine.name, label: engine.label, loadAverageAtStart, workflows: results, notRun };
	} finally {
		stopN8n(userFolder);
		for (const bucket of buckets) await removeBucket(s3, bucket);
	}
}

/** Profiles the main thread while each template takes S + B more deliveries (timed runs are over). */
async function profilePhase(label: string, live: Live[], results: WorkflowResult[], pgid: number, s3: S3Client): Promise<void> {
	const templates = live.filter((w) => w.spec.role.startsWith('template'));
	if (!templates.length) return;
	const profiler = new InspectorProfiler(pgid, INSPECTOR_PORT);
	try {
		await profiler.connect();
		for (const w of templates) {
			await profiler.start();
			const t0 = performance.now();
			let ok = 0;
			for (let i = 0; i < SEQUENTIAL; i++) if ((await post(w.url)).status === 200) ok++;
			for (const a of await Promise.all(Array.from({ length: BURST }, () => post(w.url)))) if (a.status === 200) ok++;
			w.delivered += ok;
			w.pending += ok;
			await drain(s3, w, pgid, t0);
			// the pack's own files, and everything installed with it (n8n itself may live under a folder
			// named like the pack, e.g. its cache, hence node_modules/ in the marker)
			const packMarker = `/node_modules/${PACK}/`;
			const time = profileTime(await profiler.stop(), [packMarker, '/.n8n/nodes/node_modules/']);
			const deliveries = SEQUENTIAL + BURST;
			const result = results.find((r) => r.name === w.spec.name)!;
			result.profile = {
				deliveries,
				packMs: time.byMarker[packMarker] / deliveries,
				packAndDepsMs: time.byMarker['/.n8n/nodes/node_modules/'] / deliveries,
				mainThreadBusyMs: time.busyMs / deliveries,
			};
			progress(`${label} profile ${w.spec.name}: pack ${result.profile.packMs.toFixed(2)} ms/delivery (with its dependencies ${result.profile.packAndDepsMs.toFixed(2)})`);
		}
	} catch (error) {
		progress(`${label}: profile phase failed: ${(error as Error).message}`);
	} finally {
		profiler.close();
	}
}

// ---------------------------------------------------------------------------------------------------
// Report

const f0 = (v: number | undefined) => (v === undefined || !Number.isFinite(v) ? '–' : v.toFixed(0));
const f1 = (v: number | undefined) => (v === undefined || !Number.isFinite(v) ? '–' : v.toFixed(1));
const x2 = (v: number | undefined) => (v === undefined || !Number.isFinite(v) ? '–' : `${v.toFixed(2)}×`);

/** Median over runs of the per-run ratio `of(a) / of(b)` (same minutes of the same process). */
function runRatio(a: WorkflowResult | undefined, b: WorkflowResult | undefined, of: (s: Sample) => number): number | undefined {
	if (!a || !b) return undefined;
	const ratios = a.samples.map((s, i) => (b.samples[i] ? of(s) / of(b.samples[i]) : Number.NaN)).filter(Number.isFinite);
	return ratios.length ? median(ratios) : undefined;
}
const seqMedian = (s: Sample) => median(s.sequentialMs);
const burstRate = (s: Sample) => BURST / s.burstWallMs;
const cpuPer = (s: Sample) => (s.cpuSequentialMs + s.cpuBurstMs) / (SEQUENTIAL + BURST);

function report(engines: EngineResult[], graphNote: string): { markdown: string; ratios: Record<string, unknown> } {
	const lines: string[] = [];
	const ratios: Record<string, unknown> = {};
	lines.push(
		`Machine: ${machineLine(['node'])}; 2-core VM, same n8n process, interleaved. n8n 2.40.7, regular mode, SQLite.`,
		`Command: \`npm run bench:webhook\` (${RUNS} runs × ${SEQUENTIAL} sequential + a burst of ${BURST} per workflow and engine; ` +
			'a fresh signed text delivery each; CPU = user + system of the whole n8n process group per delivery).',
		'',
	);
	for (const e of engines) {
		lines.push(`**Expression engine: ${e.label}** (load ${e.loadAverageAtStart} at start)`, '');
		lines.push(
			table(
				['workflow', 'sequential median ms', 'p99 ms', 'burst answers/s', 'burst written/s', 'CPU ms/delivery', 'non-200', 'objects written'],
				e.workflows.map((w) => [
					w.name,
					f0(w.sequentialMedianMs),
					f0(w.sequentialP99Ms),
					f1(w.burstPerSecond),
					f1(w.burstWrittenPerSecond),
					f1(w.cpuPerDeliveryMs),
					w.non200,
					w.objectsExpected === undefined ? '–' : `${w.objectsFound}/${w.objectsExpected}`,
				]),
			),
		);
		for (const n of e.notRun) lines.push('', `Not run: ${n.name}: ${n.reason}`);
		const by = (role: Role) => e.workflows.filter((w) => w.role === role);
		const rows: Array<Array<string>> = [];
		const r: Record<string, unknown> = {};
		for (const t of [...by('template-after'), ...by('template-archive-at-capture'), ...by('template-archive-at-capture-store'), ...by('template-immediately')]) {
			const after = t.role !== 'template-immediately';
			const bareW = by(after ? 'bare-after' : 'bare-immediately')[0];
			const peer = by(after ? 'pipeline' : 'whatsapp-trigger')[0];
			const entry = {
				medianVsBare: runRatio(t, bareW, seqMedian),
				burstVsBare: runRatio(t, bareW, burstRate),
				medianVsPeer: runRatio(t, peer, seqMedian),
				burstVsPeer: runRatio(t, peer, burstRate),
				cpuVsPeer: runRatio(t, peer, cpuPer),
				cpuPerDeliveryMs: t.cpuPerDeliveryMs,
				packCpuPerDeliveryMs: t.profile?.packMs,
			};
			r[t.name] = entry;
			rows.push([
				t.name,
				peer?.name ?? '–',
				x2(entry.medianVsPeer),
				x2(entry.burstVsPeer),
				x2(entry.cpuVsPeer),
				x2(entry.medianVsBare),
				x2(entry.burstVsBare),
				t.profile ? `${t.profile.packMs.toFixed(1)} (${t.profile.packAndDepsMs.toFixed(1)}) of ${t.profile.mainThreadBusyMs.toFixed(1)}` : '–',
			]);
		}
		ratios[e.engine] = r;
		if (rows.length) {
			lines.push(
				'',
				table(
					['template', 'n8n-nodes peer', 'median vs peer', 'burst/s vs peer', 'CPU vs peer', 'median vs bare', 'burst/s vs bare', 'main thread ms/delivery: pack (with deps) of busy'],
					rows,
				),
			);
		}
		lines.push('');
	}
	lines.push(
		'Ratios: median over the runs of the per-run ratio (same process, same minutes). "vs bare" compares with the bare Webhook of the same Respond timing; ' +
			'the peer of "after workflow" is the n8n-nodes pipeline, of "immediately" the WhatsApp Trigger → S3. ' +
			`p99: nearest rank over the ${RUNS * SEQUENTIAL} sequential answers. ` +
			'"burst answers/s" = burst size / time to the last answer; "burst written/s" = burst size / time until every object was in the store. ' +
			'Pack main-thread ms = CPU profile of n8n\'s main thread (inspector, 0.5 ms sampling, after the timed runs), samples with a frame of the pack on the stack, per delivery; in brackets: a frame of the pack or of its installed dependencies (openpgp, AWS SDK); "busy": every non-idle sample. ' +
			"The pipeline's false branch (wrong signature) is empty: a forged delivery gets 200 and nothing is written.",
		'',
		graphNote,
	);
	return { markdown: lines.join('\n'), ratios };
}

function goals(engines: EngineResult[]): string[] {
	const out: string[] = [];
	for (const e of engines) {
		const bareW = e.workflows.find((w) => w.role === 'bare-after');
		const peer = e.workflows.find((w) => w.role === 'pipeline');
		for (const t of e.workflows.filter((w) => w.role === 'template-after' || w.role === 'template-archive-at-capture' || w.role === 'template-archive-at-capture-store')) {
			const m = runRatio(t, bareW, seqMedian);
			const b = runRatio(t, bareW, burstRate);
			const pm = runRatio(t, peer, seqMedian);
			const pb = runRatio(t, peer, burstRate);
			const label = { 'template-after': 'archive write in the workflow', 'template-archive-at-capture': 'template as shipped', 'template-archive-at-capture-store': 'template, Duplicate Check "store"' }[t.role as string];
			out.push(
				`${e.label}: ${label} vs pipeline: median ${x2(pm)} (goal ≤ 1×: ${pm !== undefined && pm <= 1 ? 'met' : 'missed'}), burst/s ${x2(pb)} (goal ≥ 1×: ${pb !== undefined && pb >= 1 ? 'met' : 'missed'}); ` +
					`vs bare: median ${x2(m)} (legacy goal ≤ 3×: ${m !== undefined && m <= 3 ? 'met' : 'missed'}), burst/s ${x2(b)} (legacy goal ≥ 0.5×: ${b !== undefined && b >= 0.5 ? 'met' : 'missed'}); ` +
					`pack main-thread CPU ${t.profile ? `${t.profile.packMs.toFixed(2)} ms/delivery (goal ≤ 10 ms: ${t.profile.packMs <= 10 ? 'met' : 'missed'})` : 'not profiled'}.`,
			);
		}
	}
	return out;
}

async function main(): Promise<void> {
	if (!WORKFLOWS.length) throw new Error('--only matched no workflow');
	machineLine(['node']); // machine facts (load average) as of the start
	const gpg = await makeGpgHome();
	const s3 = engineClient();
	const graph = await startGraphStandIn(GRAPH_PROXY_PORT);
	try {
		progress(`workflows: ${WORKFLOWS.map((w) => w.name).join('; ')}`);
		const engines: EngineResult[] = [];
		for (const engine of ENGINES) engines.push(await runEngine(engine, graph, gpg, s3));
		const graphCalls = [...new Set(graph.calls)].join(', ');
		const graphNote = graphCalls
			? `WhatsApp Trigger activation: Graph API calls answered by the local stand-in (HTTPS_PROXY + NODE_EXTRA_CA_CERTS): ${graphCalls}.`
			: 'WhatsApp Trigger: no Graph API call reached the local stand-in.';
		const { markdown, ratios } = report(engines, graphNote);
		const goalLines = goals(engines);
		const text = `${markdown}\n\nGoals: ${goalLines.join(' ')}\n`;
		console.log(text);
		writeFileSync(path.join(E2E_DIR, 'bench-webhook.md'), text);
		writeFileSync(
			path.join(E2E_DIR, 'bench-webhook.json'),
			JSON.stringify({ n8n: '2.40.7 regular mode, SQLite', runs: RUNS, sequential: SEQUENTIAL, burst: BURST, machine: machineLine(['node']), engines, ratios, goals: goalLines, graphCalls: graph.calls.length }, null, 2),
		);
		progress(`written ${path.join(E2E_DIR, 'bench-webhook.json')} and bench-webhook.md`);
	} finally {
		await graph.close();
		await gpg.cleanup();
	}
}

main().catch((error) => {
	console.error(error);
	process.exit(1);
});
