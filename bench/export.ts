/**
 * Benchmark 4 — export: N records of one conversation, M of them with a media file of S MiB, archived
 * as the nodes archive them (lib/pgp encrypt → lib/archive writeObject, media beside their record),
 * then exported through the streaming path, lib/archive `exportConversation` (list, GET with SHA-256
 * check, decrypt into the encrypted spool, then export.jsonl, transcript.txt, transcript.html and
 * media.zip written to files at once, media fetched and decrypted one at a time), in a child process
 * whose peak RSS is measured; beside shell loops of `gpg --decrypt` over the same objects.
 *
 * What is timed: ours — the whole export in a fresh Node process (download included), split into its
 * two phases (records into the spool; the four files); gpg — only the decrypt loops
 * (`while read f; do gpg --decrypt "$f" > …; done`) over files downloaded beforehand (download not
 * timed), so the comparison is conservative for us. The outputs are checked: one JSONL line per
 * record, `media_file` on each media record, every zip entry matching its record's `media_sha256`.
 *
 *   npx tsx bench/export.ts [--n 10000] [--media 200] [--media-mib 2] [--gpg-max N] [--concurrency 16]
 */
import { createHash, randomBytes } from 'node:crypto';
import { createWriteStream, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import type { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { GetObjectCommand } from '@aws-sdk/client-s3';
import { unzipSync } from 'fflate';

import { exportConversation, listObjects, mediaObjectKey, objectKeyForRecord, writeObject } from '../lib/archive';
import { encrypt, readPrivateKey, readPublicKeys } from '../lib/pgp';
import { generateKey } from './lib/keys';
import { machineInfo, machineLine } from './lib/machine';
import { childEnv, runMeasured, selfPeakRssMB, tsNodeArgs } from './lib/proc';
import { recordBytes, synthRecords } from './lib/records';
import { collectGarbage, createBucket, engineClient, removeAllBuckets, storeReachable } from './lib/s3';
import { flag, fmt, MiB, mapLimit, now, numberFlag, progress, ratio } from './lib/stats';
import { table } from './lib/table';

const SELF = __filename;

/** Peak RSS the streaming export must stay under (issue 18). */
const RSS_GOAL_MB = 300;

/**
 * The young generation's cap of the second run, in MiB per semi-space: the default Node documents
 * for a 64-bit process with a 2 GiB memory limit (CLI, `--max-semi-space-size`); V8 sizes it from the
 * memory limit, so on a larger machine it takes more.
 */
const SEMI_SPACE_MB = 16;

/** What the child reports. */
interface ChildReport {
	recordsMs: number;
	/** Peak RSS (VmHWM) when the records phase ended, MB. */
	recordsPeakRssMB: number;
	/** `process.memoryUsage()` when the records phase ended, MB: V8 heap reserved and used, memory outside it. */
	recordsMemoryMB: { heapTotal: number; heapUsed: number; external: number };
	filesMs: number;
	records: number;
	mediaFiles: number;
	bytes: Record<string, number>;
}

// ---------------------------------------------------------------- child process (one export)
async function child(): Promise<void> {
	const out = flag('out')!;
	const privateKey = await readPrivateKey({ armoredKey: readFileSync(flag('key-file')!, 'utf8') });
	const client = engineClient();
	const start = now();
	const exported = await exportConversation({
		client,
		bucket: flag('bucket')!,
		prefix: 'archive',
		indexKey: flag('index-key')!,
		phoneNumber: flag('phone')!,
		decryptionKeys: [privateKey],
		concurrency: numberFlag('concurrency', 16),
		tempDirectory: out,
	});
	const recordsMs = now() - start;
	const recordsPeakRssMB = selfPeakRssMB();
	const memory = process.memoryUsage();
	const files: Array<[string, Readable | null]> = [
		['export.jsonl', exported.createJsonlStream()],
		['transcript.txt', exported.createTranscriptTextStream()],
		['transcript.html', exported.createTranscriptHtmlStream()],
		['media.zip', exported.createMediaZipStream()],
	];
	try {
		await Promise.all(files.map(async ([name, stream]) => stream && (await pipeline(stream, createWriteStream(path.join(out, name))))));
	} finally {
		await exported.dispose();
	}
	const report: ChildReport = {
		recordsMs,
		recordsPeakRssMB,
		recordsMemoryMB: { heapTotal: memory.heapTotal / 1e6, heapUsed: memory.heapUsed / 1e6, external: memory.external / 1e6 },
		filesMs: now() - start - recordsMs,
		records: exported.counts.records,
		mediaFiles: exported.mediaFiles.length,
		bytes: Object.fromEntries(files.filter(([, s]) => s).map(([name]) => [name, statSync(path.join(out, name)).size])),
	};
	client.destroy();
	process.stdout.write(JSON.stringify(report) + '\n');
}

/** Checks the files the child wrote: one line per record, media_file on the media records, each zip entry equal to its record's media_sha256. */
function checkOutput(out: string, n: number, media: number): void {
	const lines = readFileSync(path.join(out, 'export.jsonl'), 'utf8').trimEnd().split('\n');
	if (lines.length !== n) throw new Error(`export.jsonl has ${lines.length} lines, expected ${n}`);
	const expected = new Map<string, string>();
	for (const line of lines) {
		const record = JSON.parse(line) as { media_file?: string; media_sha256?: string };
		if (record.media_file) expected.set(record.media_file, record.media_sha256!);
	}
	if (expected.size !== media) throw new Error(`${expected.size} records name a media file, expected ${media}`);
	if (!media) return;
	const entries = unzipSync(new Uint8Array(readFileSync(path.join(out, 'media.zip'))));
	for (const [name, bytes] of Object.entries(entries)) {
		if (createHash('sha256').update(bytes).digest('hex') !== expected.get(name)) throw new Error(`media.zip entry ${name} differs from its record`);
		expected.delete(name);
	}
	if (expected.size) throw new Error(`${expected.size} media files missing from media.zip`);
}

async function main(): Promise<void> {
	const n = numberFlag('n', 10_000);
	const media = Math.min(n, numberFlag('media', 200));
	const mediaBytes = Math.round(numberFlag('media-mib', 2) * MiB);
	const gpgMax = Math.min(n, numberFlag('gpg-max', n));
	const concurrency = numberFlag('concurrency', 16);
	// the machine's facts, load included, as the run starts (machineLine reports them later)
	machineInfo();
	if (!(await storeReachable())) {
		process.stdout.write('### Export\n\nSkipped: the local S3 store is not reachable (`bash scripts/s3-local.sh start`).\n');
		return;
	}
	const key = generateKey('rsa3072');
	const recipients = await readPublicKeys({ armoredKeys: key.armoredPublicKey });
	const indexKey = randomBytes(32).toString('hex');
	const client = engineClient();
	const work = mkdtempSync(path.join(os.tmpdir(), 'chat-archive-bench-export-'));
	const out: string[] = [];
	try {
		const bucket = await createBucket(client, 'export');
		const records = synthRecords({ count: n, seed: 11, counterparties: 1, stepSeconds: 20 });
		const phoneNumber = `+${records[0].counterparty.wa_id}`;
		const every = media ? Math.floor(n / media) : 0;
		progress(`export: archiving ${n} records of one conversation, ${media} of them with ${fmt(mediaBytes / MiB, 1)} MiB of media`);
		await mapLimit(records, 8, async (record, i) => {
			const bytes = every && i % every === 0 && i / every < media ? randomBytes(mediaBytes) : null;
			const stored = bytes
				? {
						...record,
						type: 'image',
						content: { caption: `photo ${i}`, mime_type: 'image/jpeg', id: String(1e15 + i) },
						media_status: 'downloaded',
						media_sha256: createHash('sha256').update(bytes).digest('hex'),
						media_size: bytes.length,
						media_mime_type: 'image/jpeg',
					}
				: record;
			const enc = await encrypt({ data: recordBytes(stored as typeof record), recipients, filename: 'record.json' });
			const placed = objectKeyForRecord({ indexKey, prefix: 'archive', retentionClass: 'default', record: stored as typeof record });
			await writeObject({ client, bucket, key: placed.key, body: enc.ciphertext as Uint8Array, duplicateCheck: 'store' });
			if (bytes) {
				const mediaKey = mediaObjectKey({ prefix: 'archive', retentionClass: 'default', phoneNumberId: record.phone_number_id, date: placed.date, pseudonym: placed.pseudonym, recordId: placed.recordId });
				await writeObject({ client, bucket, key: mediaKey, body: (await encrypt({ data: bytes, recipients })).ciphertext as Uint8Array, duplicateCheck: 'store' });
			}
		});

		// Peer input: the same objects downloaded to files (not timed).
		progress('export: downloading the objects for the gpg loops (not timed)');
		const dir = path.join(work, 'objects');
		mkdirSync(dir);
		const listed: Array<{ key: string; media: boolean }> = [];
		for await (const object of listObjects({ client, bucket, filter: { prefix: 'archive' } })) listed.push({ key: object.key, media: object.kind === 'media' });
		await mapLimit(listed, 16, async (object, i) => {
			const response = await client.send(new GetObjectCommand({ Bucket: bucket, Key: object.key }));
			writeFileSync(path.join(dir, `${String(i).padStart(6, '0')}${object.media ? '.media' : ''}.pgp`), await response.Body!.transformToByteArray());
		});
		const files = readdirSync(dir).filter((f) => f.endsWith('.pgp')).sort();
		const recordFiles = files.filter((f) => !f.endsWith('.media.pgp'));
		const mediaFiles = files.filter((f) => f.endsWith('.media.pgp'));

		// Ours: the streaming export in a fresh process, its peak RSS measured: with Node's defaults, and
		// with V8's young generation capped (V8 sizes it from the machine's memory; see docs/benchmarks.md).
		const keyFile = path.join(work, 'key.asc');
		writeFileSync(keyFile, key.armoredSecretKey, { mode: 0o600 });
		const runExport = async (nodeFlags: string[]) => {
			progress(`export: exportConversation in a child process (concurrency ${concurrency}${nodeFlags.length ? `, ${nodeFlags.join(' ')}` : ''})`);
			const exportDir = path.join(work, 'export');
			mkdirSync(exportDir);
			const [cmd, args] = tsNodeArgs(SELF, ['--child', 'export', '--bucket', bucket, '--key-file', keyFile, '--index-key', indexKey, '--phone', phoneNumber, '--out', exportDir, '--concurrency', String(concurrency)], nodeFlags);
			const run = await runMeasured(cmd, args, { env: childEnv(), timeoutMs: 3_600_000 });
			if (run.code !== 0) throw new Error(`export child failed: ${run.stderr.slice(-2000)}`);
			progress('export: checking the exported files');
			checkOutput(exportDir, n, media);
			rmSync(exportDir, { recursive: true, force: true });
			return { run, report: JSON.parse(run.stdout.trim().split('\n').pop()!) as ChildReport, nodeFlags };
		};
		const exports = [await runExport([]), await runExport([`--max-semi-space-size=${SEMI_SPACE_MB}`])];
		const { run: ours, report } = exports[0];

		// gpg loops (decrypt only): records (the first --gpg-max), then every media file.
		const gpgLoop = async (list: string[], name: string) => {
			writeFileSync(path.join(work, name), list.map((f) => path.join(dir, f)).join('\n') + '\n');
			const script = `while read -r f; do gpg --batch --quiet --decrypt "$f" > "\${f%.pgp}.out" || exit 1; done < "${path.join(work, name)}"`;
			const run = await runMeasured('bash', ['-c', script], { env: key.env, timeoutMs: 3_600_000 });
			if (run.code !== 0) throw new Error(`gpg loop failed: ${run.stderr.slice(-500)}`);
			return run;
		};
		progress(`export: gpg --decrypt shell loop over ${Math.min(gpgMax, recordFiles.length)} record files`);
		const gpgRecords = await gpgLoop(recordFiles.slice(0, gpgMax), 'records.list');
		progress(`export: gpg --decrypt shell loop over ${mediaFiles.length} media files`);
		const gpgMedia = mediaFiles.length ? await gpgLoop(mediaFiles, 'media.list') : null;

		const gpgRecordRate = Math.min(gpgMax, recordFiles.length) / (gpgRecords.wallMs / 1000);
		const mediaMB = (media * mediaBytes) / 1e6;
		const gpgMediaRate = gpgMedia ? mediaMB / (gpgMedia.wallMs / 1000) : Number.NaN;
		const gpgWholeMs = (n / gpgRecordRate) * 1000 + (gpgMedia?.wallMs ?? 0);
		const oursRecordRate = n / (report.recordsMs / 1000);
		const oursMediaRate = mediaMB / (report.filesMs / 1000);
		const rows: string[][] = [
			[
				`lib/archive exportConversation, concurrency ${concurrency}: records phase (list + GET + decrypt into the spool)`,
				String(n),
				'–',
				fmt(report.recordsMs / 1000, 1),
				`${fmt(oursRecordRate, 0)} records/s`,
				`${fmt(report.recordsPeakRssMB, 0)} (at its end)`,
				ratio(oursRecordRate, gpgRecordRate),
			],
			[
				'  files phase (export.jsonl, transcript.txt, transcript.html and media.zip at once; media GET + decrypt one at a time)',
				String(n),
				String(media),
				fmt(report.filesMs / 1000, 1),
				media ? `${fmt(oursMediaRate, 1)} MB/s of media` : '–',
				'–',
				media ? ratio(oursMediaRate, gpgMediaRate) : '–',
			],
			...exports.map(({ run, nodeFlags }) => [
				`  the whole export (one fresh Node process${nodeFlags.length ? `, node ${nodeFlags.join(' ')}` : ', Node defaults'})`,
				String(n),
				String(media),
				fmt(run.wallMs / 1000, 1),
				`${fmt(n / (run.wallMs / 1000), 0)} records/s`,
				fmt(run.peakRssMB, 0),
				ratio(gpgWholeMs, run.wallMs),
			]),
			[
				'shell loop of gpg --decrypt over the record files (decrypt only, downloaded before)',
				String(Math.min(gpgMax, recordFiles.length)),
				'–',
				fmt(gpgRecords.wallMs / 1000, 1),
				`${fmt(gpgRecordRate, 0)} records/s`,
				fmt(gpgRecords.peakRssMB, 0),
				'1.00×',
			],
		];
		if (gpgMedia) {
			rows.push(['shell loop of gpg --decrypt over the media files (decrypt only, downloaded before)', '–', String(media), fmt(gpgMedia.wallMs / 1000, 1), `${fmt(gpgMediaRate, 1)} MB/s`, fmt(gpgMedia.peakRssMB, 0), '1.00×']);
		}
		rows.push([`gpg loops for the whole export (records ${gpgMax < n ? `extrapolated from ${gpgMax}` : 'measured'} + media)`, String(n), String(media), fmt(gpgWholeMs / 1000, 1), `${fmt(n / (gpgWholeMs / 1000), 0)} records/s`, '–', '1.00×']);

		out.push('### Export (streaming: one conversation with media, list, decrypt, write four files)');
		out.push('');
		out.push(`Machine: ${machineLine(['node', 'openpgp', 'gpg', 'ceph'])}.`);
		out.push(
			`Command: \`npx tsx bench/export.ts --n ${n} --media ${media} --media-mib ${fmt(mediaBytes / MiB, 1)}${gpgMax !== n ? ` --gpg-max ${gpgMax}` : ''}\`. ${n} synthetic records of one counterparty, ${media} of them images with ${fmt(mediaBytes / MiB, 1)} MiB of random media each (${fmt(mediaMB, 0)} MB), RSA-3072 recipient, unversioned bucket. Ours runs in a fresh Node process (peak RSS from GNU time) and includes the download; the gpg loops do not (conservative for us).${gpgMax !== n ? ` The record loop ran over the first ${gpgMax} files (its rate is per record and does not depend on N).` : ''} "vs gpg" compares rates of the same work (the whole export: gpg's time over ours).`,
		);
		out.push('');
		out.push(table(['path', 'records', 'media files', 'wall s', 'rate', 'peak RSS MB', 'vs gpg loop'], rows));
		out.push('');
		out.push(
			`Output (checked: one JSONL line per record, media_file on each media record, every zip entry equal to its record's media_sha256): ${Object.entries(report.bytes)
				.map(([name, size]) => `${name} ${fmt(size / 1e6, 1)} MB`)
				.join(', ')}.`,
		);
		for (const { run, report: r, nodeFlags } of exports) {
			const m = r.recordsMemoryMB;
			out.push(
				`Peak RSS of the export${nodeFlags.length ? ` with ${nodeFlags.join(' ')}` : ' with Node defaults'}: ${fmt(run.peakRssMB, 0)} MB (goal < ${RSS_GOAL_MB} MB: ${run.peakRssMB < RSS_GOAL_MB ? 'met' : 'missed'}); ${fmt(r.recordsPeakRssMB, 0)} MB at the end of the records phase, when V8's heap held ${fmt(m.heapTotal, 0)} MB (${fmt(m.heapUsed, 0)} MB in use, garbage included) and ${fmt(m.external, 0)} MB lay outside it; CPU ${fmt(run.cpuMs / 1000, 1)} s.`,
			);
		}
		out.push(`Load at the end: ${os.loadavg().map((l) => l.toFixed(2)).join(' ')}.`);
		process.stdout.write(out.join('\n') + '\n');
	} finally {
		await removeAllBuckets(client);
		collectGarbage();
		rmSync(work, { recursive: true, force: true });
		key.dispose();
	}
}

if (flag('child')) {
	child().catch((error) => {
		process.stderr.write(`${(error as Error).stack}\n`);
		process.exit(1);
	});
} else {
	main().catch((error) => {
		process.stderr.write(`${(error as Error).stack}\n`);
		process.exit(1);
	});
}
