/**
 * Demo driver (run by scripts/demo.sh): runs workflows/whatsapp-capture-archive.json in n8n-core
 * in-process, POSTs each signed fixture delivery to the trigger's webhook URL (the trigger archives
 * every record itself: Archive at Capture), lists the objects written to the local store and saves one
 * of them to $DEMO_OUT for gpg to decrypt.
 * Environment: DEMO_PUBLIC_KEY_FILE (armored public key), DEMO_OUT, S3_* from scripts/s3-local.sh.
 */
import { createHmac, randomBytes } from 'node:crypto';
import { readdirSync, readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';

import { createS3Client } from '../lib/s3';
import { InProcessN8n, loadTemplate } from '../test/helpers/n8n-runner';
import { getObjectBytes, listAllKeys, makeBucket, s3ArchiveCredential, s3Settings } from '../test/helpers/s3';

async function main() {
	const fixtures = path.join(__dirname, '..', 'test', 'fixtures', 'whatsapp');
	const appSecret = randomBytes(16).toString('hex');
	const settings = s3Settings();
	const s3 = createS3Client(settings);
	const bucket = await makeBucket(s3, { objectLock: true });
	const indexKey = randomBytes(32).toString('hex');
	const n8n = new InProcessN8n({
		workflow: loadTemplate('whatsapp-capture-archive'),
		credentials: {
			// no Graph API in the demo: media downloads fail fast and are recorded as media_status failed
			whatsAppCaptureApi: { appSecret, verifyToken: randomBytes(8).toString('hex'), indexKey, graphApiBaseUrl: 'http://127.0.0.1:9', graphApiVersion: 'v24.0' },
			openPgpPublicKeysApi: { publicKeys: readFileSync(process.env.DEMO_PUBLIC_KEY_FILE!, 'utf8') },
			s3ArchiveApi: s3ArchiveCredential(bucket, indexKey),
		},
	});
	await n8n.start();
	let mediaKey: string | undefined;
	console.log(`   webhook URL ${n8n.webhookUrl()}, bucket ${bucket}`);
	// record objects (media and the identity links under archive/_identities/ aside)
	const recordKeys = async () =>
		(await listAllKeys(s3, bucket)).filter((key) => key.startsWith('archive/') && !key.startsWith('archive/_') && !/\.media[^/]*\.pgp$/.test(key));
	for (const file of readdirSync(fixtures).sort()) {
		const before = new Set(await recordKeys());
		const body = readFileSync(path.join(fixtures, file));
		if (JSON.parse(body.toString('utf8')).object !== 'whatsapp_business_account') continue;
		const signature = 'sha256=' + createHmac('sha256', appSecret).update(body).digest('hex');
		const response = await fetch(n8n.webhookUrl(), {
			method: 'POST',
			headers: { 'content-type': 'application/json', 'x-hub-signature-256': signature },
			body: new Uint8Array(body),
		});
		await n8n.idle();
		const run = n8n.exchanges[n8n.exchanges.length - 1].run;
		const written = (await recordKeys()).filter((key) => !before.has(key));
		const quarantined = run?.data.resultData.runData['Quarantine Record']?.[0]?.data?.main?.[0] ?? [];
		console.log(
			`   POST ${file.padEnd(36)} → HTTP ${response.status}, ${written.length} record(s) archived by the trigger` +
				(run ? `, ${quarantined.length} quarantined by the workflow` : ', no execution'),
		);
		// the record of the image delivery: it shows what a media record says when media is missing
		if (file.includes('image')) mediaKey ??= written[0];
	}
	await n8n.stop();

	const keys = await listAllKeys(s3, bucket);
	console.log(`== 3. ${keys.length} objects in s3://${bucket} (no phone number, wamid or content in any key)`);
	for (const key of keys) console.log(`   ${key}`);
	const shown = mediaKey ?? keys[0];
	writeFileSync(process.env.DEMO_OUT!, await getObjectBytes(s3, bucket, shown));
	console.log(`   saved ${shown} for gpg`);
	s3.destroy();
}

main().catch((error) => {
	console.error(error);
	process.exit(1);
});
