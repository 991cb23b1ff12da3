/**
 * S3 transport: the only module that speaks S3 (AWS SDK v3). Its verbs:
 * - {@link createS3Client} (client.ts): one client per store, with time limits and the one Content-MD5 policy;
 * - {@link listObjects} / {@link listKeys} / {@link listFolders} / {@link listVersions} / {@link listMultipartUploads} (list.ts):
 *   every page of a listing (the SDK's paginator where it has one, one marker lister where not);
 * - {@link headObject}, {@link getObject}, {@link putObject}, {@link uploadMultipart}, {@link deleteObjects}…
 *   (objects.ts): one function per S3 operation, failures as {@link ArchiveError};
 * - {@link headBucket}, {@link bucketVersioning}, lifecycle rules (bucket.ts);
 * - {@link lockUntil}, {@link objectLockConfiguration} (and its per-client cache), {@link versionLockStatus},
 *   {@link setLegalHold}, {@link setRetention} (object-lock.ts);
 * - {@link hashStream}, {@link readAll}, {@link verifiedStream} (stream.ts), {@link mapLimit} and {@link forEachLimit} (concurrency.ts).
 * No n8n import.
 */
export * from './errors';
export * from './client';
export * from './list';
export * from './objects';
export * from './bucket';
export * from './object-lock';
export * from './stream';
export * from './concurrency';
