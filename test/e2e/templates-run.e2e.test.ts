/**
 * The templates `workflows/ediscovery-export.json` (Manual Trigger → Set → S3 Archive Export) and
 * `workflows/retention-sweep-nightly.json` (Schedule Trigger → Plan → Execute → disabled HTTP Request)
 * RUN in a REAL n8n 2.x (`scripts/n8n-e2e.sh`), from their n8n-nodes-base triggers, the way the
 * editor's "Execute workflow" does: `POST /rest/workflows/:id/run` with `triggerToStartFrom`; the
 * finished execution is read back through the public API (`includeData=true`).
 *
 * The archive is filled the way the capture template's trigger (Archive at Capture) and S3 Archive →
 * Record → Write lay it out (records encrypted to a gpg key made at test time, keys from
 * `objectKeyForRecord` with the credential's index key) — no capture needed.
 *
 * The shipped export template saves no manual execution (its output holds plaintext); to read the
 * run back, the imported copy saves it (settings only; nodes and connections as shipped).
 */
import { randomBytes } from 'node:crypto';
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import path from 'node:path';

import { ListObjectVersionsCommand, type S3Client } from '@aws-sdk/client-s3';

import { objectKeyForRecord, recordObjectKey, writeObject } from '../../lib/archive';
import { createS3Client } from '../../lib/s3';
import { encryptRecord } from '../../lib/capture';
import { readPublicKeys } from '../../lib/pgp';
import { gpgDecrypt, gpgVerify, makeGpgHome } from '../helpers/gpg';
import { manifestErrors, messageIds, readRsmf } from '../helpers/rsmf';
import { getObjectBytes, makeBucket, s3ArchiveCredential, s3Settings } from '../helpers/s3';
import {
	api,
	importWorkflow,
	makeUserFolder,
	type N8nInstance,
	runFromTrigger as runWorkflowFromTrigger,
	type Session,
	setupOwner,
	startN8n,
	stopN8n,
} from './helpers/n8n';

const REPO = path.resolve(__dirname, '..', '..');
const EXPECTED = path.join(REPO, 'test', 'fixtures', 'expected');
const template = (name: string) =>
	JSON.parse(readFileSync(path.join(REPO, 'workflows', `${name}.json`), 'utf8'));
const INDEX_KEY = randomBytes(32).toString('hex');

const note = (key: string, value: unknown) => console.log(`[e2e] ${key}: ${JSON.stringify(value)}`);

describe('templates ediscovery-export and retention-sweep-nightly RUN in a real n8n (local RGW, gpg)', () => {
	let gpg: Awaited<ReturnType<typeof makeGpgHome>>;
	let s3: S3Client;
	let userFolder: string;
	let n8n: N8nInstance;
	let session: Session;
	let privateKeyCredential: string;

	const createCredential = async (name: string, type: string, data: Record<string, unknown>) =>
		(await api(n8n.baseUrl, session.apiKey, 'POST', '/credentials', { name, type, data })).id as string;

	const s3Credential = async (bucket: string) =>
		await createCredential(`S3 Archive Store ${bucket}`, 's3ArchiveApi', s3ArchiveCredential(bucket, INDEX_KEY));

	/** Import a template through the public API with its credential references replaced by the ids given per type. */
	const importTemplate = async (json: any, credentials: Record<string, string>, settings: Record<string, unknown> = json.settings) => ({
		id: await importWorkflow(
			n8n.baseUrl,
			session.apiKey,
			{ ...json, name: `${json.name} (e2e ${randomBytes(3).toString('hex')})`, settings },
			(type) => ({ id: credentials[type], name: `${type} (e2e)` }),
		),
	});

	/** The editor's "Execute workflow" from `trigger`, then the finished execution (public API, with data). */
	const runFromTrigger = (workflowId: string, trigger: string) => runWorkflowFromTrigger(n8n.baseUrl, session, workflowId, trigger);

	const output = (execution: any, node: string): any[] =>
		execution.data?.resultData?.runData?.[node]?.[0]?.data?.main?.[0] ?? [];

	/** Bytes of a binary of a saved execution: inline base64, or n8n's filesystem binary store. */
	const binaryBytes = (binary: any): Buffer => {
		if (binary.id) {
			const [mode, rel] = String(binary.id).split(/:(.*)/s);
			expect(mode).toMatch(/^filesystem/);
			// n8n 2.x keeps filesystem binaries under <N8N_USER_FOLDER>/.n8n/storage (1.x: binaryData)
			const file = ['storage', 'binaryData']
				.map((dir) => path.join(userFolder, '.n8n', dir, rel))
				.find((candidate) => existsSync(candidate));
			expect(file).toBeDefined();
			return readFileSync(file!);
		}
		return Buffer.from(binary.data, 'base64');
	};

	beforeAll(async () => {
		gpg = await makeGpgHome();
		s3 = createS3Client(s3Settings());
		userFolder = makeUserFolder('templates-run');
		n8n = startN8n(userFolder);
		note('boot ms', n8n.bootMs);
		session = await setupOwner(n8n.baseUrl);
		privateKeyCredential = await createCredential('OpenPGP Private Key (e2e)', 'openPgpPrivateKeyApi', {
			privateKey: gpg.secretKeyArmored,
			passphrase: '',
		});
	});

	afterAll(async () => {
		if (userFolder) stopN8n(userFolder);
		await gpg?.cleanup();
	});

	it('ediscovery-export: Manual Trigger → Set → Export returns the counterparty conversation as an RSMF 2.0 file, encrypted to the legal team', async () => {
		const bucket = await makeBucket(s3, { objectLock: true, prefix: 'e2e' });
		const recipients = await readPublicKeys({ armoredKeys: gpg.publicKeyArmored });
		const records: any[] = [];
		for (const file of readdirSync(EXPECTED).filter((f) => f.endsWith('.records.json')).sort()) {
			records.push(...JSON.parse(readFileSync(path.join(EXPECTED, file), 'utf8')));
		}
		for (const record of records) {
			const { ciphertext } = await encryptRecord({ record, recipients, indexKey: INDEX_KEY });
			const { key } = objectKeyForRecord({ indexKey: INDEX_KEY, prefix: 'archive', retentionClass: 'default', record });
			await writeObject({ client: s3, bucket, key, body: Buffer.from(ciphertext), contentType: 'application/pgp-encrypted' });
		}
		const inJanuary = (r: any) => String(r.timestamp ?? r.received_at) >= '2026-01-01' && String(r.timestamp ?? r.received_at) < '2026-02-01';
		const expected = records.filter((r) => r.counterparty?.wa_id === '15550100123' && inJanuary(r));
		expect(expected.length).toBeGreaterThan(3);

		const json = template('ediscovery-export');
		// the legal team's own key pair: Export conversation encrypts the files to it, Keep export keeps them
		const legal = await makeGpgHome();
		const legalKeys = await createCredential('Legal team public keys (e2e)', 'openPgpPublicKeysApi', { publicKeys: legal.publicKeyArmored });
		const workflow = await importTemplate(
			json,
			{ s3ArchiveApi: await s3Credential(bucket), openPgpPrivateKeyApi: privateKeyCredential, openPgpPublicKeysApi: legalKeys },
			{ ...json.settings, saveManualExecutions: true, saveDataSuccessExecution: 'all', saveDataErrorExecution: 'all' },
		);
		const { execution, ms } = await runFromTrigger(workflow.id, 'Run export');
		note('export run ms', ms);
		expect(execution.data?.resultData?.error?.message).toBeUndefined();
		expect(execution.status).toBe('success');
		expect(execution.mode).toBe('manual');
		expect(output(execution, 'Run export')).toHaveLength(1);
		expect(output(execution, 'Export request')[0].json).toMatchObject({ phone_number: '+15550100123', from: '2026-01-01', to: '2026-01-31' });

		// one conversation (Dana and the one business number): one .rsmf file, streamed into n8n's binary store
		const items = output(execution, 'Export conversation');
		expect(items).toHaveLength(1);
		const [item] = items;
		// Encrypt Files: the file enters n8n's binary store encrypted to the legal team's key
		expect(item.binary.data).toMatchObject({ fileName: 'C1-2026-01-01-001.rsmf.pgp', mimeType: 'application/pgp-encrypted' });
		const stored = binaryBytes(item.binary.data);
		expect(stored.includes('bond order')).toBe(false);
		const rsmf = await readRsmf(gpgDecrypt(legal.home, stored));
		expect(rsmf.header('X-RSMF-Version')).toBe('2.0.0');
		expect(manifestErrors(rsmf.manifest)).toBeNull();
		note('export records (expected / exported)', [expected.length, item.json.export.counts.records]);
		expect(item.json.export.counts.records).toBe(expected.length);
		// every message is an event, in time order (statuses, revokes and reactions fold into theirs or stand apart)
		const messages = expected
			.filter((r) => (r.record_kind === 'message' && !['edit', 'revoke', 'reaction'].includes(r.type)) || r.record_kind === 'call')
			.sort((a, b) => String(a.timestamp).localeCompare(String(b.timestamp)) || String(a.wamid).localeCompare(String(b.wamid)));
		// calls are events too, under their call id
		expect(messageIds(rsmf.manifest.events)).toEqual(messages.map((r) => r.wamid));
		expect(rsmf.email.text).toContain('Can you confirm the bond order for 50k?');
		// the item's JSON holds counts and ids, never message content
		expect(JSON.stringify(item.json)).not.toContain('bond order');

		// where the export is kept: encrypted to the legal team's key under exports/<yyyy>/<mm>/<dd>/<execution id>/
		const kept = output(execution, 'Keep export').map((i: any) => i.json.archive);
		expect(kept).toHaveLength(1);
		expect(kept[0].key).toMatch(new RegExp(`^exports/\\d{4}/\\d{2}/\\d{2}/${execution.id}/C1-2026-01-01-001\\.rsmf\\.pgp$`));
		expect(await getObjectBytes(s3, bucket, kept[0].key)).toEqual(stored);
		note('export kept at', kept[0].key);
		await legal.cleanup();
	});

	it('retention-sweep-nightly: Schedule Trigger → Plan → Execute deletes exactly the expired unheld records, signed report', async () => {
		const bucket = await makeBucket(s3, { objectLock: true, prefix: 'e2e' });
		const expired: string[] = [];
		const kept: string[] = [];
		const put = async (retentionClass: string, date: Date, legalHold = false) => {
			const key = recordObjectKey({
				prefix: 'archive',
				retentionClass,
				phoneNumberId: '106000000000002',
				date,
				pseudonym: randomBytes(16).toString('hex'),
				recordId: randomBytes(16).toString('hex'),
			});
			await writeObject({ client: s3, bucket, key, body: randomBytes(64), legalHold });
			return key;
		};
		const yearsAgo = (years: number) => new Date(Date.now() - years * 366 * 24 * 3600 * 1000);
		for (let i = 0; i < 3; i++) expired.push(await put('default', yearsAgo(2)));
		expired.push(await put('sec-17a-4', yearsAgo(4)));
		kept.push(await put('default', new Date())); // unexpired
		kept.push(await put('sec-17a-4', yearsAgo(2))); // class keeps 3 years
		kept.push(await put('default', yearsAgo(2), true)); // expired but under legal hold

		const json = template('retention-sweep-nightly');
		const workflow = await importTemplate(json, {
			s3ArchiveApi: await s3Credential(bucket),
			openPgpPrivateKeyApi: privateKeyCredential,
		});
		const { execution, ms } = await runFromTrigger(workflow.id, 'Every night at 02:00');
		note('sweep run ms', ms);
		expect(execution.data?.resultData?.error?.message).toBeUndefined();
		expect(execution.status).toBe('success');
		expect(output(execution, 'Every night at 02:00')).toHaveLength(1);
		expect(JSON.stringify(output(execution, 'Plan (dry run)')[0].json)).toContain('"operation":"plan"');
		const executed = output(execution, 'Execute sweep')[0].json;
		// the disabled notification node hands the summary on unchanged (no request made)
		expect(output(execution, 'Notify (enable and set URL)')[0].json).toEqual(executed);

		const versions = await s3.send(new ListObjectVersionsCommand({ Bucket: bucket, Prefix: 'archive/' }));
		const keys = (versions.Versions ?? []).map((v) => v.Key!);
		const remaining = keys.filter((k) => !k.includes('/_'));
		note('sweep versions (remaining records / all)', [remaining.length, keys.length]);
		expect(remaining.sort()).toEqual([...kept].sort());
		const reportKey = keys.find((k) => k.startsWith('archive/_reports/') && k.endsWith('report.json'));
		expect(reportKey).toBeDefined();
		expect(keys).toContain(`${reportKey}.asc`);
		const report = await getObjectBytes(s3, bucket, reportKey!);
		const signature = await getObjectBytes(s3, bucket, `${reportKey}.asc`);
		const parsed = JSON.parse(report.toString('utf8'));
		const entries = (parsed.deleted ?? parsed.entries) as Array<{ key: string; status: string; reason: string }>;
		expect(entries.filter((e) => e.status === 'deleted').map((e) => e.key).sort()).toEqual([...expired].sort());
		// what the store refused (Object Lock: legal hold) is named in the report, with the reason
		const skipped = entries.filter((e) => e.status !== 'deleted');
		expect(skipped.map((e) => e.key)).toEqual([kept[2]]);
		expect(skipped[0].reason).toMatch(/^refused by the store: Object Lock retention or legal hold/);
		expect(gpgVerify(gpg.home, report, signature).good).toBe(true);
	});
});
