/**
 * The README's pictures of an export (`docs/img/export-transcript-html.png`, `export-rsmf-body.png`):
 * the expected records of the fixture deliveries (test/fixtures/expected) are encrypted to a throw-away
 * key and written to a fresh bucket of the local store as the capture template lays them out, then
 * exported by lib/archive (`exportConversation`: the HTML transcript; `exportRsmf`: the `.rsmf`
 * message, whose head and body are shown) and rendered by headless Chromium (playwright-core).
 *
 *   bash scripts/s3-local.sh start && npx tsx scripts/docs-export-images.ts
 */
import { randomBytes } from 'node:crypto';
import { readdirSync, readFileSync } from 'node:fs';
import path from 'node:path';

import { exportConversation, exportRsmf, objectKeyForRecord, writeObject } from '../lib/archive';
import { encryptRecord } from '../lib/capture';
import { readPrivateKey, readPublicKeys } from '../lib/pgp';
import { createS3Client } from '../lib/s3';
import PostalMime from 'postal-mime';

import { launchBrowser } from '../test/e2e/helpers/browser';
import { bytesOf } from '../test/helpers/export';
import { makeGpgHome } from '../test/helpers/gpg';
import { makeBucket, s3Settings } from '../test/helpers/s3';

const REPO = path.resolve(__dirname, '..');
const EXPECTED = path.join(REPO, 'test', 'fixtures', 'expected');
const OUT = path.join(REPO, 'docs', 'img');

async function main(): Promise<void> {
	const gpg = await makeGpgHome();
	const client = createS3Client(s3Settings());
	const bucket = await makeBucket(client, { prefix: 'docs' });
	const indexKey = randomBytes(32).toString('hex');
	const recipients = await readPublicKeys({ armoredKeys: gpg.publicKeyArmored });
	for (const file of readdirSync(EXPECTED).filter((f) => f.endsWith('.records.json')).sort()) {
		for (const record of JSON.parse(readFileSync(path.join(EXPECTED, file), 'utf8'))) {
			const { ciphertext } = await encryptRecord({ record, recipients, indexKey });
			const { key } = objectKeyForRecord({ indexKey, prefix: 'archive', retentionClass: 'default', record });
			await writeObject({ client, bucket, key, body: Buffer.from(ciphertext), contentType: 'application/pgp-encrypted' });
		}
	}
	const decryptionKeys = [await readPrivateKey({ armoredKey: gpg.secretKeyArmored })];
	const scope = { client, bucket, prefix: 'archive', indexKey, person: '+1 555 010 0123', decryptionKeys, from: '2026-01-01', to: '2026-01-31', now: new Date('2026-02-02T09:00:00Z') };
	const exported = await exportConversation(scope);
	const transcriptHtml = await bytesOf(exported.createTranscriptHtmlStream()).finally(async () => await exported.dispose());
	const rsmf = await exportRsmf(scope);
	const chunks: Buffer[] = [];
	for await (const chunk of rsmf.slices[0].createRsmfStream()) chunks.push(chunk as Buffer);
	const eml = Buffer.concat(chunks).toString('utf8');
	// the message's own headers, then its text part decoded (as a review platform shows it) and the attachment's name
	const head = eml.slice(0, eml.search(/\r?\n\r?\n/));
	const parsed = await PostalMime.parse(eml);
	const shown = `${head}\n\n${parsed.text ?? ''}\n[attachment: ${parsed.attachments.map((a) => `${a.filename} (${a.mimeType})`).join(', ')}: rsmf_manifest.json and the media files]`;
	const escape = (text: string) => text.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;');

	const { browser, context } = await launchBrowser();
	try {
		const page = await context.newPage();
		await page.setViewportSize({ width: 1000, height: 900 });
		await page.setContent(transcriptHtml.toString('utf8'));
		await page.screenshot({ path: path.join(OUT, 'export-transcript-html.png'), fullPage: true });
		await page.setContent(`<pre style="font: 13px/1.45 monospace; margin: 16px; white-space: pre-wrap">${escape(shown)}</pre>`);
		await page.screenshot({ path: path.join(OUT, 'export-rsmf-body.png'), fullPage: true });
	} finally {
		await browser.close();
		client.destroy();
		await gpg.cleanup();
	}
	process.stdout.write(`written ${path.join(OUT, 'export-transcript-html.png')} and export-rsmf-body.png (${exported.counts.records} records)\n`);
}

main().catch((error) => {
	console.error(error);
	process.exit(1);
});
