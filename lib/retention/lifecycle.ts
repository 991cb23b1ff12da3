import type { LifecycleRule, S3Client } from '@aws-sdk/client-s3';
import { DateTime, Duration } from 'luxon';

import { bucketHasObjectLock, bucketLifecycleRules, putBucketLifecycleRules } from '../s3';
import { loadHolds } from './holds';
import { resolvePolicy } from './policy';
import { RetentionError, type ControlVerifier, type RetentionClass, type RetentionPolicy, type RetentionPolicyInput } from './types';

/**
 * Lifecycle mode: the policy compiled into a bucket lifecycle configuration, so the store deletes
 * server-side (for archives too large to list on every run).
 *
 * Per class two rules, with IDs starting `chat-archive:<prefix>/<class>`:
 * 1. Filter `<prefix>/<class>/`: `Expiration.Days` = D (the current version gets a delete marker D
 *    days after it was written) and `NoncurrentVersionExpiration.NoncurrentDays` = D (older versions
 *    are removed D days after they stopped being current);
 * 2. Filter `<prefix>/<class>/`: `Expiration.ExpiredObjectDeleteMarker` (a marker left alone is removed).
 *
 * Plus one rule for the whole archive, ID `chat-archive:<prefix>/:incomplete-uploads`: filter
 * `<prefix>/`, `AbortIncompleteMultipartUpload.DaysAfterInitiation` = 1. A multipart upload whose
 * abort could not reach the store (store stopped mid-upload) otherwise keeps its parts — ciphertext,
 * billed storage, invisible to listings — forever; the writer also aborts earlier uploads of a key
 * before it uploads that key again (`writeObjectStream`), this rule catches the ones never retried.
 *
 * D is the longest the class duration can be in days (from any start day) plus 1 for the end of the
 * record's day. Lifecycle age counts from the object's creation, never earlier than its record date,
 * so the store expires nothing before the sweeper would. Versions under Object Lock retention or a
 * legal-hold flag are never removed by lifecycle; matters in the registry are honoured only through the
 * legal-hold flag that `placeHold` sets on existing versions and the writer sets on new ones
 * (`legalHoldForNewRecord`, Object Lock buckets). A flag that failed, a write from a tool that does not
 * consult the registry, or a bucket without Object Lock leaves records the rules can expire, so
 * `applyLifecycle` refuses while any matter is active and `showLifecycle` names them. Lifecycle gives
 * no per-object receipts: use the sweeper where signed deletion reports are needed.
 */

/** ID prefix of the rules this module owns. */
export const LIFECYCLE_RULE_PREFIX = 'chat-archive:';

/** Days after initiation at which the store aborts an incomplete multipart upload under the prefix. */
export const ABORT_INCOMPLETE_UPLOAD_DAYS = 1;

/** Longest number of days `duration` can span (over many start days), plus one for the record's day. */
export function lifecycleDays(retentionClass: Pick<RetentionClass, 'retention'>): number {
	const duration = Duration.fromISO(retentionClass.retention);
	let longest = 0;
	for (let month = 0; month < 48; month++) {
		const start = DateTime.fromObject({ year: 2000 + Math.floor(month / 12), month: (month % 12) + 1, day: 1 }, { zone: 'utc' });
		for (const day of [start, start.endOf('month').startOf('day')]) {
			longest = Math.max(longest, Math.ceil(day.plus(duration).diff(day, 'days').days));
		}
	}
	return longest + 1;
}

/** Result of {@link compileLifecycle}. */
export interface CompiledLifecycle {
	rules: LifecycleRule[];
	/** What the rules do and do not do, in plain words (for the node's output). */
	notes: string[];
}

/**
 * Compiles a policy into lifecycle rules (see the module comment): two per class, then one that
 * aborts incomplete multipart uploads under the prefix. Pure; no store call.
 *
 * @throws RetentionError `InvalidPolicy` / `PolicyBelowMinimum` as `resolvePolicy`.
 */
export function compileLifecycle(policyInput: RetentionPolicy | RetentionPolicyInput): CompiledLifecycle {
	const policy = resolvePolicy(policyInput);
	const rules: LifecycleRule[] = [];
	const notes: string[] = [];
	for (const retentionClass of policy.classes) {
		const days = lifecycleDays(retentionClass);
		const classPrefix = `${policy.prefix}/${retentionClass.name}/`;
		rules.push(
			{
				ID: `${LIFECYCLE_RULE_PREFIX}${policy.prefix}/${retentionClass.name}:expire`,
				Status: 'Enabled',
				Filter: { Prefix: classPrefix },
				Expiration: { Days: days },
				NoncurrentVersionExpiration: { NoncurrentDays: days },
			},
			{
				ID: `${LIFECYCLE_RULE_PREFIX}${policy.prefix}/${retentionClass.name}:markers`,
				Status: 'Enabled',
				Filter: { Prefix: classPrefix },
				Expiration: { ExpiredObjectDeleteMarker: true },
			},
		);
		notes.push(
			`${classPrefix}: current versions get a delete marker ${days} days after they were written (${retentionClass.retention} + 1 day); ` +
				`older versions are removed ${days} days after they stopped being current; lone delete markers are removed.`,
		);
	}
	rules.push({
		ID: `${LIFECYCLE_RULE_PREFIX}${policy.prefix}/:incomplete-uploads`,
		Status: 'Enabled',
		Filter: { Prefix: `${policy.prefix}/` },
		AbortIncompleteMultipartUpload: { DaysAfterInitiation: ABORT_INCOMPLETE_UPLOAD_DAYS },
	});
	notes.push(
		`${policy.prefix}/: multipart uploads left incomplete (an interrupted upload whose abort did not reach the store) are aborted ${ABORT_INCOMPLETE_UPLOAD_DAYS} day after they started, their parts removed.`,
		'Versions under Object Lock retention or with the legal-hold flag ON are never removed by the store; matters are honoured only through that flag (Place Hold sets it on Object Lock buckets).',
		'Lifecycle deletions leave no per-object receipts; run the sweeper (Execute) where signed deletion reports are required.',
	);
	return { rules, notes };
}

/** Result of {@link showLifecycle} / {@link applyLifecycle}. */
export interface LifecycleChange {
	bucket: string;
	/** Rules on the bucket before. */
	current: LifecycleRule[];
	/** The full configuration that is (or would be) applied: others' rules kept, ours replaced. */
	proposed: LifecycleRule[];
	/** IDs of our rules that are new or changed. */
	changed: string[];
	/** IDs of our earlier rules for this prefix that the new configuration drops. */
	removed: string[];
	applied: boolean;
	notes: string[];
	/** Active matters in the registry (releases count only when signed): while any is listed, apply refuses. */
	activeMatterIds: string[];
}

const canonical = (rule: LifecycleRule | undefined) =>
	rule
		? JSON.stringify({
				ID: rule.ID,
				Status: rule.Status,
				Prefix: rule.Filter?.Prefix ?? rule.Prefix,
				Days: rule.Expiration?.Days,
				Marker: rule.Expiration?.ExpiredObjectDeleteMarker ?? undefined,
				Noncurrent: rule.NoncurrentVersionExpiration?.NoncurrentDays,
				AbortIncomplete: rule.AbortIncompleteMultipartUpload?.DaysAfterInitiation,
			})
		: '';

/**
 * Shows what {@link applyLifecycle} would do (GetBucketLifecycleConfiguration only): the current rules,
 * the proposed configuration (rules of other owners kept; rules with our ID prefix for this archive
 * prefix replaced by the compiled ones), and which of ours change.
 *
 * @throws RetentionError for a bad policy; ArchiveError from the store.
 */
export async function showLifecycle(options: {
	client: S3Client;
	bucket: string;
	policy: RetentionPolicy | RetentionPolicyInput;
	/** Checks the registry's signatures (see `loadHolds`); without it no release counts. */
	verifier?: ControlVerifier | null;
}): Promise<LifecycleChange> {
	const policy = resolvePolicy(options.policy);
	const compiled = compileLifecycle(policy);
	const { matters } = await loadHolds({ client: options.client, bucket: options.bucket, prefix: policy.prefix, verifier: options.verifier });
	const active = matters.filter((matter) => matter.active);
	if (active.length > 0) {
		const objectLock = await bucketHasObjectLock(options.client, options.bucket);
		compiled.notes.push(
			`Active matters: ${active.map((matter) => `${matter.matterId}${matter.verified ? '' : ' (unverified)'}`).join(', ')}. ` +
				(objectLock
					? 'Lifecycle rules cannot see the registry: a record in their scope without the legal-hold flag (a flag that failed, a write by a tool that does not read the registry) would expire. '
					: 'This bucket has no Object Lock, so no legal-hold flag protects their records from lifecycle rules. ') +
				'Apply is refused until they are released (Release Hold, signed); use the sweeper (Execute), which honours the registry, meanwhile.',
		);
	}
	const current = await bucketLifecycleRules(options.client, options.bucket);
	const ours = (rule: LifecycleRule) => (rule.ID ?? '').startsWith(`${LIFECYCLE_RULE_PREFIX}${policy.prefix}/`);
	const byId = new Map(current.filter(ours).map((rule) => [rule.ID, rule]));
	const newIds = new Set(compiled.rules.map((rule) => rule.ID));
	return {
		bucket: options.bucket,
		current,
		proposed: [...current.filter((rule) => !ours(rule)), ...compiled.rules],
		changed: compiled.rules.filter((rule) => canonical(rule) !== canonical(byId.get(rule.ID))).map((rule) => rule.ID!),
		removed: [...byId.keys()].filter((id) => !newIds.has(id)).map(String),
		applied: false,
		notes: compiled.notes,
		activeMatterIds: active.map((matter) => matter.matterId),
	};
}

/**
 * Applies the compiled rules (PutBucketLifecycleConfiguration with Content-MD5, the whole
 * configuration as shown by {@link showLifecycle}); does nothing when none of our rules change.
 *
 * @throws RetentionError `MattersActive` naming the matters while any is active in the registry
 *   (nothing is changed); for a bad policy; ArchiveError from the store (e.g. AccessDenied, or a store
 *   without lifecycle support).
 */
export async function applyLifecycle(options: {
	client: S3Client;
	bucket: string;
	policy: RetentionPolicy | RetentionPolicyInput;
	verifier?: ControlVerifier | null;
}): Promise<LifecycleChange> {
	const change = await showLifecycle(options);
	if (change.activeMatterIds.length > 0) {
		throw new RetentionError(
			'MattersActive',
			`Lifecycle rules are not applied while matters are on hold (${change.activeMatterIds.join(', ')}): the store's rules cannot see the registry. Release the matters with Release Hold first, or keep deleting with the sweeper (Execute), which honours them.`,
		);
	}
	if (change.changed.length === 0 && change.removed.length === 0) return change;
	await putBucketLifecycleRules(options.client, options.bucket, change.proposed);
	return { ...change, applied: true };
}
