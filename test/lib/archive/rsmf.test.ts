/**
 * RSMF 2.0 export: the fixture conversation (Meta-shaped deliveries normalized by the capture
 * engine, plus media bytes) → `.rsmf` files, read back with independent parsers: postal-mime for the
 * RFC 5322 message, fflate for the zip, ajv (draft-07) with Relativity's schema 2.0.0 for the manifest.
 */
import { execFileSync } from 'node:child_process';
import { createHash, randomBytes } from 'node:crypto';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { Readable } from 'node:stream';
import Ajv, { type AnySchema } from 'ajv';
import addFormats from 'ajv-formats';
import { unzipSync } from 'fflate';
import PostalMime from 'postal-mime';

import {
	ArchiveError,
	buildRsmfExport,
	mediaFileName,
	safeFileName,
	type RsmfEvent,
	type RsmfManifest,
	type RsmfMedia,
	type RsmfSlice,
} from '../../../lib/archive';
import { normalizeDelivery, type CaptureRecord } from '../../../lib/capture';
import { fixtureBody } from '../capture/fixtures';

const SCHEMA_PATH = path.join(__dirname, '..', '..', '..', 'lib', 'archive', 'rsmf', 'schema', 'rsmf_schema_2_0_0.json');
const schema = JSON.parse(readFileSync(SCHEMA_PATH, 'utf8')) as Record<string, unknown>;

/** The schema with `additionalProperties: false` on every object: a misspelt property fails too. */
function closed(node: unknown): unknown {
	if (Array.isArray(node)) return node.map(closed);
	if (!node || typeof node !== 'object') return node;
	const copy: Record<string, unknown> = {};
	for (const [key, value] of Object.entries(node)) copy[key] = key === 'properties' ? Object.fromEntries(Object.entries(value as object).map(([k, v]) => [k, closed(v)])) : closed(value);
	if (copy.type === 'object' && copy.properties) copy.additionalProperties = false;
	return copy;
}

const ajv = new Ajv({ allErrors: true, strict: false });
addFormats(ajv);
ajv.addFormat('idn-email', true);
const validate = ajv.compile(schema as AnySchema);
const validateClosed = ajv.compile({ ...(closed(schema) as object), $id: 'closed' } as AnySchema);

// --- the fixture conversation -------------------------------------------------------------------

const BUSINESS = { display_phone_number: '15550100999', phone_number_id: '106000000000002' };
const DANA = { wa_id: '15550100123', user_id: 'US.13491208655302741918' };
/** The wamid of inbound-text.json ("bond order"), edited and then revoked. */
const BOND = 'wamid.HBgLMTU1NTAxMDAxMjMVAgASGBQzQUFBQUFBQUFBQUFBQUFBQUEA';
/** The business message that interactive-button-reply.json answers, status-delivered.json reports and the fixture reaction targets. */
const QUESTION = 'wamid.HBgLMTU1NTAxMDAxMjMVAgARGBI5QTNDQTk5QjU4NzY1OTQyMzAA';
const IMAGE = 'wamid.HBgLMTU1NTAxMDAxMjMVAgASGBQzQkJCQkJCQkJCQkJCQkJCQkIA';
const DOCUMENT = 'wamid.DOC-HOSTILE';
const HOSTILE_NAME = '..\\..\\Windows\\System32\\evil\u202Efdp.exe\u0000 ';

const epoch = (iso: string) => String(Date.parse(iso) / 1000);

/** A `messages` change (or echoes) of the business number as Meta delivers it. */
function delivery(value: Record<string, unknown>, field = 'messages') {
	return { object: 'whatsapp_business_account', entry: [{ id: '102000000000001', changes: [{ field, value: { messaging_product: 'whatsapp', metadata: BUSINESS, ...value } }] }] };
}
const danaContact = { profile: { name: 'Dana Example' }, wa_id: DANA.wa_id, user_id: DANA.user_id };

function normalize(body: Buffer | object, receivedAt: string): CaptureRecord[] {
	const rawBody = Buffer.isBuffer(body) ? body : Buffer.from(JSON.stringify(body));
	return normalizeDelivery({ rawBody, receivedAt: new Date(receivedAt), signatureVerified: true, graphApiVersion: 'v24.0' });
}

/** Records of the conversation: the checked-in deliveries and the ones a coexistence number adds. */
function conversationRecords(): CaptureRecord[] {
	return [
		...['inbound-text', 'inbound-image-forwarded', 'interactive-button-reply', 'location-and-reaction-batch', 'status-delivered', 'coexistence-echo', 'coexistence-revoke', 'template-status-update', 'status-failed'].flatMap(
			(name) => normalize(fixtureBody(name), '2026-01-01T08:20:00.000Z'),
		),
		// the business's question (sent from the WhatsApp Business app: an echo)
		...normalize(delivery({ message_echoes: [{ from: BUSINESS.display_phone_number, to: DANA.wa_id, id: QUESTION, timestamp: epoch('2026-01-01T08:01:30Z'), type: 'text', text: { body: 'Shall we proceed with the order?' } }] }, 'smb_message_echoes'), '2026-01-01T08:01:31Z'),
		// Dana edits the bond order message
		...normalize(delivery({ contacts: [danaContact], messages: [{ from: DANA.wa_id, id: 'wamid.EDIT-1', timestamp: epoch('2026-01-01T08:01:40Z'), type: 'edit', edit: { original_message_id: BOND, message: { type: 'text', text: { body: 'Can you confirm the bond order for 60k?' } } } }] }), '2026-01-01T08:01:41Z'),
		// the question is read
		...normalize(delivery({ statuses: [{ id: QUESTION, status: 'read', timestamp: epoch('2026-01-01T08:02:20Z'), recipient_id: DANA.wa_id, recipient_user_id: DANA.user_id }] }), '2026-01-01T08:02:21Z'),
		// a document with a hostile file name
		...normalize(delivery({ contacts: [danaContact], messages: [{ from: DANA.wa_id, id: DOCUMENT, timestamp: epoch('2026-01-01T08:03:30Z'), type: 'document', document: { filename: HOSTILE_NAME, mime_type: 'application/pdf', id: 'media-doc-1', sha256: 'x' } }] }), '2026-01-01T08:03:31Z'),
		// a username user: the BSUID alone (no phone number), linked to Dana by inbound-text's contact
		...normalize(delivery({ contacts: [{ profile: { name: 'Dana Example', username: 'dana.example' }, user_id: DANA.user_id }], messages: [{ from_user_id: DANA.user_id, id: 'wamid.BSUID-ONLY', timestamp: epoch('2026-01-01T08:04:00Z'), type: 'text', text: { body: 'Sent from my username account' } }] }), '2026-01-01T08:04:01Z'),
		// a type this engine does not know
		...normalize(delivery({ contacts: [danaContact], messages: [{ from: DANA.wa_id, id: 'wamid.POLL', timestamp: epoch('2026-01-01T08:04:10Z'), type: 'poll', poll: { question: 'Lunch on Friday?' } }] }), '2026-01-01T08:04:11Z'),
		// the next day
		...normalize(delivery({ contacts: [danaContact], messages: [{ from: DANA.wa_id, id: 'wamid.NEXT-DAY', timestamp: epoch('2026-01-02T09:00:00Z'), type: 'text', text: { body: 'Good morning, any news?' } }] }), '2026-01-02T09:00:01Z'),
	];
}

const imageBytes = randomBytes(300 * 1024);
const documentBytes = randomBytes(70 * 1024 + 3);

/** Media as buffers, or as lazily opened streams of small, uneven chunks. */
function conversationMedia(form: 'buffer' | 'chunked-stream'): RsmfMedia[] {
	const content = (bytes: Buffer) =>
		form === 'buffer'
			? bytes
			: () => Readable.from(Array.from({ length: Math.ceil(bytes.length / 1000) }, (_, n) => bytes.subarray(n * 1000, n * 1000 + 1000)));
	return [
		{ wamid: DOCUMENT, content: content(documentBytes) },
		{ wamid: IMAGE, mimeType: 'image/jpeg', content: content(imageBytes) },
	];
}

/** A deterministic shuffle, so the engine's own ordering is tested. */
function shuffled<T>(items: T[]): T[] {
	return items.map((item, n) => ({ item, key: createHash('sha256').update(String(n)).digest('hex') })).sort((a, b) => (a.key < b.key ? -1 : 1)).map((x) => x.item);
}

async function bytesOf(stream: Readable): Promise<Buffer> {
	const chunks: Buffer[] = [];
	for await (const chunk of stream) chunks.push(Buffer.from(chunk as Uint8Array));
	return Buffer.concat(chunks);
}

interface ReadSlice {
	eml: Buffer;
	email: Awaited<ReturnType<typeof PostalMime.parse>>;
	files: Record<string, Uint8Array>;
	manifest: RsmfManifest;
}

/** Reads a slice the way a review platform does: parse the message, unzip its attachment. */
async function readSlice(slice: RsmfSlice): Promise<ReadSlice> {
	const eml = await bytesOf(slice.createRsmfStream());
	const email = await PostalMime.parse(eml);
	expect(email.attachments).toHaveLength(1);
	const [zip] = email.attachments;
	expect(zip).toMatchObject({ filename: 'rsmf.zip', mimeType: 'application/zip', disposition: 'attachment' });
	const files = unzipSync(new Uint8Array(zip.content as ArrayBuffer));
	const manifest = JSON.parse(Buffer.from(files['rsmf_manifest.json']).toString('utf8')) as RsmfManifest;
	return { eml, email, files, manifest };
}

/** The schema, closed and open, and the references the schema cannot express. */
function expectValidManifest(manifest: RsmfManifest, files: Record<string, Uint8Array>): void {
	expect(validate(manifest) ? [] : validate.errors).toEqual([]);
	expect(validateClosed(manifest) ? [] : validateClosed.errors).toEqual([]);
	const participants = new Set(manifest.participants.map((p) => p.id));
	expect(participants.size).toBe(manifest.participants.length);
	const eventIds = new Set(manifest.events.map((e) => e.id));
	expect(eventIds.size).toBe(manifest.events.length);
	for (const conversation of manifest.conversations) {
		for (const id of conversation.participants) expect(participants).toContain(id);
		expect(conversation.participants).toContain(conversation.custodian);
	}
	const referenced = new Set<string>();
	for (const event of manifest.events) {
		expect(manifest.conversations.map((c) => c.id)).toContain(event.conversation);
		for (const id of [event.participant, ...(event.edits ?? []).map((e) => e.participant), ...(event.read_receipts ?? []).map((r) => r.participant), ...(event.reactions ?? []).flatMap((r) => r.participants ?? [])]) {
			if (id !== undefined) expect(participants).toContain(id);
		}
		if (event.parent !== undefined) expect(eventIds).toContain(event.parent);
		for (const attachment of event.attachments ?? []) {
			expect(Object.keys(files)).toContain(attachment.id);
			expect(attachment.size).toBe(files[attachment.id].length);
			referenced.add(attachment.id);
		}
	}
	expect(Object.keys(files).sort()).toEqual([...referenced, 'rsmf_manifest.json'].sort());
}

const header = (email: ReadSlice['email'], key: string) => email.headers.find((h) => h.key === key.toLowerCase())?.value;
const customOf = (event: RsmfEvent, name: string) => (event.custom ?? []).filter((c) => c.name === name).map((c) => c.value);
const byMessageId = (manifest: RsmfManifest, wamid: string) => manifest.events.find((e) => customOf(e, 'Message ID').includes(wamid))!;

describe('buildRsmfExport (RSMF 2.0.0)', () => {
	it('maps the fixture conversation to a manifest that validates against Relativity\'s schema 2.0.0', async () => {
		const records = conversationRecords();
		const result = buildRsmfExport({ records: shuffled(records), media: conversationMedia('buffer') });
		expect(result.recordCount).toBe(records.length);
		// Dana's conversation, the WABA's account events, the failed status to another person
		expect(result.slices.map((s) => [s.fileName, s.eventCount])).toEqual([
			['C1-2026-01-01-001.rsmf', 10],
			['C2-2026-01-01-001.rsmf', 1],
			['C3-2026-01-02-001.rsmf', 1],
		]);
		const { manifest, files } = await readSlice(result.slices[0]);
		expectValidManifest(manifest, files);
		expect(manifest.version).toBe('2.0.0');
		expect(manifest.eventcollectionid).toBe(result.slices[0].eventCollectionId);

		// custodian = the business number; Dana is one participant for her number and her BSUID
		const [conversation] = manifest.conversations;
		expect(conversation).toMatchObject({ id: 'C1', platform: 'whatsapp', type: 'direct', custodian: 'P1', participants: ['P1', 'P2'] });
		expect(manifest.participants).toEqual([
			{
				id: 'P1',
				display: 'WhatsApp Business +15550100999',
				account_id: '106000000000002',
				custom: [
					{ name: 'Phone number', value: '+15550100999' },
					{ name: 'Phone number ID', value: '106000000000002' },
					{ name: 'WABA ID', value: '102000000000001' },
				],
			},
			{
				id: 'P2',
				display: 'Dana Example',
				account_id: DANA.user_id,
				custom: [
					{ name: 'Phone number', value: '+15550100123' },
					{ name: 'Username', value: 'dana.example' },
				],
			},
		]);
		const events = manifest.events;
		expect(events.map((e) => e.timestamp)).toEqual([...events.map((e) => e.timestamp)].sort());

		// direction relative to the custodian
		const question = byMessageId(manifest, QUESTION);
		expect(question).toMatchObject({ type: 'message', participant: 'P1', direction: 'outgoing', body: 'Shall we proceed with the order?' });
		// statuses → read receipts; the reaction on its message; the reply's parent
		expect(question.read_receipts).toEqual([
			{ participant: 'P2', timestamp: '2026-01-01T08:02:10.000Z', action: 'delivered' },
			{ participant: 'P2', timestamp: '2026-01-01T08:02:20.000Z', action: 'read' },
		]);
		expect(question.reactions).toEqual([{ value: '👍', count: 1, participants: ['P2'] }]);
		const reply = events.find((e) => customOf(e, 'WhatsApp type').includes('interactive'))!;
		expect(reply).toMatchObject({ parent: question.id, participant: 'P2', direction: 'incoming', body: 'Yes, proceed' });
		expect(customOf(reply, 'Reply to message ID')).toEqual([QUESTION]);

		// the edit on the original, then the revoke marks it deleted
		const bond = byMessageId(manifest, BOND);
		expect(bond).toMatchObject({ type: 'message', participant: 'P2', deleted: true, body: 'Can you confirm the bond order for 60k?' });
		expect(bond.edits).toEqual([{ participant: 'P2', timestamp: '2026-01-01T08:01:40.000Z', previous: 'Can you confirm the bond order for 50k?', new: 'Can you confirm the bond order for 60k?' }]);
		expect(customOf(bond, 'Deleted')).toEqual(['2026-01-01T08:06:40.000Z by Dana Example']);
		// updates were folded: no event of their own
		for (const type of ['edit', 'revoke', 'reaction', 'delivered', 'read']) expect(events.filter((e) => customOf(e, 'WhatsApp type').includes(type))).toEqual([]);

		// media: the original (sanitized) name, the bytes
		const image = byMessageId(manifest, IMAGE);
		expect(image).toMatchObject({ body: 'Signed term sheet', attachments: [{ id: 'image-20260101-080100.jpg', display: 'image-20260101-080100.jpg', size: imageBytes.length }] });
		expect(customOf(image, 'Forwarded')).toEqual(['forwarded']);
		const document = byMessageId(manifest, DOCUMENT);
		expect(document.attachments).toEqual([{ id: 'evilfdp.exe', display: 'evilfdp.exe', size: documentBytes.length }]);

		// the BSUID-only message is Dana's
		expect(byMessageId(manifest, 'wamid.BSUID-ONLY')).toMatchObject({ participant: 'P2', direction: 'incoming', body: 'Sent from my username account' });
		// an unknown type: an unknown event keeping its raw type and content
		const poll = byMessageId(manifest, 'wamid.POLL');
		expect(poll).toMatchObject({ type: 'unknown', participant: 'P2' });
		expect(customOf(poll, 'WhatsApp type')).toEqual(['poll']);
		expect(customOf(poll, 'Content (JSON)')).toEqual(['{"question":"Lunch on Friday?"}']);
		expect(byMessageId(manifest, 'wamid.HBgL...LOC')).toMatchObject({ type: 'message', custom: expect.arrayContaining([{ name: 'Location', value: '40.7128, -74.006' }]) });

		// the account events of the WABA, and the failed status whose message is not in the export
		const account = await readSlice(result.slices[1]);
		expectValidManifest(account.manifest, account.files);
		expect(account.manifest.events).toEqual([
			expect.objectContaining({ type: 'unknown', custom: expect.arrayContaining([{ name: 'WhatsApp type', value: 'message_template_status_update' }, { name: 'WhatsApp record kind', value: 'event' }]) }),
		]);
		expect(account.manifest.events[0].participant).toBeUndefined();
		const failed = await readSlice(result.slices[2]);
		expectValidManifest(failed.manifest, failed.files);
		expect(failed.manifest.events[0]).toMatchObject({ type: 'unknown', participant: 'P4', body: 'message wamid.HBgL...FAIL failed (131047 Re-engagement message)' });
	});

	it('writes an RFC 5322 message with the X-RSMF headers, the transcript as body and rsmf.zip as its one attachment', async () => {
		const result = buildRsmfExport({ records: conversationRecords(), media: conversationMedia('buffer'), generator: 'n8n-nodes-chat-archive 0.1.0' });
		const slice = result.slices[0];
		const { eml, email, files, manifest } = await readSlice(slice);
		expect(header(email, 'X-RSMF-Version')).toBe('2.0.0');
		expect(header(email, 'X-RSMF-Generator')).toBe('n8n-nodes-chat-archive 0.1.0');
		expect(header(email, 'X-RSMF-BeginDate')).toBe('2026-01-01T08:00:00.000Z');
		expect(header(email, 'X-RSMF-EndDate')).toBe('2026-01-02T09:00:00.000Z');
		expect(header(email, 'X-RSMF-EventCount')).toBe(String(manifest.events.length));
		expect(header(email, 'X-RSMF-AttachmentCount')).toBe('2');
		expect(header(email, 'X-RSMF-EventCollectionID')).toBe(manifest.eventcollectionid);
		expect(header(email, 'X-RSMF-Custodian')).toBe('WhatsApp Business +15550100999');
		// header names as Relativity spells them
		expect(eml.toString('latin1')).toMatch(/^X-RSMF-Version: 2\.0\.0\r$/m);
		expect(eml.toString('latin1')).toMatch(/^X-RSMF-EventCollectionID: whatsapp-[0-9a-f]{32}\r$/m);
		expect(email.from).toMatchObject({ name: 'WhatsApp Business +15550100999', address: '106000000000002@whatsapp.invalid' });
		expect(email.to).toEqual([expect.objectContaining({ name: 'Dana Example' })]);
		expect(email.messageId).toBe(slice.messageId);
		expect(email.date).toBe('2026-01-01T08:00:00.000Z');
		expect(email.subject).toBe('WhatsApp: Dana Example and WhatsApp Business +15550100999, 2026-01-01 to 2026-01-02');

		// the body is the transcript, with the zip names of the media
		expect(email.text?.replace(/\r\n/g, '\n')).toBe(slice.transcript);
		expect(slice.transcript).toContain('2026-01-01 08:00:00 UTC  <-  Dana Example  [text]\n    | Can you confirm the bond order for 50k?');
		expect(slice.transcript).toContain('    media: image-20260101-080100.jpg');
		expect(slice.transcript).toContain('..  Dana Example  [read]');
		expect(slice.transcript).toContain('Part: 1 of 1');

		// the zip's files are the media, byte for byte
		expect(Buffer.from(files['image-20260101-080100.jpg']).equals(imageBytes)).toBe(true);
		expect(Buffer.from(files['evilfdp.exe']).equals(documentBytes)).toBe(true);
	});

	it('is deterministic: the same records give byte-identical files, whatever their order, the media chunking or the time zone', async () => {
		const records = conversationRecords();
		const digests = async (result: ReturnType<typeof buildRsmfExport>) => {
			const out = [];
			for (const slice of result.slices) out.push({ rsmf: sha256(await bytesOf(slice.createRsmfStream())), zip: sha256(await bytesOf(slice.createZipStream())) });
			return out;
		};
		const first = await digests(buildRsmfExport({ records, media: conversationMedia('buffer') }));
		expect(await digests(buildRsmfExport({ records: shuffled(records), media: conversationMedia('chunked-stream') }))).toEqual(first);

		// zip headers hold local DOS times: other time zones, each in a process of its own (a TZ set inside jest does not reach Date)
		const work = mkdtempSync(path.join(tmpdir(), 'rsmf-tz-'));
		try {
			const input = path.join(work, 'input.json');
			const media = conversationMedia('buffer').map((m) => ({ wamid: m.wamid, base64: (m.content as Buffer).toString('base64') }));
			writeFileSync(input, JSON.stringify({ records, media }));
			for (const tz of ['America/New_York', 'Asia/Kolkata']) {
				const stdout = execFileSync(path.join(__dirname, '../../../node_modules/.bin/tsx'), [path.join(__dirname, 'rsmf-digest-child.ts'), input], {
					env: { ...process.env, TZ: tz },
					timeout: 60_000,
				}).toString();
				expect(JSON.parse(stdout)).toEqual(first);
			}
		} finally {
			rmSync(work, { recursive: true, force: true });
		}

		// one record less changes the files
		const fewer = await digests(buildRsmfExport({ records: records.filter((r) => r.wamid !== 'wamid.POLL'), media: conversationMedia('buffer') }));
		expect(fewer[0].rsmf).not.toBe(first[0].rsmf);
		expect(fewer[0].zip).not.toBe(first[0].zip);
	});

	it('slices at maxEventsPerSlice and by UTC day; each slice validates on its own', async () => {
		const records = conversationRecords();
		const bySize = buildRsmfExport({ records, media: conversationMedia('buffer'), maxEventsPerSlice: 3 });
		const dana = bySize.slices.filter((s) => s.conversationId === 'C1');
		expect(dana.map((s) => [s.fileName, s.part, s.parts, s.eventCount])).toEqual([
			['C1-2026-01-01-001.rsmf', 1, 4, 3],
			['C1-2026-01-01-002.rsmf', 2, 4, 3],
			['C1-2026-01-01-003.rsmf', 3, 4, 3],
			['C1-2026-01-02-004.rsmf', 4, 4, 1],
		]);
		expect(new Set(bySize.slices.map((s) => s.fileName)).size).toBe(bySize.slices.length);
		expect(new Set(dana.map((s) => s.eventCollectionId)).size).toBe(1);
		expect(new Set(dana.map((s) => s.messageId)).size).toBe(4);
		const read = await Promise.all(dana.map(readSlice));
		for (const { manifest, files, email } of read) {
			expectValidManifest(manifest, files);
			expect(header(email, 'X-RSMF-EventCount')).toBe(String(manifest.events.length));
			expect(header(email, 'X-RSMF-BeginDate')).toBe(manifest.events[0].timestamp);
			expect(header(email, 'X-RSMF-EndDate')).toBe(manifest.events[manifest.events.length - 1].timestamp);
		}
		expect(read.map((r) => header(r.email, 'Subject'))).toEqual([1, 2, 3, 4].map((n) => expect.stringMatching(new RegExp(`, part ${n} of 4$`))));
		// every event once, in order, across the slices
		const all = read.flatMap((r) => r.manifest.events);
		expect(all.map((e) => e.id)).toEqual(Array.from({ length: 10 }, (_, n) => `E${n + 1}`));
		// the reply (slice 2) to a message of slice 1 keeps the message id, and no parent that would dangle
		const reply = read[1].manifest.events.find((e) => customOf(e, 'WhatsApp type').includes('interactive'))!;
		expect(customOf(reply, 'Reply to message ID')).toEqual([QUESTION]);
		expect(reply.parent).toBeUndefined();
		expect(read[0].manifest.events.some((e) => customOf(e, 'Message ID').includes(QUESTION))).toBe(true);
		// folded updates stay on their message, in whichever slice it is
		expect(byMessageId(read[0].manifest, QUESTION).read_receipts).toHaveLength(2);

		const byDay = buildRsmfExport({ records, media: conversationMedia('buffer'), sliceByDay: true });
		expect(byDay.slices.filter((s) => s.conversationId === 'C1').map((s) => [s.fileName, s.eventCount, s.beginDate.slice(0, 10), s.endDate.slice(0, 10)])).toEqual([
			['C1-2026-01-01-001.rsmf', 9, '2026-01-01', '2026-01-01'],
			['C1-2026-01-02-002.rsmf', 1, '2026-01-02', '2026-01-02'],
		]);
		for (const bad of [0, -1, 2.5, Number.NaN]) {
			expect(() => buildRsmfExport({ records, maxEventsPerSlice: bad })).toThrow(expect.objectContaining({ code: 'InvalidInput', message: expect.stringContaining('maxEventsPerSlice must be a whole number of at least 1') }));
		}
	});

	it('sanitizes hostile file names and keeps names unique in the zip', async () => {
		// the pack's sanitizer (test/nodes/shared/binary.test.ts), here with room for " (n)"
		const long = mediaFileName({ fileName: `${'é'.repeat(300)}.pdf`, type: 'document', time: null });
		expect(Buffer.byteLength(long)).toBeLessThanOrEqual(200);
		expect(long.endsWith('é.pdf')).toBe(true);
		expect(mediaFileName({ fileName: 'contract', type: 'document', time: null, mimeType: 'application/pdf' })).toBe('contract.pdf');
		expect(mediaFileName({ fileName: '..', type: 'audio', time: '2026-01-01T08:00:00.000Z', mimeType: 'audio/ogg; codecs=opus' })).toBe('audio-20260101-080000.ogg');
		expect(safeFileName(HOSTILE_NAME, 'x')).toBe('evilfdp.exe');

		const records = conversationRecords();
		const twin = records.find((r) => r.wamid === DOCUMENT)!;
		const other = { ...twin, wamid: 'wamid.DOC-2', idempotency_key: '106000000000002:wamid.DOC-2', content: { ...twin.content, filename: 'rsmf_manifest.json' } };
		const third = { ...twin, wamid: 'wamid.DOC-3', idempotency_key: '106000000000002:wamid.DOC-3', content: { ...twin.content, filename: 'EVILFDP.EXE' } };
		const media: RsmfMedia[] = [
			{ wamid: DOCUMENT, content: Buffer.from('one') },
			{ wamid: 'wamid.DOC-2', content: Buffer.from('two') },
			{ wamid: 'wamid.DOC-3', content: Buffer.from('three') },
			{ wamid: 'wamid.DOC-3', fileName: 'report', mimeType: 'application/pdf', content: Buffer.from('four') },
		];
		const [slice] = buildRsmfExport({ records: [...records, other, third], media }).slices;
		const { files, manifest } = await readSlice(slice);
		expectValidManifest(manifest, files);
		expect(Object.keys(files).sort()).toEqual(['EVILFDP.EXE', 'evilfdp (2).exe', 'report.pdf', 'rsmf_manifest (2).json', 'rsmf_manifest.json'].sort());
		expect(Buffer.from(files['rsmf_manifest (2).json']).toString()).toBe('two');
		for (const name of Object.keys(files)) expect(name).not.toMatch(/[/\\\u0000-\u001f\u202e]/);
	});

	it('fails with a clear error on bad input, a media file that is not its record\'s, and a media source that fails', async () => {
		const records = conversationRecords();
		expect(() => buildRsmfExport({ records: 'x' as unknown as [] })).toThrow(expect.objectContaining({ code: 'InvalidInput', message: 'records must be an array of decrypted capture records' }));
		expect(() => buildRsmfExport({ records: [...records, { wamid: 'w' }] })).toThrow(expect.objectContaining({ code: 'InvalidInput', message: expect.stringMatching(/^records\[\d+\] is not a capture record/) }));
		let unknown: ArchiveError | undefined;
		try {
			buildRsmfExport({ records, media: [{ wamid: 'wamid.NOT-HERE', content: Buffer.alloc(1) }] });
		} catch (error) {
			unknown = error as ArchiveError;
		}
		expect(unknown).toBeInstanceOf(ArchiveError);
		expect(unknown).toMatchObject({ code: 'InvalidInput', message: 'media[0].wamid matches no message record of the export: give the wamid of the media message' });

		// the record says which bytes were downloaded: other bytes fail the stream
		const withDigest = records.map((r) => (r.wamid === IMAGE ? { ...r, media_status: 'downloaded', media_sha256: sha256(imageBytes) } : r));
		await expect(bytesOf(buildRsmfExport({ records: withDigest, media: conversationMedia('buffer') }).slices[0].createRsmfStream())).resolves.toBeInstanceOf(Buffer);
		const swapped: RsmfMedia[] = [{ wamid: IMAGE, content: documentBytes }];
		const mismatch = await bytesOf(buildRsmfExport({ records: withDigest, media: swapped }).slices[0].createRsmfStream()).catch((e: unknown) => e);
		expect(mismatch).toMatchObject({ code: 'IntegrityError', message: 'media[0] does not match the media_sha256 of its record: give the decrypted file of that message' });

		// a source that fails midway, or cannot be opened, fails the stream (it does not hang)
		const failing: RsmfMedia[] = [
			{
				wamid: IMAGE,
				content: () =>
					Readable.from(
						(async function* () {
							yield Buffer.alloc(1000);
							throw new Error('store connection reset');
						})(),
					),
			},
		];
		await expect(bytesOf(buildRsmfExport({ records, media: failing }).slices[0].createRsmfStream())).rejects.toThrow('store connection reset');
		const unopenable: RsmfMedia[] = [{ wamid: IMAGE, content: () => Promise.reject(new Error('AccessDenied')) }];
		await expect(bytesOf(buildRsmfExport({ records, media: unopenable }).slices[0].createZipStream())).rejects.toMatchObject({
			code: 'InvalidInput',
			message: 'media[0].content could not be opened: AccessDenied',
		});
		// a stream can be read once: a second build of the slice is refused, not given an empty file
		const once = buildRsmfExport({ records, media: [{ wamid: IMAGE, content: Readable.from([imageBytes]) }] }).slices[0];
		await expect(bytesOf(once.createZipStream())).resolves.toBeInstanceOf(Buffer);
		await expect(bytesOf(once.createRsmfStream())).rejects.toMatchObject({ code: 'InvalidInput', message: expect.stringContaining('media[0].content is a stream that a zip of this export has read already') });

		// errors name indexes, never a phone number or a wamid
		for (const error of [unknown!, mismatch as ArchiveError]) {
			expect(error.message).not.toMatch(/1555010|wamid\.|HBgL/);
		}
	});

	it('opens media one at a time, when the zip reaches them, and releases them when the consumer stops', async () => {
		const records = conversationRecords();
		const opened: number[] = [];
		let open = 0;
		let most = 0;
		const lazy = (n: number, bytes: Buffer) => () => {
			opened.push(n);
			open++;
			most = Math.max(most, open);
			const stream = Readable.from([bytes]);
			stream.on('end', () => open--);
			return stream;
		};
		const [slice] = buildRsmfExport({ records, media: [{ wamid: DOCUMENT, content: lazy(0, documentBytes) }, { wamid: IMAGE, content: lazy(1, imageBytes) }] }).slices;
		expect(opened).toEqual([]);
		const { files } = await readSlice(slice);
		expect(opened).toEqual([1, 0]); // event order: the image (08:01) before the document (08:03:30)
		expect(most).toBe(1);
		expect(Object.keys(files)).toEqual(['image-20260101-080100.jpg', 'evilfdp.exe', 'rsmf_manifest.json']);

		// a consumer that stops reading releases the source being read (an endless one here)
		let endless: Readable | undefined;
		const content = () =>
			(endless = new Readable({
				read() {
					this.push(Buffer.alloc(64 * 1024));
				},
			}));
		const stream = buildRsmfExport({ records, media: [{ wamid: IMAGE, content }] }).slices[0].createRsmfStream();
		let read = 0;
		for await (const chunk of stream) {
			read += (chunk as Buffer).length;
			if (read > 1024 * 1024) break;
		}
		for (let wait = 0; wait < 100 && !endless?.destroyed; wait++) await new Promise((resolve) => setTimeout(resolve, 10));
		expect(endless?.destroyed).toBe(true);
	});

	it('a WhatsApp group is one `channel` conversation: every member who wrote or was reached is a participant, each member\'s read is a receipt', async () => {
		const expectedDir = path.join(__dirname, '..', '..', 'fixtures', 'expected');
		const records = ['group-message-and-statuses', 'group-participants-update'].flatMap((f) => JSON.parse(readFileSync(path.join(expectedDir, `${f}.records.json`), 'utf8')) as CaptureRecord[]);
		const built = await buildRsmfExport({ records });
		const { manifest, files } = await readSlice(built.slices[0]);
		expectValidManifest(manifest, files);
		expect(built.slices).toHaveLength(1);
		const [conversation] = manifest.conversations;
		expect(conversation.type).toBe('channel');
		expect(conversation.custom).toEqual(expect.arrayContaining([expect.objectContaining({ name: 'Group ID' })]));
		const phones = (id: string) => (manifest.participants.find((p) => p.id === id)?.custom ?? []).filter((c) => c.name === 'Phone number').map((c) => c.value);
		const members = conversation.participants.filter((id) => id !== conversation.custodian).flatMap(phones);
		expect(members).toEqual(expect.arrayContaining(['+15550100123', '+15550100124']));
		// the member's message has the member as author; each member's read (of a business message not in
		// these records, so an event of its own) names that member
		const message = manifest.events.find((e) => e.type === 'message' && (e.body ?? '').includes('settle the bond order'))!;
		expect(phones(message.participant!)).toEqual(['+15550100123']);
		const reads = manifest.events.filter((e) => customOf(e, 'WhatsApp type').includes('read'));
		expect(new Set(reads.flatMap((e) => phones(e.participant!)))).toEqual(new Set(['+15550100123', '+15550100124']));
	});
});

function sha256(bytes: Buffer): string {
	return createHash('sha256').update(bytes).digest('hex');
}
