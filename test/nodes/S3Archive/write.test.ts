import { createHash, randomBytes } from 'node:crypto';
import * as openpgp from 'openpgp';
import {
	GetObjectLegalHoldCommand,
	GetObjectRetentionCommand,
	HeadObjectCommand,
	ListMultipartUploadsCommand,
	type S3Client,
} from '@aws-sdk/client-s3';
import { NodeApiError, NodeOperationError, type IBinaryKeyData, type INodeExecutionData } from 'n8n-workflow';

import { counterpartyPseudonym, recordId } from '../../../lib/archive';
import { createS3Client } from '../../../lib/s3';
import { createControlVerifier, createReportSigner, placeHold, releaseHold } from '../../../lib/retention';
import { S3Archive } from '../../../nodes/S3Archive/S3Archive.node';
import { executeContext, type ExecuteContextOptions } from '../../helpers/execute-context';
import { ciphertextPattern, ciphertextPatternStream, ciphertextShaped } from '../../helpers/ciphertext';
import { getObjectBytes, listAllKeys, makeBucket, s3ArchiveCredential, s3Settings } from '../../helpers/s3';

const INDEX_KEY = randomBytes(32).toString('hex');
const WA_ID = '447700900123';
const WAMID = 'wamid.HBgMNDQ3NzAwOTAwMTIzFQIAEhgUM0EwQjJDNEU1RjZBN0I4QzlEMEUA';

function recordItem(overrides: Record<string, unknown> = {}, body = ciphertextShaped(randomBytes(300))): INodeExecutionData {
	return {
		json: {
			record_kind: 'message',
			type: 'text',
			phone_number_id: '106000000000002',
			timestamp: '2026-11-30T10:00:00Z',
			received_at: '2026-11-30T10:00:01Z',
			counterparty: { wa_id: WA_ID, user_id: null, name: 'Jane Roe' },
			idempotency_key: `106000000000002:${WAMID}`,
			wamid: WAMID,
			text: { body: 'PLAINTEXT-MARKER' },
			...overrides,
		},
		binary: { data: { data: body.toString('base64'), mimeType: 'application/pgp-encrypted' } },
	};
}

describe('S3 Archive node, Write', () => {
	let client: S3Client;
	let bucket: string;
	let lockBucket: string;
	const node = new S3Archive();

	const credentials = (b: string) => (s3ArchiveCredential(b, INDEX_KEY));
	const run = async (options: Partial<ExecuteContextOptions> & { items: INodeExecutionData[] }) => {
		const context = executeContext({
			nodeType: node,
			parameters: { resource: 'record', operation: 'write', binaryPropertyName: 'data', prefix: 'archive', retentionClass: 'default', bucket: '', options: {} },
			credentials: { s3ArchiveApi: credentials(bucket) },
			...options,
		});
		return { output: await node.execute.call(context), context };
	};

	beforeAll(async () => {
		client = createS3Client(s3Settings());
		bucket = await makeBucket(client, { versioning: true });
		lockBucket = await makeBucket(client, { objectLock: true });
	});
	afterAll(() => client?.destroy());

	it('describes its parameters with the names and defaults the template relies on', () => {
		const byName = Object.fromEntries(node.description.properties.map((p) => [p.name, p]));
		// one Operation parameter per resource: Record's is the one shown by default
		const operation = node.description.properties.find(
			(p) => p.name === 'operation' && p.displayOptions?.show?.resource?.includes(byName.resource.default as string),
		)!;
		expect(node.description.name).toBe('s3Archive');
		expect(byName.resource.default).toBe('record');
		expect(operation.default).toBe('write');
		expect(byName.binaryPropertyName.default).toBe('data');
		expect(byName.prefix.default).toBe('archive');
		expect(byName.retentionClass.default).toBe('default');
		expect(byName.bucket.default).toBe('');
		const optionNames = (byName.options.options as Array<{ name: string }>).map((o) => o.name).sort();
		expect(optionNames).toEqual(
			['duplicateCheck', 'kmsKeyId', 'legalHold', 'legalHoldFromRegistry', 'mediaBinaryPropertyName', 'objectKey', 'objectLockMode', 'retainFor', 'serverSideEncryption', 'storageClass'].sort(),
		);
		expect(node.description.credentials?.[0]).toEqual({ name: 's3ArchiveApi', required: true, testedBy: 's3ArchiveApiTest' });
	});

	it('writes the ciphertext under the layout key and outputs only the archive result and routing fields', async () => {
		const body = ciphertextShaped(randomBytes(300));
		const item = recordItem({}, body);
		const { output } = await run({ items: [item] });
		expect(output[0]).toHaveLength(1);
		const out = output[0][0];
		expect(out.pairedItem).toEqual({ item: 0 });
		expect(Object.keys(out.json).sort()).toEqual(['archive', 'phone_number_id', 'record_kind', 'timestamp', 'type']);
		const pseudonym = counterpartyPseudonym({ indexKey: INDEX_KEY, counterparty: { wa_id: WA_ID, user_id: null } });
		const id = recordId({ indexKey: INDEX_KEY, idempotencyKey: `106000000000002:${WAMID}` });
		expect(out.json.archive).toEqual({
			status: 'created',
			bucket,
			key: `archive/default/106000000000002/2026/11/30/${pseudonym}/${id}.pgp`,
			versionId: expect.any(String),
			etag: expect.any(String),
			size: body.length,
			sha256: createHash('sha256').update(body).digest('hex'),
		});
		const serialized = JSON.stringify(out);
		for (const secret of ['PLAINTEXT-MARKER', WA_ID, WAMID, 'Jane Roe']) expect(serialized).not.toContain(secret);
		expect(await getObjectBytes(client, bucket, String((out.json.archive as { key: string }).key))).toEqual(body);
		const head = await client.send(new HeadObjectCommand({ Bucket: bucket, Key: (out.json.archive as { key: string }).key }));
		expect(JSON.stringify(head.Metadata)).not.toMatch(new RegExp(`${WA_ID}|wamid|Jane`));

		// the same record again → duplicate, nothing new written
		const keysBefore = await listAllKeys(client, bucket);
		const again = await run({ items: [recordItem({}, ciphertextShaped(randomBytes(300)))] });
		expect((again.output[0][0].json.archive as { status: string }).status).toBe('duplicate');
		expect(await listAllKeys(client, bucket)).toEqual(keysBefore);
	});

	it('a record with a malformed phone_number_id is filed under _unknown, not failed', async () => {
		for (const [n, phoneNumberId] of ['106000000000002 x', '١٠٦٠٠٠', '106/000', '1'.repeat(65)].entries()) {
			const body = ciphertextShaped(randomBytes(100));
			const { output } = await run({ items: [recordItem({ phone_number_id: phoneNumberId, idempotency_key: `${phoneNumberId}:${WAMID}:${n}` }, body)] });
			const archive = output[0][0].json.archive as { status: string; key: string };
			expect(archive.status).toBe('created');
			expect(archive.key).toMatch(/^archive\/default\/_unknown\/2026\/11\/30\/[0-9a-f]{32}\/[0-9a-f]{32}\.pgp$/);
			expect(await getObjectBytes(client, bucket, archive.key)).toEqual(body);
		}
	});

	it('applies Object Lock from Options (COMPLIANCE, Retain For P1D, legal hold)', async () => {
		const { output } = await run({
			items: [recordItem({ idempotency_key: `106000000000002:${WAMID}:lock` })],
			credentials: { s3ArchiveApi: credentials(lockBucket) },
			parameters: {
				resource: 'record', operation: 'write', binaryPropertyName: 'data', prefix: 'archive', retentionClass: 'finra-6y', bucket: '',
				options: { objectLockMode: 'COMPLIANCE', retainFor: 'P1D', legalHold: true },
			},
		});
		const archive = output[0][0].json.archive as { key: string; versionId: string };
		expect(archive.key).toMatch(/^archive\/finra-6y\//);
		const retention = await client.send(new GetObjectRetentionCommand({ Bucket: lockBucket, Key: archive.key, VersionId: archive.versionId }));
		expect(retention.Retention?.Mode).toBe('COMPLIANCE');
		const until = retention.Retention!.RetainUntilDate!.getTime();
		expect(Math.abs(until - (Date.now() + 86400000))).toBeLessThan(120000);
	});

	it('a record written right after Place Hold gets the legal-hold flag; after a signed release it does not (with the archive public key attached)', async () => {
		const held = await makeBucket(client, { objectLock: true });
		const archiveKey = await openpgp.generateKey({ type: 'ecc', curve: 'curve25519Legacy', userIDs: [{ name: 'archive' }], format: 'armored' });
		const signer = await createReportSigner({ armoredKey: archiveKey.privateKey });
		const verifier = createControlVerifier({ verificationKeys: [await openpgp.readKey({ armoredKey: archiveKey.publicKey })] });
		const holder = { client, bucket: held, prefix: 'archive', matterId: 'SEC-W', actor: 'legal@example.org', reason: 'subpoena', signer, verifier };
		await placeHold({ ...holder, scope: { phoneNumberIds: ['106000000000002'], from: '2026-11-01' } });
		const write = async (suffix: string, phoneNumberId = '106000000000002') =>
			await run({
				items: [recordItem({ idempotency_key: `${phoneNumberId}:${WAMID}:${suffix}`, phone_number_id: phoneNumberId })],
				credentials: { s3ArchiveApi: credentials(held), openPgpPublicKeysApi: { publicKeys: archiveKey.publicKey, expectedFingerprints: '' } },
			});
		const flagOf = async (archive: { key: string; versionId: string }) =>
			(await client.send(new GetObjectLegalHoldCommand({ Bucket: held, Key: archive.key, VersionId: archive.versionId })).catch(() => null))?.LegalHold?.Status ?? 'OFF';

		const inScope = (await write('a')).output[0][0].json;
		expect(inScope.legalHoldMatterIds).toEqual(['SEC-W']);
		expect(await flagOf(inScope.archive as { key: string; versionId: string })).toBe('ON');
		const outOfScope = (await write('b', '106000000000003')).output[0][0].json;
		expect(outOfScope.legalHoldMatterIds).toBeUndefined();
		expect(await flagOf(outOfScope.archive as { key: string; versionId: string })).toBe('OFF');

		await releaseHold({ ...holder, applyLegalHoldFlag: true });
		const afterRelease = (await write('c')).output[0][0].json;
		expect(await flagOf(afterRelease.archive as { key: string; versionId: string })).toBe('OFF');
	});

	it('throws NodeApiError with the fix when Object Lock options meet a bucket without Object Lock', async () => {
		const plain = await makeBucket(client);
		const error = await run({
			items: [recordItem()],
			credentials: { s3ArchiveApi: credentials(plain) },
			parameters: { resource: 'record', operation: 'write', binaryPropertyName: 'data', prefix: 'archive', retentionClass: 'default', options: { objectLockMode: 'GOVERNANCE', retainFor: 'P1D' } },
		}).catch((e: unknown) => e);
		expect(error).toBeInstanceOf(NodeApiError);
		expect((error as NodeApiError).message).toMatch(/Object Lock is not enabled/);
		expect((error as NodeApiError).message).not.toContain('PLAINTEXT');
	});

	it('names the field for bad input, and emits error items under Continue On Fail', async () => {
		const bad = recordItem({ idempotency_key: undefined });
		const error = await run({ items: [bad] }).catch((e: unknown) => e);
		expect(error).toBeInstanceOf(NodeOperationError);
		expect((error as NodeOperationError).message).toMatch(/idempotency_key/);

		const badPrefix = await run({
			items: [recordItem()],
			parameters: { resource: 'record', operation: 'write', binaryPropertyName: 'data', prefix: '/abs', retentionClass: 'default', options: {} },
		}).catch((e: unknown) => e);
		expect(badPrefix).toBeInstanceOf(NodeOperationError);
		expect((badPrefix as Error).message).toMatch(/prefix/);

		const badRetain = await run({
			items: [recordItem()],
			parameters: { resource: 'record', operation: 'write', binaryPropertyName: 'data', prefix: 'a', retentionClass: 'default', options: { objectLockMode: 'COMPLIANCE', retainFor: '6 years' } },
		}).catch((e: unknown) => e);
		expect((badRetain as Error).message).toMatch(/Retain For/);

		const good = recordItem({ idempotency_key: `x:${randomBytes(4).toString('hex')}` });
		const { output } = await run({ items: [bad, good], continueOnFail: true });
		expect(output[0]).toHaveLength(2);
		// the failed item keeps its binary (the ciphertext) for an error branch (nodes/shared/runPerItem.ts)
		expect(output[0][0]).toEqual({ json: { error: expect.objectContaining({ message: expect.stringMatching(/idempotency_key/) }) }, binary: bad.binary, pairedItem: { item: 0 } });
		expect((output[0][1].json.archive as { status: string }).status).toBe('created');
		expect(output[0][1].pairedItem).toEqual({ item: 1 });
	});

	it('refuses a binary that is not OpenPGP ciphertext, checking record and media before any write', async () => {
		const empty = await makeBucket(client);
		const parameters = { resource: 'record', operation: 'write', binaryPropertyName: 'data', prefix: 'archive', retentionClass: 'default', bucket: empty, options: {} };
		const ciphertext = () => ({ data: ciphertextShaped(randomBytes(64)).toString('base64'), mimeType: 'application/pgp-encrypted' });
		const plaintext = { data: Buffer.from('%PDF-1.7 PLAINTEXT-MARKER').toString('base64'), mimeType: 'application/pdf' };
		const cases: Array<{ binary: IBinaryKeyData; property: string }> = [
			{ binary: { data: plaintext }, property: 'data' },
			{ binary: { data: ciphertext(), media: plaintext }, property: 'media' },
			{ binary: { media: ciphertext() }, property: 'data' },
		];
		for (const { binary, property } of cases) {
			const error = await run({ items: [{ ...recordItem(), binary }], parameters }).catch((e: unknown) => e);
			expect(error).toBeInstanceOf(NodeOperationError);
			expect(`${(error as NodeOperationError).message} ${(error as NodeOperationError).description}`).toMatch(
				new RegExp(`"${property}".*OpenPGP node \\(Encrypt\\) or turn on Encrypt at Capture before S3 Archive Write`, 's'),
			);
			expect((error as Error).message).not.toContain('PLAINTEXT-MARKER');
		}
		expect(await listAllKeys(client, empty)).toEqual([]);
	});

	it('honours the Object Key override and the bucket override', async () => {
		const other = await makeBucket(client);
		const { output } = await run({
			items: [recordItem()],
			credentials: { s3ArchiveApi: credentials('no-such-bucket-used') },
			parameters: { resource: 'record', operation: 'write', binaryPropertyName: 'data', prefix: 'archive', retentionClass: 'default', bucket: other, options: { objectKey: 'manual/(a)+b=c:d@e.pgp' } },
		});
		expect(output[0][0].json.archive).toMatchObject({ status: 'created', bucket: other, key: 'manual/(a)+b=c:d@e.pgp' });
		expect(await listAllKeys(client, other)).toEqual(['manual/(a)+b=c:d@e.pgp']);
	});

	it("Duplicate Check 'Store Rejects Duplicates' writes once on a store that honours If-None-Match, with no HeadObject first", async () => {
		const plain = await makeBucket(client);
		const parameters = {
			resource: 'record',
			operation: 'write',
			binaryPropertyName: 'data',
			prefix: 'archive',
			retentionClass: 'default',
			bucket: plain,
			options: { duplicateCheck: 'store' },
		};
		const first = await run({ items: [recordItem()], parameters });
		const second = await run({ items: [recordItem()], parameters });
		const [a, b] = [first.output[0][0].json.archive, second.output[0][0].json.archive] as Array<{ status: string; key: string; sha256: string }>;
		expect(a.status).toBe('created');
		expect(b).toEqual({ ...a, status: 'duplicate' });
		expect(await listAllKeys(client, plain)).toEqual([a.key]);
	});

	it('streams a binary with an id as a multipart upload (parts ≥ 5 MiB from 64 KiB chunks), then reports the duplicate', async () => {
		const size = 12 * 1024 * 1024 + 123;
		const item: INodeExecutionData = {
			...recordItem({ idempotency_key: `106000000000002:${WAMID}:big` }),
			binary: { data: { id: 'filesystem-v2:big', data: '', mimeType: 'application/pgp-encrypted' } },
		};
		const binaryStore = { 'filesystem-v2:big': () => ciphertextPatternStream(size, 64 * 1024) };
		const { output, context } = await run({ items: [item], binaryStore });
		const archive = output[0][0].json.archive as { status: string; key: string; etag: string; size: number; sha256: string; versionId: string };
		expect(archive.status).toBe('created');
		expect(archive.size).toBe(ciphertextPattern(size).length);
		expect(archive.sha256).toBe(createHash('sha256').update(ciphertextPattern(size)).digest('hex'));
		expect(archive.etag).toMatch(/-2$/); // two parts of 8 MiB + rest
		expect(archive.versionId).toEqual(expect.any(String));
		// The ciphertext check reads the first 64 KiB; both passes (hash, upload) read 1 MiB chunks, not
		// n8n's default 64 KiB.
		expect(context.stats.getBinaryStreamCalls).toBe(3);
		expect(context.stats.getBinaryStreamChunkSizes).toEqual([64 * 1024, 1024 * 1024, 1024 * 1024]);
		const head = await client.send(new HeadObjectCommand({ Bucket: bucket, Key: archive.key }));
		expect(head.Metadata?.sha256).toBe(archive.sha256);
		expect((await getObjectBytes(client, bucket, archive.key)).equals(ciphertextPattern(size))).toBe(true);

		const again = await run({ items: [item], binaryStore });
		expect((again.output[0][0].json.archive as { status: string }).status).toBe('duplicate');
	});

	it('aborts the multipart upload when the stream fails: no object, no pending upload', async () => {
		const size = 20 * 1024 * 1024;
		let opens = 0;
		const item: INodeExecutionData = {
			...recordItem({ idempotency_key: `106000000000002:${WAMID}:fail` }),
			binary: { data: { id: 'filesystem-v2:fail', data: '', mimeType: 'application/pgp-encrypted' } },
		};
		// the check and the first pass (hashing) succeed, the second pass (upload) fails after 17 MiB (two parts sent)
		const binaryStore = { 'filesystem-v2:fail': () => ciphertextPatternStream(size, 100 * 1024, ++opens === 3 ? 17 * 1024 * 1024 : undefined) };
		const failBucket = await makeBucket(client, { objectLock: true });
		const error = await run({ items: [item], binaryStore, credentials: { s3ArchiveApi: credentials(failBucket) } }).catch((e: unknown) => e);
		expect(error).toBeInstanceOf(Error);
		expect(await listAllKeys(client, failBucket)).toEqual([]);
		const uploads = await client.send(new ListMultipartUploadsCommand({ Bucket: failBucket }));
		expect(uploads.Uploads ?? []).toEqual([]);
	});
});
