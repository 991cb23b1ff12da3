/**
 * The template `workflows/whatsapp-capture-archive.json` in a REAL n8n 2.x (`scripts/n8n-e2e.sh`):
 * the pack is installed from its `npm pack` tarball into the community packages folder, the owner and
 * an API key are made without the UI, the three credentials are created through the public API, the
 * template is imported with POST /api/v1/workflows and activated; then every fixture delivery of
 * test/fixtures/whatsapp is signed with a throw-away app secret and POSTed to the production webhook
 * URL. The template as shipped encrypts and archives at capture: the trigger writes every record to
 * the local Ceph RGW store itself and answers 200 without starting an execution, so what is checked is
 * the store (objects decrypted with gpg and compared with the checked-in expected records) and n8n's
 * database (no execution row). Only records the trigger could not store start an execution (into
 * Quarantine Record, still encrypted): a store credential with another index key shows that path, a
 * missing bucket the 500 (Meta retries) with its error execution listed.
 *
 * Afterwards n8n's data folder is scanned for plaintext, before and after execution pruning. The
 * template as shipped saves nothing to scan on success, so the scan also covers "the template with
 * the archive write in the workflow" (helpers/workflows.ts `withArchiveInWorkflow`: Archive at Capture
 * off, an Archive Record node with the same settings; every delivery an execution) with every
 * execution saved: its executions hold only ciphertext. A control workflow with Encrypt at Capture off
 * (trigger → OpenPGP node → Archive Record) shows the same scan does find the plaintext n8n saves
 * otherwise.
 *
 * Run with `npm run test:e2e` (bash scripts/n8n-e2e.sh test). Measurements are printed and written
 * to $E2E_DIR/results-capture.json.
 */
import { execFileSync } from 'node:child_process';
import { createHmac, randomBytes, randomUUID } from 'node:crypto';
import { readdirSync, readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';

import { ListObjectVersionsCommand, type S3Client } from '@aws-sdk/client-s3';

import { recordId } from '../../lib/archive';
import { createS3Client } from '../../lib/s3';
import { gpgDecrypt, makeGpgHome } from '../helpers/gpg';
import { getObjectBytes, listAllKeys, makeBucket, s3ArchiveCredential, s3Settings } from '../helpers/s3';
import {
	api,
	E2E_DIR,
	makeUserFolder,
	PACK,
	rest,
	scanDataFolder,
	type N8nInstance,
	type Session,
	setupOwner,
	sql,
	startN8n,
	stopN8n,
	waitUntilNot404,
} from './helpers/n8n';
import { withArchiveInWorkflow } from './helpers/workflows';

const REPO = path.resolve(__dirname, '..', '..');
const FIXTURES = path.join(REPO, 'test', 'fixtures', 'whatsapp');
const EXPECTED = path.join(REPO, 'test', 'fixtures', 'expected');
const TEMPLATE = JSON.parse(
	readFileSync(path.join(REPO, 'workflows', 'whatsapp-capture-archive.json'), 'utf8'),
);
/** The template with the archive write in the workflow (Archive at Capture off, an Archive Record node). */
const IN_WORKFLOW = withArchiveInWorkflow(TEMPLATE);
const TRIGGER = `${PACK}.whatsAppCaptureTrigger`;

const deliveries = readdirSync(FIXTURES)
	.filter((f) => f.endsWith('.json'))
	.filter(
		(f) =>
			JSON.parse(readFileSync(path.join(FIXTURES, f), 'utf8')).object ===
			'whatsapp_business_account',
	)
	.sort();
// the 1:1 chats, for the scans whose deliveries are rewritten: records of the other kinds (history
// progress, contact sync, …) are identified by a hash of their content (RFC 8785), which the rewrite
// changes; their plaintext is covered by the scans of the deliveries as they are
const rewritable = deliveries.filter((f) => !/^(group-|history-|calls|smb-|user-preferences|account-settings|template-components)/.test(f));
const expectedRecords = (file: string): Array<Record<string, unknown>> =>
	JSON.parse(readFileSync(path.join(EXPECTED, file.replace(/\.json$/, '.records.json')), 'utf8'));

/** Plaintext of the fixtures that must not stay in n8n's files. */
const MARKERS = [
	'Can you confirm the bond order',
	'Signed term sheet',
	'Confirmed, ticket 4411 booked',
	'1 Example Plaza',
	'Yes, proceed',
	'Dana Example',
];

/** Body of the delivery sent to the failing workflow (its error execution is saved). */
const FAILURE_MARKER = `E2E failure path ${randomBytes(6).toString('hex')}`;
/** Body and name of the delivery whose records the trigger cannot store (they go to Quarantine Record). */
const QUARANTINE_MARKER = `E2E quarantine path ${randomBytes(6).toString('hex')}`;
const QUARANTINE_NAME = `Quarantine Person ${randomBytes(3).toString('hex')}`;
const APP_SECRET = randomBytes(16).toString('hex');
const VERIFY_TOKEN = randomBytes(12).toString('hex');
const INDEX_KEY = randomBytes(32).toString('hex');
const sign = (body: Buffer, secret = APP_SECRET) =>
	'sha256=' + createHmac('sha256', secret).update(body).digest('hex');

const results: Record<string, unknown> = {};
const note = (key: string, value: unknown) => {
	results[key] = value;
	console.log(`[e2e] ${key}: ${JSON.stringify(value)}`);
};

/** S3 Archive Store credential data for the local store (bucket to be set). */
const s3Credential = () => {
	const settings = s3Settings();
	return {
		endpoint: settings.endpoint,
		region: settings.region,
		accessKeyId: settings.accessKeyId,
		secretAccessKey: settings.secretAccessKey,
		forcePathStyle: true,
		checksumMode: 'WHEN_REQUIRED',
		indexKey: INDEX_KEY,
	};
};

/**
 * The fixture texts rewritten to markers of their own (the same replacements applied to the expected
 * records), so the plaintext of each every-execution-saved workflow can be told apart in n8n's files.
 */
function markersFor(label: string): Record<string, string> {
	const tag = randomBytes(4).toString('hex');
	return {
		'Dana Example': `${label} Dana ${tag}`,
		'Can you confirm the bond order': `${label} bond order ${tag}`,
		'Signed term sheet': `${label} term sheet ${tag}`,
		'Confirmed, ticket 4411 booked': `${label} ticket ${tag}`,
		'1 Example Plaza': `${label} Plaza ${tag}`,
		'Yes, proceed': `${label} proceed ${tag}`,
		'wamid.HBgL': `wamid.${label.toUpperCase()}${tag}`,
	};
}
const rewrite = (markers: Record<string, string>, text: string) =>
	Object.entries(markers).reduce((t, [from, to]) => t.split(from).join(to), text);
/** The template as shipped, every execution saved. */
const SHIPPED_SAVED = markersFor('Shipped');
/** The template with the archive write in the workflow, every execution saved. */
const IN_WORKFLOW_SAVED = markersFor('Inworkflow');
const savedBuckets: Record<string, string> = {};
/** Body of the one delivery sent to the control workflow (Encrypt at Capture off, OpenPGP node). */
const CONTROL_MARKER = `E2E control plaintext ${randomBytes(6).toString('hex')}`;
const CONTROL_NAME = `Control Person ${randomBytes(3).toString('hex')}`;

/** A new delivery made from inbound-text.json: fresh wamid, its own body and profile name. */
function craftDelivery(body: string, name: string): { raw: Buffer; wamid: string } {
	const delivery = JSON.parse(readFileSync(path.join(FIXTURES, 'inbound-text.json'), 'utf8'));
	const value = delivery.entry[0].changes[0].value;
	const wamid = `wamid.E2E${randomBytes(12).toString('hex')}`;
	value.messages[0].id = wamid;
	value.messages[0].text.body = body;
	value.contacts[0].profile.name = name;
	return { raw: Buffer.from(JSON.stringify(delivery)), wamid };
}

describe('template whatsapp-capture-archive in a real n8n (community package from npm pack, SQLite, local RGW, gpg)', () => {
	let gpg: Awaited<ReturnType<typeof makeGpgHome>>;
	let s3: S3Client;
	let bucket: string;
	let userFolder: string;
	let n8n: N8nInstance;
	let session: Session;
	let workflowId: string;
	let webhookUrl: string;
	const credentialIds: Record<string, string> = {};

	const post = async (url: string, body: Buffer, signature?: string) => {
		const headers: Record<string, string> = { 'content-type': 'application/json' };
		if (signature !== undefined) headers['x-hub-signature-256'] = signature;
		const t0 = Date.now();
		const response = await fetch(url, { method: 'POST', headers, body: new Uint8Array(body) });
		const text = await response.text();
		return {
			status: response.status,
			text,
			contentType: response.headers.get('content-type'),
			ms: Date.now() - t0,
		};
	};
	/** Record objects of a bucket: not media, not the identity links under <prefix>/_identities/. */
	const recordKeys = async (inBucket: string, prefix = 'archive/') =>
		(await listAllKeys(s3, inBucket)).filter(
			(k) =>
				k.startsWith(prefix) &&
				!k.startsWith(`${prefix}_`) &&
				k.endsWith('.pgp') &&
				!k.endsWith('.media.pgp'),
		);
	/** Execution rows of a workflow in n8n's database, soft-deleted ones (successes not saved) included. */
	const executionRows = (id: string) =>
		Number(
			sql(n8n.dbPath, `select count(*) as n from execution_entity where workflowId = '${id}'`)[0].n,
		);

	/** Create a credential through the public API; returns its id. */
	const createCredential = async (name: string, type: string, data: Record<string, unknown>) =>
		(await api(n8n.baseUrl, session.apiKey, 'POST', '/credentials', { name, type, data }))
			.id as string;

	/** A template (the capture template unless given) with its credential references replaced, imported through the public API. */
	const importTemplate = async (
		name: string,
		credentials: Record<string, string>,
		webhookId?: string,
		settings: Record<string, unknown> = TEMPLATE.settings,
		template: { nodes: any[]; connections: unknown } = TEMPLATE,
	) => {
		const nodes = template.nodes.map((node: any) => {
			const copy = structuredClone(node);
			if (webhookId && copy.webhookId) copy.webhookId = webhookId;
			for (const type of Object.keys(copy.credentials ?? {})) {
				copy.credentials[type] = { id: credentials[type], name: `${type} (e2e)` };
			}
			return copy;
		});
		const created = await api(n8n.baseUrl, session.apiKey, 'POST', '/workflows', {
			name,
			nodes,
			connections: template.connections,
			settings,
		});
		return created;
	};

	const activate = async (id: string, url: string) => {
		const t0 = Date.now();
		await api(n8n.baseUrl, session.apiKey, 'POST', `/workflows/${id}/activate`);
		const activateMs = Date.now() - t0;
		// a handshake GET with a wrong token: 404 while unregistered, 403 once live
		const liveAfterMs = await waitUntilNot404(() =>
			fetch(`${url}?hub.mode=subscribe&hub.verify_token=x&hub.challenge=1`),
		);
		return { activateMs, liveAfterMs };
	};

	beforeAll(async () => {
		gpg = await makeGpgHome();
		const settings = s3Settings();
		s3 = createS3Client(settings);
		bucket = await makeBucket(s3, { objectLock: true, prefix: 'e2e' });
		userFolder = makeUserFolder('capture');
		// hard-delete pruning every 15 min (the default) while capturing, so "before pruning" is measurable
		n8n = startN8n(userFolder, { EXECUTIONS_DATA_PRUNE_HARD_DELETE_INTERVAL: '15' });
		note('boot ms (first boot, migrations included)', n8n.bootMs);
		session = await setupOwner(n8n.baseUrl);

		credentialIds.whatsAppCaptureApi = await createCredential(
			'WhatsApp Capture (e2e)',
			'whatsAppCaptureApi',
			{
				appSecret: APP_SECRET,
				verifyToken: VERIFY_TOKEN,
				// throw-away; the Graph API base is a closed loopback port, so media downloads fail fast
				// (media_status failed) and the record is archived all the same
				accessToken: `e2e-${randomBytes(8).toString('hex')}`,
				graphApiBaseUrl: 'http://127.0.0.1:9',
				graphApiVersion: 'v24.0',
				// for Encrypt at Capture: equal to the S3 Archive Store credential's
				indexKey: INDEX_KEY,
			},
		);
		credentialIds.openPgpPublicKeysApi = await createCredential(
			'OpenPGP Public Keys (e2e)',
			'openPgpPublicKeysApi',
			{
				publicKeys: gpg.publicKeyArmored,
				expectedFingerprints: gpg.fingerprint,
			},
		);
		const s3Credential = s3ArchiveCredential(bucket, INDEX_KEY);
		credentialIds.s3ArchiveApi = await createCredential(
			'S3 Archive Store (e2e)',
			's3ArchiveApi',
			s3Credential,
		);

		const workflow = await importTemplate(TEMPLATE.name, credentialIds);
		workflowId = workflow.id;
		const trigger = workflow.nodes.find((n: any) => n.type === TRIGGER);
		// the trigger's webhooks declare path 'webhook' without isFullPath → /webhook/<webhookId>/webhook
		webhookUrl = `${n8n.baseUrl}/webhook/${trigger.webhookId}/webhook`;
		note('activation', await activate(workflowId, webhookUrl));
	});

	afterAll(async () => {
		if (userFolder) stopN8n(userFolder);
		await gpg?.cleanup();
		results.bucket = bucket;
		results.savedBuckets = savedBuckets;
		writeFileSync(path.join(E2E_DIR, 'results-capture.json'), JSON.stringify(results, null, 2));
	});

	it('loads the three node types and credential types from the community packages folder', async () => {
		const described = await rest(n8n.baseUrl, session.cookie, 'POST', '/node-types', {
			nodeInfos: ['whatsAppCaptureTrigger', 'openPgp', 's3Archive'].map((name) => ({
				name: `${PACK}.${name}`,
				version: 1,
			})),
		});
		// asked by full type name; n8n 2.40.7 answers with the descriptions' own (unprefixed) names
		expect(described.data.map((d: any) => d.name).sort()).toEqual([
			'openPgp',
			's3Archive',
			'whatsAppCaptureTrigger',
		]);
		const trigger = described.data.find((d: any) => d.name === 'whatsAppCaptureTrigger');
		note('trigger webhooks as real n8n serves them', trigger.webhooks);
		for (const type of ['whatsAppCaptureApi', 'openPgpPublicKeysApi', 's3ArchiveApi']) {
			const schema = await api(n8n.baseUrl, session.apiKey, 'GET', `/credentials/schema/${type}`);
			expect(schema.type).toBe('object');
		}
		const workflow = await api(n8n.baseUrl, session.apiKey, 'GET', `/workflows/${workflowId}`);
		expect(workflow.active).toBe(true);
		// as shipped: the trigger archives at capture with the store credential, straight into Quarantine Record
		const shipped = workflow.nodes.find((n: any) => n.type === TRIGGER);
		expect(shipped.parameters).toMatchObject({ encryptAtCapture: true, archiveAtCapture: true });
		expect(shipped.credentials.s3ArchiveApi.id).toBe(credentialIds.s3ArchiveApi);
		expect(workflow.connections[shipped.name].main[0].map((c: any) => c.node)).toEqual([
			'Quarantine Record',
		]);
	});

	it('answers the verification handshake: the challenge (text/plain) for the right token, 403 otherwise', async () => {
		const url = (mode: string, token: string) =>
			`${webhookUrl}?hub.mode=${mode}&hub.verify_token=${token}&hub.challenge=1158201444`;
		const ok = await fetch(url('subscribe', VERIFY_TOKEN));
		expect(ok.status).toBe(200);
		expect(ok.headers.get('content-type')).toMatch(/^text\/plain/);
		expect(await ok.text()).toBe('1158201444');
		expect((await fetch(url('subscribe', 'wrong-token'))).status).toBe(403);
		expect((await fetch(url('unsubscribe', VERIFY_TOKEN))).status).toBe(403);
	});

	it('refuses unsigned and wrongly signed deliveries with 401: nothing archived, no execution', async () => {
		const executionsBefore = sql(n8n.dbPath, 'select count(*) as n from execution_entity')[0].n;
		const statuses: number[] = [];
		const expected: number[] = [];
		const bodies: Record<number, string> = {};
		const isJson = (b: Buffer) => {
			try {
				JSON.parse(b.toString('utf8'));
				return true;
			} catch {
				return false;
			}
		};
		for (const file of deliveries) {
			const body = readFileSync(path.join(FIXTURES, file));
			const mutated = Buffer.from(body);
			mutated[Math.floor(mutated.length / 2)] ^= 0x01;
			for (const [payload, signature] of [
				[body, undefined],
				[body, sign(body, 'not-the-app-secret')],
				[mutated, sign(body)],
				[body, sign(body).replace('sha256=', 'sha1=')],
			] as Array<[Buffer, string | undefined]>) {
				const answer = await post(webhookUrl, payload, signature);
				statuses.push(answer.status);
				if (!bodies[answer.status])
					bodies[answer.status] = `${answer.contentType} ${answer.text.slice(0, 300)}`;
				// a body that is no longer JSON is refused by n8n's body parser (422) before the node runs
				expected.push(isJson(payload) ? 401 : 422);
			}
		}
		note('refused deliveries: 401 / 422 (body not JSON, n8n body parser)', [
			statuses.filter((s) => s === 401).length,
			statuses.filter((s) => s === 422).length,
		]);
		note('refused deliveries: first answer per status', bodies);
		expect(statuses).toEqual(expected);
		expect(await listAllKeys(s3, bucket)).toEqual([]);
		expect(sql(n8n.dbPath, 'select count(*) as n from execution_entity')[0].n).toBe(
			executionsBefore,
		);
	});

	it('signed deliveries → 200 with no execution, one object per record, each decrypts with gpg to the expected record', async () => {
		const timings: number[] = [];
		const answers: Array<{
			file: string;
			status: number;
			body: string;
			contentType: string | null;
		}> = [];
		const expectedById = new Map<string, Record<string, unknown>>();
		for (const file of deliveries) {
			const body = readFileSync(path.join(FIXTURES, file));
			const answer = await post(webhookUrl, body, sign(body));
			answers.push({
				file,
				status: answer.status,
				body: answer.text,
				contentType: answer.contentType,
			});
			timings.push(answer.ms);
			for (const record of expectedRecords(file)) {
				expectedById.set(
					recordId({ indexKey: INDEX_KEY, idempotencyKey: String(record.idempotency_key) }),
					record,
				);
			}
		}
		note(
			'signed delivery answers',
			answers.map((a) => `${a.file}: ${a.status} ${JSON.stringify(a.body)} ${a.contentType}`),
		);
		note('signed delivery ms (sequential, answered once stored)', timings);
		expect(answers.map((a) => a.status)).toEqual(answers.map(() => 200));
		// Archive at Capture: every record stored by the trigger, so no execution was started
		expect(executionRows(workflowId)).toBe(0);

		note('objects in bucket', (await listAllKeys(s3, bucket)).length);
		const keys = await recordKeys(bucket);
		expect(keys).toHaveLength(expectedById.size);
		for (const key of keys) {
			// <prefix>/<class>/<phone_number_id>/<yyyy>/<mm>/<dd>/<pseudonym>/<record id>.pgp
			expect(key.startsWith('archive/default/')).toBe(true);
			const id = path.basename(key, '.pgp');
			const expected = expectedById.get(id);
			expect(expected).toBeDefined();
			const decrypted = JSON.parse(
				gpgDecrypt(gpg.home, await getObjectBytes(s3, bucket, key)).toString('utf8'),
			);
			expect(decrypted.wamid).toBe(expected!.wamid);
			expect(decrypted.phone_number_id).toBe(expected!.phone_number_id);
			expect(decrypted.type).toBe(expected!.type);
			expect(Date.parse(decrypted.received_at)).toBeGreaterThan(Date.now() - 15 * 60_000);
			const { media_status, media_error, ...record } = decrypted;
			// received_at is the trigger's clock, and filed_by / timestamp_skew_seconds are measured from it
			const receipt = { received_at: 'x', filed_by: 'x', timestamp_skew_seconds: 'x' };
			expect({ ...record, ...receipt }).toEqual({ ...expected, ...receipt });
			// Download Media is on: attempted for media messages, failing here (no Graph API), recorded
			if (['image', 'audio', 'video', 'document', 'sticker'].includes(String(expected!.type))) {
				expect(media_status).toBe('failed');
				expect(String(media_error)).toMatch(/^media /);
			} else {
				expect(media_status).toBeUndefined();
			}
			// nothing identifying in the key
			if (expected!.wamid) expect(key).not.toContain(String(expected!.wamid));
			expect(key).not.toContain('15550100123');
		}
	});

	it('the same deliveries again → 200 with no execution and still one object per message (sequential and concurrent)', async () => {
		const keysBefore = await listAllKeys(s3, bucket);
		for (const file of deliveries) {
			const body = readFileSync(path.join(FIXTURES, file));
			expect((await post(webhookUrl, body, sign(body))).status).toBe(200);
		}
		expect(await listAllKeys(s3, bucket)).toEqual(keysBefore);

		// a new message delivered twice at the same moment (Meta retries can overlap)
		const { raw } = craftDelivery('Can you confirm the bond order for 75k?', 'Dana Example');
		const both = await Promise.all([
			post(webhookUrl, raw, sign(raw)),
			post(webhookUrl, raw, sign(raw)),
		]);
		note(
			'concurrent duplicate answers',
			both.map((b) => `${b.status} ${b.text.slice(0, 200)}`),
		);
		const keysAfter = await listAllKeys(s3, bucket);
		const added = keysAfter.filter((k) => !keysBefore.includes(k));
		const versions = await s3.send(
			new ListObjectVersionsCommand({ Bucket: bucket, Prefix: added[0] }),
		);
		note('concurrent duplicate: new keys / versions of the new key', [
			added.length,
			versions.Versions?.length ?? 0,
		]);
		expect(added).toHaveLength(1);
		expect(versions.Versions).toHaveLength(1);
		expect(both.map((b) => b.status)).toEqual([200, 200]);
		expect(executionRows(workflowId)).toBe(0);
	});

	it('every record stored at capture: no execution for n8n to list or keep, not even a soft-deleted row', async () => {
		const listed = await api(
			n8n.baseUrl,
			session.apiKey,
			'GET',
			`/executions?workflowId=${workflowId}&limit=250`,
		);
		note('executions listed by the public API', listed.data.length);
		note('execution_entity rows of the template (any status, soft-deleted included)', executionRows(workflowId));
		note(
			'execution_data rows (all workflows so far)',
			sql(n8n.dbPath, 'select count(*) as n from execution_data')[0].n,
		);
		expect(listed.data).toHaveLength(0);
		expect(executionRows(workflowId)).toBe(0);
	});

	it('records the trigger cannot store → one execution, into Quarantine Record (still encrypted): 200, nothing lost', async () => {
		// the template as shipped (settings too), its store credential with another index key: the
		// trigger's archive write refuses every record encrypted at capture, Quarantine Record keeps them
		const quarantineBucket = await makeBucket(s3, { objectLock: true, prefix: 'e2e-quarantine' });
		const otherIndexKey = await createCredential(
			'S3 Archive Store, another index key (e2e)',
			's3ArchiveApi',
			{ ...s3Credential(), bucket: quarantineBucket, indexKey: randomBytes(32).toString('hex') },
		);
		const webhookId = randomUUID();
		const created = await importTemplate(
			'capture, records not stored (e2e)',
			{ ...credentialIds, s3ArchiveApi: otherIndexKey },
			webhookId,
		);
		const url = `${n8n.baseUrl}/webhook/${webhookId}/webhook`;
		await activate(created.id, url);
		const logBefore = readFileSync(path.join(userFolder, 'n8n.log'), 'utf8').length;
		const { raw, wamid } = craftDelivery(QUARANTINE_MARKER, QUARANTINE_NAME);
		const answer = await post(url, raw, sign(raw));
		note('records not stored: answer', `${answer.status} ${answer.text.slice(0, 200)}`);
		expect(answer.status).toBe(200);
		// one execution, for the record not stored; successes are not saved: n8n writes the row and
		// soft-deletes it, leaving its status "running" (shared notes, n8n-headless-e2e.md)
		const rows = sql(
			n8n.dbPath,
			`select status, deletedAt is not null as softDeleted from execution_entity where workflowId = '${created.id}'`,
		);
		note('records not stored: execution rows', rows);
		expect(rows).toEqual([expect.objectContaining({ softDeleted: 1 })]);
		// the trigger names what it could not store: counts and the store's code, no content
		let logged: string[] = [];
		for (let waited = 0; waited <= 5000 && logged.length === 0; waited += 250) {
			if (waited) await new Promise((r) => setTimeout(r, 250));
			logged = readFileSync(path.join(userFolder, 'n8n.log'), 'utf8')
				.slice(logBefore)
				.split('\n')
				.filter((line) => line.includes('Archive at Capture'));
		}
		note('records not stored: n8n log', logged);
		expect(logged.join('\n')).toMatch(/1 of 1 records not stored \(\w+/);
		expect(logged.join('\n')).not.toContain(QUARANTINE_MARKER);
		expect(logged.join('\n')).not.toContain(wamid);

		expect(await recordKeys(quarantineBucket)).toEqual([]);
		const quarantined = await listAllKeys(s3, quarantineBucket, 'quarantine/');
		note('records not stored: quarantined objects', quarantined);
		expect(quarantined).toHaveLength(1);
		expect(quarantined[0]).toMatch(/^quarantine\/\d{4}\/\d{2}\/\d{2}\/[0-9a-f]{64}-\d\.pgp$/);
		const kept = JSON.parse(
			gpgDecrypt(gpg.home, await getObjectBytes(s3, quarantineBucket, quarantined[0])).toString('utf8'),
		);
		expect(kept.wamid).toBe(wamid);
		expect(kept.content).toEqual({ body: QUARANTINE_MARKER });
		await api(n8n.baseUrl, session.apiKey, 'POST', `/workflows/${created.id}/deactivate`);
	});

	it('records not stored and the quarantine write failing too → 500 (Meta retries), the error execution listed with the store error', async () => {
		// the same template, its S3 credential pointing at a bucket that does not exist: the trigger's
		// write fails, Quarantine Record's too
		const missingBucket = await createCredential(
			'S3 Archive Store, missing bucket (e2e)',
			's3ArchiveApi',
			{
				...s3Credential(),
				bucket: `e2e-missing-${randomBytes(6).toString('hex')}`,
			},
		);
		const webhookId = randomUUID();
		const failing = await importTemplate(
			'capture, missing bucket (e2e)',
			{ ...credentialIds, s3ArchiveApi: missingBucket },
			webhookId,
		);
		const url = `${n8n.baseUrl}/webhook/${webhookId}/webhook`;
		await activate(failing.id, url);
		const { raw } = craftDelivery(FAILURE_MARKER, 'Failure Path');
		const answer = await post(url, raw, sign(raw));
		note('failed archive write answer', `${answer.status} ${answer.text.slice(0, 300)}`);
		expect(answer.status).toBe(500);
		const errors = await api(
			n8n.baseUrl,
			session.apiKey,
			'GET',
			`/executions?workflowId=${failing.id}&status=error`,
		);
		note('error executions listed', errors.data.length);
		expect(errors.data.length).toBe(1);
		// the saved error execution: the trigger's item carries the store's error (no content), and
		// Quarantine Record failed
		const execution = await api(
			n8n.baseUrl,
			session.apiKey,
			'GET',
			`/executions/${errors.data[0].id}?includeData=true`,
		);
		const runData = execution.data?.resultData?.runData ?? {};
		const emitted = (runData['WhatsApp Capture Trigger']?.[0]?.data?.main?.[0] ?? []).map(
			(item: any) => item.json,
		);
		note('error execution: trigger items (error only)', emitted.map((item: any) => item.error));
		note('error execution: workflow error', execution.data?.resultData?.error?.message);
		expect(emitted).toHaveLength(1);
		expect(emitted[0]).toMatchObject({ encrypted: true, error: { code: expect.any(String) } });
		expect(runData['Quarantine Record']?.[0]?.error).toBeDefined();
		expect(JSON.stringify(execution)).not.toContain(FAILURE_MARKER);
		await api(n8n.baseUrl, session.apiKey, 'POST', `/workflows/${failing.id}/deactivate`);
	});

	/**
	 * Sends every fixture, its texts rewritten to `markers`, to a copy of `template` with its own bucket and
	 * `settings`; checks 200s and that each object decrypts to its expected record. Returns the workflow id.
	 */
	const captureRewritten = async (
		label: string,
		template: { nodes: any[]; connections: unknown },
		settings: Record<string, unknown>,
		markers: Record<string, string>,
	) => {
		// its own bucket (the rewritten deliveries map to the same record ids as the fixtures)
		const ownBucket = await makeBucket(s3, { objectLock: true, prefix: 'e2e-saved' });
		savedBuckets[label] = ownBucket;
		const store = await createCredential(`S3 Archive Store, ${label} (e2e)`, 's3ArchiveApi', {
			...s3Credential(),
			bucket: ownBucket,
		});
		const webhookId = randomUUID();
		const created = await importTemplate(
			`capture, ${label} (e2e)`,
			{ ...credentialIds, s3ArchiveApi: store },
			webhookId,
			settings,
			template,
		);
		const url = `${n8n.baseUrl}/webhook/${webhookId}/webhook`;
		await activate(created.id, url);

		const expectedById = new Map<string, Record<string, unknown>>();
		const answers: number[] = [];
		for (const file of rewritable) {
			const raw = Buffer.from(rewrite(markers, readFileSync(path.join(FIXTURES, file), 'utf8')));
			answers.push((await post(url, raw, sign(raw))).status);
			for (const record of JSON.parse(rewrite(markers, JSON.stringify(expectedRecords(file))))) {
				expectedById.set(
					recordId({ indexKey: INDEX_KEY, idempotencyKey: String(record.idempotency_key) }),
					record,
				);
			}
		}
		note(`${label}: answers`, answers);
		expect(answers).toEqual(answers.map(() => 200));
		const keys = await recordKeys(ownBucket);
		note(`${label}: objects`, keys.length);
		expect(keys).toHaveLength(expectedById.size);
		for (const key of keys) {
			const expected = expectedById.get(path.basename(key, '.pgp'));
			expect(expected).toBeDefined();
			const decrypted = JSON.parse(
				gpgDecrypt(gpg.home, await getObjectBytes(s3, ownBucket, key)).toString('utf8'),
			);
			const { media_status: _status, media_error: _error, ...record } = decrypted;
			const receipt = { received_at: 'x', filed_by: 'x', timestamp_skew_seconds: 'x', delivery_sha256: 'x' };
			expect({ ...record, ...receipt }).toEqual({ ...expected, ...receipt });
		}
		return created.id as string;
	};

	it('the template as shipped, every execution saved: 200, objects decrypt to the records, no execution to save', async () => {
		// unchanged nodes and connections; only the settings would keep every execution
		const id = await captureRewritten(
			'as shipped, every execution saved',
			TEMPLATE,
			{ ...TEMPLATE.settings, saveDataSuccessExecution: 'all', saveExecutionProgress: true },
			SHIPPED_SAVED,
		);
		note('as shipped, every execution saved: execution rows', executionRows(id));
		expect(executionRows(id)).toBe(0);
	});

	it('the template with the archive write in the workflow, every execution saved: 200, objects decrypt, one saved execution per delivery', async () => {
		// Archive at Capture off and an Archive Record node with the trigger's settings: each delivery is
		// an execution whose items (the trigger's ciphertext, Archive Record's write results) n8n saves;
		// the scan below looks at them
		const id = await captureRewritten(
			'archive write in the workflow, every execution saved',
			IN_WORKFLOW,
			{ ...TEMPLATE.settings, saveDataSuccessExecution: 'all', saveExecutionProgress: true },
			IN_WORKFLOW_SAVED,
		);
		const listed = await api(
			n8n.baseUrl,
			session.apiKey,
			'GET',
			`/executions?workflowId=${id}&limit=250`,
		);
		note('archive write in the workflow: executions saved and listed', listed.data.length);
		expect(listed.data.length).toBe(rewritable.length);
		expect(listed.data.every((e: any) => e.status === 'success')).toBe(true);
	});

	it('control, Encrypt at Capture off (trigger → OpenPGP node → Archive Record, every execution saved): 200, one object', async () => {
		// plaintext records between the trigger and the OpenPGP node, which n8n saves; the scan below
		// must find this delivery's plaintext (the scan can fail)
		const plainBucket = await makeBucket(s3, { objectLock: true, prefix: 'e2e-plain' });
		const store = await createCredential('S3 Archive Store, control (e2e)', 's3ArchiveApi', {
			...s3Credential(),
			bucket: plainBucket,
		});
		const webhookId = randomUUID();
		const trigger = structuredClone(IN_WORKFLOW.nodes.find((n: any) => n.type === TRIGGER));
		trigger.webhookId = webhookId;
		trigger.parameters = { ...trigger.parameters, encryptAtCapture: false, downloadMedia: false };
		trigger.credentials = {
			whatsAppCaptureApi: { id: credentialIds.whatsAppCaptureApi, name: 'WhatsApp Capture (e2e)' },
		};
		const encrypt = {
			id: randomUUID(),
			name: 'Encrypt Record',
			type: `${PACK}.openPgp`,
			typeVersion: 1,
			position: [260, 0],
			parameters: {
				operation: 'encrypt',
				source: 'json',
				jsonMode: 'wholeItem',
				outputFormat: 'binary',
				outputBinaryPropertyName: 'data',
			},
			credentials: {
				openPgpPublicKeysApi: { id: credentialIds.openPgpPublicKeysApi, name: 'OpenPGP Public Keys (e2e)' },
			},
		};
		const archive = structuredClone(IN_WORKFLOW.nodes.find((n: any) => n.name === 'Archive Record'));
		delete archive.onError;
		archive.credentials = { s3ArchiveApi: { id: store, name: 'S3 Archive Store, control (e2e)' } };
		const created = await api(n8n.baseUrl, session.apiKey, 'POST', '/workflows', {
			name: 'capture, encrypt at capture off, control (e2e)',
			nodes: [trigger, encrypt, archive],
			connections: {
				[trigger.name]: { main: [[{ node: encrypt.name, type: 'main', index: 0 }]] },
				[encrypt.name]: { main: [[{ node: archive.name, type: 'main', index: 0 }]] },
			},
			settings: { ...TEMPLATE.settings, saveDataSuccessExecution: 'all' },
		});
		const url = `${n8n.baseUrl}/webhook/${webhookId}/webhook`;
		await activate(created.id, url);
		const { raw } = craftDelivery(CONTROL_MARKER, CONTROL_NAME);
		const answer = await post(url, raw, sign(raw));
		note('control (encrypt at capture off): answer', `${answer.status} ${answer.text.slice(0, 200)}`);
		expect(answer.status).toBe(200);
		expect(await recordKeys(plainBucket)).toHaveLength(1);
		await api(n8n.baseUrl, session.apiKey, 'POST', `/workflows/${created.id}/deactivate`);
	});

	it('n8n data folder: plaintext of the captured deliveries before and after execution pruning', async () => {
		const shippedSaved = Object.values(SHIPPED_SAVED);
		const inWorkflowSaved = Object.values(IN_WORKFLOW_SAVED);
		const quarantine = [QUARANTINE_MARKER, QUARANTINE_NAME];
		const control = [CONTROL_MARKER, CONTROL_NAME];
		const markers = [...MARKERS, FAILURE_MARKER, ...quarantine, ...shippedSaved, ...inWorkflowSaved, ...control];
		/** Hits of `some` markers in a scan, over every file. */
		const count = (scan: ReturnType<typeof scanDataFolder>, some: string[]) =>
			Object.values(scan.hits).reduce(
				(sum, counts) => sum + some.reduce((s, m) => s + (counts[m] ?? 0), 0),
				0,
			);
		const controlHits = (scan: ReturnType<typeof scanDataFolder>) => count(scan, control);
		/** The template as shipped and the one with the archive write in the workflow, every execution saved. */
		const encryptedHits = (scan: ReturnType<typeof scanDataFolder>) =>
			count(scan, [...shippedSaved, ...inWorkflowSaved]);
		const fixtureHits = (scan: ReturnType<typeof scanDataFolder>) => count(scan, MARKERS);
		/** The failing delivery (error execution saved) and the quarantined one (execution not saved). */
		const failureHits = (scan: ReturnType<typeof scanDataFolder>) =>
			count(scan, [FAILURE_MARKER, ...quarantine]);
		const liveRows = () =>
			MARKERS.reduce(
				(sum, m) =>
					sum +
					Number(
						sql(n8n.dbPath, `select count(*) as n from execution_data where data like '%${m}%'`)[0]
							.n,
					),
				0,
			);
		note('execution_data rows holding fixture plaintext, before pruning', liveRows());
		stopN8n(userFolder);
		const before = scanDataFolder(userFolder, markers);
		note('raw scan of .n8n after capture, n8n stopped, before pruning', before);
		// Encrypt at Capture: nothing readable even in saved executions, free pages and WAL frames
		note('plaintext hits before pruning: fixtures (as shipped: no executions)', fixtureHits(before));
		note('plaintext hits before pruning: as shipped (no executions) / archive write in the workflow (all executions saved)', [
			count(before, shippedSaved),
			count(before, inWorkflowSaved),
		]);
		note('plaintext hits before pruning: failing delivery (error execution saved), quarantined delivery', [
			count(before, [FAILURE_MARKER]),
			count(before, quarantine),
		]);
		// the control (Encrypt at Capture off, its execution saved): the same scan does find plaintext
		note('plaintext hits before pruning: control, encrypt at capture off (1 delivery, saved)', controlHits(before));
		expect(encryptedHits(before)).toBe(0);
		expect(fixtureHits(before)).toBe(0);
		expect(failureHits(before)).toBe(0);
		expect(controlHits(before)).toBeGreaterThan(0);

		// second boot: hard-delete pruning every minute
		const t0 = Date.now();
		n8n = startN8n(userFolder, { EXECUTIONS_DATA_PRUNE_HARD_DELETE_INTERVAL: '1' });
		note('boot ms (second boot)', n8n.bootMs);
		let pending = -1;
		while (Date.now() - t0 < 150_000) {
			pending = Number(
				sql(n8n.dbPath, 'select count(*) as n from execution_entity where deletedAt is not null')[0]
					.n,
			);
			if (pending === 0) break;
			await new Promise((r) => setTimeout(r, 2000));
		}
		note(
			'soft-deleted executions hard-deleted after ms',
			pending === 0 ? Date.now() - t0 : `not after ${Date.now() - t0}`,
		);
		note(
			'execution rows left after pruning (by status)',
			sql(n8n.dbPath, 'select status, count(*) as n from execution_entity group by status'),
		);
		const liveAfter = liveRows();
		note('execution_data rows holding fixture plaintext, after pruning', liveAfter);
		note(
			'error executions holding the failing delivery plaintext (saveDataErrorExecution all)',
			Number(
				sql(
					n8n.dbPath,
					`select count(*) as n from execution_data where data like '%${FAILURE_MARKER}%'`,
				)[0].n,
			),
		);
		stopN8n(userFolder);
		const after = scanDataFolder(userFolder, markers);
		note(
			'raw scan of .n8n after pruning, n8n stopped (deleted rows linger in free pages and WAL frames)',
			after,
		);

		// what an operator can do with n8n stopped: checkpoint the WAL away and VACUUM the file
		const dbFile = n8n.dbPath;
		execFileSync(process.execPath, [
			'--no-warnings',
			'-e',
			`const {DatabaseSync}=require('node:sqlite');const db=new DatabaseSync(process.argv[1]);` +
				`db.exec('PRAGMA wal_checkpoint(TRUNCATE)');db.exec('VACUUM');db.exec('PRAGMA wal_checkpoint(TRUNCATE)');db.close();`,
			dbFile,
		]);
		const vacuumed = scanDataFolder(userFolder, markers);
		note('raw scan of .n8n after offline wal_checkpoint(TRUNCATE) + VACUUM', vacuumed);
		const allHits = (scan: ReturnType<typeof scanDataFolder>) =>
			fixtureHits(scan) + encryptedHits(scan) + failureHits(scan);
		results.plaintextHits = {
			beforePruning: allHits(before),
			afterPruning: allHits(after),
			afterOfflineVacuum: allHits(vacuumed),
		};
		results.controlPlaintextHits = {
			beforePruning: controlHits(before),
			afterPruning: controlHits(after),
			afterOfflineVacuum: controlHits(vacuumed),
		};
		note('control (encrypt at capture off) hits: before / after pruning / after offline VACUUM', results.controlPlaintextHits);
		note(
			'plaintext hits, Encrypt at Capture (fixtures, saved runs, failing and quarantined runs; raw bytes): before pruning / after pruning / after offline VACUUM',
			results.plaintextHits,
		);

		expect(pending).toBe(0);
		expect(liveAfter).toBe(0);
		expect(fixtureHits(after)).toBe(0);
		expect(encryptedHits(after)).toBe(0);
		expect(failureHits(after)).toBe(0);
		expect(fixtureHits(vacuumed)).toBe(0);
	}, 300_000);
});
