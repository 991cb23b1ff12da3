import { randomBytes } from 'node:crypto';
import type { S3Client } from '@aws-sdk/client-s3';
import { DateTime } from 'luxon';

import { ACCOUNT_SEGMENT, normalizePrefix, normalizeRetentionClass, parseObjectKey, phoneNumberPseudonyms, resolveIdentity, writeObject, type ParsedObjectKey } from '../archive';
import { bucketHasObjectLock, cachedObjectLockConfiguration, getObjectBytes, listObjects, listVersions, lockUntil, mapLimit, setLegalHold, storeErrorCode, type LockRetention } from '../s3';
import { signControlObject } from './signer';
import { RetentionError, type ControlVerifier, type HoldAuthentication, type HoldEvent, type HoldScope, type Matter, type ReportSigner } from './types';

/**
 * Legal-hold matter registry. Each place / release is a new JSON object
 * `<prefix>/_holds/<matterId>/<yyyymmddThhmmssSSSZ>-<place|release>-<random>.json`, written once
 * (`If-None-Match: *`) and never deleted or overwritten: the registry is its own audit trail (who,
 * when, why, which scope). The sweeper honours active matters from the registry, and placing /
 * releasing also sets / clears the S3 legal-hold flag (PutObjectLegalHold) on matching versions, so
 * server-side lifecycle rules and other tools respect the hold too.
 */

/** Folder (under the prefix) holding the registry. */
export const HOLDS_FOLDER = '_holds';

const MATTER_ID = /^[A-Za-z0-9][A-Za-z0-9._-]{0,99}$/;
const DAY = /^\d{4}-\d{2}-\d{2}$/;

function invalidScope(message: string): RetentionError {
	return new RetentionError('InvalidHoldScope', message);
}

/**
 * Validates a matter id: 1–100 characters of letters, digits, `.`, `_`, `-`, starting with a letter
 * or digit (e.g. `SEC-2026-014`).
 *
 * @throws RetentionError `InvalidInput`.
 */
export function normalizeMatterId(matterId: string): string {
	const value = typeof matterId === 'string' ? matterId.trim() : '';
	if (!MATTER_ID.test(value)) {
		throw new RetentionError(
			'InvalidInput',
			`Matter id "${String(matterId).slice(0, 100)}" must be 1–100 letters, digits, ".", "_" or "-" (e.g. SEC-2026-014)`,
		);
	}
	return value;
}

/**
 * Validates and normalises a scope. Phone numbers given in `phoneNumbers` are turned into counterparty
 * pseudonyms with `indexKey` (HMAC of every WhatsApp form of the number, `phoneNumberPseudonyms` of
 * `lib/archive`) and never stored.
 *
 * @throws RetentionError `InvalidHoldScope` naming the bad field (dates, pseudonyms, classes, ids, or
 *   phone numbers without an index key).
 */
export function normalizeScope(scope: HoldScope & { phoneNumbers?: string[] }, indexKey?: string): HoldScope {
	const clean = (values: string[] | undefined) =>
		(values ?? []).map((value) => String(value).trim()).filter((value) => value !== '');
	const result: HoldScope = {};
	const phoneNumberIds = clean(scope.phoneNumberIds);
	for (const id of phoneNumberIds) {
		// the rule, never the value: a phone number typed into the wrong field must not reach the logs
		if (!ACCOUNT_SEGMENT.test(id) || id === '_quarantine') {
			throw invalidScope(
				'A phone_number_id must be a WhatsApp phone number ID: 1–64 digits (or "_unknown"), or another channel\'s account as "<channel>-<account id>" (e.g. "messenger-1045566778899")',
			);
		}
	}
	if (phoneNumberIds.length) result.phoneNumberIds = [...new Set(phoneNumberIds)];
	const pseudonyms = clean(scope.pseudonyms).map((value) => value.toLowerCase());
	for (const pseudonym of pseudonyms) {
		if (!/^[0-9a-f]{32}$/.test(pseudonym))
			throw invalidScope('A counterparty pseudonym must be 32 hex characters');
	}
	const phoneNumbers = clean(scope.phoneNumbers);
	if (phoneNumbers.length) {
		if (!indexKey)
			throw invalidScope(
				'Counterparty phone numbers need the index key of the S3 Archive credential to be matched',
			);
		for (const phoneNumber of phoneNumbers) {
			try {
				pseudonyms.push(...phoneNumberPseudonyms({ indexKey, phoneNumber }));
			} catch (error) {
				throw invalidScope(
					`A counterparty phone number could not be used: ${(error as Error).message}`,
				);
			}
		}
	}
	if (pseudonyms.length) result.pseudonyms = [...new Set(pseudonyms)];
	for (const field of ['from', 'to'] as const) {
		const value = scope[field]?.trim();
		if (!value) continue;
		const day = value.slice(0, 10);
		if (!DAY.test(day) || !DateTime.fromISO(day, { zone: 'utc' }).isValid) {
			throw invalidScope(
				`Scope "${field}" must be a date yyyy-mm-dd (got "${value.slice(0, 30)}")`,
			);
		}
		result[field] = day;
	}
	if (result.from && result.to && result.from > result.to)
		throw invalidScope('Scope "from" is after "to"');
	const classes = clean(scope.classes);
	if (classes.length) {
		try {
			result.classes = [...new Set(classes.map(normalizeRetentionClass))];
		} catch (error) {
			throw invalidScope((error as Error).message);
		}
	}
	return result;
}

/**
 * Whether a parsed archive key (`parseObjectKey` of `lib/archive`) falls in a scope: every given
 * criterion must match (phone_number_id, pseudonym, record date within from..to inclusive, class).
 */
export function matchesScope(
	scope: HoldScope,
	key: Pick<ParsedObjectKey, 'phoneNumberId' | 'pseudonym' | 'date' | 'retentionClass'>,
): boolean {
	if (scope.phoneNumberIds?.length && !scope.phoneNumberIds.includes(key.phoneNumberId))
		return false;
	if (scope.pseudonyms?.length && !scope.pseudonyms.includes(key.pseudonym)) return false;
	if (scope.classes?.length && !scope.classes.includes(key.retentionClass)) return false;
	if (scope.from && key.date < scope.from) return false;
	if (scope.to && key.date > scope.to) return false;
	return true;
}

function notAHoldEvent(key: string): RetentionError {
	return new RetentionError(
		'InvalidInput',
		`Hold registry object ${key} is not a hold event (JSON of type chat-archive.hold-event)`,
	);
}

/** Every scope a matter holds: its own and those of later `place` events while it was active. */
export function matterScopes(matter: Pick<Matter, 'scope' | 'extraScopes'>): HoldScope[] {
	return [matter.scope, ...(matter.extraScopes ?? [])];
}

/** Whether a matter covers a parsed archive key (any of its scopes, {@link matchesScope}). */
export function matterCovers(
	matter: Pick<Matter, 'scope' | 'extraScopes'>,
	key: Parameters<typeof matchesScope>[1],
): boolean {
	return matterScopes(matter).some((scope) => matchesScope(scope, key));
}

/** Result of {@link loadHolds}. */
export interface LoadHoldsResult extends HoldAuthentication {
	/** Every matter ever recorded, active or released, sorted by matter id. */
	matters: Matter[];
	/** Requests sent (GetObject only for events not read before by this process, see {@link loadHolds}). */
	requests: { listObjectsV2: number; getObject: number };
}

/** One registry event read and checked. */
interface ReadEvent {
	key: string;
	event: HoldEvent;
	verified: boolean;
}

/** Events read by this process, by verifier, bucket, key and ETags of event and signature (objects never change under one ETag). */
const eventCache = new WeakMap<object, Map<string, ReadEvent>>();
const NO_VERIFIER = {};
const EVENT_CACHE_LIMIT = 10_000;

/** An event's scope as stored; one that does not validate holds everything (fail safe: keep). */
function storedScope(scope: unknown): HoldScope {
	try {
		return normalizeScope((scope ?? {}) as HoldScope);
	} catch {
		return {};
	}
}

async function readEvent(
	options: { client: S3Client; bucket: string; verifier?: ControlVerifier | null },
	key: string,
	signatureKey: string | null,
	requests: LoadHoldsResult['requests'],
): Promise<ReadEvent> {
	const bytes = await getObjectBytes(options.client, options.bucket, key);
	requests.getObject += 1;
	let event: HoldEvent;
	try {
		event = JSON.parse(bytes.toString('utf8')) as HoldEvent;
	} catch {
		throw notAHoldEvent(key);
	}
	if (
		event?.type !== 'chat-archive.hold-event' ||
		typeof event.matterId !== 'string' ||
		typeof event.at !== 'string' ||
		(event.action !== 'place' && event.action !== 'release')
	) {
		throw notAHoldEvent(key);
	}
	let verified = false;
	// the folder must name the signed matter: a signed event copied under another matter proves nothing
	const inItsFolder = key.split('/').slice(-2, -1)[0] === event.matterId;
	if (options.verifier && signatureKey && inItsFolder) {
		const signature = (await getObjectBytes(options.client, options.bucket, signatureKey)).toString('utf8');
		requests.getObject += 1;
		verified = (await options.verifier(bytes, signature)).valid;
	}
	return { key, event: { ...event, scope: storedScope(event.scope) }, verified };
}

/**
 * Reads the matter registry (ListObjectsV2 under `<prefix>/_holds/`, then a GetObject of each event and
 * of its detached signature `<event>.json.asc`, at most `concurrency` (default 16) at a time) and
 * replays the events per matter in time order. Events (with their check) are kept per process by key
 * and ETag, so a later call reads only new events: one ListObjectsV2 page when nothing changed.
 *
 * Authentication (docs/FORMAT.md, "Legal-hold registry"): an event is verified when its signature
 * verifies with `verifier` (the archive's key) and it lies in its matter's folder. Fail safe:
 * - a `place` event is honoured whether verified or not (the matter's `verified` says which);
 *   a second `place` of an active matter adds its scope (`extraScopes`), it never narrows one;
 * - a `release` event counts only when verified; others are ignored and named in `ignoredReleaseKeys`.
 * Without a verifier no release counts: every matter ever placed stays active.
 *
 * @throws RetentionError `InvalidInput` when an event object is not a hold event (the registry must
 *   not be guessed at); ArchiveError when listing or reading fails.
 */
export async function loadHolds(options: {
	client: S3Client;
	bucket: string;
	prefix: string;
	concurrency?: number;
	/** Checks event signatures; without it no release counts (fail safe: keep). */
	verifier?: ControlVerifier | null;
}): Promise<LoadHoldsResult> {
	const prefix = normalizePrefix(options.prefix);
	const folder = `${prefix}/${HOLDS_FOLDER}/`;
	const requests = { listObjectsV2: 0, getObject: 0 };
	const etags = new Map<string, string>();
	for await (const page of listObjects(options.client, { Bucket: options.bucket, Prefix: folder }, {
		onPage: () => (requests.listObjectsV2 += 1),
	})) {
		for (const object of page) if (object.Key) etags.set(object.Key, object.ETag ?? '');
	}
	const keys = [...etags.keys()].filter((key) => key.endsWith('.json'));
	let cache = eventCache.get(options.verifier ?? NO_VERIFIER);
	if (!cache) {
		cache = new Map();
		eventCache.set(options.verifier ?? NO_VERIFIER, cache);
	}
	if (cache.size > EVENT_CACHE_LIMIT) cache.clear();

	const events = await mapLimit(keys, options.concurrency ?? 16, async (key) => {
		const signatureKey = etags.has(`${key}.asc`) ? `${key}.asc` : null;
		const cacheKey = `${options.bucket}\u0000${key}\u0000${etags.get(key)}\u0000${signatureKey ? etags.get(signatureKey) : ''}`;
		const known = cache.get(cacheKey);
		if (known) return known;
		const read = await readEvent(options, key, signatureKey, requests);
		cache.set(cacheKey, read);
		return read;
	});
	events.sort((a, b) =>
		a.event.at < b.event.at ? -1 : a.event.at > b.event.at ? 1 : a.key < b.key ? -1 : 1,
	);

	const matters = new Map<string, Matter>();
	const authentication: HoldAuthentication = { verifiedEvents: 0, unverifiedEventKeys: [], ignoredReleaseKeys: [] };
	for (const { key, event, verified } of events) {
		if (verified) authentication.verifiedEvents += 1;
		else authentication.unverifiedEventKeys.push(key);
		const existing = matters.get(event.matterId);
		if (event.action === 'place') {
			if (existing?.active) {
				// another place while active: widens, never narrows (a forged event cannot shrink a hold)
				const known = matterScopes(existing).map((scope) => JSON.stringify(scope));
				if (!known.includes(JSON.stringify(event.scope)))
					existing.extraScopes = [...(existing.extraScopes ?? []), event.scope];
				existing.verified = existing.verified && verified;
				existing.eventKeys.push(key);
				continue;
			}
			matters.set(event.matterId, {
				matterId: event.matterId,
				active: true,
				scope: event.scope,
				placedAt: event.at,
				placedBy: event.actor,
				reason: event.reason,
				eventKeys: [...(existing?.eventKeys ?? []), key],
				verified,
			});
		} else if (!verified) {
			authentication.ignoredReleaseKeys.push(key);
		} else if (existing) {
			existing.active = false;
			existing.releasedAt = event.at;
			existing.releasedBy = event.actor;
			existing.eventKeys.push(key);
		}
	}
	return {
		matters: [...matters.values()].sort((a, b) => (a.matterId < b.matterId ? -1 : 1)),
		requests,
		...authentication,
	};
}

/**
 * How long the registry as read for a new record is reused (per client, bucket, prefix and verifier),
 * so that a stream of new records costs one ListObjectsV2 per interval, not one per record. Place Hold
 * and Release Hold wait this long after recording their event before they set or clear the flags of
 * the versions in scope: a record written before their pass is flagged by it, one written after it
 * read a registry that holds the event.
 */
export const NEW_RECORD_REGISTRY_TTL_MS = 2_000;

const registryReads = new WeakMap<S3Client, Map<string, { until: number; loaded: Promise<LoadHoldsResult> }>>();
const verifierIds = new WeakMap<object, number>();
let nextVerifierId = 0;

async function registryForNewRecords(client: S3Client, bucket: string, prefix: string, verifier: ControlVerifier | null): Promise<{ loaded: LoadHoldsResult; fresh: boolean }> {
	let perClient = registryReads.get(client);
	if (!perClient) registryReads.set(client, (perClient = new Map()));
	let verifierId = 0;
	if (verifier) {
		verifierId = verifierIds.get(verifier) ?? ++nextVerifierId;
		verifierIds.set(verifier, verifierId);
	}
	const cacheKey = `${bucket}\0${prefix}\0${verifierId}`;
	const cached = perClient.get(cacheKey);
	if (cached && Date.now() < cached.until) return { loaded: await cached.loaded, fresh: false };
	const entry = { until: Date.now() + NEW_RECORD_REGISTRY_TTL_MS, loaded: loadHolds({ client, bucket, prefix, verifier }) };
	perClient.set(cacheKey, entry);
	// a failed read is not reused
	entry.loaded.catch(() => perClient!.delete(cacheKey));
	return { loaded: await entry.loaded, fresh: true };
}

/** Result of {@link legalHoldForNewRecord}. */
export interface NewRecordHold {
	/** Send `x-amz-object-lock-legal-hold: ON` with the write. */
	legalHold: boolean;
	/** Active matters whose scope covers the key (the flag is set only on Object Lock buckets). */
	matterIds: string[];
	objectLockEnabled: boolean | null;
	/** ListObjectsV2 + GetObject (new events only) + GetObjectLockConfiguration (through lib/s3 `cachedObjectLockConfiguration`) sent. */
	requests: number;
}

/** Whether a scope naming pseudonyms matches the key on everything but the pseudonym. */
function matchesBesidesPseudonym(scope: HoldScope, key: ParsedObjectKey): boolean {
	return Boolean(scope.pseudonyms?.length) && matchesScope({ ...scope, pseudonyms: undefined }, key);
}

/**
 * Whether a record about to be written under `key` falls in an active matter, so the write carries the
 * S3 legal-hold flag (and lifecycle rules cannot expire it during the matter). Reads the registry at
 * most once per {@link NEW_RECORD_REGISTRY_TTL_MS} (`loadHolds`: one ListObjectsV2, events already
 * read are cached per process); Place Hold flags what was written before it waited that long, so no
 * record escapes its matter. A key outside the archive layout is never flagged.
 *
 * A matter naming counterparties also covers the record when one of the record's other identities is
 * named: `identityPseudonyms` (those the record itself names, e.g. its phone number beside a BSUID),
 * and, with `indexKey`, every identity linked to them (`resolveIdentity` of `lib/archive`: one
 * ListObjectsV2 per identity, sent only when such a matter matches the record on everything else).
 *
 * @throws as {@link loadHolds}; ArchiveError from `resolveIdentity`.
 */
export async function legalHoldForNewRecord(options: {
	client: S3Client;
	bucket: string;
	key: string;
	verifier?: ControlVerifier | null;
	/** Pseudonyms of the identities the record names (its own key's pseudonym is always included). */
	identityPseudonyms?: string[];
	/** Follows identity links (`_identities/`) when given. */
	indexKey?: string;
}): Promise<NewRecordHold> {
	const parsed = parseObjectKey(options.key);
	if (!parsed) return { legalHold: false, matterIds: [], objectLockEnabled: null, requests: 0 };
	const { loaded, fresh } = await registryForNewRecords(options.client, options.bucket, parsed.prefix, options.verifier ?? null);
	let requests = fresh ? loaded.requests.listObjectsV2 + loaded.requests.getObject : 0;
	const active = loaded.matters.filter((matter) => matter.active);
	const covering = new Set(active.filter((matter) => matterCovers(matter, parsed)).map((matter) => matter.matterId));
	const byPerson = active.filter((matter) => !covering.has(matter.matterId) && matterScopes(matter).some((scope) => matchesBesidesPseudonym(scope, parsed)));
	if (byPerson.length > 0) {
		const person = new Set([parsed.pseudonym, ...(options.identityPseudonyms ?? [])]);
		if (options.indexKey) {
			const resolved = await resolveIdentity({ client: options.client, bucket: options.bucket, prefix: parsed.prefix, indexKey: options.indexKey, pseudonyms: [...person] });
			requests += resolved.requests;
			for (const pseudonym of resolved.pseudonyms) person.add(pseudonym);
		}
		for (const matter of byPerson) {
			const named = matterScopes(matter).some(
				(scope) => matchesBesidesPseudonym(scope, parsed) && scope.pseudonyms!.some((pseudonym) => person.has(pseudonym)),
			);
			if (named) covering.add(matter.matterId);
		}
	}
	const matterIds = active.map((matter) => matter.matterId).filter((id) => covering.has(id));
	if (matterIds.length === 0) return { legalHold: false, matterIds, objectLockEnabled: null, requests };
	// the bucket's configuration through lib/s3's cache, shared with the archive write
	const { enabled } = await cachedObjectLockConfiguration(options.client, options.bucket, () => (requests += 1));
	return { legalHold: enabled, matterIds, objectLockEnabled: enabled, requests };
}

/** Outcome of setting or clearing legal-hold flags. */
export interface LegalHoldFlagResult {
	/** Whether the bucket has Object Lock (without it, only the registry holds). */
	objectLockEnabled: boolean;
	/** Versions (not delete markers) in scope. */
	matched: number;
	/** Versions whose flag was set (place) or cleared (release). */
	changed: number;
	/** Versions left unchanged on release because another active matter covers them. */
	keptForOtherMatters: number;
	/** Versions the store refused, with its error code. */
	failed: Array<{ key: string; versionId: string; code: string }>;
	/** ListObjectVersions + PutObjectLegalHold requests made. */
	requests: number;
}

function scopeListPrefixes(prefix: string, scope: HoldScope): string[] {
	if (!scope.classes?.length) return [`${prefix}/`];
	return scope.classes.flatMap((retentionClass) =>
		scope.phoneNumberIds?.length
			? scope.phoneNumberIds.map((id) => `${prefix}/${retentionClass}/${id}/`)
			: [`${prefix}/${retentionClass}/`],
	);
}

async function applyLegalHoldFlags(options: {
	client: S3Client;
	bucket: string;
	prefix: string;
	scope: HoldScope;
	status: 'ON' | 'OFF';
	/** On release: scopes of matters still active (their versions keep the flag). */
	otherScopes: HoldScope[];
	concurrency: number;
}): Promise<LegalHoldFlagResult> {
	const result: LegalHoldFlagResult = {
		objectLockEnabled: await bucketHasObjectLock(options.client, options.bucket),
		matched: 0,
		changed: 0,
		keptForOtherMatters: 0,
		failed: [],
		requests: 1,
	};
	if (!result.objectLockEnabled) return result;
	for (const listPrefix of scopeListPrefixes(options.prefix, options.scope)) {
		for await (const page of listVersions(options.client, options.bucket, listPrefix, {
			onPage: () => (result.requests += 1),
		})) {
			const targets = page.filter((version) => {
				if (version.isDeleteMarker) return false;
				const parsed = parseObjectKey(version.key);
				if (!parsed || parsed.prefix !== options.prefix || !matchesScope(options.scope, parsed))
					return false;
				result.matched += 1;
				if (options.otherScopes.some((scope) => matchesScope(scope, parsed))) {
					result.keptForOtherMatters += 1;
					return false;
				}
				return true;
			});
			await mapLimit(targets, options.concurrency, async (version) => {
				result.requests += 1;
				try {
					await setLegalHold(options.client, {
						bucket: options.bucket,
						key: version.key,
						versionId: version.versionId,
						status: options.status,
					});
					result.changed += 1;
				} catch (error) {
					result.failed.push({
						key: version.key,
						versionId: version.versionId,
						code: storeErrorCode(error),
					});
				}
			});
		}
	}
	return result;
}

/**
 * Writes one event object, and first its detached signature `<event>.json.asc` when a signer is given
 * (so a signed event is never seen without its signature; `gpg --verify <event>.json.asc <event>.json`).
 */
async function recordEvent(options: {
	client: S3Client;
	bucket: string;
	prefix: string;
	event: HoldEvent;
	lock?: LockRetention;
	objectLockEnabled: boolean;
	signer?: ReportSigner | null;
}): Promise<string> {
	const stamp = DateTime.fromISO(options.event.at, { zone: 'utc' }).toFormat(
		"yyyyLLdd'T'HHmmssSSS'Z'",
	);
	const key = `${options.prefix}/${HOLDS_FOLDER}/${options.event.matterId}/${stamp}-${options.event.action}-${randomBytes(4).toString('hex')}.json`;
	const body = Buffer.from(JSON.stringify(options.event, null, 2) + '\n', 'utf8');
	const objectLock = options.lock && options.objectLockEnabled ? { objectLock: lockUntil(options.lock) } : {};
	if (options.signer) {
		await writeObject({
			client: options.client,
			bucket: options.bucket,
			key: `${key}.asc`,
			body: await signControlObject(options.signer, 'A hold event', body),
			contentType: 'application/pgp-signature',
			...objectLock,
		});
	}
	await writeObject({
		client: options.client,
		bucket: options.bucket,
		key,
		body,
		contentType: 'application/json',
		...objectLock,
	});
	return key;
}

/** Options shared by {@link placeHold} and {@link releaseHold}. */
export interface HoldCommandOptions {
	client: S3Client;
	bucket: string;
	prefix: string;
	matterId: string;
	/** Who acts (e.g. `legal@example.org`). Required. */
	actor: string;
	/** Why (e.g. a case reference). Required; must not name counterparties. */
	reason: string;
	/** Also set / clear the S3 legal-hold flag on matching versions. Default true. */
	applyLegalHoldFlag?: boolean;
	/** Object Lock for the event object (only when the bucket has Object Lock). Default none. */
	eventLock?: LockRetention;
	/** Parallel PutObjectLegalHold requests. Default 16. */
	concurrency?: number;
	now?: Date;
	/**
	 * Signs the event (detached OpenPGP, `<event>.json.asc`) with the archive's key. Required to
	 * release; a place without it is honoured but reported as unverified.
	 */
	signer?: ReportSigner | null;
	/** Checks the registry's signatures when reading it (see {@link loadHolds}). */
	verifier?: ControlVerifier | null;
}

/** Result of {@link placeHold} / {@link releaseHold}. */
export interface HoldCommandResult {
	matter: Matter;
	/**
	 * Place Hold only: records (`.pgp` record objects, media not counted) the scope covers now, and
	 * the counterparty identities (pseudonyms) it names, linked ones included.
	 */
	matched?: { records: number; identities: number };
	/** Key of the event object written. */
	eventKey: string;
	legalHold: LegalHoldFlagResult | null;
}

function requireText(value: string, field: string): string {
	const text = typeof value === 'string' ? value.trim() : '';
	if (!text) throw new RetentionError('InvalidInput', `${field} is required`);
	return text.slice(0, 500);
}

/**
 * Writes a place or release event (the registry object first), then sets (place) or clears (release)
 * the legal-hold flag on the versions in its scope, unless `applyLegalHoldFlag` is false; on release,
 * versions another active matter covers (`otherScopes`) keep their flag.
 */
async function recordAndFlag(
	options: HoldCommandOptions,
	change: {
		prefix: string;
		event: Omit<HoldEvent, 'type' | 'version' | 'at'>;
		otherScopes: HoldScope[];
	},
): Promise<{ event: HoldEvent; eventKey: string; legalHold: LegalHoldFlagResult | null }> {
	const event: HoldEvent = {
		type: 'chat-archive.hold-event',
		version: 1,
		matterId: change.event.matterId,
		action: change.event.action,
		at: (options.now ?? new Date()).toISOString(),
		actor: change.event.actor,
		reason: change.event.reason,
		scope: change.event.scope,
	};
	const objectLockEnabled = await bucketHasObjectLock(options.client, options.bucket);
	const eventKey = await recordEvent({
		...options,
		signer: options.signer,
		prefix: change.prefix,
		event,
		objectLockEnabled,
	});
	// writers of new records reuse the registry as read for NEW_RECORD_REGISTRY_TTL_MS: after that,
	// every new record sees this event, and the pass below flags (or clears) every earlier one
	if (options.applyLegalHoldFlag !== false) await new Promise((resolve) => setTimeout(resolve, NEW_RECORD_REGISTRY_TTL_MS + 250));
	const legalHold =
		options.applyLegalHoldFlag === false
			? null
			: await applyLegalHoldFlags({
					client: options.client,
					bucket: options.bucket,
					prefix: change.prefix,
					scope: event.scope,
					status: event.action === 'place' ? 'ON' : 'OFF',
					otherScopes: change.otherScopes,
					concurrency: options.concurrency ?? 16,
				});
	return { event, eventKey, legalHold };
}

/**
 * Places a legal hold: records a `place` event for a new matter (the registry object is written
 * first), then sets the legal-hold flag ON (PutObjectLegalHold with Content-MD5) on every version in
 * scope when the bucket has Object Lock. From then on `planSweep` keeps every version in scope.
 *
 * @throws RetentionError `InvalidInput` / `InvalidHoldScope` for bad input, `MatterAlreadyActive`
 *   when the matter is already held (release it first or use another id), `StoreError`.
 */
export async function placeHold(
	options: HoldCommandOptions & {
		scope: HoldScope & { phoneNumbers?: string[]; persons?: string[] };
		indexKey?: string;
	},
): Promise<HoldCommandResult> {
	const prefix = normalizePrefix(options.prefix);
	const matterId = normalizeMatterId(options.matterId);
	const { persons, ...typedScope } = options.scope ?? {};
	const scope = normalizeScope(typedScope, options.indexKey);
	await addLinkedIdentities(options, prefix, scope, persons ?? []);
	const actor = requireText(options.actor, 'Actor');
	const reason = requireText(options.reason, 'Reason');
	const { matters } = await loadHolds({ client: options.client, bucket: options.bucket, prefix, verifier: options.verifier });
	if (matters.some((matter) => matter.matterId === matterId && matter.active)) {
		throw new RetentionError(
			'MatterAlreadyActive',
			`Matter ${matterId} is already on hold; release it first or use another matter id`,
		);
	}
	const { event, eventKey, legalHold } = await recordAndFlag(options, {
		prefix,
		event: { matterId, action: 'place', actor, reason, scope },
		otherScopes: [],
	});
	return {
		matter: {
			matterId,
			active: true,
			scope,
			placedAt: event.at,
			placedBy: actor,
			reason,
			eventKeys: [eventKey],
			verified: Boolean(options.signer),
		},
		eventKey,
		legalHold,
		matched: {
			records: await countRecordsInScope(options.client, options.bucket, prefix, scope),
			identities: scope.pseudonyms?.length ?? 0,
		},
	};
}

/**
 * Turns `persons` (phone numbers, BSUIDs, usernames) into pseudonyms and adds every identity linked
 * to the scope's pseudonyms in the identity registry (`resolveIdentity` of lib/archive), so a hold
 * placed by phone number also covers the records filed under the person's BSUID or another form of
 * the number. Without an index key only the pseudonyms given are kept.
 *
 * @throws RetentionError `InvalidHoldScope` for an identifier that is none of these or without an
 *   index key; ArchiveError for the store.
 */
async function addLinkedIdentities(
	options: { client: S3Client; bucket: string; indexKey?: string },
	prefix: string,
	scope: HoldScope,
	persons: string[],
): Promise<void> {
	const typed = persons.map((person) => String(person).trim()).filter(Boolean);
	if (!options.indexKey) {
		if (typed.length) throw invalidScope('Counterparties need the index key of the S3 Archive credential to be matched');
		return;
	}
	const pseudonyms = new Set(scope.pseudonyms ?? []);
	const resolve = async (start: { identifier?: string; pseudonyms?: string[] }) => {
		try {
			const resolved = await resolveIdentity({ client: options.client, bucket: options.bucket, prefix, indexKey: options.indexKey!, field: 'A counterparty', ...start });
			for (const pseudonym of resolved.pseudonyms) pseudonyms.add(pseudonym);
		} catch (error) {
			if ((error as { code?: string }).code === 'InvalidInput') throw invalidScope((error as Error).message);
			throw error;
		}
	};
	for (const identifier of typed) await resolve({ identifier });
	if (scope.pseudonyms?.length) await resolve({ pseudonyms: scope.pseudonyms });
	if (pseudonyms.size) scope.pseudonyms = [...pseudonyms].sort();
}

/** Record objects (not media) under the prefix that a scope covers (ListObjectsV2, every page). */
async function countRecordsInScope(client: S3Client, bucket: string, prefix: string, scope: HoldScope): Promise<number> {
	let records = 0;
	for (const listPrefix of scopeListPrefixes(prefix, scope)) {
		for await (const page of listObjects(client, { Bucket: bucket, Prefix: listPrefix })) {
			for (const object of page) {
				const parsed = parseObjectKey(object.Key ?? '');
				if (parsed && parsed.prefix === prefix && parsed.kind === 'record' && matchesScope(scope, parsed)) records += 1;
			}
		}
	}
	return records;
}

/**
 * Releases a legal hold: records a `release` event (the matter's earlier events stay), then clears
 * the legal-hold flag (OFF) on versions in the matter's scope that no other active matter covers.
 * Records return to normal retention; the next sweep deletes those already expired.
 *
 * @throws RetentionError `MatterNotFound` when the matter is not active, `StoreError`.
 */
export async function releaseHold(options: HoldCommandOptions): Promise<HoldCommandResult> {
	const prefix = normalizePrefix(options.prefix);
	const matterId = normalizeMatterId(options.matterId);
	const actor = requireText(options.actor, 'Actor');
	const reason = requireText(options.reason, 'Reason');
	if (!options.signer) {
		throw new RetentionError(
			'SignerRequired',
			`Releasing matter ${matterId} needs the archive's OpenPGP signing key: an unsigned release is ignored by every sweep`,
		);
	}
	const { matters } = await loadHolds({ client: options.client, bucket: options.bucket, prefix, verifier: options.verifier });
	const matter = matters.find((candidate) => candidate.matterId === matterId && candidate.active);
	if (!matter)
		throw new RetentionError(
			'MatterNotFound',
			`Matter ${matterId} is not on hold in s3://${options.bucket}/${prefix}/${HOLDS_FOLDER}/`,
		);
	const { event, eventKey, legalHold } = await recordAndFlag(options, {
		prefix,
		event: { matterId, action: 'release', actor, reason, scope: matter.scope },
		otherScopes: matters
			.filter((other) => other.active && other.matterId !== matterId)
			.flatMap(matterScopes),
	});
	return {
		matter: {
			...matter,
			active: false,
			releasedAt: event.at,
			releasedBy: actor,
			eventKeys: [...matter.eventKeys, eventKey],
		},
		eventKey,
		legalHold,
	};
}
