/**
 * Store helpers of the reliability suite: buckets it creates (tracked, scanned, removed), version
 * listings, incomplete multipart uploads, and the at-rest plaintext scan.
 */
import {
	AbortMultipartUploadCommand,
	DeleteBucketCommand,
	DeleteObjectCommand,
	GetObjectCommand,
	HeadObjectCommand,
	ListMultipartUploadsCommand,
	ListObjectVersionsCommand,
	PutObjectLegalHoldCommand,
	type S3Client,
} from '@aws-sdk/client-s3';

import { createS3Client } from '../../../lib/s3';
import { makeBucket, s3Settings } from '../../helpers/s3';

export interface VersionRef {
	key: string;
	versionId: string;
	isDeleteMarker: boolean;
}

/** Every version and delete marker in the bucket. */
export async function listVersions(client: S3Client, bucket: string, prefix?: string): Promise<VersionRef[]> {
	const out: VersionRef[] = [];
	let keyMarker: string | undefined;
	let versionIdMarker: string | undefined;
	for (;;) {
		const page = await client.send(
			new ListObjectVersionsCommand({ Bucket: bucket, Prefix: prefix, KeyMarker: keyMarker, VersionIdMarker: versionIdMarker }),
		);
		for (const v of page.Versions ?? []) out.push({ key: v.Key!, versionId: v.VersionId ?? 'null', isDeleteMarker: false });
		for (const v of page.DeleteMarkers ?? []) out.push({ key: v.Key!, versionId: v.VersionId ?? 'null', isDeleteMarker: true });
		if (!page.IsTruncated) break;
		keyMarker = page.NextKeyMarker;
		versionIdMarker = page.NextVersionIdMarker;
	}
	return out;
}

/** Incomplete multipart uploads left in the bucket. */
export async function listIncompleteUploads(client: S3Client, bucket: string): Promise<Array<{ key: string; uploadId: string }>> {
	const page = await client.send(new ListMultipartUploadsCommand({ Bucket: bucket }));
	return (page.Uploads ?? []).map((u) => ({ key: u.Key!, uploadId: u.UploadId! }));
}

/** Scans every version's key, metadata and body for the markers; returns one line per hit. */
export async function scanForPlaintext(client: S3Client, bucket: string, markers: string[]): Promise<string[]> {
	const hits: string[] = [];
	const needles = markers.filter((m) => m.length >= 5).map((m) => ({ m, bytes: Buffer.from(m, 'utf8') }));
	for (const v of await listVersions(client, bucket)) {
		for (const { m } of needles) if (v.key.includes(m)) hits.push(`key ${v.key} contains "${m}"`);
		if (v.isDeleteMarker) continue;
		const head = await client.send(new HeadObjectCommand({ Bucket: bucket, Key: v.key, VersionId: v.versionId }));
		const meta = JSON.stringify({ meta: head.Metadata ?? {}, type: head.ContentType ?? '', disp: head.ContentDisposition ?? '' });
		for (const { m } of needles) if (meta.includes(m)) hits.push(`metadata of ${v.key} contains "${m}"`);
		const got = await client.send(new GetObjectCommand({ Bucket: bucket, Key: v.key, VersionId: v.versionId }));
		const body = Buffer.from(await got.Body!.transformToByteArray());
		for (const { m, bytes } of needles) if (body.includes(bytes)) hits.push(`body of ${v.key} contains "${m}"`);
	}
	return hits;
}

/**
 * Empties and removes a bucket: aborts incomplete uploads, releases legal holds, deletes every version
 * with BypassGovernanceRetention. Returns what could not be removed (COMPLIANCE locks) instead of throwing.
 */
export async function removeBucket(client: S3Client, bucket: string): Promise<string[]> {
	const problems: string[] = [];
	try {
		for (const u of await listIncompleteUploads(client, bucket)) {
			await client.send(new AbortMultipartUploadCommand({ Bucket: bucket, Key: u.key, UploadId: u.uploadId })).catch(() => {});
		}
		for (const v of await listVersions(client, bucket)) {
			try {
				await client.send(new DeleteObjectCommand({ Bucket: bucket, Key: v.key, VersionId: v.versionId, BypassGovernanceRetention: true }));
			} catch {
				try {
					await client.send(
						new PutObjectLegalHoldCommand({ Bucket: bucket, Key: v.key, VersionId: v.versionId, LegalHold: { Status: 'OFF' } }),
					);
					await client.send(new DeleteObjectCommand({ Bucket: bucket, Key: v.key, VersionId: v.versionId, BypassGovernanceRetention: true }));
				} catch (error) {
					problems.push(`${v.key}#${v.versionId}: ${(error as Error).name}`);
				}
			}
		}
		if (problems.length === 0) await client.send(new DeleteBucketCommand({ Bucket: bucket }));
	} catch (error) {
		problems.push(`${bucket}: ${(error as Error).name}`);
	}
	return problems;
}

/** A direct client to the store, and the buckets one test file creates (scanned and removed at the end). */
export class SuiteStore {
	readonly settings = s3Settings();
	readonly client = createS3Client(this.settings);
	readonly buckets: string[] = [];

	async bucket(options: { objectLock?: boolean; versioning?: boolean } = {}): Promise<string> {
		const name = await makeBucket(this.client, { ...options, prefix: 'rel' });
		this.buckets.push(name);
		return name;
	}

	async scan(markers: string[]): Promise<string[]> {
		const hits: string[] = [];
		for (const bucket of this.buckets) hits.push(...(await scanForPlaintext(this.client, bucket, markers)));
		return hits;
	}

	async cleanup(): Promise<string[]> {
		const problems: string[] = [];
		if (process.env.KEEP_BUCKETS !== '1') {
			for (const bucket of this.buckets) problems.push(...(await removeBucket(this.client, bucket)));
		}
		this.client.destroy();
		return problems;
	}
}
