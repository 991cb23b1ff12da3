import { createHmac } from 'node:crypto';

import canonicalize from 'canonicalize';
import { DateTime } from 'luxon';

import { ACCOUNT_SEGMENT } from './layout';
import { ArchiveError, type AuditEvent, type AuditOperation, type AuditResult, type AuditScope } from './types';

/**
 * The audit event format (docs/FORMAT.md, "Audit trail"): what an event may say, its key, and the
 * exact bytes that are stored, hashed and signed. Pure functions: no store access.
 *
 * An event is stored at `<prefix>/_audit/<yyyy-mm-dd>/<seq, 12 digits>.json`. The day folder is not
 * the event's own day but the later of the previous event's folder and the previous event's UTC day
 * (the first event: its own day): every writer that extends event n computes the same key for n + 1,
 * so the store's conditional write on that one key decides which of two concurrent writers is n + 1,
 * and keys list in sequence order. A time-derived part of the key taken from the writer's own clock
 * would let two writers on either side of midnight both write an n + 1 under two keys (a fork).
 */

/** Folder (under the archive prefix) holding the audit trail. */
export const AUDIT_FOLDER = '_audit';

/** Every operation an event may record. */
export const AUDIT_OPERATIONS: readonly AuditOperation[] = [
	'get',
	'get-decrypt',
	'list',
	'export',
	'hold-place',
	'hold-release',
	'sweep-plan',
	'sweep-execute',
	'lifecycle-apply',
	'seal-create',
	'seal-verify',
	'audit-verify',
];

const RESULTS: readonly AuditResult[] = ['success', 'partial', 'failure'];

/** Largest stored event: keeps every read of the trail bounded (a scope this large names a prefix instead). */
export const MAX_AUDIT_EVENT_BYTES = 64 * 1024;

/** Most entries in one scope list and most named counts. */
export const MAX_SCOPE_ENTRIES = 1000;
export const MAX_COUNTS = 32;

/** Digits of a sequence number in a key (sorts as text in sequence order up to 10^12 - 1 events). */
const SEQ_DIGITS = 12;

/** What the caller of `appendAuditEvent` says about an operation. */
export interface AuditEventInput {
	operation: AuditOperation;
	/** Pseudonymous scope; anything else is refused. */
	scope?: AuditScope;
	counts?: Record<string, number>;
	result: AuditResult;
	errorCode?: string | null;
	/** n8n's `$workflow.id`, `$execution.id`, and the user's id or e-mail address where n8n exposes it. */
	workflowId?: string | null;
	executionId?: string | null;
	user?: string | null;
	/** When the operation happened (default now). */
	at?: Date;
}

/** The validated fields of an event, before it is placed in the trail. */
export type AuditEventFields = Pick<AuditEvent, 'operation' | 'scope' | 'counts' | 'result' | 'errorCode' | 'workflowId' | 'executionId' | 'user'> & { at: Date };

/**
 * `InvalidInput` naming the field and the rule. The value is never echoed: audit input can carry a
 * phone number or message text by mistake, and errors reach logs and saved executions.
 */
function invalid(field: string, rule: string): ArchiveError {
	return new ArchiveError(`Invalid audit event ${field}: ${rule}`, { code: 'InvalidInput' });
}

/**
 * How a phone number is written: `+` before a digit, or 8 or more digits with at most one space, dot,
 * dash, slash or bracket between two of them (E.164 numbers with their country code have 8–15 digits).
 */
const PHONE_NUMBER_LIKE = /\+\s*\(?\d|\d(?:[\s().\-/]?\d){7,}/;

const PSEUDONYM = /^[0-9a-f]{32}$/;
const RETENTION_CLASS = /^[a-z0-9][a-z0-9._-]{0,62}$/;
/** The legal-hold registry's matter id rule (lib/retention/holds.ts `normalizeMatterId`). */
const MATTER_ID = /^[A-Za-z0-9][A-Za-z0-9._-]{0,99}$/;
const RUN_ID = /^\d{8}T\d{6}Z-[0-9a-f]{8}$/;
const SEAL_ID = /^\d{8}T\d{9}Z-[0-9a-f]{8}$/;
const DAY = /^\d{4}-\d{2}-\d{2}$/;
const N8N_ID = /^[A-Za-z0-9_-]{1,64}$/;
const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;
const USER = /^[A-Za-z0-9._%+@-]{1,254}$/;
const COUNT_NAME = /^[a-z][A-Za-z0-9]{0,31}$/;
const ERROR_CODE = /^[A-Za-z][A-Za-z0-9_.-]{0,63}$/;

/**
 * Segment rules of an archive key below the prefix, in order (layout.ts):
 * `<class>/<phone_number_id | _unknown | _quarantine | <channel>-<account_id>>/<yyyy>/<mm>/<dd>/<pseudonym | _unknown>/<record file>`.
 */
const KEY_SEGMENTS: ReadonlyArray<[string, RegExp]> = [
	['retention class', RETENTION_CLASS],
	['phone_number_id', ACCOUNT_SEGMENT],
	['year', /^\d{4}$/],
	['month', /^\d{2}$/],
	['day', /^\d{2}$/],
	['pseudonym', /^(?:[0-9a-f]{32}|_unknown)$/],
	['record file', /^[0-9a-f]{32}(?:\.pgp|\.media(?:-\d+)?\.pgp)?$/],
];

/** A valid calendar day `yyyy-mm-dd`, or null. */
export function calendarDay(value: string): string | null {
	return DAY.test(value) && DateTime.fromISO(value, { zone: 'utc' }).isValid ? value : null;
}

function stringList(value: unknown, field: string, check: (entry: string) => string): string[] | undefined {
	if (value === undefined || value === null) return undefined;
	if (!Array.isArray(value)) throw invalid(field, 'must be a list of strings');
	if (value.length > MAX_SCOPE_ENTRIES)
		throw invalid(field, `has more than ${MAX_SCOPE_ENTRIES} entries: name a key prefix or a date range instead`);
	const out = new Set<string>();
	for (const entry of value) {
		if (typeof entry !== 'string') throw invalid(field, 'must be a list of strings');
		out.add(check(entry.trim()));
	}
	return out.size ? [...out] : undefined;
}

function matching(field: string, pattern: RegExp, rule: string): (entry: string) => string {
	return (entry) => {
		if (!pattern.test(entry)) throw invalid(field, rule);
		return entry;
	};
}

/** An archive key or key prefix under `archivePrefix`, segment by segment (see {@link KEY_SEGMENTS}). */
function keyPrefix(archivePrefix: string): (entry: string) => string {
	return (entry) => {
		if (entry !== archivePrefix && !entry.startsWith(`${archivePrefix}/`))
			throw invalid('scope.keyPrefixes', `every entry must start with the archive prefix "${archivePrefix}/"`);
		const segments = entry.slice(archivePrefix.length + 1).split('/');
		if (segments[segments.length - 1] === '') segments.pop();
		if (segments.length > KEY_SEGMENTS.length)
			throw invalid('scope.keyPrefixes', 'an entry has more segments than an archive key');
		segments.forEach((segment, index) => {
			const [name, pattern] = KEY_SEGMENTS[index];
			if (!pattern.test(segment))
				throw invalid('scope.keyPrefixes', `segment ${index + 1} after the prefix must be a ${name} of the archive key layout (<class>/<phone_number_id>/<yyyy>/<mm>/<dd>/<pseudonym>/<record id>.pgp)`);
		});
		return entry;
	};
}

const SCOPE_FIELDS = ['pseudonyms', 'phoneNumberIds', 'classes', 'matterIds', 'keyPrefixes', 'keyDigests', 'from', 'to', 'runIds', 'sealIds'];

/**
 * The scope entry of an object key outside the archive layout: HMAC-SHA256 of the key under the
 * index key (hex), so the trail holds nothing a key could carry (a phone number, a name) while a
 * holder of the index key can still tell which object was read.
 */
export function auditKeyDigest(key: string, indexKey: string): string {
	return createHmac('sha256', Buffer.from(indexKey, 'utf8')).update('audit-key\0').update(key, 'utf8').digest('hex');
}

/**
 * Validates a scope: every field names things by pseudonym or id only.
 *
 * @throws ArchiveError `InvalidInput` naming the field (never its value) for an unknown field, a value
 *   that breaks its rule, or a matter id that could be a phone number.
 */
export function normalizeAuditScope(scope: AuditScope | undefined, archivePrefix: string): AuditScope {
	if (scope === undefined || scope === null) return {};
	if (typeof scope !== 'object' || Array.isArray(scope)) throw invalid('scope', 'must be an object');
	for (const field of Object.keys(scope)) {
		if (!SCOPE_FIELDS.includes(field))
			throw invalid(`scope.${field.slice(0, 40)}`, `is not an audit scope field (allowed: ${SCOPE_FIELDS.join(', ')}); a scope names pseudonyms and ids, never a phone number or content`);
	}
	const result: AuditScope = {};
	const set = <K extends keyof AuditScope>(field: K, value: AuditScope[K] | undefined) => {
		if (value !== undefined) result[field] = value;
	};
	set('pseudonyms', stringList(scope.pseudonyms, 'scope.pseudonyms', (entry) => matching('scope.pseudonyms', PSEUDONYM, 'every entry must be a counterparty pseudonym (32 lower-case hex characters), never a phone number')(entry.toLowerCase())));
	set('phoneNumberIds', stringList(scope.phoneNumberIds, 'scope.phoneNumberIds', matching('scope.phoneNumberIds', ACCOUNT_SEGMENT, 'every entry must be a WhatsApp phone number ID: 1–64 digits, or another channel\'s account as "<channel>-<account id>"')));
	set('classes', stringList(scope.classes, 'scope.classes', (entry) => matching('scope.classes', RETENTION_CLASS, 'every entry must be a retention class (letters, digits, ".", "_", "-", e.g. "default")')(entry.toLowerCase())));
	set('matterIds', stringList(scope.matterIds, 'scope.matterIds', (entry) => {
		if (!MATTER_ID.test(entry)) throw invalid('scope.matterIds', 'every entry must be 1–100 letters, digits, ".", "_" or "-" (e.g. SEC-2026-014)');
		if (PHONE_NUMBER_LIKE.test(entry)) throw invalid('scope.matterIds', 'an entry holds 8 or more digits in a row, which could be a phone number: use the case reference (e.g. SEC-2026-014)');
		return entry;
	}));
	set('keyPrefixes', stringList(scope.keyPrefixes, 'scope.keyPrefixes', keyPrefix(archivePrefix)));
	set('keyDigests', stringList(scope.keyDigests, 'scope.keyDigests', (entry) => matching('scope.keyDigests', /^[0-9a-f]{64}$/, 'every entry must be an HMAC-SHA256 of a key (64 lower-case hex characters, auditKeyDigest)')(entry.toLowerCase())));
	for (const field of ['from', 'to'] as const) {
		const value = scope[field];
		if (value === undefined || value === null) continue;
		const day = typeof value === 'string' ? calendarDay(value.trim()) : null;
		if (!day) throw invalid(`scope.${field}`, 'must be a date yyyy-mm-dd');
		result[field] = day;
	}
	if (result.from && result.to && result.from > result.to) throw invalid('scope.from', 'is after scope.to');
	set('runIds', stringList(scope.runIds, 'scope.runIds', matching('scope.runIds', RUN_ID, 'every entry must be a sweep run id (yyyymmddThhmmssZ-<8 hex>)')));
	set('sealIds', stringList(scope.sealIds, 'scope.sealIds', matching('scope.sealIds', SEAL_ID, 'every entry must be a seal id (yyyymmddThhmmssSSSZ-<8 hex>)')));
	return result;
}

function optionalId(value: unknown, field: string, check: (value: string) => boolean, rule: string): string | null {
	if (value === undefined || value === null || value === '') return null;
	if (typeof value !== 'string' || !check(value.trim())) throw invalid(field, rule);
	return value.trim();
}

const INPUT_FIELDS = ['operation', 'scope', 'counts', 'result', 'errorCode', 'workflowId', 'executionId', 'user', 'at'];

/**
 * Validates what a caller says about an operation.
 *
 * @throws ArchiveError `InvalidInput` naming the field and the fix (never the value).
 */
export function normalizeAuditEventInput(input: AuditEventInput, archivePrefix: string): AuditEventFields {
	if (!input || typeof input !== 'object') throw invalid('event', 'must be an object');
	for (const field of Object.keys(input)) {
		if (!INPUT_FIELDS.includes(field))
			throw invalid(field.slice(0, 40), `is not an audit event field (allowed: ${INPUT_FIELDS.join(', ')})`);
	}
	if (!AUDIT_OPERATIONS.includes(input.operation))
		throw invalid('operation', `must be one of ${AUDIT_OPERATIONS.join(', ')}`);
	if (!RESULTS.includes(input.result)) throw invalid('result', `must be one of ${RESULTS.join(', ')}`);
	const counts: Record<string, number> = {};
	if (input.counts !== undefined && input.counts !== null) {
		if (typeof input.counts !== 'object' || Array.isArray(input.counts)) throw invalid('counts', 'must be an object of named numbers');
		const entries = Object.entries(input.counts);
		if (entries.length > MAX_COUNTS) throw invalid('counts', `has more than ${MAX_COUNTS} entries`);
		for (const [name, value] of entries) {
			if (!COUNT_NAME.test(name)) throw invalid('counts', 'names must be camelCase words (e.g. records, bytes, deleted)');
			if (typeof value !== 'number' || !Number.isSafeInteger(value) || value < 0)
				throw invalid(`counts.${name}`, 'must be a whole number, 0 or more');
			counts[name] = value;
		}
	}
	const at = input.at ?? new Date();
	if (!(at instanceof Date) || Number.isNaN(at.getTime())) throw invalid('at', 'must be a valid Date');
	return {
		operation: input.operation,
		scope: normalizeAuditScope(input.scope, archivePrefix),
		counts,
		result: input.result,
		errorCode: optionalId(input.errorCode, 'errorCode', (value) => ERROR_CODE.test(value), 'must be an error code (letters, digits, ".", "_", "-"; e.g. AccessDenied)'),
		workflowId: optionalId(input.workflowId, 'workflowId', (value) => N8N_ID.test(value), "must be n8n's workflow id (letters, digits, \"_\", \"-\")"),
		executionId: optionalId(input.executionId, 'executionId', (value) => N8N_ID.test(value), "must be n8n's execution id (letters, digits, \"_\", \"-\")"),
		user: optionalId(
			input.user,
			'user',
			(value) => UUID.test(value) || (USER.test(value) && !PHONE_NUMBER_LIKE.test(value)),
			"must be n8n's user id or the user's e-mail address, without a phone number",
		),
		at,
	};
}

/** The UTC day `yyyy-mm-dd` of an ISO 8601 time or Date; null when it is not one. */
export function utcDay(time: string | Date): string | null {
	const date = time instanceof Date ? time : new Date(time);
	return Number.isNaN(date.getTime()) ? null : date.toISOString().slice(0, 10);
}

/** `<archivePrefix>/_audit`. */
export function auditFolder(archivePrefix: string): string {
	return `${archivePrefix}/${AUDIT_FOLDER}`;
}

/** Key of event `seq` filed under `day`: `<folder>/<yyyy-mm-dd>/<seq, 12 digits>.json`. */
export function auditEventKey(folder: string, day: string, seq: number): string {
	return `${folder}/${day}/${String(seq).padStart(SEQ_DIGITS, '0')}.json`;
}

/** Day and sequence number of an event key under `folder`, or null when the key is not one. */
export function parseAuditEventKey(folder: string, key: string): { day: string; seq: number } | null {
	if (!key.startsWith(`${folder}/`)) return null;
	const match = /^(\d{4}-\d{2}-\d{2})\/(\d{12})\.json$/.exec(key.slice(folder.length + 1));
	if (!match || !calendarDay(match[1])) return null;
	const seq = Number(match[2]);
	return seq >= 1 ? { day: match[1], seq } : null;
}

/**
 * The day folder of the event after one filed under `previousDay` at `previousAt`: the later of the
 * two days (so folders never go back, whatever the writers' clocks say).
 */
export function nextAuditDay(previous: { day: string; at: string }): string {
	const day = utcDay(previous.at);
	return day && day > previous.day ? day : previous.day;
}

/** The RFC 8785 (JCS) bytes of a JSON value. */
function jcs(value: unknown): Buffer {
	return Buffer.from(canonicalize(value) ?? '', 'utf8');
}

/** The bytes an event's signature covers: JCS of the event without `signature`. */
export function auditSignedBytes(event: Omit<AuditEvent, 'signature'> | AuditEvent): Buffer {
	const unsigned: Partial<AuditEvent> = { ...event };
	delete unsigned.signature;
	return jcs(unsigned);
}

/** The stored bytes of an event: JCS of the whole event (what the next event's `prevSha256` hashes). */
export function auditEventBytes(event: AuditEvent): Buffer {
	return jcs(event);
}

/**
 * Reads stored bytes as an event: JSON with the event's type, version and field types.
 * @returns the event, or the reason it is not one (no value from the bytes is repeated).
 */
export function parseAuditEvent(bytes: Buffer): { event: AuditEvent } | { reason: string } {
	let value: unknown;
	try {
		value = JSON.parse(bytes.toString('utf8'));
	} catch {
		return { reason: 'not JSON' };
	}
	const event = value as AuditEvent;
	if (!event || typeof event !== 'object' || event.type !== 'chat-archive.audit-event' || event.version !== 1)
		return { reason: 'not a chat-archive.audit-event of version 1' };
	const isNullableString = (field: unknown) => field === null || typeof field === 'string';
	if (
		!Number.isSafeInteger(event.seq) ||
		event.seq < 1 ||
		typeof event.at !== 'string' ||
		!utcDay(event.at) ||
		typeof event.signature !== 'string' ||
		!isNullableString(event.prevKey) ||
		!isNullableString(event.prevSha256)
	)
		return { reason: 'seq, at, signature, prevKey or prevSha256 is missing or of the wrong type' };
	return { event };
}
