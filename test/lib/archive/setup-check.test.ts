import { ListObjectVersionsCommand, PutObjectLockConfigurationCommand, type S3Client } from '@aws-sdk/client-s3';

import { ArchiveError, checkBucket } from '../../../lib/archive';
import { createS3Client } from '../../../lib/s3';
import { makeBucket, s3Settings } from '../../helpers/s3';

describe('checkBucket against the local store', () => {
	let client: S3Client;
	beforeAll(() => {
		client = createS3Client(s3Settings());
	});
	afterAll(() => client?.destroy());

	const versionsLeft = async (bucket: string) =>
		((await client.send(new ListObjectVersionsCommand({ Bucket: bucket }))).Versions ?? []).length;

	it('reports a plain bucket: no versioning, no Object Lock, If-None-Match honoured, probes removed', async () => {
		const bucket = await makeBucket(client);
		const report = await checkBucket({ client, bucket });
		expect(report).toMatchObject({
			bucket,
			versioning: 'Disabled',
			objectLock: { enabled: false, support: 'not-configured', defaultRetention: null },
			conditionalWrites: 'honoured',
			recommendedDuplicateCheck: 'store',
			probeObjectsLeft: [],
			readyForCompliance: false,
		});
		expect(report.warnings.join(' ')).toMatch(/Object Lock is not enabled.*Fix:/);
		expect(await versionsLeft(bucket)).toBe(0);
	});

	it('reports an Object Lock bucket, and what the store does with If-None-Match there', async () => {
		const bucket = await makeBucket(client, { objectLock: true });
		const report = await checkBucket({ client, bucket });
		expect(report.versioning).toBe('Enabled');
		expect(report.objectLock).toEqual({ enabled: true, support: 'supported', defaultRetention: null });
		expect(report.readyForCompliance).toBe(true);
		// Ceph RGW 16 ignores If-None-Match in versioned buckets; AWS and MinIO honour it
		expect(['honoured', 'ignored']).toContain(report.conditionalWrites);
		if (report.conditionalWrites === 'ignored') expect(report.warnings.join(' ')).toMatch(/If-None-Match/);
		expect(report.recommendedDuplicateCheck).toBe(report.conditionalWrites === 'honoured' ? 'store' : 'precheck');
		expect(report.probeObjectsLeft).toEqual([]);
		expect(await versionsLeft(bucket)).toBe(0);
	});

	it('reports the default retention and the probe versions it keeps; skips probes when asked', async () => {
		const bucket = await makeBucket(client, { objectLock: true });
		await client.send(
			new PutObjectLockConfigurationCommand({
				Bucket: bucket,
				ObjectLockConfiguration: { ObjectLockEnabled: 'Enabled', Rule: { DefaultRetention: { Mode: 'GOVERNANCE', Days: 1 } } },
			}),
		);
		const quiet = await checkBucket({ client, bucket, probeWrites: false });
		expect(quiet.objectLock.defaultRetention).toEqual({ mode: 'GOVERNANCE', days: 1 });
		expect(quiet.conditionalWrites).toBe('not-tested');
		expect(await versionsLeft(bucket)).toBe(0);

		const report = await checkBucket({ client, bucket });
		expect(report.probeObjectsLeft.length).toBeGreaterThan(0);
		expect(report.probeObjectsLeft[0]).toMatch(/^_setup-check\//);
	});

	it('says whether a write without Object Lock options is still locked (a bucket default retention), for templates that rely on it', async () => {
		const plain = await checkBucket({ client, bucket: await makeBucket(client), probeWrites: false });
		expect(plain.writesWithoutLockOptions).toBe('unlocked');

		const lockedBucket = await makeBucket(client, { objectLock: true });
		const noDefault = await checkBucket({ client, bucket: lockedBucket, probeWrites: false });
		expect(noDefault.writesWithoutLockOptions).toBe('unlocked');
		expect(noDefault.warnings.join(' ')).toMatch(/no default retention.*Object Lock Mode.*Retain For/);

		await client.send(
			new PutObjectLockConfigurationCommand({
				Bucket: lockedBucket,
				ObjectLockConfiguration: { ObjectLockEnabled: 'Enabled', Rule: { DefaultRetention: { Mode: 'COMPLIANCE', Years: 1 } } },
			}),
		);
		const withDefault = await checkBucket({ client, bucket: lockedBucket, probeWrites: false });
		expect(withDefault.writesWithoutLockOptions).toBe('locked');
		expect(withDefault.objectLock.defaultRetention).toEqual({ mode: 'COMPLIANCE', years: 1 });
	});

	it('fails with the store code and a fix for a missing bucket', async () => {
		const error = await checkBucket({ client, bucket: 'no-such-bucket-setup-check' }).catch((e: unknown) => e);
		expect(error).toBeInstanceOf(ArchiveError);
		expect((error as ArchiveError).httpStatusCode).toBe(404);
		expect((error as ArchiveError).message).toMatch(/does not exist/);
	});
});
