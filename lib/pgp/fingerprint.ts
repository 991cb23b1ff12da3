/**
 * Fingerprints, the one name of a key in this engine (RFC 4880 §12.2, RFC 9580 §5.5.4): the
 * fingerprint of a parsed key, and the list of expected fingerprints a person typed.
 */
import type { Key, Subkey } from 'openpgp';

import { PgpError } from './types';

/** Upper-case hex fingerprint of a key or subkey. */
export function fingerprintOf(key: Key | Subkey): string {
	return key.getFingerprint().toUpperCase();
}

/**
 * Normalise a list of fingerprints as typed by a person.
 *
 * Accepts comma, semicolon or newline separated entries; inside an entry, spaces and colons are
 * grouping (`ABCD 1234 …`) unless the entry holds several whole fingerprints separated by spaces;
 * an optional `0x` prefix is dropped.
 *
 * @returns upper-case hex fingerprints (40 digits for v4, 64 for v6), without duplicates
 * @throws PgpError `KEY_FORMAT` for an entry that is not a 40- or 64-digit hex fingerprint
 */
export function parseFingerprints(input: string | string[] | undefined): string[] {
	if (input === undefined) return [];
	const entries = (Array.isArray(input) ? input : [input])
		.flatMap((entry) => entry.split(/[,;\n\r]+/))
		.map((entry) => entry.trim())
		.filter((entry) => entry.length > 0);
	const isFingerprint = (value: string) => /^([0-9A-F]{40}|[0-9A-F]{64})$/.test(value);
	const clean = (value: string) => value.replace(/^0x/i, '').replace(/[\s:]/g, '').toUpperCase();
	const result: string[] = [];
	for (const entry of entries) {
		const whole = clean(entry);
		if (isFingerprint(whole)) {
			result.push(whole);
			continue;
		}
		const parts = entry.split(/\s+/).map(clean);
		if (parts.length > 1 && parts.every(isFingerprint)) {
			result.push(...parts);
			continue;
		}
		throw new PgpError(
			'KEY_FORMAT',
			`Expected fingerprint "${entry.slice(0, 80)}" is not a 40- or 64-digit hexadecimal fingerprint.`,
		);
	}
	return [...new Set(result)];
}
