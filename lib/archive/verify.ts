import { createHash } from 'node:crypto';
import type { S3Client } from '@aws-sdk/client-s3';

import { verify as verifySignature, type PublicKey, type SigningKeyStatus } from '../pgp';
import { getObjectBytes, getOptionalObjectBytes, hashObject, headObject, mapLimit, metadataSha256, type ListedVersion } from '../s3';
import { compareSealEntries, parseManifest, sealMerkleRoot } from './manifest';
import { listSealableVersions } from './seal';
import { ArchiveError, type SealEntry } from './types';

/**
 * Verify: checks a seal manifest's OpenPGP signature and recomputes what it sealed from the store.
 *
 * Outcomes per sealed version: `ok`, `altered` (size, `x-amz-meta-sha256` or the recomputed content
 * hash differs), `missing` (no longer in the store), or `deletedByRetention` (missing, and listed as
 * deleted by a record the caller vouches for: `recordedDeletions`, e.g. the retention sweeper's
 * signed reports read by `recordedDeletions` of lib/retention). Versions in the store under the sealed prefix that the manifest
 * does not list are `unsealed` (new objects, overwrites = new versions, delete markers).
 */

/** One recorded deletion of a version (for example an entry of a signed retention report). */
export interface RecordedDeletion {
	runId: string;
	/** Key of the object that records it. */
	reportKey: string;
	/** Whether that record's signature verified. */
	verified: boolean;
	/** When the store confirmed the deletion (ISO 8601 UTC). */
	deletedAt: string;
	reason: string;
	/** The ciphertext SHA-256 the record names, when it names one. */
	sha256: string | null;
}

/** Deletions recorded outside the seal, as {@link verifySeal} consults them. */
export interface RecordedDeletions {
	/** The record of a version's deletion (a verified record wins over an unverified one), if any. */
	find(key: string, versionId: string): RecordedDeletion | undefined;
	/** Records read, verified, and the keys of those that did not verify. */
	read: number;
	verified: number;
	unverifiedKeys: string[];
}

/** A sealed version that is no longer in the store. */
export interface MissingVersion {
	key: string;
	versionId: string;
	deleteMarker: boolean;
	size: number;
	sha256: string | null;
	/** Set when a deletion record names it but that record did not verify (e.g. an unsigned report). */
	unverifiedReportKey?: string;
}

/** A sealed version whose deletion a verified record explains. */
export interface RetentionDeletion extends MissingVersion {
	runId: string;
	reportKey: string;
	/** When the store confirmed the deletion (ISO 8601 UTC). */
	deletedAt: string;
	reason: string;
	/** Whether the report's `sha256` equals the sealed one; null when the report has none. */
	sha256Matches: boolean | null;
}

/** A sealed version whose bytes or size changed. */
export interface AlteredVersion {
	key: string;
	versionId: string;
	/** `size`, `sha256-metadata`, `content`, `delete-marker`. */
	reasons: string[];
	sealed: { size: number; sha256: string | null };
	found: { size: number; sha256Metadata: string | null; sha256Computed: string | null };
}

/** A version in the store under the sealed prefix that the manifest does not list. */
export interface UnsealedVersion {
	key: string;
	versionId: string;
	deleteMarker: boolean;
	size: number;
	lastModified: string | null;
	/** The key itself is in the manifest (with other versions): an overwrite or a delete marker. */
	keySealed: boolean;
	/** LastModified is after the manifest's `created_at` (written after the seal). */
	afterSeal: boolean;
}

/** Options of {@link verifySeal}. */
export interface VerifySealOptions {
	client: S3Client;
	bucket: string;
	/** Key of the manifest (`…/_seals/<scope>/<id>.json`); the signature is `<manifestKey>.asc`. */
	manifestKey: string;
	/** Public keys allowed to have signed the manifest (RFC 4880 §5.2.4 verification). */
	verificationKeys: PublicKey[];
	/**
	 * Deletions recorded outside the seal, read only when a sealed version is missing: a sealed
	 * version recorded as deleted by a verified record is `deletedByRetention`, not `missing`. Given
	 * the archive prefix of the manifest. Default: none (every missing version is `missing`).
	 */
	recordedDeletions?: (archivePrefix: string) => Promise<RecordedDeletions>;
	/** Download every sealed version and recompute its SHA-256 (default true); false compares metadata only. */
	hashContent?: boolean;
	/** Check `prev_manifest_sha256` against the stored previous manifest (default true). */
	checkChain?: boolean;
	/** HeadObject / GetObject requests in flight (default 8). */
	concurrency?: number;
	/** The date the signing key's expiry and revocation are reported at (default now). */
	date?: Date;
}

/** The signing key's state at the verification date, reported apart from the signature's own check. */
export interface SealSigningKey {
	fingerprint: string;
	status: 'valid' | 'expired' | 'revoked';
	/** ISO 8601; null when the key never expires. */
	expires: string | null;
	revoked: boolean;
	revokedAt: string | null;
	/** RFC 9580 §5.2.3.31: `none`, `superseded`, `compromised`, `retired`, `user-id-invalid`, `other`. */
	revocationReason: string | null;
	revocationReasonCode: number | null;
	/** Compromised, no reason or unknown: the seal's signature is not trusted, whatever its date. */
	hardRevocation: boolean;
}

/**
 * How far the store's LastModified of a manifest may pass its signing key's expiry or revocation:
 * Seal writes the manifest right after signing it; the margin covers that and clock skew.
 */
export const SEAL_STORE_TIME_TOLERANCE_MS = 60 * 60 * 1000;

/** Result of {@link verifySeal}. */
export interface VerifySealResult {
	/** Signature valid, manifest self-consistent, chain link intact (or none), nothing missing or altered. */
	valid: boolean;
	bucket: string;
	manifestKey: string;
	signatureKey: string;
	sealId: string;
	archivePrefix: string;
	scope: string;
	listedPrefix: string;
	sealedAt: string;
	/** LastModified of the manifest in the store (set by the store, kept by Object Lock), or null. */
	storedAt: string | null;
	/**
	 * The signature checked as of its own creation time (`checkedAt`): a seal made while its key was
	 * valid stays valid after the key expired or was superseded or retired; a key revoked as
	 * compromised (or without a reason) invalidates it whatever its date. `key` is the signing key at
	 * the verification date, reported apart.
	 */
	signature: {
		valid: boolean;
		signerFingerprint: string | null;
		keyId: string | null;
		created: string | null;
		checkedAt: string | null;
		/** When the signature itself expires (Signature Expiration Time), if it says. */
		expires: string | null;
		reason: string | null;
		key: SealSigningKey | null;
	};
	merkleRoot: { recorded: string; recomputed: string; matches: boolean };
	chain: {
		prevManifestKey: string | null;
		prevManifestSha256: string | null;
		status: 'ok' | 'mismatch' | 'missing' | 'none' | 'not-checked';
	};
	/** Manifest-level findings (bad counts, unsorted entries, other bucket, chain break…), readable sentences. */
	problems: string[];
	counts: {
		sealed: number;
		ok: number;
		missing: number;
		altered: number;
		deletedByRetention: number;
		unsealed: number;
	};
	missing: MissingVersion[];
	altered: AlteredVersion[];
	deletedByRetention: RetentionDeletion[];
	unsealed: UnsealedVersion[];
	retentionReports: { read: number; verified: number; unverifiedKeys: string[] };
}

/**
 * A signature made with a key that has since expired or been retired can carry any earlier date, so
 * its own date is trusted only when the store holds the manifest from before the key's end (the
 * store sets LastModified; Object Lock keeps the version from being replaced). Adds the finding to
 * `problems` when the manifest was stored later.
 */
function storeTimeProblem(storedAt: Date, key: SigningKeyStatus, problems: string[]): void {
	const ends: Array<[Date, string]> = [];
	if (key.expires) ends.push([key.expires, 'expired']);
	if (key.revokedAt) ends.push([key.revokedAt, 'was revoked']);
	for (const [end, what] of ends) {
		if (storedAt.getTime() > end.getTime() + SEAL_STORE_TIME_TOLERANCE_MS) {
			problems.push(
				`The manifest was stored on ${storedAt.toISOString()}, after the signing key ${what} on ${end.toISOString()}: the signature's own date cannot be trusted`,
			);
			return;
		}
	}
}

const versionKey = (key: string, versionId: string) => `${versionId}\u0000${key}`;

/**
 * Verifies a seal:
 *
 * 1. reads `<manifestKey>` and `<manifestKey>.asc` (GetObject) and checks the detached OpenPGP
 *    signature over the exact manifest bytes against `verificationKeys` (RFC 4880 §5.2.4; the same
 *    check as `gpg --verify <id>.json.asc <id>.json`) as of the signature's creation time, reports
 *    the signing key's expiry and revocation at `date` apart, and checks that the store holds the
 *    manifest (HeadObject LastModified) from before the key expired or was revoked;
 * 2. recomputes the RFC 6962 §2.1 Merkle root of the entries and the counts, checks the sort order;
 * 3. checks the hash-chain link: SHA-256 of the stored `prev_manifest_key` = `prev_manifest_sha256`;
 * 4. lists every version under the sealed prefix again (ListObjectVersions, all pages) and compares:
 *    size from the listing, `x-amz-meta-sha256` (HeadObject), and with `hashContent` the SHA-256 of
 *    the bytes (GetObject, streamed);
 * 5. for missing versions, consults `recordedDeletions` (only when something is missing) and moves
 *    versions whose deletion a verified record explains to `deletedByRetention`.
 *
 * A bad signature, a tampered manifest or missing/altered versions are results (`valid: false`),
 * not errors.
 *
 * @throws ArchiveError `InvalidInput` (no keys), `InvalidManifest` (not a seal manifest), `NoSuchKey`
 *   when the manifest or its signature does not exist; otherwise with the store's code. PgpError
 *   `MESSAGE_FORMAT` when the `.asc` is not an OpenPGP signature.
 */
export async function verifySeal(options: VerifySealOptions): Promise<VerifySealResult> {
	const { client, bucket, manifestKey } = options;
	if (!bucket || !manifestKey)
		throw new ArchiveError('bucket and manifestKey are required', { code: 'InvalidInput' });
	if (!options.verificationKeys?.length) {
		throw new ArchiveError(
			'At least one verification public key is required to check the seal signature',
			{ code: 'InvalidInput' },
		);
	}
	const signatureKey = `${manifestKey}.asc`;
	const bytes = await getObjectBytes(client, bucket, manifestKey);
	const signatureBytes = await getObjectBytes(client, bucket, signatureKey);
	const manifest = parseManifest(bytes, manifestKey);
	const problems: string[] = [];

	const checked = await verifySignature({
		data: bytes,
		signature: signatureBytes.toString('utf8'),
		verificationKeys: options.verificationKeys,
		asOfSignatureTime: true,
		date: options.date,
	});
	const best = checked.signatures.find((s) => s.valid) ?? checked.signatures[0];
	const iso = (date: Date | null | undefined) => date?.toISOString() ?? null;
	const key = best?.signingKey;
	const signature: VerifySealResult['signature'] = {
		valid: checked.valid,
		signerFingerprint: best?.fingerprint ?? null,
		keyId: best?.keyId ?? null,
		created: iso(best?.created),
		checkedAt: iso(best?.checkedAt),
		expires: iso(best?.expires),
		reason: checked.valid ? null : (best?.reason ?? 'no signature verified against the given keys'),
		key: key
			? { ...key, expires: iso(key.expires), revokedAt: iso(key.revokedAt) }
			: null,
	};
	const storedAt = (await headObject(client, { Bucket: bucket, Key: manifestKey })).LastModified ?? null;
	if (signature.valid && key && storedAt) storeTimeProblem(storedAt, key, problems);

	const entries: SealEntry[] = manifest.entries;
	const recomputed = sealMerkleRoot(entries);
	const merkleRoot = {
		recorded: manifest.merkle_root,
		recomputed,
		matches: recomputed === manifest.merkle_root,
	};
	if (!merkleRoot.matches)
		problems.push('The Merkle root recomputed from the entries differs from merkle_root');
	for (let i = 1; i < entries.length; i++) {
		if (compareSealEntries(entries[i - 1], entries[i]) >= 0) {
			problems.push('Entries are not sorted by key then version id (or contain a duplicate)');
			break;
		}
	}
	const counts = manifest.counts ?? { versions: -1, objects: -1, delete_markers: -1, bytes: -1 };
	if (
		counts.versions !== entries.length ||
		counts.objects !== new Set(entries.map((e) => e.key)).size ||
		counts.delete_markers !== entries.filter((e) => e.delete_marker).length ||
		counts.bytes !== entries.reduce((sum, e) => sum + e.size, 0)
	) {
		problems.push('counts do not match the entries');
	}
	if (manifest.bucket !== bucket)
		problems.push(`The manifest was made for bucket "${manifest.bucket}", not "${bucket}"`);

	let chain: VerifySealResult['chain'] = {
		prevManifestKey: manifest.prev_manifest_key ?? null,
		prevManifestSha256: manifest.prev_manifest_sha256 ?? null,
		status: manifest.prev_manifest_key ? 'not-checked' : 'none',
	};
	if (manifest.prev_manifest_key && options.checkChain !== false) {
		const previous = await getOptionalObjectBytes(client, bucket, manifest.prev_manifest_key);
		if (!previous) {
			chain = { ...chain, status: 'missing' };
			problems.push(`The previous manifest ${manifest.prev_manifest_key} is missing`);
		} else if (
			createHash('sha256').update(previous).digest('hex') !== manifest.prev_manifest_sha256
		) {
			chain = { ...chain, status: 'mismatch' };
			problems.push(
				`The previous manifest ${manifest.prev_manifest_key} does not match prev_manifest_sha256`,
			);
		} else {
			chain = { ...chain, status: 'ok' };
		}
	}

	const archivePrefix = manifest.archive_prefix;
	const listedPrefix = manifest.listed_prefix;
	const sealsPrefix = manifest.seals_prefix;
	const inStore = new Map<string, ListedVersion>();
	const listed = await listSealableVersions({
		client,
		bucket,
		archivePrefix,
		listedPrefix,
		sealsPrefix,
	});
	for (const version of listed) inStore.set(versionKey(version.key, version.versionId), version);

	const sealedIds = new Set<string>();
	const sealedKeys = new Set<string>();
	const missingEntries: SealEntry[] = [];
	const present: Array<{ entry: SealEntry; found: ListedVersion }> = [];
	for (const entry of entries) {
		const id = versionKey(entry.key, entry.version_id);
		sealedIds.add(id);
		sealedKeys.add(entry.key);
		const found = inStore.get(id);
		if (found) present.push({ entry, found });
		else missingEntries.push(entry);
	}

	const hashContent = options.hashContent !== false;
	const checks = await mapLimit(
		present,
		options.concurrency ?? 8,
		async ({ entry, found }): Promise<AlteredVersion | null> => {
			const reasons: string[] = [];
			if (found.isDeleteMarker !== entry.delete_marker) reasons.push('delete-marker');
			if (found.size !== entry.size) reasons.push('size');
			let sha256Metadata: string | null = null;
			let sha256Computed: string | null = null;
			let size = found.size;
			if (!found.isDeleteMarker && !entry.delete_marker) {
				if (hashContent) {
					const hashed = await hashObject(client, bucket, entry.key, entry.version_id);
					sha256Metadata = hashed.sha256Metadata;
					sha256Computed = hashed.sha256;
					size = hashed.size;
					if (hashed.size !== entry.size && !reasons.includes('size')) reasons.push('size');
					if (hashed.sha256 !== entry.sha256) reasons.push('content');
				} else {
					sha256Metadata = metadataSha256(
						(
							await headObject(client, {
								Bucket: bucket,
								Key: entry.key,
								VersionId: entry.version_id,
							})
						).Metadata,
					);
				}
				if (sha256Metadata && sha256Metadata !== entry.sha256) reasons.push('sha256-metadata');
			}
			if (!reasons.length) return null;
			return {
				key: entry.key,
				versionId: entry.version_id,
				reasons,
				sealed: { size: entry.size, sha256: entry.sha256 },
				found: { size, sha256Metadata, sha256Computed },
			};
		},
	);
	const altered = checks.filter((c): c is AlteredVersion => c !== null);

	const sealedAt = Date.parse(manifest.created_at);
	const unsealed: UnsealedVersion[] = [];
	for (const [id, version] of inStore) {
		if (sealedIds.has(id)) continue;
		unsealed.push({
			key: version.key,
			versionId: version.versionId,
			deleteMarker: version.isDeleteMarker,
			size: version.size,
			lastModified: version.lastModified?.toISOString() ?? null,
			keySealed: sealedKeys.has(version.key),
			afterSeal: version.lastModified !== null && version.lastModified.getTime() > sealedAt,
		});
	}
	unsealed.sort((a, b) =>
		compareSealEntries(
			{ key: a.key, version_id: a.versionId },
			{ key: b.key, version_id: b.versionId },
		),
	);

	const missing: MissingVersion[] = [];
	const deletedByRetention: RetentionDeletion[] = [];
	let retentionReports: VerifySealResult['retentionReports'] = {
		read: 0,
		verified: 0,
		unverifiedKeys: [],
	};
	if (missingEntries.length) {
		const recorded = options.recordedDeletions
			? await options.recordedDeletions(archivePrefix)
			: null;
		if (recorded)
			retentionReports = {
				read: recorded.read,
				verified: recorded.verified,
				unverifiedKeys: recorded.unverifiedKeys,
			};
		for (const entry of missingEntries) {
			const base: MissingVersion = {
				key: entry.key,
				versionId: entry.version_id,
				deleteMarker: entry.delete_marker,
				size: entry.size,
				sha256: entry.sha256,
			};
			const deletion = recorded?.find(entry.key, entry.version_id);
			if (deletion?.verified) {
				deletedByRetention.push({
					...base,
					runId: deletion.runId,
					reportKey: deletion.reportKey,
					deletedAt: deletion.deletedAt,
					reason: deletion.reason,
					sha256Matches: deletion.sha256 ? deletion.sha256 === entry.sha256 : null,
				});
			} else {
				missing.push(deletion ? { ...base, unverifiedReportKey: deletion.reportKey } : base);
			}
		}
	}

	const valid =
		signature.valid && problems.length === 0 && missing.length === 0 && altered.length === 0;
	return {
		valid,
		bucket,
		manifestKey,
		signatureKey,
		sealId: manifest.seal_id,
		archivePrefix,
		scope: manifest.scope,
		listedPrefix,
		sealedAt: manifest.created_at,
		storedAt: iso(storedAt),
		signature,
		merkleRoot,
		chain,
		problems,
		counts: {
			sealed: entries.length,
			ok: present.length - altered.length,
			missing: missing.length,
			altered: altered.length,
			deletedByRetention: deletedByRetention.length,
			unsealed: unsealed.length,
		},
		missing,
		altered,
		deletedByRetention,
		unsealed,
		retentionReports,
	};
}
