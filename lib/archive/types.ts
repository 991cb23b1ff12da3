/**
 * Types of the archive engine (`lib/archive`): the record fields the object key layout reads, write
 * options and results, and the seal manifest. The engine's error class is `ArchiveError` of the S3
 * transport (`lib/s3/errors.ts`): a failed store call and a broken rule of the archive are one class.
 */
import type { ObjectLockParams } from '../s3';

export { ArchiveError } from '../s3';
export type { ObjectLockParams, LockRetention, ObjectLockMode } from '../s3';

/** Who the conversation is with, as the WhatsApp capture record carries it. */
export interface Counterparty {
	/** WhatsApp id: the phone number in E.164 digits without `+` (may be null for username-only users). */
	wa_id: string | null;
	/** Business-scoped user id (WhatsApp usernames), used when no `wa_id` is known. */
	user_id: string | null;
	/** Profile name: never used in keys or metadata. */
	name?: string | null;
	/** Username (links identities, never filed under). */
	username?: string | null;
	/** Portfolio-level BSUID (links identities, never filed under). */
	parent_user_id?: string | null;
	/** WhatsApp group id: set on group records, whose conversation is the group (filed under `grp:`). */
	group_id?: string | null;
}

/** The record fields the archive layout reads (everything else in a record is ignored here). */
export interface ArchiveRecordFields {
	record_kind?: 'message' | 'status' | 'event' | 'error' | 'quarantine' | string;
	/** `whatsapp`, `messenger`, `instagram`, `telegram`, `sms`; absent on schema version 1 records (WhatsApp). */
	channel?: string | null;
	phone_number_id?: string | null;
	/** The business account on a channel other than WhatsApp (schema version 2). */
	account_id?: string | null;
	/** Message time, ISO 8601 UTC, or null. */
	timestamp?: string | null;
	/** When the webhook delivery was received, ISO 8601 UTC. */
	received_at?: string | null;
	counterparty?: Counterparty | null;
	/** Change field the record came from (`history` records are filed by their own time further back). */
	field?: string | null;
	idempotency_key: string;
}

/** Options shared by {@link writeObject} and {@link writeObjectStream}. */
export interface WriteOptions {
	bucket: string;
	key: string;
	contentType?: string;
	/**
	 * User metadata (`x-amz-meta-*`), US-ASCII only, never plaintext, phone numbers or wamids.
	 * The key `sha256` is reserved (set by the writer).
	 */
	metadata?: Record<string, string>;
	objectLock?: ObjectLockParams;
	/** Legal hold alone, without retention (`x-amz-object-lock-legal-hold: ON`). */
	legalHold?: boolean;
	/**
	 * A legal-hold flag still being decided (e.g. a legal-hold registry lookup), awaited beside the
	 * duplicate pre-check instead of before it: when it resolves `true` the write sends the flag as
	 * `legalHold` does; when it rejects, the write fails with its error and nothing is written.
	 */
	legalHoldDecision?: Promise<boolean>;
	storageClass?: string;
	serverSideEncryption?: 'AES256' | 'aws:kms';
	kmsKeyId?: string;
	/** How duplicates are detected (default `precheck`): see {@link DuplicateCheck}. */
	duplicateCheck?: DuplicateCheck;
}

/**
 * How a write detects that its key is already stored (a retried delivery maps to the same key):
 *
 * - `precheck` (default; safe on every S3-compatible store): HeadObject before the PUT,
 *   `If-None-Match: *` on the PUT, and in a versioned bucket a ListObjectVersions (Prefix = key)
 *   after a created PUT to settle races between processes. Needed on stores that ignore
 *   `If-None-Match` in versioned buckets (docs/stores.md), where the store alone would keep every
 *   copy as another version.
 * - `store`: `If-None-Match: *` alone (S3 conditional writes; RFC 9110 §13.1.2): one request per
 *   record; a 412 PreconditionFailed (or 409 ConditionalRequestConflict between concurrent writers)
 *   becomes `duplicate`. Only for buckets where the S3 Archive node's Setup Check (`checkBucket`)
 *   reports `conditionalWrites: 'honoured'`: a store that ignores the header stores a repeated record
 *   as another version. Applies to single PutObject writes (records, and media up to the part size);
 *   multipart uploads keep the full check (docs/stores.md).
 */
export type DuplicateCheck = 'precheck' | 'store';

/** Outcome of a write: `created` (new object) or `duplicate` (the key already existed; nothing written). */
export interface WriteResult {
	status: 'created' | 'duplicate';
	bucket: string;
	key: string;
	/** Version id (null when the bucket is not versioned). */
	versionId: string | null;
	/** ETag as the store returns it (with quotes stripped). */
	etag: string | null;
	/**
	 * Size in bytes of the stored object; null only for a `duplicate` the keys may not read
	 * (HeadObject 403 with write-only keys).
	 */
	size: number | null;
	/**
	 * SHA-256 (lower-case hex) of the stored bytes: for `created`, of what was sent; for `duplicate`,
	 * the `sha256` metadata of the existing object (null when it has none or the keys may not read it).
	 */
	sha256: string | null;
}

/**
 * Result of `writeObject` / `writeObjectStream`: a {@link WriteResult}, plus `extraVersionId` in the
 * one case where this call left a surplus version behind.
 */
export interface ArchiveWriteResult extends WriteResult {
	/**
	 * Only with `status: 'duplicate'`, after a race in a versioned bucket: the version *this call*
	 * created although an older version of the key already existed (another writer won), and which
	 * could not be deleted — it carries Object Lock retention or a legal hold (sent with the write,
	 * or the bucket's default retention), or the delete failed. It is another ciphertext of the same
	 * record (nothing lost, nothing overwritten), kept visible here instead of hidden.
	 */
	extraVersionId?: string;
}

/**
 * Signs bytes: returns a detached, ASCII-armored OpenPGP signature (RFC 4880 §5.2 binary-document
 * signature, §6.2 armor) and the signer's upper-case fingerprint. Same shape as the retention
 * engine's `ReportSigner`, so one signer serves both.
 */
export type ManifestSigner = (data: Uint8Array) => Promise<{ signature: string; signerFingerprint: string }>;

/**
 * One object version in a seal manifest. `sha256` is the lower-case hex SHA-256 of the stored bytes
 * (the ciphertext), null for delete markers. `last_modified` is ISO 8601 UTC as the store lists it.
 */
export interface SealEntry {
	key: string;
	version_id: string;
	delete_marker: boolean;
	/** Bytes (0 for delete markers). */
	size: number;
	sha256: string | null;
	last_modified: string | null;
}

/** A seal manifest as stored in `<prefix>/_seals/<scope>/<seal id>.json` (see docs/FORMAT.md "Seal manifest"). */
export interface SealManifest {
	type: 'chat-archive.seal-manifest';
	version: 1;
	/** Seal id: `yyyymmddThhmmssSSSZ-<8 hex>` (sorts by time). */
	seal_id: string;
	bucket: string;
	/** The archive prefix (as in the key layout), without trailing `/`. */
	archive_prefix: string;
	/** Scope under the archive prefix (e.g. `default/106000000000002/2026/01/01`), `''` for the whole archive. */
	scope: string;
	/** Folder of the seal chain (default `<archive_prefix>/_seals`); its objects are never sealed. */
	seals_prefix: string;
	/** The S3 key prefix that was listed: `<archive_prefix>/<scope>/` (or `<archive_prefix>/`). */
	listed_prefix: string;
	created_at: string;
	/** Leaf encoding and tree hash, fixed strings naming the rules (see docs/FORMAT.md). */
	leaf_encoding: 'json-array:key,version_id,delete_marker,size,sha256,last_modified';
	tree_hash: 'rfc6962-sha256';
	/** RFC 6962 Merkle Tree Hash over the entries' leaf lines, lower-case hex. */
	merkle_root: string;
	/** Key and SHA-256 (of the stored bytes) of the previous manifest of this archive prefix, or null. */
	prev_manifest_key: string | null;
	prev_manifest_sha256: string | null;
	counts: { versions: number; objects: number; delete_markers: number; bytes: number };
	/** Sorted by key (UTF-8 byte order), then version id. */
	entries: SealEntry[];
}

/** What an audit event records (docs/FORMAT.md, "Audit trail"). */
export type AuditOperation =
	| 'get'
	| 'get-decrypt'
	| 'list'
	| 'export'
	| 'hold-place'
	| 'hold-release'
	| 'sweep-plan'
	| 'sweep-execute'
	| 'lifecycle-apply'
	| 'seal-create'
	| 'seal-verify'
	| 'audit-verify';

/** How the recorded operation ended. */
export type AuditResult = 'success' | 'partial' | 'failure';

/**
 * What an operation touched, in pseudonymous terms only: never a phone number, a name or content.
 * Every field is optional; an empty scope means "not narrowed" (e.g. a sweep of the whole prefix).
 */
export interface AuditScope {
	/** Counterparty pseudonyms (32 lower-case hex, `counterpartyPseudonym`). */
	pseudonyms?: string[];
	/** The business's WhatsApp phone number ids, as filed in keys (digits). */
	phoneNumberIds?: string[];
	/** Retention classes. */
	classes?: string[];
	/** Legal-hold matter ids. */
	matterIds?: string[];
	/** Object keys or key prefixes of the archive layout (`<prefix>/<class>/<phone_number_id>/…`). */
	keyPrefixes?: string[];
	/** Record dates covered, `yyyy-mm-dd` (UTC). */
	from?: string;
	to?: string;
	/** Sweep run ids (`yyyymmddThhmmssZ-<8 hex>`). */
	runIds?: string[];
	/** Seal ids (`yyyymmddThhmmssSSSZ-<8 hex>`). */
	sealIds?: string[];
	/**
	 * Keys outside the archive layout (e.g. `quarantine/…`, a Write's Object Key override), as
	 * HMAC-SHA256 of the key under the index key (64 hex): such a key may hold anything, so the trail
	 * keeps only what lets a holder of the index key confirm which object was read ({@link auditKeyDigest}).
	 */
	keyDigests?: string[];
}

/**
 * One audit event as stored in `<prefix>/_audit/<yyyy-mm-dd>/<seq>.json`: the RFC 8785 (JCS) bytes of
 * this object. `signature` signs the JCS bytes of the event without `signature`; `prevSha256` is the
 * SHA-256 of the previous event's stored bytes (docs/FORMAT.md, "Audit trail").
 */
export interface AuditEvent {
	type: 'chat-archive.audit-event';
	version: 1;
	/** Position in the trail, from 1, without gaps. */
	seq: number;
	/** When the operation was recorded, ISO 8601 UTC (the writer's clock). */
	at: string;
	operation: AuditOperation;
	scope: AuditScope;
	/** Named non-negative integers (`records`, `bytes`, `deleted`…). */
	counts: Record<string, number>;
	result: AuditResult;
	/** Stable error code when `result` is not `success` (e.g. `AccessDenied`), else null. */
	errorCode: string | null;
	/** n8n's workflow id, execution id and user id (or e-mail address) where known. */
	workflowId: string | null;
	executionId: string | null;
	user: string | null;
	/** Key of the previous event and SHA-256 (lower-case hex) of its stored bytes; null for the first. */
	prevKey: string | null;
	prevSha256: string | null;
	/** Detached ASCII-armored OpenPGP signature (RFC 4880 §5.2, binary document) of the unsigned bytes. */
	signature: string;
}
