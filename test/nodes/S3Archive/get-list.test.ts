import { randomBytes } from 'node:crypto';
import { PutObjectCommand, type S3Client } from '@aws-sdk/client-s3';
import { NodeApiError, type INodeExecutionData } from 'n8n-workflow';

import { createS3Client } from '../../../lib/s3';
import { S3Archive } from '../../../nodes/S3Archive/S3Archive.node';
import { ciphertextShaped } from '../../helpers/ciphertext';
import { executeContext } from '../../helpers/execute-context';
import { makeBucket, s3Settings } from '../../helpers/s3';

const INDEX_KEY = randomBytes(32).toString('hex');

describe('S3 Archive node: Get and List', () => {
	let client: S3Client;
	let bucket: string;
	const node = new S3Archive();
	const credentials = () => ({ ...s3Settings(), bucket, indexKey: INDEX_KEY });
	const run = async (parameters: Record<string, unknown>, items: INodeExecutionData[] = [{ json: {} }]) =>
		await node.execute.call(executeContext({ nodeType: node, items, parameters, credentials: { s3ArchiveApi: credentials() } }));
	const written: Array<{ key: string; versionId: string; body: Buffer }> = [];

	beforeAll(async () => {
		client = createS3Client(s3Settings());
		bucket = await makeBucket(client, { objectLock: true });
		const records = [
			{ wa: '5511999990001', day: '2026-05-01' },
			{ wa: '5511999990002', day: '2026-05-02' },
			{ wa: '5511999990001', day: '2026-05-03' },
		];
		for (const [n, r] of records.entries()) {
			const body = ciphertextShaped(randomBytes(50 + n));
			const [[out]] = await run(
				{ resource: 'record', operation: 'write', binaryPropertyName: 'data', prefix: 'archive', retentionClass: 'default', options: {} },
				[
					{
						json: {
							record_kind: 'message',
							phone_number_id: '106',
							timestamp: `${r.day}T08:00:00Z`,
							received_at: `${r.day}T08:00:00Z`,
							counterparty: { wa_id: r.wa, user_id: null, name: null },
							idempotency_key: `106:wamid.${n}`,
						},
						binary: { data: { data: body.toString('base64'), mimeType: 'application/pgp-encrypted' } },
					},
				],
			);
			const archive = out.json.archive as { key: string; versionId: string };
			written.push({ key: archive.key, versionId: archive.versionId, body });
		}
	});
	afterAll(() => client?.destroy());

	it('List finds a counterparty by phone number, within dates, with a limit', async () => {
		const [all] = await run({ resource: 'record', operation: 'list', prefix: 'archive', returnAll: true, filters: {} });
		expect(all.map((i) => i.json.key).sort()).toEqual(written.map((w) => w.key).sort());
		expect(all[0].pairedItem).toEqual({ item: 0 });
		expect(JSON.stringify(all)).not.toContain('5511999990001');

		const [person] = await run({
			resource: 'record',
			operation: 'list',
			prefix: 'archive',
			returnAll: true,
			filters: { counterpartyPhoneNumber: '+55 11 99999-0001', phoneNumberId: '106', retentionClass: 'default' },
		});
		expect(person.map((i) => i.json.key)).toEqual([written[0].key, written[2].key]);

		const [dated] = await run({
			resource: 'record',
			operation: 'list',
			prefix: 'archive',
			returnAll: true,
			filters: { from: '2026-05-02T00:00:00', to: '2026-05-03T00:00:00' },
		});
		expect(dated.map((i) => i.json.date)).toEqual(['2026-05-02', '2026-05-03']);

		const [limited] = await run({ resource: 'record', operation: 'list', prefix: 'archive', returnAll: false, limit: 2, filters: {} });
		expect(limited).toHaveLength(2);
	});

	it('Get returns the version as binary with its lock state, and refuses tampered bytes', async () => {
		const [[item]] = await run({ resource: 'record', operation: 'get', key: written[1].key, versionId: written[1].versionId, outputBinaryPropertyName: 'file', verifySha256: true });
		expect(Buffer.from(item.binary!.file.data, 'base64')).toEqual(written[1].body);
		expect(item.json.archive).toMatchObject({ key: written[1].key, versionId: written[1].versionId, size: written[1].body.length, objectLock: { legalHold: false } });

		const head = item.json.archive as { sha256: string };
		await client.send(new PutObjectCommand({ Bucket: bucket, Key: written[1].key, Body: 'forged', Metadata: { sha256: head.sha256 } }));
		await expect(run({ resource: 'record', operation: 'get', key: written[1].key, versionId: '', outputBinaryPropertyName: 'data', verifySha256: true })).rejects.toThrow(/SHA-256/);
		const [[unchecked]] = await run({ resource: 'record', operation: 'get', key: written[1].key, versionId: '', outputBinaryPropertyName: 'data', verifySha256: false });
		expect(Buffer.from(unchecked.binary!.data.data, 'base64').toString()).toBe('forged');

		const missing = await run({ resource: 'record', operation: 'get', key: 'archive/nope.pgp', versionId: '', outputBinaryPropertyName: 'data' }).catch((e: unknown) => e);
		expect(missing).toBeInstanceOf(NodeApiError);
		expect((missing as Error).message).toMatch(/NoSuchKey/);
	});
});
