/** The Retention Sweeper node against the local store, through the shared execution context (test/helpers/execute-context.ts). */
import { GetObjectLegalHoldCommand, type S3Client } from '@aws-sdk/client-s3';
import { NodeApiError, NodeOperationError } from 'n8n-workflow';
import * as openpgp from 'openpgp';

import { phoneNumberPseudonym, recordObjectKey } from '../../../lib/archive';
import { createS3Client } from '../../../lib/s3';
import { RetentionSweeper } from '../../../nodes/RetentionSweeper/RetentionSweeper.node';
import { executeContext } from '../../helpers/execute-context';
import { getObjectBytes, makeBucket, s3ArchiveCredential, s3Settings } from '../../helpers/s3';
import { HEX32, listVersionRefs, putVersion } from '../../lib/retention/population';

const INDEX_KEY = '47dea6762673211e5eeb699dda770b031dfabbc34583813ffd18af8190a84897'; // 64 hex characters, as openssl rand -hex 32 makes
const ALICE = '+44 7700 900123';
const CLASSES = { values: [{ name: 'default', retention: 'P1Y', minimum: '' }, { name: 'mifid', retention: 'P5Y', minimum: '' }] };

let client: S3Client;
let bucket: string;
let armoredKey: string;
let publicKey: openpgp.PublicKey;
const sweeper = new RetentionSweeper();

const s3Credential = () => (s3ArchiveCredential(bucket, INDEX_KEY));
const run = async (parameters: Record<string, unknown> | Array<Record<string, unknown>>, extra: { continueOnFail?: boolean; items?: number } = {}) => {
	const context = executeContext({
		nodeType: sweeper,
		items: Array.from({ length: extra.items ?? 1 }, () => ({ json: {} })),
		parameters,
		credentials: { s3ArchiveApi: s3Credential(), openPgpPrivateKeyApi: { privateKey: armoredKey, passphrase: 'pw' } },
		continueOnFail: extra.continueOnFail,
	});
	return { output: await sweeper.execute.call(context), context };
};

const keyFor = (retentionClass: string, date: string, pseudonym = HEX32()) =>
	recordObjectKey({ prefix: 'archive', retentionClass, phoneNumberId: '1055500000', date, pseudonym, recordId: HEX32() });

beforeAll(async () => {
	client = createS3Client(s3Settings());
	bucket = await makeBucket(client, { objectLock: true });
	const generated = await openpgp.generateKey({
		type: 'ecc',
		curve: 'curve25519Legacy',
		userIDs: [{ name: 'Sweeper', email: 'sweeper@example.org' }],
		passphrase: 'pw',
		format: 'armored',
	});
	armoredKey = generated.privateKey;
	publicKey = await openpgp.readKey({ armoredKey: generated.publicKey });
});
afterAll(() => client.destroy());

it('describes itself as the issue asks', () => {
	const { description } = sweeper;
	expect(description).toMatchObject({ name: 'retentionSweeper', displayName: 'Retention Sweeper' });
	const byName = Object.fromEntries(description.properties.map((p) => [p.name, p]));
	expect(byName.operation.default).toBe('plan');
	expect((byName.operation.options as Array<{ value: string }>).map((o) => o.value).sort()).toEqual(
		['execute', 'lifecycle', 'placeHold', 'plan', 'releaseHold'],
	);
	expect(byName.prefix.default).toBe('archive');
	expect(byName.classes.type).toBe('fixedCollection');
	expect(byName.maxDeletions.default).toBe(10000);
	const sweepOptions = Object.fromEntries((byName.sweepOptions.options as Array<{ name: string; default: unknown; displayOptions?: unknown }>).map((o) => [o.name, o]));
	expect(sweepOptions.batchesInFlight).toMatchObject({ default: 4, displayOptions: { show: { '/operation': ['execute'] } } });
	expect(sweepOptions.concurrency).toMatchObject({ displayOptions: { show: { '/operation': ['plan'] } } });
	expect(description.credentials!.map((c) => c.name)).toEqual(['s3ArchiveApi', 'openPgpPrivateKeyApi']);
});

it('plan, place hold by phone number, execute with a signed report, release hold', async () => {
	const alice = phoneNumberPseudonym({ indexKey: INDEX_KEY, phoneNumber: ALICE });
	const expiredAlice = keyFor('default', '2018-01-02', alice);
	const expiredOther = keyFor('default', '2018-01-03');
	const freshMifid = keyFor('mifid', '2022-05-05');
	const versions = {
		alice: await putVersion(client, bucket, expiredAlice),
		other: await putVersion(client, bucket, expiredOther),
		mifid: await putVersion(client, bucket, freshMifid),
	};

	const planned = await run({ operation: 'plan', prefix: 'archive', classes: CLASSES, includeVersions: true });
	expect(planned.output[0]).toHaveLength(1);
	const planJson = planned.output[0][0].json as Record<string, any>;
	expect(planned.output[0][0].pairedItem).toEqual({ item: 0 });
	expect(planJson.totals.delete).toEqual({ count: 2, bytes: expect.any(Number) });
	expect(planJson.classes.find((c: any) => c.retentionClass === 'mifid').keep.count).toBe(1);
	expect(planJson.deletions).toHaveLength(2);
	expect(planned.context.stats.credentialReads).toEqual(['s3ArchiveApi', 'openPgpPrivateKeyApi']);

	const placed = await run({
		operation: 'placeHold',
		prefix: 'archive',
		matterId: 'CASE-9',
		actor: 'legal@example.org',
		reason: 'subpoena',
		counterpartyPhoneNumbers: ALICE,
		from: '2018-01-01T00:00:00.000Z',
		applyLegalHoldFlag: true,
	});
	const placedJson = placed.output[0][0].json as Record<string, any>;
	expect(placedJson.matter.scope).toEqual({ pseudonyms: [alice], from: '2018-01-01' });
	expect(JSON.stringify(placedJson)).not.toContain('7700');
	expect(placedJson.legalHold).toMatchObject({ matched: 1, changed: 1 });

	const executed = await run({ operation: 'execute', prefix: 'archive', classes: CLASSES, maxDeletions: 0, signReport: true, reportLockMode: 'none' });
	const result = executed.output[0][0].json as Record<string, any>;
	expect(result).toMatchObject({ operation: 'execute', deleted: { count: 1 }, skipped: { count: 0 }, deferred: { count: 0 }, skippedEntries: [] });
	expect(result.signerFingerprint).toBe(publicKey.getFingerprint().toUpperCase());
	expect(executed.context.stats.credentialReads).toEqual(['s3ArchiveApi', 'openPgpPrivateKeyApi']);
	const report = await getObjectBytes(client, bucket, result.reportKey);
	const signature = (await getObjectBytes(client, bucket, result.signatureKey)).toString();
	const verified = await openpgp.verify({
		message: await openpgp.createMessage({ binary: report }),
		signature: await openpgp.readSignature({ armoredSignature: signature }),
		verificationKeys: publicKey,
	});
	await expect(verified.signatures[0].verified).resolves.toBe(true);
	expect(await listVersionRefs(client, bucket, 'archive/default/')).toEqual([`${expiredAlice}#${versions.alice}`]);

	const released = await run({ operation: 'releaseHold', prefix: 'archive', matterId: 'CASE-9', actor: 'legal@example.org', reason: 'closed', applyLegalHoldFlag: true });
	expect((released.output[0][0].json as Record<string, any>).legalHold).toMatchObject({ changed: 1 });
	const flag = await client.send(new GetObjectLegalHoldCommand({ Bucket: bucket, Key: expiredAlice, VersionId: versions.alice }));
	expect(flag.LegalHold?.Status).toBe('OFF');

	const unsigned = await run({ operation: 'execute', prefix: 'archive', classes: CLASSES, signReport: false, reportLockMode: 'GOVERNANCE', reportRetention: 'P1D' });
	expect((unsigned.output[0][0].json as Record<string, any>).deleted.count).toBe(1);
	expect((unsigned.output[0][0].json as Record<string, any>).signatureKey).toBeNull();
	expect(await listVersionRefs(client, bucket, 'archive/default/')).toEqual([]);
	expect(await listVersionRefs(client, bucket, 'archive/mifid/')).toEqual([`${freshMifid}#${versions.mifid}`]);
});

it('execute on Object Lock: versions the store refuses (legal hold, GOVERNANCE retain-until) are reported, not deleted', async () => {
	const lockKey = (date: string) => recordObjectKey({ prefix: 'locked', retentionClass: 'default', phoneNumberId: '1055500000', date, pseudonym: HEX32(), recordId: HEX32() });
	const plain = [lockKey('2018-02-01'), lockKey('2018-02-02'), lockKey('2018-02-03')];
	const held = lockKey('2018-02-04');
	const retained = lockKey('2018-02-05');
	for (const key of plain) await putVersion(client, bucket, key);
	const versions = {
		held: await putVersion(client, bucket, held, { legalHold: true }),
		retained: await putVersion(client, bucket, retained, { lock: { mode: 'GOVERNANCE', until: new Date(Date.now() + 3600_000) } }),
	};
	const parameters = { operation: 'execute', prefix: 'locked', classes: CLASSES, signReport: true, reportLockMode: 'none' };

	// the option reaches the engine (which refuses a bad value before anything is sent)
	await expect(run({ ...parameters, sweepOptions: { batchesInFlight: 33 } })).rejects.toThrow(/batchesInFlight must be an integer from 1 to 32/);

	const executed = await run({ ...parameters, sweepOptions: { batchSize: 1, batchesInFlight: 2 } });
	const result = executed.output[0][0].json as Record<string, any>;
	expect(result).toMatchObject({ deleted: { count: 3 }, skipped: { count: 2 }, deleteRequests: 5 });
	expect(result.plan).toMatchObject({ objectLockEnabled: true, lockStatusRead: false });
	expect(result.skippedEntries.map((e: any) => [e.key, e.versionId])).toEqual([
		[held, versions.held],
		[retained, versions.retained],
	]);
	for (const entry of result.skippedEntries) expect(entry.reason).toMatch(/^refused by the store: Object Lock retention or legal hold \(AccessDenied/);
	expect((await listVersionRefs(client, bucket, 'locked/default/')).sort()).toEqual([`${held}#${versions.held}`, `${retained}#${versions.retained}`].sort());
	// the signed report says the same
	const report = JSON.parse((await getObjectBytes(client, bucket, result.reportKey)).toString('utf8'));
	expect(report.summary).toMatchObject({ deleted: { count: 3 }, skipped: { count: 2 } });
	expect(report.entries.filter((e: any) => e.status === 'skipped').map((e: any) => e.key)).toEqual([held, retained]);
});

it('lifecycle shows the rules without applying them', async () => {
	const { output } = await run({ operation: 'lifecycle', prefix: 'archive', classes: CLASSES, lifecycleAction: 'show' });
	const json = output[0][0].json as Record<string, any>;
	expect(json.applied).toBe(false);
	expect(json.proposed.map((r: any) => r.ID)).toContain('chat-archive:archive/mifid:expire');
});

it('bad input: NodeOperationError with itemIndex, or an error item under Continue On Fail', async () => {
	const tooShort = { operation: 'plan', prefix: 'archive', classes: { values: [{ name: 'sec-17a-4', retention: 'P1Y' }] } };
	await expect(run(tooShort)).rejects.toThrow(NodeOperationError);
	await run(tooShort).catch((error: NodeOperationError) => {
		expect(error.message).toMatch(/shorter than its minimum P3Y/);
		expect(error.context.itemIndex).toBe(0);
	});
	const good = { operation: 'plan', prefix: 'archive', classes: CLASSES };
	const { output } = await run([good, tooShort], { continueOnFail: true, items: 2 });
	expect(output[0]).toHaveLength(2);
	expect(output[0][0].json.operation).toBe('plan');
	expect(output[0][1]).toEqual({
		json: { error: expect.objectContaining({ message: expect.stringMatching(/minimum/), code: 'PolicyBelowMinimum' }) },
		pairedItem: { item: 1 },
	});
});

it('store failures become NodeApiError with the store code', async () => {
	const context = executeContext({
		nodeType: sweeper,
		parameters: { operation: 'plan', prefix: 'archive', classes: CLASSES, bucket: 'no-such-bucket-retention-test' },
		credentials: { s3ArchiveApi: s3Credential(), openPgpPrivateKeyApi: { privateKey: armoredKey, passphrase: 'pw' } },
	});
	const error = await sweeper.execute.call(context).catch((e: unknown) => e);
	expect(error).toBeInstanceOf(NodeApiError);
	expect((error as NodeApiError).message).toMatch(/NoSuchBucket/);
	expect((error as NodeApiError).message).not.toContain(s3Settings().secretAccessKey);
});

it('holds are signed: a forged release is reported and ignored by Plan, Lifecycle Apply is refused while a matter is active, and no key is a clear error', async () => {
	const own = await makeBucket(client, { objectLock: true });
	const held = keyFor('default', '2018-02-02');
	await putVersion(client, own, held);
	const placed = await run({ operation: 'placeHold', bucket: own, prefix: 'archive', matterId: 'CASE-F', actor: 'legal@example.org', reason: 'subpoena', phoneNumberIds: '1055500000', applyLegalHoldFlag: false });
	const eventKey = (placed.output[0][0].json as Record<string, any>).eventKey as string;
	const signature = (await getObjectBytes(client, own, `${eventKey}.asc`)).toString();
	const event = await getObjectBytes(client, own, eventKey);
	const checked = await openpgp.verify({ message: await openpgp.createMessage({ binary: event }), signature: await openpgp.readSignature({ armoredSignature: signature }), verificationKeys: publicKey });
	await expect(checked.signatures[0].verified).resolves.toBe(true);

	// one PutObject of a release dated far in the future
	const forgedKey = 'archive/_holds/CASE-F/29991231T000000000Z-release-deadbeef.json';
	const { writeObject } = await import('../../../lib/archive');
	await writeObject({ client, bucket: own, key: forgedKey, body: Buffer.from(JSON.stringify({ type: 'chat-archive.hold-event', version: 1, matterId: 'CASE-F', action: 'release', at: '2999-12-31T00:00:00.000Z', actor: 'x', reason: 'x', scope: {} })) });
	const planned = await run({ operation: 'plan', bucket: own, prefix: 'archive', classes: CLASSES });
	const plan = planned.output[0][0].json as Record<string, any>;
	expect(plan.matterIds).toEqual(['CASE-F']);
	expect(plan.totals.delete.count).toBe(0);
	expect(plan.holdAuthentication).toEqual({ verifiedEvents: 1, unverifiedEventKeys: [forgedKey], ignoredReleaseKeys: [forgedKey] });

	const shown = await run({ operation: 'lifecycle', bucket: own, prefix: 'archive', classes: CLASSES, lifecycleAction: 'show' });
	expect((shown.output[0][0].json as Record<string, any>).activeMatterIds).toEqual(['CASE-F']);
	await expect(run({ operation: 'lifecycle', bucket: own, prefix: 'archive', classes: CLASSES, lifecycleAction: 'apply' })).rejects.toThrow(/CASE-F/);

	const noKey = executeContext({ nodeType: sweeper, parameters: { operation: 'plan', bucket: own, prefix: 'archive', classes: CLASSES }, credentials: { s3ArchiveApi: s3Credential() } });
	await expect(sweeper.execute.call(noKey)).rejects.toThrow(/Plan .*needs an OpenPGP Private Key credential/);
});

it('key rotation: with the earlier archive key under Earlier Archive Keys, holds it signed still count under a new key; a bad key text names the field', async () => {
	const own = await makeBucket(client, { objectLock: true });
	await putVersion(client, own, keyFor('default', '2018-02-02'));
	const common = { bucket: own, prefix: 'archive', matterId: 'ROT-N', actor: 'legal@example.org', reason: 'subpoena', applyLegalHoldFlag: false };
	await run({ operation: 'placeHold', ...common, phoneNumberIds: '1055500000' });
	await run({ operation: 'releaseHold', ...common });

	// the archive key is rotated: the credential now holds a new key
	const next = await openpgp.generateKey({ type: 'ecc', curve: 'curve25519Legacy', userIDs: [{ name: 'Sweeper 2027' }], format: 'armored' });
	const planWith = async (parameters: Record<string, unknown>) => {
		const context = executeContext({
			nodeType: sweeper,
			parameters: { operation: 'plan', bucket: own, prefix: 'archive', classes: CLASSES, ...parameters },
			credentials: { s3ArchiveApi: s3Credential(), openPgpPrivateKeyApi: { privateKey: next.privateKey, passphrase: '' } },
		});
		return (await sweeper.execute.call(context))[0][0].json as Record<string, any>;
	};
	// without the earlier key the signed release cannot be verified: the matter is active again (fail safe)
	expect((await planWith({})).matterIds).toEqual(['ROT-N']);
	const earlierPublic = publicKey.armor();
	const rotated = await planWith({ earlierArchiveKeys: earlierPublic });
	expect(rotated.matterIds).toEqual([]);
	expect(rotated.holdAuthentication).toMatchObject({ unverifiedEventKeys: [], ignoredReleaseKeys: [] });

	await expect(planWith({ earlierArchiveKeys: 'not a key' })).rejects.toThrow(/Earlier Archive Keys/);
	await expect(planWith({ earlierArchiveKeys: armoredKey })).rejects.toThrow(/Earlier Archive Keys.*PRIVATE key|PRIVATE key.*Earlier Archive Keys/s);
});
