/**
 * Archive engine: encrypted records on S3-compatible storage under a key layout that reveals no
 * personal data, built on the S3 transport (`lib/s3`). No n8n import. Its verbs:
 * - key layout, pseudonyms, record ids, the index-key rule (layout.ts) and the key of an item (record-key.ts);
 * - identities (identity.ts): phone-number forms, BSUIDs, usernames, the identity-link registry and
 *   {@link resolveIdentity};
 * - {@link assertEncryptedMessage} (ciphertext.ts): only OpenPGP ciphertext is written;
 * - {@link writeObject} (write.ts) and {@link writeObjectStream} (write-stream.ts): each object once,
 *   duplicates recognised (dedupe.ts), multipart part size from the size ({@link multipartPartSize});
 * - {@link archiveRecord} (archive-record.ts): one record and its media under the layout, with its
 *   identity links and the legal-hold registry's flag;
 * - {@link getObject} (get.ts), {@link listObjects} (list.ts), {@link checkBucket} (setup-check.ts);
 * - {@link sealPrefix} (seal.ts: the manifest format in manifest.ts, Merkle tree in merkle.ts),
 *   {@link verifySeal} (verify.ts), {@link loadSealedHashes} (sealed-hashes.ts);
 * - {@link safeFileName} (file-name.ts): the one sanitizer of file names from messages and keys;
 * - exports: the scope read by export.ts, {@link exportConversation} (export-conversation.ts: JSONL,
 *   transcripts (transcript.ts) and media (export-media.ts) as streams, through an encrypted spool,
 *   export-spool.ts) and {@link exportRsmf} (export.ts);
 * - {@link buildRsmfExport} (rsmf/): RSMF 2.0 files (Relativity Short Message Format) of decrypted records and media;
 * - the audit trail: {@link appendAuditEvent} (audit.ts), {@link verifyAudit} (audit-verify.ts), the
 *   event format (audit-event.ts) and reading the trail (audit-trail.ts).
 */
export * from './types';
export * from './layout';
export * from './identity';
export * from './record-key';
export * from './ciphertext';
export * from './write';
export * from './write-stream';
export * from './archive-record';
export * from './setup-check';
export * from './get';
export * from './list';
export * from './merkle';
export * from './manifest';
export * from './seal';
export * from './sealed-hashes';
export * from './verify';
export * from './file-name';
export * from './transcript';
export * from './export';
export * from './export-conversation';
export { type MediaReadOptions } from './export-media';
export * from './rsmf';
export * from './audit-event';
export * from './audit-trail';
export * from './audit';
export * from './audit-verify';
