/**
 * S3 Archive node, Export Conversation and Get with Decrypt. The archive is filled the real way: the
 * template `workflows/whatsapp-capture-archive.json` runs in in-process n8n-core and every fixture
 * delivery is signed and POSTed to its trigger (capture with Encrypt at Capture → S3 Archive write). The
 * export of one counterparty must equal the records the trigger emitted (its ciphertext, decrypted by
 * `gpg`), in order.
 */
import { createHmac, randomBytes } from 'node:crypto';
import { readdirSync, readFileSync } from 'node:fs';
import path from 'node:path';
import type { S3Client } from '@aws-sdk/client-s3';
import { unzipSync } from 'fflate';
import type { ICredentialDataDecryptedObject, IDataObject, INodeExecutionData } from 'n8n-workflow';

import { DEFAULT_MAX_EXPORT_BYTES, DEFAULT_MAX_RECORD_BYTES, recordObjectKey, writeObject } from '../../../lib/archive';
import { createS3Client } from '../../../lib/s3';
import { encrypt, readPublicKeys } from '../../../lib/pgp';
import { S3Archive } from '../../../nodes/S3Archive/S3Archive.node';
import { bombMessage } from '../../helpers/bombs';
import { executeContext } from '../../helpers/execute-context';
import { gpgDecrypt, makeGpgHome, type GpgHome } from '../../helpers/gpg';
import { InProcessN8n, loadTemplate } from '../../helpers/n8n-runner';
import { getObjectBytes, listAllKeys, makeBucket, s3Settings } from '../../helpers/s3';

const FIXTURES = path.join(__dirname, '..', '..', 'fixtures', 'whatsapp');
const deliveries = readdirSync(FIXTURES)
	.filter((f) => f.endsWith('.json'))
	.filter((f) => JSON.parse(readFileSync(path.join(FIXTURES, f), 'utf8')).object === 'whatsapp_business_account')
	.sort();

const APP_SECRET = randomBytes(16).toString('hex');
const INDEX_KEY = randomBytes(32).toString('hex');
const node = new S3Archive();

const decode = (item: INodeExecutionData, property: string) => Buffer.from(item.binary![property].data, 'base64').toString('utf8');

describe('S3 Archive node, Export Conversation and Get with Decrypt (capture via the template)', () => {
	let gpg: GpgHome;
	let client: S3Client;
	let bucket: string;
	const captured: IDataObject[] = [];

	const s3Credential = () => ({ ...s3Settings(), bucket, indexKey: INDEX_KEY }) as unknown as ICredentialDataDecryptedObject;
	const privateKey = () => ({ privateKey: gpg.secretKeyArmored, passphrase: '' });

	async function run(
		parameters: Record<string, unknown>,
		creds: Record<string, ICredentialDataDecryptedObject>,
		options: { items?: INodeExecutionData[]; continueOnFail?: boolean } = {},
	): Promise<INodeExecutionData[]> {
		const context = executeContext({
			nodeType: node,
			items: options.items ?? [{ json: {} }],
			parameters,
			credentials: { s3ArchiveApi: s3Credential(), ...creds },
			continueOnFail: options.continueOnFail,
		});
		const [output] = await node.execute.call(context);
		const privateKeyReads = context.stats.getCredentialsCalls.openPgpPrivateKeyApi ?? 0;
		if (privateKeyReads > 1) throw new Error(`private key read ${privateKeyReads} times in one execution`);
		return output;
	}

	beforeAll(async () => {
		gpg = await makeGpgHome();
		client = createS3Client(s3Settings());
		bucket = await makeBucket(client, { objectLock: true });
		const settings = s3Settings();
		const n8n = new InProcessN8n({
			workflow: loadTemplate('whatsapp-capture-archive'),
			credentials: {
				whatsAppCaptureApi: {
					appSecret: APP_SECRET,
					verifyToken: 'token',
					accessToken: 'test-token',
					indexKey: INDEX_KEY,
					// no Graph API: media downloads fail fast (media_status failed), the records are archived
					graphApiBaseUrl: 'http://127.0.0.1:9',
					graphApiVersion: 'v24.0',
				},
				openPgpPublicKeysApi: { publicKeys: gpg.publicKeyArmored, expectedFingerprints: '' },
				s3ArchiveApi: { ...settings, bucket, indexKey: INDEX_KEY } as unknown as ICredentialDataDecryptedObject,
			},
		});
		await n8n.start();
		try {
			for (const file of deliveries) {
				const body = readFileSync(path.join(FIXTURES, file));
				const signature = 'sha256=' + createHmac('sha256', APP_SECRET).update(body).digest('hex');
				const response = await fetch(n8n.webhookUrl(), {
					method: 'POST',
					headers: { 'content-type': 'application/json', 'x-hub-signature-256': signature },
					body: new Uint8Array(body),
				});
				await n8n.idle();
				expect(response.status).toBe(200);
				// Archive at Capture: the trigger stored every record itself, so no execution ran
				expect(n8n.exchanges[n8n.exchanges.length - 1].run).toBeUndefined();
			}
			// the records as stored (media and the identity links under archive/_identities/ aside), decrypted by gpg
			for (const key of await listAllKeys(client, bucket)) {
				if (!key.startsWith('archive/') || key.startsWith('archive/_') || /\.media[^/]*\.pgp$/.test(key)) continue;
				captured.push(JSON.parse(gpgDecrypt(gpg.home, await getObjectBytes(client, bucket, key)).toString('utf8')) as IDataObject);
			}
		} finally {
			await n8n.stop();
		}
	});
	afterAll(async () => {
		client?.destroy();
		await gpg?.cleanup();
	});

	it('exports one counterparty: export.jsonl equals the captured records in time order; transcripts as binary', async () => {
		const dana = captured
			.filter((r) => (r.counterparty as IDataObject | null)?.wa_id === '15550100123')
			.sort((a, b) => String(a.timestamp).localeCompare(String(b.timestamp)) || String(a.wamid).localeCompare(String(b.wamid)));
		expect(dana.length).toBeGreaterThanOrEqual(8);

		const output = await run({ resource: 'conversation', operation: 'export', prefix: 'archive', exportPhoneNumber: '+1 (555) 010-0123' }, { openPgpPrivateKeyApi: privateKey() });
		expect(output).toHaveLength(1);
		const [item] = output;
		expect(item.pairedItem).toEqual({ item: 0 });
		expect(Object.keys(item.binary!).sort()).toEqual(['html', 'jsonl', 'text']);
		expect(item.binary!.jsonl).toMatchObject({ fileName: 'export.jsonl', mimeType: 'application/x-ndjson' });
		expect(item.binary!.html).toMatchObject({ fileName: 'transcript.html', mimeType: 'text/html' });
		expect(item.binary!.text).toMatchObject({ fileName: 'transcript.txt', mimeType: 'text/plain' });

		const exported = decode(item, 'jsonl').trimEnd().split('\n').map((line) => JSON.parse(line) as IDataObject);
		expect(exported).toEqual(dana);
		expect(decode(item, 'text')).toContain('Can you confirm the bond order for 50k?');
		expect(decode(item, 'html')).toContain('Confirmed, ticket 4411 booked.');

		// the item's JSON holds object keys and counts only: no plaintext, no phone number
		const json = JSON.stringify(item.json);
		expect(json).not.toContain('15550100123');
		expect(json).not.toContain('bond order');
		expect((item.json.export as IDataObject).counts).toMatchObject({ records: dana.length, statuses: 1 });
	});

	it('Encrypt Files: every file enters n8n\'s binary store encrypted to the reader\'s keys; gpg gives back the same bytes', async () => {
		const parameters = { resource: 'conversation', operation: 'export', prefix: 'archive', exportPhoneNumber: '+15550100123' };
		const [plain] = await run(parameters, { openPgpPrivateKeyApi: privateKey() });
		const reader = await makeGpgHome();
		try {
			const [item] = await run(
				{ ...parameters, encryptFiles: true },
				{ openPgpPrivateKeyApi: privateKey(), openPgpPublicKeysApi: { publicKeys: reader.publicKeyArmored, expectedFingerprints: '' } },
			);
			expect(Object.keys(item.binary!).sort()).toEqual(['html', 'jsonl', 'text']);
			for (const [property, fileName] of [['jsonl', 'export.jsonl'], ['html', 'transcript.html'], ['text', 'transcript.txt']]) {
				expect(item.binary![property]).toMatchObject({ fileName: `${fileName}.pgp`, mimeType: 'application/pgp-encrypted' });
				const stored = Buffer.from(item.binary![property].data, 'base64');
				expect(stored.includes('bond order')).toBe(false);
				// the archive's own key cannot read it: only the reader's
				expect(() => gpgDecrypt(gpg.home, stored)).toThrow();
				// the same file but for its export time (transcripts name it)
				const unstamped = (text: string) => text.replace(/Exported at[^\n]*\n/, '');
				expect(unstamped(gpgDecrypt(reader.home, stored).toString('utf8'))).toEqual(unstamped(decode(plain, property)));
			}
			// without the reader's keys the export stops before any file is made
			await expect(run({ ...parameters, encryptFiles: true }, { openPgpPrivateKeyApi: privateKey() })).rejects.toThrow(/OpenPGP Public Keys|openPgpPublicKeysApi|credential/i);
		} finally {
			await reader.cleanup();
		}
	});

	it('Get with Decrypt: JSON records as json.data, other plaintext as binary; without a key → error item', async () => {
		const [exported] = await run({ resource: 'conversation', operation: 'export', prefix: 'archive', exportPhoneNumber: '15550100456' }, { openPgpPrivateKeyApi: privateKey() });
		const sources = (exported.json.export as { sources: Array<{ key: string }> }).sources;
		expect(sources).toHaveLength(1);
		const recipients = await readPublicKeys({ armoredKeys: gpg.publicKeyArmored });
		const mediaKey = sources[0].key.replace(/\.pgp$/, '.media.pgp');
		const media = randomBytes(300);
		await writeObject({ client, bucket, key: mediaKey, body: (await encrypt({ data: media, recipients, filename: 'media.bin' })).ciphertext as Uint8Array });

		// the export now carries that media file: media.zip beside the transcripts, named in the record's JSONL line
		const [withMedia] = await run({ resource: 'conversation', operation: 'export', prefix: 'archive', exportPhoneNumber: '15550100456' }, { openPgpPrivateKeyApi: privateKey() });
		expect(Object.keys(withMedia.binary!).sort()).toEqual(['html', 'jsonl', 'media', 'text']);
		expect(withMedia.binary!.media).toMatchObject({ fileName: 'media.zip', mimeType: 'application/zip' });
		const [line] = decode(withMedia, 'jsonl').trimEnd().split('\n').map((l) => JSON.parse(l) as IDataObject);
		expect(line.media_file).toMatch(/^media\/failed-\d{8}-\d{6}\.bin$/);
		expect(unzipSync(new Uint8Array(Buffer.from(withMedia.binary!.media.data, 'base64')))).toEqual({ [line.media_file as string]: new Uint8Array(media) });
		expect(decode(withMedia, 'text')).toContain(`media: ${line.media_file as string}`);
		expect(((withMedia.json.export as IDataObject).counts as IDataObject).media).toBe(1);
		expect(JSON.stringify(withMedia.json)).not.toContain(line.media_file as string);

		const items = [{ json: {} }, { json: {} }];
		const perItem = { key: [sources[0].key, mediaKey] };
		const context = (key: string) => ({ resource: 'record', operation: 'get', key, decrypt: true, outputBinaryPropertyName: 'file' });
		const [record] = await run(context(perItem.key[0]), { openPgpPrivateKeyApi: privateKey() });
		expect(record.json.data).toEqual(captured.find((r) => (r.counterparty as IDataObject | null)?.wa_id === '15550100456'));
		expect((record.json.archive as IDataObject).decrypted).toBe(true);
		expect(record.binary).toBeUndefined();

		const [file] = await run(context(perItem.key[1]), { openPgpPrivateKeyApi: privateKey() }, { items });
		expect(Buffer.from(file.binary!.file.data, 'base64')).toEqual(media);
		expect(file.binary!.file.fileName).toBe('media.bin');

		// several items, one key unlock (run() fails when the credential is read twice)
		const twice = await run(context(perItem.key[0]), { openPgpPrivateKeyApi: privateKey() }, { items });
		expect(twice.map((i) => i.pairedItem)).toEqual([{ item: 0 }, { item: 1 }]);

		// without Decrypt the ciphertext comes back as before
		const [raw] = await run({ resource: 'record', operation: 'get', key: perItem.key[0] }, {});
		expect(raw.binary!.data.mimeType).toBe('application/pgp-encrypted');

		const failed = await run(context(perItem.key[0]), {}, { continueOnFail: true });
		expect((failed[0].json.error as IDataObject).message).toMatch(/Decrypt needs an OpenPGP Private Key credential/);
		await expect(run({ resource: 'conversation', operation: 'export', prefix: 'archive', exportPhoneNumber: '15550100456' }, {})).rejects.toThrow(
			/Export needs an OpenPGP Private Key credential/,
		);
		await expect(run({ resource: 'conversation', operation: 'export', prefix: 'archive' }, { openPgpPrivateKeyApi: privateKey() })).rejects.toThrow(
			/Give the Person/,
		);
	});

	it('Get with Decrypt and Export stop at their limits with an error naming the option; a bomb is refused by default', async () => {
		const recipients = await readPublicKeys({ armoredKeys: gpg.publicKeyArmored });
		// Decrypt reads archive keys only (each read is recorded in the prefix's audit trail)
		const limitsKey = (id: string) => recordObjectKey({ prefix: 'limits', retentionClass: 'default', phoneNumberId: '106000000000002', date: '2026-01-01', pseudonym: 'a'.repeat(32), recordId: id.repeat(32) });
		const mediaKey = limitsKey('1');
		await writeObject({ client, bucket, key: mediaKey, body: (await encrypt({ data: randomBytes(2 * 1024 * 1024), recipients })).ciphertext as Uint8Array });
		const get = (key: string, extra: Record<string, unknown> = {}) => ({ resource: 'record', operation: 'get', key, decrypt: true, ...extra });
		const [limited] = await run(get(mediaKey, { maxDecryptedMegabytes: 1 }), { openPgpPrivateKeyApi: privateKey() }, { continueOnFail: true });
		expect(limited.json.error).toMatchObject({
			code: 'OUTPUT_LIMIT',
			message: 'Decryption stopped: the plaintext exceeds the limit of 1 MiB.',
			description: "If the message is trusted and really this large, raise the node's Max Decrypted Size (MB) option",
		});
		const [allowed] = await run(get(mediaKey, { maxDecryptedMegabytes: 3 }), { openPgpPrivateKeyApi: privateKey() });
		expect(Buffer.from(allowed.binary!.data.data, 'base64').length).toBe(2 * 1024 * 1024);

		const bombKey = limitsKey('2');
		await writeObject({ client, bucket, key: bombKey, body: await bombMessage({ inflatedSize: 64 * 1024 * 1024, recipient: recipients[0] }) });
		const [bomb] = await run(get(bombKey), { openPgpPrivateKeyApi: privateKey() }, { continueOnFail: true });
		expect(bomb.json.error).toMatchObject({ code: 'OUTPUT_LIMIT', description: expect.stringContaining('Max Compression Ratio') });

		const exportOf = (exportOptions: Record<string, unknown>) => ({ resource: 'conversation', operation: 'export', prefix: 'archive', exportPhoneNumber: '15550100123', exportOptions });
		const [perRecord] = await run(exportOf({ maxRecordMegabytes: 0.0001 }), { openPgpPrivateKeyApi: privateKey() }, { continueOnFail: true });
		expect(perRecord.json.error).toMatchObject({
			message: expect.stringMatching(/^Record s3:\/\/.+: Decryption stopped: the plaintext exceeds the limit of 104 bytes\.$/),
			description: expect.stringContaining('Max Decrypted Size (MB) (per record) or Max Export Size (MB)'),
		});
		const exportOptions = node.description.properties.find((p) => p.name === 'exportOptions')!.options as Array<{ name: string; default: unknown }>;
		expect(exportOptions.find((o) => o.name === 'maxExportMegabytes')!.default).toBe(DEFAULT_MAX_EXPORT_BYTES / 1024 / 1024);
		expect(exportOptions.find((o) => o.name === 'maxRecordMegabytes')!.default).toBe(DEFAULT_MAX_RECORD_BYTES / 1024 / 1024);
		// RSMF holds the records in memory and stops at Max Export Size; JSONL streams them past it
		const [total] = await run({ ...exportOf({ maxExportMegabytes: 0.001, maxRecords: 1 }), exportFormat: 'rsmf' }, { openPgpPrivateKeyApi: privateKey() }, { continueOnFail: true });
		expect(total.json.error).toMatchObject({ message: expect.stringMatching(/^More than 1 records match/) });
		const [rsmfTotal] = await run({ ...exportOf({ maxExportMegabytes: 0.001 }), exportFormat: 'rsmf' }, { openPgpPrivateKeyApi: privateKey() }, { continueOnFail: true });
		expect(rsmfTotal.json.error).toMatchObject({ message: expect.stringMatching(/^The records of this export hold more than/) });
		const [streamed] = await run(exportOf({ maxExportMegabytes: 0.001, maxRecords: 1 }), { openPgpPrivateKeyApi: privateKey() });
		expect(streamed.json.error).toBeUndefined();
		expect(decode(streamed, 'jsonl').length).toBeGreaterThan(0.001 * 1024 * 1024);
		expect((streamed.json.export as IDataObject).counts).toMatchObject({ records: expect.any(Number) });
		expect(((streamed.json.export as IDataObject).counts as IDataObject).records).toBeGreaterThan(1);
	});
});
