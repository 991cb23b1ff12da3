/**
 * The messages between {@link Aes256CfbEncryptor} (aes-cfb.ts, main thread) and the AES-CFB worker
 * thread (aes-cfb.worker.ts). Types only: both sides import them with `import type`.
 */

/** Opens a stream: its AES-256 key and IV = E_K(0), the first CFB keystream block. */
export interface CfbOpen {
	type: 'open';
	id: number;
	key: Uint8Array;
	iv: Uint8Array;
}

/**
 * A batch of plaintext: the first `length` octets of `plaintext` (an ArrayBuffer transferred to
 * the worker). `final` ends the stream after this batch.
 */
export interface CfbBatch {
	type: 'batch';
	id: number;
	plaintext: ArrayBuffer;
	length: number;
	final: boolean;
}

/** Drops a stream. */
export interface CfbClose {
	type: 'close';
	id: number;
}

/** What the main thread sends to the worker. */
export type CfbRequest = CfbOpen | CfbBatch | CfbClose;

/**
 * A batch encrypted: the plaintext buffer handed back for reuse and the ciphertext, in the CBC
 * output's own buffer (both transferred).
 */
export interface CfbCiphertext {
	id: number;
	plaintext: ArrayBuffer;
	ciphertext: Uint8Array;
	error?: undefined;
}

/** A batch that failed; the worker has dropped the stream. */
export interface CfbFailure {
	id: number;
	error: string;
}

/** What the worker sends back, one reply per batch, in order. */
export type CfbReply = CfbCiphertext | CfbFailure;
