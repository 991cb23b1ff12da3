/**
 * executeSweep against the local Ceph RGW store: DeleteObjects batches in flight (report order,
 * request count, interruption), delete markers sent only after the versions under them, and Object
 * Lock left to the store (no per-version lookups, no bypass header, refusals reported as skipped).
 */
import { GetObjectLegalHoldCommand, GetObjectRetentionCommand, type S3Client } from '@aws-sdk/client-s3';

import { createS3Client } from '../../../lib/s3';
import {
	executeSweep,
	placeHold,
	planSweep,
	readAuditObject,
	runObjectKeys,
	type PlanDocument,
	type ReportDocument,
} from '../../../lib/retention';
import { makeBucket, s3Settings } from '../../helpers/s3';
import { HEX32, addDeleteMarker, listVersionRefs, pool, putVersion } from './population';

const PREFIX = 'archive';
const POLICY = { prefix: PREFIX, classes: [{ name: 'default', retention: 'P1Y' }] };

let client: S3Client;
beforeAll(() => {
	client = createS3Client(s3Settings());
});
afterAll(() => client.destroy());

const expiredKey = (phoneNumberId = '1055500000') => `${PREFIX}/default/${phoneNumberId}/2019/03/04/${HEX32()}/${HEX32()}.pgp`;

/** What one DeleteObjects request carried, with when it was sent and answered. */
interface SeenRequest {
	objects: Array<{ Key: string; VersionId?: string }>;
	headers: Record<string, string>;
	sentAt: number;
	answeredAt: number;
}

/**
 * Records every request the client sends while `fn` runs: the command names, and for DeleteObjects
 * the objects, headers and timing. `delay(n)` may hold the n-th DeleteObjects answer back (ms).
 */
async function watchRequests<T>(fn: () => Promise<T>, delay?: (n: number) => number): Promise<{ value: T; commands: string[]; deletes: SeenRequest[]; maxInFlight: number }> {
	const commands: string[] = [];
	const deletes: SeenRequest[] = [];
	let inFlight = 0;
	let maxInFlight = 0;
	client.middlewareStack.add(
		(next, context) => async (args) => {
			commands.push(context.commandName ?? '?');
			if (context.commandName !== 'DeleteObjectsCommand') return await next(args);
			const n = deletes.length;
			const seen: SeenRequest = {
				objects: (args.input as { Delete: { Objects: SeenRequest['objects'] } }).Delete.Objects,
				headers: { ...(args.request as { headers: Record<string, string> }).headers },
				sentAt: Date.now(),
				answeredAt: 0,
			};
			deletes.push(seen);
			inFlight += 1;
			maxInFlight = Math.max(maxInFlight, inFlight);
			try {
				const output = await next(args);
				const ms = delay?.(n) ?? 0;
				if (ms > 0) await new Promise((resolve) => setTimeout(resolve, ms));
				return output;
			} finally {
				inFlight -= 1;
				seen.answeredAt = Date.now();
			}
		},
		{ step: 'finalizeRequest', name: 'watchRequests', override: true },
	);
	try {
		const value = await fn();
		return { value, commands, deletes, maxInFlight };
	} finally {
		client.middlewareStack.remove('watchRequests');
	}
}

describe('batches in flight', () => {
	it('sends up to batchesInFlight DeleteObjects at once, and the report keeps the plan order when answers arrive out of order', async () => {
		const bucket = await makeBucket(client, { versioning: true });
		const keys = Array.from({ length: 95 }, () => expiredKey());
		await pool(keys, 16, async (key) => {
			await putVersion(client, bucket, key, { body: Buffer.from('v') });
		});
		// Early batches answer last: completion order is the reverse of the send order.
		const watched = await watchRequests(
			() => executeSweep({ client, bucket, policy: POLICY, batchSize: 10, batchesInFlight: 8, reportLock: null }),
			(n) => Math.max(0, 400 - 50 * n),
		);
		const result = watched.value;
		expect(result.deleted.count).toBe(95);
		expect(result.deleteRequests).toBe(10); // ⌈95 / 10⌉
		expect(watched.deletes).toHaveLength(10);
		expect(watched.maxInFlight).toBe(8);
		// the answers really came back out of order …
		const answerOrder = watched.deletes.map((d, i) => ({ i, at: d.answeredAt })).sort((a, b) => a.at - b.at).map((d) => d.i);
		expect(answerOrder).not.toEqual([...answerOrder].sort((a, b) => a - b));
		// … yet the entries follow the write-ahead plan, and both follow the listing order
		const plan = (await readAuditObject<PlanDocument>(client, bucket, result.planKey!)).document;
		const report = (await readAuditObject<ReportDocument>(client, bucket, result.reportKey!)).document;
		const refs = (list: Array<{ key: string; versionId: string }>) => list.map((v) => `${v.key}#${v.versionId}`);
		expect(refs(report.entries)).toEqual(refs(plan.deletions));
		expect(refs(result.entries)).toEqual(refs(plan.deletions));
		expect(plan.deletions.map((d) => d.key)).toEqual([...keys].sort());
		expect(report.summary.deleted.count).toBe(95);
		expect(await listVersionRefs(client, bucket, `${PREFIX}/default/`)).toEqual([]);
	});

	it('batchesInFlight 1 sends one request at a time; bad values are refused before anything is sent', async () => {
		const bucket = await makeBucket(client, { versioning: true });
		await pool(Array.from({ length: 25 }, () => expiredKey()), 8, async (key) => {
			await putVersion(client, bucket, key);
		});
		const watched = await watchRequests(() => executeSweep({ client, bucket, policy: POLICY, batchSize: 10, batchesInFlight: 1, reportLock: null }));
		expect(watched.value.deleteRequests).toBe(3);
		expect(watched.maxInFlight).toBe(1);
		for (const bad of [0, 33, 1.5]) {
			await expect(executeSweep({ client, bucket, policy: POLICY, batchesInFlight: bad })).rejects.toThrow(/batchesInFlight must be an integer from 1 to 32/);
		}
	});

	it('interrupted with batches in flight: those in flight finish and are reported, the rest is deferred, the rerun completes', async () => {
		const bucket = await makeBucket(client, { versioning: true });
		const keys = Array.from({ length: 200 }, () => expiredKey());
		await pool(keys, 16, async (key) => {
			await putVersion(client, bucket, key);
		});
		const controller = new AbortController();
		let answered = 0;
		client.middlewareStack.add(
			(next, context) => async (args) => {
				const output = await next(args);
				if (context.commandName === 'DeleteObjectsCommand' && ++answered === 1) controller.abort();
				return output;
			},
			{ step: 'initialize', name: 'abortAfterFirstAnswer', override: true },
		);
		let first;
		try {
			first = await executeSweep({ client, bucket, policy: POLICY, batchSize: 20, batchesInFlight: 4, signal: controller.signal, reportLock: null });
		} finally {
			client.middlewareStack.remove('abortAfterFirstAnswer');
		}
		// 4 batches were on their way when the first answer came: all 4 finished, no 5th was sent.
		expect(first.deleteRequests).toBe(4);
		expect(first.deleted.count).toBe(80);
		expect(first.deferred.count).toBe(120);
		expect(await listVersionRefs(client, bucket, `${PREFIX}/default/`)).toHaveLength(120);
		const plan = (await readAuditObject<PlanDocument>(client, bucket, first.planKey!)).document;
		const report = (await readAuditObject<ReportDocument>(client, bucket, first.reportKey!)).document;
		expect(plan.deletions).toHaveLength(200);
		// the reported 80 are the first 80 of the plan, in its order
		expect(report.entries.map((e) => e.versionId)).toEqual(plan.deletions.slice(0, 80).map((d) => d.versionId));
		expect(report.summary).toMatchObject({ deleted: { count: 80 }, skipped: { count: 0 }, deferred: { count: 120 } });

		const rerun = await executeSweep({ client, bucket, policy: POLICY, batchSize: 20, reportLock: null });
		expect(rerun.deleted.count).toBe(120);
		expect(rerun.recoveredRuns).toEqual([]); // the first run wrote its report
		expect(await listVersionRefs(client, bucket, `${PREFIX}/default/`)).toEqual([]);
	});
});

describe('delete markers', () => {
	it('a delete marker is sent only after every planned version under it is gone', async () => {
		const bucket = await makeBucket(client, { versioning: true });
		const keys = Array.from({ length: 12 }, () => expiredKey());
		await pool(keys, 6, async (key) => {
			await putVersion(client, bucket, key);
			await putVersion(client, bucket, key);
		});
		const markers = new Set(await Promise.all(keys.slice(0, 6).map((key) => addDeleteMarker(client, bucket, key))));
		const watched = await watchRequests(() => executeSweep({ client, bucket, policy: POLICY, batchSize: 5, batchesInFlight: 4, reportLock: null }));
		expect(watched.value.deleted.count).toBe(30);
		expect(watched.deletes).toHaveLength(Math.ceil(24 / 5) + Math.ceil(6 / 5));
		const lastVersionAnswer = Math.max(...watched.deletes.filter((d) => d.objects.some((o) => !markers.has(o.VersionId!))).map((d) => d.answeredAt));
		for (const request of watched.deletes.filter((d) => d.objects.some((o) => markers.has(o.VersionId!)))) {
			expect(request.objects.every((o) => markers.has(o.VersionId!))).toBe(true);
			expect(request.sentAt).toBeGreaterThanOrEqual(lastVersionAnswer);
		}
		// still one entry per version in the plan's order (a marker before the versions under it)
		const plan = (await readAuditObject<PlanDocument>(client, bucket, watched.value.planKey!)).document;
		expect(watched.value.entries.map((e) => e.versionId)).toEqual(plan.deletions.map((d) => d.versionId));
		expect(await listVersionRefs(client, bucket, `${PREFIX}/default/`)).toEqual([]);
	});

	it('a delete marker over a version the store refuses stays, so the refused version does not become current again', async () => {
		const bucket = await makeBucket(client, { objectLock: true });
		const key = expiredKey();
		const held = await putVersion(client, bucket, key, { legalHold: true });
		const marker = await addDeleteMarker(client, bucket, key);
		const result = await executeSweep({ client, bucket, policy: POLICY, reportLock: null });
		expect(result.deleted.count).toBe(0);
		expect(result.entries.map((e) => [e.versionId, e.status])).toEqual([
			[marker, 'skipped'],
			[held, 'skipped'],
		]);
		expect(result.entries[0].reason).toBe(`not sent: the store kept version ${held} under this delete marker, which would become current again`);
		expect(result.entries[1].reason).toMatch(/^refused by the store: Object Lock retention or legal hold \(AccessDenied/);
		expect(result.deleteRequests).toBe(1); // the marker was never sent
		expect(await listVersionRefs(client, bucket, `${PREFIX}/default/`)).toEqual([`${key}#${held}`, `${key}#${marker}`].sort());
	});
});

describe('Object Lock: the store refuses, executeSweep reports', () => {
	it('legal hold ON, GOVERNANCE and COMPLIANCE retain-until ahead survive; no lock lookups, no bypass header; matter-held versions are never sent', async () => {
		const bucket = await makeBucket(client, { objectLock: true });
		const inAnHour = new Date(Date.now() + 3600_000);
		const plain = expiredKey();
		const legalHold = expiredKey();
		const governance = expiredKey();
		const compliance = expiredKey();
		const matter = expiredKey('1099900001');
		const versions = {
			plain: await putVersion(client, bucket, plain),
			legalHold: await putVersion(client, bucket, legalHold, { legalHold: true }),
			governance: await putVersion(client, bucket, governance, { lock: { mode: 'GOVERNANCE', until: inAnHour } }),
			compliance: await putVersion(client, bucket, compliance, { lock: { mode: 'COMPLIANCE', until: inAnHour } }),
			matter: await putVersion(client, bucket, matter),
		};
		await placeHold({
			client,
			bucket,
			prefix: PREFIX,
			matterId: 'CASE-7',
			scope: { phoneNumberIds: ['1099900001'] },
			actor: 'legal@example.org',
			reason: 'inquiry',
			applyLegalHoldFlag: false, // the registry alone must keep it out of every DeleteObjects
		});

		// The dry run reads the lock state and says why each stays.
		const dryRun = await planSweep({ client, bucket, policy: POLICY });
		expect(dryRun.lockStatusRead).toBe(true);
		expect(dryRun.deletions.map((v) => v.key)).toEqual([plain]);
		expect(Object.fromEntries(dryRun.protected.map((v) => [v.key, v.reason]))).toEqual({
			[legalHold]: 'legal-hold',
			[governance]: 'retain-until',
			[compliance]: 'retain-until',
			[matter]: 'matter',
		});

		const watched = await watchRequests(() => executeSweep({ client, bucket, policy: POLICY, reportLock: { mode: 'GOVERNANCE', retention: 'P1D' } }));
		const result = watched.value;
		expect(watched.commands).not.toContain('GetObjectLegalHoldCommand');
		expect(watched.commands).not.toContain('GetObjectRetentionCommand');
		expect(watched.deletes).toHaveLength(1);
		const sent = watched.deletes[0];
		expect(Object.keys(sent.headers).map((h) => h.toLowerCase())).not.toContain('x-amz-bypass-governance-retention');
		expect(sent.objects.map((o) => o.Key).sort()).toEqual([plain, legalHold, governance, compliance].sort());
		expect(sent.objects.every((o) => o.VersionId)).toBe(true);

		expect(result.plan).toMatchObject({ objectLockEnabled: true, lockStatusRead: false });
		expect(result.deleted.count).toBe(1);
		expect(result.skipped.count).toBe(3);
		const byKey = Object.fromEntries(result.entries.map((e) => [e.key, e]));
		expect(byKey[plain]).toMatchObject({ versionId: versions.plain, status: 'deleted' });
		for (const key of [legalHold, governance, compliance]) {
			expect(byKey[key].status).toBe('skipped');
			expect(byKey[key].reason).toMatch(/^refused by the store: Object Lock retention or legal hold \(AccessDenied/);
		}
		expect(byKey[matter]).toBeUndefined();

		// The store still holds every protected version, with its lock unchanged.
		expect(await listVersionRefs(client, bucket, `${PREFIX}/default/`)).toEqual(
			[
				`${legalHold}#${versions.legalHold}`,
				`${governance}#${versions.governance}`,
				`${compliance}#${versions.compliance}`,
				`${matter}#${versions.matter}`,
			].sort(),
		);
		const hold = await client.send(new GetObjectLegalHoldCommand({ Bucket: bucket, Key: legalHold, VersionId: versions.legalHold }));
		expect(hold.LegalHold?.Status).toBe('ON');
		const retention = await client.send(new GetObjectRetentionCommand({ Bucket: bucket, Key: governance, VersionId: versions.governance }));
		expect(retention.Retention).toMatchObject({ Mode: 'GOVERNANCE' });

		// The signed report says the same: 1 deleted, 3 refused with the reason.
		const report = (await readAuditObject<ReportDocument>(client, bucket, runObjectKeys(PREFIX, result.runId).reportKey)).document;
		expect(report.summary).toMatchObject({ deleted: { count: 1 }, skipped: { count: 3 } });
		expect(report.entries.filter((e) => e.status === 'skipped').map((e) => e.key).sort()).toEqual([legalHold, governance, compliance].sort());
		expect(report.entries.find((e) => e.status === 'deleted')).toMatchObject({ key: plain, reason: expect.stringMatching(/^retention expired/) });
	});
});
