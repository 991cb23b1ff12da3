/**
 * The templates `workflows/seal-daily.json` and `workflows/ediscovery-export.json` in real n8n-core,
 * on an archive filled by the capture template with every fixture delivery (in-process, local Ceph
 * RGW, gpg keys made at test time). Both start from their first pack node: the Schedule / Manual
 * Trigger and the Set node belong to n8n-nodes-base (the real-n8n suite runs those for real).
 */
import { createHash, createHmac, randomBytes } from 'node:crypto';
import { readdirSync, readFileSync } from 'node:fs';
import path from 'node:path';

import type { S3Client } from '@aws-sdk/client-s3';
import type { IDataObject, INodeExecutionData, IRun } from 'n8n-workflow';

import { verifySeal } from '../../lib/archive';
import { createS3Client } from '../../lib/s3';
import { normalizeDelivery } from '../../lib/capture';
import { readPrivateKey } from '../../lib/pgp';
import { gpgDecrypt, gpgVerify, makeGpgHome } from '../helpers/gpg';
import { InProcessN8n, binaryBytes, loadTemplate, type Credentials, type WorkflowJson } from '../helpers/n8n-runner';
import { manifestErrors, messageIds, readRsmf } from '../helpers/rsmf';
import { getObjectBytes, listAllKeys, makeBucket, s3ArchiveCredential, s3Settings } from '../helpers/s3';

const FIXTURES = path.join(__dirname, '..', 'fixtures', 'whatsapp');
const APP_SECRET = randomBytes(16).toString('hex');
const INDEX_KEY = randomBytes(32).toString('hex');

/** The fixtures' provider times lie on 2026-01-01/02 (UTC). */
const FIXTURE_DAY = Date.UTC(2026, 0, 1) / 1000;
/** The UTC day the fixtures are replayed onto: two days ago, so every shifted time is in the past. */
const REPLAY_DAY = Math.floor(Date.now() / 86_400_000 - 2) * 86_400;
const isoDay = (epochSeconds: number) => new Date(epochSeconds * 1000).toISOString().slice(0, 10);

/**
 * A fixture delivery as if Meta had sent it now: its provider times (`timestamp`, string or number, `entry[].time`)
 * moved by whole days onto {@link REPLAY_DAY}, so the archive files its records by their provider
 * time (a time far before receipt is filed by the receipt day: docs/FORMAT.md, "Retention clock").
 */
function replayedNow(body: Buffer): Buffer {
	const shift = (seconds: string) => String(Number(seconds) - FIXTURE_DAY + REPLAY_DAY);
	return Buffer.from(
		body
			.toString('utf8')
			.replace(/("timestamp"\s*:\s*")(\d{10})"/g, (_m, head: string, s: string) => `${head}${shift(s)}"`)
			// a few fields send their time as a number (user_preferences)
			.replace(/("timestamp"\s*:\s*)(\d{10})\b/g, (_m, head: string, s: string) => `${head}${shift(s)}`)
			.replace(/("time"\s*:\s*)(\d{10})\b/g, (_m, head: string, s: string) => `${head}${shift(s)}`),
		'utf8',
	);
}

const output = (run: IRun | undefined, node: string): INodeExecutionData[] =>
	run?.data.resultData.runData[node]?.[0]?.data?.main?.[0] ?? [];

describe('templates seal-daily and ediscovery-export (in-process n8n-core, local Ceph RGW)', () => {
	let gpg: Awaited<ReturnType<typeof makeGpgHome>>;
	let s3: S3Client;
	let bucket: string;
	let credentials: Credentials;
	const captured: IDataObject[] = [];

	beforeAll(async () => {
		gpg = await makeGpgHome();
		const settings = s3Settings();
		s3 = createS3Client(settings);
		bucket = await makeBucket(s3, { objectLock: true });
		credentials = {
			whatsAppCaptureApi: { appSecret: APP_SECRET, verifyToken: 'unused-here', indexKey: INDEX_KEY, graphApiBaseUrl: 'http://127.0.0.1:9', graphApiVersion: 'v24.0' },
			openPgpPublicKeysApi: { publicKeys: gpg.publicKeyArmored },
			openPgpPrivateKeyApi: { privateKey: gpg.secretKeyArmored, passphrase: '' },
			s3ArchiveApi: s3ArchiveCredential(bucket, INDEX_KEY),
		};
		const capture = new InProcessN8n({ workflow: loadTemplate('whatsapp-capture-archive'), credentials });
		await capture.start();
		for (const file of readdirSync(FIXTURES).sort()) {
			const body = replayedNow(readFileSync(path.join(FIXTURES, file)));
			if (JSON.parse(body.toString('utf8')).object !== 'whatsapp_business_account') continue;
			const signature = 'sha256=' + createHmac('sha256', APP_SECRET).update(body).digest('hex');
			const response = await fetch(capture.webhookUrl(), {
				method: 'POST',
				headers: { 'content-type': 'application/json', 'x-hub-signature-256': signature },
				body: new Uint8Array(body),
			});
			expect(response.status).toBe(200);
			await capture.idle();
			// Archive at Capture: every record stored by the trigger, no execution (none quarantined)
			expect(capture.exchanges[capture.exchanges.length - 1].run).toBeUndefined();
			// the trigger emits only ciphertext: the records it encrypted are what the capture engine makes
			captured.push(
				...(normalizeDelivery({ rawBody: body, receivedAt: new Date(), signatureVerified: true, graphApiVersion: 'v24.0', contentType: 'application/json' }) as unknown as IDataObject[]),
			);
		}
		await capture.stop();
	});

	afterAll(async () => {
		await gpg?.cleanup();
	});

	it('seal-daily seals one day folder with a signed manifest that Verify accepts', async () => {
		const workflow = loadTemplate('seal-daily') as WorkflowJson;
		const node = workflow.nodes.find((n) => n.name === 'Seal yesterday')!;
		// the template's placeholder is refused: a user who forgot to set it is told so
		const refused = await new InProcessN8n({ workflow, credentials }).runFrom('Seal yesterday', [{ json: {} }]);
		expect(refused.status).toBe('error');
		expect(refused.data.resultData.error?.message).toContain('Phone Number ID must be');

		node.parameters.sealPhoneNumberId = '106000000000002';
		node.parameters.sealDate = isoDay(REPLAY_DAY);
		const run = await new InProcessN8n({ workflow, credentials }).runFrom('Seal yesterday', [{ json: {} }]);
		expect(run.data.resultData.error?.message).toBeUndefined();
		const sealed = output(run, 'Seal yesterday')[0].json as IDataObject;
		const manifestKey = String(sealed.manifestKey ?? (sealed.seal as IDataObject)?.manifestKey);
		expect(manifestKey).toMatch(/^archive\/_seals\//);

		const onThatDay = captured.filter(
			(r) => r.phone_number_id === '106000000000002' && r.filed_by === 'timestamp' && String(r.timestamp).startsWith(isoDay(REPLAY_DAY)),
		);
		const manifest = JSON.parse((await getObjectBytes(s3, bucket, manifestKey)).toString('utf8'));
		expect(manifest.entries).toHaveLength(onThatDay.length);
		const signature = await getObjectBytes(s3, bucket, `${manifestKey}.asc`);
		expect(gpgVerify(gpg.home, await getObjectBytes(s3, bucket, manifestKey), signature).good).toBe(true);

		const key = await readPrivateKey({ armoredKey: gpg.secretKeyArmored });
		const verified = await verifySeal({ client: s3, bucket, manifestKey, verificationKeys: [key.toPublic()] });
		expect(verified.valid).toBe(true);
		expect(verified.counts).toMatchObject({ ok: onThatDay.length, missing: 0, altered: 0, unsealed: 0 });
	});

	it('ediscovery-export returns the conversation of one phone number as RSMF 2.0: decrypted, in order, streamed into n8n\'s binary store encrypted to the legal team', async () => {
		// n8n-nodes-base is not loaded in-process: the If "Has a file?" is bridged here (the e2e suite runs the
		// template whole in a real n8n); every item below has a file
		const shipped = loadTemplate('ediscovery-export');
		const workflow = {
			...shipped,
			nodes: shipped.nodes.filter((n) => n.name !== 'Has a file?'),
			connections: { ...shipped.connections, 'Export conversation': { main: [[{ node: 'Keep export', type: 'main', index: 0 }]] } },
		} as WorkflowJson;
		// the legal team's own key pair: Export conversation encrypts the files to it (Encrypt Files), Keep export keeps them
		const legal = await makeGpgHome();
		const run = await new InProcessN8n({ workflow, credentials: { ...credentials, openPgpPublicKeysApi: { publicKeys: legal.publicKeyArmored } } }).runFrom('Export conversation', [
			{ json: { phone_number: '+1 555 010 0123', from: isoDay(REPLAY_DAY), to: isoDay(REPLAY_DAY + 86_400) } },
		]);
		expect(run.data.resultData.error?.message).toBeUndefined();
		// one conversation (Dana and the one business number): one file
		const items = output(run, 'Export conversation');
		expect(items).toHaveLength(1);
		const [item] = items;
		expect(Object.keys(item.binary ?? {})).toEqual(['data']);
		expect(item.binary!.data).toMatchObject({ fileName: `C1-${isoDay(REPLAY_DAY)}-001.rsmf.pgp`, mimeType: 'application/pgp-encrypted' });

		// what n8n's binary store holds is ciphertext: no message text, no participant name
		const stored = await binaryBytes(item.binary!.data);
		for (const plaintext of ['bond order', 'Dana Example', 'X-RSMF-Version']) expect(stored.includes(plaintext)).toBe(false);
		const eml = gpgDecrypt(legal.home, stored);
		const rsmf = await readRsmf(eml);
		expect(rsmf.header('X-RSMF-Version')).toBe('2.0.0');
		expect(manifestErrors(rsmf.manifest)).toBeNull();
		const expected = captured
			.filter((r) => (r.counterparty as IDataObject | null)?.wa_id === '15550100123')
			.sort((a, b) => String(a.timestamp).localeCompare(String(b.timestamp)) || String(a.wamid).localeCompare(String(b.wamid)));
		expect(expected.length).toBeGreaterThan(3);
		// every message is an event, in time order (statuses, the revoke and the reaction are folded into theirs or kept apart)
		const updates = new Set(['edit', 'revoke', 'reaction']);
		// calls are events too (no content: who, when, how long), under their call id
		const messages = expected.filter((r) => (r.record_kind === 'message' && !updates.has(String(r.type))) || r.record_kind === 'call');
		expect(messageIds(rsmf.manifest.events)).toEqual(messages.map((r) => r.wamid));
		expect((item.json.export as IDataObject).counts).toMatchObject({ records: expected.length });
		expect((item.json.export as IDataObject).file).toMatchObject({ sha256: createHash('sha256').update(eml).digest('hex') });
		// the body is the transcript; the item's JSON holds counts and ids, never message content
		expect(rsmf.email.text).toContain('Can you confirm the bond order for 50k?');
		expect(JSON.stringify(item.json)).not.toContain('bond order');

		// where the export is: encrypted to the legal team under exports/<yyyy>/<mm>/<dd>/<execution id>/, the same bytes
		const kept = output(run, 'Keep export').map((i) => i.json.archive as IDataObject);
		expect(kept).toHaveLength(1);
		expect(String(kept[0].key)).toMatch(new RegExp(`^exports/\\d{4}/\\d{2}/\\d{2}/exec-\\d+/C1-${isoDay(REPLAY_DAY)}-001\\.rsmf\\.pgp$`));
		expect(await getObjectBytes(s3, bucket, String(kept[0].key))).toEqual(stored);
		// where the access is recorded: one export event in the archive's audit trail
		const events = (await listAllKeys(s3, bucket, 'archive/_audit/')).filter((key) => key.endsWith('.json'));
		const last = JSON.parse((await getObjectBytes(s3, bucket, events[events.length - 1])).toString('utf8'));
		expect(last).toMatchObject({ operation: 'export', result: 'success', counts: { records: expected.length, files: 1 } });
		await legal.cleanup();
	});
});
