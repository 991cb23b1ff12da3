/**
 * The nodes' side of the audit trail (issue 18; docs/FORMAT.md, "Audit trail"): every operation that
 * reveals or changes the archive runs through {@link audited}, which appends one signed event with
 * n8n's workflow and execution ids after the operation ran, whether it succeeded or failed.
 *
 * Events are signed with the OpenPGP Private Key credential the operation already holds (the key that
 * decrypts for Get and Export, signs seals, or is the Retention Sweeper's archive key), so an audited
 * operation needs no other key; there is no switch to turn auditing off.
 */
import type { S3Client } from '@aws-sdk/client-s3';
import { NodeOperationError, type IExecuteFunctions } from 'n8n-workflow';

import {
	appendAuditEvent,
	normalizeAuditEventInput,
	normalizeAuditScope,
	normalizePrefix,
	normalizeRetentionClass,
	type AuditEventInput,
	type AuditOperation,
	type AuditResult,
	type AuditScope,
	type ManifestSigner,
} from '../../lib/archive';
import { assertSigningKey, PgpError, type PrivateKey } from '../../lib/pgp';
import { toNodeError } from './errors';

/** Where the event goes and who signs it. */
export interface AuditTarget {
	client: S3Client;
	bucket: string;
	/** The archive prefix: the trail is `<prefix>/_audit/`. */
	prefix: string;
	/** The archive key the operation holds (an unlocked private key, or the Retention Sweeper's signer). */
	signer: ManifestSigner | PrivateKey;
}

/** What an audited operation records. */
export interface AuditedOperation<T> {
	operation: AuditOperation;
	/** What the operation is asked to touch, known before it runs: the scope of a failure event too. */
	scope?: AuditScope;
	/** Counts, result (default `success`) and scope fields learned from what the operation returned. */
	outcome(value: T): { counts?: Record<string, number>; result?: AuditResult; scope?: AuditScope };
	/** Releases a value that is not returned because its event could not be written (e.g. a plaintext spool). */
	discard?(value: T): Promise<void> | void;
}

/** n8n's ids as the event format takes them (letters, digits, "_", "-"); anything else is left out. */
const N8N_ID = /^[A-Za-z0-9_-]{1,64}$/;
const ERROR_CODE = /^[A-Za-z][A-Za-z0-9_.-]{0,63}$/;

function n8nId(value: unknown): string | null {
	const text = value === undefined || value === null ? '' : String(value).trim();
	return N8N_ID.test(text) ? text : null;
}

/**
 * The workflow id and execution id of this run. n8n gives action nodes no accessor for the user who
 * started a run (IExecuteFunctions has none; `userId` stays in n8n-core's additional data), so `user`
 * is null.
 */
function executionIds(context: IExecuteFunctions): Pick<AuditEventInput, 'workflowId' | 'executionId' | 'user'> {
	return {
		workflowId: n8nId(context.getWorkflow().id),
		executionId: n8nId(context.getExecutionId()),
		user: null,
	};
}

/** The stable code of a failure (the store's, the engine's, else the error's name); never its message. */
function errorCodeOf(error: unknown): string | null {
	const { storeCode, code, name } = (error ?? {}) as { storeCode?: unknown; code?: unknown; name?: unknown };
	for (const candidate of [storeCode, code, name]) if (typeof candidate === 'string' && ERROR_CODE.test(candidate)) return candidate;
	return null;
}

/**
 * Runs `run` for the node run `context` and appends its audit event:
 *
 * 1. validates the event before anything runs (pseudonymous scope, prefix), so a request the trail
 *    would refuse changes nothing;
 * 2. runs the operation; when it fails, appends a `failure` event with the error's code and throws the
 *    operation's error (an event that cannot be written then is logged as a warning: the operation has
 *    failed already);
 * 3. when it succeeded, appends the event with the counts of `outcome`, and only then returns the value:
 *    if the event cannot be written, the value is discarded and the append's error thrown, so no
 *    plaintext leaves an operation whose access is not on record.
 *
 * @throws ArchiveError `InvalidInput` when the event would be refused; the operation's error; the append's error.
 */
export async function audited<T>(
	context: IExecuteFunctions,
	target: AuditTarget,
	audit: AuditedOperation<T>,
	run: () => Promise<T>,
): Promise<T> {
	const base: AuditEventInput = { operation: audit.operation, scope: audit.scope ?? {}, result: 'success', ...executionIds(context) };
	normalizeAuditEventInput(base, normalizePrefix(target.prefix));
	const append = async (event: AuditEventInput) =>
		await appendAuditEvent({ client: target.client, bucket: target.bucket, prefix: target.prefix, signer: target.signer, event });

	let value: T;
	try {
		value = await run();
	} catch (error) {
		await append({ ...base, result: 'failure', errorCode: errorCodeOf(error) }).catch((auditError: unknown) => {
			context.logger.warn(`The audit event of a failed ${audit.operation} could not be written: ${(auditError as Error)?.message ?? String(auditError)}`);
		});
		// the operation's own error, unchanged: runPerItem maps it to NodeOperationError / NodeApiError with the node's hints
		// eslint-disable-next-line @n8n/community-nodes/require-node-api-error
		throw error;
	}
	let recorded = false;
	try {
		const outcome = audit.outcome(value);
		const learned = Object.fromEntries(Object.entries(outcome.scope ?? {}).filter(([, entry]) => entry !== undefined));
		await append({ ...base, scope: { ...base.scope, ...learned }, counts: outcome.counts, result: outcome.result ?? 'success' });
		recorded = true;
	} finally {
		if (!recorded) await audit.discard?.(value);
	}
	return value;
}

/**
 * Checks that the key that decrypts can also sign the audit event, before anything is read.
 *
 * @throws NodeOperationError naming the operation and the fix when the key has no usable signing (sub)key.
 */
export async function assertAuditSigningKey(this: IExecuteFunctions, key: PrivateKey, itemIndex: number, purpose: string): Promise<void> {
	try {
		await assertSigningKey(key);
	} catch (error) {
		if (!(error instanceof PgpError)) throw toNodeError(this.getNode(), error, itemIndex);
		throw new NodeOperationError(this.getNode(), `${purpose} records each access in the archive's audit trail, signed with the OpenPGP Private Key credential, and this key cannot sign: ${error.message}`, {
			itemIndex,
			description: 'Use the archive key with a valid signing (sub)key in the OpenPGP Private Key credential (gpg --quick-add-key <fingerprint> ed25519 sign)',
		});
	}
}

/** The UTC day `yyyy-mm-dd` of a date parameter (a date-time without a zone is UTC, as n8n gives it); undefined when empty or not a date. */
export function scopeDay(value: unknown): string | undefined {
	const text = value instanceof Date ? value.toISOString() : String(value ?? '').trim();
	if (!text) return undefined;
	const zoned = /[zZ]|[+-]\d{2}:?\d{2}$/.test(text.slice(10));
	const date = new Date(/^\d{4}-\d{2}-\d{2}$/.test(text) ? `${text}T00:00:00Z` : zoned ? text : `${text}Z`);
	return Number.isNaN(date.getTime()) ? undefined : date.toISOString().slice(0, 10);
}

/** The retention class names that are valid (normalised); the engine refuses the others itself. */
export function scopeClasses(names: Array<string | undefined>): string[] | undefined {
	const valid = new Set<string>();
	for (const name of names) {
		try {
			valid.add(normalizeRetentionClass(String(name ?? '')));
		} catch {
			// not a class: the operation reports it
		}
	}
	return valid.size ? [...valid] : undefined;
}

/**
 * `<prefix>/<folder>` (the prefix itself for an empty folder) as `scope.keyPrefixes` takes it, when the
 * folder fits the archive key layout (class, phone_number_id, date, pseudonym); else undefined.
 */
export function scopeFolder(prefix: string, folder: string): string[] | undefined {
	try {
		const archivePrefix = normalizePrefix(prefix);
		const entry = folder.trim() ? `${archivePrefix}/${folder.trim()}` : archivePrefix;
		return normalizeAuditScope({ keyPrefixes: [entry] }, archivePrefix).keyPrefixes;
	} catch {
		return undefined;
	}
}
