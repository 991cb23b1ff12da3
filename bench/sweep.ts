/**
 * Benchmark 3 — retention sweep: N expired record objects (plus matter-held and unexpired ones)
 * swept by lib/retention `executeSweep` (plan, write-ahead plan object, DeleteObjects batches of 1000
 * with `--in-flight` of them at once, signed deletion report), beside `rclone delete --min-age` and
 * beside a bare list + DeleteObjects loop (one request at a time, and with the same number of
 * DeleteObjects in flight as ours, which shows the store's own ceiling), each on its own identical
 * population (same keys, bodies and `X-Amz-Meta-Mtime`, the record date, so rclone's --min-age sees
 * the record's age). Ours is timed per S3 command (bench/lib/phases.ts) to show where its time goes.
 *
 * Part A (default N = 100 000): unversioned buckets (rclone's `delete` only adds delete markers in a
 * versioned bucket, so it is compared where it really deletes). Part B (smaller N, --n-locked): an
 * Object Lock bucket with legal-hold and GOVERNANCE-retained versions, which the store must refuse;
 * compared with the bare ListObjectVersions + DeleteObjects loop only.
 *
 *   npx tsx bench/sweep.ts [--n 100000] [--n-locked 5000] [--in-flight 4] [--in-flight-sweep 1,2,4,8]
 *                          [--concurrency 16] [--skip-rclone] [--skip-locked]
 *
 * `--concurrency` is rclone's checkers/transfers; `--in-flight-sweep` adds a table of ours at each
 * number of batches in flight (one population each).
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
import { createReportSigner, DEFAULT_BATCHES_IN_FLIGHT, executeSweep, type Matter } from '../lib/retention';
import { generateKey } from './lib/keys';
import { machineLine } from './lib/machine';
import { PhaseClock } from './lib/phases';
import { BENCH_PHONE_NUMBER_ID, prng } from './lib/records';
import { collectGarbage, createBucket, engineClient, removeAllBuckets, removeBucket, RequestCounter, storeReachable, storeSettings } from './lib/s3';
import { flag, fmt, hasFlag, mapLimit, now, numberFlag, progress, ratio } from './lib/stats';
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

/**
 * The bare loop: list a page, delete its expired keys in one DeleteObjects, next page. With
 * `inFlight` > 1 the listing goes on while up to that many DeleteObjects requests are outstanding
 * (the same parallelism as the sweep's `batchesInFlight`), which shows what the store allows.
 */
async function bareLoop(client: S3Client, bucket: string, versioned: boolean, inFlight = 1): Promise<number> {
	const nowMs = Date.now();
	let deleted = 0;
	const pending = new Set<Promise<void>>();
	const remove = async (objects: Array<{ Key: string; VersionId?: string }>) => {
		if (objects.length === 0) return;
		while (pending.size >= inFlight) await Promise.race(pending);
		const request = client
			.send(new DeleteObjectsCommand({ Bucket: bucket, Delete: { Objects: objects, Quiet: true } }))
			.then((r) => {
				deleted += objects.length - (r.Errors?.length ?? 0);
			})
			.finally(() => pending.delete(request));
		pending.add(request);
		if (inFlight === 1) await request;
	};
	if (!versioned) {
		let token: string | undefined;
		do {
			const page = await client.send(new ListObjectsV2Command({ Bucket: bucket, Prefix: `${PREFIX}/${CLASS}/`, ContinuationToken: token, MaxKeys: 1000 }));
			await remove((page.Contents ?? []).filter((o) => o.Key && bareExpired(o.Key, nowMs)).map((o) => ({ Key: o.Key! })));
			token = page.IsTruncated ? page.NextContinuationToken : undefined;
		} while (token);
	} else {
		let keyMarker: string | undefined;
		let versionIdMarker: string | undefined;
		for (;;) {
			const page = await client.send(
				new ListObjectVersionsCommand({ Bucket: bucket, Prefix: `${PREFIX}/${CLASS}/`, KeyMarker: keyMarker, VersionIdMarker: versionIdMarker, MaxKeys: 1000 }),
			);
			await remove(
				[...(page.Versions ?? []), ...(page.DeleteMarkers ?? [])]
					.filter((o) => o.Key && bareExpired(o.Key, nowMs))
					.map((o) => ({ Key: o.Key!, VersionId: o.VersionId })),
			);
			if (!page.IsTruncated) break;
			keyMarker = page.NextKeyMarker;
			versionIdMarker = page.NextVersionIdMarker;
		}
	}
	await Promise.all(pending);
	return deleted;
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

interface RunResult {
	ms: number;
	requests: number;
	detail: string;
	remaining: number;
	phases?: string;
	skipped?: number;
}

async function main(): Promise<void> {
	const n = numberFlag('n', 100_000);
	const nLocked = numberFlag('n-locked', 5000);
	const concurrency = numberFlag('concurrency', 16);
	const inFlight = numberFlag('in-flight', DEFAULT_BATCHES_IN_FLIGHT);
	const inFlightSweep = (flag('in-flight-sweep') ?? '').split(',').filter(Boolean).map(Number);
	const populateConcurrency = numberFlag('populate-concurrency', 32);
	if (!(await storeReachable())) {
		process.stdout.write('### Retention sweep\n\nSkipped: the local S3 store is not reachable (`bash scripts/s3-local.sh start`).\n');
		return;
	}
	const counter = new RequestCounter();
	const client = engineClient(counter);
	const clock = new PhaseClock().attach(client);
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
		verified: true,
	};
	const policy = { prefix: PREFIX, classes: [{ name: CLASS, retention: RETENTION }] };
	const out: string[] = [];
	let populateRate = 0;

	/** One contender on a fresh bucket with its own copy of `objects`; the bucket is removed afterwards. */
	const runOn = async (
		objects: PopObject[],
		bucketOptions: { objectLock?: boolean },
		label: string,
		run: (bucket: string) => Promise<Omit<RunResult, 'remaining'>>,
	): Promise<RunResult> => {
		const bucket = await createBucket(client, bucketOptions.objectLock ? 'sweep-lock' : 'sweep', bucketOptions);
		progress(`sweep: populating ${objects.length} objects for "${label}" (concurrency ${populateConcurrency})`);
		populateRate = await populate(client, bucket, objects, populateConcurrency);
		progress(`sweep: ${label}`);
		const r = await run(bucket);
		const remaining = await countObjects(client, bucket);
		progress(`  ${fmt(r.ms / 1000, 1)} s, ${Number.isNaN(r.requests) ? '?' : r.requests} requests, ${remaining} left`);
		await removeBucket(client, bucket);
		collectGarbage();
		return { ...r, remaining };
	};
	const bare = (versioned: boolean, parallel: number) => async (bucket: string) => {
		counter.reset();
		const start = now();
		await bareLoop(client, bucket, versioned, parallel);
		return { ms: now() - start, requests: counter.total, detail: counter.describe() };
	};
	const ours = (expectedDeleted: number, batchesInFlight: number, reportLock?: null) => async (bucket: string) => {
		counter.reset();
		clock.start();
		const start = now();
		const result = await executeSweep({ client, bucket, policy, matters: [matter], signer, batchesInFlight, ...(reportLock === null ? { reportLock } : {}) });
		const ms = now() - start;
		clock.stop();
		if (result.deleted.count !== expectedDeleted) throw new Error(`executeSweep deleted ${result.deleted.count}, expected ${expectedDeleted}`);
		return { ms, requests: counter.total, detail: counter.describe(), phases: clock.describe(ms), skipped: result.skipped.count };
	};

	try {
		// ---------------- Part A: unversioned buckets
		const objects = population(n, false);
		const kept = objects.length - n;
		const names = {
			bare: 'bare ListObjectsV2 + DeleteObjects loop',
			bareParallel: `bare loop, ${inFlight} DeleteObjects in flight`,
			ours: `lib/retention executeSweep, ${inFlight} batches in flight (plan + signed report)`,
			rclone: `rclone delete --min-age (checkers/transfers ${concurrency})`,
		};
		const results = new Map<string, RunResult>();
		// Ours runs between the two bare loops, so the store's load drift touches both sides.
		results.set(names.bare, await runOn(objects, {}, names.bare, bare(false, 1)));
		results.set(names.ours, await runOn(objects, {}, names.ours, ours(n, inFlight, null)));
		if (inFlight > 1) results.set(names.bareParallel, await runOn(objects, {}, names.bareParallel, bare(false, inFlight)));
		let rcloneCountNote = '';
		if (!hasFlag('skip-rclone')) {
			results.set(
				names.rclone,
				await runOn(objects, {}, names.rclone, async (bucket) => {
					const r = await rcloneDelete(bucket, concurrency);
					if (r.code !== 0) throw new Error(`rclone failed: ${r.stderr.slice(-1000)}`);
					return { ms: r.ms, requests: Number.NaN, detail: '' };
				}),
			);
			// rclone's requests, counted on a smaller identical-shape population with --dump headers.
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
			const r = results.get(names.rclone)!;
			r.requests = Math.round(perObject * objects.length);
			rcloneCountNote = `≈ ${fmt(perObject, 2)} per object, counted with --dump headers on ${small.length} objects (${[...methods.entries()].map(([k, v]) => `${k} ${v}`).join(', ')})`;
		}
		const bareResult = results.get(names.bare)!;
		const oursResult = results.get(names.ours)!;
		const rcloneResult = results.get(names.rclone);
		const rows = [...results.entries()].map(([name, r]) => [
			name,
			fmt(r.ms / 1000, 1),
			fmt(n / (r.ms / 1000), 0),
			ratio(r.ms, bareResult.ms),
			rcloneResult ? ratio(r.ms, rcloneResult.ms) : '–',
			Number.isNaN(r.requests) ? '?' : String(r.requests),
			String(r.remaining),
		]);
		out.push('### Retention sweep (expired records deleted)');
		out.push('');
		out.push(`Machine: ${machineLine(['node', 'awsSdk', 'rclone', 'ceph'])}.`);
		out.push(
			`Command: \`npx tsx bench/sweep.ts --n ${n} --n-locked ${nLocked}${inFlight !== DEFAULT_BATCHES_IN_FLIGHT ? ` --in-flight ${inFlight}` : ''}\`. Part A: unversioned buckets, one identical population each: ${n} expired + ${kept / 2} matter-held + ${kept / 2} unexpired 1-byte objects under \`${PREFIX}/${CLASS}/\`, policy ${CLASS} = ${RETENTION}, \`X-Amz-Meta-Mtime\` = record date (last population written at ${fmt(populateRate, 0)} PUT/s). One run each (a population is consumed by its sweep), one after the other.`,
		);
		out.push('');
		out.push(table(['sweeper', 'wall s', 'deleted/s', 'time vs bare loop', 'time vs rclone', 'HTTP requests', 'objects left'], rows));
		out.push('');
		out.push(`Objects that must stay: ${kept} (matter-held + unexpired). rclone has no notion of matters: it deletes the held records too (only unexpired ones are left).`);
		out.push(`Where ours spent its ${fmt(oursResult.ms / 1000, 1)} s (per command: wall time with at least one request in flight): ${oursResult.phases}.`);
		const requestNotes = [...results.entries()]
			.filter(([name]) => name !== names.rclone)
			.map(([name, r]) => `${name === names.ours ? 'ours' : name}: ${r.detail}`);
		if (rcloneCountNote) requestNotes.push(`rclone ${rcloneCountNote}`);
		out.push(`Requests: ${requestNotes.join('; ')}.`);
		// ≈ 2·⌈V/1000⌉: one listing page and one DeleteObjects per 1000 (V = every object listed, kept
		// ones included), plus a few fixed requests (lock configuration, reports listing, plan, report).
		const target = 2 * Math.ceil(objects.length / 1000);
		const goals = [
			rcloneResult ? `time ≤ 0.15× rclone: ${oursResult.ms / rcloneResult.ms <= 0.15 ? 'met' : 'missed'} (${ratio(oursResult.ms, rcloneResult.ms)})` : 'rclone skipped',
			`rate ≥ 0.9× bare loop: ${bareResult.ms / oursResult.ms >= 0.9 ? 'met' : 'missed'} (${fmt(bareResult.ms / oursResult.ms, 3)}×)`,
			`requests ≈ 2·⌈V/1000⌉ = ${target} (V = ${objects.length} listed): ${oursResult.requests} (${oursResult.requests <= target + 10 ? 'met' : 'missed'})`,
		];
		out.push(`Goals: ${goals.join('; ')}.`);
		out.push('');

		// ---------------- batches in flight, ours only
		if (inFlightSweep.length > 0) {
			const sweepRows: string[][] = [];
			for (const value of inFlightSweep) {
				const r = await runOn(objects, {}, `executeSweep, ${value} in flight`, ours(n, value, null));
				sweepRows.push([String(value), fmt(r.ms / 1000, 1), fmt(n / (r.ms / 1000), 0), String(r.requests)]);
			}
			out.push(`executeSweep by batches in flight (same population, one run each):`);
			out.push('');
			out.push(table(['batches in flight', 'wall s', 'deleted/s', 'HTTP requests'], sweepRows));
			out.push('');
		}

		// ---------------- Part B: Object Lock bucket
		if (!hasFlag('skip-locked')) {
			const lockedObjects = population(nLocked, true);
			const extra = Math.max(10, Math.round(nLocked / 100));
			const lockedNames = {
				bare: 'bare ListObjectVersions + DeleteObjects loop',
				ours: `lib/retention executeSweep, ${inFlight} batches in flight (plan + signed report)`,
			};
			const lockedResults = new Map<string, RunResult>();
			lockedResults.set(lockedNames.bare, await runOn(lockedObjects, { objectLock: true }, lockedNames.bare, bare(true, 1)));
			lockedResults.set(lockedNames.ours, await runOn(lockedObjects, { objectLock: true }, lockedNames.ours, ours(nLocked, inFlight)));
			const lb = lockedResults.get(lockedNames.bare)!;
			const lo = lockedResults.get(lockedNames.ours)!;
			const lockedRows = [...lockedResults.entries()].map(([name, r]) => [
				name,
				fmt(r.ms / 1000, 1),
				fmt(nLocked / (r.ms / 1000), 0),
				ratio(r.ms, lb.ms),
				String(r.requests),
				String(r.remaining),
			]);
			out.push(
				`Part B: Object Lock bucket (versioned), ${nLocked} expired + ${extra} matter-held + ${extra} unexpired + ${extra} legal hold ON + ${extra} GOVERNANCE retain-until in the future. Neither sweeper reads legal hold or retention per version: both send DeleteObjects with version ids and no bypass header, and the store refuses the legal-hold and retained versions per key (AccessDenied). Both skip the matter-held phone number (ours from its matter registry, the bare loop by rule).`,
			);
			out.push('');
			out.push(table(['sweeper', 'wall s', 'deleted/s', 'time vs bare loop', 'HTTP requests', 'versions left'], lockedRows));
			out.push('');
			out.push(
				`Versions that must stay: ${4 * extra}. Ours reported ${lo.skipped} skipped entries ("refused by the store: Object Lock retention or legal hold").`,
			);
			out.push(`Where ours spent its ${fmt(lo.ms / 1000, 1)} s: ${lo.phases}.`);
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
