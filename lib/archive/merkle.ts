import { createHash } from 'node:crypto';

/**
 * Merkle Tree Hash of RFC 6962 §2.1 (Certificate Transparency), SHA-256:
 *
 *     MTH({})        = SHA-256()                                  (empty string)
 *     MTH({d0})      = SHA-256(0x00 || d0)                        (leaf hash)
 *     MTH(D[n])      = SHA-256(0x01 || MTH(D[0:k]) || MTH(D[k:n]))
 *                      where k is the largest power of two smaller than n (n > 1)
 *
 * The 0x00 / 0x01 prefixes separate leaves from inner nodes (no second-preimage by reinterpreting
 * a node as a leaf). Used by the seal manifests (`seal.ts`): one leaf per object version.
 */

const EMPTY = Buffer.alloc(0);
const LEAF_PREFIX = Buffer.from([0x00]);
const NODE_PREFIX = Buffer.from([0x01]);

/** SHA-256(0x00 || data): the hash of one leaf (RFC 6962 §2.1). Returns 32 bytes. */
export function merkleLeafHash(data: Uint8Array): Buffer {
	return createHash('sha256').update(LEAF_PREFIX).update(data).digest();
}

/** SHA-256(0x01 || left || right): the hash of an inner node (RFC 6962 §2.1). Returns 32 bytes. */
export function merkleNodeHash(left: Uint8Array, right: Uint8Array): Buffer {
	return createHash('sha256').update(NODE_PREFIX).update(left).update(right).digest();
}

/** Largest power of two strictly smaller than n (n ≥ 2). */
function splitPoint(n: number): number {
	let k = 1;
	while (k * 2 < n) k *= 2;
	return k;
}

function rootOfLeafHashes(hashes: Buffer[], start: number, end: number): Buffer {
	const n = end - start;
	if (n === 1) return hashes[start];
	const k = splitPoint(n);
	return merkleNodeHash(rootOfLeafHashes(hashes, start, start + k), rootOfLeafHashes(hashes, start + k, end));
}

/**
 * Merkle Tree Hash (RFC 6962 §2.1) of an ordered list of leaves (the raw leaf bytes, not yet hashed).
 * Returns 32 bytes; the empty list gives SHA-256 of the empty string
 * (`e3b0c442…b855`). Recursion depth is log2(n); memory is 32 bytes per leaf.
 */
export function merkleTreeHash(leaves: readonly Uint8Array[]): Buffer {
	if (leaves.length === 0) return createHash('sha256').update(EMPTY).digest();
	return rootOfLeafHashes(leaves.map(merkleLeafHash), 0, leaves.length);
}

/** {@link merkleTreeHash} as lower-case hex. */
export function merkleRootHex(leaves: readonly Uint8Array[]): string {
	return merkleTreeHash(leaves).toString('hex');
}
