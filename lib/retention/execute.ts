import { createHash } from 'node:crypto';
import { DeleteObjectsCommand, type S3Client } from '@aws-sdk/client-s3';
import { DateTime, Duration } from 'luxon';

import { storeErrorCode } from '../archive';
import { planSweep, type PlanSweepOptions } from './plan';
import {
	DEFAULT_REPORT_LOCK,
	findInterruptedRuns,
	jsonBytes,
	newRunId,
	readAuditObject,
	runObjectKeys,
	writeAuditObject,
	writeDeletionReport,
	type PlanDocument,
	type ReportDocument,
} from './report';
import { withContentMd5 } from './store';
import {
	RetentionError,
	type DeletionEntry,
	type PlannedVersion,
	type ReportLock,
	type ReportSigner,
	type SweepPlan,
	type SweepResult,
	type Tally,
} from './types';

/** Largest DeleteObjects batch S3 accepts. */
export const MAX_DELETE_BATCH = 1000;

/** Options of {@link executeSweep}. */
export interface ExecuteSweepOptions extends PlanSweepOptions {
	/** At most this many versions are deleted in this run; the rest are `deferred`. Default unlimited. */
	maxDeletions?: number;
	/** Versions per DeleteObjects request, 1–1000. Default 1000. */
	batchSize?: number;
	/** Signs the deletion report (detached OpenPGP); without it the report is unsigned. */
	signer?: ReportSigner | null;
	/** Object Lock of plan and report, when the bucket has Object Lock. Default GOVERNANCE P7Y; null: none. */
	reportLock?: ReportLock | null;
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

/**
 * Writes the reports of earlier runs that stopped between their write-ahead plan and their report.
 * A planned version that is no longer listed (neither among the current deletions nor the protected
 * versions of `plan`) is reported `deleted`; one still present is `skipped` ("not deleted by the
 * interrupted run"); one whose class left the policy cannot be checked and is `skipped` too.
 */
async function recoverInterruptedRuns(options: ExecuteSweepOptions, plan: SweepPlan, objectLockEnabled: boolean): Promise<string[]> {
	const cutoff = DateTime.utc().minus(Duration.fromISO(options.recoverAfter ?? 'PT1H'));
	const runIds = (await findInterruptedRuns(options.client, options.bucket, plan.prefix)).filter((runId) => {
		const started = DateTime.fromFormat(runId.slice(0, 16), "yyyyLLdd'T'HHmmss'Z'", { zone: 'utc' });
		return started.isValid && started < cutoff;
	});
	if (runIds.length === 0) return [];
	const present = new Set([...plan.deletions, ...plan.protected].map((version) => versionRef(version.key, version.versionId)));
	const classes = new Set(plan.policy.classes.map((retentionClass) => retentionClass.name));
	for (const runId of runIds) {
		const { planKey } = runObjectKeys(plan.prefix, runId);
		const { document, bytes } = await readAuditObject<PlanDocument>(options.client, options.bucket, planKey);
		const at = new Date().toISOString();
		const entries: DeletionEntry[] = [];
		for (const planned of document.deletions ?? []) {
			const stillThere = present.has(versionRef(planned.key, planned.versionId));
			const checkable = classes.has(planned.retentionClass);
			entries.push({
				key: planned.key,
				versionId: planned.versionId,
				isDeleteMarker: planned.isDeleteMarker,
				size: planned.size,
				retentionClass: planned.retentionClass,
				recordDate: planned.recordDate,
				sha256: options.sha256Lookup ? await options.sha256Lookup(planned.key, planned.versionId) : null,
				status: checkable && !stillThere ? 'deleted' : 'skipped',
				reason: !checkable
					? 'class no longer in the policy: outcome of the interrupted run unknown'
					: stillThere
						? 'not deleted by the interrupted run (still present)'
						: `retention expired ${planned.expiresAt}; absent after the interrupted run`,
				at,
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
	}
	return runIds;
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

async function deleteBatch(
	client: S3Client,
	bucket: string,
	batch: PlannedVersion[],
): Promise<Map<string, { ok: true } | { ok: false; reason: string }>> {
	const outcomes = new Map<string, { ok: true } | { ok: false; reason: string }>();
	try {
		const response = await client.send(
			withContentMd5(
				new DeleteObjectsCommand({
					Bucket: bucket,
					Delete: { Objects: batch.map((version) => ({ Key: version.key, VersionId: version.versionId })), Quiet: false },
				}),
			),
		);
		for (const deleted of response.Deleted ?? []) {
			if (deleted.Key) outcomes.set(versionRef(deleted.Key, deleted.VersionId ?? 'null'), { ok: true });
		}
		for (const error of response.Errors ?? []) {
			if (error.Key) {
				outcomes.set(versionRef(error.Key, error.VersionId ?? 'null'), {
					ok: false,
					reason: `${error.Code ?? 'Error'}${error.Message ? `: ${error.Message}` : ''}`,
				});
			}
		}
	} catch (error) {
		const reason = `DeleteObjects failed: ${storeErrorCode(error)}`;
		for (const version of batch) outcomes.set(versionRef(version.key, version.versionId), { ok: false, reason });
	}
	return outcomes;
}

/**
 * Executes a sweep: plans it (`planSweep`), writes the reports of interrupted earlier runs, writes a
 * write-ahead plan object (`<prefix>/_reports/<runId>/plan.json`), deletes the planned versions by
 * version id with DeleteObjects (batches of ≤ 1000, Content-MD5 instead of the SDK's CRC32 header,
 * `Quiet: false` so each key is answered), then writes the signed deletion report
 * (`report.json` + `report.json.asc`).
 *
 * - Per-key errors (e.g. `AccessDenied` for a version locked after planning) become `skipped` entries
 *   with the store's code and message; a failed request marks its whole batch `skipped`. Nothing is lost.
 * - `maxDeletions` caps the run; the rest is `deferred` to the next run.
 * - Safe to interrupt and rerun: each run re-plans from the listing (deleted versions are gone, so
 *   nothing is attempted twice), and a run that stopped before its report gets one from the next run
 *   started more than `recoverAfter` (default 1 hour) after it. Two sweeps running at once both
 *   delete the same versions (DeleteObjects is idempotent) and each reports them.
 * - When nothing is planned for deletion, no plan or report object is written.
 *
 * Requests: those of `planSweep`, + 1 ListObjectsV2 per 1000 objects under `_reports/` (+ 1 GetObject
 * and 2–3 PutObject per interrupted run), + 1 PutObject (plan) + ⌈D / batchSize⌉ DeleteObjects + 1–2
 * PutObject (report, signature).
 *
 * @throws RetentionError for bad options or when the plan / report cannot be written (`StoreError`);
 *   whatever the signer throws. If the report fails after deletions, the next run writes it.
 */
export async function executeSweep(options: ExecuteSweepOptions): Promise<SweepResult> {
	const batchSize = options.batchSize ?? MAX_DELETE_BATCH;
	if (!Number.isInteger(batchSize) || batchSize < 1 || batchSize > MAX_DELETE_BATCH) {
		throw new RetentionError('InvalidInput', `batchSize must be an integer from 1 to ${MAX_DELETE_BATCH}`);
	}
	const maxDeletions = options.maxDeletions ?? Number.POSITIVE_INFINITY;
	if (!(maxDeletions >= 0)) throw new RetentionError('InvalidInput', 'maxDeletions must be 0 or more');
	const now = options.now ?? new Date();
	const runId = options.runId ?? newRunId(now);
	const lock = options.reportLock === undefined ? DEFAULT_REPORT_LOCK : options.reportLock;

	const plan = await planSweep(options);
	const recoveredRuns = await recoverInterruptedRuns(options, plan, plan.objectLockEnabled);
	const { deletions, protected: _protected, ...planSummary } = plan;
	void _protected;

	const attempt = deletions.slice(0, Math.min(deletions.length, maxDeletions));
	const deferred = tally();
	for (const version of deletions.slice(attempt.length)) {
		deferred.count += 1;
		deferred.bytes += version.size;
	}
	const keys = runObjectKeys(plan.prefix, runId);
	const result: SweepResult = {
		runId,
		bucket: options.bucket,
		prefix: plan.prefix,
		planKey: attempt.length ? keys.planKey : null,
		reportKey: null,
		signatureKey: null,
		signerFingerprint: null,
		deleted: tally(),
		skipped: tally(),
		deferred,
		classes: plan.classes.map((summary) => ({ retentionClass: summary.retentionClass, deleted: tally(), skipped: tally() })),
		entries: [],
		deleteRequests: 0,
		recoveredRuns,
		plan: planSummary,
	};
	if (attempt.length === 0) return result;

	const startedAt = new Date().toISOString();
	const planDocument: PlanDocument = {
		type: 'chat-archive.sweep-plan',
		version: 1,
		runId,
		bucket: options.bucket,
		prefix: plan.prefix,
		createdAt: startedAt,
		policy: plan.policy,
		matterIds: plan.matterIds,
		deferred,
		deletions: attempt.map((version) => ({
			key: version.key,
			versionId: version.versionId,
			isDeleteMarker: version.isDeleteMarker,
			size: version.size,
			retentionClass: version.retentionClass,
			recordDate: version.recordDate,
			expiresAt: version.expiresAt,
		})),
	};
	const planBytes = jsonBytes(planDocument);
	await writeAuditObject({
		client: options.client,
		bucket: options.bucket,
		key: keys.planKey,
		body: planBytes,
		contentType: 'application/json',
		lock,
		objectLockEnabled: plan.objectLockEnabled,
	});

	const perClass = new Map(result.classes.map((entry) => [entry.retentionClass, entry]));
	let attempted = 0;
	for (let start = 0; start < attempt.length; start += batchSize) {
		if (options.signal?.aborted) break;
		const batch = attempt.slice(start, start + batchSize);
		const outcomes = await deleteBatch(options.client, options.bucket, batch);
		result.deleteRequests += 1;
		attempted += batch.length;
		const at = new Date().toISOString();
		for (const version of batch) {
			const outcome = outcomes.get(versionRef(version.key, version.versionId)) ?? {
				ok: false as const,
				reason: 'NoAnswer: the store did not report this version as deleted or failed',
			};
			const entry: DeletionEntry = {
				key: version.key,
				versionId: version.versionId,
				isDeleteMarker: version.isDeleteMarker,
				size: version.size,
				retentionClass: version.retentionClass,
				recordDate: version.recordDate,
				sha256: options.sha256Lookup ? await options.sha256Lookup(version.key, version.versionId) : null,
				status: outcome.ok ? 'deleted' : 'skipped',
				reason: outcome.ok ? `retention expired ${version.expiresAt}` : outcome.reason,
				at,
			};
			result.entries.push(entry);
			const target = outcome.ok ? 'deleted' : 'skipped';
			for (const bucketTally of [result[target], perClass.get(version.retentionClass)![target]]) {
				bucketTally.count += 1;
				bucketTally.bytes += version.size;
			}
		}
	}
	for (const version of attempt.slice(attempted)) {
		deferred.count += 1;
		deferred.bytes += version.size;
	}

	const written = await writeDeletionReport({
		client: options.client,
		bucket: options.bucket,
		prefix: plan.prefix,
		report: buildReport({
			runId,
			bucket: options.bucket,
			prefix: plan.prefix,
			planKey: keys.planKey,
			planBytes,
			startedAt,
			recovered: false,
			entries: result.entries,
			deferred,
		}),
		signer: options.signer,
		lock,
		objectLockEnabled: plan.objectLockEnabled,
	});
	result.reportKey = written.reportKey;
	result.signatureKey = written.signatureKey;
	result.signerFingerprint = written.signerFingerprint;
	return result;
}
