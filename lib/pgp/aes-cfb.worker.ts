/**
 * The AES-CFB worker thread that {@link Aes256CfbEncryptor} (aes-cfb.ts) starts by path: OpenPGP's
 * full-block CFB (RFC 4880 §13.9 without the resync step, as SEIPD v1 uses, §5.13) computed from
 * OpenSSL AES-256-CBC, one stream per `open` message (the construction is in aes-cfb.ts's module
 * comment). Messages: aes-cfb.protocol.ts.
 *
 * Node runs this file compiled (`aes-cfb.worker.js`) or, from source, by stripping its types: it
 * keeps to erasable TypeScript syntax, and takes its Node modules from `process.getBuiltinModule`
 * rather than `import`, so that it stays CommonJS in both forms (the package has no "type"; an
 * `import` statement would make Node re-parse the source as an ES module, with a warning).
 */
import type { Cipheriv } from 'node:crypto';

import type { CfbBatch, CfbCiphertext, CfbRequest } from './aes-cfb.protocol';

const { parentPort } = process.getBuiltinModule('node:worker_threads');
const { createCipheriv } = process.getBuiltinModule('node:crypto');

if (!parentPort) throw new Error('aes-cfb.worker runs as a worker thread only');
const port = parentPort;

/** One open stream: its long-lived CBC cipher and the keystream block of the next CFB block. */
interface CfbStream {
	cbc: Cipheriv;
	/** The last CBC output (E_K of the last ciphertext block), as four 32-bit words. */
	keystream: Int32Array;
}

const streams = new Map<number, CfbStream>();

/**
 * Encrypts one batch: whole blocks through CBC, C_i = P_i ⊕ D_{i-1} (D_0 = the keystream), XORed
 * in place over the CBC output, from the end, in 32-bit words; a final partial block of r < 16
 * octets is P ⊕ the first r octets of the keystream.
 */
function encryptBatch(stream: CfbStream, batch: CfbBatch): Uint8Array<ArrayBuffer> {
	const length = batch.length;
	const full = length - (length % 16);
	const rest = length - full;
	const keystream = stream.keystream;
	let out: Uint8Array<ArrayBuffer> | undefined;
	if (full > 0) {
		const cbcOut = stream.cbc.update(new Uint8Array(batch.plaintext, 0, full));
		if (cbcOut.length !== full || (cbcOut.byteOffset & 3) !== 0) {
			throw new Error('unexpected AES-CBC output');
		}
		const words = full >>> 2;
		const cbcWords = new Int32Array(cbcOut.buffer, cbcOut.byteOffset, words);
		const plainWords = new Int32Array(batch.plaintext, 0, words);
		const last0 = cbcWords[words - 4];
		const last1 = cbcWords[words - 3];
		const last2 = cbcWords[words - 2];
		const last3 = cbcWords[words - 1];
		for (let j = words - 1; j >= 4; j--) cbcWords[j] = plainWords[j] ^ cbcWords[j - 4];
		cbcWords[0] = plainWords[0] ^ keystream[0];
		cbcWords[1] = plainWords[1] ^ keystream[1];
		cbcWords[2] = plainWords[2] ^ keystream[2];
		cbcWords[3] = plainWords[3] ^ keystream[3];
		keystream[0] = last0;
		keystream[1] = last1;
		keystream[2] = last2;
		keystream[3] = last3;
		out = new Uint8Array(cbcOut.buffer, cbcOut.byteOffset, full);
	}
	if (rest > 0) {
		const whole = new Uint8Array(length);
		if (out) whole.set(out);
		const plainRest = new Uint8Array(batch.plaintext, full, rest);
		const keystreamOctets = new Uint8Array(keystream.buffer);
		for (let i = 0; i < rest; i++) whole[full + i] = plainRest[i] ^ keystreamOctets[i];
		out = whole;
	}
	return out ?? new Uint8Array(0);
}

function handle(message: CfbRequest): void {
	if (message.type === 'open') {
		const cbc = createCipheriv('aes-256-cbc', message.key, message.iv);
		cbc.setAutoPadding(false);
		const keystream = new Int32Array(4);
		new Uint8Array(keystream.buffer).set(message.iv);
		streams.set(message.id, { cbc, keystream });
		return;
	}
	if (message.type === 'close') {
		streams.delete(message.id);
		return;
	}
	const stream = streams.get(message.id);
	if (!stream) return;
	const ciphertext = encryptBatch(stream, message);
	if (message.final) streams.delete(message.id);
	const reply: CfbCiphertext = { id: message.id, plaintext: message.plaintext, ciphertext };
	try {
		port.postMessage(reply, [message.plaintext, ciphertext.buffer]);
	} catch {
		// A buffer that cannot be transferred is copied instead.
		port.postMessage(reply, [message.plaintext]);
	}
}

port.on('message', (message: CfbRequest) => {
	try {
		handle(message);
	} catch (error) {
		streams.delete(message.id);
		const text = error instanceof Error && error.message ? error.message : String(error);
		port.postMessage({ id: message.id, error: text });
	}
});
