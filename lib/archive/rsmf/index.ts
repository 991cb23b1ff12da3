/**
 * RSMF 2.0 export (Relativity Short Message Format) of decrypted capture records and their media:
 * - {@link buildRsmfExport} (export.ts): records and media → `.rsmf` slices, streamed;
 * - the record mapping (map-records.ts), slicing (slice.ts), the manifest (manifest.ts), the
 *   deterministic zip (zip.ts), the RFC 5322 message (message.ts) and media file names (file-name.ts);
 * - Relativity's schema 2.0.0 of the manifest, vendored with its licence (schema/).
 */
export { buildRsmfExport } from './export';
export { buildRsmfManifest, type RsmfManifestOptions } from './manifest';
export { sliceEvents, type EventSlice, type SliceOptions } from './slice';
export { isUpdate, mapRecords, type MappedAttachment, type MappedConversation, type MappedEvent, type MappedRecords } from './map-records';
export { mediaFileName, extensionForMimeType, uniqueFileName, MANIFEST_FILE_NAME } from './file-name';
export * from './types';
