/**
 * Driver of `bash scripts/demo.sh --n8n` (README "See it in n8n's editor"), run once n8n is up with the
 * pack installed from `npm pack`:
 *  1. the owner login, created through n8n's REST API (printed, never written to a file);
 *  2. a throw-away OpenPGP key pair made in memory (OpenPGP.js): the private key goes only into the
 *     OpenPGP Private Key credential; every other credential the templates name, with generated secrets;
 *  3. every template of workflows/ imported with those credentials, the WhatsApp capture template activated;
 *  4. each signed fixture delivery of test/fixtures/whatsapp POSTed to the trigger's production URL;
 *  5. a demo workflow (Manual Trigger → S3 Archive List, and → Retention Sweeper Plan) run and saved, so
 *     that its execution shows the archived objects and the sweep plan in the editor; the eDiscovery
 *     template run once (its export kept encrypted under exports/; the template saves no execution).
 * Prints "== ready" and the login, then exits; demo.sh keeps n8n running until Ctrl-C.
 * Environment: DEMO_BASE_URL, S3_* from scripts/s3-local.sh.
 */
import { randomBytes } from 'node:crypto';
import { readdirSync, readFileSync } from 'node:fs';
import path from 'node:path';

import { generateKey } from 'openpgp';

import { createS3Client } from '../lib/s3';
import { api, importWorkflow, rest, runFromTrigger, setupOwner, waitUntilNot404, type WorkflowJson } from '../test/e2e/helpers/n8n';
import { metaSignature } from '../test/e2e/helpers/workflows';
import { listAllKeys, makeBucket, s3ArchiveCredential, s3Settings } from '../test/helpers/s3';

const REPO = path.resolve(__dirname, '..');
const BASE_URL = process.env.DEMO_BASE_URL || 'http://127.0.0.1:5678';
const PACK = 'n8n-nodes-chat-archive';
const CAPTURE = 'whatsapp-capture-archive';
const EDISCOVERY = 'ediscovery-export';
const SWEEP = 'retention-sweep-nightly';
/** The demo workflow's name (test/e2e/editor.e2e.test.ts looks for it). */
const LOOK_WORKFLOW = 'Chat archive demo: what the store holds';

const template = (name: string) =>
	JSON.parse(readFileSync(path.join(REPO, 'workflows', `${name}.json`), 'utf8'));
const hex = (bytes: number) => randomBytes(bytes).toString('hex');

async function main() {
	const settings = s3Settings();
	const s3 = createS3Client(settings);
	const bucket = await makeBucket(s3, { objectLock: true, prefix: 'chat-archive-demo' });

	console.log('== 1. the owner login (n8n REST API)');
	const session = await setupOwner(BASE_URL, { firstName: 'Demo', label: 'chat-archive demo' });

	console.log('== 2. credentials: a throw-away OpenPGP key pair (in memory) and generated secrets');
	const { publicKey, privateKey } = await generateKey({
		// ed25519/cv25519 v4 keys (curve25519Legacy): what GnuPG 2.2 and sq use; the pack refuses RFC 9580 Ed25519 keys
		type: 'ecc',
		curve: 'curve25519Legacy',
		userIDs: [{ name: 'Archive Team (demo)', email: 'archive@example.invalid' }],
		format: 'armored',
	});
	const appSecret = hex(16);
	const indexKey = hex(32);
	// closed loopback port: the demo reaches no Meta or Telegram server
	const nowhere = 'http://127.0.0.1:9';
	const credentials: Array<{ type: string; name: string; data: Record<string, unknown> }> = [
		{
			type: 'whatsAppCaptureApi',
			name: 'WhatsApp Capture (Meta App)',
			data: { appSecret, verifyToken: hex(12), accessToken: hex(16), graphApiBaseUrl: nowhere, graphApiVersion: 'v24.0', indexKey },
		},
		{
			type: 'metaMessagingCaptureApi',
			name: 'Meta Messaging Capture (Messenger, Instagram)',
			data: { appSecret: hex(16), verifyToken: hex(12), pageAccessToken: hex(16), indexKey, graphApiBaseUrl: nowhere, graphApiVersion: 'v24.0' },
		},
		{
			type: 'telegramBotCaptureApi',
			name: 'Telegram Bot API',
			data: { botToken: `7000000001:${randomBytes(18).toString('base64url')}`, secretToken: hex(16), indexKey, apiBaseUrl: nowhere },
		},
		{ type: 'openPgpPublicKeysApi', name: 'OpenPGP Public Keys', data: { publicKeys: publicKey } },
		// the demo has one key pair: the legal team's exports are encrypted to the archive team's key
		{ type: 'openPgpPublicKeysApi', name: 'Legal team public keys', data: { publicKeys: publicKey } },
		{ type: 'openPgpPrivateKeyApi', name: 'OpenPGP Private Key', data: { privateKey, passphrase: '' } },
		{
			type: 's3ArchiveApi',
			name: 'S3 Archive Store',
			data: s3ArchiveCredential(bucket, indexKey),
		},
	];
	/** credential id by name */
	const idByName: Record<string, string> = {};
	for (const { type, name, data } of credentials) {
		const { id } = await api(BASE_URL, session.apiKey, 'POST', '/credentials', { name, type, data });
		idByName[name] = id;
		console.log(`   ${name} (${type})`);
	}

	/** A template's credential reference: the credential of its name, else the first of its type. */
	const credentialFor = (type: string, reference: { name: string }) => {
		const name = reference.name in idByName ? reference.name : credentials.find((c) => c.type === type)!.name;
		return { id: idByName[name], name };
	};
	const importTemplate = (json: WorkflowJson) => importWorkflow(BASE_URL, session.apiKey, json, credentialFor);

	// The fixture deliveries are re-dated so that their latest message was sent a minute ago (spacing and
	// order kept): a capture files a record by a plausible provider timestamp, else by its receipt, and the
	// eDiscovery template's example request asks for the dates the deliveries now carry.
	const fixtures = path.join(REPO, 'test', 'fixtures', 'whatsapp');
	const deliveries = readdirSync(fixtures)
		.sort()
		.map((file) => ({ file, json: JSON.parse(readFileSync(path.join(fixtures, file), 'utf8')) }))
		.filter(({ json }) => json.object === 'whatsapp_business_account');
	const stamps = deliveries.flatMap(({ json }) => timestamps(json));
	const shift = Math.floor(Date.now() / 1000) - 60 - Math.max(...stamps);
	for (const { json } of deliveries) redate(json, shift);
	const day = (seconds: number) => new Date(seconds * 1000).toISOString().slice(0, 10);
	const period = { from: day(Math.min(...stamps) + shift), to: day(Date.now() / 1000) };

	console.log('== 3. every template of workflows/, imported with those credentials');
	const ids: Record<string, string> = {};
	for (const file of readdirSync(path.join(REPO, 'workflows')).filter((f) => f.endsWith('.json')).sort()) {
		const name = file.replace(/\.json$/, '');
		const json = template(name);
		if (name === EDISCOVERY) {
			// the example request, over the re-dated deliveries' period
			const request = json.nodes.find((n: any) => n.name === 'Export request');
			for (const assignment of request.parameters.assignments.assignments)
				if (assignment.name in period) assignment.value = period[assignment.name as keyof typeof period];
		}
		ids[name] = await importTemplate(json);
		console.log(`   ${`${BASE_URL}/workflow/${ids[name]}`.padEnd(52)} ${json.name}`);
	}
	await api(BASE_URL, session.apiKey, 'POST', `/workflows/${ids[CAPTURE]}/activate`);
	const trigger = template(CAPTURE).nodes.find((n: any) => n.type === `${PACK}.whatsAppCaptureTrigger`);
	// the trigger's webhooks declare path 'webhook' without isFullPath → /webhook/<webhookId>/webhook
	const webhookUrl = `${BASE_URL}/webhook/${trigger.webhookId}/webhook`;
	await waitUntilNot404(() => fetch(webhookUrl, { method: 'POST', body: '{}' }));
	console.log(`   activated "${template(CAPTURE).name}": production URL ${webhookUrl}`);

	console.log('== 4. the signed fixture deliveries, POSTed to the production URL');
	const recordKeys = async () =>
		(await listAllKeys(s3, bucket, 'archive/')).filter((key) => !key.startsWith('archive/_') && !/\.media[^/]*\.pgp$/.test(key));
	let posted = 0;
	for (const { file, json } of deliveries) {
		const body = Buffer.from(JSON.stringify(json));
		const before = new Set(await recordKeys());
		const response = await fetch(webhookUrl, {
			method: 'POST',
			headers: {
				'content-type': 'application/json',
				'x-hub-signature-256': metaSignature(appSecret, body),
			},
			body: new Uint8Array(body),
		});
		await response.arrayBuffer();
		const written = (await recordKeys()).filter((key) => !before.has(key)).length;
		console.log(`   POST ${file.padEnd(36)} → HTTP ${response.status}, ${written} record(s) archived by the trigger`);
		if (response.status !== 200) throw new Error(`${file}: the trigger answered HTTP ${response.status}`);
		posted++;
	}

	console.log('== 5. what the store holds and what a sweep would delete, in a saved execution');
	const plan = template(SWEEP).nodes.find((n: any) => n.name === 'Plan (dry run)');
	const look = {
		name: LOOK_WORKFLOW,
		nodes: [
			{ id: 'c0a1e7d2-1d6b-4f7e-9a51-6f0d2a0d3e01', name: 'Look at the archive', type: 'n8n-nodes-base.manualTrigger', typeVersion: 1, position: [0, 0], parameters: {} },
			{
				id: 'c0a1e7d2-1d6b-4f7e-9a51-6f0d2a0d3e02',
				name: 'List archived objects',
				type: `${PACK}.s3Archive`,
				typeVersion: 1,
				position: [260, -100],
				parameters: { resource: 'record', operation: 'list', returnAll: true, filters: {} },
				credentials: { s3ArchiveApi: { id: '', name: 'S3 Archive Store' } },
			},
			{ ...structuredClone(plan), id: 'c0a1e7d2-1d6b-4f7e-9a51-6f0d2a0d3e03', name: 'Sweep plan (dry run)', position: [260, 100] },
		],
		connections: {
			'Look at the archive': {
				main: [[
					{ node: 'List archived objects', type: 'main', index: 0 },
					{ node: 'Sweep plan (dry run)', type: 'main', index: 0 },
				]],
			},
		},
		// nothing here holds plaintext: object keys, sizes and counts only
		settings: { executionOrder: 'v1', saveManualExecutions: true, saveDataSuccessExecution: 'all', saveDataErrorExecution: 'all' },
	};
	ids.look = await importTemplate(look);
	const { execution } = await runFromTrigger(BASE_URL, session, ids.look, 'Look at the archive');
	const runData = execution.data?.resultData?.runData ?? {};
	const out = (node: string): any[] => runData[node]?.[0]?.data?.main?.[0] ?? [];
	if (execution.status !== 'success') throw new Error(`the demo workflow ended ${execution.status}: ${execution.data?.resultData?.error?.message}`);
	const sweep = out('Sweep plan (dry run)')[0]?.json ?? {};
	console.log(`   List archived objects: ${out('List archived objects').length} objects`);
	console.log(`   Sweep plan (dry run): ${JSON.stringify(sweep.totals ?? {})}`);
	console.log(`   ${BASE_URL}/workflow/${ids.look}/executions/${execution.id}`);

	console.log('== 6. the eDiscovery template, run once: its RSMF export kept encrypted under exports/');
	await rest(BASE_URL, session.cookie, 'POST', `/workflows/${ids[EDISCOVERY]}/run`, { triggerToStartFrom: { name: 'Run export' } });
	const exported = await waitFor(async () => (await listAllKeys(s3, bucket, 'exports/'))[0], 120_000, 'the eDiscovery export');
	console.log(`   s3://${bucket}/${exported}`);
	s3.destroy();

	const total = (await listAllKeys(createS3Client(settings), bucket)).length;
	console.log('');
	console.log(`== ready: ${BASE_URL}  (${posted} deliveries archived, ${total} objects in s3://${bucket})`);
	console.log(`   sign in with  email    ${session.email}`);
	console.log(`                 password ${session.password}`);
	console.log('   then look at:');
	console.log(`   - the templates: ${BASE_URL}/home/workflows (the WhatsApp capture workflow is active)`);
	console.log(`   - the archived objects and the sweep plan: "${LOOK_WORKFLOW}", Executions tab, or Execute workflow`);
	console.log(`   - an export: "${template(EDISCOVERY).name}", Execute workflow, then open "Export conversation"`);
}

/** Every provider `timestamp` (Unix seconds, as a string or a number) in a delivery. */
function timestamps(value: unknown): number[] {
	if (Array.isArray(value)) return value.flatMap(timestamps);
	if (!value || typeof value !== 'object') return [];
	return Object.entries(value).flatMap(([key, v]) =>
		key === 'timestamp' && /^\d{9,10}$/.test(String(v)) ? [Number(v)] : timestamps(v),
	);
}

/** Adds `shift` seconds to every provider `timestamp` of a delivery, keeping its type. */
function redate(value: unknown, shift: number): void {
	if (!value || typeof value !== 'object') return;
	for (const [key, v] of Object.entries(value)) {
		if (key === 'timestamp' && /^\d{9,10}$/.test(String(v))) {
			(value as Record<string, unknown>)[key] = typeof v === 'number' ? v + shift : String(Number(v) + shift);
		} else redate(v, shift);
	}
}

async function waitFor<T>(probe: () => Promise<T | undefined>, timeoutMs: number, what: string): Promise<T> {
	const t0 = Date.now();
	for (;;) {
		const value = await probe();
		if (value !== undefined) return value;
		if (Date.now() - t0 > timeoutMs) throw new Error(`${what} did not finish within ${timeoutMs / 1000} s`);
		await new Promise((r) => setTimeout(r, 250));
	}
}

main().catch((error) => {
	console.error(`demo: ${error instanceof Error ? error.message : error}`);
	process.exit(1);
});
