/**
 * The capture template end to end on real parts: `workflows/whatsapp-capture-archive.json` runs in
 * real n8n-core (in-process, behind a loopback HTTP server); every fixture delivery is signed with the
 * app secret and POSTed to the trigger's production URL; the trigger normalizes and encrypts each
 * record inside itself (Encrypt at Capture, so no plaintext enters n8n) and writes it to the local Ceph
 * RGW store (Archive at Capture), answering without an execution; each object is then decrypted by
 * `gpg` and compared with the record the capture engine makes of that delivery. A record the trigger
 * could not store is emitted, still encrypted, to the Quarantine Record branch.
 */
import { createHmac, randomBytes } from 'node:crypto';
import { readdirSync, readFileSync } from 'node:fs';
import path from 'node:path';

import { GetObjectRetentionCommand, type S3Client } from '@aws-sdk/client-s3';
import { DateTime, Duration } from 'luxon';
import type { IDataObject, INodeExecutionData, IRun } from 'n8n-workflow';

import { counterpartyPseudonym, resolveIdentity, usernamePseudonym } from '../../lib/archive';
import { createS3Client, listVersions } from '../../lib/s3';
import { normalizeDelivery } from '../../lib/capture';
import { readPrivateKey } from '../../lib/pgp';
import { exportWhole as exportConversation } from '../helpers/export';
import { gpgDecrypt, makeGpgHome } from '../helpers/gpg';
import { InProcessN8n, loadTemplate } from '../helpers/n8n-runner';
import { getObjectBytes, listAllKeys, makeBucket, s3ArchiveCredential, s3Settings } from '../helpers/s3';

const FIXTURES = path.join(__dirname, '..', 'fixtures', 'whatsapp');
const deliveries = readdirSync(FIXTURES)
	.filter((f) => f.endsWith('.json'))
	// the Graph API media lookup response is not a webhook delivery
	.filter((f) => JSON.parse(readFileSync(path.join(FIXTURES, f), 'utf8')).object === 'whatsapp_business_account')
	.sort();

const APP_SECRET = randomBytes(16).toString('hex');
const VERIFY_TOKEN = randomBytes(12).toString('hex');
const INDEX_KEY = randomBytes(32).toString('hex');

const sign = (body: Buffer, secret = APP_SECRET) =>
	'sha256=' + createHmac('sha256', secret).update(body).digest('hex');

const sortKeys = (value: unknown): unknown =>
	Array.isArray(value)
		? value.map(sortKeys)
		: value && typeof value === 'object'
			? Object.fromEntries(Object.entries(value).sort(([a], [b]) => (a < b ? -1 : 1)).map(([k, v]) => [k, sortKeys(v)]))
			: value;

const nodeOutput = (run: IRun | undefined, node: string): INodeExecutionData[] =>
	run?.data.resultData.runData[node]?.[0]?.data?.main?.[0] ?? [];

describe('template whatsapp-capture-archive (in-process n8n-core, local Ceph RGW, gpg)', () => {
	let gpg: Awaited<ReturnType<typeof makeGpgHome>>;
	let s3: S3Client;
	let bucket: string;
	let n8n: InProcessN8n;

	beforeAll(async () => {
		gpg = await makeGpgHome();
		const settings = s3Settings();
		s3 = createS3Client(settings);
		bucket = await makeBucket(s3, { objectLock: true });
		n8n = new InProcessN8n({
			workflow: loadTemplate('whatsapp-capture-archive'),
			credentials: {
				whatsAppCaptureApi: {
					appSecret: APP_SECRET,
					verifyToken: VERIFY_TOKEN,
					accessToken: 'test-token',
					// no Graph API here: media downloads fail fast and are recorded as media_status failed
					graphApiBaseUrl: 'http://127.0.0.1:9',
					graphApiVersion: 'v24.0',
					indexKey: INDEX_KEY,
				},
				openPgpPublicKeysApi: { publicKeys: gpg.publicKeyArmored, expectedFingerprints: '' },
				s3ArchiveApi: s3ArchiveCredential(bucket, INDEX_KEY),
			},
		});
		await n8n.start();
	});

	afterAll(async () => {
		await n8n?.stop();
		await gpg?.cleanup();
	});

	const post = async (body: Buffer, signature?: string) => {
		const headers: Record<string, string> = { 'content-type': 'application/json' };
		if (signature !== undefined) headers['x-hub-signature-256'] = signature;
		const response = await fetch(n8n.webhookUrl(), { method: 'POST', headers, body: new Uint8Array(body) });
		await n8n.idle();
		return { status: response.status, exchange: n8n.exchanges[n8n.exchanges.length - 1] };
	};

	it('answers the handshake with the challenge for the right token, 403 otherwise', async () => {
		const url = (mode: string, token: string) =>
			`${n8n.webhookUrl()}?hub.mode=${mode}&hub.verify_token=${token}&hub.challenge=1158201444`;
		const ok = await fetch(url('subscribe', VERIFY_TOKEN));
		expect(ok.status).toBe(200);
		expect(await ok.text()).toBe('1158201444');
		expect((await fetch(url('subscribe', 'wrong-token'))).status).toBe(403);
		expect((await fetch(url('unsubscribe', VERIFY_TOKEN))).status).toBe(403);
	});

	it.each(deliveries)('%s: signed wrongly or unsigned → 401 and nothing archived', async (file) => {
		const body = readFileSync(path.join(FIXTURES, file));
		const before = await listAllKeys(s3, bucket);
		const mutated = Buffer.from(body);
		mutated[Math.floor(mutated.length / 2)] ^= 0x01;
		for (const [payload, signature] of [
			[body, undefined],
			[body, sign(body, 'not-the-app-secret')],
			[mutated, sign(body)],
			[body, sign(body).replace('sha256=', 'sha1=')],
		] as Array<[Buffer, string | undefined]>) {
			const { status, exchange } = await post(payload, signature);
			expect(status).toBe(401);
			expect(exchange.run).toBeUndefined();
		}
		expect(await listAllKeys(s3, bucket)).toEqual(before);
	});

	/** Record objects under archive/ (not the identity links under archive/_identities/, nor media). */
	const recordKeys = async () =>
		(await listAllKeys(s3, bucket)).filter((key) => key.startsWith('archive/') && !key.startsWith('archive/_') && key.endsWith('.pgp') && !/\.media[^/]*\.pgp$/.test(key));

	it.each(deliveries)(
		'%s: signed correctly → every record archived by the trigger with no execution, gpg decrypts each object to the record',
		async (file) => {
			const body = readFileSync(path.join(FIXTURES, file));
			const before = new Set(await recordKeys());
			const { status, exchange } = await post(body, sign(body));
			expect(status).toBe(200);
			// Archive at Capture: every record stored, so no execution (and nothing in n8n's database)
			expect(exchange.run).toBeUndefined();

			const records = normalizeDelivery({ rawBody: body, receivedAt: new Date(), signatureVerified: true, graphApiVersion: 'v24.0', contentType: 'application/json' });
			const keys = (await recordKeys()).filter((key) => !before.has(key));
			// a fixture may repeat a record another fixture already stored (the same wamid): only new ones appear
			const known = new Set<string>();

			// every long digit run of the delivery that is not the business's own id is a phone number
			const plaintext = body.toString('utf8');
			const businessIds = new Set(records.flatMap((r) => [r.phone_number_id, r.waba_id].map(String)));
			const phoneNumbers = (plaintext.match(/\b\d{11,15}\b/g) ?? []).filter((d) => !businessIds.has(d));
			const markers = [...phoneNumbers, ...records.flatMap((r) => [r.wamid, r.counterparty?.name]).filter((m): m is string => Boolean(m))];
			// received_at is the trigger's clock, and timestamp_skew_seconds is measured from it
			const receipt = { received_at: 'X', timestamp_skew_seconds: 'X' };
			const expected = records.map((record) => JSON.stringify(JSON.parse(JSON.stringify({ ...record, ...receipt }))));
			const stored: string[] = [];
			for (const key of keys) {
				// no counterparty phone number, name or wamid in the object key
				for (const marker of markers) expect(key).not.toContain(marker);
				const decrypted = JSON.parse(gpgDecrypt(gpg.home, await getObjectBytes(s3, bucket, key)).toString('utf8'));
				const { media_status, media_error, ...rest } = decrypted;
				stored.push(JSON.stringify({ ...rest, ...receipt }));
				known.add(key);
				// media messages: the download is attempted; failing here (no Graph API), it is recorded
				if (['image', 'audio', 'video', 'document', 'sticker'].includes(String(rest.type))) {
					expect(media_status).toBe('failed');
					expect(String(media_error)).toMatch(/^media /);
				} else {
					expect(media_status).toBeUndefined();
				}
			}
			// key order in each stored record is the engine's: compare as sets of canonical strings
			const canonical = (json: string) => JSON.stringify(sortKeys(JSON.parse(json)));
			expect(stored.map(canonical).sort()).toEqual(expected.map(canonical).sort());
			expect(known.size).toBe(records.length);
		},
	);

	it('writes every record under explicit Object Lock: the mode and retain-for of its retention class, as the sweep template keeps it', async () => {
		const template = loadTemplate('whatsapp-capture-archive');
		const sweep = loadTemplate('retention-sweep-nightly');
		const sweepClasses = new Map<string, string>();
		for (const node of sweep.nodes) {
			const values = ((node.parameters as IDataObject).classes as IDataObject | undefined)?.values as IDataObject[] | undefined;
			for (const value of values ?? []) sweepClasses.set(String(value.name), String(value.retention));
		}
		// the trigger (Archive at Capture) and Quarantine Record write; both set the lock of their class
		const trigger = template.nodes.find((node) => node.name === 'WhatsApp Capture Trigger')!.parameters as IDataObject;
		expect(trigger.archiveAtCapture).toBe(true);
		const quarantine = template.nodes.filter((node) => (node.parameters as IDataObject).operation === 'write');
		expect(quarantine.map((node) => node.name)).toEqual(['Quarantine Record']);
		const locks = [
			{ retentionClass: trigger.retentionClass, mode: trigger.objectLockMode, retainFor: trigger.retainFor },
			...quarantine.map((node) => {
				const parameters = node.parameters as IDataObject & { options: IDataObject };
				return { retentionClass: parameters.retentionClass, mode: parameters.options.objectLockMode, retainFor: parameters.options.retainFor };
			}),
		];
		for (const lock of locks) {
			expect(['GOVERNANCE', 'COMPLIANCE']).toContain(lock.mode);
			expect(lock.retainFor).toBe(sweepClasses.get(String(lock.retentionClass)));
		}
		const notes = template.nodes.find((node) => node.type === 'n8n-nodes-base.stickyNote');
		expect(String((notes?.parameters as IDataObject).content)).toMatch(/Object Lock Mode.*Retain For.*Setup Check/s);

		// and the store holds each archived version under that lock
		// records and media (the identity links under archive/_identities/ are empty objects, not records)
		const keys = (await listAllKeys(s3, bucket)).filter((key) => key.startsWith('archive/') && !key.startsWith('archive/_'));
		expect(keys.length).toBeGreaterThan(0);
		const retainFor = sweepClasses.get('default')!;
		for (const key of keys) {
			const retention = (await s3.send(new GetObjectRetentionCommand({ Bucket: bucket, Key: key }))).Retention;
			expect(retention?.Mode).toBe(trigger.objectLockMode);
			const until = DateTime.fromJSDate(retention!.RetainUntilDate!, { zone: 'utc' });
			const expected = DateTime.utc().plus(Duration.fromISO(retainFor));
			expect(Math.abs(until.diff(expected).as('days'))).toBeLessThan(1);
		}
	});

	it('the same delivery twice → one object and one version per message, the repeat answered 200 with no execution', async () => {
		const body = readFileSync(path.join(FIXTURES, 'location-and-reaction-batch.json'));
		const versions = async () => {
			const all: string[] = [];
			for await (const page of listVersions(s3, bucket, '')) all.push(...page.map((v) => `${v.key} ${v.versionId}`));
			return all.sort();
		};
		const versionsBefore = await versions();
		const again = await post(body, sign(body));
		expect(again.status).toBe(200);
		expect(again.exchange.run).toBeUndefined();
		expect(await versions()).toEqual(versionsBefore);
	});

	it('a group delivery and a history chunk: the group is one conversation with its participants; a message captured live and again by the sync is stored once; the contact sync links identities', async () => {
		const now = Math.floor(Date.now() / 1000);
		const group = Buffer.from('capi_group:15550100999:120363000000009001').toString('base64');
		const meta = { display_phone_number: '15550100999', phone_number_id: '106000000000002' };
		const delivery = (field: string, value: Record<string, unknown>) =>
			Buffer.from(JSON.stringify({ object: 'whatsapp_business_account', entry: [{ id: '102000000000001', changes: [{ field, value: { messaging_product: 'whatsapp', metadata: meta, ...value } }] }] }));
		const versionsOf = async (prefix: string) => {
			const all: string[] = [];
			for await (const page of listVersions(s3, bucket, prefix)) all.push(...page.filter((v) => !v.isDeleteMarker).map((v) => v.key));
			return all;
		};
		const postSigned = async (body: Buffer) => {
			const before = new Set(await recordKeys());
			const { status, exchange } = await post(body, sign(body));
			expect(status).toBe(200);
			expect(exchange.run).toBeUndefined();
			return (await recordKeys()).filter((key) => !before.has(key));
		};
		const wa = (digits: string) => counterpartyPseudonym({ indexKey: INDEX_KEY, counterparty: { wa_id: digits, user_id: null } })!;
		const uid = (bsuid: string) => counterpartyPseudonym({ indexKey: INDEX_KEY, counterparty: { wa_id: null, user_id: bsuid } })!;
		const grp = counterpartyPseudonym({ indexKey: INDEX_KEY, counterparty: { wa_id: null, user_id: null, group_id: group } })!;

		// the group: two members write, one reads the business's message; all filed under the group
		const groupKeys = await postSigned(
			delivery('messages', {
				contacts: [
					{ profile: { name: 'Fay Member' }, wa_id: '15550100141', user_id: 'US.13491208655302741941' },
					{ profile: { name: 'Gus Member' }, wa_id: '15550100142', user_id: 'US.13491208655302741942' },
				],
				messages: [
					{ from: '15550100141', from_user_id: 'US.13491208655302741941', group_id: group, id: 'wamid.GRPWF1', timestamp: String(now - 120), type: 'text', text: { body: 'Fay: ready to sign' } },
					{ from: '15550100142', from_user_id: 'US.13491208655302741942', group_id: group, id: 'wamid.GRPWF2', timestamp: String(now - 60), type: 'text', text: { body: 'Gus: me too' } },
				],
			}),
		);
		const statusKeys = await postSigned(delivery('messages', { statuses: [{ id: 'wamid.GRPWF3', recipient_id: group, recipient_type: 'group', recipient_participant_id: '15550100142', status: 'read', timestamp: String(now - 30) }] }));
		expect(groupKeys).toHaveLength(2);
		expect(statusKeys).toHaveLength(1);
		for (const key of [...groupKeys, ...statusKeys]) expect(key.split('/')[6]).toBe(grp);
		// each member's identifiers are linked, the group to nobody
		const fay = await resolveIdentity({ client: s3, bucket, prefix: 'archive', indexKey: INDEX_KEY, identifier: '+1 555 010 0141' });
		expect(fay.pseudonyms).toEqual([wa('15550100141'), uid('US.13491208655302741941')].sort());
		expect((await resolveIdentity({ client: s3, bucket, prefix: 'archive', indexKey: INDEX_KEY, identifier: `group:${group}` })).pseudonyms).toEqual([grp]);
		// exported by its group id: one conversation, in time order, naming its participants
		const exported = await exportConversation({
			client: s3, bucket, prefix: 'archive', indexKey: INDEX_KEY, person: group,
			decryptionKeys: [await readPrivateKey({ armoredKey: gpg.secretKeyArmored })],
		});
		expect(exported.records.map((r) => [r.record_kind, r.wamid])).toEqual([['message', 'wamid.GRPWF1'], ['message', 'wamid.GRPWF2'], ['status', 'wamid.GRPWF3']]);
		const transcript = exported.transcriptText.toString('utf8');
		expect(transcript).toMatch(/Participants: Fay Member \(\+15550100141\), Gus Member \(\+15550100142\)/);
		expect(transcript).toMatch(/<-  Fay Member  \[text\]\n    \| Fay: ready to sign/);
		// the member of the group's status is named from the group's messages
		expect(transcript).toMatch(/\.\.  Gus Member  \[read\]/);

		// history: a message captured live, then again (device time) by the sync with an older one
		const live = await postSigned(delivery('messages', { messages: [{ from: '15550100143', id: 'wamid.HISTWF1', timestamp: String(now - 600), type: 'text', text: { body: 'live and synced' } }] }));
		expect(live).toHaveLength(1);
		const synced = await postSigned(
			delivery('history', {
				history: [{ metadata: { phase: 0, chunk_order: 1, progress: 100 }, threads: [{ id: '15550100143', messages: [
					{ from: '15550100143', id: 'wamid.HISTWF1', timestamp: String(now - 615), type: 'text', text: { body: 'live and synced' }, history_context: { status: 'READ' } },
					{ from: '15550100999', to: '15550100143', id: 'wamid.HISTWF2', timestamp: String(now - 3 * 86400), type: 'text', text: { body: 'sent from the app three days ago' }, history_context: { status: 'READ' } },
				] }] }],
			}),
		);
		// new: the chunk's progress and the older message; the repeated message is the live object, one version
		const stored = await Promise.all(synced.map(async (key) => JSON.parse(gpgDecrypt(gpg.home, await getObjectBytes(s3, bucket, key)).toString('utf8'))));
		expect(stored.map((r) => [r.record_kind, r.wamid]).sort()).toEqual([['history_progress', null], ['message', 'wamid.HISTWF2']]);
		expect(await versionsOf(live[0])).toEqual([live[0]]);
		const older = stored.find((r) => r.wamid === 'wamid.HISTWF2');
		expect([older.direction, older.filed_by, older.counterparty.wa_id]).toEqual(['outbound', 'timestamp', '15550100143']);
		const olderKey = synced.find((key) => key.split('/')[6] === wa('15550100143'))!;
		expect(olderKey.split('/').slice(3, 6).join('-')).toBe(new Date((now - 3 * 86400) * 1000).toISOString().slice(0, 10));

		// the contact sync: the app's address book entry links the number, the BSUID and the username
		await postSigned(delivery('smb_app_state_sync', { state_sync: [{ type: 'contact', contact: { full_name: 'Hal Contact', phone_number: '15550100144', user_id: 'US.13491208655302741944', username: 'hal.contact' }, action: 'add', metadata: { timestamp: String(now) } }] }));
		const hal = await resolveIdentity({ client: s3, bucket, prefix: 'archive', indexKey: INDEX_KEY, identifier: '@hal.contact' });
		expect(hal.pseudonyms).toEqual([wa('15550100144'), uid('US.13491208655302741944'), usernamePseudonym({ indexKey: INDEX_KEY, username: 'hal.contact' })].sort());
	});

	it('a record the trigger cannot store goes to the quarantine branch, still encrypted: nothing is lost', async () => {
		// a store credential with another index key: the archive write refuses every record encrypted at capture
		const settings = s3Settings();
		const quarantineBucket = await makeBucket(s3, { objectLock: true });
		const other = new InProcessN8n({
			workflow: loadTemplate('whatsapp-capture-archive'),
			credentials: {
				whatsAppCaptureApi: { appSecret: APP_SECRET, verifyToken: VERIFY_TOKEN, indexKey: INDEX_KEY, graphApiBaseUrl: 'http://127.0.0.1:9' },
				openPgpPublicKeysApi: { publicKeys: gpg.publicKeyArmored },
				s3ArchiveApi: {
					endpoint: settings.endpoint,
					region: settings.region,
					accessKeyId: settings.accessKeyId,
					secretAccessKey: settings.secretAccessKey,
					bucket: quarantineBucket,
					indexKey: randomBytes(32).toString('hex'),
				},
			},
		});
		await other.start();
		try {
			const body = readFileSync(path.join(FIXTURES, 'location-and-reaction-batch.json'));
			const response = await fetch(other.webhookUrl(), {
				method: 'POST',
				headers: { 'content-type': 'application/json', 'x-hub-signature-256': sign(body) },
				body: new Uint8Array(body),
			});
			await other.idle();
			const run = other.exchanges[other.exchanges.length - 1].run;
			expect(run?.data.resultData.error?.message).toBeUndefined();
			expect(response.status).toBe(200);
			expect(run?.status).toBe('success');
			const emitted = nodeOutput(run, 'WhatsApp Capture Trigger').map((i) => i.json);
			expect(emitted).toHaveLength(2);
			for (const item of emitted) expect(item).toMatchObject({ encrypted: true, error: { code: expect.any(String) } });
			const quarantined = nodeOutput(run, 'Quarantine Record').map((i) => i.json.archive as IDataObject);
			expect(quarantined.map((q) => q.status)).toEqual(['created', 'created']);
			const keys = await listAllKeys(s3, quarantineBucket);
			expect(keys).toHaveLength(2);
			for (const key of keys) {
				expect(key).toMatch(/^quarantine\/\d{4}\/\d{2}\/\d{2}\/[0-9a-f]{64}-\d\.pgp$/);
				const record = JSON.parse(gpgDecrypt(gpg.home, await getObjectBytes(s3, quarantineBucket, key)).toString('utf8'));
				expect(record.raw).toEqual(JSON.parse(body.toString('utf8')).entry[0].changes[0].value);
			}
		} finally {
			await other.stop();
		}
	});
});
