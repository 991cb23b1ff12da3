/**
 * Archive engine: writes encrypted records to S3-compatible storage under a key layout that
 * reveals no personal data. One module per verb; no n8n import.
 */
export * from './types';
export { createS3Client } from './client';
export { toArchiveError, storeErrorCode, storeHttpStatus, type StoreCallContext } from './errors';
export * from './layout';
export * from './write';
export * from './setup-check';
export * from './get';
export * from './list';
export * from './merkle';
export * from './seal';
export * from './verify';
export * from './transcript';
export * from './export';
