import type { S3Client } from '@aws-sdk/client-s3';
import type { DateTime } from 'luxon';

import { parseObjectKey, resolveIdentity } from '../archive';
import { bucketHasObjectLock, listVersions, mapLimit, versionLockStatus } from '../s3';
import { loadHolds, matterCovers } from './holds';
import { expiredBefore, expiresAt, resolvePolicy, retentionStart } from './policy';
import type { ClassSummary, ControlVerifier, HoldAuthentication, Matter, PlannedVersion, RequestCounts, RetentionClass, RetentionPolicy, RetentionPolicyInput, SweepDecision, SweepPlan, Tally } from './types';

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
	/**
	 * Checks the signatures of the registry's events (`loadHolds`): a release counts only when verified.
	 * Without it no release counts (fail safe: every matter ever placed holds).
	 */
	verifier?: ControlVerifier | null;
	/** Evaluation time. Default now. */
	now?: Date;
	/** Parallel GetObjectLegalHold / GetObjectRetention requests. Default 16. */
	concurrency?: number;
	/** ListObjectVersions page size (1–1000). Default 1000. */
	pageSize?: number;
	/**
	 * Index key of the archive (the S3 Archive Store credential's). When given, a matter that names
	 * counterparty pseudonyms also holds every identity linked to them in the identity registry now
	 * (`resolveIdentity` of lib/archive), so links learned after the hold was placed are honoured.
	 */
	indexKey?: string;
}

const emptyTally = (): Tally => ({ count: 0, bytes: 0 });
const add = (tally: Tally, bytes: number) => {
	tally.count += 1;
	tally.bytes += bytes;
};

/**
 * Plans a sweep (dry run; nothing is changed): lists every object version and delete marker under
 * `<prefix>/<class>/` for each class of the policy and decides, per version:
 *
 * - `keep` (`unexpired`): the record date in the key plus the class retention is still ahead
 *   (`expiresAt`); decided from the listing alone, no HEAD per object;
 * - `held` (`matter`): an active matter's scope covers the key (phone_number_id, pseudonym, date, class);
 *   matters come from the registry, whose releases count only when signed (`verifier`, see `loadHolds`);
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
 * Store requests: the listing of each class prefix, one GetObjectLockConfiguration, and on Object
 * Lock buckets a GetObjectLegalHold and a GetObjectRetention per deletion candidate (expired, not
 * matter-held, not a delete marker), at most `concurrency` at a time; plus the registry reads of
 * `loadHolds` when `matters` is not given, and with `indexKey` one ListObjectsV2 of the identity
 * registry per pseudonym of an active matter. The counts made are returned in `requests`
 * (docs/benchmarks.md, "Requests per operation").
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
	const requests: RequestCounts = {
		listObjectVersions: 0,
		getObjectLockConfiguration: 0,
		getObjectLegalHold: 0,
		getObjectRetention: 0,
		listObjectsV2: 0,
		getObject: 0,
	};
	const honoured = await mattersToHonour(options, policy, requests);
	const activeMatters = honoured.matters.filter((matter) => matter.active);
	requests.getObjectLockConfiguration += 1;
	const objectLockEnabled = await bucketHasObjectLock(options.client, options.bucket);
	const listing = await listExpiredVersions(options, policy, activeMatters, now, requests);
	const lockStatusRead = objectLockEnabled && mode.readLockStatus;
	if (lockStatusRead) await readLockStatus(options, listing.expired, now, requests);
	keepMarkersOverRetainedVersions(listing.expired);
	const { totals, deletions, protectedVersions } = tallyDecisions(listing);
	return {
		bucket: options.bucket,
		prefix: policy.prefix,
		evaluatedAt: now.toISOString(),
		policy,
		objectLockEnabled,
		lockStatusRead,
		matterIds: activeMatters.map((matter) => matter.matterId),
		holdAuthentication: honoured.authentication,
		classes: [...listing.summaries.values()],
		totals,
		unmanaged: listing.unmanaged,
		deletions,
		protected: protectedVersions,
		requests,
	};
}

/** The matters given, else the registry under `<prefix>/_holds/` (`loadHolds`; its requests counted). */
async function mattersToHonour(
	options: PlanSweepOptions,
	policy: RetentionPolicy,
	requests: RequestCounts,
): Promise<{ matters: Matter[]; authentication: HoldAuthentication }> {
	let matters = options.matters;
	let authentication: HoldAuthentication = { verifiedEvents: 0, unverifiedEventKeys: [], ignoredReleaseKeys: [] };
	if (!matters) {
		const { matters: loaded, requests: made, ...checked } = await loadHolds({
			client: options.client,
			bucket: options.bucket,
			prefix: policy.prefix,
			verifier: options.verifier,
		});
		requests.listObjectsV2 += made.listObjectsV2;
		requests.getObject += made.getObject;
		matters = loaded;
		authentication = checked;
	}
	return { matters: await withLinkedIdentities(options, policy, matters, requests), authentication };
}

/**
 * Active matters whose scope names pseudonyms, widened by the identities linked to them now (only
 * with `indexKey`: a link's tag is checked with it). A hold only ever grows this way: the scope
 * recorded at placement stays in it.
 */
async function withLinkedIdentities(options: PlanSweepOptions, policy: RetentionPolicy, matters: Matter[], requests: RequestCounts): Promise<Matter[]> {
	const indexKey = options.indexKey;
	if (!indexKey) return matters;
	return await Promise.all(
		matters.map(async (matter) => {
			if (!matter.active || !matter.scope.pseudonyms?.length) return matter;
			const resolved = await resolveIdentity({ client: options.client, bucket: options.bucket, prefix: policy.prefix, indexKey, pseudonyms: matter.scope.pseudonyms });
			requests.listObjectsV2 += resolved.requests;
			return { ...matter, scope: { ...matter.scope, pseudonyms: resolved.pseudonyms } };
		}),
	);
}

/** What listing the class prefixes found: expired versions (kept in memory), the rest counted. */
interface Listing {
	summaries: Map<string, ClassSummary>;
	/** Expired versions only; unexpired ones are just counted. */
	expired: PlannedVersion[];
	unexpired: Tally;
	unmanaged: Tally;
}

function classSummary(retentionClass: RetentionClass, now: Date): ClassSummary {
	return {
		retentionClass: retentionClass.name,
		retention: retentionClass.retention,
		expiredBefore: expiredBefore(now, retentionClass),
		delete: emptyTally(),
		keep: emptyTally(),
		held: emptyTally(),
		locked: emptyTally(),
		error: emptyTally(),
	};
}

/**
 * Lists every version and delete marker under `<prefix>/<class>/` of each class and decides expiry
 * (from the record date in the key) and matter holds. Versions that do not follow the layout or
 * belong to no class are `unmanaged`.
 */
async function listExpiredVersions(
	options: PlanSweepOptions,
	policy: RetentionPolicy,
	activeMatters: Matter[],
	now: Date,
	requests: RequestCounts,
): Promise<Listing> {
	const listing: Listing = {
		summaries: new Map(),
		expired: [],
		unexpired: emptyTally(),
		unmanaged: emptyTally(),
	};
	for (const retentionClass of policy.classes) {
		const summary = classSummary(retentionClass, now);
		listing.summaries.set(retentionClass.name, summary);
		const pages = listVersions(
			options.client,
			options.bucket,
			`${policy.prefix}/${retentionClass.name}/`,
			{
				pageSize: options.pageSize,
				onPage: () => (requests.listObjectVersions += 1),
			},
		);
		for await (const page of pages) {
			for (const version of page) {
				const parsed = parseObjectKey(version.key);
				if (
					!parsed ||
					parsed.prefix !== policy.prefix ||
					parsed.retentionClass !== retentionClass.name
				) {
					add(listing.unmanaged, version.size);
					continue;
				}
				let expiry: DateTime;
				try {
					expiry = expiresAt(retentionStart(parsed.date, version.lastModified), retentionClass);
				} catch {
					add(listing.unmanaged, version.size);
					continue;
				}
				if (expiry.toMillis() > now.getTime()) {
					// Unexpired: counted, not kept in memory. A key's versions share the key date and differ
					// at most by their write day (retentionStart): the latest version or marker is the newest,
					// so an unexpired version never sits under an expired current marker.
					add(summary.keep, version.size);
					add(listing.unexpired, version.size);
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
				const holding = activeMatters.filter((matter) => matterCovers(matter, parsed));
				if (holding.length > 0) {
					planned.decision = 'held';
					planned.reason = 'matter';
					planned.matterIds = holding.map((matter) => matter.matterId);
				}
				listing.expired.push(planned);
			}
		}
	}
	return listing;
}

/** Reads the legal hold and retain-until of each version that would otherwise be deleted (not markers). */
async function readLockStatus(options: PlanSweepOptions, expired: PlannedVersion[], now: Date, requests: RequestCounts): Promise<void> {
	const candidates = expired.filter(
		(version) => version.decision === 'delete' && !version.isDeleteMarker,
	);
	await mapLimit(candidates, options.concurrency ?? 16, async (version) => {
		const status = await versionLockStatus(options.client, {
			bucket: options.bucket,
			key: version.key,
			versionId: version.versionId,
		});
		requests.getObjectLegalHold += 1;
		requests.getObjectRetention += 1;
		if ('errorCode' in status) {
			version.decision = 'error';
			version.reason = 'lock-status-unknown';
			version.errorCode = status.errorCode;
		} else if (status.legalHold) {
			version.decision = 'held';
			version.reason = 'legal-hold';
		} else if (status.retainUntil && status.retainUntil.getTime() > now.getTime()) {
			version.decision = 'locked';
			version.reason = 'retain-until';
			version.retainUntil = status.retainUntil.toISOString();
			version.lockMode = status.mode ?? undefined;
		}
	});
}

/** Keeps a delete marker whose key still has a retained version (deleting it would surface that version). */
function keepMarkersOverRetainedVersions(expired: PlannedVersion[]): void {
	const retainedKeys = new Set(
		expired.filter((version) => version.decision !== 'delete').map((version) => version.key),
	);
	for (const version of expired) {
		if (version.isDeleteMarker && version.decision === 'delete' && retainedKeys.has(version.key)) {
			version.decision = 'keep';
			version.reason = 'marker-over-retained-version';
		}
	}
}

/** Counts decisions per class and in total, and splits the expired versions into deletions and kept ones. */
function tallyDecisions(listing: Listing): {
	totals: SweepPlan['totals'];
	deletions: PlannedVersion[];
	protectedVersions: PlannedVersion[];
} {
	const totals: Record<SweepDecision, Tally> = {
		delete: emptyTally(),
		keep: listing.unexpired,
		held: emptyTally(),
		locked: emptyTally(),
		error: emptyTally(),
	};
	const deletions: PlannedVersion[] = [];
	const protectedVersions: PlannedVersion[] = [];
	for (const version of listing.expired) {
		add(listing.summaries.get(version.retentionClass)![version.decision], version.size);
		add(totals[version.decision], version.size);
		(version.decision === 'delete' ? deletions : protectedVersions).push(version);
	}
	return { totals, deletions, protectedVersions };
}
