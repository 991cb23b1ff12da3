/**
 * The local S3 store for the benchmarks (Ceph RGW on loopback, `scripts/s3-local.sh`): settings from
 * the environment, clients with an HTTP request counter, buckets created per run and removed
 * afterwards (every version, legal holds released, GOVERNANCE bypassed, then the bucket).
 */
import { execFileSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import {
	CreateBucketCommand,
	DeleteBucketCommand,
	DeleteObjectsCommand,
	ListObjectVersionsCommand,
	PutBucketVersioningCommand,
	PutObjectLegalHoldCommand,
	S3Client,
} from '@aws-sdk/client-s3';

import { createS3Client } from '../../lib/s3';
import { mapLimit } from './stats';

export interface StoreSettings {
	endpoint: string;
	region: string;
	accessKeyId: string;
	secretAccessKey: string;
}

export function storeSettings(): StoreSettings {
	return {
		endpoint: process.env.S3_ENDPOINT ?? 'http://127.0.0.1:7480',
		region: process.env.S3_REGION ?? 'us-east-1',
		accessKeyId: process.env.S3_ACCESS_KEY ?? 'testaccess',
		secretAccessKey: process.env.S3_SECRET_KEY ?? 'testsecret',
	};
}

/** Per-command HTTP request counts (every attempt, retries included), filled by {@link countRequests}. */
export class RequestCounter {
	readonly byCommand = new Map<string, number>();
	get total(): number {
		let sum = 0;
		for (const n of this.byCommand.values()) sum += n;
		return sum;
	}
	reset(): void {
		this.byCommand.clear();
	}
	describe(): string {
		return [...this.byCommand.entries()]
			.sort((a, b) => b[1] - a[1])
			.map(([name, n]) => `${name.replace(/Command$/, '')} ${n}`)
			.join(', ');
	}
}

/** Counts each HTTP request the client sends (finalizeRequest step: once per attempt). */
export function countRequests(client: S3Client, counter: RequestCounter): S3Client {
	client.middlewareStack.add(
		(next, context) => async (args) => {
			const name = context.commandName ?? 'unknown';
			counter.byCommand.set(name, (counter.byCommand.get(name) ?? 0) + 1);
			return await next(args);
		},
		{ step: 'finalizeRequest', name: 'benchRequestCounter', override: true },
	);
	return client;
}

/** The engine's client (`lib/archive` createS3Client: path style, WHEN_REQUIRED, Content-MD5 on parts). */
export function engineClient(counter?: RequestCounter): S3Client {
	const s = storeSettings();
	const client = createS3Client({ ...s, forcePathStyle: true });
	return counter ? countRequests(client, counter) : client;
}

/** A plain SDK client as a person would make one (path style, WHEN_REQUIRED checksums, as the store needs). */
export function rawClient(counter?: RequestCounter): S3Client {
	const s = storeSettings();
	const client = new S3Client({
		endpoint: s.endpoint,
		region: s.region,
		credentials: { accessKeyId: s.accessKeyId, secretAccessKey: s.secretAccessKey },
		forcePathStyle: true,
		requestChecksumCalculation: 'WHEN_REQUIRED',
		responseChecksumValidation: 'WHEN_REQUIRED',
	});
	return counter ? countRequests(client, counter) : client;
}

const created = new Set<string>();

/** Creates a uniquely named bucket (`bench-<what>-<hex>`), with Object Lock or versioning when asked. */
export async function createBucket(client: S3Client, what: string, options: { objectLock?: boolean; versioned?: boolean } = {}): Promise<string> {
	const bucket = `bench-${what}-${randomBytes(4).toString('hex')}`;
	await client.send(new CreateBucketCommand({ Bucket: bucket, ...(options.objectLock ? { ObjectLockEnabledForBucket: true } : {}) }));
	created.add(bucket);
	if (options.versioned && !options.objectLock) {
		await client.send(new PutBucketVersioningCommand({ Bucket: bucket, VersioningConfiguration: { Status: 'Enabled' } }));
	}
	return bucket;
}

/** Deletes every version and delete marker (releasing legal holds, bypassing GOVERNANCE); keeps the bucket. */
export async function emptyBucket(client: S3Client, bucket: string): Promise<number> {
	let removed = 0;
	for (let pass = 0; pass < 5; pass++) {
		// List everything first, then delete pages of 1000 four at a time.
		const pages: Array<Array<{ Key: string; VersionId?: string }>> = [];
		let keyMarker: string | undefined;
		let versionIdMarker: string | undefined;
		for (;;) {
			const page = await client.send(
				new ListObjectVersionsCommand({ Bucket: bucket, KeyMarker: keyMarker, VersionIdMarker: versionIdMarker, MaxKeys: 1000 }),
			);
			const objects = [...(page.Versions ?? []), ...(page.DeleteMarkers ?? [])]
				.filter((v) => v.Key)
				.map((v) => ({ Key: v.Key!, VersionId: v.VersionId }));
			if (objects.length > 0) pages.push(objects);
			if (!page.IsTruncated) break;
			keyMarker = page.NextKeyMarker;
			versionIdMarker = page.NextVersionIdMarker;
		}
		let failures = 0;
		await mapLimit(pages, 4, async (objects) => {
			const result = await client.send(
				new DeleteObjectsCommand({ Bucket: bucket, BypassGovernanceRetention: true, Delete: { Objects: objects, Quiet: true } }),
			);
			removed += objects.length - (result.Errors?.length ?? 0);
			for (const error of result.Errors ?? []) {
				failures += 1;
				if (error.Key) {
					await client
						.send(new PutObjectLegalHoldCommand({ Bucket: bucket, Key: error.Key, VersionId: error.VersionId, LegalHold: { Status: 'OFF' } }))
						.catch(() => undefined);
				}
			}
		});
		if (failures === 0) break;
	}
	return removed;
}

/** Empties and deletes a bucket made by {@link createBucket}. Never throws (prints what it could not do). */
export async function removeBucket(client: S3Client, bucket: string): Promise<void> {
	try {
		await emptyBucket(client, bucket);
		await client.send(new DeleteBucketCommand({ Bucket: bucket }));
		created.delete(bucket);
	} catch (error) {
		process.stderr.write(`bench: could not remove bucket ${bucket}: ${(error as Error).message}\n`);
	}
}

/** Removes every bucket this process created and has not removed yet. */
export async function removeAllBuckets(client: S3Client): Promise<void> {
	for (const bucket of [...created]) await removeBucket(client, bucket);
}

/**
 * Asks RGW to run its garbage collector now (`radosgw-admin gc process --include-all`; needs
 * CEPH_CONF from `s3-local.sh env`), so deleted multipart tails leave the RAM-backed OSD. Best effort.
 */
export function collectGarbage(): void {
	if (!process.env.CEPH_CONF) return;
	try {
		execFileSync('radosgw-admin', ['gc', 'process', '--include-all'], { stdio: 'ignore', timeout: 120_000 });
	} catch {
		/* best effort */
	}
}

/** True when the store answers. */
export async function storeReachable(): Promise<boolean> {
	try {
		const response = await fetch(storeSettings().endpoint, { signal: AbortSignal.timeout(3000) });
		return response.status < 500;
	} catch {
		return false;
	}
}
