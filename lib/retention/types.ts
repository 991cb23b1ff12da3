/**
 * Types of the retention engine (`lib/retention`): the policy, legal-hold matters, the sweep plan,
 * the execution result and the deletion report. Plain TypeScript: no n8n import.
 */
import { ArchiveError, plainStoreError } from '../s3';

/** One retention class as configured: name → ISO 8601 duration, with a minimum-age floor. */
export interface RetentionClassInput {
	/** Class name as it appears in object keys (`<prefix>/<class>/…`), e.g. `sec-17a-4`, `default`. */
	name: string;
	/** ISO 8601 duration counted from the end of the record's day (UTC), e.g. `P3Y`, `P5Y`, `P400D`. */
	retention: string;
	/**
	 * ISO 8601 floor: a `retention` shorter than this is refused. Default: the floor of a well-known
	 * class name (see `KNOWN_CLASS_FLOORS`), else `P1D`.
	 */
	minimum?: string;
}

/** Input of `resolvePolicy`. */
export interface RetentionPolicyInput {
	/** Archive prefix, e.g. `archive` (no leading or trailing `/`). */
	prefix: string;
	classes: RetentionClassInput[];
}

/** A validated retention class. */
export interface RetentionClass {
	name: string;
	/** Normalised ISO 8601 duration. */
	retention: string;
	/** Normalised ISO 8601 floor that was checked. */
	minimum: string;
}

/** A validated policy (what `resolvePolicy` returns). */
export interface RetentionPolicy {
	prefix: string;
	classes: RetentionClass[];
}

/**
 * Scope of a legal-hold matter. Every criterion given must match (AND); an absent or empty
 * criterion matches everything. Dates are the record dates in the key (`yyyy-mm-dd`, UTC, inclusive).
 */
export interface HoldScope {
	/** WhatsApp business phone number ids (the third key segment). */
	phoneNumberIds?: string[];
	/** Counterparty pseudonyms (32 hex), see `phoneNumberPseudonym` in `lib/archive`. */
	pseudonyms?: string[];
	/** First record date in scope, `yyyy-mm-dd`, inclusive. */
	from?: string;
	/** Last record date in scope, `yyyy-mm-dd`, inclusive. */
	to?: string;
	/** Retention classes in scope. */
	classes?: string[];
}

/** One event of the matter registry (stored as one JSON object under `<prefix>/_holds/`). */
export interface HoldEvent {
	/** Format marker. */
	type: 'chat-archive.hold-event';
	version: 1;
	matterId: string;
	action: 'place' | 'release';
	/** ISO 8601 UTC time of the event. */
	at: string;
	/** Who placed or released the hold (free text, e.g. an e-mail address of the legal team). */
	actor: string;
	/** Why (free text, e.g. a case number). Must not contain personal data of counterparties. */
	reason: string;
	/** Scope (on `place`; a `release` repeats the scope it releases). */
	scope: HoldScope;
}

/** A matter as reconstructed from its events. */
export interface Matter {
	matterId: string;
	/** True while the last event is a `place`. */
	active: boolean;
	scope: HoldScope;
	placedAt: string;
	placedBy: string;
	reason: string;
	releasedAt?: string;
	releasedBy?: string;
	/** Object keys of the events, oldest first. */
	eventKeys: string[];
	/**
	 * Whether every `place` event holding the matter now carries a valid signature by a trusted key.
	 * An unverified place is honoured all the same (fail safe: keep) and reported.
	 */
	verified: boolean;
	/**
	 * Scopes of further `place` events of the same matter while it was active (e.g. an unsigned event
	 * naming another scope): each one holds too, so an event can widen a matter but never narrow it.
	 */
	extraScopes?: HoldScope[];
}

/**
 * Checks a detached OpenPGP signature over control-object bytes (hold events, sweep plans) against
 * the trusted keys. Never throws for a bad or unreadable signature: `valid: false`.
 */
export type ControlVerifier = (data: Uint8Array, signature: string) => Promise<{ valid: boolean; signerFingerprint: string | null }>;

/** What authenticating the hold registry found (for Plan / Execute output: counts and keys, never content). */
export interface HoldAuthentication {
	/** Events whose signature verified against a trusted key. */
	verifiedEvents: number;
	/** Keys of events without a valid signature by a trusted key (places are honoured, releases ignored). */
	unverifiedEventKeys: string[];
	/** Keys of unverified `release` events that were ignored (their matters stay active). */
	ignoredReleaseKeys: string[];
}

/** Why a version is (or is not) deleted. */
export type SweepDecision = 'delete' | 'keep' | 'held' | 'locked' | 'error';

/** One object version seen by the planner. */
export interface PlannedVersion {
	key: string;
	versionId: string;
	isDeleteMarker: boolean;
	isLatest: boolean;
	/** Bytes (0 for delete markers). */
	size: number;
	/** LastModified of the version, ISO 8601. */
	lastModified: string | null;
	retentionClass: string;
	/** Record date from the key, `yyyy-mm-dd`. */
	recordDate: string;
	/** When retention ends for this record, ISO 8601 UTC. */
	expiresAt: string;
	decision: SweepDecision;
	/**
	 * Machine-readable reason: `expired`, `unexpired`, `matter`, `legal-hold`, `retain-until`,
	 * `marker-over-retained-version`, `lock-status-unknown`.
	 */
	reason: string;
	/** Matters that hold it (decision `held`, reason `matter`). */
	matterIds?: string[];
	/** Object Lock retain-until (decision `locked`), ISO 8601. */
	retainUntil?: string;
	/** Object Lock mode (decision `locked`). */
	lockMode?: string;
	/** Store error code (decision `error`). */
	errorCode?: string;
}

/** Count and bytes. */
export interface Tally {
	count: number;
	bytes: number;
}

/** Per-class summary of a plan. */
export interface ClassSummary {
	retentionClass: string;
	retention: string;
	/** Records dated before this day (`yyyy-mm-dd`) are expired at plan time. */
	expiredBefore: string;
	delete: Tally;
	keep: Tally;
	held: Tally;
	locked: Tally;
	error: Tally;
}

/** Store requests made while planning (see `planSweep` for the formula). */
export interface RequestCounts {
	listObjectVersions: number;
	getObjectLockConfiguration: number;
	getObjectLegalHold: number;
	getObjectRetention: number;
	listObjectsV2: number;
	getObject: number;
}

/** Result of `planSweep` (a dry run: nothing is changed). */
export interface SweepPlan {
	bucket: string;
	prefix: string;
	/** Evaluation time, ISO 8601 UTC. */
	evaluatedAt: string;
	policy: RetentionPolicy;
	/** Whether the bucket has Object Lock enabled (GetObjectLockConfiguration). */
	objectLockEnabled: boolean;
	/**
	 * Whether each deletion candidate's legal hold and retention were read (planSweep on an Object
	 * Lock bucket). False in executeSweep's plan: there the store refuses locked and legal-held
	 * versions at DeleteObjects, so they count under `delete` here and come back as `skipped` entries.
	 */
	lockStatusRead: boolean;
	/** Active matters applied. */
	matterIds: string[];
	/** Signature checks of the registry (all zero / empty when `matters` were given). */
	holdAuthentication: HoldAuthentication;
	classes: ClassSummary[];
	/** Totals across classes. */
	totals: Omit<ClassSummary, 'retentionClass' | 'retention' | 'expiredBefore'>;
	/** Versions under the prefix that belong to no configured class or do not follow the layout (never touched). */
	unmanaged: Tally;
	/** Versions to delete, in listing order (key, then newest version first). */
	deletions: PlannedVersion[];
	/** Expired versions that are kept because of a hold, a lock, an error or a retained sibling. */
	protected: PlannedVersion[];
	requests: RequestCounts;
}

/** One deletion attempt, as reported. */
export interface DeletionEntry {
	key: string;
	versionId: string;
	isDeleteMarker: boolean;
	size: number;
	retentionClass: string;
	recordDate: string;
	/** SHA-256 of the deleted ciphertext when a seal manifest knows it, else null. */
	sha256: string | null;
	/**
	 * `deleted`, `skipped` (not deleted; see `reason`), or `absent` (recovered runs only: the version
	 * was gone when the report was written, and whether the interrupted run deleted it cannot be told
	 * from the store; never claimed as a deletion).
	 */
	status: 'deleted' | 'skipped' | 'absent';
	/**
	 * `retention expired <expiresAt>` for deletions. For skips: `refused by the store: Object Lock
	 * retention or legal hold (AccessDenied: …)` on an Object Lock bucket, `refused by the store (<code>:
	 * <message>)` for other per-key errors, `DeleteObjects failed: <code>` when the request failed, or
	 * `not sent: …` for a delete marker kept over a version the store refused.
	 */
	reason: string;
	/** ISO 8601 UTC time the store answered. */
	at: string;
}

/** Result of `executeSweep`. */
export interface SweepResult {
	runId: string;
	bucket: string;
	prefix: string;
	/** Key of the write-ahead plan object, null when nothing was planned for deletion. */
	planKey: string | null;
	/** Key of the deletion report, null when nothing was planned for deletion (no report then). */
	reportKey: string | null;
	/** Key of the detached OpenPGP signature of the report, null when unsigned. */
	signatureKey: string | null;
	/** Upper-case fingerprint of the signing key, when signed. */
	signerFingerprint: string | null;
	deleted: Tally;
	skipped: Tally;
	/** Deletions planned but left for a later run because of `maxDeletions`. */
	deferred: Tally;
	/** Per-class deleted / skipped counts and bytes. */
	classes: Array<{ retentionClass: string; deleted: Tally; skipped: Tally }>;
	entries: DeletionEntry[];
	/** DeleteObjects requests sent. */
	deleteRequests: number;
	/** Reports written for earlier runs that were interrupted before their report. */
	recoveredRuns: string[];
	/**
	 * Keys of `plan.json` objects without a report whose signature does not verify against a trusted key
	 * (planted, or written without a signer): never recovered, listed on every run.
	 */
	unverifiedPlans: string[];
	plan: Omit<SweepPlan, 'deletions' | 'protected'>;
}

/**
 * Signs report bytes: returns a detached signature (armored OpenPGP, RFC 4880 §11.4) and the
 * signer's fingerprint. Built from `lib/pgp` by the caller, so the engine holds no key material.
 */
export type ReportSigner = (data: Uint8Array) => Promise<{ signature: string; signerFingerprint: string }>;


/** Error codes of the retention engine. */
export type RetentionErrorCode =
	| 'InvalidPolicy'
	| 'PolicyBelowMinimum'
	| 'InvalidInput'
	| 'InvalidHoldScope'
	| 'MatterNotFound'
	| 'MatterAlreadyActive'
	| 'MattersActive'
	| 'SignerRequired'
	| 'StoreError';

/**
 * The one error class of the retention engine; never contains object bodies or secrets.
 *
 * `cause` keeps the engine's own errors (RetentionError, ArchiveError) as they are; any other cause
 * (an AWS SDK or network error) is reduced to a plain copy (`plainStoreError`: name, Code, code,
 * message, $fault, $metadata { httpStatusCode, requestId, attempts }), because the SDK error
 * references the live response, its socket and the signed request headers.
 */
export class RetentionError extends Error {
	readonly code: RetentionErrorCode | string;
	/** Store error code (`AccessDenied`…) when a store call failed. */
	readonly storeCode?: string;
	readonly httpStatusCode?: number;

	constructor(
		code: RetentionErrorCode | string,
		message: string,
		options: { storeCode?: string; httpStatusCode?: number; cause?: unknown } = {},
	) {
		const cause = options.cause;
		super(
			message,
			cause === undefined
				? undefined
				: { cause: cause instanceof RetentionError || cause instanceof ArchiveError ? cause : plainStoreError(cause) },
		);
		this.name = 'RetentionError';
		this.code = code;
		this.storeCode = options.storeCode;
		this.httpStatusCode = options.httpStatusCode;
	}
}
