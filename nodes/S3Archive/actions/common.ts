import type { ArchiveStore } from '../../shared/credentials';

/** What every operation receives: one S3 client per execution plus the credential's bucket and index key. */
export type ArchiveContext = ArchiveStore;
