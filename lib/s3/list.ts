import { ListMultipartUploadsCommand, ListObjectVersionsCommand, paginateListObjectsV2, type DeleteMarkerEntry, type ListObjectsV2CommandInput, type MultipartUpload, type ObjectVersion, type S3Client, type _Object } from '@aws-sdk/client-s3';

import { ArchiveError, toArchiveError } from './errors';
import { unquoteEtag } from './objects';

/** ListObjectVersions and ListObjectsV2 return at most 1000 entries a page (S3 API reference). */
export const MAX_PAGE_SIZE = 1000;

/** What the listers below pass to `onPage`: one call per request sent. */
export interface PageOptions {
	/** Entries per request, 1–1000 (default 1000). */
	pageSize?: number;
	/** Called once per request (for request counts). */
	onPage?: () => void;
}

/**
 * Every object under `input.Prefix`, page by page, with the SDK's paginator (ListObjectsV2 with
 * ContinuationToken; `StartAfter` applies to the first request).
 *
 * @throws ArchiveError with the store's code.
 */
export async function* listObjects(
	client: S3Client,
	input: ListObjectsV2CommandInput,
	options: PageOptions = {},
): AsyncGenerator<_Object[]> {
	const pages = paginateListObjectsV2(
		{ client, pageSize: options.pageSize ?? input.MaxKeys ?? MAX_PAGE_SIZE },
		input,
	);
	try {
		for await (const page of pages) {
			options.onPage?.();
			yield page.Contents ?? [];
		}
	} catch (error) {
		throw toArchiveError(error, { operation: 'ListObjectsV2', bucket: input.Bucket });
	}
}

/** The keys of every object under `prefix` (ListObjectsV2, all pages). */
export async function listKeys(client: S3Client, bucket: string, prefix: string, options: PageOptions = {}): Promise<string[]> {
	const keys: string[] = [];
	for await (const page of listObjects(client, { Bucket: bucket, Prefix: prefix }, options)) {
		for (const object of page) if (object.Key) keys.push(object.Key);
	}
	return keys;
}

/**
 * The folders directly under `prefix` (ListObjectsV2 with `Delimiter: '/'`, all pages): each
 * CommonPrefix, ending in `/`, in the store's (UTF-8 byte) order.
 *
 * @throws ArchiveError with the store's code.
 */
export async function listFolders(client: S3Client, bucket: string, prefix: string, options: PageOptions = {}): Promise<string[]> {
	const folders: string[] = [];
	const pages = paginateListObjectsV2({ client, pageSize: options.pageSize ?? MAX_PAGE_SIZE }, { Bucket: bucket, Prefix: prefix, Delimiter: '/' });
	try {
		for await (const page of pages) {
			options.onPage?.();
			for (const common of page.CommonPrefixes ?? []) if (common.Prefix) folders.push(common.Prefix);
		}
	} catch (error) {
		throw toArchiveError(error, { operation: 'ListObjectsV2', bucket });
	}
	return folders;
}

/** One version or delete marker, as {@link listVersions} lists it. */
export interface ListedVersion {
	key: string;
	/** The store's version id; `null` (the string) for objects written while versioning was off. */
	versionId: string;
	isDeleteMarker: boolean;
	isLatest: boolean;
	/** Bytes (0 for delete markers). */
	size: number;
	lastModified: Date | null;
	/** ETag without quotes; null for delete markers. */
	etag: string | null;
}

/**
 * Pages of a listing that S3 continues with markers instead of a token (ListObjectVersions,
 * ListMultipartUploads: the SDK has no paginator for them). `send` makes one request from the
 * markers of the previous page (none for the first); `next` reads the markers of the following page
 * from a truncated one.
 *
 * @throws ArchiveError `IncompleteListing` when the store says a listing is truncated but gives no
 * marker to continue from (it would otherwise loop or stop early without saying so).
 */
async function* markerPages<Markers, Page extends { IsTruncated?: boolean }>(
	context: { operation: string; bucket: string; onPage?: () => void },
	send: (markers: Markers | undefined) => Promise<Page>,
	next: (page: Page) => Markers | null,
): AsyncGenerator<Page> {
	const { operation, bucket } = context;
	let markers: Markers | undefined;
	for (;;) {
		let page: Page;
		try {
			page = await send(markers);
		} catch (error) {
			throw toArchiveError(error, { operation, bucket });
		}
		context.onPage?.();
		yield page;
		if (page.IsTruncated !== true) return;
		const following = next(page);
		if (!following) {
			throw new ArchiveError(`${operation} on bucket "${bucket}" said the listing is truncated but gave no marker to continue from`, {
				code: 'IncompleteListing',
			});
		}
		markers = following;
	}
}

/** One entry of a ListObjectVersions page as a {@link ListedVersion}; null without a key. */
function listedVersion(item: ObjectVersion | DeleteMarkerEntry, isDeleteMarker: boolean): ListedVersion | null {
	if (!item.Key) return null;
	const version = isDeleteMarker ? undefined : (item as ObjectVersion);
	return {
		key: item.Key,
		versionId: item.VersionId ?? 'null',
		isDeleteMarker,
		isLatest: item.IsLatest === true,
		size: version?.Size ?? 0,
		lastModified: item.LastModified ?? null,
		etag: version ? unquoteEtag(version.ETag) : null,
	};
}

/**
 * Every version and delete marker under `prefix`, page by page (ListObjectVersions with
 * `KeyMarker` / `VersionIdMarker`), each page in the store's order: by key, and per key newest first.
 *
 * @throws ArchiveError with the store's code, or `IncompleteListing`.
 */
export async function* listVersions(client: S3Client, bucket: string, prefix: string, options: PageOptions = {}): AsyncGenerator<ListedVersion[]> {
	type Markers = { KeyMarker?: string; VersionIdMarker?: string };
	const pages = markerPages(
		{ operation: 'ListObjectVersions', bucket, onPage: options.onPage },
		async (markers: Markers | undefined) =>
			await client.send(new ListObjectVersionsCommand({ Bucket: bucket, Prefix: prefix, MaxKeys: options.pageSize ?? MAX_PAGE_SIZE, ...markers })),
		(page) => (page.NextKeyMarker ? { KeyMarker: page.NextKeyMarker, VersionIdMarker: page.NextVersionIdMarker } : null),
	);
	for await (const page of pages) {
		const entries = [
			...(page.Versions ?? []).map((version) => listedVersion(version, false)),
			...(page.DeleteMarkers ?? []).map((marker) => listedVersion(marker, true)),
		].filter((entry): entry is ListedVersion => entry !== null);
		// Versions and DeleteMarkers arrive as two lists; restore the store's order (key, newest first).
		entries.sort((a, b) => (a.key < b.key ? -1 : a.key > b.key ? 1 : (b.lastModified?.getTime() ?? 0) - (a.lastModified?.getTime() ?? 0)));
		yield entries;
	}
}

/**
 * The incomplete multipart uploads under `prefix`, page by page (ListMultipartUploads with
 * `KeyMarker` / `UploadIdMarker`).
 *
 * @throws ArchiveError with the store's code, or `IncompleteListing`.
 */
export async function* listMultipartUploads(client: S3Client, bucket: string, prefix: string): AsyncGenerator<MultipartUpload[]> {
	type Markers = { KeyMarker?: string; UploadIdMarker?: string };
	const pages = markerPages(
		{ operation: 'ListMultipartUploads', bucket },
		async (markers: Markers | undefined) => await client.send(new ListMultipartUploadsCommand({ Bucket: bucket, Prefix: prefix, ...markers })),
		(page) => (page.NextKeyMarker || page.NextUploadIdMarker ? { KeyMarker: page.NextKeyMarker, UploadIdMarker: page.NextUploadIdMarker } : null),
	);
	for await (const page of pages) yield page.Uploads ?? [];
}
