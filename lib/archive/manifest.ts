import { randomBytes } from 'node:crypto';
import { DateTime } from 'luxon';

import { normalizePrefix } from './layout';
import { merkleRootHex } from './merkle';
import { ArchiveError, type SealEntry, type SealManifest } from './types';

/**
 * The seal manifest format (docs/FORMAT.md, "Seal manifest"): where manifests live, what a seal's
 * scope covers, the canonical leaf line of each version, the RFC 6962 Merkle root over them and the
 * exact bytes that are signed. Pure functions: no store access.
 */

/** Folder (under the archive prefix) holding seal manifests. */
export const SEALS_FOLDER = '_seals';

/** Scope segment used in seal keys when the whole archive prefix is sealed. */
export const WHOLE_ARCHIVE_SCOPE = '_all';

export const LEAF_ENCODING =
	'json-array:key,version_id,delete_marker,size,sha256,last_modified' as const;

/**
 * The canonical leaf line of one manifest entry (the bytes hashed into the Merkle tree):
 * UTF-8 of `JSON.stringify([key, version_id, delete_marker, size, sha256, last_modified])`, no
 * whitespace, no newline. Python: `json.dumps([...], separators=(',', ':'), ensure_ascii=False)`.
 */
export function sealLeafLine(entry: SealEntry): Buffer {
	return Buffer.from(
		JSON.stringify([
			entry.key,
			entry.version_id,
			entry.delete_marker,
			entry.size,
			entry.sha256,
			entry.last_modified,
		]),
		'utf8',
	);
}

/** Orders entries by key (UTF-8 byte order, as S3 lists) then version id (code unit order). */
export function compareSealEntries(a: Pick<SealEntry, 'key' | 'version_id'>, b: Pick<SealEntry, 'key' | 'version_id'>): number {
	const byKey = Buffer.compare(Buffer.from(a.key, 'utf8'), Buffer.from(b.key, 'utf8'));
	if (byKey !== 0) return byKey;
	return a.version_id < b.version_id ? -1 : a.version_id > b.version_id ? 1 : 0;
}

/** Merkle root (RFC 6962 §2.1, hex) of entries in the order given. */
export function sealMerkleRoot(entries: readonly SealEntry[]): string {
	return merkleRootHex(entries.map(sealLeafLine));
}

/**
 * Serialises a manifest: pretty JSON for the header, one compact entry per line, UTF-8, trailing
 * newline. Any JSON parser reads it; the signature covers these exact bytes.
 */
export function manifestBytes(manifest: SealManifest): Buffer {
	const { entries, ...header } = manifest;
	const head = JSON.stringify(header, null, 2).replace(/\n}$/, '');
	const body = entries.length
		? `[\n${entries.map((e) => '    ' + JSON.stringify(e)).join(',\n')}\n  ]`
		: '[]';
	return Buffer.from(`${head},\n  "entries": ${body}\n}\n`, 'utf8');
}

/** A new seal id: `yyyymmddThhmmssSSSZ-<8 hex>` (sorts by time). */
export function newSealId(now: Date = new Date()): string {
	return `${DateTime.fromJSDate(now, { zone: 'utc' }).toFormat("yyyyLLdd'T'HHmmssSSS'Z'")}-${randomBytes(4).toString('hex')}`;
}

/** The prefix listed for a scope: `<archivePrefix>/` or `<archivePrefix>/<scope>/`. */
export function sealListedPrefix(archivePrefix: string, scope: string): string {
	return scope ? `${archivePrefix}/${scope}/` : `${archivePrefix}/`;
}

/**
 * Whether a key is in a control folder of the archive (`<archivePrefix>/_seals/`, `_reports/`,
 * `_holds/`, `_setup-check/`…: the first segment after the prefix starts with `_`). Such objects are
 * never sealed: retention classes start with a letter or digit.
 */
export function isControlKey(archivePrefix: string, key: string): boolean {
	const rest = key.startsWith(`${archivePrefix}/`) ? key.slice(archivePrefix.length + 1) : null;
	return rest !== null && rest.startsWith('_');
}

/** Reads a stored manifest. @throws ArchiveError `InvalidManifest` when the bytes are not a seal manifest. */
export function parseManifest(bytes: Buffer, key: string): SealManifest {
	let manifest: SealManifest | null = null;
	try {
		manifest = JSON.parse(bytes.toString('utf8')) as SealManifest;
	} catch {
		manifest = null;
	}
	if (
		!manifest ||
		manifest.type !== 'chat-archive.seal-manifest' ||
		manifest.version !== 1 ||
		!Array.isArray(manifest.entries)
	) {
		throw new ArchiveError(
			`${key} is not a seal manifest (type chat-archive.seal-manifest, version 1)`,
			{
				code: 'InvalidManifest',
			},
		);
	}
	return manifest;
}

/**
 * Scope of one day folder: `<class>/<phone_number_id>/<yyyy>/<mm>/<dd>`. A string starting with
 * `yyyy-mm-dd` names that day as written (no time-zone shift, e.g. n8n's `2026-01-01T00:00:00`);
 * a `Date` or other string is read and its UTC day taken.
 *
 * @throws ArchiveError `InvalidInput` when the date does not parse.
 */
export function daySealScope(options: {
	retentionClass: string;
	phoneNumberId: string;
	date: string | Date;
}): string {
	const written =
		typeof options.date === 'string' ? /^(\d{4})-(\d{2})-(\d{2})/.exec(options.date.trim()) : null;
	const date =
		options.date instanceof Date
			? options.date
			: new Date(written ? `${written[0]}T00:00:00Z` : options.date);
	if (Number.isNaN(date.getTime())) {
		throw new ArchiveError(`date "${String(options.date)}" is not a date (use yyyy-mm-dd)`, {
			code: 'InvalidInput',
		});
	}
	const day = date.toISOString().slice(0, 10).replace(/-/g, '/');
	return `${options.retentionClass}/${options.phoneNumberId}/${day}`;
}

/** Normalises a scope: `''` for none; otherwise validated like a prefix; must not name a control folder. */
export function normalizeSealScope(scope: string | undefined): string {
	const value = (scope ?? '').trim().replace(/^\/+|\/+$/g, '');
	if (!value) return '';
	const normalized = normalizePrefix(value);
	if (normalized.startsWith('_')) {
		throw new ArchiveError(
			`scope "${normalized}" names a control folder (starting with "_"); those are never sealed`,
			{
				code: 'InvalidInput',
			},
		);
	}
	return normalized;
}
