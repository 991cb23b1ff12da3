/**
 * More than 1000 expired versions (ListObjectVersions pagination, DeleteObjects batching), a run
 * capped by maxDeletions and rerun, and a run interrupted before its report and rerun.
 */
import type { S3Client } from '@aws-sdk/client-s3';
import * as openpgp from 'openpgp';

import { createS3Client } from '../../../lib/s3';
import {
	createControlVerifier,
	createReportSigner,
	executeSweep,
	findInterruptedRuns,
	planSweep,
	readAuditObject,
	runObjectKeys,
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

function expiredKey(i: number): string {
	const day = String((i % 28) + 1).padStart(2, '0');
	return `${PREFIX}/default/1055500000/2019/03/${day}/${HEX32()}/${HEX32()}.pgp`;
}

it('deletes 1150 expired versions across pages and batches, capped by maxDeletions then rerun', async () => {
	const bucket = await makeBucket(client, { versioning: true });
	const keys = Array.from({ length: 1100 }, (_, i) => expiredKey(i));
	await pool(keys, 24, async (key) => {
		await putVersion(client, bucket, key, { body: Buffer.from('v') });
	});
	// 50 of them also get a delete marker: 1150 versions in all.
	await pool(keys.slice(0, 50), 16, async (key) => {
		await addDeleteMarker(client, bucket, key);
	});
	const fresh = `${PREFIX}/default/1055500000/${new Date().getUTCFullYear()}/01/01/${HEX32()}/${HEX32()}.pgp`;
	const freshVersion = await putVersion(client, bucket, fresh);

	const plan = await planSweep({ client, bucket, policy: POLICY, pageSize: 400 });
	expect(plan.totals.delete.count).toBe(1150);
	expect(plan.requests.listObjectVersions).toBe(3); // 1151 versions at 400 a page
	expect(plan.requests.getObjectLegalHold).toBe(0); // no Object Lock on this bucket: no per-version reads

	// A cap of about 700 that does not fall between a delete marker and the version under it (a
	// marker is deferred with the versions under it).
	let cap = 700;
	while (plan.deletions[cap - 1].key === plan.deletions[cap].key) cap += 1;
	const first = await executeSweep({ client, bucket, policy: POLICY, maxDeletions: cap, batchSize: 300 });
	expect(first.deleted.count).toBe(cap);
	expect(first.deferred.count).toBe(1150 - cap);
	// ≈ 670 versions in 300 + 300 + ≈ 70, then the ≈ 30 markers over them once those are gone
	expect(first.deleteRequests).toBe(4);
	expect(await listVersionRefs(client, bucket, `${PREFIX}/default/`)).toHaveLength(1151 - cap);

	const second = await executeSweep({ client, bucket, policy: POLICY });
	expect(second.deleted.count).toBe(1150 - cap);
	expect(second.deferred.count).toBe(0);
	expect(second.deleteRequests).toBe(2); // versions, then the markers over them
	expect(second.recoveredRuns).toEqual([]);
	expect(await listVersionRefs(client, bucket, `${PREFIX}/default/`)).toEqual([`${fresh}#${freshVersion}`]);

	const report = (await readAuditObject<ReportDocument>(client, bucket, first.reportKey!)).document;
	expect(report.summary.deferred.count).toBe(1150 - cap);
	expect(report.entries).toHaveLength(cap);
});

it('a run interrupted after deleting writes its report on the next run, which completes the sweep', async () => {
	const bucket = await makeBucket(client, { versioning: true });
	const keys = Array.from({ length: 60 }, (_, i) => expiredKey(i));
	await pool(keys, 16, async (key) => {
		await putVersion(client, bucket, key);
	});
	// Interrupt in the middle: abort after the first batch of 20, then fail in the signer at the report
	// (as a crash between the deletions and the report would); the plan itself is signed.
	const key = await openpgp.generateKey({ type: 'ecc', curve: 'curve25519Legacy', userIDs: [{ name: 'archive' }], format: 'armored' });
	const signer = await createReportSigner({ armoredKey: key.privateKey });
	const verifier = createControlVerifier({ verificationKeys: [await openpgp.readKey({ armoredKey: key.publicKey })] });
	let signatures = 0;
	const controller = new AbortController();
	let batches = 0;
	client.middlewareStack.add(
		(next, context) => async (args) => {
			const output = await next(args);
			if (context.commandName === 'DeleteObjectsCommand' && ++batches === 1) controller.abort();
			return output;
		},
		{ step: 'initialize', name: 'abortAfterFirstBatch', override: true },
	);
	let runId = '';
	try {
		await expect(
			executeSweep({
				client,
				bucket,
				policy: POLICY,
				batchSize: 20,
				batchesInFlight: 1,
				signal: controller.signal,
				runId: (runId = '20260101T000000Z-interrupted'),
				signer: async (data) => {
					if (++signatures === 1) return await signer(data);
					throw new Error('power cut');
				},
			}),
		).rejects.toThrow('power cut');
	} finally {
		client.middlewareStack.remove('abortAfterFirstBatch');
	}
	expect(await listVersionRefs(client, bucket, `${PREFIX}/default/`)).toHaveLength(40);
	expect(await findInterruptedRuns(client, bucket, PREFIX)).toEqual([runId]);

	// A run of a minute ago (still running, perhaps) is left alone: only the old one is recovered.
	const recent = `${new Date(Date.now() - 60_000).toISOString().replace(/[-:]/g, '').slice(0, 15)}Z-recent00`;
	const { writeObject } = await import('../../../lib/archive');
	await writeObject({ client, bucket, key: runObjectKeys(PREFIX, recent).planKey, body: Buffer.from('{"deletions":[]}') });
	const rerun = await executeSweep({ client, bucket, policy: POLICY, batchSize: 20, signer, verifier });
	expect(rerun.recoveredRuns).toEqual([runId]);
	expect(rerun.deleted.count).toBe(40);
	expect(await listVersionRefs(client, bucket, `${PREFIX}/default/`)).toEqual([]);
	expect(await findInterruptedRuns(client, bucket, PREFIX)).toEqual([recent]);

	const recovered = (await readAuditObject<ReportDocument>(client, bucket, runObjectKeys(PREFIX, runId).reportKey)).document;
	expect(recovered.recovered).toBe(true);
	expect(recovered.entries).toHaveLength(60);
	// the 20 the interrupted run deleted are gone; the store cannot tell that from an out-of-band removal
	expect(recovered.entries.filter((e) => e.status === 'deleted')).toHaveLength(0);
	expect(recovered.entries.filter((e) => e.status === 'absent' && /^absent before execution/.test(e.reason))).toHaveLength(20);
	expect(recovered.entries.filter((e) => e.status === 'skipped').every((e) => /still present/.test(e.reason))).toBe(true);
});
