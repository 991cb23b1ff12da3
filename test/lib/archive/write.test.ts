import { createHash, randomBytes } from 'node:crypto';
import {
	DeleteObjectCommand,
	GetObjectRetentionCommand,
	HeadObjectCommand,
	ListObjectVersionsCommand,
	PutBucketPolicyCommand,
	PutObjectCommand,
	type S3Client,
} from '@aws-sdk/client-s3';

import { ArchiveError, createS3Client, writeObject } from '../../../lib/archive';
import { getObjectBytes, listAllKeys, makeBucket, s3Settings } from '../../helpers/s3';

const md5 = (body: Uint8Array) => createHash('md5').update(body).digest('base64');
const sha256 = (body: Uint8Array) => createHash('sha256').update(body).digest('hex');
const inOneYear = () => new Date(Date.now() + 365 * 24 * 3600 * 1000);

describe('writeObject against the local store', () => {
	let client: S3Client;
	let plainBucket: string;
	let lockBucket: string;

	beforeAll(async () => {
		client = createS3Client(s3Settings());
		plainBucket = await makeBucket(client);
		lockBucket = await makeBucket(client, { objectLock: true });
	});

	afterAll(() => client?.destroy());

	it('creates the object once, then reports the existing one as duplicate', async () => {
		const key = `archive/default/x/${randomBytes(8).toString('hex')}.pgp`;
		const body = randomBytes(1000);
		const first = await writeObject({ client, bucket: lockBucket, key, body });
		expect(first).toEqual({
			status: 'created',
			bucket: lockBucket,
			key,
			versionId: expect.any(String),
			etag: createHash('md5').update(body).digest('hex'),
			size: 1000,
			sha256: sha256(body),
		});
		const head = await client.send(new HeadObjectCommand({ Bucket: lockBucket, Key: key }));
		expect(head.Metadata?.sha256).toBe(sha256(body));
		expect(head.ContentType).toBe('application/pgp-encrypted');

		const other = randomBytes(500);
		const second = await writeObject({ client, bucket: lockBucket, key, body: other });
		expect(second).toEqual({ ...first, status: 'duplicate' });
		expect(await getObjectBytes(client, lockBucket, key)).toEqual(body);
		const versions = await client.send(new ListObjectVersionsCommand({ Bucket: lockBucket, Prefix: key }));
		expect(versions.Versions).toHaveLength(1);
	});

	it('maps 412 PreconditionFailed (If-None-Match: *) to duplicate when the pre-check is skipped', async () => {
		const key = `inm/${randomBytes(8).toString('hex')}.pgp`;
		const body = randomBytes(10);
		const first = await writeObject({ client, bucket: plainBucket, key, body, precheck: false });
		const second = await writeObject({ client, bucket: plainBucket, key, body: randomBytes(3), precheck: false });
		expect(second).toEqual({ ...first, status: 'duplicate' });
		expect(await getObjectBytes(client, plainBucket, key)).toEqual(body);
	});

	it('sends Content-MD5 on every PUT, and the store checks it (a wrong MD5 fails)', async () => {
		const seen: Array<Record<string, string>> = [];
		const spy = createS3Client(s3Settings());
		spy.middlewareStack.add(
			(next) => async (args) => {
				seen.push({ ...(args.request as { headers: Record<string, string> }).headers });
				return await next(args);
			},
			{ step: 'finalizeRequest', name: 'spyHeaders' },
		);
		const body = randomBytes(64);
		await writeObject({ client: spy, bucket: plainBucket, key: 'md5/ok.pgp', body });
		const put = seen.find((h) => h['content-md5']);
		expect(put?.['content-md5']).toBe(md5(body));
		expect(put?.['if-none-match']).toBe('*');
		spy.destroy();

		// the store rejects a body whose MD5 does not match the header
		await expect(
			client.send(new PutObjectCommand({ Bucket: plainBucket, Key: 'md5/bad.pgp', Body: body, ContentMD5: md5(Buffer.from('other')) })),
		).rejects.toMatchObject({ name: 'BadDigest' });
	});

	it('writes COMPLIANCE-locked objects that cannot be deleted (403)', async () => {
		const retainUntil = inOneYear();
		const result = await writeObject({
			client,
			bucket: lockBucket,
			key: 'locked/a.pgp',
			body: randomBytes(32),
			objectLock: { mode: 'COMPLIANCE', retainUntil },
		});
		expect(result.status).toBe('created');
		const retention = await client.send(
			new GetObjectRetentionCommand({ Bucket: lockBucket, Key: 'locked/a.pgp', VersionId: result.versionId! }),
		);
		expect(retention.Retention?.Mode).toBe('COMPLIANCE');
		await expect(
			client.send(new DeleteObjectCommand({ Bucket: lockBucket, Key: 'locked/a.pgp', VersionId: result.versionId! })),
		).rejects.toMatchObject({ $metadata: { httpStatusCode: 403 } });
	});

	it('explains how to fix lock parameters sent to a bucket without Object Lock', async () => {
		const error = await writeObject({
			client,
			bucket: plainBucket,
			key: 'locked/b.pgp',
			body: Buffer.from('SECRET-BODY-MARKER'),
			objectLock: { mode: 'GOVERNANCE', retainUntil: inOneYear() },
		}).catch((e: unknown) => e);
		expect(error).toBeInstanceOf(ArchiveError);
		expect((error as ArchiveError).code).toBe('InvalidRequest');
		expect((error as ArchiveError).httpStatusCode).toBe(400);
		expect((error as ArchiveError).message).toMatch(/Object Lock is not enabled/);
		expect((error as ArchiveError).message).toMatch(/Fix:/);
		expect((error as ArchiveError).message).not.toContain('SECRET-BODY-MARKER');
		expect(await listAllKeys(client, plainBucket, 'locked/')).toEqual([]);
	});

	it('keeps the store code for a missing bucket and never includes the body', async () => {
		const error = (await writeObject({
			client,
			bucket: `missing-${randomBytes(4).toString('hex')}`,
			key: 'a.pgp',
			body: Buffer.from('SECRET-BODY-MARKER'),
		}).catch((e: unknown) => e)) as ArchiveError;
		expect(error.code).toBe('NoSuchBucket');
		expect(error.httpStatusCode).toBe(404);
		expect(error.message).toMatch(/NoSuchBucket/);
		expect(JSON.stringify({ m: error.message, s: error.storeMessage, h: error.hint })).not.toContain('SECRET');
	});

	it('round-trips keys with + = : @ ( ), spaces and non-ASCII through PUT, GET and List', async () => {
		const prefix = 'team a/+=:@()/Zürich 档案';
		const key = `${prefix}/default/106/2026/01/02/_unknown/${'d'.repeat(32)}.pgp`;
		const body = randomBytes(100);
		expect((await writeObject({ client, bucket: plainBucket, key, body })).status).toBe('created');
		expect(await getObjectBytes(client, plainBucket, key)).toEqual(body);
		expect(await listAllKeys(client, plainBucket, `${prefix}/`)).toEqual([key]);
		expect((await writeObject({ client, bucket: plainBucket, key, body })).status).toBe('duplicate');
	});

	it('rejects bad input before calling the store', async () => {
		const base = { client, bucket: plainBucket, key: 'k.pgp', body: Buffer.from('x') };
		await expect(writeObject({ ...base, bucket: '' })).rejects.toThrow(/bucket/);
		await expect(writeObject({ ...base, metadata: { sha256: 'x' } })).rejects.toThrow(/reserved/);
		await expect(writeObject({ ...base, metadata: { note: 'Zürich' } })).rejects.toThrow(/US-ASCII/);
		await expect(
			writeObject({ ...base, objectLock: { mode: 'COMPLIANCE', retainUntil: new Date(Date.now() - 1000) } }),
		).rejects.toThrow(/future/);
		expect(await listAllKeys(client, plainBucket, 'k.pgp')).toEqual([]);
	});
});

describe('writeObject with keys that may not read (bucket policy denies s3:GetObject)', () => {
	it('skips the HeadObject pre-check and still reports the duplicate through If-None-Match', async () => {
		const client = createS3Client(s3Settings());
		try {
			const bucket = await makeBucket(client);
			await client.send(
				new PutBucketPolicyCommand({
					Bucket: bucket,
					Policy: JSON.stringify({
						Version: '2012-10-17',
						Statement: [{ Effect: 'Deny', Principal: '*', Action: 's3:GetObject', Resource: `arn:aws:s3:::${bucket}/*` }],
					}),
				}),
			);
			const body = randomBytes(20);
			const first = await writeObject({ client, bucket, key: 'wo/a.pgp', body });
			expect(first.status).toBe('created');
			await expect(client.send(new HeadObjectCommand({ Bucket: bucket, Key: 'wo/a.pgp' }))).rejects.toMatchObject({
				$metadata: { httpStatusCode: 403 },
			});
			const second = await writeObject({ client, bucket, key: 'wo/a.pgp', body });
			expect(second).toEqual({ status: 'duplicate', bucket, key: 'wo/a.pgp', versionId: null, etag: null, size: null, sha256: null });
		} finally {
			client.destroy();
		}
	});
});
