/**
 * The template `workflows/retention-sweep-nightly.json` in real n8n-core, from its first pack node
 * (the Schedule Trigger belongs to n8n-nodes-base; the real-n8n suite fires it for real): against an
 * Object Lock bucket of the local Ceph RGW store holding expired, unexpired and legal-held records,
 * Plan counts, Execute deletes exactly the expired unheld versions and writes a signed report that
 * `gpg --verify` accepts, and the disabled notification node passes the summary through. The archive
 * is sealed before the sweep: the report carries each deleted version's sealed SHA-256, and Verify
 * (S3 Archive engine) accounts for every deletion as recorded by a signed retention report.
 */
import { randomBytes } from 'node:crypto';

import {
	GetObjectCommand,
	ListObjectVersionsCommand,
	type S3Client,
} from '@aws-sdk/client-s3';
import type { INodeExecutionData, IRun } from 'n8n-workflow';

import { recordObjectKey, sealPrefix, verifySeal, writeObject } from '../../lib/archive';
import { createS3Client } from '../../lib/s3';
import { readPrivateKey } from '../../lib/pgp';
import { recordedDeletions } from '../../lib/retention';
import { gpgVerify, makeGpgHome } from '../helpers/gpg';
import { InProcessN8n, loadTemplate } from '../helpers/n8n-runner';
import { makeBucket, s3ArchiveCredential, s3Settings } from '../helpers/s3';

const output = (run: IRun, node: string): INodeExecutionData[] =>
	run.data.resultData.runData[node]?.[0]?.data?.main?.[0] ?? [];

describe('template retention-sweep-nightly (in-process n8n-core, local Ceph RGW)', () => {
	let s3: S3Client;
	let bucket: string;
	let gpg: Awaited<ReturnType<typeof makeGpgHome>>;
	const expired: string[] = [];
	const kept: string[] = [];

	beforeAll(async () => {
		gpg = await makeGpgHome();
		s3 = createS3Client(s3Settings());
		bucket = await makeBucket(s3, { objectLock: true });
		const put = async (retentionClass: string, date: Date, legalHold = false) => {
			const key = recordObjectKey({
				prefix: 'archive',
				retentionClass,
				phoneNumberId: '106000000000002',
				date,
				pseudonym: randomBytes(16).toString('hex'),
				recordId: randomBytes(16).toString('hex'),
			});
			await writeObject({ client: s3, bucket, key, body: randomBytes(64), legalHold });
			return key;
		};
		const yearsAgo = (years: number) => new Date(Date.now() - years * 366 * 24 * 3600 * 1000);
		for (let i = 0; i < 3; i++) expired.push(await put('default', yearsAgo(2)));
		expired.push(await put('sec-17a-4', yearsAgo(4)));
		kept.push(await put('default', new Date())); // unexpired
		kept.push(await put('sec-17a-4', yearsAgo(2))); // 2 years old, class keeps 3
		kept.push(await put('default', yearsAgo(2), true)); // expired but under legal hold
	});

	afterAll(async () => {
		await gpg?.cleanup();
	});

	it('plans, deletes exactly the expired unheld versions, and writes a signed report', async () => {
		const n8n = new InProcessN8n({
			workflow: loadTemplate('retention-sweep-nightly'),
			credentials: {
				s3ArchiveApi: s3ArchiveCredential(bucket, randomBytes(32).toString('hex')),
				openPgpPrivateKeyApi: { privateKey: gpg.secretKeyArmored, passphrase: '' },
			},
		});
		const signingKey = await readPrivateKey({ armoredKey: gpg.secretKeyArmored });
		const seal = await sealPrefix({ client: s3, bucket, prefix: 'archive', signer: signingKey });
		expect(seal.counts).toMatchObject({ versions: expired.length + kept.length });

		const run = await n8n.runFrom('Plan (dry run)', [{ json: {} }]);
		expect(run.data.resultData.error?.message).toBeUndefined();
		expect(run.status).toBe('success');

		const plan = output(run, 'Plan (dry run)')[0].json;
		const executed = output(run, 'Execute sweep')[0].json;
		expect(JSON.stringify(plan)).toContain('"operation":"plan"');
		// the disabled notification node hands the summary on unchanged
		expect(output(run, 'Notify (enable and set URL)')[0].json).toEqual(executed);

		const versions = await s3.send(new ListObjectVersionsCommand({ Bucket: bucket, Prefix: 'archive/' }));
		const remaining = (versions.Versions ?? []).map((v) => v.Key!).filter((k) => !k.includes('/_'));
		expect(remaining.sort()).toEqual([...kept].sort());
		for (const key of expired) expect(remaining).not.toContain(key);

		const reportKey = (versions.Versions ?? [])
			.map((v) => v.Key!)
			.find((k) => k.startsWith('archive/_reports/') && k.endsWith('report.json'));
		expect(reportKey).toBeDefined();
		const read = async (key: string) =>
			Buffer.from(
				await (await s3.send(new GetObjectCommand({ Bucket: bucket, Key: key }))).Body!.transformToByteArray(),
			);
		const report = await read(reportKey!);
		const signature = await read(`${reportKey}.asc`);
		const reportText = report.toString('utf8');
		for (const key of expired) expect(reportText).toContain(key);
		// the unexpired ones are never sent; the legal-held one is sent and refused by the store
		const legalHeld = kept[2];
		for (const key of kept.filter((k) => k !== legalHeld)) expect(reportText).not.toContain(`"${key}"`);
		expect(gpgVerify(gpg.home, report, signature).good).toBe(true);

		// every deleted version carries the SHA-256 its seal recorded
		const sealed = new Map(seal.manifest.entries.map((e) => [e.key, e.sha256]));
		const allEntries = (JSON.parse(reportText).deleted ?? JSON.parse(reportText).entries) as Array<{
			key: string;
			sha256: string | null;
			status: 'deleted' | 'skipped';
			reason: string;
		}>;
		const entries = allEntries.filter((e) => e.status === 'deleted');
		expect(entries.map((e) => e.key).sort()).toEqual([...expired].sort());
		for (const entry of entries) expect(entry.sha256).toBe(sealed.get(entry.key));
		const skipped = allEntries.filter((e) => e.status === 'skipped');
		expect(skipped.map((e) => e.key)).toEqual([legalHeld]);
		expect(skipped[0].reason).toMatch(/^refused by the store: Object Lock retention or legal hold/);

		// Verify: the deletions are explained by the signed retention report, nothing else changed
		const verified = await verifySeal({
			client: s3,
			bucket,
			manifestKey: seal.manifestKey,
			verificationKeys: [signingKey.toPublic()],
			recordedDeletions: recordedDeletions({ client: s3, bucket, verificationKeys: [signingKey.toPublic()] }),
		});
		expect(verified.counts).toMatchObject({ missing: 0, altered: 0, deletedByRetention: expired.length, ok: kept.length });
		expect(verified.deletedByRetention.map((d) => d.key).sort()).toEqual([...expired].sort());
	});
});
