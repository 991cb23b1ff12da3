/**
 * Child of rsmf.test.ts: builds the RSMF export of the records and media in the JSON file named by
 * argv[2] (media as base64) in this process's time zone, and prints the SHA-256 of each slice's
 * `.rsmf` file and rsmf.zip as JSON.
 */
import { createHash } from 'node:crypto';
import { readFileSync } from 'node:fs';
import type { Readable } from 'node:stream';

import { buildRsmfExport } from '../../../lib/archive';

async function digest(stream: Readable): Promise<string> {
	const hash = createHash('sha256');
	for await (const chunk of stream) hash.update(chunk as Buffer);
	return hash.digest('hex');
}

async function main(): Promise<void> {
	const input = JSON.parse(readFileSync(process.argv[2], 'utf8')) as { records: object[]; media: Array<{ wamid: string; base64: string }> };
	const media = () => input.media.map((m) => ({ wamid: m.wamid, content: Buffer.from(m.base64, 'base64') }));
	const digests = [];
	for (const slice of buildRsmfExport({ records: input.records, media: media() }).slices) {
		digests.push({ rsmf: await digest(slice.createRsmfStream()), zip: await digest(slice.createZipStream()) });
	}
	process.stdout.write(JSON.stringify(digests));
}

void main();
