/**
 * Bytes framed as an OpenPGP encrypted message around chosen content, for tests of code that stores
 * ciphertext without reading it (S3 Archive Write checks only that a binary starts like one): a v3
 * PKESK packet to a made-up RSA key (RFC 9580 §5.1), then a SEIPD v1 packet (§5.13) whose body is the
 * version octet and `content`. Nothing can decrypt them; real ciphertext comes from ./gpg.ts or lib/pgp.
 */
import { Readable } from 'node:stream';

import { patternBytes, patternStream } from './pattern';

/** PKESK v3: version, key id, algorithm 1 (RSA), one 2048-bit MPI; new-format header, 2-octet length. */
const PKESK = (() => {
	const mpi = Buffer.alloc(256, 0xa5);
	const body = Buffer.concat([Buffer.from([3]), Buffer.from('0123456789abcdef', 'hex'), Buffer.from([1]), Buffer.from([0x08, 0x00]), mpi]);
	const length = body.length - 192;
	return Buffer.concat([Buffer.from([0xc1, 192 + (length >> 8), length & 0xff]), body]);
})();

/** The bytes before `size` bytes of content: the PKESK and the SEIPD header (5-octet length) with its version. */
export function ciphertextHead(size: number): Buffer {
	const length = Buffer.alloc(4);
	length.writeUInt32BE(size + 1);
	return Buffer.concat([PKESK, Buffer.from([0xd2, 0xff]), length, Buffer.from([1])]);
}

/** `content` framed as an encrypted message. */
export function ciphertextShaped(content: Buffer): Buffer {
	return Buffer.concat([ciphertextHead(content.length), content]);
}

/** {@link patternBytes} of `size` framed as an encrypted message. */
export function ciphertextPattern(size: number): Buffer {
	return ciphertextShaped(patternBytes(size));
}

/**
 * {@link ciphertextPattern} as a stream: the head, then {@link patternStream} of `size` in `chunkSize`
 * chunks, failing after `failAfter` bytes of the content when given.
 */
export function ciphertextPatternStream(size: number, chunkSize: number, failAfter?: number): Readable {
	const content = patternStream(size, chunkSize, failAfter);
	return Readable.from(
		(async function* () {
			yield ciphertextHead(size);
			yield* content;
		})(),
	);
}
