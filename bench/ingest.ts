/**
 * Benchmark 1 — archive ingest: N normalized ~1.2 KB capture records (synthetic, bench/lib/records.ts)
 * through the engine path the nodes use — lib/pgp `encrypt` (gnupg profile: SEIPD v1, AES-256, binary)
 * then lib/archive `writeObject` (PutObject with If-None-Match, Content-MD5, x-amz-meta-sha256,
 * Object Lock GOVERNANCE retain-until) into an Object Lock bucket — beside a raw `PutObjectCommand`
 * of the same ciphertext bytes, all at the same concurrency.
 *
 * Contenders, interleaved in blocks of N/blocks records (each with its own keys, same bucket):
 * - raw PutObject (Body + ContentLength only; ciphertext encrypted beforehand);
 * - raw PutObject + the engine's headers (lock mode/date, Content-MD5, sha256 metadata, If-None-Match):
 *   the store-side cost of what the engine sends, without HEAD and encryption;
 * - engine with Duplicate Check `store` (encrypt + one PUT): the S3 Archive node's Write on stores
 *   that honour If-None-Match (AWS S3, MinIO);
 * - engine with Duplicate Check `precheck`, the node's default (encrypt + PUT without lock headers +
 *   version check + PutObjectRetention on the winner, in this Object Lock bucket without default
 *   retention): what the node must do on Ceph RGW 16, which ignores If-None-Match in versioned buckets.
 * Plus an encryption-only pass (no store) and the hashing cost, to say where the time goes.
 *
 *   npx tsx bench/ingest.ts [--n 10000] [--concurrency 16] [--rounds 1] [--blocks 10]
 */
import { createHash, randomBytes } from 'node:crypto';
import { PutObjectCommand } from '@aws-sdk/client-s3';

import { objectKeyForRecord, writeObject } from '../lib/archive';
import { encrypt, readPublicKeys } from '../lib/pgp';
import { generateKey } from './lib/keys';
import { machineLine } from './lib/machine';
import { recordBytes, synthRecords } from './lib/records';
import { collectGarbage, createBucket, emptyBucket, engineClient, rawClient, removeAllBuckets, RequestCounter, storeReachable } from './lib/s3';
import { fmt, mapLimit, median, now, numberFlag, percentile, progress } from './lib/stats';
import { table } from './lib/table';

const STORE_MODE = 'engine, Duplicate Check "store" (encrypt + PUT with If-None-Match)';
const PRECHECK_MODE = 'engine, Duplicate Check "precheck", the default (encrypt + PUT + version check + lock)';

interface RunResult {
	ms: number;
	latencies: number[];
	requests: number;
	requestDetail: string;
}

async function main(): Promise<void> {
	const n = numberFlag('n', 10_000);
	const concurrency = numberFlag('concurrency', 16);
	const rounds = numberFlag('rounds', 1);
	const blocks = numberFlag('blocks', 10);
	if (!(await storeReachable())) {
		process.stdout.write('### Archive ingest\n\nSkipped: the local S3 store is not reachable (`bash scripts/s3-local.sh start`).\n');
		return;
	}
	const key = generateKey('rsa3072');
	const recipients = await readPublicKeys({ armoredKeys: key.armoredPublicKey });
	const indexKey = randomBytes(32).toString('hex');
	const records = synthRecords({ count: n, seed: 7 });
	const plaintexts = records.map(recordBytes);
	const counter = new RequestCounter();
	const engine = engineClient(counter);
	const raw = rawClient(counter);
	const bucket = await createBucket(engine, 'ingest', { objectLock: true });
	const retainUntil = () => new Date(Date.now() + 2 * 86_400_000);
	try {
		// Encryption alone (no store): CPU cost per record at the same concurrency.
		progress(`ingest: encrypting ${n} records (encryption only)`);
		const encStart = now();
		const ciphertexts = await mapLimit(plaintexts, concurrency, async (data) => {
			const result = await encrypt({ data, recipients, filename: 'record.json' });
			return Buffer.from(result.ciphertext as Uint8Array);
		});
		const encryptMs = now() - encStart;
		const hashStart = now();
		for (const body of ciphertexts) {
			createHash('sha256').update(body).digest('hex');
			createHash('md5').update(body).digest('base64');
		}
		const hashMs = now() - hashStart;
		const avgCipher = ciphertexts.reduce((a, b) => a + b.length, 0) / n;
		const avgPlain = plaintexts.reduce((a, b) => a + b.length, 0) / n;

		const keyFor = (tag: string, round: number, i: number) =>
			objectKeyForRecord({ indexKey, prefix: `archive-${tag}-${round}`, retentionClass: 'default', record: records[i] }).key;

		const measure = async (fn: (i: number) => Promise<void>, from = 0, to = n): Promise<RunResult> => {
			counter.reset();
			const indices = plaintexts.map((_, i) => i).slice(from, to);
			const latencies = new Array<number>(indices.length);
			const start = now();
			await mapLimit(indices, concurrency, async (i, j) => {
				const t = now();
				await fn(i);
				latencies[j] = now() - t;
			});
			return { ms: now() - start, latencies, requests: counter.total, requestDetail: counter.describe() };
		};

		const contenders = [
			{
				name: 'raw PutObject',
				run: (round: number, from: number, to: number) =>
					measure(async (i) => {
						await raw.send(new PutObjectCommand({ Bucket: bucket, Key: keyFor('raw', round, i), Body: ciphertexts[i], ContentLength: ciphertexts[i].length }));
					}, from, to),
			},
			{
				name: 'raw PutObject + engine headers',
				run: (round: number, from: number, to: number) =>
					measure(async (i) => {
						const body = ciphertexts[i];
						await raw.send(
							new PutObjectCommand({
								Bucket: bucket,
								Key: keyFor('rawh', round, i),
								Body: body,
								ContentLength: body.length,
								ContentType: 'application/pgp-encrypted',
								ContentMD5: createHash('md5').update(body).digest('base64'),
								Metadata: { sha256: createHash('sha256').update(body).digest('hex') },
								IfNoneMatch: '*',
								ObjectLockMode: 'GOVERNANCE',
								ObjectLockRetainUntilDate: retainUntil(),
							}),
						);
					}, from, to),
			},
			{
				name: STORE_MODE,
				run: (round: number, from: number, to: number) =>
					measure(async (i) => {
						const enc = await encrypt({ data: plaintexts[i], recipients, filename: 'record.json' });
						const r = await writeObject({
							client: engine,
							bucket,
							key: keyFor('store', round, i),
							body: enc.ciphertext as Uint8Array,
							objectLock: { mode: 'GOVERNANCE', retainUntil: retainUntil() },
							duplicateCheck: 'store',
						});
						if (r.status !== 'created') throw new Error(`unexpected ${r.status}`);
					}, from, to),
			},
			{
				name: PRECHECK_MODE,
				run: (round: number, from: number, to: number) =>
					measure(async (i) => {
						const enc = await encrypt({ data: plaintexts[i], recipients, filename: 'record.json' });
						const r = await writeObject({
							client: engine,
							bucket,
							key: keyFor('engine', round, i),
							body: enc.ciphertext as Uint8Array,
							objectLock: { mode: 'GOVERNANCE', retainUntil: retainUntil() },
							duplicateCheck: 'precheck',
						});
						if (r.status !== 'created') throw new Error(`unexpected ${r.status}`);
					}, from, to),
			},
		];
		// Warm-up (connections, JIT), not counted.
		await measure(async (i) => {
			if (i < 200) await raw.send(new PutObjectCommand({ Bucket: bucket, Key: `warmup/${i}`, Body: ciphertexts[i] }));
		});
		// Interleaving in blocks: every round, each contender writes the next block of records (order
		// rotated per block), so all contenders see the same background load over the whole run.
		const blockSize = Math.max(1, Math.ceil(n / blocks));
		progress(`ingest: ${rounds} rounds × ${blocks} blocks of ${blockSize} × ${contenders.length} contenders at concurrency ${concurrency}`);
		const totals = new Map<string, { ms: number; latencies: number[]; requests: number; blockRates: number[] }>(
			contenders.map((c) => [c.name, { ms: 0, latencies: [], requests: 0, blockRates: [] }]),
		);
		const blockRatios = new Map<string, number[]>(contenders.map((c) => [c.name, []]));
		const details = new Map<string, string>();
		for (let round = 0; round < rounds; round++) {
			for (let b = 0; b < blocks; b++) {
				const from = b * blockSize;
				const to = Math.min(n, from + blockSize);
				if (from >= to) break;
				const results = new Map<string, RunResult>();
				for (let k = 0; k < contenders.length; k++) {
					const contender = contenders[(k + b + round) % contenders.length];
					const r = await contender.run(round, from, to);
					results.set(contender.name, r);
					const t = totals.get(contender.name)!;
					t.ms += r.ms;
					t.requests += r.requests;
					t.latencies.push(...r.latencies);
					details.set(contender.name, r.requestDetail);
					t.blockRates.push((to - from) / (r.ms / 1000));
				}
				const rawMs = results.get('raw PutObject')!.ms;
				for (const [name, r] of results) blockRatios.get(name)!.push(rawMs / r.ms);
			}
			progress(
				`  round ${round + 1}: ` +
					contenders.map((c) => `${c.name.split(' (')[0]} ${fmt(median(blockRatios.get(c.name)!), 2)}×`).join(', '),
			);
		}
		const written = rounds * n;
		const rateOf = (name: string) => written / (totals.get(name)!.ms / 1000);
		const rawRate = rateOf('raw PutObject');
		const rows = contenders.map(({ name }) => {
			const t = totals.get(name)!;
			const ratios = blockRatios.get(name)!;
			return [
				name,
				fmt(rateOf(name), 0),
				`${fmt(median(ratios), 2)}×`,
				`${fmt(percentile(ratios, 10), 2)}–${fmt(percentile(ratios, 90), 2)}`,
				fmt(percentile(t.latencies, 50), 1),
				fmt(percentile(t.latencies, 99), 1),
				fmt(t.requests / written, 2),
			];
		});
		const storeRatio = median(blockRatios.get(STORE_MODE)!);
		const precheckRatio = median(blockRatios.get(PRECHECK_MODE)!);
		const headersRatio = median(blockRatios.get('raw PutObject + engine headers')!);

		const out: string[] = [];
		out.push('### Archive ingest (encrypt + PUT with Object Lock, beside raw PutObject)');
		out.push('');
		out.push(`Machine: ${machineLine(['node', 'openpgp', 'awsSdk', 'ceph'])}.`);
		out.push(
			`Command: \`npx tsx bench/ingest.ts --n ${n} --concurrency ${concurrency} --rounds ${rounds} --blocks ${blocks}\`. ${n} synthetic records (JSON ${fmt(avgPlain, 0)} B → ciphertext ${fmt(avgCipher, 0)} B, RSA-3072 recipient) per contender and round, Object Lock bucket (GOVERNANCE retain-until +2 days), concurrency ${concurrency}. Interleaved in blocks of ${blockSize} records (each contender writes each block, order rotated), ratio to raw per block, median; records/s = all records / summed time; latency percentiles over every record.`,
		);
		out.push('');
		out.push(table(['path', 'records/s', 'vs raw (median of blocks)', 'block ratios p10–p90', 'p50 ms', 'p99 ms', 'requests/record'], rows));
		out.push('');
		out.push(
			`Where the time goes: encryption alone ${fmt(n / (encryptMs / 1000), 0)} records/s (${fmt(encryptMs / n, 2)} ms CPU per record at concurrency ${concurrency}); SHA-256 + MD5 of the ciphertext ${fmt((hashMs / n) * 1000, 1)} µs per record; PUT with the engine's headers (lock, Content-MD5, sha256 metadata, If-None-Match) runs at ${fmt(headersRatio, 2)}× raw. The store serves a roughly fixed number of requests per second, so the rate follows the requests per record: Duplicate Check "store" sends 1, "precheck" 3 in this Object Lock bucket without default retention (PutObject without lock headers, ListObjectVersions, PutObjectRetention on the winner).`,
		);
		out.push('');
		out.push(`Requests per block of ${blockSize}: ${contenders.map((c) => `${c.name.split(' (')[0]}: ${details.get(c.name)}`).join('; ')}.`);
		out.push('');
		out.push(
			`Goal ≥ 0.8× raw: ${storeRatio >= 0.8 ? 'met' : 'missed'} with Duplicate Check "store" (${fmt(storeRatio, 2)}×), the node's path on stores that honour If-None-Match; ${precheckRatio >= 0.8 ? 'met' : 'missed'} with "precheck" (${fmt(precheckRatio, 2)}×), its path on stores that ignore it in versioned buckets (Ceph RGW 16, this store). Raw PutObject: ${fmt(rawRate, 0)} records/s.`,
		);
		process.stdout.write(out.join('\n') + '\n');
		progress('ingest: cleaning up');
		await emptyBucket(engine, bucket);
	} finally {
		await removeAllBuckets(engine);
		collectGarbage();
		key.dispose();
	}
}

main().catch((error) => {
	process.stderr.write(`${(error as Error).stack}\n`);
	process.exit(1);
});
