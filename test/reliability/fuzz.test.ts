/**
 * Fuzzing: generated deliveries (wrong types, missing fields, huge strings, deep nesting, 3 MB bodies,
 * invalid UTF-8, non-JSON, odd envelopes, many elements, unicode), each signed correctly.
 * - thousands through normalizeDelivery directly: never throws, returns exactly one record per
 *   message / echo / status / error element (an independent count), a quarantine record when the
 *   body is not a WhatsApp envelope, and records that serialize (they go on to the encrypt node);
 * - a few hundred through the whole template workflow to the store (three at a time): every delivery
 *   answered 200 with every record stored at capture, every record of every delivery found in the
 *   store (count in = count archived, by idempotency key, read from the bucket's end state), no
 *   unhandled rejection.
 */
import type { IDataObject } from 'n8n-workflow';

import { normalizeDelivery } from '../../lib/capture';
import { record } from './helpers/counters';
import { expectedRecordCount, fixtureMarkers, FUZZ_CANARY, FUZZ_KINDS, fuzzer, idempotencyKeys, type FuzzKind } from './helpers/deliveries';
import { startPipeline, type Pipeline } from './helpers/pipeline';
import { findSecrets, OutputCapture } from './helpers/secrets';
import { listAllKeys } from '../helpers/s3';
import { SuiteStore } from './helpers/store';

const SOAK = process.env.SOAK === '1';
const DIRECT = SOAK ? 30_000 : 3_000;
const THROUGH_WORKFLOW = SOAK ? 1_000 : 200;

const unhandled: unknown[] = [];
const onUnhandled = (reason: unknown) => unhandled.push(reason);
beforeAll(() => process.on('unhandledRejection', onUnhandled));
afterAll(() => process.off('unhandledRejection', onUnhandled));

describe('fuzzing normalizeDelivery directly', () => {
	it(`${DIRECT} generated bodies: no throw, one record per element, quarantine otherwise`, () => {
		const next = fuzzer(424242);
		const small = FUZZ_KINDS.filter((k) => k !== 'big-body');
		const failures: string[] = [];
		const byKind: Record<string, number> = {};
		let passed = 0;
		for (let i = 0; i < DIRECT; i++) {
			const kind: FuzzKind = i % 100 === 0 ? 'big-body' : small[i % small.length];
			const { body } = next(kind);
			byKind[kind] = (byKind[kind] ?? 0) + 1;
			const expected = expectedRecordCount(body);
			try {
				const records = normalizeDelivery({ rawBody: body, receivedAt: new Date(), signatureVerified: true, graphApiVersion: 'v24.0' });
				const quarantined = records.length === 1 && records[0].record_kind === 'quarantine';
				const problems: string[] = [];
				// fields whose records the independent count does not model: at least one record, never a throw
				if (expected.modeled ? records.length !== expected.count : records.length < 1) problems.push(`${records.length} records, expected ${expected.count}`);
				if (quarantined !== expected.quarantine) problems.push(`quarantine ${quarantined}, expected ${expected.quarantine}`);
				if (records.some((r) => typeof r.idempotency_key !== 'string' || !r.idempotency_key)) problems.push('record without idempotency_key');
				try {
					JSON.stringify(records);
				} catch (error) {
					problems.push(`records do not serialize: ${(error as Error).message}`);
				}
				if (problems.length) failures.push(`#${i} ${kind}: ${problems.join('; ')}`);
				else passed += 1;
			} catch (error) {
				failures.push(`#${i} ${kind}: threw ${(error as Error).message}`);
			}
		}
		record({ category: 'fuzz: normalizeDelivery', tried: DIRECT, passed, lost: DIRECT - passed, leaked: 0 });
		expect(failures.slice(0, 20)).toEqual([]);
		expect(Object.keys(byKind).sort()).toEqual([...FUZZ_KINDS].sort());
	});
});

describe('fuzzing the template workflow (in-process n8n, encrypt at capture → store)', () => {
	const store = new SuiteStore();
	const capture = new OutputCapture();
	let pipeline: Pipeline;
	let bucket: string;

	beforeAll(async () => {
		bucket = await store.bucket({ objectLock: true });
		pipeline = await startPipeline({ bucket });
		capture.install();
	});

	afterAll(async () => {
		capture.uninstall();
		await pipeline?.stop();
		const leaks = findSecrets(capture.chunks, pipeline.secrets);
		const atRest = await store.scan([...fixtureMarkers(), FUZZ_CANARY]);
		record({ category: 'fuzz: secrets/plaintext', tried: 1, passed: leaks.length + atRest.length === 0 ? 1 : 0, lost: 0, leaked: leaks.length + atRest.length });
		expect(await store.cleanup()).toEqual([]);
		expect(leaks).toEqual([]);
		expect(atRest).toEqual([]);
	});

	it(`${THROUGH_WORKFLOW} signed generated deliveries: all 200, count in = count archived`, async () => {
		const next = fuzzer(777, { maxDepth: 200 });
		const small = FUZZ_KINDS.filter((k) => k !== 'big-body');
		const bodies = Array.from({ length: THROUGH_WORKFLOW }, (_, i) => next(i % 50 === 7 ? 'big-body' : small[i % small.length]));
		const answers: Array<{ status: number; problems: string[]; keys: string[] }> = [];
		let recordsIn = 0;
		let cursor = 0;
		const worker = async () => {
			while (cursor < bodies.length) {
				const index = cursor++;
				const { body } = bodies[index];
				const { status, run } = await pipeline.sendSigned(body);
				const keys = idempotencyKeys(body);
				const counted = expectedRecordCount(body);
				// fields whose records the independent count does not model: the engine's count
				const expected = counted.modeled ? counted.count : keys.length;
				recordsIn += expected;
				const problems: string[] = [];
				if (status !== 200) problems.push(`HTTP ${status}: ${String(run?.data.resultData.error?.message ?? '')}`);
				if (keys.length !== expected) problems.push(`${keys.length} records, expected ${expected}`);
				// a run: the trigger could not store some records and emitted them (to Quarantine Record)
				const emitted = await pipeline.emitted(run);
				if (emitted.length) problems.push(`${emitted.length} of ${keys.length} records not stored at capture: ${emitted.map((e) => JSON.stringify(e.fields.error)).join('; ')}`);
				answers[index] = { status, problems, keys };
			}
		};
		await Promise.all([worker(), worker(), worker()]);
		await pipeline.n8n.idle();

		// the end state (concurrent requests cannot be told apart in the store): every record decrypted
		const { archived, quarantined } = await pipeline.stored();
		const keyOf = new Map<string, Set<string>>(); // idempotency key → object keys
		const idemOf = new Map<string, Set<string>>(); // object key → idempotency keys (of its versions)
		for (const r of archived) {
			const idem = String(r.record.idempotency_key);
			keyOf.set(idem, (keyOf.get(idem) ?? new Set<string>()).add(r.key));
			idemOf.set(r.key, (idemOf.get(r.key) ?? new Set<string>()).add(idem));
		}
		const failures: string[] = [];
		let passed = 0;
		for (const [index, answer] of answers.entries()) {
			const missing = answer.keys.filter((k) => !keyOf.has(k));
			if (missing.length) answer.problems.push(`${missing.length} of ${answer.keys.length} records not in the store`);
			if (answer.problems.length) failures.push(`#${index} ${bodies[index].kind} (${bodies[index].body.length} B): ${answer.problems.join('; ')}`);
			else passed += 1;
		}
		const sentKeys = new Set(answers.flatMap((a) => a.keys));
		const unexpected = [...keyOf.keys()].filter((k) => !sentKeys.has(k));
		const sharedKeys = [...idemOf.entries()].filter(([, set]) => set.size !== 1).map(([key]) => key);
		// Measured, not asserted: the fuzzer gives one wamid different senders or timestamps, which file
		// it under another pseudonym or day (the archive key, docs/FORMAT.md "Encrypt at capture"), so one
		// idempotency key can have several objects. A genuine redelivery keeps both, and for those
		// duplicates.test.ts asserts one object key per idempotency key.
		const splitIdem = [...keyOf.values()].filter((set) => set.size !== 1).length;
		const recordKeys = new Set(archived.map((r) => r.key));
		// records only: identity links (`_identities/`) are not records
		const stored = new Set((await listAllKeys(store.client, bucket)).filter((key) => !key.includes('/_identities/')));
		record({
			category: 'fuzz: full workflow',
			tried: THROUGH_WORKFLOW,
			passed,
			lost: THROUGH_WORKFLOW - passed,
			leaked: 0,
			note: `${recordsIn} records in, ${sentKeys.size} idempotency keys, ${recordKeys.size} record objects (${splitIdem} idempotency keys under more than one object key), ${stored.size} objects in the store`,
		});
		expect(failures.slice(0, 20)).toEqual([]);
		expect(unexpected).toEqual([]); // the store holds the records sent and no other
		expect(sharedKeys).toEqual([]); // no object key holds two records
		expect(quarantined).toEqual([]);
		expect(stored.size).toBe(recordKeys.size); // nothing but the records (no stray media or partial object)
		expect(unhandled).toEqual([]);
	});

	// Nothing in the envelope caps nesting. A value nested deeper than V8's recursion limit for
	// JSON.stringify / structuredClone parses fine (JSON.parse is iterative), but a record holding it
	// could not be serialized: every retry would fail the same way and the delivery would be lost. Such
	// a body is quarantined (reason `too_deep`, the raw bytes kept) instead of normalized.
	it('a signed delivery nested 10 000 levels deep is archived (normalized or quarantined), not lost', async () => {
		const depth = 10_000;
		const nested = '['.repeat(depth) + '"' + FUZZ_CANARY + '"' + ']'.repeat(depth);
		const body = Buffer.from(
			`{"object":"whatsapp_business_account","entry":[{"id":"102290129340398","changes":[{"field":"messages","value":{"metadata":{"phone_number_id":"106000000000002"},"messages":[{"id":"wamid.DEEP","from":"15550188888","timestamp":"1767254400","type":"text","text":{"body":"deep"},"extra":${nested}}]}}]}]}`,
		);
		const { status, versions, archived } = await pipeline.postSigned(body);
		record({ category: 'fuzz: deep nesting', tried: 1, passed: status === 200 ? 1 : 0, lost: status === 200 ? 0 : 1, leaked: 0, note: `depth ${depth} → HTTP ${status}` });
		expect(status).toBe(200);
		expect(versions).toHaveLength(1);
		// quarantined (the whole body kept), not normalized
		expect(archived.map((r) => [r.record.record_kind, (r.record.content as IDataObject | null)?.reason])).toEqual([['quarantine', 'too_deep']]);
	});

	// A signed delivery whose metadata.phone_number_id is not a plain digit string (a space, non-ASCII
	// digits, a slash, 65 chars) is filed under the `_unknown` segment, its exact value kept inside the
	// encrypted record: failing the item would answer 500 and every retry would fail the same way, and
	// the error would echo the value into logs. The strict check stays for user-entered filters.
	it('records with a malformed phone_number_id are archived, not lost', async () => {
		const statuses: number[] = [];
		const keys: string[] = [];
		const errors: string[] = [];
		const ids = ['106000000000002 x', '١٠٦٠٠٠', '106/000', '1'.repeat(65)];
		for (const id of ids) {
			const body = Buffer.from(
				JSON.stringify({
					object: 'whatsapp_business_account',
					entry: [{ id: '102290129340398', changes: [{ field: 'messages', value: { metadata: { phone_number_id: id }, messages: [{ id: `wamid.BADID${id.length}`, from: '15550188888', timestamp: '1767254400', type: 'text', text: { body: 'x' } }] } }] }],
				}),
			);
			const { status, run, archived, emitted } = await pipeline.postSigned(body);
			statuses.push(status);
			keys.push(...archived.map((r) => r.key));
			if (run?.data.resultData.error) errors.push(JSON.stringify(run.data.resultData.error));
			errors.push(...emitted.map((e) => JSON.stringify(e.fields.error)));
		}
		const ok = statuses.filter((s) => s === 200).length;
		record({ category: 'fuzz: bad phone_number_id', tried: statuses.length, passed: ok, lost: statuses.length - ok, leaked: 0, note: `HTTP ${statuses.join(',')}` });
		expect(statuses).toEqual([200, 200, 200, 200]);
		// filed under _unknown; no key and no error carries the value
		expect(keys).toHaveLength(4);
		for (const k of keys) expect(k.split('/')[2]).toBe('_unknown');
		for (const id of ids) expect(errors.join('\n') + keys.join('\n')).not.toContain(id);
	});
});
