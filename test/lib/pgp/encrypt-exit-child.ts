/**
 * Child process for the "ends by itself" test of the native writer (run with tsx):
 *   tsx test/lib/pgp/encrypt-exit-child.ts <plaintext file> <armored public key file> <output file>
 * Encrypts the file with `encrypt` (native SEIPD v1 writer) into the output file and returns from
 * main without exiting explicitly: the process must end by itself once the ciphertext is written
 * (nothing of the writer keeps it alive), with the whole ciphertext written.
 */
import { readFileSync, writeFileSync } from 'node:fs';
import { Readable, Writable } from 'node:stream';
import { pipeline } from 'node:stream/promises';

import { encrypt, readPublicKeys } from '../../../lib/pgp';

async function main(): Promise<void> {
	const [input, keyFile, output] = process.argv.slice(2);
	const recipients = await readPublicKeys({ armoredKeys: readFileSync(keyFile, 'utf8') });
	// Source and sink in memory: no file handle of ours keeps the event loop alive.
	const plaintext = readFileSync(input);
	const pieces: Buffer[] = [];
	for (let offset = 0; offset < plaintext.length; offset += 256 * 1024) {
		pieces.push(plaintext.subarray(offset, offset + 256 * 1024));
	}
	const result = await encrypt({ data: Readable.from(pieces), recipients, filename: 'media.bin' });
	const out: Buffer[] = [];
	const sink = new Writable({
		write(chunk: Buffer, _encoding, callback) {
			out.push(chunk);
			callback();
		},
	});
	// No await: main returns at once.
	void pipeline(result.ciphertext as Readable, sink).then(
		() => {
			writeFileSync(output, Buffer.concat(out));
			process.stdout.write('written\n');
		},
		(error: unknown) => {
			process.stdout.write(`error: ${(error as Error).message}\n`);
			process.exitCode = 1;
		},
	);
}

main().catch((error: unknown) => {
	process.stdout.write(`error: ${(error as Error).message}\n`);
	process.exitCode = 1;
});
