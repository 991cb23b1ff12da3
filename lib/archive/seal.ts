import { createHash, randomBytes } from 'node:crypto';
import type { Readable } from 'node:stream';
import {
	GetObjectCommand,
	HeadObjectCommand,
	ListObjectVersionsCommand,
	ListObjectsV2Command,
	type S3Client,
} from '@aws-sdk/client-s3';
import { DateTime, Duration } from 'luxon';

import { sign, type PrivateKey } from '../pgp';
import { toArchiveError } from './errors';
import { normalizePrefix } from './layout';
import { merkleRootHex } from './merkle';
import { checkBucket } from './setup-check';
import {
	ArchiveError,
	type ManifestSigner,
	type SealEntry,
	type SealManifest,
} from './types';
import { SHA256_METADATA_KEY, writeObject } from './write';

/**
 * Seal: a signed, hash-chained manifest of every object version under a prefix of the archive.
 *
 * The manifest lists each version (key, version id, size, ciphertext SHA-256, last modified), the
 * RFC 6962 Merkle root over one canonical leaf line per version, and the SHA-256 of the previous
 * manifest of the same archive prefix (a hash chain). It is signed with a detached armored OpenPGP
 * signature and stored once, under Object Lock when the bucket has it, at
 *
 *     <archive prefix>/_seals/<scope | _all>/<seal id>.json       the manifest (application/json)
 *     <archive prefix>/_seals/<scope | _all>/<seal id>.json.asc   its signature (application/pgp-signature)
 *
 * so `gpg --verify <seal id>.json.asc <seal id>.json` checks it with stock GnuPG. Keys are already
 * pseudonymous (see layout.ts); the manifest carries no plaintext, metadata or phone numbers.
 */

/** Folder (under the archive prefix) holding seal manifests. */
export const SEALS_FOLDER = '_seals';

/** Scope segment used in seal keys when the whole archive prefix is sealed. */
export const WHOLE_ARCHIVE_SCOPE = '_all';

/** Default Object Lock of manifests and signatures (only applied when the bucket has Object Lock). */
export const DEFAULT_SEAL_LOCK: SealLock = { mode: 'GOVERNANCE', retention: 'P7Y' };

/** Object Lock of seal objects: mode and an ISO 8601 duration counted from the time of writing. */
export interface SealLock {
	mode: 'GOVERNANCE' | 'COMPLIANCE';
	/** ISO 8601 duration, e.g. `P7Y`. */
	retention: string;
}

const LEAF_ENCODING = 'json-array:key,version_id,delete_marker,size,sha256,last_modified' as const;

/**
 * The canonical leaf line of one manifest entry (the bytes hashed into the Merkle tree):
 * UTF-8 of `JSON.stringify([key, version_id, delete_marker, size, sha256, last_modified])`, no
 * whitespace, no newline. Python: `json.dumps([...], separators=(',', ':'), ensure_ascii=False)`.
 */
export function sealLeafLine(entry: SealEntry): Buffer {
	return Buffer.from(
		JSON.stringify([entry.key, entry.version_id, entry.delete_marker, entry.size, entry.sha256, entry.last_modified]),
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
	const body = entries.length ? `[\n${entries.map((e) => '    ' + JSON.stringify(e)).join(',\n')}\n  ]` : '[]';
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

/** One version as listed by {@link listSealableVersions}. */
export interface StoreVersion {
	key: string;
	versionId: string;
	isDeleteMarker: boolean;
	isLatest: boolean;
	size: number;
	/** ISO 8601 UTC, or null. */
	lastModified: string | null;
	etag: string | null;
}

/**
 * Every object version and delete marker under `listedPrefix` (ListObjectVersions, all pages via
 * KeyMarker / VersionIdMarker; S3 API reference), skipping control folders of `archivePrefix`.
 * Unversioned buckets list each object once with version id `null`.
 *
 * @throws ArchiveError with the store's code.
 */
export async function* listSealableVersions(options: {
	client: S3Client;
	bucket: string;
	archivePrefix: string;
	listedPrefix: string;
}): AsyncGenerator<StoreVersion> {
	const { client, bucket, archivePrefix, listedPrefix } = options;
	let keyMarker: string | undefined;
	let versionIdMarker: string | undefined;
	do {
		let page;
		try {
			page = await client.send(
				new ListObjectVersionsCommand({
					Bucket: bucket,
					Prefix: listedPrefix,
					...(keyMarker ? { KeyMarker: keyMarker } : {}),
					...(versionIdMarker ? { VersionIdMarker: versionIdMarker } : {}),
				}),
			);
		} catch (error) {
			throw toArchiveError(error, { operation: 'ListObjectVersions', bucket });
		}
		const listed: StoreVersion[] = [];
		for (const v of page.Versions ?? []) {
			if (!v.Key) continue;
			listed.push({
				key: v.Key,
				versionId: v.VersionId ?? 'null',
				isDeleteMarker: false,
				isLatest: v.IsLatest === true,
				size: v.Size ?? 0,
				lastModified: v.LastModified?.toISOString() ?? null,
				etag: v.ETag ? v.ETag.replace(/^"|"$/g, '') : null,
			});
		}
		for (const m of page.DeleteMarkers ?? []) {
			if (!m.Key) continue;
			listed.push({
				key: m.Key,
				versionId: m.VersionId ?? 'null',
				isDeleteMarker: true,
				isLatest: m.IsLatest === true,
				size: 0,
				lastModified: m.LastModified?.toISOString() ?? null,
				etag: null,
			});
		}
		for (const version of listed) if (!isControlKey(archivePrefix, version.key)) yield version;
		if (page.IsTruncated) {
			keyMarker = page.NextKeyMarker;
			versionIdMarker = page.NextVersionIdMarker;
			if (!keyMarker) break;
		} else {
			keyMarker = undefined;
		}
	} while (keyMarker);
}

/** SHA-256 (hex) and size of a stream's bytes, without keeping them. */
export async function hashStream(stream: Readable): Promise<{ sha256: string; size: number }> {
	const hash = createHash('sha256');
	let size = 0;
	for await (const chunk of stream) {
		const bytes = chunk as Uint8Array;
		hash.update(bytes);
		size += bytes.byteLength;
	}
	return { sha256: hash.digest('hex'), size };
}

/**
 * Downloads one version (GetObject, streamed) and returns the SHA-256 hex and size of its bytes.
 *
 * @throws ArchiveError with the store's code.
 */
export async function hashVersion(client: S3Client, bucket: string, key: string, versionId: string): Promise<{ sha256: string; size: number }> {
	try {
		const response = await client.send(
			new GetObjectCommand({ Bucket: bucket, Key: key, ...(versionId !== 'null' ? { VersionId: versionId } : {}) }),
		);
		return await hashStream(response.Body as Readable);
	} catch (error) {
		throw toArchiveError(error, { operation: 'GetObject', bucket, key });
	}
}

/**
 * The `x-amz-meta-sha256` of one version (HeadObject), or null when it has none.
 *
 * @throws ArchiveError with the store's code.
 */
export async function metadataSha256(client: S3Client, bucket: string, key: string, versionId: string): Promise<string | null> {
	try {
		const head = await client.send(
			new HeadObjectCommand({ Bucket: bucket, Key: key, ...(versionId !== 'null' ? { VersionId: versionId } : {}) }),
		);
		const value = head.Metadata?.[SHA256_METADATA_KEY];
		return value && /^[0-9a-f]{64}$/.test(value) ? value : null;
	} catch (error) {
		throw toArchiveError(error, { operation: 'HeadObject', bucket, key });
	}
}

/** Runs `worker` over `items` with at most `limit` in flight; results keep the input order. */
export async function mapWithLimit<T, R>(items: readonly T[], limit: number, worker: (item: T, index: number) => Promise<R>): Promise<R[]> {
	const results = new Array<R>(items.length);
	let next = 0;
	const run = async () => {
		while (next < items.length) {
			const index = next++;
			results[index] = await worker(items[index], index);
		}
	};
	await Promise.all(Array.from({ length: Math.max(1, Math.min(limit, items.length)) }, run));
	return results;
}

/** The newest seal manifest under `sealsPrefix/` (by seal id in the file name), or null. */
export async function findLatestSeal(
	client: S3Client,
	bucket: string,
	sealsPrefix: string,
): Promise<{ key: string; sha256: string } | null> {
	const folder = `${sealsPrefix}/`;
	let latest: { key: string; id: string } | null = null;
	let token: string | undefined;
	do {
		let page;
		try {
			page = await client.send(new ListObjectsV2Command({ Bucket: bucket, Prefix: folder, ContinuationToken: token }));
		} catch (error) {
			throw toArchiveError(error, { operation: 'ListObjectsV2', bucket });
		}
		for (const object of page.Contents ?? []) {
			const key = object.Key ?? '';
			const match = /\/(\d{8}T\d{9}Z-[0-9a-f]{8})\.json$/.exec(key);
			if (match && (!latest || match[1] > latest.id)) latest = { key, id: match[1] };
		}
		token = page.IsTruncated ? page.NextContinuationToken : undefined;
	} while (token);
	if (!latest) return null;
	const { sha256 } = await hashVersion(client, bucket, latest.key, 'null');
	return { key: latest.key, sha256 };
}

/** Options of {@link sealPrefix}. */
export interface SealOptions {
	client: S3Client;
	bucket: string;
	/** The archive prefix, as given to `writeObject` / `listObjects` (e.g. `archive`). */
	prefix: string;
	/**
	 * What to seal under the prefix, as a relative path: a day folder
	 * (`default/106000000000002/2026/01/01`, see {@link daySealScope}), a class, a phone number id…
	 * Empty or absent: the whole archive prefix (control folders excepted).
	 */
	scope?: string;
	/** Detached-signature function, or an unlocked `lib/pgp` private key (then `sign` of lib/pgp is used). */
	signer: ManifestSigner | PrivateKey;
	/** Folder for manifests; default `<prefix>/_seals`. The hash chain links manifests within it. */
	sealsPrefix?: string;
	/**
	 * Object Lock of the manifest and signature; default {@link DEFAULT_SEAL_LOCK} (GOVERNANCE, P7Y).
	 * Applied only when the bucket has Object Lock enabled; `null` never locks.
	 */
	objectLock?: SealLock | null;
	/** Download and hash versions that lack `x-amz-meta-sha256` (default true); false fails on such versions. */
	hashWhenNoMetadata?: boolean;
	/** HeadObject / GetObject requests in flight (default 8). */
	concurrency?: number;
	/** Creation time (default now). */
	now?: Date;
}

/** Result of {@link sealPrefix}. */
export interface SealResult {
	sealId: string;
	bucket: string;
	manifestKey: string;
	signatureKey: string;
	/** SHA-256 hex of the stored manifest bytes (what the next seal chains to). */
	manifestSha256: string;
	manifestVersionId: string | null;
	merkleRoot: string;
	prevManifestKey: string | null;
	prevManifestSha256: string | null;
	counts: SealManifest['counts'];
	/** Versions whose SHA-256 was computed by downloading (no `x-amz-meta-sha256`). */
	hashedByDownload: number;
	signerFingerprint: string;
	/** Lock applied to the manifest and signature, or null. */
	objectLock: { mode: 'GOVERNANCE' | 'COMPLIANCE'; retainUntil: string } | null;
	/** The manifest as stored. */
	manifest: SealManifest;
}

/**
 * Scope of one day folder: `<class>/<phone_number_id>/<yyyy>/<mm>/<dd>`. A string starting with
 * `yyyy-mm-dd` names that day as written (no time-zone shift, e.g. n8n's `2026-01-01T00:00:00`);
 * a `Date` or other string is read and its UTC day taken.
 *
 * @throws ArchiveError `InvalidInput` when the date does not parse.
 */
export function daySealScope(options: { retentionClass: string; phoneNumberId: string; date: string | Date }): string {
	const written = typeof options.date === 'string' ? /^(\d{4})-(\d{2})-(\d{2})/.exec(options.date.trim()) : null;
	const date = options.date instanceof Date ? options.date : new Date(written ? `${written[0]}T00:00:00Z` : options.date);
	if (Number.isNaN(date.getTime())) {
		throw new ArchiveError(`date "${String(options.date)}" is not a date (use yyyy-mm-dd)`, { code: 'InvalidInput' });
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
		throw new ArchiveError(`scope "${normalized}" names a control folder (starting with "_"); those are never sealed`, {
			code: 'InvalidInput',
		});
	}
	return normalized;
}

async function signWith(signer: ManifestSigner | PrivateKey, data: Uint8Array): Promise<{ signature: string; signerFingerprint: string }> {
	if (typeof signer === 'function') return await signer(data);
	const result = await sign({ data, signingKey: signer, detached: true, armor: true });
	return { signature: String(result.signature), signerFingerprint: result.signerFingerprint };
}

/**
 * Seals a prefix of the archive:
 *
 * 1. lists every version and delete marker under `<prefix>/<scope>/` (ListObjectVersions, all pages;
 *    control folders `<prefix>/_*` excluded);
 * 2. takes each version's ciphertext SHA-256 from `x-amz-meta-sha256` (HeadObject with VersionId), or
 *    computes it by streaming GetObject when absent;
 * 3. sorts entries by key (UTF-8 bytes) then version id, computes the RFC 6962 §2.1 Merkle root over
 *    the canonical leaf lines ({@link sealLeafLine}), links to the newest earlier manifest in
 *    `sealsPrefix` (`prev_manifest_sha256` = SHA-256 of its stored bytes);
 * 4. signs the manifest bytes (detached, armored OpenPGP signature, RFC 4880 §5.2 type 0x00) and
 *    writes `<id>.json` then `<id>.json.asc` once each (PutObject with Content-MD5), with Object Lock
 *    when the bucket has it (GetObjectLockConfiguration).
 *
 * Two seals running at the same moment may both link to the same predecessor (a fork that Verify
 * shows as two manifests with one `prev_manifest_key`); run seals from one scheduled workflow.
 *
 * @throws ArchiveError `InvalidInput` for a bad prefix/scope; `MissingChecksum` when a version has no
 *   `x-amz-meta-sha256` and `hashWhenNoMetadata` is false; otherwise with the store's code. A failing
 *   signer (e.g. PgpError) propagates before anything is written.
 */
export async function sealPrefix(options: SealOptions): Promise<SealResult> {
	const { client, bucket } = options;
	if (!bucket) throw new ArchiveError('bucket is required', { code: 'InvalidInput' });
	const archivePrefix = normalizePrefix(options.prefix);
	const scope = normalizeSealScope(options.scope);
	const sealsPrefix = options.sealsPrefix ? normalizePrefix(options.sealsPrefix) : `${archivePrefix}/${SEALS_FOLDER}`;
	const listedPrefix = sealListedPrefix(archivePrefix, scope);
	const now = options.now ?? new Date();

	const versions: StoreVersion[] = [];
	for await (const version of listSealableVersions({ client, bucket, archivePrefix, listedPrefix })) {
		// a custom seals folder inside the listed prefix is never sealed either
		if (version.key.startsWith(`${sealsPrefix}/`)) continue;
		versions.push(version);
	}

	let hashedByDownload = 0;
	const entries = await mapWithLimit(versions, options.concurrency ?? 8, async (version): Promise<SealEntry> => {
		if (version.isDeleteMarker) {
			return { key: version.key, version_id: version.versionId, delete_marker: true, size: 0, sha256: null, last_modified: version.lastModified };
		}
		let sha256 = await metadataSha256(client, bucket, version.key, version.versionId);
		if (!sha256) {
			if (options.hashWhenNoMetadata === false) {
				throw new ArchiveError(`s3://${bucket}/${version.key} (version ${version.versionId}) has no x-amz-meta-sha256`, {
					code: 'MissingChecksum',
				});
			}
			sha256 = (await hashVersion(client, bucket, version.key, version.versionId)).sha256;
			hashedByDownload++;
		}
		return {
			key: version.key,
			version_id: version.versionId,
			delete_marker: false,
			size: version.size,
			sha256,
			last_modified: version.lastModified,
		};
	});
	entries.sort(compareSealEntries);

	const previous = await findLatestSeal(client, bucket, sealsPrefix);
	const sealId = newSealId(now);
	const manifest: SealManifest = {
		type: 'chat-archive.seal-manifest',
		version: 1,
		seal_id: sealId,
		bucket,
		archive_prefix: archivePrefix,
		scope,
		seals_prefix: sealsPrefix,
		listed_prefix: listedPrefix,
		created_at: now.toISOString(),
		leaf_encoding: LEAF_ENCODING,
		tree_hash: 'rfc6962-sha256',
		merkle_root: sealMerkleRoot(entries),
		prev_manifest_key: previous?.key ?? null,
		prev_manifest_sha256: previous?.sha256 ?? null,
		counts: {
			versions: entries.length,
			objects: new Set(entries.map((e) => e.key)).size,
			delete_markers: entries.filter((e) => e.delete_marker).length,
			bytes: entries.reduce((sum, e) => sum + e.size, 0),
		},
		entries,
	};
	const body = manifestBytes(manifest);
	const signed = await signWith(options.signer, body);

	const lock = options.objectLock === undefined ? DEFAULT_SEAL_LOCK : options.objectLock;
	let objectLock: SealResult['objectLock'] = null;
	if (lock) {
		const setup = await checkBucket({ client, bucket, probeWrites: false });
		if (setup.objectLock.enabled) {
			const duration = Duration.fromISO(lock.retention);
			if (!duration.isValid || duration.toMillis() <= 0) {
				throw new ArchiveError(`objectLock.retention "${lock.retention}" is not a positive ISO 8601 duration (e.g. P7Y)`, {
					code: 'InvalidInput',
				});
			}
			objectLock = { mode: lock.mode, retainUntil: DateTime.fromJSDate(now, { zone: 'utc' }).plus(duration).toJSDate().toISOString() };
		}
	}
	const lockParams = objectLock ? { objectLock: { mode: objectLock.mode, retainUntil: new Date(objectLock.retainUntil) } } : {};
	const folder = `${sealsPrefix}/${scope || WHOLE_ARCHIVE_SCOPE}`;
	const manifestKey = `${folder}/${sealId}.json`;
	const signatureKey = `${manifestKey}.asc`;
	const written = await writeObject({ client, bucket, key: manifestKey, body, contentType: 'application/json', ...lockParams });
	if (written.status !== 'created') {
		throw new ArchiveError(`${manifestKey} already exists; seal manifests are never replaced`, { code: 'SealExists' });
	}
	const signatureWritten = await writeObject({
		client,
		bucket,
		key: signatureKey,
		body: Buffer.from(signed.signature, 'utf8'),
		contentType: 'application/pgp-signature',
		...lockParams,
	});
	if (signatureWritten.status !== 'created') {
		throw new ArchiveError(`${signatureKey} already exists; seal signatures are never replaced`, { code: 'SealExists' });
	}
	return {
		sealId,
		bucket,
		manifestKey,
		signatureKey,
		manifestSha256: createHash('sha256').update(body).digest('hex'),
		manifestVersionId: written.versionId,
		merkleRoot: manifest.merkle_root,
		prevManifestKey: manifest.prev_manifest_key,
		prevManifestSha256: manifest.prev_manifest_sha256,
		counts: manifest.counts,
		hashedByDownload,
		signerFingerprint: signed.signerFingerprint,
		objectLock,
		manifest,
	};
}

/**
 * A lookup of sealed ciphertext hashes: reads every manifest under `sealsPrefix` (default
 * `<prefix>/_seals`; ListObjectsV2 + one GetObject per manifest) and returns
 * `(key, versionId) → sha256 | null`. Fits the retention sweeper's `sha256Lookup` option, so deletion
 * reports carry the hash the seal recorded (and Verify can compare them). Manifests are not
 * signature-checked here: the hashes only annotate reports.
 *
 * @throws ArchiveError with the store's code.
 */
export async function loadSealedHashes(options: {
	client: S3Client;
	bucket: string;
	prefix: string;
	sealsPrefix?: string;
}): Promise<(key: string, versionId: string) => string | null> {
	const { client, bucket } = options;
	const sealsPrefix = options.sealsPrefix ? normalizePrefix(options.sealsPrefix) : `${normalizePrefix(options.prefix)}/${SEALS_FOLDER}`;
	const hashes = new Map<string, string>();
	let token: string | undefined;
	const manifestKeys: string[] = [];
	do {
		let page;
		try {
			page = await client.send(new ListObjectsV2Command({ Bucket: bucket, Prefix: `${sealsPrefix}/`, ContinuationToken: token }));
		} catch (error) {
			throw toArchiveError(error, { operation: 'ListObjectsV2', bucket });
		}
		for (const object of page.Contents ?? []) if (object.Key?.endsWith('.json')) manifestKeys.push(object.Key);
		token = page.IsTruncated ? page.NextContinuationToken : undefined;
	} while (token);
	for (const key of manifestKeys) {
		let manifest: SealManifest | null = null;
		try {
			const response = await client.send(new GetObjectCommand({ Bucket: bucket, Key: key }));
			manifest = JSON.parse(Buffer.from(await response.Body!.transformToByteArray()).toString('utf8')) as SealManifest;
		} catch (error) {
			if (error instanceof SyntaxError) continue;
			throw toArchiveError(error, { operation: 'GetObject', bucket, key });
		}
		if (manifest?.type !== 'chat-archive.seal-manifest' || !Array.isArray(manifest.entries)) continue;
		for (const entry of manifest.entries) if (entry.sha256) hashes.set(`${entry.version_id}\u0000${entry.key}`, entry.sha256);
	}
	return (key: string, versionId: string) => hashes.get(`${versionId}\u0000${key}`) ?? null;
}
