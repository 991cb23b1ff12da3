/**
 * Read size for binary streams (`getBinaryStream(id, BINARY_READ_CHUNK_BYTES)`): 1 MiB chunks instead
 * of n8n's filesystem default of 64 KiB, which makes stream encryption markedly faster while memory
 * stays bounded (docs/benchmarks.md, "Media encryption").
 */
export const BINARY_READ_CHUNK_BYTES = 1024 * 1024;

/** File names handed to n8n go through the pack's one sanitizer (lib/archive/file-name.ts). */
export { MAX_FILE_NAME_BYTES, safeFileName } from '../../lib/archive/file-name';
