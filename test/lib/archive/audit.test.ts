/**
 * Audit trail against the local Ceph RGW store, with real OpenPGP keys (gpg-generated, read by
 * lib/pgp): append → verify; delete, alter, re-sign, swap and cut events → Verify Audit names each;
 * two writers in two "processes" (two endpoint spellings, so the in-process queue and single-flight
 * do not join them) keep one chain; a scope holding a phone number is refused.
 */
import { createHash, randomBytes } from 'node:crypto';
import { DeleteObjectCommand, HeadObjectCommand, PutObjectCommand, type S3Client } from '@aws-sdk/client-s3';
import canonicalize from 'canonicalize';

import {
	appendAuditEvent,
	auditSignedBytes,
	counterpartyPseudonym,
	lastAuditKeyIn,
	verifyAudit,
	type AuditEvent,
	type AuditEventInput,
} from '../../../lib/archive';
import { readPrivateKey, readPublicKeys, sign, type PrivateKey, type PublicKey } from '../../../lib/pgp';
import { createS3Client } from '../../../lib/s3';
import { createReportSigner } from '../../../lib/retention';
import { gpgImport, gpgVerify, makeGpgHome, type GpgHome } from '../../helpers/gpg';
import { getObjectBytes, listAllKeys, makeBucket, s3Settings } from '../../helpers/s3';

const PSEUDONYM = counterpartyPseudonym({ indexKey: randomBytes(32).toString('hex'), counterparty: { wa_id: '447700900123', user_id: null } })!;
const OPERATIONS = ['get-decrypt', 'export', 'hold-place', 'sweep-execute', 'seal-create'] as const;

function auditEvent(n: number, extra: Partial<AuditEventInput> = {}): AuditEventInput {
	return {
		operation: OPERATIONS[n % OPERATIONS.length],
		scope: { pseudonyms: [PSEUDONYM], matterIds: ['SEC-2026-014'], from: '2026-01-01', to: '2026-01-31' },
		counts: { records: n, bytes: n * 1000 },
		result: 'success',
		workflowId: 'Qx1wF2kLmN3oPq4R',
		executionId: String(1000 + n),
		user: '5f1c9a0e-2b3d-4e5f-8a9b-0c1d2e3f4a5b',
		...extra,
	};
}

/** A client of the same store as another n8n worker sees it (see write.test.ts `otherProcessClient`). */
function otherProcessClient(): S3Client {
	const settings = s3Settings();
	return createS3Client({ ...settings, endpoint: settings.endpoint.replace('127.0.0.1', 'localhost') });
}

const newPrefix = () => `audit-${randomBytes(4).toString('hex')}`;

describe('appendAuditEvent and verifyAudit (local RGW, lib/pgp, gpg)', () => {
	let client: S3Client;
	let other: S3Client;
	let signerHome: GpgHome;
	let forgerHome: GpgHome;
	let signingKey: PrivateKey;
	let forgerKey: PrivateKey;
	let verificationKeys: PublicKey[];
	let plainBucket: string;
	let versionedBucket: string;
	let lockBucket: string;

	beforeAll(async () => {
		client = createS3Client(s3Settings());
		other = otherProcessClient();
		signerHome = await makeGpgHome({ userId: 'Archive Audit <audit@example.org>' });
		forgerHome = await makeGpgHome({ userId: 'Someone Else <else@example.org>' });
		signingKey = await readPrivateKey({ armoredKey: signerHome.secretKeyArmored });
		forgerKey = await readPrivateKey({ armoredKey: forgerHome.secretKeyArmored });
		verificationKeys = await readPublicKeys({ armoredKeys: signerHome.publicKeyArmored });
		gpgImport(forgerHome.home, signerHome.publicKeyArmored);
		plainBucket = await makeBucket(client);
		versionedBucket = await makeBucket(client, { versioning: true });
		lockBucket = await makeBucket(client, { objectLock: true });
	});
	afterAll(async () => {
		client?.destroy();
		other?.destroy();
		await signerHome?.cleanup();
		await forgerHome?.cleanup();
	});

	async function appendMany(bucket: string, prefix: string, count: number, at?: (n: number) => Date) {
		const results = [];
		for (let n = 1; n <= count; n++)
			results.push(await appendAuditEvent({ client, bucket, prefix, signer: signingKey, event: auditEvent(n, at ? { at: at(n) } : {}) }));
		return results;
	}

	const readEvent = async (bucket: string, key: string) => JSON.parse((await getObjectBytes(client, bucket, key)).toString('utf8')) as AuditEvent;
	const putRaw = async (bucket: string, key: string, body: string | Buffer) =>
		await client.send(new PutObjectCommand({ Bucket: bucket, Key: key, Body: body, ContentType: 'application/json' }));

	it('appends signed, hash-chained events in sequence order; Verify Audit finds the trail intact; gpg verifies a signature', async () => {
		const prefix = newPrefix();
		const at = (n: number) => new Date(Date.UTC(2026, 0, 5, 9, n));
		const results = await appendMany(plainBucket, prefix, 5, at);

		expect(results.map((result) => result.key)).toEqual([1, 2, 3, 4, 5].map((n) => `${prefix}/_audit/2026-01-05/00000000000${n}.json`));
		expect(await listAllKeys(client, plainBucket, `${prefix}/`)).toEqual(results.map((result) => result.key));
		for (const [index, result] of results.entries()) {
			const bytes = await getObjectBytes(client, plainBucket, result.key);
			expect(bytes.toString('utf8')).toBe(canonicalize(JSON.parse(bytes.toString('utf8'))));
			expect(createHash('sha256').update(bytes).digest('hex')).toBe(result.sha256);
			expect(result.prevSha256).toBe(index ? results[index - 1].sha256 : null);
			expect(result.prevKey).toBe(index ? results[index - 1].key : null);
			expect(result.objectLock).toBeNull();
		}
		const third = await readEvent(plainBucket, results[2].key);
		expect(third).toMatchObject({ type: 'chat-archive.audit-event', version: 1, seq: 3, at: at(3).toISOString(), operation: OPERATIONS[3], result: 'success', executionId: '1003' });
		expect(third.scope).toEqual({ pseudonyms: [PSEUDONYM], matterIds: ['SEC-2026-014'], from: '2026-01-01', to: '2026-01-31' });
		// stock GnuPG checks the signature over the JCS bytes of the event without `signature`
		expect(gpgVerify(forgerHome.home, auditSignedBytes(third), third.signature).good).toBe(true);

		const report = await verifyAudit({ client, bucket: plainBucket, prefix, verificationKeys });
		expect(report).toMatchObject({ valid: true, eventsChecked: 5, gaps: [], breaks: [], badSignatures: [], problems: [], extraVersions: [], truncated: false });
		expect(report.first).toMatchObject({ seq: 1, key: results[0].key });
		expect(report.last).toEqual({ seq: 5, key: results[4].key, at: at(5).toISOString(), sha256: results[4].sha256 });
		expect(report.signers).toEqual([signerHome.fingerprint]);
	});

	it('files an event under the day of the event before it, and a date range checks the events of its days with their links', async () => {
		const prefix = newPrefix();
		const times = ['2026-01-01T23:59:00Z', '2026-01-03T10:00:00Z', '2026-01-03T11:00:00Z', '2026-01-04T08:00:00Z'];
		const results = await appendMany(plainBucket, prefix, times.length, (n) => new Date(times[n - 1]));
		// the first event after a quiet day is filed under the day of the one before it
		expect(results.map((result) => result.key.split('/').slice(-2).join('/'))).toEqual([
			'2026-01-01/000000000001.json',
			'2026-01-01/000000000002.json',
			'2026-01-03/000000000003.json',
			'2026-01-03/000000000004.json',
		]);

		const day3 = await verifyAudit({ client, bucket: plainBucket, prefix, from: '2026-01-03', to: '2026-01-03', verificationKeys });
		expect(day3).toMatchObject({ valid: true, eventsChecked: 3, first: { seq: 2 }, last: { seq: 4 } });
		const quietDay = await verifyAudit({ client, bucket: plainBucket, prefix, from: '2026-01-02', to: '2026-01-02', verificationKeys });
		expect(quietDay).toMatchObject({ valid: true, eventsChecked: 0, first: null, gaps: [], breaks: [] });

		// event 2 (filed under 01-01) is cut out: the range's walk back from 01-03 and the link of event 3 say so
		await client.send(new DeleteObjectCommand({ Bucket: plainBucket, Key: results[1].key }));
		const cut = await verifyAudit({ client, bucket: plainBucket, prefix, from: '2026-01-03', to: '2026-01-03', verificationKeys });
		expect(cut.valid).toBe(false);
		expect(cut.gaps).toEqual([expect.objectContaining({ afterSeq: 1, beforeSeq: 3, missing: 1 })]);
	});

	it('an event deleted from the middle is a gap', async () => {
		const prefix = newPrefix();
		const results = await appendMany(plainBucket, prefix, 5);
		await client.send(new DeleteObjectCommand({ Bucket: plainBucket, Key: results[2].key }));

		const report = await verifyAudit({ client, bucket: plainBucket, prefix, verificationKeys });
		expect(report).toMatchObject({ valid: false, eventsChecked: 4, breaks: [], badSignatures: [] });
		expect(report.gaps).toEqual([{ afterSeq: 2, beforeSeq: 4, missing: 1, message: `Event 3 is missing between ${results[1].key} and ${results[3].key}` }]);
	});

	it('the first event deleted is a gap at the start; the last events of a range deleted are a gap seen from the event after it', async () => {
		const prefix = newPrefix();
		const times = ['2026-02-01T08:00:00Z', '2026-02-01T09:00:00Z', '2026-02-01T10:00:00Z', '2026-02-02T08:00:00Z', '2026-02-02T09:00:00Z'];
		const results = await appendMany(plainBucket, prefix, times.length, (n) => new Date(times[n - 1]));
		expect(results[3].key).toContain('/2026-02-01/');
		expect(results[4].key).toContain('/2026-02-02/');
		await client.send(new DeleteObjectCommand({ Bucket: plainBucket, Key: results[0].key }));
		await client.send(new DeleteObjectCommand({ Bucket: plainBucket, Key: results[3].key }));

		const firstDay = await verifyAudit({ client, bucket: plainBucket, prefix, from: '2026-02-01', to: '2026-02-01', verificationKeys });
		expect(firstDay.eventsChecked).toBe(2);
		expect(firstDay.gaps).toEqual([
			expect.objectContaining({ afterSeq: null, beforeSeq: 2, missing: 1 }),
			expect.objectContaining({ afterSeq: 3, beforeSeq: 5, missing: 1 }),
		]);
	});

	it('an altered event fails its signature and breaks the link of the next one; re-signed by another key it still fails', async () => {
		const prefix = newPrefix();
		const results = await appendMany(plainBucket, prefix, 5);
		const altered = { ...(await readEvent(plainBucket, results[2].key)), counts: { records: 0, bytes: 0 } };
		await putRaw(plainBucket, results[2].key, canonicalize(altered)!);

		const report = await verifyAudit({ client, bucket: plainBucket, prefix, verificationKeys });
		expect(report).toMatchObject({ valid: false, eventsChecked: 5, gaps: [] });
		expect(report.badSignatures).toEqual([expect.objectContaining({ seq: 3, key: results[2].key })]);
		expect(report.breaks).toEqual([expect.objectContaining({ seq: 4, reason: 'hash-mismatch' })]);
		expect(report.breaks[0].message).toBe(`Event 3 (${results[2].key}) is not the event whose SHA-256 event 4 holds: it was altered or replaced`);

		const forged = { ...altered, signature: '' };
		forged.signature = String((await sign({ data: auditSignedBytes(forged), signingKey: forgerKey, detached: true, armor: true })).signature);
		await putRaw(plainBucket, results[2].key, canonicalize(forged)!);
		const again = await verifyAudit({ client, bucket: plainBucket, prefix, verificationKeys });
		expect(again.badSignatures.map((entry) => entry.seq)).toEqual([3]);
		expect(again.breaks.map((entry) => [entry.seq, entry.reason])).toEqual([[4, 'hash-mismatch']]);
	});

	it('two events whose bodies were swapped are named, and the event after them no longer links', async () => {
		const prefix = newPrefix();
		const results = await appendMany(plainBucket, prefix, 5);
		const second = await getObjectBytes(client, plainBucket, results[1].key);
		const third = await getObjectBytes(client, plainBucket, results[2].key);
		await putRaw(plainBucket, results[1].key, third);
		await putRaw(plainBucket, results[2].key, second);

		const report = await verifyAudit({ client, bucket: plainBucket, prefix, verificationKeys });
		expect(report).toMatchObject({ valid: false, gaps: [], badSignatures: [] });
		expect(report.breaks.map((entry) => [entry.seq, entry.reason])).toEqual([
			[2, 'wrong-key'],
			[3, 'wrong-key'],
			[4, 'hash-mismatch'],
		]);
		expect(report.breaks[0].message).toBe(`${results[1].key} holds event 3, not event 2: events were moved, swapped or copied`);
	});

	it('an object planted at the next sequence number is chained over, not a stop, and Verify Audit names it', async () => {
		const prefix = newPrefix();
		const results = await appendMany(plainBucket, prefix, 2);
		const planted = results[1].key.replace('000000000002.json', '000000000003.json');
		await putRaw(plainBucket, planted, '{"type":"something else"}');
		const next = await appendAuditEvent({ client: other, bucket: plainBucket, prefix, signer: signingKey, event: auditEvent(3) });
		expect(next).toMatchObject({ seq: 4, prevKey: planted });

		const report = await verifyAudit({ client, bucket: plainBucket, prefix, verificationKeys });
		expect(report).toMatchObject({ valid: false, eventsChecked: 4, gaps: [], badSignatures: [] });
		expect(report.breaks).toEqual([{ seq: 3, key: planted, reason: 'malformed', message: `${planted} is not an audit event (not a chat-archive.audit-event of version 1)` }]);
	});

	it('versioned bucket: a delete marker over an event is reported, the version under it still verifies', async () => {
		const prefix = newPrefix();
		const results = await appendMany(versionedBucket, prefix, 3);
		await client.send(new DeleteObjectCommand({ Bucket: versionedBucket, Key: results[1].key }));

		const report = await verifyAudit({ client, bucket: versionedBucket, prefix, verificationKeys });
		expect(report).toMatchObject({ valid: false, eventsChecked: 3, gaps: [], breaks: [], badSignatures: [] });
		expect(report.problems).toEqual([`Event 2 (${results[1].key}) was deleted: a delete marker hides it, its stored version is checked`]);
	});

	it('Object Lock bucket: each event is stored under GOVERNANCE retention, in one version', async () => {
		const prefix = newPrefix();
		const signer = await createReportSigner({ armoredKey: signerHome.secretKeyArmored });
		const result = await appendAuditEvent({ client, bucket: lockBucket, prefix, signer, event: auditEvent(1) });
		expect(result.objectLock?.mode).toBe('GOVERNANCE');
		expect(result.signerFingerprint).toBe(signerHome.fingerprint);
		const head = await client.send(new HeadObjectCommand({ Bucket: lockBucket, Key: result.key }));
		expect(head.ObjectLockMode).toBe('GOVERNANCE');
		expect(head.ObjectLockRetainUntilDate?.toISOString()).toBe(result.objectLock?.retainUntil);
		expect(head.VersionId).toBe(result.versionId);
	});

	it.each([
		['unversioned (the store honours If-None-Match)', () => plainBucket],
		['Object Lock (the store keeps every PUT as a version; the race is settled after it)', () => lockBucket],
	])('%s bucket: two writers in two processes appending at once keep one chain', async (_label, bucketOf) => {
		const bucket = bucketOf();
		const prefix = newPrefix();
		const signer = await createReportSigner({ armoredKey: signerHome.secretKeyArmored });
		const writer = async (writerClient: S3Client, offset: number) => {
			const results = [];
			for (let n = 0; n < 6; n++)
				results.push(await appendAuditEvent({ client: writerClient, bucket, prefix, signer, event: auditEvent(offset + n) }));
			return results;
		};
		const [first, second] = await Promise.all([writer(client, 0), writer(other, 100)]);

		const seqs = [...first, ...second].map((result) => result.seq).sort((a, b) => a - b);
		expect(seqs).toEqual(Array.from({ length: 12 }, (_, index) => index + 1));
		expect(Math.max(...[...first, ...second].map((result) => result.attempts))).toBeGreaterThan(1);
		const report = await verifyAudit({ client, bucket, prefix, verificationKeys });
		expect(report).toMatchObject({ valid: true, eventsChecked: 12, gaps: [], breaks: [], badSignatures: [], extraVersions: [] });
		const executions = new Set<string>();
		for (const result of [...first, ...second]) executions.add((await readEvent(bucket, result.key)).executionId!);
		expect(executions.size).toBe(12);
	});

	it('a writer whose newest known event is stale catches up with the events another process wrote', async () => {
		const prefix = newPrefix();
		await appendAuditEvent({ client, bucket: plainBucket, prefix, signer: signingKey, event: auditEvent(1) });
		for (let n = 2; n <= 4; n++) await appendAuditEvent({ client: other, bucket: plainBucket, prefix, signer: signingKey, event: auditEvent(n) });
		const late = await appendAuditEvent({ client, bucket: plainBucket, prefix, signer: signingKey, event: auditEvent(5) });
		expect(late).toMatchObject({ seq: 5, attempts: 2 });
		expect((await verifyAudit({ client, bucket: plainBucket, prefix, verificationKeys })).valid).toBe(true);
	});

	it('a writer on the far side of midnight that extends a stale event does not fork the chain', async () => {
		const prefix = newPrefix();
		const append = async (writerClient: S3Client, n: number, at: string) =>
			await appendAuditEvent({ client: writerClient, bucket: plainBucket, prefix, signer: signingKey, event: auditEvent(n, { at: new Date(at) }) });
		await append(client, 1, '2026-04-01T12:00:00Z');
		await append(other, 2, '2026-04-01T12:01:00Z');
		await append(client, 3, '2026-04-01T23:59:59Z');
		// `other` still holds event 2 as the newest: its clock says 04-02, yet event 3's only key is under 04-01
		const late = await append(other, 4, '2026-04-02T00:00:01Z');
		expect(late).toMatchObject({ seq: 4, attempts: 2, key: `${prefix}/_audit/2026-04-01/000000000004.json` });
		const report = await verifyAudit({ client, bucket: plainBucket, prefix, verificationKeys });
		expect(report).toMatchObject({ valid: true, eventsChecked: 4 });
	});

	it('finds the last event of a day folder with a few one-key listings, past a missing key', async () => {
		const prefix = newPrefix();
		const folder = `${prefix}/_audit`;
		for (let seq = 1; seq <= 37; seq++)
			if (seq !== 20) await putRaw(plainBucket, `${folder}/2026-03-01/${String(seq).padStart(12, '0')}.json`, '{}');
		await putRaw(plainBucket, `${folder}/2026-03-01/notes.txt`, 'not an event');
		expect(await lastAuditKeyIn(client, plainBucket, folder, '2026-03-01')).toEqual({ key: `${folder}/2026-03-01/000000000037.json`, seq: 37 });
		expect(await lastAuditKeyIn(client, plainBucket, folder, '2026-03-02')).toBeNull();
	});

	it.each([
		['a phone number as a matter id', { matterIds: ['+44 7700 900123'] }, 'scope.matterIds'],
		['digits of a phone number in a matter id', { matterIds: ['CASE-447700900123'] }, 'scope.matterIds'],
		['a phone number as a pseudonym', { pseudonyms: ['447700900123'] }, 'scope.pseudonyms'],
		['a phone number in a key prefix', { keyPrefixes: ['PREFIX/default/106000000000002/2026/01/01/+447700900123/'] }, 'scope.keyPrefixes'],
		['a field outside the scope rules', { phoneNumber: '447700900123' }, 'scope.phoneNumber'],
		['message text as a date', { from: 'Hello, call me on 07700 900123' }, 'scope.from'],
	])('refuses %s, naming the field and not the value, and writes nothing', async (_label, scope, field) => {
		const prefix = newPrefix();
		const event = auditEvent(1, { scope: JSON.parse(JSON.stringify(scope).replace('PREFIX', prefix)) });
		const error = await appendAuditEvent({ client, bucket: plainBucket, prefix, signer: signingKey, event }).catch((caught: Error) => caught);
		expect(error).toMatchObject({ name: 'ArchiveError', code: 'InvalidInput' });
		expect((error as Error).message).toContain(field);
		expect((error as Error).message).not.toMatch(/7700|900123/);
		expect(await listAllKeys(client, plainBucket, `${prefix}/`)).toEqual([]);
	});

	it('refuses a phone number as the user and a record key outside the archive prefix', async () => {
		const prefix = newPrefix();
		await expect(appendAuditEvent({ client, bucket: plainBucket, prefix, signer: signingKey, event: auditEvent(1, { user: '+447700900123' }) })).rejects.toThrow(
			/^Invalid audit event user: must be n8n's user id or the user's e-mail address, without a phone number$/,
		);
		await expect(
			appendAuditEvent({ client, bucket: plainBucket, prefix, signer: signingKey, event: auditEvent(1, { scope: { keyPrefixes: ['elsewhere/default/'] } }) }),
		).rejects.toThrow(/scope\.keyPrefixes: every entry must start with the archive prefix/);
		const accepted = await appendAuditEvent({
			client,
			bucket: plainBucket,
			prefix,
			signer: signingKey,
			event: auditEvent(1, { user: 'legal@example.org', scope: { keyPrefixes: [`${prefix}/default/106000000000002/2026/01/01/${PSEUDONYM}/`], runIds: ['20260101T020000Z-1a2b3c4d'] } }),
		});
		expect(accepted.event.scope.keyPrefixes).toHaveLength(1);
	});
});
