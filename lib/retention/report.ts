import { createHash, randomBytes } from 'node:crypto';
import type { S3Client } from '@aws-sdk/client-s3';
import { DateTime } from 'luxon';

import { writeObject, type RecordedDeletion, type RecordedDeletions } from '../archive';
import { verify, type PublicKey } from '../pgp';
import { getObjectBytes, listKeys, lockUntil, type LockRetention } from '../s3';
import { RetentionError, type DeletionEntry, type ReportSigner } from './types';

/**
 * Write-ahead sweep plans and signed deletion reports, stored per run under
 * `<prefix>/_reports/<runId>/`:
 *
 * - `plan.json`: written before the first deletion; the versions the run is about to delete.
 * - `plan.json.asc`: its detached signature by the archive's key, written before it; only a plan whose
 *   signature verifies is ever recovered (a plan is a control object: it decides what a report claims).
 * - `report.json`: written after the last batch; every attempted deletion with its outcome.
 * - `report.json.asc`: detached armored OpenPGP signature of `report.json` (when a signer is given),
 *   verifiable with stock GnuPG: `gpg --verify report.json.asc report.json`.
 *
 * All three are written once (`If-None-Match: *`) with Content-MD5, and under Object Lock when the
 * bucket has it. A run with a plan but no report was interrupted; the next `executeSweep` writes its
 * report (see `recoverInterruptedRuns` in execute.ts).
 */

/** Folder (under the prefix) holding plans and reports. */
export const REPORTS_FOLDER = '_reports';

/** Default Object Lock of plans and reports (applied only when the bucket has Object Lock). */
export const DEFAULT_REPORT_LOCK: LockRetention = { mode: 'GOVERNANCE', retention: 'P7Y' };

/** Stored write-ahead plan (`plan.json`). */
export interface PlanDocument {
	type: 'chat-archive.sweep-plan';
	version: 1;
	runId: string;
	bucket: string;
	prefix: string;
	createdAt: string;
	policy: unknown;
	matterIds: string[];
	/** Planned deletions beyond `maxDeletions`, left for later runs. */
	deferred: { count: number; bytes: number };
	deletions: Array<
		Pick<
			DeletionEntry,
			'key' | 'versionId' | 'isDeleteMarker' | 'size' | 'retentionClass' | 'recordDate'
		> & { expiresAt: string }
	>;
}

/** Stored deletion report (`report.json`). */
export interface ReportDocument {
	type: 'chat-archive.deletion-report';
	version: 1;
	runId: string;
	bucket: string;
	prefix: string;
	planKey: string;
	/** SHA-256 (hex) of the plan object's bytes. */
	planSha256: string;
	startedAt: string;
	finishedAt: string;
	/** True when written by a later run for a run that stopped before its report. */
	recovered: boolean;
	summary: {
		deleted: { count: number; bytes: number };
		skipped: { count: number; bytes: number };
		deferred: { count: number; bytes: number };
	};
	entries: DeletionEntry[];
}

/** A new run id: `yyyymmddThhmmssZ-<8 hex>` (sorts by time). */
export function newRunId(now: Date = new Date()): string {
	return `${DateTime.fromJSDate(now, { zone: 'utc' }).toFormat("yyyyLLdd'T'HHmmss'Z'")}-${randomBytes(4).toString('hex')}`;
}

/** Keys of a run's objects. */
export function runObjectKeys(prefix: string, runId: string): { planKey: string; planSignatureKey: string; reportKey: string; signatureKey: string } {
	const folder = `${prefix}/${REPORTS_FOLDER}/${runId}`;
	return {
		planKey: `${folder}/plan.json`,
		planSignatureKey: `${folder}/plan.json.asc`,
		reportKey: `${folder}/report.json`,
		signatureKey: `${folder}/report.json.asc`,
	};
}

/**
 * Writes one JSON (or text) object once, with Content-MD5, and Object Lock `lock` when
 * `objectLockEnabled`. Returns the SHA-256 hex of the bytes.
 *
 * @throws RetentionError `StoreError` when the key already exists (audit objects are never
 *   replaced); ArchiveError for a failed store call or a bad lock.
 */
export async function writeAuditObject(options: {
	client: S3Client;
	bucket: string;
	key: string;
	body: Uint8Array;
	contentType: string;
	lock?: LockRetention | null;
	objectLockEnabled: boolean;
}): Promise<string> {
	const lock = options.objectLockEnabled && options.lock ? lockUntil(options.lock) : null;
	const result = await writeObject({
		client: options.client,
		bucket: options.bucket,
		key: options.key,
		body: options.body,
		contentType: options.contentType,
		...(lock ? { objectLock: lock } : {}),
	});
	if (result.status !== 'created') {
		throw new RetentionError(
			'StoreError',
			`${options.key} already exists in bucket "${options.bucket}"; audit objects are never replaced`,
		);
	}
	return createHash('sha256').update(options.body).digest('hex');
}

/** Serialises a document as pretty JSON bytes (UTF-8, trailing newline). */
export function jsonBytes(document: unknown): Buffer {
	return Buffer.from(JSON.stringify(document, null, 2) + '\n', 'utf8');
}

/**
 * Writes a deletion report and, when `signer` is given, its detached signature (`report.json.asc`,
 * `application/pgp-signature`). The signature is made over the exact bytes stored.
 *
 * @throws RetentionError `StoreError` from the store; whatever the signer throws (e.g. PgpError).
 */
export async function writeDeletionReport(options: {
	client: S3Client;
	bucket: string;
	prefix: string;
	report: ReportDocument;
	signer?: ReportSigner | null;
	lock?: LockRetention | null;
	objectLockEnabled: boolean;
}): Promise<{
	reportKey: string;
	signatureKey: string | null;
	signerFingerprint: string | null;
	sha256: string;
}> {
	const { reportKey, signatureKey } = runObjectKeys(options.prefix, options.report.runId);
	const body = jsonBytes(options.report);
	// Sign first: a failing signer leaves no unsigned report behind (the run stays "interrupted").
	const signed = options.signer ? await options.signer(body) : null;
	const sha256 = await writeAuditObject({
		...options,
		key: reportKey,
		body,
		contentType: 'application/json',
	});
	if (signed) {
		await writeAuditObject({
			...options,
			key: signatureKey,
			body: Buffer.from(signed.signature, 'utf8'),
			contentType: 'application/pgp-signature',
		});
	}
	return {
		reportKey,
		signatureKey: signed ? signatureKey : null,
		signerFingerprint: signed ? signed.signerFingerprint : null,
		sha256,
	};
}

function notJson(key: string): RetentionError {
	return new RetentionError('InvalidInput', `${key} is not JSON`);
}

/** Reads a JSON audit object (plan or report). @throws RetentionError `InvalidInput`; ArchiveError from the store. */
export async function readAuditObject<T>(client: S3Client, bucket: string, key: string): Promise<{ document: T; bytes: Buffer }> {
	const bytes = await getObjectBytes(client, bucket, key);
	try {
		return { document: JSON.parse(bytes.toString('utf8')) as T, bytes };
	} catch {
		throw notJson(key);
	}
}

/**
 * Run ids under `<prefix>/_reports/` that have a `plan.json` but no `report.json` (interrupted runs),
 * oldest first.
 *
 * @throws ArchiveError from the store.
 */
export async function findInterruptedRuns(client: S3Client, bucket: string, prefix: string): Promise<string[]> {
	const folder = `${prefix}/${REPORTS_FOLDER}/`;
	const plans = new Set<string>();
	const reports = new Set<string>();
	for (const key of await listKeys(client, bucket, folder)) {
		const [runId, file] = key.slice(folder.length).split('/');
		if (file === 'plan.json') plans.add(runId);
		if (file === 'report.json') reports.add(runId);
	}
	return [...plans].filter((runId) => !reports.has(runId)).sort();
}

/** One stored deletion report, as read back by {@link readDeletionReports}. */
export interface StoredDeletionReport {
	runId: string;
	reportKey: string;
	/** Whether a `report.json.asc` exists beside it. */
	signed: boolean;
	/** Signature check against `verificationKeys`: true / false, or null when not checked (no keys, or unsigned). */
	signatureValid: boolean | null;
	/** Upper-case fingerprint of the key that made a valid signature. */
	signerFingerprint: string | null;
	/** The report, or null when the object is not a deletion report (not JSON, another type). */
	report: ReportDocument | null;
}

/** Whether a parsed object is a deletion report this engine wrote (`chat-archive.deletion-report`). */
function isDeletionReport(document: unknown): document is ReportDocument {
	const report = document as Partial<ReportDocument> | null;
	return report?.type === 'chat-archive.deletion-report' && Array.isArray(report.entries);
}

/**
 * Reads every deletion report under `<prefix>/_reports/` (for audits, and for the S3 Archive node's
 * Verify, which must tell deletions recorded by the sweeper from unexplained ones). With
 * `verificationKeys`, each report's detached signature is checked (`verify` of `lib/pgp`). An object
 * named `report.json` that is not a deletion report is listed with `report: null`, never trusted.
 * `deleted` maps `key + "\u0000" + versionId` of every version reported `deleted` (in a report whose
 * signature is valid, when keys are given) to its entry and run id.
 *
 * @throws ArchiveError from the store.
 */
export async function readDeletionReports(options: {
	client: S3Client;
	bucket: string;
	prefix: string;
	verificationKeys?: PublicKey[];
}): Promise<{
	reports: StoredDeletionReport[];
	deleted: Map<string, DeletionEntry & { runId: string }>;
}> {
	const { client, bucket } = options;
	const folder = `${options.prefix}/${REPORTS_FOLDER}/`;
	const files = new Set(await listKeys(client, bucket, folder));
	const reports: StoredDeletionReport[] = [];
	const deleted = new Map<string, DeletionEntry & { runId: string }>();
	for (const reportKey of [...files].filter((key) => key.endsWith('/report.json')).sort()) {
		const runId = reportKey.slice(folder.length, -'/report.json'.length);
		const bytes = await getObjectBytes(client, bucket, reportKey);
		let document: unknown = null;
		try {
			document = JSON.parse(bytes.toString('utf8'));
		} catch {
			document = null;
		}
		const report = isDeletionReport(document) ? document : null;
		const signed = files.has(`${reportKey}.asc`);
		let signatureValid: boolean | null = null;
		let signerFingerprint: string | null = null;
		if (report && signed && options.verificationKeys?.length) {
			const signature = (await getObjectBytes(client, bucket, `${reportKey}.asc`)).toString('utf8');
			const result = await verify({
				data: bytes,
				signature,
				verificationKeys: options.verificationKeys,
			}).catch(() => null);
			signatureValid = Boolean(result?.valid);
			signerFingerprint = result?.signatures.find((entry) => entry.valid)?.fingerprint ?? null;
		}
		reports.push({ runId, reportKey, signed, signatureValid, signerFingerprint, report });
		if (!report || (options.verificationKeys?.length && signatureValid !== true)) continue;
		for (const entry of report.entries) {
			if (entry.status === 'deleted')
				deleted.set(`${entry.key}\u0000${entry.versionId}`, { ...entry, runId });
		}
	}
	return { reports, deleted };
}

/**
 * The sweeper's deletion reports as the deletions Verify Seal consults (`recordedDeletions` of
 * `verifySeal`): every `deleted` entry of every report about this bucket, marked verified when the
 * report's detached signature verifies against `verificationKeys`; a verified entry wins over an
 * unverified one for the same version. Reports that do not verify (or are not reports) are named in
 * `unverifiedKeys`.
 */
export function recordedDeletions(options: {
	client: S3Client;
	bucket: string;
	verificationKeys: PublicKey[];
}): (archivePrefix: string) => Promise<RecordedDeletions> {
	return async (archivePrefix) => {
		const { reports } = await readDeletionReports({ ...options, prefix: archivePrefix });
		const byVersion = new Map<string, RecordedDeletion>();
		const unverifiedKeys: string[] = [];
		let verifiedCount = 0;
		for (const { report, reportKey, signatureValid } of reports) {
			const verified = signatureValid === true;
			if (verified) verifiedCount++;
			else unverifiedKeys.push(reportKey);
			if (!report || (report.bucket !== undefined && report.bucket !== options.bucket)) continue;
			for (const entry of report.entries) {
				if (entry?.status !== 'deleted' || typeof entry.key !== 'string') continue;
				const id = `${String(entry.versionId)}\u0000${entry.key}`;
				const known = byVersion.get(id);
				if (known && (known.verified || !verified)) continue;
				byVersion.set(id, {
					runId: report.runId,
					reportKey,
					verified,
					deletedAt: entry.at,
					reason: entry.reason,
					sha256: entry.sha256 ?? null,
				});
			}
		}
		return {
			find: (key, versionId) => byVersion.get(`${versionId}\u0000${key}`),
			read: reports.length,
			verified: verifiedCount,
			unverifiedKeys,
		};
	};
}
