/**
 * Retention engine: deletes archived records whose retention class has run out, never what a matter,
 * a legal-hold flag or Object Lock still protects, built on the S3 transport (`lib/s3`). No n8n
 * import. Its verbs:
 * - {@link resolvePolicy} and the retention clock (policy.ts);
 * - {@link placeHold} / {@link releaseHold} / {@link loadHolds}: the matter registry (holds.ts);
 * - {@link planSweep}: the dry run (plan.ts); {@link executeSweep}: deletion with a write-ahead plan (execute.ts);
 * - plans, signed deletion reports and {@link recordedDeletions} for Verify Seal (report.ts, signer.ts);
 * - {@link compileLifecycle} / {@link showLifecycle} / {@link applyLifecycle}: bucket lifecycle rules (lifecycle.ts).
 */
export * from './types';
export { resolvePolicy, parseDuration, expiresAt, expiredBefore, retentionStart, KNOWN_CLASS_FLOORS, DEFAULT_MINIMUM } from './policy';
export {
	HOLDS_FOLDER,
	loadHolds,
	legalHoldForNewRecord,
	matterCovers,
	matterScopes,
	NEW_RECORD_REGISTRY_TTL_MS,
	type NewRecordHold,
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
	recordedDeletions,
	newRunId,
	type StoredDeletionReport,
	type PlanDocument,
	type ReportDocument,
} from './report';
export { createReportSigner, createControlVerifier, createArchiveAuthority, type ArchiveAuthority } from './signer';
export {
	compileLifecycle,
	showLifecycle,
	applyLifecycle,
	lifecycleDays,
	LIFECYCLE_RULE_PREFIX,
	type CompiledLifecycle,
	type LifecycleChange,
} from './lifecycle';
