/**
 * Reading `.rsmf` files back as a review platform does, with parsers independent of the export's
 * builders: postal-mime for the RFC 5322 message, fflate for rsmf.zip, ajv (draft-07) with
 * Relativity's schema 2.0.0 (vendored in lib/archive/rsmf/schema) for the manifest.
 */
import { readFileSync } from 'node:fs';
import path from 'node:path';
import Ajv, { type AnySchema } from 'ajv';
import addFormats from 'ajv-formats';
import { unzipSync } from 'fflate';
import PostalMime from 'postal-mime';

import type { RsmfEvent, RsmfManifest } from '../../lib/archive';

const SCHEMA = JSON.parse(readFileSync(path.join(__dirname, '..', '..', 'lib', 'archive', 'rsmf', 'schema', 'rsmf_schema_2_0_0.json'), 'utf8')) as AnySchema;
const ajv = new Ajv({ allErrors: true, strict: false });
addFormats(ajv);
ajv.addFormat('idn-email', true);
const validate = ajv.compile(SCHEMA);

/** A `.rsmf` file read back. */
export interface ReadRsmf {
	email: Awaited<ReturnType<typeof PostalMime.parse>>;
	/** Files at the root of rsmf.zip by name. */
	files: Record<string, Uint8Array>;
	manifest: RsmfManifest;
	/** A header of the message (names compared case-insensitively). */
	header(name: string): string | undefined;
}

/**
 * Parses a `.rsmf` file: the message must have exactly one attachment, `rsmf.zip`, holding
 * `rsmf_manifest.json`.
 *
 * @throws Error when the message has another shape
 */
export async function readRsmf(eml: Buffer): Promise<ReadRsmf> {
	const email = await PostalMime.parse(eml);
	const [zip, ...more] = email.attachments;
	if (!zip || more.length || zip.filename !== 'rsmf.zip' || zip.mimeType !== 'application/zip') {
		throw new Error(`expected one attachment rsmf.zip (application/zip), got ${email.attachments.map((a) => `${a.filename} (${a.mimeType})`).join(', ') || 'none'}`);
	}
	const files = unzipSync(new Uint8Array(zip.content as ArrayBuffer));
	const manifest = JSON.parse(Buffer.from(files['rsmf_manifest.json']).toString('utf8')) as RsmfManifest;
	return { email, files, manifest, header: (name) => email.headers.find((h) => h.key === name.toLowerCase())?.value };
}

/** Ajv's errors of a manifest against Relativity's schema 2.0.0, or null when it validates. */
export function manifestErrors(manifest: unknown): unknown[] | null {
	return validate(manifest) ? null : (validate.errors ?? []);
}

/** The value of a `custom` property of an event or participant. */
export function customValue(custom: Array<{ name: string; value: string }> | undefined, name: string): string | undefined {
	return custom?.find((c) => c.name === name)?.value;
}

/** The WhatsApp message id (custom `Message ID`) of each event that has one, in event order. */
export function messageIds(events: RsmfEvent[]): string[] {
	return events.map((e) => customValue(e.custom, 'Message ID')).filter((id): id is string => Boolean(id));
}
