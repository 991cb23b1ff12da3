import { createHash, randomBytes } from 'node:crypto';
import { GetObjectCommand, ListObjectsV2Command, type S3Client } from '@aws-sdk/client-s3';
import { DateTime, Duration } from 'luxon';

import { writeObject } from '../archive';
import { verify, type PublicKey } from '../pgp';
import { storeError } from './store';
import { RetentionError, type DeletionEntry, type ReportLock, type ReportSigner } from './types';

/**
 * Write-ahead sweep plans and signed deletion reports, stored per run under
 * `<prefix>/_reports/<runId>/`:
 *
 * - `plan.json`: written before the first deletion; the versions the run is about to delete.
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
export const DEFAULT_REPORT_LOCK: ReportLock = { mode: 'GOVERNANCE', retention: 'P7Y' };

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
	deletions: Array<Pick<DeletionEntry, 'key' | 'versionId' | 'isDeleteMarker' | 'size' | 'retentionClass' | 'recordDate'> & { expiresAt: string }>;
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
export function runObjectKeys(prefix: string, runId: string): { planKey: string; reportKey: string; signatureKey: string } {
	const folder = `${prefix}/${REPORTS_FOLDER}/${runId}`;
	return { planKey: `${folder}/plan.json`, reportKey: `${folder}/report.json`, signatureKey: `${folder}/report.json.asc` };
}

/**
 * Writes one JSON (or text) object once, with Content-MD5, and Object Lock `lock` when
 * `objectLockEnabled`. Returns the SHA-256 hex of the bytes.
 *
 * @throws RetentionError `StoreError` (including a key that already exists: reports are never replaced).
 */
export async function writeAuditObject(options: {
	client: S3Client;
	bucket: string;
	key: string;
	body: Uint8Array;
	contentType: string;
	lock?: ReportLock | null;
	objectLockEnabled: boolean;
}): Promise<string> {
	const lock = options.objectLockEnabled && options.lock ? options.lock : null;
	let result;
	try {
		result = await writeObject({
			client: options.client,
			bucket: options.bucket,
			key: options.key,
			body: options.body,
			contentType: options.contentType,
			...(lock
				? { objectLock: { mode: lock.mode, retainUntil: DateTime.utc().plus(Duration.fromISO(lock.retention)).toJSDate() } }
				: {}),
		});
	} catch (error) {
		throw storeError(error, 'PutObject', options.bucket, options.key);
	}
	if (result.status !== 'created') {
		throw new RetentionError('StoreError', `${options.key} already exists in bucket "${options.bucket}"; audit objects are never replaced`);
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
	lock?: ReportLock | null;
	objectLockEnabled: boolean;
}): Promise<{ reportKey: string; signatureKey: string | null; signerFingerprint: string | null; sha256: string }> {
	const { reportKey, signatureKey } = runObjectKeys(options.prefix, options.report.runId);
	const body = jsonBytes(options.report);
	// Sign first: a failing signer leaves no unsigned report behind (the run stays "interrupted").
	const signed = options.signer ? await options.signer(body) : null;
	const sha256 = await writeAuditObject({ ...options, key: reportKey, body, contentType: 'application/json' });
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

/** Reads a JSON audit object (plan or report). @throws RetentionError `StoreError` / `InvalidInput`. */
export async function readAuditObject<T>(client: S3Client, bucket: string, key: string): Promise<{ document: T; bytes: Buffer }> {
	let bytes: Buffer;
	try {
		const response = await client.send(new GetObjectCommand({ Bucket: bucket, Key: key }));
		bytes = Buffer.from(await response.Body!.transformToByteArray());
	} catch (error) {
		throw storeError(error, 'GetObject', bucket, key);
	}
	try {
		return { document: JSON.parse(bytes.toString('utf8')) as T, bytes };
	} catch {
		throw notJson(key);
	}
}

/**
 * Run ids under `<prefix>/_reports/` that have a `plan.json` but no `report.json` (interrupted runs),
 * oldest first. One ListObjectsV2 per 1000 objects in the folder.
 *
 * @throws RetentionError `StoreError`.
 */
export async function findInterruptedRuns(client: S3Client, bucket: string, prefix: string): Promise<string[]> {
	const folder = `${prefix}/${REPORTS_FOLDER}/`;
	const plans = new Set<string>();
	const reports = new Set<string>();
	let token: string | undefined;
	do {
		let page;
		try {
			page = await client.send(new ListObjectsV2Command({ Bucket: bucket, Prefix: folder, ContinuationToken: token }));
		} catch (error) {
			throw storeError(error, 'ListObjectsV2', bucket, folder);
		}
		for (const object of page.Contents ?? []) {
			const rest = object.Key?.slice(folder.length) ?? '';
			const [runId, file] = rest.split('/');
			if (file === 'plan.json') plans.add(runId);
			if (file === 'report.json') reports.add(runId);
		}
		token = page.IsTruncated ? page.NextContinuationToken : undefined;
	} while (token);
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
	report: ReportDocument;
}

/**
 * Reads every deletion report under `<prefix>/_reports/` (for audits and for the S3 Archive node's
 * Verify, which must tell deletions recorded by the sweeper from unexplained ones). With
 * `verificationKeys`, each report's detached signature is checked (`verify` of `lib/pgp`).
 * `deleted` maps `key + "\u0000" + versionId` of every version reported `deleted` (in a report whose
 * signature is valid, when keys are given) to its entry and run id.
 *
 * Requests: 1 ListObjectsV2 per 1000 objects in `_reports/` + 1–2 GetObject per report.
 *
 * @throws RetentionError `StoreError` / `InvalidInput` (a report that is not JSON).
 */
export async function readDeletionReports(options: {
	client: S3Client;
	bucket: string;
	prefix: string;
	verificationKeys?: PublicKey[];
}): Promise<{ reports: StoredDeletionReport[]; deleted: Map<string, DeletionEntry & { runId: string }> }> {
	const folder = `${options.prefix}/${REPORTS_FOLDER}/`;
	const files = new Set<string>();
	let token: string | undefined;
	do {
		let page;
		try {
			page = await options.client.send(new ListObjectsV2Command({ Bucket: options.bucket, Prefix: folder, ContinuationToken: token }));
		} catch (error) {
			throw storeError(error, 'ListObjectsV2', options.bucket, folder);
		}
		for (const object of page.Contents ?? []) if (object.Key) files.add(object.Key);
		token = page.IsTruncated ? page.NextContinuationToken : undefined;
	} while (token);
	const reports: StoredDeletionReport[] = [];
	const deleted = new Map<string, DeletionEntry & { runId: string }>();
	for (const reportKey of [...files].filter((key) => key.endsWith('/report.json')).sort()) {
		const runId = reportKey.slice(folder.length, -'/report.json'.length);
		const { document, bytes } = await readAuditObject<ReportDocument>(options.client, options.bucket, reportKey);
		const signed = files.has(`${reportKey}.asc`);
		let signatureValid: boolean | null = null;
		let signerFingerprint: string | null = null;
		if (signed && options.verificationKeys?.length) {
			const signature = await readAuditText(options.client, options.bucket, `${reportKey}.asc`);
			const result = await verify({ data: bytes, signature, verificationKeys: options.verificationKeys }).catch(() => null);
			signatureValid = Boolean(result?.valid);
			signerFingerprint = result?.signatures.find((entry) => entry.valid)?.fingerprint ?? null;
		}
		reports.push({ runId, reportKey, signed, signatureValid, signerFingerprint, report: document });
		if (options.verificationKeys?.length && signatureValid !== true) continue;
		for (const entry of document.entries ?? []) {
			if (entry.status === 'deleted') deleted.set(`${entry.key}\u0000${entry.versionId}`, { ...entry, runId });
		}
	}
	return { reports, deleted };
}

async function readAuditText(client: S3Client, bucket: string, key: string): Promise<string> {
	try {
		const response = await client.send(new GetObjectCommand({ Bucket: bucket, Key: key }));
		return await response.Body!.transformToString('utf-8');
	} catch (error) {
		throw storeError(error, 'GetObject', bucket, key);
	}
}
