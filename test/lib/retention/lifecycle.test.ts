/** Lifecycle mode: compiled rules, show (dry run) and apply against the local store. */
import { GetBucketLifecycleConfigurationCommand, PutBucketLifecycleConfigurationCommand, type S3Client } from '@aws-sdk/client-s3';

import { createS3Client } from '../../../lib/s3';
import { applyLifecycle, compileLifecycle, lifecycleDays, showLifecycle } from '../../../lib/retention';
import { makeBucket, s3Settings } from '../../helpers/s3';

const POLICY = {
	prefix: 'archive',
	classes: [
		{ name: 'default', retention: 'P1Y' },
		{ name: 'mifid', retention: 'P5Y' },
	],
};

let client: S3Client;
beforeAll(() => {
	client = createS3Client(s3Settings());
});
afterAll(() => client.destroy());

it('counts the longest span of the duration plus the record day', () => {
	expect(lifecycleDays({ retention: 'P1Y' })).toBe(367); // 366 across a leap day, + 1
	expect(lifecycleDays({ retention: 'P30D' })).toBe(31);
	expect(lifecycleDays({ retention: 'P1M' })).toBe(32);
	expect(lifecycleDays({ retention: 'P5Y' })).toBe(5 * 365 + 2 + 1);
});

it('compiles two rules per class prefix, and one aborting incomplete multipart uploads under the prefix', () => {
	const { rules, notes } = compileLifecycle(POLICY);
	expect(rules).toEqual([
		{
			ID: 'chat-archive:archive/default:expire',
			Status: 'Enabled',
			Filter: { Prefix: 'archive/default/' },
			Expiration: { Days: 367 },
			NoncurrentVersionExpiration: { NoncurrentDays: 367 },
		},
		{ ID: 'chat-archive:archive/default:markers', Status: 'Enabled', Filter: { Prefix: 'archive/default/' }, Expiration: { ExpiredObjectDeleteMarker: true } },
		expect.objectContaining({ ID: 'chat-archive:archive/mifid:expire', Expiration: { Days: 1828 } }),
		expect.objectContaining({ ID: 'chat-archive:archive/mifid:markers' }),
		{
			ID: 'chat-archive:archive/:incomplete-uploads',
			Status: 'Enabled',
			Filter: { Prefix: 'archive/' },
			AbortIncompleteMultipartUpload: { DaysAfterInitiation: 1 },
		},
	]);
	expect(notes.join(' ')).toMatch(/legal-hold/);
	expect(notes.join(' ')).toMatch(/incomplete.*aborted 1 day after/);
	expect(() => compileLifecycle({ prefix: 'archive', classes: [{ name: 'sec-17a-4', retention: 'P1Y' }] })).toThrow(/minimum/);
});

it('shows, then applies, keeping rules of others and replacing only ours', async () => {
	const bucket = await makeBucket(client, { objectLock: true });
	const foreign = { ID: 'someone-else', Status: 'Enabled' as const, Filter: { Prefix: 'tmp/' }, Expiration: { Days: 3 } };
	await client.send(new PutBucketLifecycleConfigurationCommand({ Bucket: bucket, LifecycleConfiguration: { Rules: [foreign] } }));

	const shown = await showLifecycle({ client, bucket, policy: POLICY });
	expect(shown.applied).toBe(false);
	expect(shown.current.map((r) => r.ID)).toEqual(['someone-else']);
	expect(shown.changed).toHaveLength(5);
	const untouched = await client.send(new GetBucketLifecycleConfigurationCommand({ Bucket: bucket }));
	expect(untouched.Rules!.map((r) => r.ID)).toEqual(['someone-else']);

	const applied = await applyLifecycle({ client, bucket, policy: POLICY });
	expect(applied.applied).toBe(true);
	const stored = await client.send(new GetBucketLifecycleConfigurationCommand({ Bucket: bucket }));
	expect(stored.Rules!.map((r) => r.ID).sort()).toEqual(
		['someone-else', 'chat-archive:archive/default:expire', 'chat-archive:archive/default:markers', 'chat-archive:archive/mifid:expire', 'chat-archive:archive/mifid:markers', 'chat-archive:archive/:incomplete-uploads'].sort(),
	);
	// the store keeps the abort rule as sent
	const uploads = stored.Rules!.find((r) => r.ID === 'chat-archive:archive/:incomplete-uploads')!;
	expect(uploads.AbortIncompleteMultipartUpload?.DaysAfterInitiation).toBe(1);
	expect(uploads.Filter?.Prefix ?? uploads.Prefix).toBe('archive/');
	const expire = stored.Rules!.find((r) => r.ID === 'chat-archive:archive/mifid:expire')!;
	expect(expire.Expiration?.Days).toBe(1828);
	expect(expire.NoncurrentVersionExpiration?.NoncurrentDays).toBe(1828);

	// Applying again changes nothing; dropping a class removes its rules.
	expect((await applyLifecycle({ client, bucket, policy: POLICY })).applied).toBe(false);
	const narrowed = await applyLifecycle({ client, bucket, policy: { prefix: 'archive', classes: [POLICY.classes[0]] } });
	expect(narrowed.removed.sort()).toEqual(['chat-archive:archive/mifid:expire', 'chat-archive:archive/mifid:markers']);
	const after = await client.send(new GetBucketLifecycleConfigurationCommand({ Bucket: bucket }));
	expect(after.Rules!.map((r) => r.ID).sort()).toEqual(['chat-archive:archive/:incomplete-uploads', 'chat-archive:archive/default:expire', 'chat-archive:archive/default:markers', 'someone-else']);
});
