import { createHash } from 'node:crypto';
import type { S3Client } from '@aws-sdk/client-s3';

import { sign, type PrivateKey } from '../pgp';
import { bucketHasObjectLock, hashObject, headObject, listKeys, listVersions, lockUntil, mapLimit, metadataSha256, type ListedVersion, type LockRetention } from '../s3';
import { compareSealEntries, isControlKey, LEAF_ENCODING, manifestBytes, newSealId, normalizeSealScope, sealListedPrefix, sealMerkleRoot, SEALS_FOLDER, WHOLE_ARCHIVE_SCOPE } from './manifest';
import { normalizePrefix } from './layout';
import { ArchiveError, type ManifestSigner, type SealEntry, type SealManifest } from './types';
import { writeObject } from './write';

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

/** Default Object Lock of manifests and signatures (only applied when the bucket has Object Lock). */
export const DEFAULT_SEAL_LOCK: LockRetention = { mode: 'GOVERNANCE', retention: 'P7Y' };

/**
 * Every object version and delete marker under `listedPrefix` that a seal covers: control folders of
 * `archivePrefix` (`_seals/`, `_reports/`, `_holds/`…) and a custom seals folder are never sealed.
 *
 * @throws ArchiveError with the store's code.
 */
export async function listSealableVersions(options: {
	client: S3Client;
	bucket: string;
	archivePrefix: string;
	listedPrefix: string;
	sealsPrefix?: string | null;
}): Promise<ListedVersion[]> {
	const sealable: ListedVersion[] = [];
	for await (const page of listVersions(options.client, options.bucket, options.listedPrefix)) {
		for (const version of page) {
			if (isControlKey(options.archivePrefix, version.key)) continue;
			if (options.sealsPrefix && version.key.startsWith(`${options.sealsPrefix}/`)) continue;
			sealable.push(version);
		}
	}
	return sealable;
}

/** The newest seal manifest under `sealsPrefix/` (by seal id in the file name), or null. */
export async function findLatestSeal(
	client: S3Client,
	bucket: string,
	sealsPrefix: string,
): Promise<{ key: string; sha256: string } | null> {
	let latest: { key: string; id: string } | null = null;
	for (const key of await listKeys(client, bucket, `${sealsPrefix}/`)) {
		const match = /\/(\d{8}T\d{9}Z-[0-9a-f]{8})\.json$/.exec(key);
		if (match && (!latest || match[1] > latest.id)) latest = { key, id: match[1] };
	}
	if (!latest) return null;
	const { sha256 } = await hashObject(client, bucket, latest.key);
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
	objectLock?: LockRetention | null;
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
 * A detached, armored OpenPGP signature of `data` (RFC 4880 §5.2) by a {@link ManifestSigner}, or by an
 * unlocked private key through `sign` of lib/pgp.
 */
export async function signWith(signer: ManifestSigner | PrivateKey, data: Uint8Array): Promise<{ signature: string; signerFingerprint: string }> {
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
	const sealsPrefix = options.sealsPrefix
		? normalizePrefix(options.sealsPrefix)
		: `${archivePrefix}/${SEALS_FOLDER}`;
	const listedPrefix = sealListedPrefix(archivePrefix, scope);
	const now = options.now ?? new Date();

	const versions = await listSealableVersions({
		client,
		bucket,
		archivePrefix,
		listedPrefix,
		sealsPrefix,
	});

	let hashedByDownload = 0;
	const entries = await mapLimit(
		versions,
		options.concurrency ?? 8,
		async (version): Promise<SealEntry> => {
			const lastModified = version.lastModified?.toISOString() ?? null;
			if (version.isDeleteMarker) {
				return {
					key: version.key,
					version_id: version.versionId,
					delete_marker: true,
					size: 0,
					sha256: null,
					last_modified: lastModified,
				};
			}
			let sha256 = metadataSha256(
				(
					await headObject(client, {
						Bucket: bucket,
						Key: version.key,
						VersionId: version.versionId,
					})
				).Metadata,
			);
			if (!sha256) {
				if (options.hashWhenNoMetadata === false) {
					throw new ArchiveError(
						`s3://${bucket}/${version.key} (version ${version.versionId}) has no x-amz-meta-sha256`,
						{
							code: 'MissingChecksum',
						},
					);
				}
				sha256 = (await hashObject(client, bucket, version.key, version.versionId)).sha256;
				hashedByDownload++;
			}
			return {
				key: version.key,
				version_id: version.versionId,
				delete_marker: false,
				size: version.size,
				sha256,
				last_modified: lastModified,
			};
		},
	);
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
	const lockParams =
		lock && (await bucketHasObjectLock(client, bucket))
			? lockUntil(lock, { from: now, field: 'objectLock.retention' })
			: null;
	const objectLock: SealResult['objectLock'] = lockParams
		? { mode: lockParams.mode, retainUntil: lockParams.retainUntil.toISOString() }
		: null;
	const folder = `${sealsPrefix}/${scope || WHOLE_ARCHIVE_SCOPE}`;
	const manifestKey = `${folder}/${sealId}.json`;
	const signatureKey = `${manifestKey}.asc`;
	const written = await writeObject({
		client,
		bucket,
		key: manifestKey,
		body,
		contentType: 'application/json',
		...(lockParams ? { objectLock: lockParams } : {}),
	});
	if (written.status !== 'created') {
		throw new ArchiveError(`${manifestKey} already exists; seal manifests are never replaced`, {
			code: 'SealExists',
		});
	}
	const signatureWritten = await writeObject({
		client,
		bucket,
		key: signatureKey,
		body: Buffer.from(signed.signature, 'utf8'),
		contentType: 'application/pgp-signature',
		...(lockParams ? { objectLock: lockParams } : {}),
	});
	if (signatureWritten.status !== 'created') {
		throw new ArchiveError(`${signatureKey} already exists; seal signatures are never replaced`, {
			code: 'SealExists',
		});
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
