/** Legal-hold matters: registry events, S3 legal-hold flags, scope matching, and their effect on sweeps. */
import { GetObjectLegalHoldCommand, type S3Client } from '@aws-sdk/client-s3';
import * as openpgp from 'openpgp';

import { phoneNumberPseudonym, recordObjectKey } from '../../../lib/archive';
import { createS3Client } from '../../../lib/s3';
import {
	createControlVerifier,
	createReportSigner,
	executeSweep,
	loadHolds,
	matchesScope,
	normalizeScope,
	placeHold,
	planSweep,
	releaseHold,
	RetentionError,
	type ControlVerifier,
	type ReportSigner,
} from '../../../lib/retention';
import { listAllKeys, makeBucket, s3Settings } from '../../helpers/s3';
import { HEX32, listVersionRefs, putVersion } from './population';

const PREFIX = 'archive';
const INDEX_KEY = '47dea6762673211e5eeb699dda770b031dfabbc34583813ffd18af8190a84897'; // 64 hex characters, as openssl rand -hex 32 makes
const POLICY = { prefix: PREFIX, classes: [{ name: 'default', retention: 'P1Y' }, { name: 'mifid', retention: 'P5Y' }] };
const ALICE = '+44 7700 900123';

let client: S3Client;
/** The archive's key: signs hold events, verifies them when the registry is read. */
let auth: { signer: ReportSigner; verifier: ControlVerifier };
beforeAll(async () => {
	client = createS3Client(s3Settings());
	const key = await openpgp.generateKey({ type: 'ecc', curve: 'curve25519Legacy', userIDs: [{ name: 'archive' }], format: 'armored' });
	auth = {
		signer: await createReportSigner({ armoredKey: key.privateKey }),
		verifier: createControlVerifier({ verificationKeys: [await openpgp.readKey({ armoredKey: key.publicKey })] }),
	};
});
afterAll(() => client.destroy());

async function legalHoldOf(bucket: string, key: string, versionId: string): Promise<string> {
	try {
		const result = await client.send(new GetObjectLegalHoldCommand({ Bucket: bucket, Key: key, VersionId: versionId }));
		return result.LegalHold?.Status ?? 'OFF';
	} catch {
		return 'OFF';
	}
}

describe('scopes', () => {
	const key = { phoneNumberId: '1055', pseudonym: 'a'.repeat(32), date: '2020-05-05', retentionClass: 'default' };
	it.each([
		[{}, true],
		[{ phoneNumberIds: ['1055'] }, true],
		[{ phoneNumberIds: ['9999'] }, false],
		[{ pseudonyms: ['a'.repeat(32)], classes: ['default'] }, true],
		[{ pseudonyms: ['b'.repeat(32)] }, false],
		[{ from: '2020-05-05', to: '2020-05-05' }, true],
		[{ from: '2020-05-06' }, false],
		[{ to: '2020-05-04' }, false],
		[{ classes: ['mifid'] }, false],
	])('%j matches: %s', (scope, expected) => {
		expect(matchesScope(scope, key)).toBe(expected);
	});

	it('turns phone numbers into pseudonyms and never keeps the numbers', () => {
		const scope = normalizeScope({ phoneNumbers: [ALICE], from: '2020-01-01T10:00:00Z' }, INDEX_KEY);
		expect(scope).toEqual({ pseudonyms: [phoneNumberPseudonym({ indexKey: INDEX_KEY, phoneNumber: ALICE })], from: '2020-01-01' });
		expect(JSON.stringify(scope)).not.toMatch(/7700/);
		expect(() => normalizeScope({ phoneNumbers: [ALICE] })).toThrow(/index key/);
		expect(() => normalizeScope({ from: '2020-13-01' })).toThrow(RetentionError);
		expect(() => normalizeScope({ from: '2021-01-01', to: '2020-01-01' })).toThrow(/after/);
	});
});

it('place sets the flag on versions in scope, the sweep keeps them, release clears it (except under another matter)', async () => {
	const bucket = await makeBucket(client, { objectLock: true });
	const alice = phoneNumberPseudonym({ indexKey: INDEX_KEY, phoneNumber: ALICE });
	const key = (pseudonym: string, retentionClass = 'default', date = '2019-04-01') =>
		recordObjectKey({ prefix: PREFIX, retentionClass, phoneNumberId: '1055500000', date, pseudonym, recordId: HEX32() });
	const aliceOld = key(alice);
	const aliceOther = key(alice, 'default', '2019-06-01'); // outside the second matter's date range
	const bob = key(HEX32());
	const v = {
		aliceOld1: await putVersion(client, bucket, aliceOld),
		aliceOld2: await putVersion(client, bucket, aliceOld),
		aliceOther: await putVersion(client, bucket, aliceOther),
		bob: await putVersion(client, bucket, bob),
	};

	const placed = await placeHold({
		client,
		bucket,
		prefix: PREFIX,
		matterId: 'CASE-1',
		scope: { phoneNumbers: [ALICE], classes: ['default'] },
		indexKey: INDEX_KEY,
		actor: 'legal@example.org',
		reason: 'litigation 2026-CV-1',
		...auth,
	});
	expect(placed.legalHold).toMatchObject({ objectLockEnabled: true, matched: 3, changed: 3, failed: [] });
	expect(await legalHoldOf(bucket, aliceOld, v.aliceOld1)).toBe('ON');
	expect(await legalHoldOf(bucket, aliceOld, v.aliceOld2)).toBe('ON');
	expect(await legalHoldOf(bucket, bob, v.bob)).toBe('OFF');
	await expect(
		placeHold({ client, bucket, prefix: PREFIX, matterId: 'CASE-1', scope: {}, actor: 'x', reason: 'y', ...auth }),
	).rejects.toMatchObject({ code: 'MatterAlreadyActive' });

	// A second, narrower matter over Alice's April records.
	await placeHold({
		client,
		bucket,
		prefix: PREFIX,
		matterId: 'CASE-2',
		scope: { pseudonyms: [alice], from: '2019-04-01', to: '2019-04-30' },
		actor: 'legal@example.org',
		reason: 'regulator inquiry',
		applyLegalHoldFlag: false,
		...auth,
	});

	const plan = await planSweep({ client, bucket, policy: POLICY, verifier: auth.verifier });
	expect(plan.deletions.map((d) => d.key)).toEqual([bob]);
	expect(plan.protected.filter((p) => p.reason === 'matter')).toHaveLength(3);
	expect(plan.protected.find((p) => p.key === aliceOther)!.matterIds).toEqual(['CASE-1']);
	expect(plan.protected.find((p) => p.key === aliceOld)!.matterIds).toEqual(['CASE-1', 'CASE-2']);

	const released = await releaseHold({ client, bucket, prefix: PREFIX, matterId: 'CASE-1', actor: 'legal@example.org', reason: 'settled', ...auth });
	expect(released.legalHold).toMatchObject({ matched: 3, changed: 1, keptForOtherMatters: 2 });
	expect(await legalHoldOf(bucket, aliceOther, v.aliceOther)).toBe('OFF');
	expect(await legalHoldOf(bucket, aliceOld, v.aliceOld1)).toBe('ON');
	await expect(
		releaseHold({ client, bucket, prefix: PREFIX, matterId: 'CASE-1', actor: 'x', reason: 'y', ...auth }),
	).rejects.toMatchObject({ code: 'MatterNotFound' });

	const { matters } = await loadHolds({ client, bucket, prefix: PREFIX, verifier: auth.verifier });
	expect(matters.map((m) => [m.matterId, m.active, m.eventKeys.length])).toEqual([
		['CASE-1', false, 2],
		['CASE-2', true, 1],
	]);
	expect(matters[0]).toMatchObject({ placedBy: 'legal@example.org', releasedBy: 'legal@example.org', reason: 'litigation 2026-CV-1' });

	// The sweep now deletes Bob's and Alice's June record; Alice's April versions stay (CASE-2 + flag).
	const result = await executeSweep({ client, bucket, policy: POLICY, ...auth });
	expect(result.deleted.count).toBe(2);
	expect(await listVersionRefs(client, bucket, `${PREFIX}/default/`)).toEqual(
		[`${aliceOld}#${v.aliceOld1}`, `${aliceOld}#${v.aliceOld2}`].sort(),
	);
	// The registry keeps every event; nothing under _holds/ was deleted.
	expect((await listAllKeys(client, bucket, `${PREFIX}/_holds/`)).length).toBe(6); // 3 events, each with its .asc
	const holdsText = (await listAllKeys(client, bucket, `${PREFIX}/_holds/`)).join(' ');
	expect(holdsText).not.toMatch(/7700/);
});

it('works on a bucket without Object Lock (registry only)', async () => {
	const bucket = await makeBucket(client, { versioning: true });
	const placed = await placeHold({
		client,
		bucket,
		prefix: PREFIX,
		matterId: 'M-1',
		scope: { phoneNumberIds: ['1055500000'] },
		actor: 'a',
		reason: 'b',
	});
	expect(placed.legalHold).toMatchObject({ objectLockEnabled: false, changed: 0 });
	const key = recordObjectKey({ prefix: PREFIX, retentionClass: 'default', phoneNumberId: '1055500000', date: '2001-01-01', pseudonym: HEX32(), recordId: HEX32() });
	await putVersion(client, bucket, key);
	const plan = await planSweep({ client, bucket, policy: POLICY });
	expect(plan.totals.held.count).toBe(1);
	expect(plan.totals.delete.count).toBe(0);
});
