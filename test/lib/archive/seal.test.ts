/**
 * Seal and Verify against the local Ceph RGW store, signatures checked by lib/pgp and by stock gpg.
 * Seal → tamper (overwrite = new version, delete a version, add an object, retention deletion with a
 * signed report, deletion with an unsigned report) → Verify reports exactly that.
 */
import { randomBytes } from 'node:crypto';
import {
	DeleteObjectCommand,
	HeadObjectCommand,
	PutObjectCommand,
	type S3Client,
} from '@aws-sdk/client-s3';

import { daySealScope, loadSealedHashes, objectKeyForRecord, sealLeafLine, sealMerkleRoot, sealPrefix, verifySeal, writeObject, type SealManifest } from '../../../lib/archive';
import { createS3Client } from '../../../lib/s3';
import { readPrivateKey, readPublicKeys, type PrivateKey, type PublicKey } from '../../../lib/pgp';
import { createReportSigner } from '../../../lib/retention';
import { recordedDeletions, writeDeletionReport, type ReportDocument } from '../../../lib/retention/report';
import { gpgImport, gpgVerify, makeGpgHome, type GpgHome } from '../../helpers/gpg';
import { getObjectBytes, makeBucket, s3Settings } from '../../helpers/s3';

const INDEX_KEY = randomBytes(32).toString('hex');
const PHONES = ['447700900101', '447700900102', '447700900103', '447700900104'];

function recordKey(prefix: string, n: number, day = '2026-01-01', wa = PHONES[n % PHONES.length]) {
	return objectKeyForRecord({
		indexKey: INDEX_KEY,
		prefix,
		retentionClass: 'default',
		record: {
			phone_number_id: '106000000000002',
			timestamp: `${day}T08:00:0${n}Z`,
			received_at: `${day}T08:00:0${n}Z`,
			counterparty: { wa_id: wa, user_id: null },
			idempotency_key: `106000000000002:wamid.${n}`,
		},
	}).key;
}

describe('sealPrefix and verifySeal (local RGW, lib/pgp, gpg)', () => {
	let client: S3Client;
	let signer: GpgHome;
	let other: GpgHome;
	let signingKey: PrivateKey;
	let publicKeys: PublicKey[];
	let otherKeys: PublicKey[];

	beforeAll(async () => {
		client = createS3Client(s3Settings());
		signer = await makeGpgHome({ userId: 'Seal Signer <seal@example.org>' });
		other = await makeGpgHome({ userId: 'Someone Else <else@example.org>' });
		signingKey = await readPrivateKey({ armoredKey: signer.secretKeyArmored });
		publicKeys = await readPublicKeys({ armoredKeys: signer.publicKeyArmored });
		otherKeys = await readPublicKeys({ armoredKeys: other.publicKeyArmored });
		gpgImport(other.home, signer.publicKeyArmored);
	});
	afterAll(async () => {
		client?.destroy();
		await signer?.cleanup();
		await other?.cleanup();
	});

	it('daySealScope names the day as written, or the UTC day of a Date', () => {
		const parts = { retentionClass: 'default', phoneNumberId: '106' };
		expect(daySealScope({ ...parts, date: '2026-01-31T23:30:00' })).toBe('default/106/2026/01/31');
		expect(daySealScope({ ...parts, date: '2026-02-01' })).toBe('default/106/2026/02/01');
		expect(daySealScope({ ...parts, date: new Date('2026-01-31T23:30:00-05:00') })).toBe('default/106/2026/02/01');
		expect(() => daySealScope({ ...parts, date: 'tomorrow' })).toThrow(/not a date/);
	});

	describe('in an Object Lock (versioned) bucket', () => {
		let bucket: string;
		const prefix = 'archive';
		const scope = daySealScope({ retentionClass: 'default', phoneNumberId: '106000000000002', date: '2026-01-01' });
		const keys = [0, 1, 2, 3, 4].map((n) => recordKey(prefix, n));
		const versionIds: string[] = [];
		let first: Awaited<ReturnType<typeof sealPrefix>>;

		beforeAll(async () => {
			bucket = await makeBucket(client, { objectLock: true });
			for (const [n, key] of keys.entries()) {
				if (n === 4) {
					// written by some other tool: no x-amz-meta-sha256, Seal must hash it by download
					const put = await client.send(new PutObjectCommand({ Bucket: bucket, Key: key, Body: Buffer.from('foreign ciphertext') }));
					versionIds.push(put.VersionId!);
				} else {
					const result = await writeObject({ client, bucket, key, body: randomBytes(100 + n) });
					versionIds.push(result.versionId!);
				}
			}
			// outside the scope (another day) and in control folders: never sealed
			await writeObject({ client, bucket, key: recordKey(prefix, 5, '2026-01-02'), body: randomBytes(10) });
			await writeObject({ client, bucket, key: `${prefix}/_holds/x.json`, body: Buffer.from('{}') });
			first = await sealPrefix({ client, bucket, prefix, scope, signer: signingKey });
		});

		it('writes a sorted, signed manifest of every version with the Merkle root, under Object Lock', async () => {
			expect(first.manifestKey).toMatch(new RegExp(`^archive/_seals/${scope}/\\d{8}T\\d{9}Z-[0-9a-f]{8}\\.json$`));
			expect(first.signatureKey).toBe(`${first.manifestKey}.asc`);
			expect(first.counts).toEqual({ versions: 5, objects: 5, delete_markers: 0, bytes: 100 + 101 + 102 + 103 + 18 });
			expect(first.hashedByDownload).toBe(1);
			expect(first.prevManifestKey).toBeNull();
			expect(first.signerFingerprint).toBe(signer.fingerprint);

			const bytes = await getObjectBytes(client, bucket, first.manifestKey);
			const manifest = JSON.parse(bytes.toString('utf8')) as SealManifest;
			expect(manifest.entries.map((e) => e.key)).toEqual([...keys].sort());
			expect(manifest.entries.map((e) => e.version_id)).toEqual(
				[...keys.keys()].sort((a, b) => (keys[a] < keys[b] ? -1 : 1)).map((i) => versionIds[i]),
			);
			expect(manifest.merkle_root).toBe(sealMerkleRoot(manifest.entries));
			expect(manifest.merkle_root).toBe(first.merkleRoot);
			expect(manifest.entries.every((e) => /^[0-9a-f]{64}$/.test(e.sha256!))).toBe(true);
			expect(sealLeafLine(manifest.entries[0]).toString()).toBe(
				JSON.stringify([manifest.entries[0].key, manifest.entries[0].version_id, false, manifest.entries[0].size, manifest.entries[0].sha256, manifest.entries[0].last_modified]),
			);
			// no phone number, no control-folder or out-of-scope key
			for (const phone of PHONES) expect(bytes.toString()).not.toContain(phone);
			expect(bytes.toString()).not.toContain('_holds');
			expect(bytes.toString()).not.toContain('/2026/01/02/');

			// stock GnuPG verifies the detached signature over the stored bytes
			const signature = await getObjectBytes(client, bucket, first.signatureKey);
			expect(signature.toString()).toMatch(/^-----BEGIN PGP SIGNATURE-----/);
			expect(gpgVerify(other.home, bytes, signature).good).toBe(true);
			const flipped = Buffer.from(bytes);
			flipped[flipped.length - 3] ^= 1;
			expect(gpgVerify(other.home, flipped, signature).good).toBe(false);

			for (const key of [first.manifestKey, first.signatureKey]) {
				const head = await client.send(new HeadObjectCommand({ Bucket: bucket, Key: key }));
				expect(head.ObjectLockMode).toBe('GOVERNANCE');
				expect(head.ObjectLockRetainUntilDate!.getTime()).toBeGreaterThan(Date.now() + 6 * 365 * 86400e3);
			}
		});

		it('an untouched store verifies: every version ok', async () => {
			const result = await verifySeal({ client, bucket, manifestKey: first.manifestKey, verificationKeys: publicKeys, recordedDeletions: recordedDeletions({ client, bucket, verificationKeys: publicKeys }) });
			expect(result.valid).toBe(true);
			expect(result.signature).toMatchObject({ valid: true, signerFingerprint: signer.fingerprint });
			expect(result.merkleRoot.matches).toBe(true);
			expect(result.counts).toEqual({ sealed: 5, ok: 5, missing: 0, altered: 0, deletedByRetention: 0, unsealed: 0 });
			expect(result.problems).toEqual([]);
			expect(result.chain.status).toBe('none');
		});

		it('a key the seal was not made with → signature invalid', async () => {
			const result = await verifySeal({ client, bucket, manifestKey: first.manifestKey, verificationKeys: otherKeys, recordedDeletions: recordedDeletions({ client, bucket, verificationKeys: otherKeys }) });
			expect(result.valid).toBe(false);
			expect(result.signature.valid).toBe(false);
			expect(result.counts.ok).toBe(5);
		});

		it('seal → tamper → verify reports exactly what happened', async () => {
			const reportSigner = await createReportSigner({ armoredKey: signer.secretKeyArmored });
			// 0: overwritten (a new version; the sealed one stays)
			const overwrite = await client.send(new PutObjectCommand({ Bucket: bucket, Key: keys[0], Body: Buffer.from('forged') }));
			// 1: a version deleted outright, no report
			await client.send(new DeleteObjectCommand({ Bucket: bucket, Key: keys[1], VersionId: versionIds[1] }));
			// 2: deleted by the sweeper, recorded in a signed report
			// 3: deleted, recorded only in an unsigned report
			for (const [n, signed] of [[2, true], [3, false]] as const) {
				await client.send(new DeleteObjectCommand({ Bucket: bucket, Key: keys[n], VersionId: versionIds[n] }));
				const runId = `20260301T000000Z-0000000${n}`;
				const report: ReportDocument = {
					type: 'chat-archive.deletion-report',
					version: 1,
					runId,
					bucket,
					prefix,
					planKey: `${prefix}/_reports/${runId}/plan.json`,
					planSha256: '0'.repeat(64),
					startedAt: '2026-03-01T00:00:00.000Z',
					finishedAt: '2026-03-01T00:00:01.000Z',
					recovered: false,
					summary: { deleted: { count: 1, bytes: 100 + n }, skipped: { count: 0, bytes: 0 }, deferred: { count: 0, bytes: 0 } },
					entries: [
						{
							key: keys[n],
							versionId: versionIds[n],
							isDeleteMarker: false,
							size: 100 + n,
							retentionClass: 'default',
							recordDate: '2026-01-01',
							sha256: null,
							status: 'deleted',
							reason: 'retention expired 2026-02-01T00:00:00.000Z',
							at: '2026-03-01T00:00:00.500Z',
						},
					],
				};
				await writeDeletionReport({ client, bucket, prefix, report, signer: signed ? reportSigner : null, objectLockEnabled: false });
			}
			// a new object in the sealed day, and a delete marker on key 4
			const added = await writeObject({ client, bucket, key: recordKey(prefix, 6), body: randomBytes(7) });
			const marker = await client.send(new DeleteObjectCommand({ Bucket: bucket, Key: keys[4] }));

			const result = await verifySeal({ client, bucket, manifestKey: first.manifestKey, verificationKeys: publicKeys, recordedDeletions: recordedDeletions({ client, bucket, verificationKeys: publicKeys }) });
			expect(result.valid).toBe(false);
			expect(result.signature.valid).toBe(true);
			expect(result.counts).toEqual({ sealed: 5, ok: 2, missing: 2, altered: 0, deletedByRetention: 1, unsealed: 3 });
			expect(result.missing.map((m) => [m.key, m.versionId, m.unverifiedReportKey ?? null])).toEqual(
				[
					[keys[1], versionIds[1], null],
					[keys[3], versionIds[3], `${prefix}/_reports/20260301T000000Z-00000003/report.json`],
				].sort((a, b) => ((a[0] as string) < (b[0] as string) ? -1 : 1)),
			);
			expect(result.deletedByRetention).toEqual([
				expect.objectContaining({
					key: keys[2],
					versionId: versionIds[2],
					runId: '20260301T000000Z-00000002',
					reportKey: `${prefix}/_reports/20260301T000000Z-00000002/report.json`,
					deletedAt: '2026-03-01T00:00:00.500Z',
					sha256Matches: null,
				}),
			]);
			expect(result.retentionReports).toEqual({
				read: 2,
				verified: 1,
				unverifiedKeys: [`${prefix}/_reports/20260301T000000Z-00000003/report.json`],
			});
			const unsealed = Object.fromEntries(result.unsealed.map((u) => [u.versionId, u]));
			expect(Object.keys(unsealed).sort()).toEqual([overwrite.VersionId!, added.versionId!, marker.VersionId!].sort());
			expect(unsealed[overwrite.VersionId!]).toMatchObject({ key: keys[0], keySealed: true, deleteMarker: false, afterSeal: true });
			expect(unsealed[added.versionId!]).toMatchObject({ key: recordKey(prefix, 6), keySealed: false });
			expect(unsealed[marker.VersionId!]).toMatchObject({ key: keys[4], keySealed: true, deleteMarker: true });
		});

		it('the next seal (whole archive) chains to the previous manifest', async () => {
			const second = await sealPrefix({ client, bucket, prefix, scope: '', signer: signingKey, objectLock: { mode: 'GOVERNANCE', retention: 'P1D' } });
			expect(second.prevManifestKey).toBe(first.manifestKey);
			expect(second.prevManifestSha256).toBe(first.manifestSha256);
			expect(second.manifestKey).toMatch(/^archive\/_seals\/_all\//);
			// whole archive: the other day's record is in, control folders are not
			expect(second.manifest.entries.some((e) => e.key.includes('/2026/01/02/'))).toBe(true);
			expect(second.manifest.entries.some((e) => e.key.includes('/_'))).toBe(false);
			expect(second.counts.delete_markers).toBe(1);
			const result = await verifySeal({ client, bucket, manifestKey: second.manifestKey, verificationKeys: publicKeys, recordedDeletions: recordedDeletions({ client, bucket, verificationKeys: publicKeys }) });
			expect(result.chain.status).toBe('ok');
			// the sealed hashes, as the retention sweeper's sha256Lookup
			const lookup = await loadSealedHashes({ client, bucket, prefix });
			const entry = first.manifest.entries[0];
			expect(lookup(entry.key, entry.version_id)).toBe(entry.sha256);
			expect(lookup(entry.key, 'no-such-version')).toBeNull();
			expect(result.valid).toBe(true);
			expect(result.counts.ok).toBe(second.counts.versions);
		});
	});

	describe('in an unversioned bucket, with an awkward prefix', () => {
		const prefix = 'team a/arch+iv=e:@(x)/Zürich';
		let bucket: string;
		const keys = [0, 1, 2].map((n) => recordKey(prefix, n));
		let seal: Awaited<ReturnType<typeof sealPrefix>>;

		beforeAll(async () => {
			bucket = await makeBucket(client);
			for (const [n, key] of keys.entries()) await writeObject({ client, bucket, key, body: Buffer.from(`ciphertext ${n}`) });
			seal = await sealPrefix({
				client,
				bucket,
				prefix,
				// a signer function (as lib/retention's createReportSigner builds) works too
				signer: await createReportSigner({ armoredKey: signer.secretKeyArmored }),
			});
		});

		it('overwrites in place are altered; metadata-only mode sees the metadata change', async () => {
			expect(seal.objectLock).toBeNull();
			expect(seal.manifest.entries.map((e) => e.version_id)).toEqual(['null', 'null', 'null']);
			expect((await verifySeal({ client, bucket, manifestKey: seal.manifestKey, verificationKeys: publicKeys, recordedDeletions: recordedDeletions({ client, bucket, verificationKeys: publicKeys }) })).valid).toBe(true);

			// same size, other bytes, no metadata (another tool): only the content hash can tell
			await client.send(new PutObjectCommand({ Bucket: bucket, Key: keys[0], Body: Buffer.from('ciphertext X') }));
			// re-written through the archive: size and metadata change too
			await client.send(new DeleteObjectCommand({ Bucket: bucket, Key: keys[1] }));
			await writeObject({ client, bucket, key: keys[1], body: Buffer.from('other ciphertext 1') });
			await client.send(new DeleteObjectCommand({ Bucket: bucket, Key: keys[2] }));

			const result = await verifySeal({ client, bucket, manifestKey: seal.manifestKey, verificationKeys: publicKeys, recordedDeletions: recordedDeletions({ client, bucket, verificationKeys: publicKeys }) });
			expect(result.valid).toBe(false);
			expect(result.counts).toEqual({ sealed: 3, ok: 0, missing: 1, altered: 2, deletedByRetention: 0, unsealed: 0 });
			expect(result.missing.map((m) => m.key)).toEqual([keys[2]]);
			const altered = Object.fromEntries(result.altered.map((a) => [a.key, a.reasons.sort()]));
			expect(altered[keys[0]]).toEqual(['content']);
			expect(altered[keys[1]]).toEqual(['content', 'sha256-metadata', 'size']);

			const shallow = await verifySeal({ client, bucket, manifestKey: seal.manifestKey, verificationKeys: publicKeys, recordedDeletions: recordedDeletions({ client, bucket, verificationKeys: publicKeys }), hashContent: false });
			expect(shallow.altered.map((a) => [a.key, a.reasons.sort()])).toEqual([[keys[1], ['sha256-metadata', 'size']]]);
		});

		it('an edited manifest fails the signature and the Merkle root, and breaks the next link of the chain', async () => {
			const next = await sealPrefix({ client, bucket, prefix, scope: 'default', signer: signingKey });
			expect(next.prevManifestKey).toBe(seal.manifestKey);
			expect((await verifySeal({ client, bucket, manifestKey: next.manifestKey, verificationKeys: publicKeys, recordedDeletions: recordedDeletions({ client, bucket, verificationKeys: publicKeys }) })).chain.status).toBe('ok');
			const bytes = await getObjectBytes(client, bucket, seal.manifestKey);
			const manifest = JSON.parse(bytes.toString()) as SealManifest;
			manifest.entries[0].size += 1;
			await client.send(new PutObjectCommand({ Bucket: bucket, Key: seal.manifestKey, Body: Buffer.from(JSON.stringify(manifest)) }));
			const result = await verifySeal({ client, bucket, manifestKey: seal.manifestKey, verificationKeys: publicKeys, recordedDeletions: recordedDeletions({ client, bucket, verificationKeys: publicKeys }) });
			expect(result.signature.valid).toBe(false);
			expect(result.merkleRoot.matches).toBe(false);
			expect(result.problems).toEqual(expect.arrayContaining([expect.stringContaining('Merkle root'), expect.stringContaining('counts')]));
			const after = await verifySeal({ client, bucket, manifestKey: next.manifestKey, verificationKeys: publicKeys, recordedDeletions: recordedDeletions({ client, bucket, verificationKeys: publicKeys }) });
			expect(after.chain.status).toBe('mismatch');
			expect(after.signature.valid).toBe(true);
			expect(after.valid).toBe(false);
		});
	});
});
