/**
 * Read size for binary streams (`getBinaryStream(id, BINARY_READ_CHUNK_BYTES)`): 1 MiB chunks instead
 * of n8n's filesystem default of 64 KiB, which makes stream encryption markedly faster while memory
 * stays bounded (docs/benchmarks.md, "Media encryption").
 */
export const BINARY_READ_CHUNK_BYTES = 1024 * 1024;
