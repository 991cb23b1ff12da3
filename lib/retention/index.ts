/**
 * Retention engine: decides from the archive's key layout which object versions have outlived their
 * retention class, honours legal-hold matters, S3 legal-hold flags and Object Lock, deletes by
 * version id with a write-ahead plan and a signed deletion report, and compiles the policy into a
 * bucket lifecycle configuration. One module per verb; no n8n import.
 */
export * from './types';
export { resolvePolicy, parseDuration, expiresAt, expiredBefore, KNOWN_CLASS_FLOORS, DEFAULT_MINIMUM } from './policy';
export {
	HOLDS_FOLDER,
	loadHolds,
	placeHold,
	releaseHold,
	matchesScope,
	normalizeScope,
	normalizeMatterId,
	type LoadHoldsResult,
	type LegalHoldFlagResult,
	type HoldCommandOptions,
	type HoldCommandResult,
} from './holds';
export { planSweep, type PlanSweepOptions } from './plan';
export { executeSweep, MAX_DELETE_BATCH, DEFAULT_BATCHES_IN_FLIGHT, MAX_BATCHES_IN_FLIGHT, type ExecuteSweepOptions } from './execute';
export {
	REPORTS_FOLDER,
	DEFAULT_REPORT_LOCK,
	runObjectKeys,
	findInterruptedRuns,
	readAuditObject,
	readDeletionReports,
	newRunId,
	type StoredDeletionReport,
	type PlanDocument,
	type ReportDocument,
} from './report';
export { withContentMd5, listVersions, bucketHasObjectLock, type ListedVersion } from './store';
export { createReportSigner } from './signer';
export {
	compileLifecycle,
	showLifecycle,
	applyLifecycle,
	lifecycleDays,
	LIFECYCLE_RULE_PREFIX,
	type CompiledLifecycle,
	type LifecycleChange,
} from './lifecycle';
