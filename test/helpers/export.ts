/**
 * The streamed conversation export (lib/archive `exportConversation`) with its files read whole, for
 * tests that check their content rather than how they stream (export-stream.test.ts does that).
 */
import type { Readable } from 'node:stream';

import {
	exportConversation,
	type ArchiveRecordFields,
	type ConversationExportOptions,
} from '../../lib/archive';

/** Every byte of a stream (none for a null stream). */
export async function bytesOf(stream: Readable | null): Promise<Buffer> {
	const chunks: Buffer[] = [];
	for await (const chunk of stream ?? []) chunks.push(chunk as Buffer);
	return Buffer.concat(chunks);
}

/** exportConversation with its files read whole (the JSONL parsed as `records`), then disposed. */
export async function exportWhole(options: ConversationExportOptions) {
	const exported = await exportConversation(options);
	try {
		const jsonl = await bytesOf(exported.createJsonlStream());
		return {
			...exported,
			jsonl,
			records: jsonl
				.toString('utf8')
				.split('\n')
				.filter(Boolean)
				.map((line) => JSON.parse(line) as ArchiveRecordFields & Record<string, unknown>),
			transcriptText: await bytesOf(exported.createTranscriptTextStream()),
			transcriptHtml: await bytesOf(exported.createTranscriptHtmlStream()),
			mediaZip: await bytesOf(exported.createMediaZipStream()),
		};
	} finally {
		await exported.dispose();
	}
}
