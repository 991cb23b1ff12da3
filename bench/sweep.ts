/**
 * Benchmark 3 — retention sweep: N expired record objects (plus matter-held and unexpired ones)
 * swept by lib/retention `executeSweep` (plan, write-ahead plan object, DeleteObjects batches of 1000,
 * signed deletion report), beside `rclone delete --min-age` and beside a bare list + DeleteObjects
 * loop, each on its own identical population (same keys, bodies and `X-Amz-Meta-Mtime`, the record
 * date, so rclone's --min-age sees the record's age).
 *
 * Part A (default N = 100 000): unversioned buckets (rclone's `delete` only adds delete markers in a
 * versioned bucket, so it is compared where it really deletes). Part B (smaller N, --n-locked): an
 * Object Lock bucket, where the planner reads legal hold and retention per candidate (2 requests
 * each); compared with the bare ListObjectVersions + DeleteObjects loop only.
 *
 *   npx tsx bench/sweep.ts [--n 100000] [--n-locked 5000] [--concurrency 16] [--skip-rclone] [--skip-locked]
 */
import { spawn } from 'node:child_process';
import { createHash } from 'node:crypto';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import {
	DeleteObjectsCommand,
	ListObjectsV2Command,
	ListObjectVersionsCommand,
	PutObjectCommand,
	type S3Client,
} from '@aws-sdk/client-s3';

import { parseObjectKey, recordObjectKey } from '../lib/archive';
import { createReportSigner, executeSweep, withContentMd5, type Matter } from '../lib/retention';
import { generateKey } from './lib/keys';
import { machineLine } from './lib/machine';
import { BENCH_PHONE_NUMBER_ID, prng } from './lib/records';
import { collectGarbage, createBucket, engineClient, removeAllBuckets, removeBucket, RequestCounter, storeReachable, storeSettings } from './lib/s3';
import { fmt, hasFlag, mapLimit, now, numberFlag, progress, ratio } from './lib/stats';
import { table } from './lib/table';

const PREFIX = 'archive';
const CLASS = 'default';
const HELD_PHONE_NUMBER_ID = '106000000000009';
const RETENTION = 'P1Y';

interface PopObject {
	key: string;
	date: Date;
	kind: 'expired' | 'held' | 'unexpired' | 'legal-hold' | 'retained';
}

/** The population: deterministic keys and dates, so every bucket gets the same objects. */
function population(n: number, locked: boolean): PopObject[] {
	const random = prng(n + (locked ? 1 : 0));
	const hex = () => Array.from({ length: 32 }, () => Math.floor(random() * 16).toString(16)).join('');
	const extra = Math.max(10, Math.round(n / 100));
	const objects: PopObject[] = [];
	const old = (): Date => new Date(Date.UTC(2020, 0, 1) + Math.floor(random() * 4 * 365) * 86_400_000 + Math.floor(random() * 86_400_000));
	const recent = (): Date => new Date(Date.now() - Math.floor(random() * 30) * 86_400_000);
	const push = (kind: PopObject['kind'], pnid: string, date: Date) =>
		objects.push({ kind, date, key: recordObjectKey({ prefix: PREFIX, retentionClass: CLASS, phoneNumberId: pnid, date, pseudonym: hex(), recordId: hex() }) });
	for (let i = 0; i < n; i++) push('expired', BENCH_PHONE_NUMBER_ID, old());
	for (let i = 0; i < extra; i++) push('held', HELD_PHONE_NUMBER_ID, old());
	for (let i = 0; i < extra; i++) push('unexpired', BENCH_PHONE_NUMBER_ID, recent());
	if (locked) {
		for (let i = 0; i < extra; i++) push('legal-hold', BENCH_PHONE_NUMBER_ID, old());
		for (let i = 0; i < extra; i++) push('retained', BENCH_PHONE_NUMBER_ID, old());
	}
	return objects;
}

async function populate(client: S3Client, bucket: string, objects: PopObject[], concurrency: number): Promise<number> {
	const start = now();
	let done = 0;
	const body = Buffer.from('x');
	await mapLimit(objects, concurrency, async (object) => {
		await client.send(
			new PutObjectCommand({
				Bucket: bucket,
				Key: object.key,
				Body: body,
				ContentLength: 1,
				// rclone's modification time (seconds since the epoch) = the record date.
				Metadata: { mtime: (object.date.getTime() / 1000).toFixed(3) },
				...(object.kind === 'legal-hold' ? { ObjectLockLegalHoldStatus: 'ON' as const } : {}),
				...(object.kind === 'retained' ? { ObjectLockMode: 'GOVERNANCE' as const, ObjectLockRetainUntilDate: new Date(Date.now() + 2 * 86_400_000) } : {}),
				...(object.kind === 'legal-hold' || object.kind === 'retained' ? { ContentMD5: createHash('md5').update(body).digest('base64') } : {}),
			}),
		);
		done += 1;
		if (done % 20_000 === 0) progress(`  populated ${done}/${objects.length}`);
	});
	return objects.length / ((now() - start) / 1000);
}

/** Versions and delete markers under the class prefix (audit objects under `_reports/` excluded). */
async function countObjects(client: S3Client, bucket: string): Promise<number> {
	let count = 0;
	let keyMarker: string | undefined;
	let versionIdMarker: string | undefined;
	for (;;) {
		const page = await client.send(new ListObjectVersionsCommand({ Bucket: bucket, Prefix: `${PREFIX}/${CLASS}/`, KeyMarker: keyMarker, VersionIdMarker: versionIdMarker }));
		count += (page.Versions?.length ?? 0) + (page.DeleteMarkers?.length ?? 0);
		if (!page.IsTruncated) return count;
		keyMarker = page.NextKeyMarker;
		versionIdMarker = page.NextVersionIdMarker;
	}
}

/** Same decision as the policy, from the key alone: expired (record day + 1 day + P1Y ≤ now) and not the held number. */
function bareExpired(key: string, nowMs: number): boolean {
	const parsed = parseObjectKey(key);
	if (!parsed || parsed.phoneNumberId === HELD_PHONE_NUMBER_ID) return false;
	const day = new Date(`${parsed.date}T00:00:00Z`);
	day.setUTCDate(day.getUTCDate() + 1);
	day.setUTCFullYear(day.getUTCFullYear() + 1);
	return day.getTime() <= nowMs;
}

/** The bare loop: list a page, delete its expired keys in one DeleteObjects, next page. */
async function bareLoop(client: S3Client, bucket: string, versioned: boolean): Promise<number> {
	const nowMs = Date.now();
	let deleted = 0;
	if (!versioned) {
		let token: string | undefined;
		do {
			const page = await client.send(new ListObjectsV2Command({ Bucket: bucket, Prefix: `${PREFIX}/${CLASS}/`, ContinuationToken: token, MaxKeys: 1000 }));
			const objects = (page.Contents ?? []).filter((o) => o.Key && bareExpired(o.Key, nowMs)).map((o) => ({ Key: o.Key! }));
			if (objects.length) {
				const r = await client.send(withContentMd5(new DeleteObjectsCommand({ Bucket: bucket, Delete: { Objects: objects, Quiet: true } })));
				deleted += objects.length - (r.Errors?.length ?? 0);
			}
			token = page.IsTruncated ? page.NextContinuationToken : undefined;
		} while (token);
		return deleted;
	}
	let keyMarker: string | undefined;
	let versionIdMarker: string | undefined;
	for (;;) {
		const page = await client.send(
			new ListObjectVersionsCommand({ Bucket: bucket, Prefix: `${PREFIX}/${CLASS}/`, KeyMarker: keyMarker, VersionIdMarker: versionIdMarker, MaxKeys: 1000 }),
		);
		const objects = [...(page.Versions ?? []), ...(page.DeleteMarkers ?? [])]
			.filter((o) => o.Key && bareExpired(o.Key, nowMs))
			.map((o) => ({ Key: o.Key!, VersionId: o.VersionId }));
		if (objects.length) {
			const r = await client.send(withContentMd5(new DeleteObjectsCommand({ Bucket: bucket, Delete: { Objects: objects, Quiet: true } })));
			deleted += objects.length - (r.Errors?.length ?? 0);
		}
		if (!page.IsTruncated) return deleted;
		keyMarker = page.NextKeyMarker;
		versionIdMarker = page.NextVersionIdMarker;
	}
}

function rcloneEnv(): NodeJS.ProcessEnv {
	const s = storeSettings();
	// The store is plain http on loopback: AWS_CA_BUNDLE (set on some machines) makes rclone's S3
	// backend fail with LoadCustomCABundleError, so it is left out.
	const env = { ...process.env };
	delete env.AWS_CA_BUNDLE;
	return {
		...env,
		RCLONE_CONFIG: '/dev/null',
		RCLONE_CONFIG_BENCH_TYPE: 's3',
		RCLONE_CONFIG_BENCH_PROVIDER: 'Ceph',
		RCLONE_CONFIG_BENCH_ENDPOINT: s.endpoint,
		RCLONE_CONFIG_BENCH_ACCESS_KEY_ID: s.accessKeyId,
		RCLONE_CONFIG_BENCH_SECRET_ACCESS_KEY: s.secretAccessKey,
		RCLONE_CONFIG_BENCH_REGION: s.region,
		RCLONE_CONFIG_BENCH_FORCE_PATH_STYLE: 'true',
	};
}

/** `rclone delete --min-age 366d` (the P1Y policy, counted from the end of the record day, rounded up). */
async function rcloneDelete(bucket: string, concurrency: number, dumpTo?: string): Promise<{ ms: number; code: number | null; stderr: string }> {
	const args = ['delete', `bench:${bucket}/${PREFIX}/${CLASS}`, '--min-age', '367d', '--checkers', String(concurrency), '--transfers', String(concurrency), '--retries', '1'];
	if (dumpTo) args.push('--dump', 'headers', '--log-file', dumpTo, '-vv');
	const start = now();
	const child = spawn('rclone', args, { env: rcloneEnv(), stdio: ['ignore', 'ignore', 'pipe'] });
	let stderr = '';
	child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
	const code = await new Promise<number | null>((resolve) => child.on('close', resolve));
	return { ms: now() - start, code, stderr };
}

async function main(): Promise<void> {
	const n = numberFlag('n', 100_000);
	const nLocked = numberFlag('n-locked', 5000);
	const concurrency = numberFlag('concurrency', 16);
	const populateConcurrency = numberFlag('populate-concurrency', 32);
	if (!(await storeReachable())) {
		process.stdout.write('### Retention sweep\n\nSkipped: the local S3 store is not reachable (`bash scripts/s3-local.sh start`).\n');
		return;
	}
	const counter = new RequestCounter();
	const client = engineClient(counter);
	const key = generateKey('cv25519');
	const signer = await createReportSigner({ armoredKey: key.armoredSecretKey });
	const matter: Matter = {
		matterId: 'BENCH-1',
		active: true,
		scope: { phoneNumberIds: [HELD_PHONE_NUMBER_ID] },
		placedAt: new Date().toISOString(),
		placedBy: 'bench@example.invalid',
		reason: 'benchmark',
		eventKeys: [],
	};
	const policy = { prefix: PREFIX, classes: [{ name: CLASS, retention: RETENTION }] };
	const out: string[] = [];
	const rows: string[][] = [];
	const lockedRows: string[][] = [];
	let populateRate = 0;
	let rcloneCountNote = '';
	try {
		// ---------------- Part A: unversioned buckets
		const objects = population(n, false);
		const expected = { expired: n, kept: objects.length - n };
		const contenders: Array<{ name: string; run: (bucket: string) => Promise<{ ms: number; requests: number; detail: string }> }> = [
			{
				name: 'bare ListObjectsV2 + DeleteObjects loop',
				run: async (bucket) => {
					counter.reset();
					const start = now();
					await bareLoop(client, bucket, false);
					return { ms: now() - start, requests: counter.total, detail: counter.describe() };
				},
			},
			{
				name: 'lib/retention executeSweep (plan + signed report)',
				run: async (bucket) => {
					counter.reset();
					const start = now();
					const result = await executeSweep({ client, bucket, policy, matters: [matter], signer, reportLock: null, concurrency });
					if (result.deleted.count !== n) throw new Error(`executeSweep deleted ${result.deleted.count}, expected ${n}`);
					return { ms: now() - start, requests: counter.total, detail: counter.describe() };
				},
			},
		];
		if (!hasFlag('skip-rclone')) {
			contenders.push({
				name: `rclone delete --min-age (checkers/transfers ${concurrency})`,
				run: async (bucket) => {
					const r = await rcloneDelete(bucket, concurrency);
					if (r.code !== 0) throw new Error(`rclone failed: ${r.stderr.slice(-1000)}`);
					return { ms: r.ms, requests: Number.NaN, detail: '' };
				},
			});
		}
		const results = new Map<string, { ms: number; requests: number; detail: string; remaining: number }>();
		for (const contender of contenders) {
			const bucket = await createBucket(client, 'sweep');
			progress(`sweep: populating ${objects.length} objects for "${contender.name}" (concurrency ${populateConcurrency})`);
			populateRate = await populate(client, bucket, objects, populateConcurrency);
			progress(`sweep: ${contender.name}`);
			const r = await contender.run(bucket);
			const remaining = await countObjects(client, bucket);
			results.set(contender.name, { ...r, remaining });
			progress(`  ${fmt(r.ms / 1000, 1)} s, ${Number.isNaN(r.requests) ? '?' : r.requests} requests, ${remaining} objects left`);
			await removeBucket(client, bucket);
		}
		// rclone's requests, counted on a smaller identical-shape population with --dump headers.
		if (!hasFlag('skip-rclone')) {
			const small = population(Math.min(n, 2000), false);
			const bucket = await createBucket(client, 'sweep-count');
			await populate(client, bucket, small, populateConcurrency);
			const dir = mkdtempSync(path.join(os.tmpdir(), 'chat-archive-bench-rclone-'));
			const log = path.join(dir, 'rclone.log');
			await rcloneDelete(bucket, concurrency, log);
			const text = readFileSync(log, 'utf8');
			const methods = new Map<string, number>();
			for (const m of text.matchAll(/HTTP REQUEST[^\n]*\n[^\n]*DEBUG : ([A-Z]+) /g)) methods.set(m[1], (methods.get(m[1]) ?? 0) + 1);
			const total = (text.match(/HTTP REQUEST/g) ?? []).length;
			rmSync(dir, { recursive: true, force: true });
			await removeBucket(client, bucket);
			const perObject = total / small.length;
			const name = contenders[2].name;
			const r = results.get(name)!;
			r.requests = Math.round(perObject * objects.length);
			r.detail = `≈ ${fmt(perObject, 2)} per object, counted with --dump headers on ${small.length} objects (${[...methods.entries()].map(([k, v]) => `${k} ${v}`).join(', ')})`;
			rcloneCountNote = r.detail;
		}
		const bare = results.get(contenders[0].name)!;
		const ours = results.get(contenders[1].name)!;
		const rclone = contenders[2] ? results.get(contenders[2].name) : undefined;
		for (const contender of contenders) {
			const r = results.get(contender.name)!;
			rows.push([
				contender.name,
				fmt(r.ms / 1000, 1),
				fmt(n / (r.ms / 1000), 0),
				ratio(r.ms, bare.ms),
				rclone ? ratio(r.ms, rclone.ms) : '–',
				Number.isNaN(r.requests) ? '?' : String(r.requests),
				String(r.remaining),
			]);
		}
		out.push('### Retention sweep (expired records deleted)');
		out.push('');
		out.push(`Machine: ${machineLine(['node', 'awsSdk', 'rclone', 'ceph'])}.`);
		out.push(
			`Command: \`npx tsx bench/sweep.ts --n ${n} --n-locked ${nLocked}\`. Part A: unversioned buckets, one identical population each: ${n} expired + ${expected.kept / 2} matter-held + ${expected.kept / 2} unexpired 1-byte objects under \`${PREFIX}/${CLASS}/\`, policy ${CLASS} = ${RETENTION}, \`X-Amz-Meta-Mtime\` = record date (last population written at ${fmt(populateRate, 0)} PUT/s). One run each (a population is consumed by its sweep); same machine, same minute.`,
		);
		out.push('');
		out.push(table(['sweeper', 'wall s', 'deleted/s', 'time vs bare loop', 'time vs rclone', 'HTTP requests', 'objects left'], rows));
		out.push('');
		out.push(`Objects that must stay: ${expected.kept} (matter-held + unexpired). rclone has no notion of matters: it deletes the held records too (only unexpired ones are left).`);
		out.push(`Requests: ours ${ours.detail}; bare loop ${bare.detail}${rclone ? `; rclone ${rcloneCountNote}` : ''}.`);
		// ≈ 2·⌈V/1000⌉: one listing page and one DeleteObjects per 1000 (V = every object listed, kept
		// ones included), plus a few fixed requests (lock configuration, reports listing, plan, report).
		const target = 2 * Math.ceil(objects.length / 1000);
		const goals = [
			rclone ? `time ≤ 0.15× rclone: ${ours.ms / rclone.ms <= 0.15 ? 'met' : 'missed'} (${ratio(ours.ms, rclone.ms)})` : 'rclone skipped',
			`rate ≥ 0.9× bare loop: ${bare.ms / ours.ms >= 0.9 ? 'met' : 'missed'} (${ratio(bare.ms, ours.ms)})`,
			`requests ≈ 2·⌈V/1000⌉ = ${target} (V = ${objects.length} listed): ${ours.requests} (${ours.requests <= target + 10 ? 'met' : 'missed'})`,
		];
		out.push(`Goals: ${goals.join('; ')}.`);
		out.push('');

		// ---------------- Part B: Object Lock bucket
		if (!hasFlag('skip-locked')) {
			const lockedObjects = population(nLocked, true);
			const lockedContenders = [
				{
					name: 'bare ListObjectVersions + DeleteObjects loop',
					run: async (bucket: string) => {
						counter.reset();
						const start = now();
						await bareLoop(client, bucket, true);
						return { ms: now() - start, requests: counter.total, detail: counter.describe() };
					},
				},
				{
					name: 'lib/retention executeSweep (plan + signed report)',
					run: async (bucket: string) => {
						counter.reset();
						const start = now();
						const result = await executeSweep({ client, bucket, policy, matters: [matter], signer, concurrency });
						if (result.deleted.count !== nLocked) throw new Error(`executeSweep deleted ${result.deleted.count}, expected ${nLocked}`);
						return { ms: now() - start, requests: counter.total, detail: counter.describe() };
					},
				},
			];
			const lockedResults = new Map<string, { ms: number; requests: number; detail: string; remaining: number }>();
			for (const contender of lockedContenders) {
				const bucket = await createBucket(client, 'sweep-lock', { objectLock: true });
				progress(`sweep (Object Lock): populating ${lockedObjects.length} objects for "${contender.name}"`);
				await populate(client, bucket, lockedObjects, populateConcurrency);
				progress(`sweep (Object Lock): ${contender.name}`);
				const r = await contender.run(bucket);
				const remaining = await countObjects(client, bucket);
				lockedResults.set(contender.name, { ...r, remaining });
				progress(`  ${fmt(r.ms / 1000, 1)} s, ${r.requests} requests, ${remaining} versions left`);
				await removeBucket(client, bucket);
			}
			const lb = lockedResults.get(lockedContenders[0].name)!;
			for (const contender of lockedContenders) {
				const r = lockedResults.get(contender.name)!;
				lockedRows.push([contender.name, fmt(r.ms / 1000, 1), fmt(nLocked / (r.ms / 1000), 0), ratio(r.ms, lb.ms), String(r.requests), String(r.remaining)]);
			}
			const lo = lockedResults.get(lockedContenders[1].name)!;
			const extra = Math.max(10, Math.round(nLocked / 100));
			out.push(
				`Part B: Object Lock bucket (versioned), ${nLocked} expired + ${extra} matter-held + ${extra} unexpired + ${extra} legal hold ON + ${extra} GOVERNANCE retain-until in the future. The planner reads GetObjectLegalHold + GetObjectRetention for every deletion candidate (concurrency ${concurrency}); the bare loop just tries and gets per-key AccessDenied for legal-hold/retained versions (and deletes the matter-held ones).`,
			);
			out.push('');
			out.push(table(['sweeper', 'wall s', 'deleted/s', 'time vs bare loop', 'HTTP requests', 'versions left'], lockedRows));
			out.push('');
			out.push(`Requests: ours ${lo.detail}; bare loop ${lb.detail}.`);
			out.push('');
		}
		process.stdout.write(out.join('\n') + '\n');
	} finally {
		await removeAllBuckets(client);
		collectGarbage();
		key.dispose();
	}
}

main().catch((error) => {
	process.stderr.write(`${(error as Error).stack}\n`);
	process.exit(1);
});
