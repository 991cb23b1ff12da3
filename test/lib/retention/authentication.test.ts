/**
 * Holds and sweep plans that cannot be forged: hold events and write-ahead plans are signed with the
 * archive's OpenPGP key and verified before use; forged control objects are ignored (releases) or
 * never recovered (plans). Holds reach records written after the hold and lifecycle mode.
 */
import { createHash } from 'node:crypto';
import { GetObjectLegalHoldCommand, PutObjectCommand, type S3Client } from '@aws-sdk/client-s3';
import * as openpgp from 'openpgp';

import { recordObjectKey } from '../../../lib/archive';
import { createS3Client } from '../../../lib/s3';
import { applyLifecycle, createControlVerifier, createReportSigner, executeSweep, findInterruptedRuns, legalHoldForNewRecord, loadHolds, NEW_RECORD_REGISTRY_TTL_MS, placeHold, planSweep, readAuditObject, releaseHold, runObjectKeys, showLifecycle, type ControlVerifier, type ReportDocument, type ReportSigner } from '../../../lib/retention';
import { listAllKeys, makeBucket, s3Settings } from '../../helpers/s3';
import { gpgImport, gpgVerify, makeGpgHome } from '../../helpers/gpg';
import { HEX32, listVersionRefs, putVersion } from './population';

const PREFIX = 'archive';
const POLICY = { prefix: PREFIX, classes: [{ name: 'default', retention: 'P1Y' }] };
const HOLDER = { actor: 'legal@example.org', reason: 'Litigation 2026-CV-1234' };

let client: S3Client;
let signer: ReportSigner;
let verifier: ControlVerifier;
let otherSigner: ReportSigner;
let publicKeyArmored: string;

async function generated(name: string) {
	return await openpgp.generateKey({ type: 'ecc', curve: 'curve25519Legacy', userIDs: [{ name, email: `${name}@example.org` }], format: 'armored' });
}

beforeAll(async () => {
	client = createS3Client(s3Settings());
	const archiveKey = await generated('archive');
	publicKeyArmored = archiveKey.publicKey;
	signer = await createReportSigner({ armoredKey: archiveKey.privateKey });
	verifier = createControlVerifier({ verificationKeys: [await openpgp.readKey({ armoredKey: archiveKey.publicKey })] });
	otherSigner = await createReportSigner({ armoredKey: (await generated('mallory')).privateKey });
});
afterAll(() => client.destroy());

const expiredKey = (phoneNumberId = '1055500000') =>
	recordObjectKey({ prefix: PREFIX, retentionClass: 'default', phoneNumberId, date: '2019-04-01', pseudonym: HEX32(), recordId: HEX32() });

async function put(bucket: string, key: string, body: string | Buffer): Promise<void> {
	const bytes = Buffer.from(body);
	await client.send(new PutObjectCommand({ Bucket: bucket, Key: key, Body: bytes, ContentLength: bytes.length, ContentMD5: createHash('md5').update(bytes).digest('base64') }));
}

/** A release event as an attacker with PutObject would write it: dated far in the future, maybe signed by another key. */
async function forgeRelease(bucket: string, matterId: string, signWith?: ReportSigner): Promise<string> {
	const key = `${PREFIX}/_holds/${matterId}/29991231T000000000Z-release-${signWith ? 'bad51911' : 'deadbeef'}.json`;
	const body = Buffer.from(JSON.stringify({ type: 'chat-archive.hold-event', version: 1, matterId, action: 'release', at: '2999-12-31T00:00:00.000Z', actor: 'x', reason: 'x', scope: {} }, null, 2) + '\n');
	if (signWith) await put(bucket, `${key}.asc`, (await signWith(body)).signature);
	await put(bucket, key, body);
	return key;
}

describe('hold events', () => {
	it('key rotation: events signed by an earlier archive key count once that key is trusted, also after it expired (checked as of each signature)', async () => {
		const bucket = await makeBucket(client, { versioning: true });
		await putVersion(client, bucket, expiredKey());
		// the earlier archive key: made two hours ago, expired an hour ago; its events were signed while it was valid
		const earlier = await openpgp.generateKey({ type: 'ecc', curve: 'curve25519Legacy', userIDs: [{ name: 'earlier archive key' }], date: new Date(Date.now() - 2 * 3600_000), keyExpirationTime: 3600, format: 'object' });
		let signedAt = new Date(Date.now() - 100 * 60_000);
		const earlierSigner: ReportSigner = async (data) => ({
			signature: String(await openpgp.sign({ message: await openpgp.createMessage({ binary: data }), signingKeys: earlier.privateKey, detached: true, date: signedAt })),
			signerFingerprint: earlier.privateKey.getFingerprint().toUpperCase(),
		});
		const scope = { phoneNumberIds: ['1055500000'] };
		await placeHold({ client, bucket, prefix: PREFIX, matterId: 'ROT-1', scope, ...HOLDER, signer: earlierSigner, verifier, now: signedAt });
		signedAt = new Date(Date.now() - 90 * 60_000);
		await releaseHold({ client, bucket, prefix: PREFIX, matterId: 'ROT-1', ...HOLDER, signer: earlierSigner, verifier, now: signedAt });

		// the current key alone does not know the earlier one: its release is ignored (fail safe: keep)
		const currentOnly = await loadHolds({ client, bucket, prefix: PREFIX, verifier });
		expect(currentOnly.matters.map((m) => [m.matterId, m.active])).toEqual([['ROT-1', true]]);
		// trusting the earlier key's public part: its events count, though the key has expired since
		const rotated = createControlVerifier({ verificationKeys: [await openpgp.readKey({ armoredKey: publicKeyArmored }), earlier.publicKey] });
		const trusted = await loadHolds({ client, bucket, prefix: PREFIX, verifier: rotated });
		expect(trusted.matters.map((m) => [m.matterId, m.active, m.verified])).toEqual([['ROT-1', false, true]]);
		expect(trusted.ignoredReleaseKeys).toEqual([]);
	});

	it('a forged release (unsigned, or signed by another key) is ignored: the matter stays active, the sweep keeps its records, the release is reported', async () => {
		const bucket = await makeBucket(client, { versioning: true });
		const held = expiredKey();
		const heldVersion = await putVersion(client, bucket, held);
		const placed = await placeHold({ client, bucket, prefix: PREFIX, matterId: 'SEC-1', scope: { phoneNumberIds: ['1055500000'] }, ...HOLDER, signer, verifier });
		// the event's signature sits beside it and stock gpg verifies it
		const keys = await listAllKeys(client, bucket, `${PREFIX}/_holds/`);
		expect(keys).toEqual([placed.eventKey, `${placed.eventKey}.asc`].sort());
		const { getObjectBytes } = await import('../../helpers/s3');
		const home = await makeGpgHome();
		gpgImport(home.home, publicKeyArmored);
		expect(gpgVerify(home.home, await getObjectBytes(client, bucket, placed.eventKey), await getObjectBytes(client, bucket, `${placed.eventKey}.asc`)).good).toBe(true);

		const unsigned = await forgeRelease(bucket, 'SEC-1');
		const loaded = await loadHolds({ client, bucket, prefix: PREFIX, verifier });
		expect(loaded.matters.map((m) => [m.matterId, m.active, m.verified])).toEqual([['SEC-1', true, true]]);
		expect(loaded.ignoredReleaseKeys).toEqual([unsigned]);

		const plan = await planSweep({ client, bucket, policy: POLICY, verifier });
		expect(plan.deletions).toEqual([]);
		expect(plan.holdAuthentication.ignoredReleaseKeys).toEqual([unsigned]);
		const result = await executeSweep({ client, bucket, policy: POLICY, verifier, signer, reportLock: null });
		expect(result.deleted.count).toBe(0);
		expect(await listVersionRefs(client, bucket, `${PREFIX}/default/`)).toEqual([`${held}#${heldVersion}`]);

		// signed, but not by the archive's key
		const otherKey = await forgeRelease(bucket, 'SEC-1', otherSigner);
		const again = await loadHolds({ client, bucket, prefix: PREFIX, verifier });
		expect(again.matters[0].active).toBe(true);
		expect(again.ignoredReleaseKeys.sort()).toEqual([otherKey, unsigned].sort());
		// without a verifier no release counts (fail safe: keep)
		expect((await loadHolds({ client, bucket, prefix: PREFIX })).matters[0].active).toBe(true);

		// a release signed with the archive's key releases
		await releaseHold({ client, bucket, prefix: PREFIX, matterId: 'SEC-1', ...HOLDER, signer, verifier });
		expect((await loadHolds({ client, bucket, prefix: PREFIX, verifier })).matters[0].active).toBe(false);
	});

	it('a forged place event does not narrow an active matter, and releasing needs the key', async () => {
		const bucket = await makeBucket(client, { versioning: true });
		const held = expiredKey();
		await putVersion(client, bucket, held);
		await placeHold({ client, bucket, prefix: PREFIX, matterId: 'SEC-2', scope: { phoneNumberIds: ['1055500000'] }, ...HOLDER, signer, verifier });
		const body = JSON.stringify({ type: 'chat-archive.hold-event', version: 1, matterId: 'SEC-2', action: 'place', at: '2999-01-01T00:00:00.000Z', actor: 'x', reason: 'x', scope: { phoneNumberIds: ['999'] } });
		await put(bucket, `${PREFIX}/_holds/SEC-2/29990101T000000000Z-place-deadbeef.json`, body);
		const plan = await planSweep({ client, bucket, policy: POLICY, verifier });
		expect(plan.deletions).toEqual([]);
		expect(plan.protected.map((v) => v.matterIds)).toEqual([['SEC-2']]);
		await expect(releaseHold({ client, bucket, prefix: PREFIX, matterId: 'SEC-2', ...HOLDER })).rejects.toThrow(/sign/i);
	});
});

describe('write-ahead plans', () => {
	it('a planted plan is never recovered, even with maxDeletions 0: no report, no "deleted" line, reported as unverified', async () => {
		const bucket = await makeBucket(client, { versioning: true });
		const gone = expiredKey();
		const goneVersion = await putVersion(client, bucket, gone);
		const { DeleteObjectCommand } = await import('@aws-sdk/client-s3');
		await client.send(new DeleteObjectCommand({ Bucket: bucket, Key: gone, VersionId: goneVersion })); // removed out of band
		const runId = '20200101T000000Z-planted0';
		const { planKey, reportKey } = runObjectKeys(PREFIX, runId);
		const plan = { type: 'chat-archive.sweep-plan', version: 1, runId, bucket, prefix: PREFIX, createdAt: '2020-01-01T00:00:00.000Z', policy: POLICY, matterIds: [], deferred: { count: 0, bytes: 0 }, deletions: [{ key: gone, versionId: goneVersion, isDeleteMarker: false, size: 10, retentionClass: 'default', recordDate: '2019-04-01', expiresAt: '2020-04-02T00:00:00.000Z' }] };
		await put(bucket, planKey, JSON.stringify(plan));
		const result = await executeSweep({ client, bucket, policy: POLICY, maxDeletions: 0, signer, verifier, reportLock: null });
		expect(result.recoveredRuns).toEqual([]);
		expect(result.unverifiedPlans).toEqual([planKey]);
		expect(await listAllKeys(client, bucket, `${PREFIX}/_reports/`)).not.toContain(reportKey);

		// signed by another key: the same
		const otherRun = '20200101T000000Z-planted1';
		const other = runObjectKeys(PREFIX, otherRun);
		const otherBytes = Buffer.from(JSON.stringify({ ...plan, runId: otherRun }));
		await put(bucket, `${other.planKey}.asc`, (await otherSigner(otherBytes)).signature);
		await put(bucket, other.planKey, otherBytes);
		const second = await executeSweep({ client, bucket, policy: POLICY, maxDeletions: 0, signer, verifier, reportLock: null });
		expect(second.recoveredRuns).toEqual([]);
		expect(second.unverifiedPlans.sort()).toEqual([other.planKey, planKey].sort());
	});

	it('a signed plan of an interrupted run is recovered; a version absent at recovery is "absent before execution", never "deleted"', async () => {
		const bucket = await makeBucket(client, { versioning: true });
		const keys = [expiredKey(), expiredKey()];
		for (const key of keys) await putVersion(client, bucket, key);
		let calls = 0;
		const runId = '20200101T000000Z-interrupt';
		// the plan is signed, then the run stops before its first DeleteObjects (as a crash would)
		const controller = new AbortController();
		await expect(
			executeSweep({
				client, bucket, policy: POLICY, runId, reportLock: null, signal: controller.signal, verifier,
				signer: async (data) => {
					if (++calls === 1) {
						controller.abort();
						return await signer(data);
					}
					throw new Error('power cut');
				},
			}),
		).rejects.toThrow('power cut');
		expect(await findInterruptedRuns(client, bucket, PREFIX)).toEqual([runId]);
		const [removed] = await listVersionRefs(client, bucket, `${PREFIX}/default/${keys[0].split('/')[2]}/`).then((refs) => refs.filter((ref) => ref.startsWith(keys[0])));
		const { DeleteObjectCommand } = await import('@aws-sdk/client-s3');
		await client.send(new DeleteObjectCommand({ Bucket: bucket, Key: keys[0], VersionId: removed.split('#')[1] })); // out of band

		const rerun = await executeSweep({ client, bucket, policy: POLICY, maxDeletions: 0, signer, verifier, reportLock: null });
		expect(rerun.recoveredRuns).toEqual([runId]);
		const report = (await readAuditObject<ReportDocument>(client, bucket, runObjectKeys(PREFIX, runId).reportKey)).document;
		const byKey = Object.fromEntries(report.entries.map((entry) => [entry.key, entry]));
		expect(byKey[keys[0]]).toMatchObject({ status: 'absent' });
		expect(byKey[keys[0]].reason).toMatch(/^absent before execution/);
		expect(byKey[keys[1]]).toMatchObject({ status: 'skipped' });
		expect(report.entries.filter((entry) => entry.status === 'deleted')).toEqual([]);
	});
});

describe('holds reach new records and lifecycle mode', () => {
	it('a record written right after Place Hold gets the legal-hold flag; a released matter no longer flags', async () => {
		const bucket = await makeBucket(client, { objectLock: true });
		await placeHold({ client, bucket, prefix: PREFIX, matterId: 'SEC-3', scope: { phoneNumberIds: ['1055500000'] }, ...HOLDER, signer, verifier });
		const inScope = expiredKey('1055500000');
		const outOfScope = expiredKey('1055500001');
		const decision = await legalHoldForNewRecord({ client, bucket, key: inScope, verifier });
		expect(decision).toMatchObject({ legalHold: true, matterIds: ['SEC-3'] });
		expect((await legalHoldForNewRecord({ client, bucket, key: outOfScope, verifier })).legalHold).toBe(false);

		// cheap: the registry as read is reused for NEW_RECORD_REGISTRY_TTL_MS (no request), then one
		// ListObjectsV2 of _holds/ (the events already read are not fetched again)
		expect((await legalHoldForNewRecord({ client, bucket, key: expiredKey('1055500000'), verifier })).requests).toBe(0);
		await new Promise((resolve) => setTimeout(resolve, NEW_RECORD_REGISTRY_TTL_MS + 50));
		expect((await legalHoldForNewRecord({ client, bucket, key: expiredKey('1055500000'), verifier })).requests).toBe(1);

		const { writeObject } = await import('../../../lib/archive');
		const headers: Array<Record<string, string>> = [];
		const bodies: string[] = [];
		client.middlewareStack.add(
			(next, context) => async (args) => {
				if (context.commandName === 'PutObjectLegalHoldCommand') {
					const request = args.request as { headers: Record<string, string>; body: string };
					headers.push({ ...request.headers });
					bodies.push(String(request.body));
				}
				return await next(args);
			},
			{ step: 'finalizeRequest', name: 'captureHeaders', override: true },
		);
		try {
			const written = await writeObject({ client, bucket, key: inScope, body: Buffer.from('ciphertext'), legalHold: decision.legalHold });
			const flag = await client.send(new GetObjectLegalHoldCommand({ Bucket: bucket, Key: inScope, VersionId: written.versionId! }));
			expect(flag.LegalHold?.Status).toBe('ON');
		} finally {
			client.middlewareStack.remove('captureHeaders');
		}
		// an Object Lock bucket without default retention: the flag is placed once the write has settled
		// the race (PutObjectLegalHold); S3 requires Content-MD5 (or a checksum) on it, some stores do not enforce it
		expect(headers).toHaveLength(1);
		expect(bodies[0]).toContain('<Status>ON</Status>');
		expect(headers[0]['content-md5']).toBe(createHash('md5').update(bodies[0]).digest('base64'));

		await releaseHold({ client, bucket, prefix: PREFIX, matterId: 'SEC-3', ...HOLDER, signer, verifier });
		expect((await legalHoldForNewRecord({ client, bucket, key: expiredKey('1055500000'), verifier })).legalHold).toBe(false);
	});

	it('a writer deciding from the registry as read just before Place Hold still ends with its record flagged (Place Hold waits out the reuse)', async () => {
		const bucket = await makeBucket(client, { objectLock: true });
		const key = expiredKey('1055500000');
		// the writer's view of the registry: no matter yet (reused for NEW_RECORD_REGISTRY_TTL_MS)
		expect((await legalHoldForNewRecord({ client, bucket, key, verifier })).legalHold).toBe(false);
		const placing = placeHold({ client, bucket, prefix: PREFIX, matterId: 'SEC-4', scope: { phoneNumberIds: ['1055500000'] }, ...HOLDER, signer, verifier });
		// once the matter is in the registry, the writer still decides from its earlier read
		while (!(await loadHolds({ client, bucket, prefix: PREFIX, verifier })).matters.some((m) => m.matterId === 'SEC-4' && m.active)) {
			await new Promise((resolve) => setTimeout(resolve, 20));
		}
		const stale = await legalHoldForNewRecord({ client, bucket, key, verifier });
		expect(stale).toMatchObject({ legalHold: false, requests: 0 });
		const { writeObject } = await import('../../../lib/archive');
		const written = await writeObject({ client, bucket, key, body: Buffer.from('ciphertext'), legalHold: stale.legalHold });
		await placing;
		const flag = await client.send(new GetObjectLegalHoldCommand({ Bucket: bucket, Key: key, VersionId: written.versionId! }));
		expect(flag.LegalHold?.Status).toBe('ON');
	});

	it('a record filed under another identity of a held person (named by the record, or linked earlier) is flagged too', async () => {
		const bucket = await makeBucket(client, { objectLock: true });
		const indexKey = '47dea6762673211e5eeb699dda770b031dfabbc34583813ffd18af8190a84897';
		const [person, bsuid, linked, stranger] = [HEX32(), HEX32(), HEX32(), HEX32()];
		await placeHold({ client, bucket, prefix: PREFIX, matterId: 'SEC-5', scope: { pseudonyms: [person] }, ...HOLDER, signer, verifier });
		const keyOf = (pseudonym: string) => recordObjectKey({ prefix: PREFIX, retentionClass: 'default', phoneNumberId: '1055500000', date: '2026-01-01', pseudonym, recordId: HEX32() });
		// the record itself names both identifiers (its link is written after the record)
		expect((await legalHoldForNewRecord({ client, bucket, key: keyOf(bsuid), verifier, identityPseudonyms: [bsuid, person] })).matterIds).toEqual(['SEC-5']);
		// a link learned from an earlier record
		const { recordIdentityLinks } = await import('../../../lib/archive');
		await recordIdentityLinks({ client, bucket, prefix: PREFIX, indexKey, pseudonyms: [person, linked] });
		expect((await legalHoldForNewRecord({ client, bucket, key: keyOf(linked), verifier })).legalHold).toBe(false); // no index key: links not followed
		expect((await legalHoldForNewRecord({ client, bucket, key: keyOf(linked), verifier, indexKey })).matterIds).toEqual(['SEC-5']);
		expect((await legalHoldForNewRecord({ client, bucket, key: keyOf(stranger), verifier, indexKey })).legalHold).toBe(false);
	});

	it('Lifecycle apply refuses while a matter is active and show says what it cannot protect', async () => {
		const bucket = await makeBucket(client, { objectLock: true });
		await placeHold({ client, bucket, prefix: PREFIX, matterId: 'SEC-4', scope: {}, ...HOLDER, signer, verifier });
		const shown = await showLifecycle({ client, bucket, policy: POLICY, verifier });
		expect(shown.activeMatterIds).toEqual(['SEC-4']);
		expect(shown.notes.join('\n')).toMatch(/SEC-4/);
		await expect(applyLifecycle({ client, bucket, policy: POLICY, verifier })).rejects.toThrow(/SEC-4/);
		await releaseHold({ client, bucket, prefix: PREFIX, matterId: 'SEC-4', ...HOLDER, signer, verifier });
		expect((await applyLifecycle({ client, bucket, policy: POLICY, verifier })).applied).toBe(true);
	});
});
