/**
 * Sweeper safety, property-based: seeded random populations (test/lib/retention/population.ts: random
 * classes, record dates on both sides of the retention end, Object Lock GOVERNANCE, legal-hold flags,
 * matters, delete markers, media, multi-version keys with a locked middle version), random policies,
 * random maxDeletions and batch sizes → after the sweep(s), every version that must survive is
 * there (0 wrong deletions) and every expired unprotected version is gone.
 * Forged control objects ride along in every population: release events of the matter written with a
 * bare PutObject (unsigned, and signed by another key, dated far in the future) and a planted
 * write-ahead plan naming versions that must survive and one removed out of band. They must change
 * nothing: the matter holds, the planted plan is never recovered, and no report says "deleted" for a
 * version the sweep did not delete.
 * COMPLIANCE locks are left out (a test bucket holding one cannot be removed); GOVERNANCE locks
 * exercise the same retain-until path of the planner.
 * Identity variants: a matter placed by phone number keeps that person's records filed under a BSUID
 * only (written before the link was learned, or linked only after the hold was placed) and under
 * another WhatsApp form of the number (Mexico's 521…), while another person's expired records go.
 */
import { createHash, randomBytes } from 'node:crypto';
import { DeleteObjectCommand, PutObjectCommand, type S3Client } from '@aws-sdk/client-s3';
import * as openpgp from 'openpgp';

import { objectKeyForRecord, recordIdentityLinks, recordIdentityPseudonyms, recordObjectKey, type Counterparty } from '../../lib/archive';
import { createControlVerifier, createReportSigner, executeSweep, placeHold, planSweep, readDeletionReports, runObjectKeys, type ControlVerifier, type ReportSigner } from '../../lib/retention';
import { expectedSurvivors, HEX32, prng, putVersion, writePopulation, type GroundTruth } from '../lib/retention/population';
import { record } from './helpers/counters';
import { listVersions, SuiteStore } from './helpers/store';

const SOAK = process.env.SOAK === '1';
const SEEDS = SOAK ? Array.from({ length: 20 }, (_, i) => 5000 + i) : [5001, 5002, 5003];
const COUNT = SOAK ? 150 : 45;
const MATTER_PHONE = '1099900001';
const INDEX_KEY = randomBytes(32).toString('hex');
/** The person a matter is placed on, typed as a legal team would. */
const PERSON = '+52 55 1234 5678';

/** Keys with three versions, the middle one GOVERNANCE-locked (COMPLIANCE's stand-in). */
async function lockedMiddleVersions(client: S3Client, bucket: string, retentionClass: string, years: number, random: () => number): Promise<GroundTruth[]> {
	const truths: GroundTruth[] = [];
	for (let i = 0; i < 3; i++) {
		const expired = random() < 0.7;
		const date = new Date(Date.now() - (expired ? years * 366 + 3 + Math.floor(random() * 300) : 3 + Math.floor(random() * 200)) * 86400_000);
		const key = recordObjectKey({ prefix: 'archive', retentionClass, phoneNumberId: '1055500007', date, pseudonym: HEX32(), recordId: HEX32() });
		const future = new Date(Date.now() + 86400_000);
		const base = { key, isDeleteMarker: false, retentionClass, expired, kind: 'versions' as const };
		truths.push({ ...base, versionId: await putVersion(client, bucket, key), protected: false });
		truths.push({ ...base, versionId: await putVersion(client, bucket, key, { lock: { mode: 'GOVERNANCE', until: future } }), protected: true });
		truths.push({ ...base, versionId: await putVersion(client, bucket, key), protected: false });
	}
	return truths;
}

async function putPlain(client: S3Client, bucket: string, key: string, body: Buffer | string): Promise<void> {
	const bytes = Buffer.from(body);
	await client.send(new PutObjectCommand({ Bucket: bucket, Key: key, Body: bytes, ContentLength: bytes.length, ContentMD5: createHash('md5').update(bytes).digest('base64') }));
}

/**
 * What an attacker with PutObject on the bucket plants: release events of the matter (unsigned, and
 * signed by a key of their own) and a write-ahead plan without a report naming versions that must
 * survive plus one removed out of band. Returns the planted plan's key and the removed version.
 */
async function plantForgeries(client: S3Client, bucket: string, seed: number, matterId: string, survivors: string[], forger: ReportSigner): Promise<{ planKey: string; removed: string }> {
	for (const [suffix, signer] of [['0000feed', null], ['0000beef', forger]] as const) {
		const key = `archive/_holds/${matterId}/29991231T000000000Z-release-${suffix}.json`;
		const body = Buffer.from(JSON.stringify({ type: 'chat-archive.hold-event', version: 1, matterId, action: 'release', at: '2999-12-31T00:00:00.000Z', actor: 'mallory', reason: 'forged', scope: {} }));
		if (signer) await putPlain(client, bucket, `${key}.asc`, (await signer(body)).signature);
		await putPlain(client, bucket, key, body);
	}
	const gone = recordObjectKey({ prefix: 'archive', retentionClass: 'default', phoneNumberId: '1055500009', date: '2001-02-03', pseudonym: HEX32(), recordId: HEX32() });
	const goneVersion = await putVersion(client, bucket, gone);
	await client.send(new DeleteObjectCommand({ Bucket: bucket, Key: gone, VersionId: goneVersion }));
	const runId = `20200101T000000Z-planted${seed}`;
	const planKey = runObjectKeys('archive', runId).planKey;
	const deletions = [...survivors, `${gone}#${goneVersion}`].map((ref) => {
		const [key, versionId] = ref.split('#');
		return { key, versionId, isDeleteMarker: false, size: 1, retentionClass: key.split('/')[1], recordDate: '2001-02-03', expiresAt: '2002-02-04T00:00:00.000Z' };
	});
	await putPlain(client, bucket, planKey, JSON.stringify({ type: 'chat-archive.sweep-plan', version: 1, runId, bucket, prefix: 'archive', createdAt: '2020-01-01T00:00:00.000Z', policy: {}, matterIds: [], deferred: { count: 0, bytes: 0 }, deletions }));
	return { planKey, removed: `${gone}#${goneVersion}` };
}

/**
 * Expired records of one person under several identifiers, written as Record → Write files them
 * (key from the record, identity links learned from it), and of another person. `protected`: the
 * person's records (held by the matter on {@link PERSON}).
 */
async function writeIdentityRecord(client: S3Client, bucket: string, retentionClass: string, years: number, random: () => number, counterparty: Counterparty, person: boolean): Promise<GroundTruth> {
	const date = new Date(Date.now() - (years * 366 + 3 + Math.floor(random() * 300)) * 86400_000);
	const record = { phone_number_id: '1055500011', timestamp: date.toISOString(), idempotency_key: `1055500011:wamid.${HEX32()}`, counterparty };
	const { key } = objectKeyForRecord({ indexKey: INDEX_KEY, prefix: 'archive', retentionClass, record });
	const versionId = await putVersion(client, bucket, key);
	await recordIdentityLinks({ client, bucket, prefix: 'archive', indexKey: INDEX_KEY, pseudonyms: recordIdentityPseudonyms({ indexKey: INDEX_KEY, record }) });
	return { key, versionId, isDeleteMarker: false, retentionClass, expired: true, protected: person, kind: 'matter' };
}

describe('sweeper safety: seeded random populations → 0 wrong deletions', () => {
	const store = new SuiteStore();
	/** The archive's key (signs holds, plans, reports) and a forger's key. */
	let auth: { signer: ReportSigner; verifier: ControlVerifier };
	let forger: ReportSigner;
	beforeAll(async () => {
		const archive = await openpgp.generateKey({ type: 'ecc', curve: 'curve25519Legacy', userIDs: [{ name: 'archive' }], format: 'armored' });
		auth = {
			signer: await createReportSigner({ armoredKey: archive.privateKey }),
			verifier: createControlVerifier({ verificationKeys: [await openpgp.readKey({ armoredKey: archive.publicKey })] }),
		};
		const mallory = await openpgp.generateKey({ type: 'ecc', curve: 'curve25519Legacy', userIDs: [{ name: 'mallory' }], format: 'armored' });
		forger = await createReportSigner({ armoredKey: mallory.privateKey });
	});
	afterAll(async () => {
		expect(await store.cleanup()).toEqual([]);
	});

	it.each(SEEDS)('seed %i', async (seed) => {
		const random = prng(seed);
		const classes: Record<string, number> = { default: 1 + Math.floor(random() * 3), mifid: 5, [`c${seed % 7}`]: 1 + Math.floor(random() * 7) };
		const policy = { prefix: 'archive', classes: Object.entries(classes).map(([name, years]) => ({ name, retention: `P${years}Y` })) };
		const bucket = await store.bucket({ objectLock: true });
		const truths = await writePopulation({
			client: store.client,
			bucket,
			prefix: 'archive',
			classes,
			count: COUNT,
			seed,
			matterPhoneNumberId: MATTER_PHONE,
			kinds: ['plain', 'plain', 'governance', 'legalHold', 'matter', 'deleteMarker', 'media'],
		});
		truths.push(...(await lockedMiddleVersions(store.client, bucket, 'default', classes.default, random)));
		const bsuid = `MX.${seed}000000000000001`;
		const identity = (counterparty: Counterparty, person = true) => writeIdentityRecord(store.client, bucket, 'default', classes.default, random, counterparty, person);
		truths.push(await identity({ wa_id: null, user_id: bsuid })); // BSUID only, before the link
		truths.push(await identity({ wa_id: '5215512345678', user_id: null })); // Meta's 521… form of the number
		truths.push(await identity({ wa_id: '525512345678', user_id: bsuid })); // the link: number + BSUID
		truths.push(await identity({ wa_id: '525599990000', user_id: null }, false)); // another person
		await placeHold({
			client: store.client,
			bucket,
			prefix: 'archive',
			matterId: `P-${seed}`,
			scope: { phoneNumbers: [PERSON] },
			indexKey: INDEX_KEY,
			actor: 'legal@example.org',
			reason: 'property test: one person, every identifier',
			applyLegalHoldFlag: false,
		});
		// a second BSUID of the person (another business of the portfolio), linked only after the hold
		const later = `MX.${seed}000000000000002`;
		truths.push(await identity({ wa_id: null, user_id: later }));
		truths.push(await identity({ wa_id: '525512345678', user_id: later }));
		await placeHold({
			client: store.client,
			bucket,
			prefix: 'archive',
			matterId: `M-${seed}`,
			scope: { phoneNumberIds: [MATTER_PHONE] },
			actor: 'legal@example.org',
			reason: 'property test',
			applyLegalHoldFlag: false,
			...auth,
		});

		const expected = expectedSurvivors(truths);
		const forged = await plantForgeries(store.client, bucket, seed, `M-${seed}`, expected.slice(0, 10), forger);
		const plan = await planSweep({ client: store.client, bucket, policy, indexKey: INDEX_KEY, verifier: auth.verifier });
		expect(plan.holdAuthentication.ignoredReleaseKeys).toHaveLength(2);
		const again = await planSweep({ client: store.client, bucket, policy, indexKey: INDEX_KEY, verifier: auth.verifier });
		expect(again.deletions.map((v) => `${v.key}#${v.versionId}`).sort()).toEqual(plan.deletions.map((v) => `${v.key}#${v.versionId}`).sort());
		const planned = new Set(plan.deletions.map((v) => `${v.key}#${v.versionId}`));
		const plannedWrongly = expected.filter((ref) => planned.has(ref));

		// a capped first run with a random batch size, then runs until nothing is left
		const maxDeletions = Math.floor(random() * plan.deletions.length);
		const batchSize = 1 + Math.floor(random() * 10);
		let runs = 0;
		let result = await executeSweep({ client: store.client, bucket, policy, indexKey: INDEX_KEY, maxDeletions, batchSize, reportLock: null, ...auth });
		runs += 1;
		const recovered = [...result.recoveredRuns];
		const unverifiedPlans = [...result.unverifiedPlans];
		while (result.deferred.count > 0 && runs < 5) {
			result = await executeSweep({ client: store.client, bucket, policy, indexKey: INDEX_KEY, batchSize, reportLock: null, ...auth });
			runs += 1;
			recovered.push(...result.recoveredRuns);
		}
		// no report of this bucket says "deleted" for a version that had to survive or was removed out of band
		const { deleted: reportedDeleted } = await readDeletionReports({ client: store.client, bucket, prefix: 'archive' });
		const falselyReported = [...expected, forged.removed].filter((ref) => reportedDeleted.has(ref.replace('#', '\u0000')));
		const after = (await listVersions(store.client, bucket, 'archive/'))
			.filter((v) => !/^archive\/_(reports|holds|identities)\//.test(v.key))
			.map((v) => `${v.key}#${v.versionId}`)
			.sort();
		const wrong = expected.filter((ref) => !after.includes(ref));
		const missed = after.filter((ref) => !expected.includes(ref));
		record({
			category: 'sweeper safety',
			tried: truths.length,
			passed: truths.length - wrong.length - missed.length,
			lost: wrong.length,
			leaked: 0,
			note: `seed ${seed}: ${truths.length} versions, 2 forged releases + 1 planted plan, ${plan.deletions.length} planned, ${runs} run(s), maxDeletions ${maxDeletions}, batch ${batchSize}`,
		});
		expect(recovered).toEqual([]);
		expect(unverifiedPlans).toEqual([forged.planKey]);
		expect(falselyReported).toEqual([]);
		expect(plannedWrongly).toEqual([]);
		expect(wrong).toEqual([]);
		expect(missed).toEqual([]);
	});
});
