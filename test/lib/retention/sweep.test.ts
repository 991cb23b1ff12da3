/**
 * Plan and execute against the local Ceph RGW store (`bash scripts/s3-local.sh start`): random
 * populations across several classes; the versions left after the sweep are compared with the ground
 * truth by listing every version.
 */
import type { S3Client } from '@aws-sdk/client-s3';

import { createS3Client } from '../../../lib/s3';
import { executeSweep, placeHold, planSweep, readAuditObject, type PlanDocument, type ReportDocument } from '../../../lib/retention';
import { makeBucket, s3Settings } from '../../helpers/s3';
import { expectedSurvivors, listVersionRefs, putVersion, writePopulation, HEX32 } from './population';

const PREFIX = 'archive';
const CLASSES = { default: 1, mifid: 5, 'sec-17a-4': 3 };
const POLICY = {
	prefix: PREFIX,
	classes: [
		{ name: 'default', retention: 'P1Y' },
		{ name: 'mifid', retention: 'P5Y' },
		{ name: 'sec-17a-4', retention: 'P3Y' },
	],
};

let client: S3Client;

beforeAll(() => {
	client = createS3Client(s3Settings());
});
afterAll(() => client.destroy());

describe.each([11, 2026])('random population (seed %i)', (seed) => {
	it('deletes every expired version and nothing else', async () => {
		const bucket = await makeBucket(client, { objectLock: true });
		const truths = await writePopulation({
			client,
			bucket,
			prefix: PREFIX,
			classes: CLASSES,
			count: 90,
			seed,
			matterPhoneNumberId: '1099900001',
		});
		// Something outside the policy that must never be touched: an unknown class and a stray file.
		const strayA = `${PREFIX}/unlisted/1055500000/2001/01/01/${HEX32()}/${HEX32()}.pgp`;
		const strayB = `${PREFIX}/default/notes.txt`;
		const strays = [`${strayA}#${await putVersion(client, bucket, strayA)}`, `${strayB}#${await putVersion(client, bucket, strayB)}`];
		await placeHold({
			client,
			bucket,
			prefix: PREFIX,
			matterId: 'SEC-2026-014',
			scope: { phoneNumberIds: ['1099900001'] },
			actor: 'legal@example.org',
			reason: 'inquiry',
			applyLegalHoldFlag: false, // registry only: the matter alone must hold these
		});

		const plan = await planSweep({ client, bucket, policy: POLICY });
		const expected = expectedSurvivors(truths);
		const expectDeleted = truths.length - expected.length;
		expect(plan.totals.delete.count).toBe(expectDeleted);
		expect(plan.deletions).toHaveLength(expectDeleted);
		expect(plan.totals.keep.count).toBe(truths.filter((t) => !t.expired).length);
		expect(plan.classes.reduce((n, c) => n + c.keep.count + c.delete.count + c.held.count + c.locked.count + c.error.count, 0)).toBe(truths.length);
		expect(plan.objectLockEnabled).toBe(true);
		expect(plan.matterIds).toEqual(['SEC-2026-014']);
		expect(plan.unmanaged.count).toBe(1); // notes.txt under a class prefix; "unlisted" is not listed at all
		// Every expired protected version is explained.
		const reasons = new Set(plan.protected.map((v) => v.reason));
		expect(reasons).toEqual(new Set(['matter', 'legal-hold', 'retain-until', ...(plan.protected.some((v) => v.isDeleteMarker) ? ['marker-over-retained-version'] : [])]));
		// Only deletion candidates (expired, not matter-held, not markers) had their lock state read.
		const candidates = truths.filter((t) => t.expired && !t.isDeleteMarker && t.kind !== 'matter').length;
		expect(plan.requests.getObjectLegalHold).toBe(candidates);
		expect(plan.requests.getObjectRetention).toBe(candidates);
		// Nothing changed by planning.
		const before = await listVersionRefs(client, bucket);
		expect(before).toHaveLength(truths.length + 3 /* strays + hold event */);

		// Execute reads no lock status: the store refuses the legal-held and retained versions.
		const refusable = plan.protected.filter((v) => v.reason === 'legal-hold' || v.reason === 'retain-until');
		const markersOverPlanned = plan.deletions.filter(
			(m) => m.isDeleteMarker && plan.deletions.some((v) => !v.isDeleteMarker && v.key === m.key),
		);
		const result = await executeSweep({ client, bucket, policy: POLICY });
		expect(result.plan.lockStatusRead).toBe(false);
		expect(result.plan.requests.getObjectLegalHold + result.plan.requests.getObjectRetention).toBe(0);
		expect(result.deleted.count).toBe(expectDeleted);
		expect(result.skipped.count).toBe(refusable.length);
		// one batch, plus one for the delete markers, sent once the versions under them are gone
		expect(result.deleteRequests).toBe(markersOverPlanned.length > 0 ? 2 : 1);
		const after = (await listVersionRefs(client, bucket, `${PREFIX}/`)).filter(
			(ref) => !ref.startsWith(`${PREFIX}/_reports/`) && !ref.startsWith(`${PREFIX}/_holds/`),
		);
		expect(after).toEqual([...expected, ...strays].sort());

		const { document } = await readAuditObject<ReportDocument>(client, bucket, result.reportKey!);
		const deleted = document.entries.filter((e) => e.status === 'deleted');
		const skipped = document.entries.filter((e) => e.status === 'skipped');
		expect(deleted.map((e) => `${e.key}#${e.versionId}`).sort()).toEqual(plan.deletions.map((v) => `${v.key}#${v.versionId}`).sort());
		expect(deleted.every((e) => e.reason.startsWith('retention expired'))).toBe(true);
		expect(skipped.map((e) => `${e.key}#${e.versionId}`).sort()).toEqual(refusable.map((v) => `${v.key}#${v.versionId}`).sort());
		expect(skipped.every((e) => /^refused by the store: Object Lock retention or legal hold \(AccessDenied/.test(e.reason))).toBe(true);
		expect(document.summary).toMatchObject({ deleted: { count: expectDeleted }, skipped: { count: refusable.length } });
		// Entries follow the write-ahead plan's order (the listing order).
		const { document: written } = await readAuditObject<PlanDocument>(client, bucket, result.planKey!);
		expect(document.entries.map((e) => `${e.key}#${e.versionId}`)).toEqual(written.deletions.map((d) => `${d.key}#${d.versionId}`));

		// A second run deletes nothing more; it tries the locked versions again and the store refuses them again.
		const again = await executeSweep({ client, bucket, policy: POLICY });
		expect(again.deleted.count).toBe(0);
		expect(again.skipped.count).toBe(refusable.length);
		expect((await listVersionRefs(client, bucket, `${PREFIX}/`)).filter((ref) => !ref.startsWith(`${PREFIX}/_`))).toEqual(
			[...expected, ...strays].sort(),
		);
	});
});

it('sends Content-MD5 and no CRC32 header on DeleteObjects', async () => {
	const bucket = await makeBucket(client, { versioning: true });
	const key = `${PREFIX}/default/1055500000/2001/02/03/${HEX32()}/${HEX32()}.pgp`;
	await putVersion(client, bucket, key);
	const seen: Array<Record<string, string>> = [];
	client.middlewareStack.add(
		(next, context) => async (args) => {
			if (context.commandName === 'DeleteObjectsCommand') seen.push({ ...(args.request as { headers: Record<string, string> }).headers });
			return next(args);
		},
		{ step: 'finalizeRequest', name: 'spyDeleteObjectsHeaders', override: true },
	);
	try {
		const result = await executeSweep({ client, bucket, policy: POLICY });
		expect(result.deleted.count).toBe(1);
	} finally {
		client.middlewareStack.remove('spyDeleteObjectsHeaders');
	}
	expect(seen).toHaveLength(1);
	const names = Object.keys(seen[0]).map((h) => h.toLowerCase());
	expect(names).toContain('content-md5');
	expect(names.filter((h) => h.startsWith('x-amz-checksum-') || h === 'x-amz-sdk-checksum-algorithm')).toEqual([]);
});

it('deletes a COMPLIANCE version once its retain-until has passed', async () => {
	const bucket = await makeBucket(client, { objectLock: true });
	const key = `${PREFIX}/default/1055500000/2001/02/03/${HEX32()}/${HEX32()}.pgp`;
	const versionId = await putVersion(client, bucket, key, { lock: { mode: 'COMPLIANCE', until: new Date(Date.now() + 3000) } });
	const first = await planSweep({ client, bucket, policy: POLICY });
	expect(first.totals.locked.count).toBe(1);
	expect(first.protected[0]).toMatchObject({ key, versionId, decision: 'locked', reason: 'retain-until', lockMode: 'COMPLIANCE' });
	await new Promise((resolve) => setTimeout(resolve, 3500));
	const result = await executeSweep({ client, bucket, policy: POLICY });
	expect(result.deleted.count).toBe(1);
	expect(await listVersionRefs(client, bucket, `${PREFIX}/default/`)).toEqual([]);
});

it('reports a version the store refuses as skipped with the reason (locked after planning)', async () => {
	const bucket = await makeBucket(client, { objectLock: true });
	const key = `${PREFIX}/default/1055500000/2001/02/03/${HEX32()}/${HEX32()}.pgp`;
	await putVersion(client, bucket, key);
	// The race: a legal hold is placed after planning, just before DeleteObjects is sent.
	const { PutObjectLegalHoldCommand } = await import('@aws-sdk/client-s3');
	let hooked = false;
	client.middlewareStack.add(
		(next, context) => async (args) => {
			if (context.commandName === 'DeleteObjectsCommand' && !hooked) {
				hooked = true;
				const listed = await listVersionRefs(client, bucket, `${PREFIX}/default/`);
				const versionId = listed[0].split('#')[1];
				await client.send(new PutObjectLegalHoldCommand({ Bucket: bucket, Key: key, VersionId: versionId, LegalHold: { Status: 'ON' } }));
			}
			return next(args);
		},
		{ step: 'initialize', name: 'lockBeforeDelete', override: true },
	);
	try {
		const result = await executeSweep({ client, bucket, policy: POLICY, matters: [] });
		expect(result.deleted.count).toBe(0);
		expect(result.skipped.count).toBe(1);
		expect(result.entries[0].status).toBe('skipped');
		expect(result.entries[0].reason).toMatch(/AccessDenied/);
		const { document } = await readAuditObject<ReportDocument>(client, bucket, result.reportKey!);
		expect(document.summary.skipped.count).toBe(1);
	} finally {
		client.middlewareStack.remove('lockBeforeDelete');
	}
	expect(await listVersionRefs(client, bucket, `${PREFIX}/default/`)).toHaveLength(1);
});

it('works on an unversioned bucket (version id "null")', async () => {
	const bucket = await makeBucket(client);
	const expired = `${PREFIX}/default/1055500000/2001/02/03/${HEX32()}/${HEX32()}.pgp`;
	const fresh = `${PREFIX}/default/1055500000/${new Date().getUTCFullYear()}/01/01/${HEX32()}/${HEX32()}.pgp`;
	await putVersion(client, bucket, expired);
	await putVersion(client, bucket, fresh);
	const plan = await planSweep({ client, bucket, policy: POLICY });
	expect(plan.objectLockEnabled).toBe(false);
	expect(plan.deletions.map((d) => [d.key, d.versionId])).toEqual([[expired, 'null']]);
	const result = await executeSweep({ client, bucket, policy: POLICY });
	expect(result.deleted.count).toBe(1);
	expect((await listVersionRefs(client, bucket, `${PREFIX}/default/`)).map((r) => r.split('#')[0])).toEqual([fresh]);
});
