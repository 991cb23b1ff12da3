/**
 * Hostile input on the writing side (issue 15): what reaches S3 Archive Write, the transcripts of an
 * export, the file names the pack hands to n8n, the index key, and the part size of huge streams.
 *
 * - Plaintext into Write (real n8n-core running the S3 Archive node, and the node with a fake
 *   execution context for id-backed streams) → refused before any request: the store, reached through
 *   the fault proxy, sees zero requests and the fresh bucket stays empty; the error names the binary
 *   property and the fix. A 32 MiB plaintext stream is refused after reading its first bytes only
 *   (bytes pulled, event-loop delay and RSS rise measured). Real ciphertext (gpg, sq, the pack's own
 *   stream encryptor, armored) is still written.
 * - A record binary missing while its media is present → nothing written.
 * - Transcripts: newlines, CR, U+2028/2029, NEL and bidi overrides in names and bodies forge no line;
 *   the HTML carries a Content-Security-Policy meta tag and isolates names with <bdi>.
 * - File names from a document message and an OpenPGP literal packet reach n8n without `..`, path
 *   separators, control or bidi characters.
 * - Weak index keys are refused with the `openssl rand -hex 32` hint; a 64-hex key is accepted.
 * - The multipart part size grows with the known size up to S3's 5 TiB object limit.
 */
import { createHash, createHmac, randomBytes } from 'node:crypto';
import { Readable } from 'node:stream';
import { monitorEventLoopDelay } from 'node:perf_hooks';

import type { S3Client } from '@aws-sdk/client-s3';
import type { IDataObject, INodeExecutionData, IRun } from 'n8n-workflow';

import * as archive from '../../lib/archive';
import * as writeStream from '../../lib/archive/write-stream';
import { renderTranscriptHtml, renderTranscriptText, transcriptLine, type TranscriptRecord } from '../../lib/archive/transcript';
import { encrypt, readPublicKeys } from '../../lib/pgp';
import * as s3Objects from '../../lib/s3/objects';
import { createS3Client } from '../../lib/s3';
import * as binaryHelpers from '../../nodes/shared/binary';
import { OpenPgp } from '../../nodes/OpenPgp/OpenPgp.node';
import { S3Archive } from '../../nodes/S3Archive/S3Archive.node';
import { testS3ArchiveCredential } from '../../nodes/S3Archive/methods/credentialTest';
import { executeContext, runNode } from '../helpers/execute-context';
import { GraphStandIn } from '../helpers/graph-stand-in';
import { gpg as runGpg, type GpgHome, gpgEncrypt, makeGpgHome, sqEncrypt } from '../helpers/gpg';
import { InProcessN8n, newWebhookId, type WorkflowJson } from '../helpers/n8n-runner';
import { patternStream } from '../helpers/pattern';
import { listAllKeys } from '../helpers/s3';
import { record } from './helpers/counters';
import { FaultProxy } from './helpers/fault-proxy';
import { SuiteStore } from './helpers/store';

const INDEX_KEY = randomBytes(32).toString('hex');
const MiB = 1024 * 1024;
const GiB = 1024 * MiB;
const TiB = 1024 * GiB;
const FIX = /OpenPGP node \(Encrypt\).*Encrypt at Capture.*before S3 Archive Write/s;
const PLAINTEXT_MARKER = 'HOSTILE-WRITE-PLAINTEXT-7c1e';

const store = new SuiteStore();
let proxy: FaultProxy;
let gpg: GpgHome;

beforeAll(async () => {
	proxy = new FaultProxy();
	await proxy.start();
	gpg = await makeGpgHome();
});

afterAll(async () => {
	await proxy?.stop();
	await gpg?.cleanup();
	const atRest = await store.scan([PLAINTEXT_MARKER]);
	expect(await store.cleanup()).toEqual([]);
	expect(atRest).toEqual([]);
});

const storeCredential = (bucket: string, endpoint = proxy.url) => ({
	...store.settings,
	endpoint,
	forcePathStyle: true,
	checksumMode: 'WHEN_REQUIRED',
	bucket,
	indexKey: INDEX_KEY,
});

/** The JSON of a capture record as the trigger emits it without Encrypt at Capture. */
const recordJson = (n: number): IDataObject => ({
	record_kind: 'message',
	type: 'document',
	phone_number_id: '106000000000002',
	timestamp: '2026-12-01T10:00:00Z',
	received_at: '2026-12-01T10:00:01Z',
	counterparty: { wa_id: '15550107777', user_id: null, name: 'Robin Papertrail' },
	idempotency_key: `106000000000002:wamid.HOSTILE${n}`,
	wamid: `wamid.HOSTILE${n}`,
	content: { caption: PLAINTEXT_MARKER },
});
const inline = (bytes: Buffer, fileName = 'x.bin', mimeType = 'application/octet-stream') => ({ data: bytes.toString('base64'), mimeType, fileName });
const plaintextPdf = () => Buffer.concat([Buffer.from(`%PDF-1.7\n${PLAINTEXT_MARKER}\n`), randomBytes(4096)]);
const plaintextRecord = (n: number) => Buffer.from(JSON.stringify(recordJson(n)));
const ciphertextOf = (bytes: Buffer) => gpgEncrypt(gpg.home, bytes, { recipients: [gpg.fingerprint] });

function writeParameters(bucket: string, options: IDataObject = {}) {
	return { resource: 'record', operation: 'write', binaryPropertyName: 'data', prefix: 'archive', retentionClass: 'default', bucket, options };
}

async function runWrite(bucket: string, items: INodeExecutionData[], extra: { binaryStore?: Record<string, () => Readable>; options?: IDataObject } = {}) {
	const node = new S3Archive();
	const context = executeContext({
		nodeType: node,
		parameters: writeParameters(bucket, extra.options),
		credentials: { s3ArchiveApi: storeCredential(bucket) },
		items,
		binaryStore: extra.binaryStore,
	});
	try {
		return { output: await node.execute.call(context), error: undefined as Error | undefined, context };
	} catch (error) {
		return { output: undefined, error: error as Error, context };
	}
}

/** Error text a person sees: message and description. */
const shown = (error: unknown) => `${(error as Error)?.message ?? ''} ${(error as { description?: string })?.description ?? ''}`;

describe('S3 Archive Write refuses plaintext before any request', () => {
	const refused: string[] = [];
	const written: string[] = [];
	let tried = 0;
	afterAll(() => {
		record({
			category: 'hostile write: plaintext into Write',
			tried,
			passed: refused.length,
			lost: 0,
			leaked: written.length,
			note: `refused before any request: ${refused.join(', ')}${written.length ? `; WRITTEN: ${written.join(', ')}` : ''}`,
		});
	});

	it('in n8n-core: a record and its media straight from the trigger (no Encrypt at Capture) → workflow error, 0 requests, empty bucket', async () => {
		tried += 1;
		const bucket = await store.bucket({ objectLock: true });
		const workflow: WorkflowJson = {
			name: 'capture without encryption → write',
			nodes: [
				{
					id: 'a',
					name: 'Archive Record',
					type: 'n8n-nodes-chat-archive.s3Archive',
					typeVersion: 1,
					position: [0, 0],
					parameters: { operation: 'write', binaryPropertyName: 'data', prefix: 'archive', retentionClass: 'default', options: { objectLockMode: 'GOVERNANCE', retainFor: 'P1D' } },
					credentials: { s3ArchiveApi: { id: '3', name: 'Store' } },
				},
			],
			connections: {},
			settings: { executionOrder: 'v1' },
		};
		const n8n = new InProcessN8n({ workflow, credentials: { s3ArchiveApi: storeCredential(bucket) } });
		await n8n.start();
		try {
			const before = proxy.log.length;
			// What the trigger emits with Download Media and without Encrypt at Capture, given to Write as
			// its record ("data", here a plaintext JSON file) and media binaries.
			const run = await n8n.runFrom('Archive Record', [
				{ json: recordJson(1), binary: { data: inline(plaintextRecord(1), 'record.json', 'application/json'), media: inline(plaintextPdf(), 'statement.pdf', 'application/pdf') } },
			]);
			const error = run.data.resultData.error;
			const requests = proxy.log.length - before;
			const objects = await listAllKeys(store.client, bucket);
			if (objects.length) written.push(`n8n-core plaintext record+media (${objects.length} objects, ${requests} requests)`);
			expect({ requests, objects }).toEqual({ requests: 0, objects: [] });
			expect(run.status).toBe('error');
			expect(shown(error)).toMatch(/"media"|"data"/);
			expect(shown(error)).toMatch(FIX);
			refused.push('n8n-core record+media');
		} finally {
			await n8n.stop();
		}
	});

	it.each([
		['plaintext record, encrypted media', 'data', () => ({ data: inline(plaintextRecord(2)), media: inline(ciphertextOf(plaintextPdf())) })],
		['encrypted record, plaintext media', 'media', () => ({ data: inline(ciphertextOf(plaintextRecord(3))), media: inline(plaintextPdf()) })],
		['encrypted record, media of a truncated OpenPGP header', 'media', () => ({ data: inline(ciphertextOf(plaintextRecord(4))), media: inline(ciphertextOf(plaintextPdf()).subarray(0, 3)) })],
		['a signed (not encrypted) record', 'data', () => ({ data: inline(Buffer.from(gpgSign(plaintextRecord(5)))) })],
		['an empty record', 'data', () => ({ data: inline(Buffer.alloc(0)) })],
	])('%s → refused naming "%s" and the fix, 0 requests', async (label, property, binaries) => {
		tried += 1;
		const bucket = await store.bucket();
		const before = proxy.log.length;
		const { error } = await runWrite(bucket, [{ json: recordJson(10 + tried), binary: binaries() }]);
		const requests = proxy.log.length - before;
		const objects = await listAllKeys(store.client, bucket);
		if (objects.length) written.push(`${label} (${objects.length} objects)`);
		expect({ requests, objects }).toEqual({ requests: 0, objects: [] });
		expect(shown(error)).toContain(`"${property}"`);
		expect(shown(error)).toMatch(FIX);
		refused.push(label);
	});

	it('a 32 MiB plaintext stream (id-backed binary) is refused after its first bytes: bytes read, event loop, RSS', async () => {
		tried += 1;
		const bucket = await store.bucket();
		const size = 32 * MiB;
		let pulled = 0;
		const counted = () => {
			const source = patternStream(size, 64 * 1024);
			source.on('data', (chunk: Buffer) => (pulled += chunk.length));
			return source;
		};
		const before = proxy.log.length;
		const delay = monitorEventLoopDelay({ resolution: 5 });
		const rss0 = process.memoryUsage().rss;
		delay.enable();
		const started = performance.now();
		const { error } = await runWrite(bucket, [{ json: recordJson(30), binary: { data: { id: 'filesystem-v2:plain', data: '', mimeType: 'application/pgp-encrypted' } } }], {
			binaryStore: { 'filesystem-v2:plain': counted },
		});
		const elapsedMs = performance.now() - started;
		delay.disable();
		const rssRiseMiB = (process.memoryUsage().rss - rss0) / MiB;
		const maxDelayMs = delay.max / 1e6;
		const requests = proxy.log.length - before;
		const objects = await listAllKeys(store.client, bucket);
		if (objects.length) written.push(`32 MiB stream (${objects.length} objects)`);
		console.log(`plaintext 32 MiB stream: pulled ${pulled} bytes, ${requests} requests, ${elapsedMs.toFixed(0)} ms, max event-loop delay ${maxDelayMs.toFixed(1)} ms, RSS +${rssRiseMiB.toFixed(1)} MiB`);
		expect({ requests, objects }).toEqual({ requests: 0, objects: [] });
		expect(pulled).toBeLessThanOrEqual(1 * MiB);
		expect(maxDelayMs).toBeLessThan(100);
		expect(rssRiseMiB).toBeLessThan(20);
		expect(shown(error)).toContain('"data"');
		expect(shown(error)).toMatch(FIX);
		refused.push('32 MiB stream');
	});

	it('the record binary missing, its media present → nothing written, the error names "data"', async () => {
		tried += 1;
		const bucket = await store.bucket();
		const before = proxy.log.length;
		const { error } = await runWrite(bucket, [{ json: recordJson(40), binary: { media: inline(ciphertextOf(plaintextPdf())) } }]);
		const requests = proxy.log.length - before;
		const objects = await listAllKeys(store.client, bucket);
		if (objects.length) written.push(`media without record (${objects.length} objects)`);
		expect({ requests, objects }).toEqual({ requests: 0, objects: [] });
		expect(shown(error)).toContain('"data"');
		refused.push('media without record');
	});

	it('real ciphertext is written: gpg binary and armored, sq, the pack\'s stream encryptor (id-backed), record and media', async () => {
		const bucket = await store.bucket();
		const recipients = await readPublicKeys({ armoredKeys: gpg.publicKeyArmored });
		const streamed = await encrypt({ data: Readable.from([randomBytes(3 * MiB)]), recipients, filename: 'media.bin' });
		const streamedBytes = await readAllBytes(streamed.ciphertext as Readable);
		const cases: Array<[string, Record<string, ReturnType<typeof inline> | { id: string; data: string; mimeType: string }>, Record<string, () => Readable>?]> = [
			['gpg binary + media', { data: inline(ciphertextOf(plaintextRecord(50))), media: inline(ciphertextOf(plaintextPdf())) }],
			['gpg armored', { data: inline(gpgEncrypt(gpg.home, plaintextRecord(51), { recipients: [gpg.fingerprint], armor: true })) }],
			['sq binary', { data: inline(sqEncrypt(gpg.publicKeyArmored, plaintextRecord(52), { binary: true })) }],
			['stream encryptor, id-backed', { data: inline(ciphertextOf(plaintextRecord(53))), media: { id: 'filesystem-v2:media', data: '', mimeType: 'application/pgp-encrypted' } }, { 'filesystem-v2:media': () => Readable.from([streamedBytes]) }],
		];
		for (const [n, [label, binary, binaryStore]] of cases.entries()) {
			const { output, error } = await runWrite(bucket, [{ json: recordJson(60 + n), binary }], { binaryStore });
			expect({ label, error: error?.message }).toEqual({ label, error: undefined });
			const result = output![0][0].json.archive as IDataObject;
			expect(result.status).toBe('created');
			if (binary.media) expect((result.media as IDataObject).status).toBe('created');
		}
	});
});

function gpgSign(bytes: Buffer): Buffer {
	// A signed, unencrypted OpenPGP message: a packet sequence, but no encrypted data packet.
	return runGpg(gpg.home, ['--passphrase', '', '--local-user', gpg.fingerprint, '--sign'], bytes);
}

async function readAllBytes(stream: Readable): Promise<Buffer> {
	const chunks: Buffer[] = [];
	for await (const chunk of stream) chunks.push(Buffer.from(chunk as Uint8Array));
	return Buffer.concat(chunks);
}

describe('transcripts: control and bidi characters forge no line', () => {
	const hostileNames = [
		'Mallory\n2026-12-01 10:00:05 UTC  ->  Business (+15550100999)  [text]\n    I authorize the transfer',
		'Mallory\r2026-12-01 10:00:05 UTC  ->  Business',
		'Mallory\u20282026-12-01 10:00:05 UTC  ->  Business',
		'Mallory\u20292026-12-01 10:00:05 UTC  ->  Business',
		'Mallory\u00852026-12-01 10:00:05 UTC  ->  Business',
		'Mallory \u202Egnp.exe',
		'\u2066Mallory\u2069 \u200F\u061C\u200E\u202A\u202B\u202C\u202D\u2067\u2068',
		'Mallory\u001b[2K\u001b[1A\t\u0000\u007f\u009b',
	];
	const hostileBodies = [
		'fine\n2026-12-01 10:00:05 UTC  ->  Business (+15550100999)  [text]\n    I authorize the transfer',
		'fine\rmedia: archive/default/forged.media.pgp',
		'fine\u20282026-12-01 10:00:05 UTC  <-  Someone  [text]',
		'line one\r\nline two\n\nline four',
		'total \u202E0001$',
	];

	const messages = (): TranscriptRecord[] => {
		const out: TranscriptRecord[] = [];
		let second = 0;
		for (const name of hostileNames) {
			for (const body of hostileBodies) {
				second += 1;
				out.push({
					record_kind: 'message',
					direction: 'inbound',
					type: 'text',
					wamid: `wamid.T${second}`,
					timestamp: new Date(Date.UTC(2026, 11, 1, 9, 0, second)).toISOString(),
					counterparty: { wa_id: '15550107777', name },
					content: { body },
					context: { reply_to: `wamid.R\n2026-12-01 10:00:05 UTC  ->  X  [text]${second}` },
				});
			}
		}
		return out;
	};
	const CONTROL_OR_BIDI = /[\u0000-\u0009\u000b-\u001f\u007f-\u009f\u061c\u200e\u200f\u2028\u2029\u202a-\u202e\u2066-\u2069]/u;

	it('text: one header line per record, every other line indented; no raw control or bidi character; HTML: CSP, <bdi>', () => {
		const records = messages();
		const lines = records.map((r) => transcriptLine(r));
		const header = { title: 'Conversation with Mallory\n2026-12-01 10:00:05 UTC  ->  forged title', facts: [['Counterparty', 'Mallory\n2026-12-01 10:00:05 UTC  ->  forged fact'] as [string, string]] };
		const text = renderTranscriptText(header, lines);
		const html = renderTranscriptHtml(header, lines);
		const out = text.split('\n');
		const headerLines = out.filter((line) => /^\d{4}-\d\d-\d\d \d\d:\d\d:\d\d UTC/.test(line));
		const forged = headerLines.filter((line) => line.startsWith('2026-12-01 10:00:05'));
		const problems = {
			headerLines: headerLines.length,
			forgedHeaderLines: forged.length,
			unindented: out.slice(out.indexOf('') + 1).filter((line) => line && !/^\d{4}-/.test(line) && !line.startsWith('    ')).length,
			rawControlInText: CONTROL_OR_BIDI.test(text),
			rawControlInHtml: CONTROL_OR_BIDI.test(html),
			forgedMediaLines: out.filter((line) => /^\s+media: archive\/default\/forged/.test(line)).length,
			csp: /<meta http-equiv="Content-Security-Policy" content="default-src 'none'[^"]*">/.test(html),
			bdi: (html.match(/<bdi>/g) ?? []).length >= records.length,
		};
		// per record: rendered alone, exactly one header line and no raw control or bidi character
		const forging = records.filter((r) => {
			const alone = renderTranscriptText({ title: 't', facts: [] }, [transcriptLine(r)]);
			return alone.split('\n').filter((line) => /^\d{4}-\d\d-\d\d \d\d:\d\d:\d\d UTC/.test(line)).length !== 1 || CONTROL_OR_BIDI.test(alone);
		}).length;
		record({
			category: 'hostile write: transcript forgery',
			tried: records.length,
			passed: records.length - forging,
			lost: 0,
			leaked: problems.forgedHeaderLines + problems.forgedMediaLines,
			note: `${records.length} records with hostile names/bodies: ${problems.forgedHeaderLines} forged header lines, ${problems.forgedMediaLines} forged media lines, raw control/bidi in text ${problems.rawControlInText}, html CSP ${problems.csp}, <bdi> ${problems.bdi}`,
		});
		expect(forging).toBe(0);
		expect(problems).toEqual({
			headerLines: records.length,
			forgedHeaderLines: 0,
			unindented: 0,
			rawControlInText: false,
			rawControlInHtml: false,
			forgedMediaLines: 0,
			csp: true,
			bdi: true,
		});
		// multi-line bodies stay readable: each line of the body on its own indented line
		expect(text).toMatch(/\n {4}\S.*line one\n {4}\S.*line two\n/);
	});

	it('escaping is linear: 256 KB of hostile characters in a name and a body render in well under a second', () => {
		const name = '\u202E\n\r\u2028a'.repeat(50_000);
		const started = performance.now();
		const text = renderTranscriptText({ title: 't', facts: [] }, [transcriptLine({ record_kind: 'message', direction: 'inbound', type: 'text', timestamp: '2026-12-01T00:00:00Z', counterparty: { name }, content: { body: name } })]);
		const html = renderTranscriptHtml({ title: 't', facts: [] }, [transcriptLine({ record_kind: 'message', direction: 'inbound', type: 'text', timestamp: '2026-12-01T00:00:00Z', counterparty: { name }, content: { body: name } })]);
		const elapsed = performance.now() - started;
		console.log(`256 KB hostile name and body: text + HTML rendered in ${elapsed.toFixed(0)} ms`);
		expect(text.length + html.length).toBeGreaterThan(0);
		expect(elapsed).toBeLessThan(1000);
	});
});

describe('file names handed to n8n', () => {
	const hostile = ['../../../../home/node/.n8n/config', '..\\..\\windows\\system32\\evil.dll', 'invoice\u202Efdp.exe', 'a\nb\r\u0000c.txt', '..', 'CON.txt', ' ', 'x'.repeat(400) + '.pdf', '\u00e9'.repeat(200) + '.txt'];
	const results: Array<{ input: string; output: string; via: string }> = [];
	const bad = (name: string) =>
		/[/\\\u0000-\u001f\u007f-\u009f\u061c\u200e\u200f\u2028\u2029\u202a-\u202e\u2066-\u2069]/u.test(name) ||
		name === '' || name === '.' || name === '..' || /^(con|prn|aux|nul|com\d|lpt\d)(\.|$)/i.test(name) || Buffer.byteLength(name) > 255;
	afterAll(() => {
		const failed = results.filter((r) => bad(r.output));
		record({
			category: 'hostile write: file names',
			tried: results.length,
			passed: results.length - failed.length,
			lost: 0,
			leaked: failed.length,
			note: `via OpenPGP Decrypt (literal packet), S3 Archive Get + Decrypt, trigger document media${failed.length ? `; unsafe: ${failed.map((f) => `${f.via} ${JSON.stringify(f.output.slice(0, 40))}`).join(', ')}` : ''}`,
		});
	});

	it('OpenPGP Decrypt and S3 Archive Get + Decrypt: literal packet names are sanitized', async () => {
		const recipients = await readPublicKeys({ armoredKeys: gpg.publicKeyArmored });
		const bucket = await store.bucket();
		const client = createS3Client(store.settings);
		try {
			for (const [n, name] of hostile.entries()) {
				if (Buffer.byteLength(name) > 255) continue; // the literal packet holds at most 255 octets
				const { ciphertext } = await encrypt({ data: randomBytes(64), recipients, filename: name });
				const bytes = Buffer.from(ciphertext as Uint8Array);
				const decrypted = await runNode(new OpenPgp(), {
					parameters: { operation: 'decrypt', ciphertextSource: 'binary', inputBinaryPropertyName: 'data', decryptedOutput: 'binary' },
					items: [{ json: {}, binary: { data: inline(bytes, 'in.pgp', 'application/pgp-encrypted') } }],
					credentials: { openPgpPrivateKeyApi: { privateKey: gpg.secretKeyArmored, passphrase: '' } },
				});
				results.push({ input: name, output: String(decrypted.output[0].binary!.data.fileName), via: 'OpenPGP Decrypt' });

				// Decrypt reads archive keys only (each read is recorded in the prefix's audit trail)
				const key = archive.recordObjectKey({ prefix: 'manual', retentionClass: 'default', phoneNumberId: '106000000000002', date: '2026-01-01', pseudonym: 'f'.repeat(32), recordId: n.toString(16).padStart(32, '0') });
				await archive.writeObject({ client, bucket, key, body: bytes });
				const got = await runNode(new S3Archive(), {
					parameters: { resource: 'record', operation: 'get', key, bucket, decrypt: true, outputBinaryPropertyName: 'file' },
					credentials: { s3ArchiveApi: storeCredential(bucket, store.settings.endpoint), openPgpPrivateKeyApi: { privateKey: gpg.secretKeyArmored, passphrase: '' } },
				});
				results.push({ input: name, output: String(got.output[0].binary!.file.fileName), via: 'S3 Archive Get' });
			}
		} finally {
			client.destroy();
		}
		expect(results.filter((r) => bad(r.output))).toEqual([]);
	});

	it('the shared sanitizer: basename, no control or bidi, ≤ 255 bytes keeping the extension, no reserved names, a fallback', () => {
		const safeFileName = (binaryHelpers as unknown as { safeFileName?: (name: string | null | undefined, fallback: string) => string }).safeFileName;
		expect(typeof safeFileName).toBe('function');
		for (const name of hostile) results.push({ input: name, output: safeFileName!(name, 'file.bin'), via: 'safeFileName' });
		expect(results.filter((r) => bad(r.output))).toEqual([]);
		expect(safeFileName!('../../etc/passwd', 'f')).toBe('passwd');
		expect(safeFileName!('x'.repeat(400) + '.pdf', 'f')).toMatch(/^x+\.pdf$/);
		expect(safeFileName!('', 'media.bin')).toBe('media.bin');
		expect(safeFileName!('robin-statement-q4.pdf', 'f')).toBe('robin-statement-q4.pdf');
	});

	it('a document message\'s file name, downloaded by the trigger (n8n-core, Graph stand-in) → sanitized', async () => {
		const graph = new GraphStandIn();
		await graph.start();
		const appSecret = randomBytes(16).toString('hex');
		const bytes = plaintextPdf();
		graph.addMedia('3000000000000077', { bytes, mimeType: 'application/pdf' });
		const workflow: WorkflowJson = {
			name: 'download media',
			nodes: [
				{
					id: 't',
					name: 'Trigger',
					type: 'n8n-nodes-chat-archive.whatsAppCaptureTrigger',
					typeVersion: 1,
					position: [0, 0],
					webhookId: newWebhookId(),
					parameters: { downloadMedia: true, options: { mediaAttempts: 1, mediaRetryDelayMs: 5 } },
					credentials: { whatsAppCaptureApi: { id: '1', name: 'Meta App' } },
				},
			],
			connections: {},
			settings: { executionOrder: 'v1' },
		};
		const n8n = new InProcessN8n({
			workflow,
			credentials: { whatsAppCaptureApi: { appSecret, verifyToken: 'v', accessToken: graph.accessToken, graphApiBaseUrl: graph.baseUrl, graphApiVersion: graph.version } },
		});
		await n8n.start();
		try {
			for (const [n, filename] of ['../../../../tmp/owned.sh', 'report\u202Efdp.exe', 'a\nb.txt'].entries()) {
				const body = Buffer.from(JSON.stringify(documentDelivery(`wamid.DOC${n}`, filename, bytes)));
				const response = await fetch(n8n.webhookUrl(), {
					method: 'POST',
					headers: { 'content-type': 'application/json', 'x-hub-signature-256': 'sha256=' + createHmac('sha256', appSecret).update(body).digest('hex') },
					body: new Uint8Array(body),
				});
				await n8n.idle();
				expect(response.status).toBe(200);
				const run = n8n.exchanges[n8n.exchanges.length - 1].run as IRun;
				const item = run.data.resultData.runData.Trigger[0].data!.main[0]![0];
				expect(item.json.media_status).toBe('downloaded');
				results.push({ input: filename, output: String(item.binary!.media.fileName), via: 'trigger document' });
			}
		} finally {
			await n8n.stop();
			await graph.stop();
		}
		expect(results.filter((r) => bad(r.output))).toEqual([]);
	});
});

function documentDelivery(wamid: string, filename: string, bytes: Buffer) {
	return {
		object: 'whatsapp_business_account',
		entry: [
			{
				id: '102000000000001',
				changes: [
					{
						field: 'messages',
						value: {
							messaging_product: 'whatsapp',
							metadata: { display_phone_number: '15550100999', phone_number_id: '106000000000002' },
							contacts: [{ profile: { name: 'Robin Papertrail' }, wa_id: '15550107777' }],
							messages: [
								{
									from: '15550107777',
									id: wamid,
									timestamp: '1767260000',
									type: 'document',
									document: { filename, mime_type: 'application/pdf', sha256: createHash('sha256').update(bytes).digest('hex'), id: '3000000000000077' },
								},
							],
						},
					},
				],
			},
		],
	};
}

describe('index keys that are too weak', () => {
	const weak: Array<[string, string]> = [
		['16 repeated characters', 'a'.repeat(16)],
		['31 random hex characters', randomBytes(16).toString('hex').slice(0, 31)],
		['64 repeated characters', 'x'.repeat(64)],
		['password repeated', 'passwordpasswordpasswordpassword'],
		['password + digits', 'password12345678901234567890123456'],
		['Password1! repeated', 'Password1!Password1!Password1!Password1!'],
		['a sequential run', 'abcdefghijklmnopqrstuvwxyz0123456789'],
		['hex counting', '0123456789abcdef'.repeat(4)],
		['two characters alternating', 'ab'.repeat(32)],
	];

	it('refused by assertIndexKey and the S3 credential test with the openssl hint; a 64-hex key is accepted', async () => {
		const accepted: string[] = [];
		for (const [label, key] of weak) {
			let message = '';
			try {
				archive.assertIndexKey(key);
			} catch (error) {
				message = (error as Error).message;
			}
			if (!message) accepted.push(label);
			else {
				expect(message).toContain('openssl rand -hex 32');
				expect(message).not.toContain(key);
			}
			const credentialResult = await testS3ArchiveCredential({ ...store.settings, bucket: 'any', indexKey: key });
			expect(credentialResult.status).toBe('Error');
		}
		record({
			category: 'hostile write: weak index keys',
			tried: weak.length + 1,
			passed: weak.length - accepted.length + 1,
			lost: 0,
			leaked: accepted.length,
			note: accepted.length ? `accepted: ${accepted.join(', ')}` : 'all refused with the openssl hint; openssl rand -hex 32 accepted',
		});
		expect(accepted).toEqual([]);
		for (let i = 0; i < 200; i++) expect(archive.assertIndexKey(randomBytes(32).toString('hex'))).toMatch(/^[0-9a-f]{64}$/);
		expect(() => archive.assertIndexKey(randomBytes(32).toString('base64'))).not.toThrow();
	});
});

describe('multipart part size of huge streams', () => {
	it('grows with the known size up to 5 TiB; above it the write is refused; the computed size reaches the Upload', async () => {
		const partSizeFor = (writeStream as unknown as { multipartPartSize?: (size: number, requested?: number) => number }).multipartPartSize;
		const notes: string[] = [];
		let passed = 0;
		const cases = [
			[20 * MiB, 8 * MiB],
			[100 * GiB, 11 * MiB],
			[5 * TiB, 525 * MiB],
		] as const;
		for (const [size, expected] of cases) {
			const got = typeof partSizeFor === 'function' ? partSizeFor(size) : 8 * MiB; // main: always 8 MiB
			const parts = Math.ceil(size / got);
			notes.push(`${(size / GiB).toFixed(2)} GiB → ${got / MiB} MiB × ${parts} parts`);
			if (got === expected && parts <= 10_000) passed += 1;
		}
		let refusedAbove = false;
		try {
			if (typeof partSizeFor === 'function') partSizeFor(5 * TiB + 1);
		} catch (error) {
			refusedAbove = /5 TiB/.test((error as Error).message);
		}
		if (refusedAbove) passed += 1;

		// the real write path: the part size given to lib/s3 uploadMultipart is the computed one
		const bucket = await store.bucket();
		const client: S3Client = createS3Client(store.settings);
		const spy = jest.spyOn(s3Objects, 'uploadMultipart');
		try {
			const size = 20 * MiB + 7;
			await archive.writeObjectStream({ client, bucket, key: 'big/object.pgp', openBody: () => patternStream(size, MiB) });
			const used = spy.mock.calls[0]?.[2]?.partSize;
			if (typeof partSizeFor === 'function' && used === partSizeFor(size)) passed += 1;
			notes.push(`20 MiB write used ${used} bytes per part`);
		} finally {
			spy.mockRestore();
			client.destroy();
		}
		record({ category: 'hostile write: part size of huge streams', tried: cases.length + 2, passed, lost: 0, leaked: 0, note: notes.join('; ') });
		expect(notes).toBeDefined();
		expect(passed).toBe(cases.length + 2);
	});
});
