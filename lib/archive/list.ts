import type { S3Client } from '@aws-sdk/client-s3';

import { listObjects as listStoredObjects, unquoteEtag } from '../s3';
import { assertPhoneNumberIdFilter, normalizePrefix, normalizeRetentionClass, parseObjectKey, type ParsedObjectKey } from './layout';
import { ArchiveError } from './types';

/** One archived object as listed (no body is downloaded). */
export interface ListedObject extends ParsedObjectKey {
	key: string;
	size: number;
	etag: string | null;
	lastModified: Date | null;
	storageClass: string | null;
}

/** Filters of {@link listObjects}; every one is optional except `prefix`. */
export interface ListFilter {
	prefix: string;
	retentionClass?: string;
	phoneNumberId?: string;
	/** First UTC day included (`yyyy-mm-dd` or any ISO 8601 date/time; only the UTC day counts). */
	from?: string | Date;
	/** Last UTC day included. */
	to?: string | Date;
	/** Counterparty pseudonym (see `phoneNumberPseudonym` to compute one from a phone number). */
	pseudonym?: string;
	/**
	 * Any of these counterparty pseudonyms: every pseudonym of one person (`resolveIdentity`). With
	 * `pseudonym` too, a key matches either.
	 */
	pseudonyms?: string[];
	/** Include `.media*.pgp` objects (default true). */
	includeMedia?: boolean;
}

function utcDay(value: string | Date | undefined, field: string): string | undefined {
	if (value === undefined || value === '') return undefined;
	// A date or date-time without a zone (as n8n's dateTime parameters give) is read as UTC, not as
	// the server's local time, so the day never shifts with the server's time zone.
	const text = typeof value === 'string' ? value.trim() : value;
	const date =
		text instanceof Date
			? text
			: new Date(/^\d{4}-\d{2}-\d{2}$/.test(text) ? `${text}T00:00:00Z` : /[zZ]|[+-]\d{2}:?\d{2}$/.test(text) ? text : `${text}Z`);
	if (Number.isNaN(date.getTime())) {
		throw new ArchiveError(`${field} "${String(value)}" is not a date (use yyyy-mm-dd)`, { code: 'InvalidInput' });
	}
	return date.toISOString().slice(0, 10);
}

/**
 * Lists archived objects matching a filter, through every ListObjectsV2 page (any number of
 * objects; S3 API reference, ListObjectsV2 with ContinuationToken/StartAfter), without downloading
 * bodies. Keys that do not follow the layout are skipped.
 *
 * The listing prefix is narrowed as far as the filter allows (`<prefix>/<class>/<phone_number_id>/`);
 * with a class and phone_number_id, `StartAfter` jumps to `from` and the listing stops after `to`
 * (keys sort by date there). Other filters are applied to each key.
 *
 * @throws ArchiveError `InvalidInput` for a bad filter; otherwise with the store's code.
 */
export async function* listObjects(options: {
	client: S3Client;
	bucket: string;
	filter: ListFilter;
	/** Keys per ListObjectsV2 request (1–1000, default 1000). */
	pageSize?: number;
}): AsyncGenerator<ListedObject> {
	const { client, bucket, filter } = options;
	const prefix = normalizePrefix(filter.prefix);
	const retentionClass = filter.retentionClass ? normalizeRetentionClass(filter.retentionClass) : undefined;
	const typedId = filter.phoneNumberId?.trim() || undefined;
	const phoneNumberId = typedId ? assertPhoneNumberIdFilter(typedId) : undefined;
	if (filter.pseudonym && !/^[0-9a-f]{32}$/.test(filter.pseudonym) && filter.pseudonym !== '_unknown') {
		throw new ArchiveError('pseudonym must be 32 lower-case hex characters', { code: 'InvalidInput' });
	}
	const pseudonyms = filter.pseudonyms?.length || filter.pseudonym ? new Set([...(filter.pseudonyms ?? []), ...(filter.pseudonym ? [filter.pseudonym] : [])]) : null;
	for (const pseudonym of filter.pseudonyms ?? []) {
		if (!/^[0-9a-f]{32}$/.test(pseudonym)) throw new ArchiveError('pseudonyms must be 32 lower-case hex characters', { code: 'InvalidInput' });
	}
	const from = utcDay(filter.from, 'from');
	const to = utcDay(filter.to, 'to');
	if (from && to && from > to) throw new ArchiveError(`from (${from}) is after to (${to})`, { code: 'InvalidInput' });

	let listPrefix = `${prefix}/`;
	let sortedByDate = false;
	if (retentionClass) {
		listPrefix += `${retentionClass}/`;
		if (phoneNumberId) {
			listPrefix += `${phoneNumberId}/`;
			sortedByDate = true;
		}
	}
	const startAfter = sortedByDate && from ? `${listPrefix}${from.replace(/-/g, '/')}` : undefined;

	const pages = listStoredObjects(
		client,
		{ Bucket: bucket, Prefix: listPrefix, ...(startAfter ? { StartAfter: startAfter } : {}) },
		{ pageSize: options.pageSize },
	);
	for await (const page of pages) {
		for (const object of page) {
			if (!object.Key) continue;
			const parsed = parseObjectKey(object.Key);
			if (!parsed || parsed.prefix !== prefix) continue;
			if (retentionClass && parsed.retentionClass !== retentionClass) continue;
			if (phoneNumberId && parsed.phoneNumberId !== phoneNumberId) continue;
			if (to && parsed.date > to) {
				if (sortedByDate) return;
				continue;
			}
			if (from && parsed.date < from) continue;
			if (pseudonyms && !pseudonyms.has(parsed.pseudonym)) continue;
			if (filter.includeMedia === false && parsed.kind === 'media') continue;
			yield {
				...parsed,
				key: object.Key,
				size: object.Size ?? 0,
				etag: unquoteEtag(object.ETag),
				lastModified: object.LastModified ?? null,
				storageClass: object.StorageClass ?? null,
			};
		}
	}
}
