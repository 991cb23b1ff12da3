/** The signed deletion report: contents, detached signature, Object Lock, write-ahead plan. */
import { GetObjectRetentionCommand, type S3Client } from '@aws-sdk/client-s3';
import * as openpgp from 'openpgp';

import { createS3Client } from '../../../lib/s3';
import { verify } from '../../../lib/pgp';
import {
	createReportSigner,
	executeSweep,
	readAuditObject,
	readDeletionReports,
	type PlanDocument,
	type ReportDocument,
} from '../../../lib/retention';
import { getObjectBytes, makeBucket, s3Settings } from '../../helpers/s3';
import { HEX32, addDeleteMarker, putVersion } from './population';

const PREFIX = 'archive';
const POLICY = { prefix: PREFIX, classes: [{ name: 'default', retention: 'P1Y' }] };

let client: S3Client;
let armoredKey: string;
let publicKey: openpgp.PublicKey;
beforeAll(async () => {
	client = createS3Client(s3Settings());
	const generated = await openpgp.generateKey({
		type: 'ecc',
		curve: 'curve25519Legacy',
		userIDs: [{ name: 'Archive Sweeper', email: 'sweeper@example.org' }],
		passphrase: 'correct horse',
		format: 'armored',
	});
	armoredKey = generated.privateKey;
	publicKey = await openpgp.readKey({ armoredKey: generated.publicKey });
});
afterAll(() => client.destroy());

it('writes a signed report that verifies with the signing key, under Object Lock', async () => {
	const bucket = await makeBucket(client, { objectLock: true });
	const key = `${PREFIX}/default/1055500000/2003/04/05/${HEX32()}/${HEX32()}.pgp`;
	const v1 = await putVersion(client, bucket, key);
	const marker = await addDeleteMarker(client, bucket, key);
	const signer = await createReportSigner({ armoredKey, passphrase: 'correct horse' });

	const result = await executeSweep({
		client,
		bucket,
		policy: POLICY,
		signer,
		reportLock: { mode: 'GOVERNANCE', retention: 'P1D' },
		sha256Lookup: (k, versionId) => (versionId === v1 ? 'ab'.repeat(32) : null),
	});
	expect(result.deleted.count).toBe(2);
	expect(result.signerFingerprint).toBe(publicKey.getFingerprint().toUpperCase());
	expect(result.reportKey).toBe(`${PREFIX}/_reports/${result.runId}/report.json`);

	const reportBytes = await getObjectBytes(client, bucket, result.reportKey!);
	const signature = (await getObjectBytes(client, bucket, result.signatureKey!)).toString('utf8');
	expect(signature).toMatch(/^-----BEGIN PGP SIGNATURE-----/);
	const verification = await openpgp.verify({
		message: await openpgp.createMessage({ binary: reportBytes }),
		signature: await openpgp.readSignature({ armoredSignature: signature }),
		verificationKeys: publicKey,
		expectSigned: true,
	});
	await expect(verification.signatures[0].verified).resolves.toBe(true);
	// The pack's own verifier (lib/pgp verify) agrees.
	const engine = await verify({ data: reportBytes, signature, verificationKeys: [publicKey] });
	expect(engine.valid).toBe(true);
	expect(engine.signatures[0].fingerprint).toBe(result.signerFingerprint);
	// A changed report no longer verifies.
	const tampered = Buffer.from(reportBytes.toString('utf8').replace('"deleted"', '"skipped"'));
	await expect(
		openpgp.verify({
			message: await openpgp.createMessage({ binary: tampered }),
			signature: await openpgp.readSignature({ armoredSignature: signature }),
			verificationKeys: publicKey,
			expectSigned: true,
		}),
	).rejects.toThrow();

	const report = JSON.parse(reportBytes.toString('utf8')) as ReportDocument;
	expect(report.type).toBe('chat-archive.deletion-report');
	expect(report.entries.map((e) => [e.versionId, e.isDeleteMarker, e.status, e.sha256, e.retentionClass, e.recordDate])).toEqual(
		expect.arrayContaining([
			[v1, false, 'deleted', 'ab'.repeat(32), 'default', '2003-04-05'],
			[marker, true, 'deleted', null, 'default', '2003-04-05'],
		]),
	);
	expect(report.entries.every((e) => !Number.isNaN(Date.parse(e.at)))).toBe(true);

	// The write-ahead plan lists the same versions and its hash is in the report.
	const plan = await readAuditObject<PlanDocument>(client, bucket, result.planKey!);
	expect(plan.document.deletions.map((d) => d.versionId).sort()).toEqual([v1, marker].sort());
	const { createHash } = await import('node:crypto');
	expect(report.planSha256).toBe(createHash('sha256').update(plan.bytes).digest('hex'));

	for (const objectKey of [result.planKey!, result.reportKey!, result.signatureKey!]) {
		const retention = await client.send(new GetObjectRetentionCommand({ Bucket: bucket, Key: objectKey }));
		expect(retention.Retention?.Mode).toBe('GOVERNANCE');
		expect(retention.Retention!.RetainUntilDate!.getTime()).toBeGreaterThan(Date.now() + 23 * 3600_000);
	}
});

it('refuses a wrong passphrase without echoing it', async () => {
	await expect(createReportSigner({ armoredKey, passphrase: 'hunter2-wrong' })).rejects.toThrow(/passphrase/i);
	await createReportSigner({ armoredKey, passphrase: 'hunter2-wrong' }).catch((error: Error) => {
		expect(error.message).not.toContain('hunter2');
	});
});

it('reads reports back, checking signatures, for Verify to explain deletions', async () => {
	const bucket = await makeBucket(client, { versioning: true });
	const key = `${PREFIX}/default/1055500000/2003/04/05/${HEX32()}/${HEX32()}.pgp`;
	const versionId = await putVersion(client, bucket, key);
	const signer = await createReportSigner({ armoredKey, passphrase: 'correct horse' });
	const signedRun = await executeSweep({ client, bucket, policy: POLICY, signer });
	const other = `${PREFIX}/default/1055500000/2003/04/06/${HEX32()}/${HEX32()}.pgp`;
	const otherVersion = await putVersion(client, bucket, other);
	const unsignedRun = await executeSweep({ client, bucket, policy: POLICY, signer: null });

	const all = await readDeletionReports({ client, bucket, prefix: PREFIX });
	expect(all.reports.map((r) => [r.runId, r.signed, r.signatureValid]).sort()).toEqual(
		[
			[signedRun.runId, true, null],
			[unsignedRun.runId, false, null],
		].sort(),
	);
	expect([...all.deleted.keys()].sort()).toEqual([`${key}\u0000${versionId}`, `${other}\u0000${otherVersion}`].sort());

	// With keys, only validly signed reports explain deletions.
	const checked = await readDeletionReports({ client, bucket, prefix: PREFIX, verificationKeys: [publicKey] });
	expect(checked.reports.find((r) => r.runId === signedRun.runId)).toMatchObject({ signatureValid: true, signerFingerprint: signedRun.signerFingerprint });
	expect([...checked.deleted.values()].map((e) => [e.key, e.runId])).toEqual([[key, signedRun.runId]]);
});
