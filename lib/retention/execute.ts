import { createHash } from 'node:crypto';
import type { S3Client } from '@aws-sdk/client-s3';
import { DateTime, Duration } from 'luxon';

import { parseObjectKey } from '../archive';
import { deleteObjects, getObjectBytes, listKeys, mapLimit, storeErrorCode, type LockRetention } from '../s3';
import { buildSweepPlan, type PlanSweepOptions } from './plan';
import { expiresAt } from './policy';
import { signControlObject } from './signer';
import { DEFAULT_REPORT_LOCK, REPORTS_FOLDER, findInterruptedRuns, jsonBytes, newRunId, readAuditObject, runObjectKeys, writeAuditObject, writeDeletionReport, type PlanDocument, type ReportDocument } from './report';
import { RetentionError, type DeletionEntry, type PlannedVersion, type ReportSigner, type SweepPlan, type SweepResult, type Tally } from './types';

/** Largest DeleteObjects batch S3 accepts. */
export const MAX_DELETE_BATCH = 1000;
/** DeleteObjects requests in flight at once unless `batchesInFlight` says otherwise. */
export const DEFAULT_BATCHES_IN_FLIGHT = 4;
/** Most DeleteObjects requests `batchesInFlight` allows at once. */
export const MAX_BATCHES_IN_FLIGHT = 32;

/**
 * Options of {@link executeSweep}: those of `planSweep` except `concurrency`, which only sizes the
 * dry run's lock lookups (executeSweep sends none).
 */
export interface ExecuteSweepOptions extends Omit<PlanSweepOptions, 'concurrency'> {
	/** At most this many versions are attempted in this run; the rest are `deferred`. Default unlimited. */
	maxDeletions?: number;
	/** Versions per DeleteObjects request, 1–1000. Default 1000. */
	batchSize?: number;
	/**
	 * DeleteObjects requests in flight at once, 1–32. Default 4. Whatever the value, the report lists
	 * its entries in the order of the write-ahead plan.
	 */
	batchesInFlight?: number;
	/**
	 * Signs the write-ahead plan and the deletion report (detached OpenPGP). Without it both are
	 * unsigned, and a run interrupted before its report is never recovered.
	 */
	signer?: ReportSigner | null;
	/** Object Lock of plan and report, when the bucket has Object Lock. Default GOVERNANCE P7Y; null: none. */
	reportLock?: LockRetention | null;
	/** SHA-256 of a version's ciphertext from a seal manifest, when one is known. Default: none (null). */
	sha256Lookup?: (key: string, versionId: string) => string | null | Promise<string | null>;
	/** Stops between batches when aborted (e.g. the workflow was cancelled); the report is still written. */
	signal?: AbortSignal;
	/** Run id (default `newRunId(now)`). */
	runId?: string;
	/**
	 * Reports of interrupted runs are written only for runs started longer ago than this ISO 8601
	 * duration (default `PT1H`), so a sweep never writes the report of one still running beside it.
	 */
	recoverAfter?: string;
}

const tally = (): Tally => ({ count: 0, bytes: 0 });
const versionRef = (key: string, versionId: string) => `${key}\u0000${versionId}`;

/** The fields of a planned version that plans and reports record. */
function recordedVersion(version: PlanDocument['deletions'][number] | PlannedVersion) {
	return {
		key: version.key,
		versionId: version.versionId,
		isDeleteMarker: version.isDeleteMarker,
		size: version.size,
		retentionClass: version.retentionClass,
		recordDate: version.recordDate,
	};
}

/**
 * Whether a stored plan is one this archive's key signed for this run, bucket and prefix (its detached
 * signature `plan.json.asc` verifies with `verifier`). Anything else may be planted: never recovered.
 */
async function planIsAuthentic(
	options: ExecuteSweepOptions,
	keys: ReturnType<typeof runObjectKeys>,
	present: Set<string>,
	expected: { runId: string; prefix: string },
	document: PlanDocument,
	bytes: Uint8Array,
): Promise<boolean> {
	if (!options.verifier || !present.has(keys.planSignatureKey)) return false;
	if (document?.type !== 'chat-archive.sweep-plan' || document.runId !== expected.runId) return false;
	if (document.bucket !== options.bucket || document.prefix !== expected.prefix || !Array.isArray(document.deletions))
		return false;
	const signature = (await getObjectBytes(options.client, options.bucket, keys.planSignatureKey)).toString('utf8');
	return (await options.verifier(bytes, signature)).valid;
}

/** One recovered entry: expiry re-checked from the key, presence from the current listing. */
function recoveredEntry(
	planned: PlanDocument['deletions'][number],
	plan: SweepPlan,
	present: Set<string>,
	at: string,
): Omit<DeletionEntry, 'sha256'> {
	const base = { ...recordedVersion(planned), at };
	const parsed = parseObjectKey(String(planned.key));
	const retentionClass = plan.policy.classes.find((candidate) => candidate.name === parsed?.retentionClass);
	if (!parsed || parsed.prefix !== plan.prefix || !retentionClass)
		return { ...base, status: 'skipped', reason: 'class no longer in the policy: outcome of the interrupted run unknown' };
	const expiry = expiresAt(parsed.date, retentionClass);
	if (expiry.toMillis() > Date.parse(plan.evaluatedAt))
		return { ...base, status: 'skipped', reason: `not expired by its key (retention ends ${expiry.toISO()}): never deleted by a sweep` };
	if (present.has(versionRef(planned.key, planned.versionId)))
		return { ...base, status: 'skipped', reason: 'not deleted by the interrupted run (still present)' };
	return {
		...base,
		status: 'absent',
		reason: `absent before execution of this report: retention expired ${expiry.toISO()}; the interrupted run may have deleted it or it was removed out of band (the store cannot tell which), so it is not claimed as a deletion`,
	};
}

/**
 * Writes the reports of earlier runs that stopped between their write-ahead plan and their report,
 * for plans whose signature verifies (`verifier`); others are returned as `unverified` and left alone.
 * Each planned version is re-checked: expiry from its key and the current policy (not the plan's
 * word), then presence in the current listing: still there → `skipped`; gone → `absent` ("absent
 * before execution"), never `deleted`, since the store cannot tell a deletion by the interrupted run
 * from a removal out of band.
 */
async function recoverInterruptedRuns(
	options: ExecuteSweepOptions,
	plan: SweepPlan,
	objectLockEnabled: boolean,
): Promise<{ recovered: string[]; unverified: string[] }> {
	const cutoff = DateTime.utc().minus(Duration.fromISO(options.recoverAfter ?? 'PT1H'));
	const runIds = (await findInterruptedRuns(options.client, options.bucket, plan.prefix)).filter(
		(runId) => {
			const started = DateTime.fromFormat(runId.slice(0, 16), "yyyyLLdd'T'HHmmss'Z'", {
				zone: 'utc',
			});
			return !started.isValid || started < cutoff;
		},
	);
	const outcome = { recovered: [] as string[], unverified: [] as string[] };
	if (runIds.length === 0) return outcome;
	const stored = new Set(await listKeys(options.client, options.bucket, `${plan.prefix}/${REPORTS_FOLDER}/`));
	const present = new Set(
		[...plan.deletions, ...plan.protected].map((version) =>
			versionRef(version.key, version.versionId),
		),
	);
	for (const runId of runIds) {
		const keys = runObjectKeys(plan.prefix, runId);
		const { planKey } = keys;
		let read: { document: PlanDocument; bytes: Buffer } | null = null;
		try {
			read = await readAuditObject<PlanDocument>(options.client, options.bucket, planKey);
		} catch (error) {
			if (!(error instanceof RetentionError)) throw error;
		}
		if (!read || !(await planIsAuthentic(options, keys, stored, { runId, prefix: plan.prefix }, read.document, read.bytes))) {
			outcome.unverified.push(planKey);
			continue;
		}
		const { document, bytes } = read;
		const at = new Date().toISOString();
		const entries: DeletionEntry[] = [];
		for (const planned of document.deletions) {
			entries.push({
				...recoveredEntry(planned, plan, present, at),
				sha256: options.sha256Lookup
					? await options.sha256Lookup(planned.key, planned.versionId)
					: null,
			});
		}
		await writeDeletionReport({
			client: options.client,
			bucket: options.bucket,
			prefix: plan.prefix,
			report: buildReport({
				runId,
				bucket: options.bucket,
				prefix: plan.prefix,
				planKey,
				planBytes: bytes,
				startedAt: document.createdAt,
				recovered: true,
				entries,
				deferred: document.deferred ?? tally(),
			}),
			signer: options.signer,
			lock: options.reportLock === undefined ? DEFAULT_REPORT_LOCK : options.reportLock,
			objectLockEnabled,
		});
		outcome.recovered.push(runId);
	}
	return outcome;
}

function buildReport(options: {
	runId: string;
	bucket: string;
	prefix: string;
	planKey: string;
	planBytes: Uint8Array;
	startedAt: string;
	recovered: boolean;
	entries: DeletionEntry[];
	deferred: Tally;
}): ReportDocument {
	const deleted = tally();
	const skipped = tally();
	for (const entry of options.entries) {
		const target = entry.status === 'deleted' ? deleted : skipped;
		target.count += 1;
		target.bytes += entry.size;
	}
	return {
		type: 'chat-archive.deletion-report',
		version: 1,
		runId: options.runId,
		bucket: options.bucket,
		prefix: options.prefix,
		planKey: options.planKey,
		planSha256: createHash('sha256').update(options.planBytes).digest('hex'),
		startedAt: options.startedAt,
		finishedAt: new Date().toISOString(),
		recovered: options.recovered,
		summary: { deleted, skipped, deferred: options.deferred },
		entries: options.entries,
	};
}

/** The store's answer for one version: deleted, or why not. */
type Outcome = { ok: true } | { ok: false; reason: string };

/**
 * Why the store refused one version. On an Object Lock bucket a per-key `AccessDenied` is the store
 * enforcing retain-until (GOVERNANCE or COMPLIANCE; no bypass header is ever sent) or a legal hold.
 */
function refusalReason(code: string | undefined, message: string | undefined, objectLockEnabled: boolean): string {
	const said = `${code ?? 'Error'}${message ? `: ${message}` : ''}`;
	if (code === 'AccessDenied' && objectLockEnabled)
		return `refused by the store: Object Lock retention or legal hold (${said})`;
	return `refused by the store (${said})`;
}

/**
 * One DeleteObjects request for `batch` (version ids, `Quiet: false`, never
 * `x-amz-bypass-governance-retention`). Never throws: a failed request marks every version of the batch.
 */
async function deleteBatch(
	client: S3Client,
	bucket: string,
	batch: PlannedVersion[],
	objectLockEnabled: boolean,
): Promise<Map<string, Outcome>> {
	const outcomes = new Map<string, Outcome>();
	try {
		const response = await deleteObjects(client, {
			Bucket: bucket,
			Delete: {
				Objects: batch.map((version) => ({ Key: version.key, VersionId: version.versionId })),
				Quiet: false,
			},
		});
		for (const deleted of response.Deleted ?? []) {
			if (deleted.Key)
				outcomes.set(versionRef(deleted.Key, deleted.VersionId ?? 'null'), { ok: true });
		}
		for (const error of response.Errors ?? []) {
			if (error.Key) {
				outcomes.set(versionRef(error.Key, error.VersionId ?? 'null'), {
					ok: false,
					reason: refusalReason(error.Code, error.Message, objectLockEnabled),
				});
			}
		}
	} catch (error) {
		const reason = `DeleteObjects failed: ${storeErrorCode(error)}`;
		for (const version of batch)
			outcomes.set(versionRef(version.key, version.versionId), { ok: false, reason });
	}
	return outcomes;
}

/** The options of a run, checked, with their defaults. */
interface RunSettings {
	batchSize: number;
	batchesInFlight: number;
	maxDeletions: number;
	runId: string;
	lock: LockRetention | null;
}

/** @throws RetentionError `InvalidInput` naming the option and its range. */
function runSettings(options: ExecuteSweepOptions): RunSettings {
	const batchSize = options.batchSize ?? MAX_DELETE_BATCH;
	if (!Number.isInteger(batchSize) || batchSize < 1 || batchSize > MAX_DELETE_BATCH) {
		throw new RetentionError(
			'InvalidInput',
			`batchSize must be an integer from 1 to ${MAX_DELETE_BATCH}`,
		);
	}
	const batchesInFlight = options.batchesInFlight ?? DEFAULT_BATCHES_IN_FLIGHT;
	if (
		!Number.isInteger(batchesInFlight) ||
		batchesInFlight < 1 ||
		batchesInFlight > MAX_BATCHES_IN_FLIGHT
	) {
		throw new RetentionError(
			'InvalidInput',
			`batchesInFlight must be an integer from 1 to ${MAX_BATCHES_IN_FLIGHT}`,
		);
	}
	const maxDeletions = options.maxDeletions ?? Number.POSITIVE_INFINITY;
	if (!(maxDeletions >= 0))
		throw new RetentionError('InvalidInput', 'maxDeletions must be 0 or more');
	return {
		batchSize,
		batchesInFlight,
		maxDeletions,
		runId: options.runId ?? newRunId(options.now ?? new Date()),
		lock: options.reportLock === undefined ? DEFAULT_REPORT_LOCK : options.reportLock,
	};
}

/** The write-ahead plan document of the versions this run attempts. */
function planDocument(
	options: ExecuteSweepOptions,
	plan: SweepPlan,
	runId: string,
	attempt: PlannedVersion[],
	deferred: Tally,
): PlanDocument {
	return {
		type: 'chat-archive.sweep-plan',
		version: 1,
		runId,
		bucket: options.bucket,
		prefix: plan.prefix,
		createdAt: new Date().toISOString(),
		policy: plan.policy,
		matterIds: plan.matterIds,
		deferred,
		deletions: attempt.map((version) => ({
			...recordedVersion(version),
			expiresAt: version.expiresAt,
		})),
	};
}

/**
 * Sends the attempted versions in DeleteObjects batches, `batchesInFlight` at a time, and returns the
 * store's answer per index of `attempt` (none: not attempted because `signal` stopped the run). A delete
 * marker over planned versions goes in a last round, only once every version under it was deleted.
 */
async function deleteAttempted(
	options: ExecuteSweepOptions,
	settings: RunSettings,
	plan: SweepPlan,
	attempt: PlannedVersion[],
): Promise<{ outcomes: Array<(Outcome & { at: string }) | undefined>; requests: number }> {
	const { deletions } = plan;
	const plannedVersionsByKey = new Map<string, number[]>();
	deletions.forEach((version, index) => {
		if (version.isDeleteMarker) return;
		const list = plannedVersionsByKey.get(version.key);
		if (list) list.push(index);
		else plannedVersionsByKey.set(version.key, [index]);
	});
	const first: number[] = [];
	const markersAfter: number[] = [];
	attempt.forEach((version, index) => {
		(version.isDeleteMarker && plannedVersionsByKey.has(version.key) ? markersAfter : first).push(
			index,
		);
	});

	const outcomes = new Array<(Outcome & { at: string }) | undefined>(attempt.length);
	let requests = 0;
	const sendInBatches = async (indices: number[]) => {
		const batches: number[][] = [];
		for (let start = 0; start < indices.length; start += settings.batchSize)
			batches.push(indices.slice(start, start + settings.batchSize));
		await mapLimit(batches, settings.batchesInFlight, async (batch) => {
			if (options.signal?.aborted) return;
			const answered = await deleteBatch(
				options.client,
				options.bucket,
				batch.map((index) => attempt[index]),
				plan.objectLockEnabled,
			);
			requests += 1;
			const at = new Date().toISOString();
			for (const index of batch) {
				const version = attempt[index];
				outcomes[index] = {
					...(answered.get(versionRef(version.key, version.versionId)) ?? {
						ok: false as const,
						reason: 'NoAnswer: the store did not report this version as deleted or failed',
					}),
					at,
				};
			}
		});
	};

	await sendInBatches(first);
	if (markersAfter.length > 0 && !options.signal?.aborted) {
		const ready: number[] = [];
		for (const index of markersAfter) {
			const under = plannedVersionsByKey.get(attempt[index].key)!;
			const refused = under.find((i) => i < attempt.length && outcomes[i] && !outcomes[i]!.ok);
			if (refused !== undefined) {
				outcomes[index] = {
					ok: false,
					reason: `not sent: the store kept version ${deletions[refused].versionId} under this delete marker, which would become current again`,
					at: new Date().toISOString(),
				};
			} else if (under.every((i) => i < attempt.length && outcomes[i]?.ok)) {
				ready.push(index);
			}
			// else: a version under it was deferred or not attempted, and so is the marker
		}
		await sendInBatches(ready);
	}
	return { outcomes, requests };
}

/** Turns the store's answers into report entries and tallies (per run and per class); unanswered ones are deferred. */
async function recordOutcomes(
	options: ExecuteSweepOptions,
	result: SweepResult,
	attempt: PlannedVersion[],
	outcomes: Array<(Outcome & { at: string }) | undefined>,
): Promise<void> {
	const perClass = new Map(result.classes.map((entry) => [entry.retentionClass, entry]));
	for (let index = 0; index < attempt.length; index++) {
		const version = attempt[index];
		const outcome = outcomes[index];
		if (!outcome) {
			result.deferred.count += 1;
			result.deferred.bytes += version.size;
			continue;
		}
		result.entries.push({
			...recordedVersion(version),
			sha256: options.sha256Lookup
				? await options.sha256Lookup(version.key, version.versionId)
				: null,
			status: outcome.ok ? 'deleted' : 'skipped',
			reason: outcome.ok ? `retention expired ${version.expiresAt}` : outcome.reason,
			at: outcome.at,
		});
		const target = outcome.ok ? 'deleted' : 'skipped';
		for (const bucketTally of [result[target], perClass.get(version.retentionClass)![target]]) {
			bucketTally.count += 1;
			bucketTally.bytes += version.size;
		}
	}
}

/**
 * Executes a sweep: plans it from the listing (expiry and matters, as `planSweep` does, but without
 * the per-version lock lookups), writes the reports of interrupted earlier runs, writes a write-ahead
 * plan object (`<prefix>/_reports/<runId>/plan.json`) naming every version it will attempt, deletes
 * them by version id with DeleteObjects (batches of ≤ 1000, `batchesInFlight` requests at once,
 * Content-MD5 instead of the SDK's CRC32 header, `Quiet: false` so each key is answered), then writes
 * the signed deletion report (`report.json` + `report.json.asc`) with one entry per attempted version
 * in the plan's order.
 *
 * - Matters (`lib/retention/holds.ts`) and unexpired records are decided before anything is sent:
 *   such versions are never in a DeleteObjects request.
 * - Object Lock: no GetObjectLegalHold / GetObjectRetention per version (that is the dry run's job,
 *   `planSweep`, which says why a version stays). DeleteObjects is sent without the bypass-governance
 *   header, so the store refuses versions under retain-until (GOVERNANCE or COMPLIANCE) or a legal
 *   hold; each refusal is a `skipped` entry, reason "refused by the store: Object Lock retention or
 *   legal hold (AccessDenied: …)". Other per-key errors are `skipped` with the store's code and
 *   message; a failed request marks its whole batch `skipped`. Nothing is lost.
 * - A delete marker over versions that are themselves planned is sent only after all of them were
 *   deleted (in a last round of batches): if the store refused one, the marker stays (`skipped`, so
 *   the retained version does not become current again); if one was deferred, so is the marker.
 * - `maxDeletions` caps the versions attempted; the rest are `deferred` to the next run.
 * - Safe to interrupt and rerun: `signal` stops new batches (those in flight finish and are
 *   reported; the rest are `deferred`); each run re-plans from the listing (deleted versions are gone,
 *   so nothing is attempted twice), and a run that stopped before its report gets one from the next
 *   run started more than `recoverAfter` (default 1 hour) after it. Two sweeps running at once both
 *   delete the same versions (DeleteObjects is idempotent) and each reports them.
 * - When nothing is planned for deletion, no plan or report object is written.
 *
 * Requests: the plan's listing (see `planSweep`, without lock lookups), the `_reports/` listing and the
 * reports of interrupted runs, the plan write, one DeleteObjects per batch (and per batch of delete
 * markers over planned versions), the report and signature writes (docs/benchmarks.md, "Requests per operation").
 *
 * @throws RetentionError for bad options or when the plan / report cannot be written (`StoreError`);
 *   whatever the signer throws. If the report fails after deletions, the next run writes it.
 */
export async function executeSweep(options: ExecuteSweepOptions): Promise<SweepResult> {
	const settings = runSettings(options);
	const plan = await buildSweepPlan(options, { readLockStatus: false });
	const { recovered: recoveredRuns, unverified: unverifiedPlans } = await recoverInterruptedRuns(
		options,
		plan,
		plan.objectLockEnabled,
	);
	const { deletions, protected: _protected, ...planSummary } = plan;
	void _protected;

	const attempt = deletions.slice(0, Math.min(deletions.length, settings.maxDeletions));
	const deferred = tally();
	for (const version of deletions.slice(attempt.length)) {
		deferred.count += 1;
		deferred.bytes += version.size;
	}
	const keys = runObjectKeys(plan.prefix, settings.runId);
	const result: SweepResult = {
		runId: settings.runId,
		bucket: options.bucket,
		prefix: plan.prefix,
		planKey: attempt.length ? keys.planKey : null,
		reportKey: null,
		signatureKey: null,
		signerFingerprint: null,
		deleted: tally(),
		skipped: tally(),
		deferred,
		classes: plan.classes.map((summary) => ({
			retentionClass: summary.retentionClass,
			deleted: tally(),
			skipped: tally(),
		})),
		entries: [],
		deleteRequests: 0,
		recoveredRuns,
		unverifiedPlans,
		plan: planSummary,
	};
	if (attempt.length === 0) return result;

	const written = planDocument(options, plan, settings.runId, attempt, deferred);
	const planBytes = jsonBytes(written);
	// The signature first: a plan is only ever recovered when it verifies (recoverInterruptedRuns).
	if (options.signer) {
		await writeAuditObject({
			client: options.client,
			bucket: options.bucket,
			key: keys.planSignatureKey,
			body: await signControlObject(options.signer, 'The sweep plan', planBytes),
			contentType: 'application/pgp-signature',
			lock: settings.lock,
			objectLockEnabled: plan.objectLockEnabled,
		});
	}
	await writeAuditObject({
		client: options.client,
		bucket: options.bucket,
		key: keys.planKey,
		body: planBytes,
		contentType: 'application/json',
		lock: settings.lock,
		objectLockEnabled: plan.objectLockEnabled,
	});

	const { outcomes, requests } = await deleteAttempted(options, settings, plan, attempt);
	result.deleteRequests = requests;
	await recordOutcomes(options, result, attempt, outcomes);

	const report = await writeDeletionReport({
		client: options.client,
		bucket: options.bucket,
		prefix: plan.prefix,
		report: buildReport({
			runId: settings.runId,
			bucket: options.bucket,
			prefix: plan.prefix,
			planKey: keys.planKey,
			planBytes,
			startedAt: written.createdAt,
			recovered: false,
			entries: result.entries,
			deferred,
		}),
		signer: options.signer,
		lock: settings.lock,
		objectLockEnabled: plan.objectLockEnabled,
	});
	result.reportKey = report.reportKey;
	result.signatureKey = report.signatureKey;
	result.signerFingerprint = report.signerFingerprint;
	return result;
}
