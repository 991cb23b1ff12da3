import { createHmac, timingSafeEqual } from 'node:crypto';
import type { S3Client } from '@aws-sdk/client-s3';
import { parsePhoneNumberFromString } from 'libphonenumber-js/max';

import { headObject, isNotFound, listObjects as listStoredObjects, mapLimit, putObject, isPreconditionFailed } from '../s3';
import { flightKey } from './dedupe';
import { assertIndexKey, counterpartyPseudonym, normalizePrefix } from './layout';
import { ArchiveError } from './types';

/**
 * Identities: one person, one conversation.
 *
 * Meta identifies a WhatsApp user by phone number (`wa_id`), by business-scoped user id (BSUID,
 * `user_id`, with a `parent_user_id` shared across a business portfolio) and by username; since 2026
 * a delivery may carry any of them (WhatsApp Cloud API, "Business-scoped user IDs"). A record is filed
 * under the pseudonym of one identifier (layout.ts, `counterpartyPseudonym`: `wa:` digits, else
 * `uid:` BSUID), so this module
 *
 * - turns what a person types (a phone number in any common form, a BSUID, a username) into every
 *   pseudonym a record of that person may be filed under ({@link identifierPseudonyms});
 * - learns links between pseudonyms from signed deliveries (a record whose counterparty carries
 *   several identifiers, a `user_changed_number` / `customer_identity_changed` system message, a
 *   `parent_user_id`) and keeps them in the store as empty objects
 *   `<prefix>/_identities/<pseudonym A>/<pseudonym B>.<tag>`, both directions, where the tag is an
 *   HMAC under the index key: the store sees pseudonyms only and cannot forge a link
 *   ({@link recordIdentityLinks});
 * - resolves an identifier to the connected component of linked pseudonyms ({@link resolveIdentity}),
 *   so List, Export and holds find every record of the person, also records written before the link
 *   was learned (their keys never change).
 */

/** Folder (under the prefix) of the identity-link registry. */
export const IDENTITIES_FOLDER = '_identities';

/** Default bound of {@link resolveIdentity}: pseudonyms in one person's component. */
export const DEFAULT_MAX_IDENTITIES = 256;

const PSEUDONYM = /^[0-9a-f]{32}$/;

/**
 * A BSUID as Meta sends it: an ISO 3166 alpha-2 country code, a dot and an alphanumeric id, with
 * further dot-separated parts for portfolio-level (parent) ids, e.g. `US.13491208655302741918`.
 */
const BSUID = /^[A-Z]{2}(?:\.[A-Za-z0-9]{1,128}){1,3}$/;

/** A WhatsApp username as typed: an optional `@`, then letters, digits, `.` and `_`, with a letter. */
const USERNAME = /^@?(?=[A-Za-z0-9._]*[A-Za-z])[A-Za-z0-9._]{1,64}$/;

/**
 * A WhatsApp group id as typed: `group:<id>`, or an id of the Groups API as Meta issues them, base64
 * of `capi_group:…` (Meta "Groups API", e.g. `Y2FwaV9ncm91cDoxNzA1NTU1MDEzOToxMjAz…`), told apart from
 * a username by that prefix.
 */
const GROUP_ID = /^(?:group:\s*([A-Za-z0-9+/=_.:-]{1,256})|(Y2FwaV9ncm91cDo[A-Za-z0-9+/=_-]{1,240}))$/;

function hmac32(indexKey: string, message: string): string {
	return createHmac('sha256', indexKey).update(message, 'utf8').digest('hex').slice(0, 32);
}

/**
 * Pseudonym of a username: HMAC-SHA256(indexKey, `'un:' + username`), the username without `@`,
 * case-folded (usernames are case-insensitive), 32 hex. Records are never filed under it; it is a
 * node of the link registry.
 */
export function usernamePseudonym(options: { indexKey: string; username: string }): string {
	assertIndexKey(options.indexKey);
	const username = options.username.trim().replace(/^@/, '').toLowerCase();
	if (!username) throw new ArchiveError('The username is empty', { code: 'InvalidInput' });
	return hmac32(options.indexKey, `un:${username}`);
}

/**
 * The digit strings a WhatsApp id of a typed phone number may take. The number is parsed with
 * libphonenumber-js (metadata of Google's libphonenumber): `+`, `00`, spaces, dashes, dots,
 * brackets and a trunk `(0)` are understood; digits without `+` are read as international (as Meta
 * sends `wa_id`). Besides the E.164 digits and the digits as typed, the forms WhatsApp uses for the
 * same line:
 *
 * - Mexico: `52` + 10 digits and the older mobile form `521` + 10 digits (both are seen as `wa_id`);
 * - Brazil: mobile numbers with and without the ninth digit (`55` + area + `9` + 8 digits, and the
 *   8-digit form accounts created before 2016 keep);
 * - Argentina: `54` + 10 digits and the mobile form `549` + 10 digits.
 *
 * @returns distinct digit strings, E.164 first; empty when the text has no digits.
 */
export function phoneNumberCandidates(text: string): string[] {
	const typed = String(text ?? '').trim();
	const digits = typed.replace(/\D/g, '');
	if (!digits) return [];
	const international = typed.startsWith('+') ? typed : `+${typed.replace(/^\s*00/, '')}`;
	const parsed = parsePhoneNumberFromString(international);
	const forms = new Set<string>();
	if (parsed) {
		const country = String(parsed.countryCallingCode);
		const national = String(parsed.nationalNumber);
		forms.add(country + national);
		for (const variant of nationalVariants(country, national)) forms.add(country + variant);
	}
	forms.add(digits);
	return [...forms];
}

/** Equivalent national numbers of the same WhatsApp line (see {@link phoneNumberCandidates}). */
function nationalVariants(country: string, national: string): string[] {
	if (country === '52') {
		if (national.length === 11 && national.startsWith('1')) return [national.slice(1)];
		if (national.length === 10) return [`1${national}`];
	}
	if (country === '55') {
		const area = national.slice(0, 2);
		const subscriber = national.slice(2);
		if (subscriber.length === 9 && subscriber.startsWith('9')) return [area + subscriber.slice(1)];
		if (subscriber.length === 8 && /^[6-9]/.test(subscriber)) return [`${area}9${subscriber}`];
	}
	if (country === '54') {
		if (national.length === 11 && national.startsWith('9')) return [national.slice(1)];
		if (national.length === 10) return [`9${national}`];
	}
	return [];
}

/** Which kind of identifier a person typed. */
export type IdentifierKind = 'phoneNumber' | 'bsuid' | 'username' | 'group';

/**
 * Reads what kind of identifier a text is: a WhatsApp group id (`group:<id>`, or a Groups API id), a
 * BSUID (`US.1349…`), a username (`@name`, or any text with a letter that is not a BSUID), else a
 * phone number (digits with any formatting).
 *
 * @param field named in the error.
 * @throws ArchiveError `InvalidInput` naming `field` (never the value) when it is none of these.
 */
export function identifierKind(identifier: string, field = 'Person'): IdentifierKind {
	const text = String(identifier ?? '').trim();
	if (GROUP_ID.test(text)) return 'group';
	if (BSUID.test(text)) return 'bsuid';
	if (USERNAME.test(text)) return 'username';
	if (/^[+0-9\s().\-/]+$/.test(text) && /\d/.test(text)) return 'phoneNumber';
	throw new ArchiveError(
		`${field} must be a phone number with its country code (+44 20 7946 0958), a BSUID (US.13491208655302741918), a username (@name) or a group ID (group:<id>)`,
		{ code: 'InvalidInput' },
	);
}

/**
 * The pseudonyms an identifier stands for, before any link is followed: for a phone number the `wa:`
 * pseudonym of each {@link phoneNumberCandidates} form, for a BSUID its `uid:` pseudonym, for a
 * username its `un:` pseudonym, for a group id its `grp:` pseudonym (a group's records are filed under
 * it; a group links to nobody).
 *
 * @throws ArchiveError `InvalidInput` as {@link identifierKind}, or for a refused index key.
 */
export function identifierPseudonyms(options: { indexKey: string; identifier: string; field?: string }): string[] {
	const { indexKey } = options;
	const text = String(options.identifier ?? '').trim();
	const kind = identifierKind(text, options.field);
	if (kind === 'group') {
		const [, typed, issued] = GROUP_ID.exec(text)!;
		return [counterpartyPseudonym({ indexKey, counterparty: { wa_id: null, user_id: null, group_id: typed ?? issued } })!];
	}
	if (kind === 'bsuid') return [counterpartyPseudonym({ indexKey, counterparty: { wa_id: null, user_id: text } })!];
	if (kind === 'username') return [usernamePseudonym({ indexKey, username: text })];
	return phoneNumberPseudonyms({ indexKey, phoneNumber: text, field: options.field });
}

/**
 * The `wa:` pseudonyms of every {@link phoneNumberCandidates} form of a typed phone number.
 *
 * @throws ArchiveError `InvalidInput` naming `field` when the text has no digits.
 */
export function phoneNumberPseudonyms(options: { indexKey: string; phoneNumber: string; field?: string }): string[] {
	const { indexKey } = options;
	const forms = phoneNumberCandidates(options.phoneNumber);
	if (forms.length === 0) {
		throw new ArchiveError(`${options.field ?? 'phoneNumber'} has no digits (expected an E.164 number such as +16505551234)`, {
			code: 'InvalidInput',
		});
	}
	return forms.map((digits) => counterpartyPseudonym({ indexKey, counterparty: { wa_id: digits, user_id: null } })!);
}

/** One person as a record names them: its counterparty, or the group member of a group record. */
export interface PersonFields {
	wa_id?: string | null;
	user_id?: string | null;
	username?: string | null;
	parent_user_id?: string | null;
}

/** The identifiers of a record that name one person (plaintext record fields, read at capture or Write). */
export interface IdentityFields {
	/** The record's channel; absent on schema version 1 records (WhatsApp). */
	channel?: string | null;
	type?: string | null;
	counterparty?: (PersonFields & { group_id?: string | null }) | null;
	/** The group member a group record names (docs/FORMAT.md, `participant`). */
	participant?: PersonFields | null;
	content?: unknown;
}

function text(value: unknown): string | null {
	return typeof value === 'string' && value.trim() ? value.trim() : null;
}

/**
 * The pseudonyms of one person, their filing pseudonym first (`wa:` of the number as sent, else `uid:`
 * of the BSUID), then every WhatsApp form of the number ({@link phoneNumberCandidates}), the BSUID, the
 * parent BSUID and the username, then `more` (further ids the record announces for the same person).
 */
function personPseudonyms(indexKey: string, person: PersonFields, more: { phones?: unknown[]; bsuids?: unknown[] } = {}): string[] {
	const found: string[] = [];
	const add = (pseudonym: string | null) => {
		if (pseudonym && !found.includes(pseudonym)) found.push(pseudonym);
	};
	// a number with the digits Meta sent, then its other WhatsApp forms (521… / 52…, with or without
	// Brazil's ninth digit), so a BSUID or username linked to one form reaches records under the others
	const phone = (value: unknown) => {
		for (const digits of [text(value)?.replace(/\D/g, '') ?? '', ...phoneNumberCandidates(text(value) ?? '')]) {
			if (digits) add(counterpartyPseudonym({ indexKey, counterparty: { wa_id: digits, user_id: null } }));
		}
	};
	const bsuid = (value: unknown) => {
		const id = text(value);
		if (id) add(counterpartyPseudonym({ indexKey, counterparty: { wa_id: null, user_id: id } }));
	};
	add(counterpartyPseudonym({ indexKey, counterparty: { wa_id: person.wa_id ?? null, user_id: person.user_id ?? null } }));
	phone(person.wa_id);
	bsuid(person.user_id);
	bsuid(person.parent_user_id);
	const username = text(person.username);
	if (username) add(usernamePseudonym({ indexKey, username }));
	for (const value of more.phones ?? []) phone(value);
	for (const value of more.bsuids ?? []) bsuid(value);
	return found;
}

/**
 * The pseudonyms a record links together, its own filing pseudonym first: the counterparty's
 * `wa_id` (in every WhatsApp form of the number, {@link phoneNumberCandidates}), `user_id`,
 * `username` and `parent_user_id`, and for a `system` message
 * (`user_changed_number`, `customer_identity_changed`; Meta "messages webhook reference", system
 * messages) the new `wa_id` / `user_id` it announces. A record with fewer than two gives no link.
 * A group record (counterparty `group_id`) gives its group's pseudonym alone: a group is nobody's
 * identity, its member is read by {@link recordParticipantPseudonyms}. A Messenger, Instagram or
 * Telegram record gives its `<channel>:<user id>` pseudonym alone; an SMS record reads as WhatsApp's.
 */
export function recordIdentityPseudonyms(options: { indexKey: string; record: IdentityFields }): string[] {
	const { indexKey, record } = options;
	const counterparty = record.counterparty ?? {};
	if (record.channel && record.channel !== 'whatsapp' && record.channel !== 'sms') {
		// Messenger, Instagram, Telegram: the channel's own user id, which names no WhatsApp identity
		const own = counterpartyPseudonym({ indexKey, counterparty: { wa_id: null, user_id: counterparty.user_id ?? null }, channel: record.channel });
		return own ? [own] : [];
	}
	if (text(counterparty.group_id)) {
		return [counterpartyPseudonym({ indexKey, counterparty: { wa_id: null, user_id: null, group_id: counterparty.group_id } })!];
	}
	const content = (record.content ?? {}) as Record<string, unknown>;
	const more: { phones: unknown[]; bsuids: unknown[] } = { phones: [], bsuids: [] };
	if (record.type === 'system' && typeof content === 'object') {
		const kind = text(content.type);
		if (kind === 'user_changed_number' || kind === 'customer_identity_changed') {
			more.phones.push(content.wa_id, content.new_wa_id);
			more.bsuids.push(content.user_id, content.new_user_id);
		}
	}
	const extra = (content.extra ?? {}) as Record<string, unknown>;
	if (typeof extra === 'object') more.bsuids.push(extra.from_parent_user_id);
	return personPseudonyms(indexKey, counterparty, more);
}

/**
 * The pseudonyms of the group member a group record names (`participant`: the sender of a group
 * message, the recipient of a group status, the member a group event is about), their first identifier
 * first; empty for other records. Linked among themselves, never to the group.
 */
export function recordParticipantPseudonyms(options: { indexKey: string; record: IdentityFields }): string[] {
	const participant = options.record.participant;
	if (!participant || typeof participant !== 'object') return [];
	return personPseudonyms(options.indexKey, participant);
}

function linkTag(indexKey: string, from: string, to: string): string {
	return hmac32(indexKey, `link:${from}:${to}`);
}

function linkKey(prefix: string, indexKey: string, from: string, to: string): string {
	return `${prefix}/${IDENTITIES_FOLDER}/${from}/${to}.${linkTag(indexKey, from, to)}`;
}

/**
 * Link writes in this process, per store + bucket + key (`flightKey`, as record writes): a settled write means the link is in the store (repeat
 * Writes skip their requests), a pending one is awaited by a concurrent writer of the same link
 * instead of racing it (a store that ignores `If-None-Match: *` in versioned buckets would keep a
 * second, identical, empty version).
 */
const linkWrites = new Map<string, Promise<boolean>>();

/** Link writes remembered (the oldest is forgotten first: memory stays bounded). */
const REMEMBERED_LINKS = 10_000;

/** Result of {@link recordIdentityLinks}. */
export interface RecordLinksResult {
	/** Link objects written (each direction counts). */
	written: number;
	/** HeadObject + PutObject requests made. */
	requests: number;
}

/**
 * Records that the pseudonyms belong to one person: for every pseudonym after the first, an empty
 * object `<prefix>/_identities/<first>/<other>.<tag>` and its reverse (tag: HMAC-SHA256 under the
 * index key of `link:<from>:<to>`, 32 hex). Idempotent: a link already there (HeadObject) is not
 * written again, and the PUT carries `If-None-Match: *`. No lock or metadata: a link is a pair of
 * pseudonyms and nothing else.
 *
 * @throws ArchiveError `InvalidInput` for a malformed pseudonym or prefix; the store's code otherwise.
 */
export async function recordIdentityLinks(options: {
	client: S3Client;
	bucket: string;
	prefix: string;
	indexKey: string;
	pseudonyms: string[];
}): Promise<RecordLinksResult> {
	const indexKey = assertIndexKey(options.indexKey);
	const prefix = normalizePrefix(options.prefix);
	const pseudonyms = [...new Set(options.pseudonyms.map((value) => String(value).toLowerCase()))];
	if (pseudonyms.some((pseudonym) => !PSEUDONYM.test(pseudonym))) {
		throw new ArchiveError('identity pseudonyms must be 32 lower-case hex characters', { code: 'InvalidInput' });
	}
	const result: RecordLinksResult = { written: 0, requests: 0 };
	if (pseudonyms.length < 2) return result;
	const writes = linkWrites;
	const [first, ...others] = pseudonyms;
	const keys = others.flatMap((other) => [linkKey(prefix, indexKey, first, other), linkKey(prefix, indexKey, other, first)]);
	const writeLink = async (key: string): Promise<boolean> => {
		result.requests += 1;
		try {
			await headObject(options.client, { Bucket: options.bucket, Key: key });
			return false;
		} catch (error) {
			if (!isNotFound(error)) throw error;
		}
		result.requests += 1;
		try {
			await putObject(options.client, { Bucket: options.bucket, Key: key, Body: new Uint8Array(0), ContentLength: 0, IfNoneMatch: '*', ContentType: 'application/octet-stream' });
			return true;
		} catch (error) {
			if (!isPreconditionFailed(error)) throw error;
			return false;
		}
	};
	await mapLimit(keys, 4, async (key) => {
		const id = flightKey(options.client, options.bucket, key);
		const running = writes.get(id);
		if (running) {
			await running;
			return;
		}
		const write = writeLink(key);
		writes.set(id, write);
		if (writes.size > REMEMBERED_LINKS) writes.delete(writes.keys().next().value!);
		try {
			if (await write) result.written += 1;
		} catch (error) {
			writes.delete(id); // a failed write is tried again by the next Write of the record
			throw error;
		}
	});
	return result;
}

/** Result of {@link resolveIdentity}. */
export interface ResolvedIdentity {
	/** Every pseudonym of the person: the identifier's own and all linked ones, sorted. */
	pseudonyms: string[];
	/** Link objects whose tag did not verify under the index key (not followed). */
	unverifiedLinks: number;
	/** ListObjectsV2 requests made. */
	requests: number;
}

/**
 * The connected component of pseudonyms reachable from `pseudonyms` (or from an identifier's
 * {@link identifierPseudonyms}) over verified links: breadth first, one ListObjectsV2 of
 * `<prefix>/_identities/<pseudonym>/` per pseudonym reached. A link object whose tag does not verify
 * (constant-time comparison) is not followed and is counted in `unverifiedLinks`.
 *
 * @param maxIdentities bound on the component (default {@link DEFAULT_MAX_IDENTITIES}): one person has
 *   a handful of identifiers, so a larger component means a registry gone wrong.
 * @throws ArchiveError `InvalidInput` for a bad identifier, `TooManyIdentities` past the bound; the
 *   store's code otherwise. Messages never carry the identifier.
 */
export async function resolveIdentity(options: {
	client: S3Client;
	bucket: string;
	prefix: string;
	indexKey: string;
	identifier?: string;
	pseudonyms?: string[];
	maxIdentities?: number;
	field?: string;
}): Promise<ResolvedIdentity> {
	const indexKey = assertIndexKey(options.indexKey);
	const prefix = normalizePrefix(options.prefix);
	const max = options.maxIdentities ?? DEFAULT_MAX_IDENTITIES;
	const start = [
		...(options.pseudonyms ?? []).map((value) => String(value).trim().toLowerCase()),
		...(options.identifier !== undefined ? identifierPseudonyms({ indexKey, identifier: options.identifier, field: options.field }) : []),
	];
	if (start.some((pseudonym) => !PSEUDONYM.test(pseudonym))) {
		throw new ArchiveError('A counterparty pseudonym must be 32 lower-case hex characters', { code: 'InvalidInput' });
	}
	const seen = new Set<string>(start);
	const result: ResolvedIdentity = { pseudonyms: [], unverifiedLinks: 0, requests: 0 };
	let frontier = [...seen];
	while (frontier.length > 0) {
		const next: string[] = [];
		await mapLimit(frontier, 8, async (from) => {
			const folder = `${prefix}/${IDENTITIES_FOLDER}/${from}/`;
			for await (const page of listStoredObjects(options.client, { Bucket: options.bucket, Prefix: folder }, { onPage: () => (result.requests += 1) })) {
				for (const object of page) {
					const match = /^([0-9a-f]{32})\.([0-9a-f]{32})$/.exec((object.Key ?? '').slice(folder.length));
					if (!match) continue;
					const [, to, tag] = match;
					if (!timingSafeEqual(Buffer.from(tag), Buffer.from(linkTag(indexKey, from, to)))) {
						result.unverifiedLinks += 1;
						continue;
					}
					if (seen.has(to)) continue;
					seen.add(to);
					next.push(to);
					if (seen.size > max) {
						throw new ArchiveError(
							`One person links more than ${max} identities in ${prefix}/${IDENTITIES_FOLDER}/: the identity registry looks wrong (inspect it, or raise the bound)`,
							{ code: 'TooManyIdentities' },
						);
					}
				}
			}
		});
		frontier = next;
	}
	result.pseudonyms = [...seen].sort();
	return result;
}
