/**
 * Schema version 2 (docs/FORMAT.md): the `channel` field and the `<channel>-<account_id>` key segment.
 * Keys of WhatsApp records of either version are unchanged; the readers (list, export, seal, holds,
 * the sweeper, audit scopes) accept both forms, against the local store.
 */
import { randomBytes } from 'node:crypto';
import type { S3Client } from '@aws-sdk/client-s3';

import {
	accountSegment,
	assertPhoneNumberIdFilter,
	buildRsmfExport,
	counterpartyPseudonym,
	daySealScope,
	listObjects,
	normalizeAuditScope,
	objectKeyForRecord,
	parseObjectKey,
	phoneNumberPseudonyms,
	recordIdentityPseudonyms,
	sealPrefix,
	writeObject,
	type ArchiveRecordFields,
} from '../../../lib/archive';
import { encrypt, readPrivateKey, readPublicKeys, type PrivateKey } from '../../../lib/pgp';
import { matchesScope, normalizeScope, planSweep } from '../../../lib/retention';
import { createS3Client } from '../../../lib/s3';
import { exportWhole as exportConversation } from '../../helpers/export';
import { makeGpgHome, type GpgHome } from '../../helpers/gpg';
import { manifestErrors, readRsmf } from '../../helpers/rsmf';
import { makeBucket, s3Settings } from '../../helpers/s3';

const INDEX_KEY = randomBytes(32).toString('hex');
const DANA = '15550100123';
const PAGE_ID = '1045566778899';
const TWILIO_NUMBER = '15550100999';

type Rec = ArchiveRecordFields & Record<string, unknown>;

function record(fields: Partial<Rec> & { idempotency_key: string }): Rec {
	return {
		record_kind: 'message',
		direction: 'inbound',
		type: 'text',
		phone_number_id: null,
		counterparty: { wa_id: DANA, user_id: null, name: 'Dana Example' },
		context: null,
		...fields,
	};
}

// written before schema version 2: no channel, no account_id
const whatsappV1 = record({
	schema_version: 1,
	provider: 'whatsapp_cloud',
	phone_number_id: '106000000000002',
	display_phone_number: '15550100999',
	wamid: 'wamid.V1',
	timestamp: '2020-03-01T09:00:00.000Z',
	received_at: '2020-03-01T09:00:01.000Z',
	content: { body: 'first, on WhatsApp' },
	idempotency_key: '106000000000002:wamid.V1',
});
const sms = record({
	schema_version: 2,
	provider: 'twilio',
	channel: 'sms',
	account_id: TWILIO_NUMBER,
	display_phone_number: TWILIO_NUMBER,
	wamid: 'SM00000000000000000000000000000001',
	timestamp: null,
	received_at: '2020-03-01T10:00:00.000Z',
	content: { body: 'then by SMS' },
	idempotency_key: `sms:${TWILIO_NUMBER}:SM00000000000000000000000000000001`,
});
const whatsappV2 = record({
	...whatsappV1,
	schema_version: 2,
	channel: 'whatsapp',
	account_id: null,
	wamid: 'wamid.V2',
	timestamp: '2020-03-01T11:00:00.000Z',
	received_at: '2020-03-01T11:00:01.000Z',
	content: { body: 'and WhatsApp again' },
	idempotency_key: '106000000000002:wamid.V2',
});
const messenger = record({
	schema_version: 2,
	provider: 'meta_messaging',
	channel: 'messenger',
	account_id: PAGE_ID,
	wamid: 'm_AAAAAAAAAAAAAAAAAAAA',
	timestamp: '2020-03-01T12:00:00.000Z',
	received_at: '2020-03-01T12:00:01.000Z',
	counterparty: { wa_id: null, user_id: '7000000000000001', name: null },
	content: { body: 'hello from Messenger' },
	idempotency_key: `messenger:${PAGE_ID}:m_AAAAAAAAAAAAAAAAAAAA`,
});

describe('channel key layout (schema version 2)', () => {
	const place = (r: Rec) => objectKeyForRecord({ indexKey: INDEX_KEY, prefix: 'archive', retentionClass: 'default', record: r });

	it('keeps WhatsApp keys: a version 1 record and the same record with channel "whatsapp" get one key', () => {
		const v1 = place(whatsappV1);
		expect(v1.key).toMatch(/^archive\/default\/106000000000002\/2020\/03\/01\/[0-9a-f]{32}\/[0-9a-f]{32}\.pgp$/);
		expect(place({ ...whatsappV1, schema_version: 2, channel: 'whatsapp', account_id: null }).key).toBe(v1.key);
	});

	it('files other channels under <channel>-<account_id>, a malformed account id under <channel>-_unknown', () => {
		expect(place(messenger).key).toMatch(new RegExp(`^archive/default/messenger-${PAGE_ID}/2020/03/01/[0-9a-f]{32}/[0-9a-f]{32}\\.pgp$`));
		expect(place(sms).key).toContain(`/sms-${TWILIO_NUMBER}/`);
		expect(accountSegment({ channel: 'telegram', accountId: '7000000001' })).toBe('telegram-7000000001');
		expect(accountSegment({ channel: 'instagram', accountId: 'a/b' })).toBe('instagram-_unknown');
		expect(accountSegment({ channel: 'fax', accountId: '1' })).toBe('_unknown');
		expect(accountSegment({ channel: 'sms', phoneNumberId: TWILIO_NUMBER, accountId: null })).toBe('sms-_unknown');
	});

	it('parses both forms back', () => {
		expect(parseObjectKey(place(messenger).key)).toMatchObject({ phoneNumberId: `messenger-${PAGE_ID}`, channel: 'messenger', accountId: PAGE_ID, date: '2020-03-01' });
		expect(parseObjectKey(place(whatsappV1).key)).toMatchObject({ phoneNumberId: '106000000000002', channel: 'whatsapp', accountId: '106000000000002' });
	});

	it('pseudonyms: <channel>:<user id> for Messenger; an SMS number shares WhatsApp\'s pseudonym', () => {
		const psid = counterpartyPseudonym({ indexKey: INDEX_KEY, counterparty: messenger.counterparty, channel: 'messenger' });
		expect(psid).toMatch(/^[0-9a-f]{32}$/);
		expect(psid).not.toBe(counterpartyPseudonym({ indexKey: INDEX_KEY, counterparty: messenger.counterparty }));
		expect(psid).not.toBe(counterpartyPseudonym({ indexKey: INDEX_KEY, counterparty: messenger.counterparty, channel: 'instagram' }));
		expect(recordIdentityPseudonyms({ indexKey: INDEX_KEY, record: messenger as never })).toEqual([psid]);
		expect(place(sms).pseudonym).toBe(place(whatsappV1).pseudonym);
		expect(phoneNumberPseudonyms({ indexKey: INDEX_KEY, phoneNumber: `+${DANA}` })).toContain(place(sms).pseudonym);
	});

	it('filters, hold scopes and audit scopes accept a channel account; other text is refused by the rule', () => {
		expect(assertPhoneNumberIdFilter(` messenger-${PAGE_ID} `)).toBe(`messenger-${PAGE_ID}`);
		expect(() => assertPhoneNumberIdFilter('fax-123')).toThrow(/<channel>-<account id>/);
		expect(() => assertPhoneNumberIdFilter('messenger-a/b')).toThrow(/phone_number_id/);
		const scope = normalizeScope({ phoneNumberIds: [`sms-${TWILIO_NUMBER}`] });
		expect(matchesScope(scope, parseObjectKey(place(sms).key)!)).toBe(true);
		expect(matchesScope(scope, parseObjectKey(place(whatsappV1).key)!)).toBe(false);
		expect(() => normalizeScope({ phoneNumberIds: ['fax-1'] })).toThrow(/<channel>-<account id>/);
		expect(normalizeAuditScope({ keyPrefixes: [`archive/default/messenger-${PAGE_ID}/2020/`], phoneNumberIds: [`messenger-${PAGE_ID}`] }, 'archive')).toMatchObject({
			phoneNumberIds: [`messenger-${PAGE_ID}`],
		});
		expect(() => normalizeAuditScope({ keyPrefixes: ['archive/default/fax-1/'] }, 'archive')).toThrow(/phone_number_id/);
	});
});

describe('RSMF export of several channels', () => {
	it('one conversation per channel account and person, its platform the channel, each manifest valid; the transcript names the channel', async () => {
		const result = buildRsmfExport({ records: [messenger, whatsappV2, sms, whatsappV1] });
		const read = await Promise.all(result.slices.map(async (slice) => ({ slice, rsmf: await readRsmf(await streamBytes(slice.createRsmfStream())) })));
		const platforms = read.map(({ rsmf }) => rsmf.manifest.conversations.map((c) => [c.platform, c.display]).flat()).sort();
		expect(platforms).toEqual([
			['messenger', expect.stringMatching(/^Messenger: /)],
			['sms', 'SMS: Dana Example and SMS business account +15550100999'],
			['whatsapp', expect.stringMatching(/^WhatsApp: /)],
		].sort((a, b) => String(a[0]).localeCompare(String(b[0]))));
		for (const { rsmf } of read) expect(manifestErrors(rsmf.manifest)).toBeNull();
		const smsSlice = read.find(({ rsmf }) => rsmf.manifest.conversations[0].platform === 'sms')!.slice;
		expect(smsSlice.transcript).toContain('[text]  via SMS');
	});
});

async function streamBytes(stream: NodeJS.ReadableStream): Promise<Buffer> {
	const chunks: Buffer[] = [];
	for await (const chunk of stream) chunks.push(Buffer.from(chunk as Buffer));
	return Buffer.concat(chunks);
}

describe('channels in the store (local RGW)', () => {
	let client: S3Client;
	let bucket: string;
	let gpg: GpgHome;
	let decryptionKey: PrivateKey;
	const keys = new Map<Rec, string>();

	beforeAll(async () => {
		client = createS3Client(s3Settings());
		bucket = await makeBucket(client, { versioning: true });
		gpg = await makeGpgHome();
		decryptionKey = await readPrivateKey({ armoredKey: gpg.secretKeyArmored });
		const recipients = await readPublicKeys({ armoredKeys: gpg.publicKeyArmored });
		for (const r of [messenger, whatsappV2, sms, whatsappV1]) {
			const { key } = objectKeyForRecord({ indexKey: INDEX_KEY, prefix: 'archive', retentionClass: 'default', record: r });
			const { ciphertext } = await encrypt({ data: Buffer.from(JSON.stringify(r)), recipients, filename: 'record.json' });
			await writeObject({ client, bucket, key, body: ciphertext as Uint8Array });
			keys.set(r, key);
		}
	});
	afterAll(async () => {
		client?.destroy();
		await gpg?.cleanup();
	});

	async function listed(filter: Omit<Parameters<typeof listObjects>[0]['filter'], 'prefix'>): Promise<string[]> {
		const found: string[] = [];
		for await (const object of listObjects({ client, bucket, filter: { prefix: 'archive', ...filter } })) found.push(object.key);
		return found.sort();
	}

	it('lists both forms, and one channel account alone', async () => {
		expect(await listed({})).toEqual([...keys.values()].sort());
		expect(await listed({ retentionClass: 'default', phoneNumberId: `messenger-${PAGE_ID}` })).toEqual([keys.get(messenger)]);
		expect(await listed({ retentionClass: 'default', phoneNumberId: '106000000000002' })).toEqual([keys.get(whatsappV1), keys.get(whatsappV2)].sort());
	});

	it('exports a person who wrote by SMS and on WhatsApp: both, in time order, labelled by channel', async () => {
		const result = await exportConversation({ client, bucket, prefix: 'archive', indexKey: INDEX_KEY, phoneNumber: `+${DANA}`, decryptionKeys: [decryptionKey] });
		expect(result.records.map((r) => r.content)).toEqual([whatsappV1, sms, whatsappV2].map((r) => r.content));
		const text = result.transcriptText.toString('utf8');
		expect(text).toContain('Multi-channel conversation export');
		expect(text).toContain('Channels: SMS, WhatsApp');
		expect(text).toContain('2020-03-01 09:00:00 UTC  <-  Dana Example  [text]  via WhatsApp\n    | first, on WhatsApp');
		expect(text).toContain('2020-03-01 10:00:00 UTC  <-  Dana Example  [text]  via SMS\n    | then by SMS');
		expect(result.transcriptHtml.toString('utf8')).toContain('<span class="channel">via <bdi>SMS</bdi></span>');
		const messengerOnly = await exportConversation({ client, bucket, prefix: 'archive', pseudonym: parseObjectKey(keys.get(messenger)!)!.pseudonym, decryptionKeys: [decryptionKey] });
		expect(messengerOnly.records).toHaveLength(1);
		expect(messengerOnly.transcriptText.toString('utf8')).toMatch(/^Messenger conversation export\n[\s\S]*\[text\]  via Messenger\n/);
	});

	it('seals one channel account\'s day, and the whole archive with both forms', async () => {
		const signingKey = decryptionKey;
		const day = await sealPrefix({ client, bucket, prefix: 'archive', scope: daySealScope({ retentionClass: 'default', phoneNumberId: `sms-${TWILIO_NUMBER}`, date: '2020-03-01' }), signer: signingKey });
		expect(day.manifest.entries.map((e) => e.key)).toEqual([keys.get(sms)]);
		const all = await sealPrefix({ client, bucket, prefix: 'archive', scope: '', signer: signingKey });
		expect(all.manifest.entries.map((e) => e.key).sort()).toEqual([...keys.values()].sort());
	});

	it('the sweeper reads both forms: every expired record is planned for deletion, none unmanaged', async () => {
		const plan = await planSweep({ client, bucket, policy: { prefix: 'archive', classes: [{ name: 'default', retention: 'P1Y' }] } });
		expect(plan.unmanaged.count).toBe(0);
		expect(plan.deletions.map((d) => d.key).sort()).toEqual([...keys.values()].sort());
	});
});
