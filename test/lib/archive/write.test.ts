import { createHash, randomBytes } from 'node:crypto';
import {
	DeleteObjectCommand,
	GetObjectRetentionCommand,
	HeadObjectCommand,
	ListObjectVersionsCommand,
	PutBucketPolicyCommand,
	PutObjectCommand,
	PutObjectLockConfigurationCommand,
	type S3Client,
} from '@aws-sdk/client-s3';

import { ArchiveError, writeObject } from '../../../lib/archive';
import { createS3Client } from '../../../lib/s3';
import { getObjectBytes, listAllKeys, makeBucket, s3Settings } from '../../helpers/s3';

const md5 = (body: Uint8Array) => createHash('md5').update(body).digest('base64');
const sha256 = (body: Uint8Array) => createHash('sha256').update(body).digest('hex');
const inOneYear = () => new Date(Date.now() + 365 * 24 * 3600 * 1000);

/** A client that records the command names it sends. */
function countingClient(): { client: S3Client; sent: string[] } {
	const sent: string[] = [];
	const counted = createS3Client(s3Settings());
	counted.middlewareStack.add(
		(next, context) => async (args) => {
			sent.push(String(context.commandName));
			return await next(args);
		},
		{ step: 'initialize', name: 'countCommands' },
	);
	return { client: counted, sent };
}

/**
 * A client whose HeadObject of the current version always answers 404: a writer in another process whose pre-check ran
 * before the winner's PUT reached the store (the race the ListObjectVersions check settles).
 */
function racedClient(): S3Client {
	const raced = createS3Client(s3Settings());
	raced.middlewareStack.add(
		(next, context) => async (args) => {
			if (context.commandName === 'HeadObjectCommand' && !(args.input as { VersionId?: string }).VersionId) {
				throw Object.assign(new Error('NotFound'), { name: 'NotFound', $metadata: { httpStatusCode: 404 } });
			}
			return await next(args);
		},
		{ step: 'initialize', name: 'headSeesNothing' },
	);
	return raced;
}

/**
 * A client of the same store as seen from another process: another endpoint spelling, so that the
 * in-process single-flight (per endpoint + bucket + key) does not join its writes to this process's.
 */
function otherProcessClient(): S3Client {
	const settings = s3Settings();
	return createS3Client({ ...settings, endpoint: settings.endpoint.replace('127.0.0.1', 'localhost') });
}

/** A client whose PutObjectRetention is refused (keys without s3:PutObjectRetention). */
function retentionRefusedClient(): S3Client {
	const refused = createS3Client(s3Settings());
	refused.middlewareStack.add(
		(next, context) => async (args) => {
			if (context.commandName === 'PutObjectRetentionCommand') {
				throw Object.assign(new Error('Access Denied'), { name: 'AccessDenied', Code: 'AccessDenied', $metadata: { httpStatusCode: 403 } });
			}
			return await next(args);
		},
		{ step: 'initialize', name: 'refuseRetention' },
	);
	return refused;
}

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

	it("duplicateCheck 'store': one PutObject per record, the store's 412 (If-None-Match: *) makes the duplicate", async () => {
		const key = `inm/${randomBytes(8).toString('hex')}.pgp`;
		const body = randomBytes(10);
		const { client: counted, sent } = countingClient();
		try {
			const first = await writeObject({ client: counted, bucket: plainBucket, key, body, duplicateCheck: 'store' });
			expect(first.status).toBe('created');
			expect(sent).toEqual(['PutObjectCommand']);
			const second = await writeObject({ client: counted, bucket: plainBucket, key, body: randomBytes(3), duplicateCheck: 'store' });
			expect(second).toEqual({ ...first, status: 'duplicate' });
			// the refused PUT, then a HeadObject describing the existing object
			expect(sent).toEqual(['PutObjectCommand', 'PutObjectCommand', 'HeadObjectCommand']);
			expect(await getObjectBytes(client, plainBucket, key)).toEqual(body);
		} finally {
			counted.destroy();
		}
	});

	it("duplicateCheck 'precheck' (default): HeadObject first without Object Lock; with it, PUT and ListObjectVersions, then the lock", async () => {
		const { client: counted, sent } = countingClient();
		try {
			await writeObject({ client: counted, bucket: plainBucket, key: `pc/${randomBytes(8).toString('hex')}.pgp`, body: randomBytes(5) });
			// the bucket's Object Lock configuration is read once per client and bucket
			expect(sent).toEqual(['GetObjectLockConfigurationCommand', 'HeadObjectCommand', 'PutObjectCommand']);
			sent.length = 0;
			await writeObject({ client: counted, bucket: plainBucket, key: `pc/${randomBytes(8).toString('hex')}.pgp`, body: randomBytes(5) });
			expect(sent).toEqual(['HeadObjectCommand', 'PutObjectCommand']);
			sent.length = 0;
			// an Object Lock bucket without default retention: no pre-check, the lock placed after the version check
			await writeObject({ client: counted, bucket: lockBucket, key: `pc/${randomBytes(8).toString('hex')}.pgp`, body: randomBytes(5) });
			expect(sent).toEqual(['GetObjectLockConfigurationCommand', 'PutObjectCommand', 'ListObjectVersionsCommand']);
			sent.length = 0;
			await writeObject({ client: counted, bucket: lockBucket, key: `pc/${randomBytes(8).toString('hex')}.pgp`, body: randomBytes(5), objectLock: { mode: 'GOVERNANCE', retainUntil: inOneYear() } });
			expect(sent).toEqual(['PutObjectCommand', 'ListObjectVersionsCommand', 'PutObjectRetentionCommand']);
			sent.length = 0;
			await writeObject({ client: counted, bucket: lockBucket, key: `pc/${randomBytes(8).toString('hex')}.pgp`, body: randomBytes(5), objectLock: { mode: 'GOVERNANCE', retainUntil: inOneYear(), legalHold: true } });
			expect(sent).toEqual(['PutObjectCommand', 'ListObjectVersionsCommand', 'PutObjectRetentionCommand', 'PutObjectLegalHoldCommand']);
		} finally {
			counted.destroy();
		}
	});

	it("duplicateCheck 'store' on a store that ignores If-None-Match (RGW 16, versioned bucket) keeps a second version: why it is not the default", async () => {
		const key = `inm/${randomBytes(8).toString('hex')}.pgp`;
		const first = await writeObject({ client, bucket: lockBucket, key, body: randomBytes(10), duplicateCheck: 'store' });
		const second = await writeObject({ client, bucket: lockBucket, key, body: randomBytes(10), duplicateCheck: 'store' });
		expect(first.status).toBe('created');
		expect(second.status).toBe('created');
		expect(second.versionId).not.toBe(first.versionId);
		const versions = await client.send(new ListObjectVersionsCommand({ Bucket: lockBucket, Prefix: key }));
		expect(versions.Versions).toHaveLength(2);
	});

	it('sends the PUT again after 409 ConditionalRequestConflict (AWS: a concurrent conditional write), then reports what the store says', async () => {
		// RGW never answers 409 here: the first PutObject gets AWS's documented answer from a middleware
		const conflicted = createS3Client(s3Settings());
		let puts = 0;
		conflicted.middlewareStack.add(
			(next, context) => async (args) => {
				if (context.commandName === 'PutObjectCommand' && ++puts === 1) {
					throw Object.assign(new Error('A conflicting operation occurred.'), {
						name: 'ConditionalRequestConflict',
						Code: 'ConditionalRequestConflict',
						$metadata: { httpStatusCode: 409 },
					});
				}
				return await next(args);
			},
			{ step: 'initialize', name: 'conflictOnce' },
		);
		try {
			const key = `inm/${randomBytes(8).toString('hex')}.pgp`;
			const body = randomBytes(10);
			const result = await writeObject({ client: conflicted, bucket: plainBucket, key, body, duplicateCheck: 'store' });
			expect(puts).toBe(2);
			expect(result.status).toBe('created');
			expect(await getObjectBytes(client, plainBucket, key)).toEqual(body);
		} finally {
			conflicted.destroy();
		}
	});

	it('rejects an unknown duplicateCheck, naming the values', async () => {
		await expect(
			writeObject({ client, bucket: plainBucket, key: 'k', body: randomBytes(1), duplicateCheck: 'none' as never }),
		).rejects.toThrow(/duplicateCheck must be "precheck" or "store"/);
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

describe('writeObject: racing writers of one key (RGW 16 ignores If-None-Match in versioned buckets)', () => {
	let client: S3Client;
	let lockBucket: string;
	let versionedBucket: string;
	let plainBucket: string;
	let raced: S3Client;
	const versionsOf = async (bucket: string, key: string) =>
		((await client.send(new ListObjectVersionsCommand({ Bucket: bucket, Prefix: key }))).Versions ?? []).filter((v) => v.Key === key).map((v) => v.VersionId);

	beforeAll(async () => {
		client = createS3Client(s3Settings());
		lockBucket = await makeBucket(client, { objectLock: true });
		versionedBucket = await makeBucket(client, { versioning: true });
		plainBucket = await makeBucket(client);
		raced = racedClient();
	});
	afterAll(() => {
		client?.destroy();
		raced?.destroy();
	});

	it.each([
		['Object Lock (versioned)', () => lockBucket],
		['versioned', () => versionedBucket],
		['unversioned', () => plainBucket],
	])('%s bucket: 6 concurrent writers in one process → one created, 5 duplicates of its version, one version', async (_label, bucketOf) => {
		const bucket = bucketOf();
		const key = `race/${randomBytes(8).toString('hex')}.pgp`;
		// two clients for the same endpoint (as two n8n executions build them): one single-flight
		const other = createS3Client(s3Settings());
		try {
			const results = await Promise.all(
				Array.from({ length: 6 }, (_, i) => writeObject({ client: i % 2 ? other : client, bucket, key, body: randomBytes(100 + i) })),
			);
			const created = results.filter((r) => r.status === 'created');
			expect(created).toHaveLength(1);
			for (const r of results.filter((x) => x.status === 'duplicate')) {
				expect(r).toEqual({ ...created[0], status: 'duplicate' });
			}
			expect(await versionsOf(bucket, key)).toHaveLength(1);
		} finally {
			other.destroy();
		}
	});

	it('a writer in another process that raced past the pre-check: its own version is deleted, the older one reported', async () => {
		const key = `race/${randomBytes(8).toString('hex')}.pgp`;
		const body = randomBytes(64);
		const first = await writeObject({ client, bucket: versionedBucket, key, body });
		expect(first.status).toBe('created');
		// the loser's PUT reaches the store after the winner's (its HeadObject saw nothing)
		const loser = await writeObject({ client: raced, bucket: versionedBucket, key, body: randomBytes(70) });
		expect(loser).toEqual({ ...first, status: 'duplicate' });
		expect(loser.extraVersionId).toBeUndefined();
		expect(await versionsOf(versionedBucket, key)).toEqual([first.versionId]);
		expect(await getObjectBytes(client, versionedBucket, key)).toEqual(body);
	});

	it('Object Lock bucket: a writer in another process that lost the race has its version deleted; the winner alone is locked', async () => {
		const key = `race/${randomBytes(8).toString('hex')}.pgp`;
		const objectLock = { mode: 'GOVERNANCE' as const, retainUntil: new Date(Date.now() + 24 * 3600 * 1000) };
		const first = await writeObject({ client, bucket: lockBucket, key, body: randomBytes(64), objectLock });
		const loser = await writeObject({ client: raced, bucket: lockBucket, key, body: randomBytes(70), objectLock });
		expect(loser).toEqual({ ...first, status: 'duplicate' });
		expect(loser.extraVersionId).toBeUndefined();
		expect(await versionsOf(lockBucket, key)).toEqual([first.versionId]);
		const retention = await client.send(new GetObjectRetentionCommand({ Bucket: lockBucket, Key: key, VersionId: first.versionId! }));
		expect(retention.Retention?.Mode).toBe('GOVERNANCE');
		expect(Math.abs(new Date(retention.Retention!.RetainUntilDate!).getTime() - objectLock.retainUntil.getTime())).toBeLessThan(1000);
		await client.send(new DeleteObjectCommand({ Bucket: lockBucket, Key: key, VersionId: first.versionId!, BypassGovernanceRetention: true }));
	});

	it('Object Lock bucket: a loser the store lists as older than the winner (RGW lists by when a PUT began) is deleted; the first stored is kept', async () => {
		const key = `race/${randomBytes(8).toString('hex')}.pgp`;
		const objectLock = { mode: 'GOVERNANCE' as const, retainUntil: new Date(Date.now() + 24 * 3600 * 1000) };
		const first = await writeObject({ client, bucket: lockBucket, key, body: randomBytes(64), objectLock });
		// the second writer's listing names its own version last (oldest), as RGW does for a PUT that began first
		const reordered = createS3Client(s3Settings());
		reordered.middlewareStack.add(
			(next, context) => async (args) => {
				const result = await next(args);
				if (context.commandName === 'ListObjectVersionsCommand') {
					const output = result.output as { Versions?: Array<{ VersionId?: string }> };
					output.Versions?.reverse();
				}
				return result;
			},
			{ step: 'initialize', name: 'listOwnVersionOldest' },
		);
		try {
			const second = await writeObject({ client: reordered, bucket: lockBucket, key, body: randomBytes(70), objectLock });
			expect(second).toMatchObject({ status: 'duplicate', versionId: first.versionId });
			expect(second.extraVersionId).toBeUndefined();
			expect(await versionsOf(lockBucket, key)).toEqual([first.versionId]);
		} finally {
			reordered.destroy();
		}
	});

	it('Object Lock bucket: a writer whose version is stamped first but finds another already locked keeps the locked one', async () => {
		const key = `race/${randomBytes(8).toString('hex')}.pgp`;
		const objectLock = { mode: 'GOVERNANCE' as const, retainUntil: new Date(Date.now() + 24 * 3600 * 1000) };
		const first = await writeObject({ client, bucket: lockBucket, key, body: randomBytes(64), objectLock });
		// the second writer's listing stamps every other version later than its own
		const stamped = createS3Client(s3Settings());
		stamped.middlewareStack.add(
			(next, context) => async (args) => {
				const result = await next(args);
				if (context.commandName === 'ListObjectVersionsCommand') {
					const output = result.output as { Versions?: Array<{ VersionId?: string; LastModified?: Date }> };
					for (const version of output.Versions ?? []) {
						if (version.VersionId === first.versionId) version.LastModified = new Date(Date.now() + 60_000);
					}
				}
				return result;
			},
			{ step: 'initialize', name: 'othersStampedLater' },
		);
		try {
			const second = await writeObject({ client: stamped, bucket: lockBucket, key, body: randomBytes(70), objectLock });
			expect(second).toMatchObject({ status: 'duplicate', versionId: first.versionId });
			expect(await versionsOf(lockBucket, key)).toEqual([first.versionId]);
		} finally {
			stamped.destroy();
		}
	});

	it('Object Lock bucket: writers in two processes at once (3 each, lock and legal hold) → one version, locked and held, no extra version', async () => {
		const other = otherProcessClient();
		try {
			for (let round = 0; round < 5; round++) {
				const key = `race/${randomBytes(8).toString('hex')}.pgp`;
				const objectLock = { mode: 'GOVERNANCE' as const, retainUntil: new Date(Date.now() + 24 * 3600 * 1000), legalHold: true };
				const results = await Promise.all(
					Array.from({ length: 6 }, (_, i) => writeObject({ client: i % 2 ? other : client, bucket: lockBucket, key, body: randomBytes(100 + i), objectLock })),
				);
				const versions = await versionsOf(lockBucket, key);
				expect(versions).toHaveLength(1);
				expect(results.filter((r) => r.status === 'created').length).toBeLessThanOrEqual(1);
				for (const r of results) {
					expect(r.versionId).toBe(versions[0]);
					expect(r.extraVersionId).toBeUndefined();
				}
				const head = await client.send(new HeadObjectCommand({ Bucket: lockBucket, Key: key, VersionId: versions[0] }));
				expect(head.ObjectLockMode).toBe('GOVERNANCE');
				expect(head.ObjectLockLegalHoldStatus).toBe('ON');
			}
		} finally {
			other.destroy();
		}
	});

	it('Object Lock bucket: a version left unlocked (its writer stopped before the lock) is locked by the next write of the record', async () => {
		const key = `race/${randomBytes(8).toString('hex')}.pgp`;
		const stranded = await client.send(new PutObjectCommand({ Bucket: lockBucket, Key: key, Body: randomBytes(64) }));
		const objectLock = { mode: 'GOVERNANCE' as const, retainUntil: new Date(Date.now() + 24 * 3600 * 1000) };
		const again = await writeObject({ client: raced, bucket: lockBucket, key, body: randomBytes(70), objectLock });
		expect(again).toMatchObject({ status: 'duplicate', versionId: stranded.VersionId });
		expect(await versionsOf(lockBucket, key)).toEqual([stranded.VersionId]);
		const head = await client.send(new HeadObjectCommand({ Bucket: lockBucket, Key: key, VersionId: stranded.VersionId }));
		expect(head.ObjectLockMode).toBe('GOVERNANCE');
	});

	it('Object Lock bucket: retention refused → NotLocked error naming the stored version; writing the record again locks it', async () => {
		const key = `race/${randomBytes(8).toString('hex')}.pgp`;
		const refused = retentionRefusedClient();
		const objectLock = { mode: 'GOVERNANCE' as const, retainUntil: new Date(Date.now() + 24 * 3600 * 1000) };
		try {
			const error = await writeObject({ client: refused, bucket: lockBucket, key, body: randomBytes(64), objectLock }).catch((e: unknown) => e);
			expect(error).toBeInstanceOf(ArchiveError);
			expect((error as ArchiveError).code).toBe('NotLocked');
			const [version] = await versionsOf(lockBucket, key);
			expect((error as ArchiveError).message).toContain(String(version));
			const again = await writeObject({ client: client, bucket: lockBucket, key, body: randomBytes(64), objectLock });
			expect(again).toMatchObject({ status: 'duplicate', versionId: version });
			const head = await client.send(new HeadObjectCommand({ Bucket: lockBucket, Key: key, VersionId: version }));
			expect(head.ObjectLockMode).toBe('GOVERNANCE');
		} finally {
			refused.destroy();
		}
	});

	it('bucket with default retention: the lock goes with the PUT; a loser that raced past the pre-check is kept and reported as extraVersionId', async () => {
		const bucket = await makeBucket(client, { objectLock: true });
		await client.send(
			new PutObjectLockConfigurationCommand({
				Bucket: bucket,
				ObjectLockConfiguration: { ObjectLockEnabled: 'Enabled', Rule: { DefaultRetention: { Mode: 'GOVERNANCE', Days: 1 } } },
			}),
		);
		const key = `race/${randomBytes(8).toString('hex')}.pgp`;
		const first = await writeObject({ client, bucket, key, body: randomBytes(64) });
		const loser = await writeObject({ client: raced, bucket, key, body: randomBytes(70) });
		expect(loser.status).toBe('duplicate');
		expect(loser.versionId).toBe(first.versionId);
		expect(loser.extraVersionId).toEqual(expect.any(String));
		expect((await versionsOf(bucket, key)).sort()).toEqual([first.versionId, loser.extraVersionId].sort());
		for (const versionId of [first.versionId!, loser.extraVersionId!]) {
			await client.send(new DeleteObjectCommand({ Bucket: bucket, Key: key, VersionId: versionId, BypassGovernanceRetention: true }));
		}
	});

	it('the first writer failing does not fail the waiters: the next one writes', async () => {
		const key = `race/${randomBytes(8).toString('hex')}.pgp`;
		const results = await Promise.allSettled([
			writeObject({ client, bucket: plainBucket, key, body: randomBytes(10), objectLock: { mode: 'GOVERNANCE', retainUntil: new Date(Date.now() + 3600_000) } }), // no Object Lock on this bucket → fails
			writeObject({ client, bucket: plainBucket, key, body: randomBytes(10) }),
		]);
		expect(results[0].status).toBe('rejected');
		expect(results[1]).toMatchObject({ status: 'fulfilled', value: { status: 'created' } });
	});
});
