/**
 * S3 Archive node, Conversation → Export as RSMF 2.0, on an archive filled the real way: the capture
 * template `workflows/whatsapp-capture-archive.json` runs in in-process n8n-core, downloads media from
 * the Graph API stand-in, encrypts records and media with gpg's key and writes them to the local Ceph
 * RGW store. The fixture conversation (messages, media, statuses, an edit, a revoke, a reaction, a
 * reply, a BSUID-only message) is replayed onto recent days, with a few deliveries beside it (another
 * person on the same business number, another business number, a day outside the range). The
 * `.rsmf` files are read back with independent parsers: postal-mime (RFC 5322), fflate (zip), ajv
 * with Relativity's schema 2.0.0.
 */
import { createHash, createHmac, randomBytes } from 'node:crypto';
import { readdirSync, readFileSync } from 'node:fs';
import path from 'node:path';
import type { S3Client } from '@aws-sdk/client-s3';
import type { ICredentialDataDecryptedObject, IDataObject, INodeExecutionData } from 'n8n-workflow';

import { writeObject } from '../../../lib/archive';
import { encrypt, readPublicKeys } from '../../../lib/pgp';
import { createS3Client } from '../../../lib/s3';
import { S3Archive } from '../../../nodes/S3Archive/S3Archive.node';
import { executeContext } from '../../helpers/execute-context';
import { gpgDecrypt, makeGpgHome, type GpgHome } from '../../helpers/gpg';
import { GraphStandIn } from '../../helpers/graph-stand-in';
import { InProcessN8n, loadTemplate } from '../../helpers/n8n-runner';
import { customValue, manifestErrors, messageIds, readRsmf as readRsmfBytes, type ReadRsmf } from '../../helpers/rsmf';
import { getObjectBytes, listAllKeys, makeBucket, s3Settings } from '../../helpers/s3';

const FIXTURES = path.join(__dirname, '..', '..', 'fixtures', 'whatsapp');
const APP_SECRET = randomBytes(16).toString('hex');
const INDEX_KEY = randomBytes(32).toString('hex');
const BUSINESS = { display_phone_number: '15550100999', phone_number_id: '106000000000002' };
const OTHER_BUSINESS = { display_phone_number: '15550100888', phone_number_id: '106000000000003' };
const DANA = { wa_id: '15550100123', user_id: 'US.13491208655302741918' };
const danaContact = { profile: { name: 'Dana Example' }, wa_id: DANA.wa_id, user_id: DANA.user_id };
/** The bond order message of inbound-text.json (edited, then revoked). */
const BOND = 'wamid.HBgLMTU1NTAxMDAxMjMVAgASGBQzQUFBQUFBQUFBQUFBQUFBQUEA';
/** The business's question that interactive-button-reply.json answers, status-delivered.json reports and the fixture reaction targets. */
const QUESTION = 'wamid.HBgLMTU1NTAxMDAxMjMVAgARGBI5QTNDQTk5QjU4NzY1OTQyMzAA';
const IMAGE_MEDIA_ID = '1013859600285441';
const DOCUMENT_MEDIA_ID = '5000000000000002';
const DOCUMENT_NAME = 'Term sheet (signed).pdf';

/** The fixtures' provider times lie on 2026-01-01/02 (UTC). */
const FIXTURE_DAY = Date.UTC(2026, 0, 1) / 1000;
/** The UTC day the conversation is replayed onto: two days ago, so the archive files it by provider time. */
const REPLAY_DAY = Math.floor(Date.now() / 86_400_000 - 2) * 86_400;
const isoDay = (epochSeconds: number) => new Date(epochSeconds * 1000).toISOString().slice(0, 10);
const at = (secondsAfterReplayDay: number) => String(REPLAY_DAY + secondsAfterReplayDay);

const sha256 = (bytes: Uint8Array | string) => createHash('sha256').update(bytes).digest('hex');
const imageBytes = randomBytes(300 * 1024);
const documentBytes = Buffer.concat([Buffer.from('%PDF-1.7\n'), randomBytes(70 * 1024 + 3)]);

/** A fixture delivery as if Meta had sent it now (provider times moved by whole days onto REPLAY_DAY), the image's sha256 that of the stand-in's bytes. */
function replayedFixture(file: string): Buffer {
	const shift = (seconds: string) => String(Number(seconds) - FIXTURE_DAY + REPLAY_DAY);
	return Buffer.from(
		readFileSync(path.join(FIXTURES, file), 'utf8')
			.replace(/("timestamp"\s*:\s*")(\d{10})"/g, (_m, head: string, s: string) => `${head}${shift(s)}"`)
			.replace(/("time"\s*:\s*)(\d{10})\b/g, (_m, head: string, s: string) => `${head}${shift(s)}`)
			.replace(/("sha256"\s*:\s*")[0-9a-f]{64}"/g, `$1${sha256(imageBytes)}"`),
		'utf8',
	);
}

/** A change of a business number as Meta delivers it. */
function delivery(value: Record<string, unknown>, field = 'messages', business = BUSINESS): Buffer {
	return Buffer.from(
		JSON.stringify({ object: 'whatsapp_business_account', entry: [{ id: '102000000000001', changes: [{ field, value: { messaging_product: 'whatsapp', metadata: business, ...value } }] }] }),
	);
}

/** The deliveries besides the checked-in ones: the rest of the conversation, and records on either side of the scopes. */
function moreDeliveries(): Buffer[] {
	const text = (from: string, id: string, time: string, body: string) => ({ from, id, timestamp: time, type: 'text', text: { body } });
	return [
		// the business's question (sent from the WhatsApp Business app: an echo), answered by interactive-button-reply.json
		delivery({ message_echoes: [{ from: BUSINESS.display_phone_number, to: DANA.wa_id, id: QUESTION, timestamp: at(8 * 3600 + 90), type: 'text', text: { body: 'Shall we proceed with the order?' } }] }, 'smb_message_echoes'),
		// Dana edits the bond order message
		delivery({ contacts: [danaContact], messages: [{ from: DANA.wa_id, id: 'wamid.EDIT-1', timestamp: at(8 * 3600 + 100), type: 'edit', edit: { original_message_id: BOND, message: { type: 'text', text: { body: 'Can you confirm the bond order for 60k?' } } } }] }),
		// the question is read
		delivery({ statuses: [{ id: QUESTION, status: 'read', timestamp: at(8 * 3600 + 140), recipient_id: DANA.wa_id, recipient_user_id: DANA.user_id }] }),
		// a document with its file name
		delivery({ contacts: [danaContact], messages: [{ from: DANA.wa_id, id: 'wamid.DOCUMENT-1', timestamp: at(8 * 3600 + 210), type: 'document', document: { filename: DOCUMENT_NAME, caption: 'Final version', mime_type: 'application/pdf', sha256: sha256(documentBytes), id: DOCUMENT_MEDIA_ID } }] }),
		// Dana from her username account: the BSUID alone, linked to her phone number by the contacts above
		delivery({ contacts: [{ profile: { name: 'Dana Example', username: 'dana.example' }, user_id: DANA.user_id }], messages: [{ from_user_id: DANA.user_id, id: 'wamid.BSUID-ONLY', timestamp: at(8 * 3600 + 240), type: 'text', text: { body: 'Sent from my username account' } }] }),
		// the next day
		delivery({ contacts: [danaContact], messages: [text(DANA.wa_id, 'wamid.NEXT-DAY', at(86_400 + 9 * 3600), 'Good morning, any news?')] }),
		// another person on the same business number
		delivery({ contacts: [{ profile: { name: 'Robin Papertrail' }, wa_id: '15550100777' }], messages: [text('15550100777', 'wamid.ROBIN-1', at(10 * 3600), 'Robin asks about the coupon')] }),
		// Dana on another business number: outside a custodian export of the first
		delivery({ contacts: [danaContact], messages: [text(DANA.wa_id, 'wamid.OTHER-BUSINESS', at(11 * 3600), 'Hello other desk')] }, 'messages', OTHER_BUSINESS),
		// three days before the range
		delivery({ contacts: [danaContact], messages: [text(DANA.wa_id, 'wamid.EARLIER', at(-3 * 86_400 + 3600), 'An earlier question')] }),
	];
}

/** The `.rsmf` file of an output item, read back (and its bytes). */
async function readRsmf(item: INodeExecutionData): Promise<ReadRsmf & { eml: Buffer }> {
	const eml = Buffer.from(item.binary!.data.data, 'base64');
	return { ...(await readRsmfBytes(eml)), eml };
}

describe('S3 Archive node, Conversation → Export as RSMF 2.0 (capture template, Graph stand-in, local RGW, gpg)', () => {
	const node = new S3Archive();
	const graph = new GraphStandIn();
	let gpg: GpgHome;
	let client: S3Client;
	let bucket: string;
	const credentials = () => ({
		s3ArchiveApi: { ...s3Settings(), bucket, indexKey: INDEX_KEY } as unknown as ICredentialDataDecryptedObject,
		openPgpPrivateKeyApi: { privateKey: gpg.secretKeyArmored, passphrase: '' },
	});

	async function exportItems(parameters: Record<string, unknown>, options: { continueOnFail?: boolean } = {}): Promise<INodeExecutionData[]> {
		const context = executeContext({
			nodeType: node,
			parameters: { resource: 'conversation', operation: 'export', prefix: 'archive', exportFormat: 'rsmf', ...parameters },
			credentials: credentials(),
			continueOnFail: options.continueOnFail,
		});
		const [output] = await node.execute.call(context);
		return output;
	}
	const dana = (exportOptions: Record<string, unknown> = {}) => exportItems({ exportPhoneNumber: '+1 (555) 010-0123', exportOptions });

	beforeAll(async () => {
		gpg = await makeGpgHome();
		client = createS3Client(s3Settings());
		bucket = await makeBucket(client, { objectLock: true });
		await graph.start();
		graph.addMedia(IMAGE_MEDIA_ID, { bytes: imageBytes, mimeType: 'image/jpeg' });
		graph.addMedia(DOCUMENT_MEDIA_ID, { bytes: documentBytes, mimeType: 'application/pdf' });
		const n8n = new InProcessN8n({
			workflow: loadTemplate('whatsapp-capture-archive'),
			credentials: {
				whatsAppCaptureApi: { appSecret: APP_SECRET, verifyToken: 'token', accessToken: graph.accessToken, indexKey: INDEX_KEY, graphApiBaseUrl: graph.baseUrl, graphApiVersion: graph.version },
				openPgpPublicKeysApi: { publicKeys: gpg.publicKeyArmored, expectedFingerprints: '' },
				s3ArchiveApi: { ...s3Settings(), bucket, indexKey: INDEX_KEY } as unknown as ICredentialDataDecryptedObject,
			},
		});
		await n8n.start();
		try {
			const fixtures = readdirSync(FIXTURES)
				.filter((f) => f.endsWith('.json') && JSON.parse(readFileSync(path.join(FIXTURES, f), 'utf8')).object === 'whatsapp_business_account')
				// the 1:1 chats (the replay moves their message and status times; groups, history sync and account
				// fields carry times elsewhere and have tests of their own)
				.filter((f) => !/^(group-|history-|calls|smb-|user-preferences|account-settings|template-components)/.test(f))
				.sort()
				.map(replayedFixture);
			for (const body of [...fixtures, ...moreDeliveries()]) {
				const signature = 'sha256=' + createHmac('sha256', APP_SECRET).update(body).digest('hex');
				const response = await fetch(n8n.webhookUrl(), {
					method: 'POST',
					headers: { 'content-type': 'application/json', 'x-hub-signature-256': signature },
					body: new Uint8Array(body),
				});
				await n8n.idle();
				expect(response.status).toBe(200);
				// Archive at Capture: every record stored by the trigger, no execution (none quarantined)
				expect(n8n.exchanges[n8n.exchanges.length - 1].run).toBeUndefined();
			}
		} finally {
			await n8n.stop();
		}
	});
	afterAll(async () => {
		client?.destroy();
		await graph.stop();
		await gpg?.cleanup();
	});

	it("exports one person's conversations, one .rsmf each: schema-valid manifest, parsable message, the media byte for byte", async () => {
		// every conversation of the person: with each business number, on every day
		const output = await dana();
		expect(output.map((o) => o.binary!.data.fileName)).toEqual([`C1-${isoDay(REPLAY_DAY - 3 * 86_400)}-001.rsmf`, `C2-${isoDay(REPLAY_DAY)}-001.rsmf`]);
		const other = await readRsmf(output[1]);
		expect(other.manifest.events.map((e) => e.body)).toEqual(['Hello other desk']);
		const [item] = output;
		expect(output.map((o) => o.pairedItem)).toEqual([{ item: 0 }, { item: 0 }]);
		expect(item.binary!.data.mimeType).toBe('message/rfc822');
		const file = await readRsmf(item);

		// the message: RSMF headers, the transcript as body
		expect(file.header('X-RSMF-Version')).toBe('2.0.0');
		expect(file.header('X-RSMF-Generator')).toBe('n8n-nodes-chat-archive');
		expect(file.header('X-RSMF-BeginDate')).toBe(`${isoDay(REPLAY_DAY - 3 * 86_400)}T01:00:00.000Z`);
		expect(file.header('X-RSMF-EndDate')).toBe(`${isoDay(REPLAY_DAY + 86_400)}T09:00:00.000Z`);
		expect(file.header('X-RSMF-EventCount')).toBe(String(file.manifest.events.length));
		expect(file.email.text).toContain('Can you confirm the bond order for 50k?');
		expect(file.email.text).toContain('Sent from my username account');

		// the manifest: Relativity's schema, one conversation of Dana (every identifier) and the business
		expect(manifestErrors(file.manifest)).toBeNull();
		expect(file.manifest.conversations).toHaveLength(1);
		expect(file.manifest.participants).toHaveLength(2);
		const danaId = file.manifest.participants.find((p) => p.account_id === DANA.user_id)!.id;
		const byMessageId = (wamid: string) => file.manifest.events.find((e) => customValue(e.custom, 'Message ID') === wamid)!;
		expect(byMessageId('wamid.BSUID-ONLY')).toMatchObject({ participant: danaId, direction: 'incoming', body: 'Sent from my username account' });
		const bond = byMessageId(BOND);
		expect(bond).toMatchObject({ deleted: true, body: 'Can you confirm the bond order for 60k?' });
		expect(bond.edits).toEqual([expect.objectContaining({ previous: 'Can you confirm the bond order for 50k?', new: 'Can you confirm the bond order for 60k?' })]);
		const question = byMessageId(QUESTION);
		expect(question).toMatchObject({ direction: 'outgoing', reactions: [expect.objectContaining({ participants: [danaId] })] });
		expect(question.read_receipts?.map((r) => r.action).sort()).toEqual(['delivered', 'read']);
		expect(file.manifest.events.find((e) => e.parent === question.id)).toBeDefined();
		expect(file.manifest.events.some((e) => customValue(e.custom, 'Message ID') === 'wamid.ROBIN-1')).toBe(false);

		// the zip's media equal the bytes the Graph API served and the archive's media objects decrypted
		const image = byMessageId('wamid.HBgLMTU1NTAxMDAxMjMVAgASGBQzQkJCQkJCQkJCQkJCQkJCQkIA').attachments![0];
		const document = byMessageId('wamid.DOCUMENT-1').attachments![0];
		expect(document.id).toBe(DOCUMENT_NAME);
		expect(Object.keys(file.files).sort()).toEqual([DOCUMENT_NAME, image.id, 'rsmf_manifest.json'].sort());
		expect(Buffer.from(file.files[image.id]).equals(imageBytes)).toBe(true);
		expect(Buffer.from(file.files[DOCUMENT_NAME]).equals(documentBytes)).toBe(true);
		expect({ image: image.size, document: document.size }).toEqual({ image: imageBytes.length, document: documentBytes.length });
		const mediaKeys = (await listAllKeys(client, bucket, 'archive/')).filter((key) => key.endsWith('.media.pgp'));
		const archived = await Promise.all(mediaKeys.map(async (key) => gpgDecrypt(gpg.home, await getObjectBytes(client, bucket, key))));
		expect(archived.map((bytes) => sha256(bytes)).sort()).toEqual([sha256(file.files[image.id]), sha256(file.files[DOCUMENT_NAME])].sort());

		// the item's JSON: counts, ids, the file's SHA-256; no phone number, name or content
		const facts = item.json.export as IDataObject;
		expect(facts).toMatchObject({ scope: 'person', format: 'rsmf', files: 2, counts: { media: 2 } });
		expect(facts.file).toMatchObject({ sha256: sha256(file.eml), size: file.eml.length, eventCount: file.manifest.events.length, attachmentCount: 2, parts: 1 });
		expect(JSON.stringify(item.json)).not.toMatch(/15550100123|Dana|bond order|wamid|US\.1349/);
	});

	it('two exports of the same scope are byte-identical; any identifier of the person gives the same file', async () => {
		const [first] = await dana();
		const [second] = await dana();
		const [byBsuid] = await exportItems({ exportPhoneNumber: DANA.user_id });
		const hashes = [first, second, byBsuid].map((item) => sha256(Buffer.from(item.binary!.data.data, 'base64')));
		expect(hashes[1]).toBe(hashes[0]);
		expect(hashes[2]).toBe(hashes[0]);
		expect((second.json.export as IDataObject).file).toMatchObject({ sha256: hashes[0] });
	});

	it('custodian scope: every conversation of the phone number ID in the date range, and nothing else', async () => {
		const output = await exportItems({ exportScope: 'custodian', custodianPhoneNumberId: BUSINESS.phone_number_id, custodianFrom: isoDay(REPLAY_DAY), custodianTo: isoDay(REPLAY_DAY + 86_400) });
		const files = await Promise.all(output.map(readRsmf));
		for (const file of files) expect(manifestErrors(file.manifest)).toBeNull();
		const ids = files.flatMap((f) => messageIds(f.manifest.events));
		// Dana's conversation, Robin's, and the person of status-failed.json (15550100456)
		const people = files.flatMap((f) => {
			const custodians = new Set(f.manifest.conversations.map((c) => c.custodian));
			return f.manifest.participants.filter((p) => !custodians.has(p.id)).map((p) => customValue(p.custom, 'Phone number') ?? p.account_id);
		});
		expect(new Set(people)).toEqual(new Set(['+15550100123', '+15550100777', '+15550100456']));
		expect(ids).toEqual(expect.arrayContaining([BOND, QUESTION, 'wamid.BSUID-ONLY', 'wamid.NEXT-DAY', 'wamid.ROBIN-1']));
		expect(ids).not.toContain('wamid.EARLIER');
		expect(ids).not.toContain('wamid.OTHER-BUSINESS');
		expect(output.map((item) => (item.json.export as IDataObject).scope)).toEqual(output.map(() => 'custodian'));
		expect(output[0].json.export).toMatchObject({ phoneNumberId: BUSINESS.phone_number_id, files: output.length });
		expect(output.map((item) => item.pairedItem)).toEqual(output.map(() => ({ item: 0 })));

		// the records of the range on that number, whoever they are with: the same in JSONL
		const [jsonl] = await exportItems({ exportFormat: 'jsonl', exportScope: 'custodian', custodianPhoneNumberId: BUSINESS.phone_number_id, custodianFrom: isoDay(REPLAY_DAY), custodianTo: isoDay(REPLAY_DAY + 86_400) });
		const records = Buffer.from(jsonl.binary!.jsonl.data, 'base64').toString('utf8').trimEnd().split('\n').map((line) => JSON.parse(line) as IDataObject);
		expect(records.every((r) => r.phone_number_id === BUSINESS.phone_number_id)).toBe(true);
		expect(records.map((r) => r.wamid)).not.toContain('wamid.EARLIER');
		expect((output[0].json.export as IDataObject).counts).toEqual((jsonl.json.export as IDataObject).counts);

		// a number without records in the range: one item without a file
		const [none] = await exportItems({ exportScope: 'custodian', custodianPhoneNumberId: '106000000000009', custodianFrom: isoDay(REPLAY_DAY), custodianTo: isoDay(REPLAY_DAY + 86_400) });
		expect(none).toMatchObject({ json: { export: { files: 0, file: null, counts: { records: 0 } } }, pairedItem: { item: 0 } });
		expect(none.binary).toBeUndefined();

		// an incomplete custodian scope is refused naming the fields
		const [refused] = await exportItems({ exportScope: 'custodian', custodianPhoneNumberId: BUSINESS.phone_number_id, custodianFrom: isoDay(REPLAY_DAY) }, { continueOnFail: true });
		expect(refused).toMatchObject({ json: { error: { message: 'A custodian export needs its To Date' } }, pairedItem: { item: 0 } });
	});

	it('Max Events per File and Split by Day cut the conversation into more files, each schema-valid', async () => {
		// Dana on the first business number, in the range of the replayed conversation
		const range = { phoneNumberId: BUSINESS.phone_number_id, from: isoDay(REPLAY_DAY), to: isoDay(REPLAY_DAY + 86_400) };
		const whole = await readRsmf((await dana(range))[0]);
		expect(whole.manifest.events.some((e) => customValue(e.custom, 'Message ID') === 'wamid.EARLIER')).toBe(false);
		const byDay = await dana({ ...range, splitByDay: true });
		expect(byDay.map((item) => item.binary!.data.fileName)).toEqual([`C1-${isoDay(REPLAY_DAY)}-001.rsmf`, `C1-${isoDay(REPLAY_DAY + 86_400)}-002.rsmf`]);
		const small = await dana({ ...range, maxEventsPerFile: 4 });
		expect(small).toHaveLength(Math.ceil(whole.manifest.events.length / 4));
		const read = await Promise.all(small.map(readRsmf));
		expect(read.map((f) => f.manifest.events.length).reduce((a, b) => a + b)).toBe(whole.manifest.events.length);
		for (const file of read) expect(manifestErrors(file.manifest)).toBeNull();
		const [bad] = await dana({ maxEventsPerFile: 1.5 }).then(
			() => [null],
			(error: Error) => [error],
		);
		expect(bad?.message).toBe('Max Events per File must be a whole number of at least 1, not 1.5');
	});

	it('a media file past Max Media Size, or one that does not decrypt, fails the item naming the object key, never the content', async () => {
		const [limited] = await exportItems({ exportPhoneNumber: DANA.wa_id, exportOptions: { maxMediaMegabytes: 0.1 } }, { continueOnFail: true });
		expect(limited.json.error).toMatchObject({
			code: 'OutputLimit',
			message: expect.stringMatching(/^Media s3:\/\/.+\.media\.pgp: Decryption stopped: the plaintext exceeds the limit of /),
			description: expect.stringContaining('Max Media Size (MB)'),
		});
		expect(limited.pairedItem).toEqual({ item: 0 });

		// a second media object of the BSUID-only message, encrypted to another key
		const stranger = await makeGpgHome();
		try {
			const [jsonl] = await exportItems({ exportFormat: 'jsonl', exportPhoneNumber: DANA.wa_id });
			const wamids = Buffer.from(jsonl.binary!.jsonl.data, 'base64').toString('utf8').trimEnd().split('\n').map((line) => (JSON.parse(line) as IDataObject).wamid);
			const { sources } = jsonl.json.export as { sources: Array<{ key: string }> };
			const mediaKey = sources[wamids.indexOf('wamid.BSUID-ONLY')].key.replace(/\.pgp$/, '.media-1.pgp');
			const recipients = await readPublicKeys({ armoredKeys: stranger.publicKeyArmored });
			await writeObject({ client, bucket, key: mediaKey, body: (await encrypt({ data: randomBytes(100), recipients })).ciphertext as Uint8Array });
			const [failed] = await dana().then(
				() => [null],
				(error: Error & { code?: string }) => [error],
			);
			expect(failed?.message).toMatch(new RegExp(`^Could not decrypt s3://${bucket}/${mediaKey.replace(/[.]/g, '\\.')}: `));
			expect(failed?.message).not.toMatch(/Dana|bond|15550100123/);
		} finally {
			await stranger.cleanup();
		}
	});
});
