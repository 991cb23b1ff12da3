/**
 * Benchmark 4 — export: N records of one conversation, archived as the nodes archive them (lib/pgp
 * encrypt → lib/archive writeObject), then exported by lib/archive `exportConversation` (list all
 * pages, GetObject with SHA-256 check, lib/pgp decrypt, sort, render JSONL + text + HTML transcripts),
 * beside a shell loop of `gpg --decrypt` over the same objects.
 *
 * What is timed: ours — the whole export, download included (list + GET + decrypt + render), at the
 * concurrency 4 and at the default, 16; also lib/pgp decrypt alone over the downloaded files (in-process,
 * sequential), the like-for-like peer of the gpg loop. gpg — only the decrypt loop
 * (`for f in *.pgp; do gpg --decrypt "$f" > …; done`) over files downloaded beforehand (download not
 * timed), so the comparison is conservative for us.
 *
 *   npx tsx bench/export.ts [--n 10000] [--gpg-max N] [--concurrency 4] [--concurrency-alt 16]
 */
import { randomBytes } from 'node:crypto';
import { mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { GetObjectCommand } from '@aws-sdk/client-s3';

import { listObjects, objectKeyForRecord, writeObject } from '../lib/archive';
import { decrypt, encrypt, readPrivateKey, readPublicKeys } from '../lib/pgp';
import { generateKey } from './lib/keys';
import { machineLine } from './lib/machine';
import { runMeasured } from './lib/proc';
import { recordBytes, synthRecords } from './lib/records';
import { collectGarbage, createBucket, engineClient, removeAllBuckets, storeReachable } from './lib/s3';
import { fmt, mapLimit, now, numberFlag, progress, ratio } from './lib/stats';
import { table } from './lib/table';

async function main(): Promise<void> {
	const n = numberFlag('n', 10_000);
	const gpgMax = Math.min(n, numberFlag('gpg-max', n));
	const concurrency = numberFlag('concurrency', 4);
	if (!(await storeReachable())) {
		process.stdout.write('### Export\n\nSkipped: the local S3 store is not reachable (`bash scripts/s3-local.sh start`).\n');
		return;
	}
	let exportConversation: typeof import('../lib/archive/export').exportConversation | undefined;
	try {
		exportConversation = (await import('../lib/archive/export')).exportConversation;
	} catch {
		exportConversation = undefined;
	}
	const key = generateKey('rsa3072');
	const recipients = await readPublicKeys({ armoredKeys: key.armoredPublicKey });
	const privateKey = await readPrivateKey({ armoredKey: key.armoredSecretKey });
	const indexKey = randomBytes(32).toString('hex');
	const client = engineClient();
	const work = mkdtempSync(path.join(os.tmpdir(), 'chat-archive-bench-export-'));
	const out: string[] = [];
	try {
		const bucket = await createBucket(client, 'export');
		const records = synthRecords({ count: n, seed: 11, counterparties: 1, stepSeconds: 20 });
		const phoneNumber = `+${records[0].counterparty.wa_id}`;
		progress(`export: archiving ${n} records of one conversation`);
		await mapLimit(records, 16, async (record) => {
			const enc = await encrypt({ data: recordBytes(record), recipients, filename: 'record.json' });
			const { key: objectKey } = objectKeyForRecord({ indexKey, prefix: 'archive', retentionClass: 'default', record });
			await writeObject({ client, bucket, key: objectKey, body: enc.ciphertext as Uint8Array, duplicateCheck: 'store' });
		});

		// Peer input: the same objects downloaded to files (not timed).
		progress('export: downloading the objects for the gpg loop (not timed)');
		const dir = path.join(work, 'objects');
		mkdirSync(dir);
		const listed: string[] = [];
		for await (const object of listObjects({ client, bucket, filter: { prefix: 'archive' } })) listed.push(object.key);
		await mapLimit(listed, 16, async (objectKey, i) => {
			const response = await client.send(new GetObjectCommand({ Bucket: bucket, Key: objectKey }));
			writeFileSync(path.join(dir, `${String(i).padStart(6, '0')}.pgp`), await response.Body!.transformToByteArray());
		});
		const files = readdirSync(dir).filter((f) => f.endsWith('.pgp')).sort();

		// Ours: the whole export, at the node's default concurrency and at --concurrency-alt.
		const concurrencyAlt = numberFlag('concurrency-alt', 16);
		const exports: Array<{ concurrency: number; ms: number }> = [];
		let exportBytes = '';
		if (exportConversation) {
			for (const c of [concurrency, concurrencyAlt]) {
				progress(`export: exportConversation (concurrency ${c})`);
				const start = now();
				const result = await exportConversation({ client, bucket, prefix: 'archive', indexKey, phoneNumber, decryptionKeys: [privateKey], concurrency: c, maxRecords: n + 1 });
				exports.push({ concurrency: c, ms: now() - start });
				exportBytes = `JSONL ${fmt(result.jsonl.length / 1e6, 1)} MB, text ${fmt(result.transcriptText.length / 1e6, 1)} MB, HTML ${fmt(result.transcriptHtml.length / 1e6, 1)} MB`;
				if (result.records.length !== n) throw new Error(`exported ${result.records.length} records, expected ${n}`);
			}
		}

		// Ours, decrypt only (like for like with the gpg loop): sequential lib/pgp decrypt of the files.
		progress('export: lib/pgp decrypt over the downloaded files');
		const decStart = now();
		for (const file of files) {
			const plain = await decrypt({ data: readFileSync(path.join(dir, file)), decryptionKeys: [privateKey] });
			JSON.parse(Buffer.from(plain.data as Uint8Array).toString('utf8'));
		}
		const decryptMs = now() - decStart;

		// gpg loop (decrypt only).
		const gpgFiles = files.slice(0, gpgMax);
		writeFileSync(path.join(work, 'list'), gpgFiles.map((f) => path.join(dir, f)).join('\n') + '\n');
		progress(`export: gpg --decrypt shell loop over ${gpgFiles.length} files`);
		const script = `while read -r f; do gpg --batch --quiet --decrypt "$f" > "\${f%.pgp}.json" || exit 1; done < "${path.join(work, 'list')}"`;
		const gpg = await runMeasured('bash', ['-c', script], { env: key.env, timeoutMs: 3_600_000 });
		if (gpg.code !== 0) throw new Error(`gpg loop failed: ${gpg.stderr.slice(-500)}`);
		const gpgRate = gpgFiles.length / (gpg.wallMs / 1000);

		const rows: string[][] = [];
		for (const e of exports) {
			const rate = n / (e.ms / 1000);
			rows.push([
				`lib/archive exportConversation (list + GET + decrypt + render), concurrency ${e.concurrency}${e.concurrency === 16 ? ' (the default)' : ''}`,
				String(n),
				fmt(e.ms / 1000, 1),
				fmt(rate, 0),
				ratio(rate, gpgRate),
			]);
		}
		const decRate = files.length / (decryptMs / 1000);
		rows.push(['lib/pgp decrypt only, sequential, files in memory', String(files.length), fmt(decryptMs / 1000, 1), fmt(decRate, 0), ratio(decRate, gpgRate)]);
		rows.push(['shell loop of gpg --decrypt (decrypt only, files downloaded before)', String(gpgFiles.length), fmt(gpg.wallMs / 1000, 1), fmt(gpgRate, 0), '1.00×']);

		out.push('### Export (one conversation: list, decrypt, render)');
		out.push('');
		out.push(`Machine: ${machineLine(['node', 'openpgp', 'gpg', 'ceph'])}.`);
		out.push(
			`Command: \`npx tsx bench/export.ts --n ${n}${gpgMax !== n ? ` --gpg-max ${gpgMax}` : ''}\`. ${n} synthetic records of one counterparty, RSA-3072 recipient, unversioned bucket. Ours includes the download; the gpg loop does not (conservative for us).${gpgMax !== n ? ` The gpg loop ran over the first ${gpgMax} files (its rate is per record and does not depend on N).` : ''}`,
		);
		out.push('');
		out.push(table(['path', 'records', 'wall s', 'records/s', 'vs gpg loop'], rows));
		out.push('');
		if (exportConversation) out.push(`Export output: ${exportBytes}.`);
		else out.push('TODO: lib/archive/export.ts was not importable when this ran; only the decrypt-only rows are measured.');
		process.stdout.write(out.join('\n') + '\n');
	} finally {
		await removeAllBuckets(client);
		collectGarbage();
		rmSync(work, { recursive: true, force: true });
		key.dispose();
	}
}

main().catch((error) => {
	process.stderr.write(`${(error as Error).stack}\n`);
	process.exit(1);
});
