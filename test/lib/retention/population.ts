/**
 * Test populations for the retention engine: archive-layout objects written straight to the local
 * store (the record date lives in the key, so "years ago" needs no clock tricks), with a ground truth
 * of which versions a correct sweep must delete.
 */
import { createHash, randomBytes } from 'node:crypto';
import {
	DeleteObjectCommand,
	ListObjectVersionsCommand,
	PutObjectCommand,
	type S3Client,
} from '@aws-sdk/client-s3';
import { DateTime } from 'luxon';

import { recordObjectKey, mediaObjectKey } from '../../../lib/archive';

/** Seeded PRNG (mulberry32): the same seed gives the same population. */
export function prng(seed: number): () => number {
	let state = seed >>> 0;
	return () => {
		state = (state + 0x6d2b79f5) >>> 0;
		let t = state;
		t = Math.imul(t ^ (t >>> 15), t | 1);
		t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
		return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
	};
}

export type Kind = 'plain' | 'compliance' | 'governance' | 'legalHold' | 'matter' | 'versions' | 'deleteMarker' | 'media';

/** One written version with what a correct sweep must do to it. */
export interface GroundTruth {
	key: string;
	versionId: string;
	isDeleteMarker: boolean;
	retentionClass: string;
	expired: boolean;
	/** Protected by a lock, a legal-hold flag or a matter (never deleted). */
	protected: boolean;
	kind: Kind;
}

export const HEX32 = () => randomBytes(16).toString('hex');

/** Puts one version with Content-MD5 and optional lock headers; returns its version id. */
export async function putVersion(
	client: S3Client,
	bucket: string,
	key: string,
	options: { body?: Buffer; lock?: { mode: 'COMPLIANCE' | 'GOVERNANCE'; until: Date }; legalHold?: boolean } = {},
): Promise<string> {
	const body = options.body ?? randomBytes(16 + Math.floor(Math.random() * 64));
	const result = await client.send(
		new PutObjectCommand({
			Bucket: bucket,
			Key: key,
			Body: body,
			ContentLength: body.length,
			ContentMD5: createHash('md5').update(body).digest('base64'),
			...(options.lock ? { ObjectLockMode: options.lock.mode, ObjectLockRetainUntilDate: options.lock.until } : {}),
			...(options.legalHold ? { ObjectLockLegalHoldStatus: 'ON' as const } : {}),
		}),
	);
	return result.VersionId!;
}

/** Adds a delete marker on top of `key`; returns the marker's version id. */
export async function addDeleteMarker(client: S3Client, bucket: string, key: string): Promise<string> {
	const result = await client.send(new DeleteObjectCommand({ Bucket: bucket, Key: key }));
	return result.VersionId!;
}

/** Every (key, versionId) in the bucket under `prefix`, as `key#versionId` strings, sorted. */
export async function listVersionRefs(client: S3Client, bucket: string, prefix = ''): Promise<string[]> {
	const refs: string[] = [];
	let keyMarker: string | undefined;
	let versionIdMarker: string | undefined;
	for (;;) {
		const page = await client.send(
			new ListObjectVersionsCommand({ Bucket: bucket, Prefix: prefix, KeyMarker: keyMarker, VersionIdMarker: versionIdMarker }),
		);
		for (const v of [...(page.Versions ?? []), ...(page.DeleteMarkers ?? [])]) refs.push(`${v.Key}#${v.VersionId}`);
		if (!page.IsTruncated) break;
		keyMarker = page.NextKeyMarker;
		versionIdMarker = page.NextVersionIdMarker;
	}
	return refs.sort();
}

/** Runs `worker` over items with `limit` in flight. */
export async function pool<T>(items: T[], limit: number, worker: (item: T) => Promise<void>): Promise<void> {
	let next = 0;
	await Promise.all(
		Array.from({ length: Math.min(limit, items.length) }, async () => {
			while (next < items.length) await worker(items[next++]);
		}),
	);
}

export interface PopulationOptions {
	client: S3Client;
	bucket: string;
	prefix: string;
	/** Class name → retention in whole years. */
	classes: Record<string, number>;
	count: number;
	seed: number;
	/** phone_number_id whose records a matter holds (kind `matter`). */
	matterPhoneNumberId: string;
	now?: Date;
	/** Relative weights of the kinds. */
	kinds?: Kind[];
}

/**
 * Writes `count` records with random class, date (expired or not) and kind, and returns the ground
 * truth of every version written.
 */
export async function writePopulation(options: PopulationOptions): Promise<GroundTruth[]> {
	const random = prng(options.seed);
	const now = DateTime.fromJSDate(options.now ?? new Date(), { zone: 'utc' });
	const classNames = Object.keys(options.classes);
	const kinds: Kind[] = options.kinds ?? ['plain', 'plain', 'compliance', 'governance', 'legalHold', 'matter', 'versions', 'deleteMarker', 'media'];
	const specs = Array.from({ length: options.count }, () => {
		const retentionClass = classNames[Math.floor(random() * classNames.length)];
		const expired = random() < 0.6;
		const years = options.classes[retentionClass];
		// Expired: 2..400 days past the end of retention; unexpired: 2 days to (retention − 2 days) old.
		const date = expired
			? now.minus({ years }).minus({ days: 2 + Math.floor(random() * 400) })
			: now.minus({ days: 2 + Math.floor(random() * (years * 365 - 4)) });
		const kind = kinds[Math.floor(random() * kinds.length)];
		return { retentionClass, expired, date, kind };
	});
	const truths: GroundTruth[] = [];
	await pool(specs, 16, async (spec) => {
		const parts = {
			prefix: options.prefix,
			retentionClass: spec.retentionClass,
			phoneNumberId: spec.kind === 'matter' ? options.matterPhoneNumberId : '1055500000' + Math.floor(Math.random() * 9),
			date: spec.date.toJSDate(),
			pseudonym: HEX32(),
			recordId: HEX32(),
		};
		const key = spec.kind === 'media' ? mediaObjectKey(parts) : recordObjectKey(parts);
		const truth = (versionId: string, isDeleteMarker: boolean, isProtected: boolean) =>
			truths.push({ key, versionId, isDeleteMarker, retentionClass: spec.retentionClass, expired: spec.expired, protected: isProtected, kind: spec.kind });
		const future = new Date(Date.now() + 24 * 3600 * 1000);
		switch (spec.kind) {
			case 'compliance':
				truth(await putVersion(options.client, options.bucket, key, { lock: { mode: 'COMPLIANCE', until: future } }), false, true);
				break;
			case 'governance':
				truth(await putVersion(options.client, options.bucket, key, { lock: { mode: 'GOVERNANCE', until: future } }), false, true);
				break;
			case 'legalHold':
				truth(await putVersion(options.client, options.bucket, key, { legalHold: true }), false, true);
				break;
			case 'matter':
				truth(await putVersion(options.client, options.bucket, key), false, true);
				break;
			case 'versions': {
				// Three versions; the middle one COMPLIANCE-locked: only it (and nothing over it) survives.
				truth(await putVersion(options.client, options.bucket, key), false, false);
				truth(await putVersion(options.client, options.bucket, key, { lock: { mode: 'COMPLIANCE', until: future } }), false, true);
				truth(await putVersion(options.client, options.bucket, key), false, false);
				break;
			}
			case 'deleteMarker':
				truth(await putVersion(options.client, options.bucket, key), false, false);
				truth(await addDeleteMarker(options.client, options.bucket, key), true, false);
				break;
			default:
				truth(await putVersion(options.client, options.bucket, key), false, false);
		}
	});
	return truths;
}

/**
 * What must remain after a correct sweep: every unexpired or protected version, and every delete
 * marker whose key keeps another version.
 */
export function expectedSurvivors(truths: GroundTruth[]): string[] {
	const survives = (t: GroundTruth) => !t.expired || t.protected;
	const keysWithSurvivor = new Set(truths.filter((t) => !t.isDeleteMarker && survives(t)).map((t) => t.key));
	return truths
		.filter((t) => survives(t) || (t.isDeleteMarker && keysWithSurvivor.has(t.key)))
		.map((t) => `${t.key}#${t.versionId}`)
		.sort();
}
