/**
 * Sweeper safety, property-based: seeded random populations (test/lib/retention/population.ts: random
 * classes, record dates on both sides of the retention end, Object Lock GOVERNANCE, legal-hold flags,
 * matters, delete markers, media, multi-version keys with a locked middle version), random policies,
 * random maxDeletions and batch sizes → after the sweep(s), every version that must survive is
 * there (0 wrong deletions) and every expired unprotected version is gone.
 * COMPLIANCE locks are left out (a test bucket holding one cannot be removed); GOVERNANCE locks
 * exercise the same retain-until path of the planner.
 * Identity variants: a matter placed by phone number keeps that person's records filed under a BSUID
 * only (written before the link was learned, or linked only after the hold was placed) and under
 * another WhatsApp form of the number (Mexico's 521…), while another person's expired records go.
 */
import { randomBytes } from 'node:crypto';
import type { S3Client } from '@aws-sdk/client-s3';

import { objectKeyForRecord, recordIdentityLinks, recordIdentityPseudonyms, recordObjectKey, type Counterparty } from '../../lib/archive';
import { executeSweep, placeHold, planSweep } from '../../lib/retention';
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
		});

		const expected = expectedSurvivors(truths);
		const plan = await planSweep({ client: store.client, bucket, policy, indexKey: INDEX_KEY });
		const again = await planSweep({ client: store.client, bucket, policy, indexKey: INDEX_KEY });
		expect(again.deletions.map((v) => `${v.key}#${v.versionId}`).sort()).toEqual(plan.deletions.map((v) => `${v.key}#${v.versionId}`).sort());
		const planned = new Set(plan.deletions.map((v) => `${v.key}#${v.versionId}`));
		const plannedWrongly = expected.filter((ref) => planned.has(ref));

		// a capped first run with a random batch size, then runs until nothing is left
		const maxDeletions = Math.floor(random() * plan.deletions.length);
		const batchSize = 1 + Math.floor(random() * 10);
		let runs = 0;
		let result = await executeSweep({ client: store.client, bucket, policy, indexKey: INDEX_KEY, maxDeletions, batchSize, reportLock: null });
		runs += 1;
		while (result.deferred.count > 0 && runs < 5) {
			result = await executeSweep({ client: store.client, bucket, policy, indexKey: INDEX_KEY, batchSize, reportLock: null });
			runs += 1;
		}
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
			note: `seed ${seed}: ${truths.length} versions, ${plan.deletions.length} planned, ${runs} run(s), maxDeletions ${maxDeletions}, batch ${batchSize}`,
		});
		expect(plannedWrongly).toEqual([]);
		expect(wrong).toEqual([]);
		expect(missed).toEqual([]);
	});
});
