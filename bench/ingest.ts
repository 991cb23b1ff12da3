/**
 * Benchmark 1 — archive ingest: N normalized ~1.2 KB capture records (synthetic, bench/lib/records.ts)
 * through the engine path the nodes use — lib/pgp `encrypt` (gnupg profile: SEIPD v1, AES-256, binary)
 * then lib/archive `writeObject` (HeadObject pre-check, PutObject with If-None-Match, Content-MD5,
 * x-amz-meta-sha256, Object Lock GOVERNANCE retain-until) into an Object Lock bucket — beside a raw
 * `PutObjectCommand` of the same ciphertext bytes, all at the same concurrency.
 *
 * Contenders, interleaved per round (each with its own keys, same bucket):
 * - raw PutObject (Body + ContentLength only; ciphertext encrypted beforehand);
 * - raw PutObject + the engine's headers (lock mode/date, Content-MD5, sha256 metadata, If-None-Match):
 *   the store-side cost of what the engine sends, without HEAD and encryption;
 * - engine, writeObject `precheck: false` (encrypt + PUT): the cost of the HEAD removed;
 * - engine as the node runs it (encrypt + HEAD + PUT).
 * Plus an encryption-only pass (no store) and the hashing cost, to say where the time goes.
 *
 *   npx tsx bench/ingest.ts [--n 10000] [--concurrency 16] [--rounds 3]
 */
import { createHash, randomBytes } from 'node:crypto';
import { PutObjectCommand } from '@aws-sdk/client-s3';

import { objectKeyForRecord, writeObject } from '../lib/archive';
import { encrypt, readPublicKeys } from '../lib/pgp';
import { generateKey } from './lib/keys';
import { machineLine } from './lib/machine';
import { recordBytes, synthRecords } from './lib/records';
import { collectGarbage, createBucket, emptyBucket, engineClient, rawClient, removeAllBuckets, RequestCounter, storeReachable } from './lib/s3';
import { fmt, interleave, mapLimit, median, now, numberFlag, percentile, progress, ratio } from './lib/stats';
import { table } from './lib/table';

interface RunResult {
	ms: number;
	latencies: number[];
	requests: number;
	requestDetail: string;
}

async function main(): Promise<void> {
	const n = numberFlag('n', 10_000);
	const concurrency = numberFlag('concurrency', 16);
	const rounds = numberFlag('rounds', 3);
	if (!(await storeReachable())) {
		process.stdout.write('### Archive ingest\n\nSkipped: the local S3 store is not reachable (`bash scripts/s3-local.sh start`).\n');
		return;
	}
	const key = generateKey('rsa3072');
	const recipients = await readPublicKeys({ armoredKeys: key.armoredPublicKey });
	const indexKey = randomBytes(24).toString('hex');
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

		const measure = async (fn: (i: number) => Promise<void>): Promise<RunResult> => {
			counter.reset();
			const latencies = new Array<number>(n);
			const start = now();
			await mapLimit(
				plaintexts.map((_, i) => i),
				concurrency,
				async (i) => {
					const t = now();
					await fn(i);
					latencies[i] = now() - t;
				},
			);
			return { ms: now() - start, latencies, requests: counter.total, requestDetail: counter.describe() };
		};

		const contenders = [
			{
				name: 'raw PutObject',
				run: (round: number) =>
					measure(async (i) => {
						await raw.send(new PutObjectCommand({ Bucket: bucket, Key: keyFor('raw', round, i), Body: ciphertexts[i], ContentLength: ciphertexts[i].length }));
					}),
			},
			{
				name: 'raw PutObject + engine headers',
				run: (round: number) =>
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
					}),
			},
			{
				name: 'engine, no pre-check (encrypt + PUT)',
				run: (round: number) =>
					measure(async (i) => {
						const enc = await encrypt({ data: plaintexts[i], recipients, filename: 'record.json' });
						const r = await writeObject({
							client: engine,
							bucket,
							key: keyFor('nopre', round, i),
							body: enc.ciphertext as Uint8Array,
							objectLock: { mode: 'GOVERNANCE', retainUntil: retainUntil() },
							precheck: false,
						});
						if (r.status !== 'created') throw new Error(`unexpected ${r.status}`);
					}),
			},
			{
				name: 'engine as the nodes run it (encrypt + HEAD + PUT)',
				run: (round: number) =>
					measure(async (i) => {
						const enc = await encrypt({ data: plaintexts[i], recipients, filename: 'record.json' });
						const r = await writeObject({
							client: engine,
							bucket,
							key: keyFor('engine', round, i),
							body: enc.ciphertext as Uint8Array,
							objectLock: { mode: 'GOVERNANCE', retainUntil: retainUntil() },
						});
						if (r.status !== 'created') throw new Error(`unexpected ${r.status}`);
					}),
			},
		];
		// Warm-up (connections, JIT), not counted.
		await measure(async (i) => {
			if (i < 200) await raw.send(new PutObjectCommand({ Bucket: bucket, Key: `warmup/${i}`, Body: ciphertexts[i] }));
		});
		progress(`ingest: ${rounds} rounds × ${contenders.length} contenders × ${n} records at concurrency ${concurrency}`);
		const samples = await interleave(rounds, contenders, (name, round, r) =>
			progress(`  round ${round + 1} ${name}: ${fmt(n / (r.ms / 1000), 0)} records/s (${r.requests} requests)`),
		);

		const rawRate = median(samples.get('raw PutObject')!.map((r) => n / (r.ms / 1000)));
		const rows = contenders.map(({ name }) => {
			const s = samples.get(name)!;
			const rate = median(s.map((r) => n / (r.ms / 1000)));
			const all = s.flatMap((r) => r.latencies);
			return [name, fmt(rate, 0), ratio(rate, rawRate), fmt(percentile(all, 50), 1), fmt(percentile(all, 99), 1), fmt(s[0].requests / n, 2), String(s.length)];
		});
		const engineRate = median(samples.get('engine as the nodes run it (encrypt + HEAD + PUT)')!.map((r) => n / (r.ms / 1000)));
		const noPreRate = median(samples.get('engine, no pre-check (encrypt + PUT)')!.map((r) => n / (r.ms / 1000)));
		const headersRate = median(samples.get('raw PutObject + engine headers')!.map((r) => n / (r.ms / 1000)));

		const out: string[] = [];
		out.push('### Archive ingest (encrypt + PUT with Object Lock, beside raw PutObject)');
		out.push('');
		out.push(`Machine: ${machineLine(['node', 'openpgp', 'awsSdk', 'ceph'])}.`);
		out.push(
			`Command: \`npx tsx bench/ingest.ts --n ${n} --concurrency ${concurrency} --rounds ${rounds}\`. ${n} synthetic records (JSON ${fmt(avgPlain, 0)} B → ciphertext ${fmt(avgCipher, 0)} B, RSA-3072 recipient), Object Lock bucket (GOVERNANCE retain-until +2 days), concurrency ${concurrency}, rounds interleaved, medians; latency percentiles over all rounds.`,
		);
		out.push('');
		out.push(table(['path', 'records/s', 'vs raw', 'p50 ms', 'p99 ms', 'requests/record', 'rounds'], rows));
		out.push('');
		out.push(
			`Where the time goes: encryption alone ${fmt(n / (encryptMs / 1000), 0)} records/s (${fmt(encryptMs / n, 2)} ms CPU per record at concurrency ${concurrency}); SHA-256 + MD5 of the ciphertext ${fmt((hashMs / n) * 1000, 1)} µs per record; the engine's extra headers cost ${ratio(headersRate, rawRate)} of raw; removing the HEAD pre-check takes the engine from ${fmt(engineRate, 0)} to ${fmt(noPreRate, 0)} records/s (${ratio(noPreRate, engineRate)}).`,
		);
		out.push('');
		out.push(`Goal ≥ 0.8× raw: ${engineRate / rawRate >= 0.8 ? 'met' : 'missed'} (${ratio(engineRate, rawRate)}); without the pre-check ${ratio(noPreRate, rawRate)}.`);
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
