import { GetObjectLegalHoldCommand, GetObjectRetentionCommand, type S3Client } from '@aws-sdk/client-s3';
import { DateTime } from 'luxon';

import { parseObjectKey, storeErrorCode, storeHttpStatus } from '../archive';
import { loadHolds, matchesScope } from './holds';
import { expiredBefore, expiresAt, resolvePolicy } from './policy';
import { bucketHasObjectLock, listVersions, mapLimit } from './store';
import type {
	ClassSummary,
	Matter,
	PlannedVersion,
	RequestCounts,
	RetentionPolicy,
	RetentionPolicyInput,
	SweepPlan,
	Tally,
} from './types';

/** Options of {@link planSweep}. */
export interface PlanSweepOptions {
	client: S3Client;
	bucket: string;
	/** A policy from `resolvePolicy`, or its input (validated here). */
	policy: RetentionPolicy | RetentionPolicyInput;
	/**
	 * Matters to honour. Default: read the registry under `<prefix>/_holds/` (`loadHolds`).
	 * Only active matters hold anything.
	 */
	matters?: Matter[];
	/** Evaluation time. Default now. */
	now?: Date;
	/** Parallel GetObjectLegalHold / GetObjectRetention requests. Default 16. */
	concurrency?: number;
	/** ListObjectVersions page size (1–1000). Default 1000. */
	pageSize?: number;
}

const emptyTally = (): Tally => ({ count: 0, bytes: 0 });
const add = (tally: Tally, bytes: number) => {
	tally.count += 1;
	tally.bytes += bytes;
};

/** Codes a store answers with when a version has no retention / no legal hold set. */
function meansNotSet(error: unknown): boolean {
	const code = storeErrorCode(error);
	return (
		code === 'NoSuchObjectLockConfiguration' ||
		code === 'ObjectLockConfigurationNotFoundError' ||
		(storeHttpStatus(error) === 404 && code !== 'NoSuchKey' && code !== 'NoSuchVersion' && code !== 'NoSuchBucket')
	);
}

/**
 * Plans a sweep (dry run; nothing is changed): lists every object version and delete marker under
 * `<prefix>/<class>/` for each class of the policy and decides, per version:
 *
 * - `keep` (`unexpired`): the record date in the key plus the class retention is still ahead
 *   (`expiresAt`); decided from the listing alone, no HEAD per object;
 * - `held` (`matter`): an active matter's scope covers the key (phone_number_id, pseudonym, date, class);
 * - `held` (`legal-hold`): the version's S3 legal-hold flag is ON;
 * - `locked` (`retain-until`): the version's Object Lock retain-until is in the future (GOVERNANCE or
 *   COMPLIANCE; the sweeper never bypasses GOVERNANCE);
 * - `error` (`lock-status-unknown`): the lock status could not be read; kept;
 * - `keep` (`marker-over-retained-version`): a delete marker whose key still has a retained version
 *   (deleting it would make the retained version visible again);
 * - `delete` (`expired`): everything else that is expired, current and non-current versions and delete
 *   markers alike.
 *
 * Keys under the prefix that are not in a configured class, or do not follow the layout
 * (`_holds/`, `_reports/`, stray files), are counted as `unmanaged` and never deleted.
 *
 * Store requests: ⌈V / pageSize⌉ × ListObjectVersions (V = versions and markers under each class
 * prefix, at least one per class) + 1 GetObjectLockConfiguration + (Object Lock buckets only) 2 × C
 * (GetObjectLegalHold and GetObjectRetention per deletion candidate C: expired, not matter-held, not a
 * delete marker), at most `concurrency` at a time; plus the registry reads of `loadHolds` when
 * `matters` is not given. The counts made are returned in `requests`.
 *
 * Memory: one entry per expired version (unexpired versions are only counted), so a plan over an
 * archive with a large expired backlog holds that backlog; cap runs with `maxDeletions` or use
 * lifecycle mode for very large stores.
 *
 * @throws RetentionError `InvalidPolicy` / `PolicyBelowMinimum` for a bad policy, `StoreError` when
 *   listing fails. Per-version lock lookups that fail do not throw (decision `error`).
 */
export async function planSweep(options: PlanSweepOptions): Promise<SweepPlan> {
	return await buildSweepPlan(options, { readLockStatus: true });
}

/**
 * The planner behind {@link planSweep} and `executeSweep`. With `readLockStatus: false` (executeSweep)
 * no per-version GetObjectLegalHold / GetObjectRetention is sent: expired candidates stay `delete`
 * even on an Object Lock bucket, the store refuses the locked and legal-held ones at DeleteObjects,
 * and no delete marker is marked `marker-over-retained-version` (executeSweep deletes a marker only
 * after every version under it was deleted). Matters and expiry are decided the same way.
 */
export async function buildSweepPlan(options: PlanSweepOptions, mode: { readLockStatus: boolean }): Promise<SweepPlan> {
	const policy = resolvePolicy(options.policy);
	const now = options.now ?? new Date();
	const nowMillis = now.getTime();
	const requests: RequestCounts = {
		listObjectVersions: 0,
		getObjectLockConfiguration: 0,
		getObjectLegalHold: 0,
		getObjectRetention: 0,
		listObjectsV2: 0,
		getObject: 0,
	};
	let matters = options.matters;
	if (!matters) {
		const loaded = await loadHolds({ client: options.client, bucket: options.bucket, prefix: policy.prefix });
		requests.listObjectsV2 += loaded.requests.listObjectsV2;
		requests.getObject += loaded.requests.getObject;
		matters = loaded.matters;
	}
	const activeMatters = matters.filter((matter) => matter.active);

	requests.getObjectLockConfiguration += 1;
	const objectLockEnabled = await bucketHasObjectLock(options.client, options.bucket);

	const summaries = new Map<string, ClassSummary>();
	/** Expired versions only (unexpired ones are just counted). */
	const all: PlannedVersion[] = [];
	const unexpiredTotal = emptyTally();
	const unmanaged = emptyTally();
	for (const retentionClass of policy.classes) {
		summaries.set(retentionClass.name, {
			retentionClass: retentionClass.name,
			retention: retentionClass.retention,
			expiredBefore: expiredBefore(now, retentionClass),
			delete: emptyTally(),
			keep: emptyTally(),
			held: emptyTally(),
			locked: emptyTally(),
			error: emptyTally(),
		});
		const classPrefix = `${policy.prefix}/${retentionClass.name}/`;
		for await (const page of listVersions({
			client: options.client,
			bucket: options.bucket,
			prefix: classPrefix,
			pageSize: options.pageSize,
			onPage: () => (requests.listObjectVersions += 1),
		})) {
			for (const version of page) {
				const parsed = parseObjectKey(version.key);
				if (!parsed || parsed.prefix !== policy.prefix || parsed.retentionClass !== retentionClass.name) {
					add(unmanaged, version.size);
					continue;
				}
				let expiry: DateTime;
				try {
					expiry = expiresAt(parsed.date, retentionClass);
				} catch {
					add(unmanaged, version.size);
					continue;
				}
				if (expiry.toMillis() > nowMillis) {
					// Unexpired: counted, not kept in memory. Every version of a key shares its expiry (the
					// date is in the key), so an unexpired version never sits beside an expired marker.
					add(summaries.get(retentionClass.name)!.keep, version.size);
					add(unexpiredTotal, version.size);
					continue;
				}
				const planned: PlannedVersion = {
					key: version.key,
					versionId: version.versionId,
					isDeleteMarker: version.isDeleteMarker,
					isLatest: version.isLatest,
					size: version.size,
					lastModified: version.lastModified ? version.lastModified.toISOString() : null,
					retentionClass: retentionClass.name,
					recordDate: parsed.date,
					expiresAt: expiry.toISO()!,
					decision: 'delete',
					reason: 'expired',
				};
				const holding = activeMatters.filter((matter) => matchesScope(matter.scope, parsed));
				if (holding.length > 0) {
					planned.decision = 'held';
					planned.reason = 'matter';
					planned.matterIds = holding.map((matter) => matter.matterId);
				}
				all.push(planned);
			}
		}
	}

	// Per-version lock state, only for the candidates that would otherwise be deleted.
	const candidates = objectLockEnabled && mode.readLockStatus
		? all.filter((version) => version.decision === 'delete' && !version.isDeleteMarker)
		: [];
	await mapLimit(candidates, options.concurrency ?? 16, async (version) => {
		const target = { Bucket: options.bucket, Key: version.key, VersionId: version.versionId };
		const [legalHold, retention] = await Promise.all([
			options.client.send(new GetObjectLegalHoldCommand(target)).then(
				(result) => ({ on: result.LegalHold?.Status === 'ON' }),
				(error: unknown) => (meansNotSet(error) ? { on: false } : { error }),
			),
			options.client.send(new GetObjectRetentionCommand(target)).then(
				(result) => ({ mode: result.Retention?.Mode, until: result.Retention?.RetainUntilDate }),
				(error: unknown) => (meansNotSet(error) ? { mode: undefined, until: undefined } : { error }),
			),
		]);
		requests.getObjectLegalHold += 1;
		requests.getObjectRetention += 1;
		if ('error' in legalHold || 'error' in retention) {
			version.decision = 'error';
			version.reason = 'lock-status-unknown';
			version.errorCode = storeErrorCode('error' in legalHold ? legalHold.error : (retention as { error: unknown }).error);
			return;
		}
		if (legalHold.on) {
			version.decision = 'held';
			version.reason = 'legal-hold';
		} else if (retention.until && new Date(retention.until).getTime() > nowMillis) {
			version.decision = 'locked';
			version.reason = 'retain-until';
			version.retainUntil = new Date(retention.until).toISOString();
			version.lockMode = retention.mode;
		}
	});

	// Keep delete markers whose key still has a retained (non-deleted) version.
	const retainedKeys = new Set(all.filter((version) => version.decision !== 'delete').map((version) => version.key));
	for (const version of all) {
		if (version.isDeleteMarker && version.decision === 'delete' && retainedKeys.has(version.key)) {
			version.decision = 'keep';
			version.reason = 'marker-over-retained-version';
		}
	}

	const totals = { delete: emptyTally(), keep: unexpiredTotal, held: emptyTally(), locked: emptyTally(), error: emptyTally() };
	const deletions: PlannedVersion[] = [];
	const protectedVersions: PlannedVersion[] = [];
	for (const version of all) {
		const summary = summaries.get(version.retentionClass)!;
		add(summary[version.decision], version.size);
		add(totals[version.decision], version.size);
		if (version.decision === 'delete') deletions.push(version);
		else protectedVersions.push(version);
	}
	return {
		bucket: options.bucket,
		prefix: policy.prefix,
		evaluatedAt: now.toISOString(),
		policy,
		objectLockEnabled,
		lockStatusRead: objectLockEnabled && mode.readLockStatus,
		matterIds: activeMatters.map((matter) => matter.matterId),
		classes: [...summaries.values()],
		totals,
		unmanaged,
		deletions,
		protected: protectedVersions,
		requests,
	};
}
