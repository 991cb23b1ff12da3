/**
 * The one file-name sanitizer of the pack: names that come from a message, an OpenPGP literal packet,
 * an object key or a parameter, handed to n8n (`prepareBinaryData`, through nodes/shared/binary.ts) or
 * written into an export (the media files of rsmf.zip).
 */

/** Longest file name by default, in UTF-8 bytes (NAME_MAX of common file systems: ext4, APFS, NTFS). */
export const MAX_FILE_NAME_BYTES = 255;

/**
 * Characters dropped from file names: C0 and C1 controls, DEL, LINE / PARAGRAPH SEPARATOR and the
 * bidirectional formatting characters (Unicode UAX #9), which can hide a name's real extension
 * (`invoice\u202Efdp.exe` shows as `invoiceexe.pdf`).
 */
// eslint-disable-next-line no-control-regex
const INVISIBLE_IN_FILE_NAMES = /[\u0000-\u001f\u007f-\u009f\u061c\u200e\u200f\u2028\u2029\u202a-\u202e\u2066-\u2069]/g;

/** Characters Windows refuses in file names (Microsoft, "Naming Files, Paths, and Namespaces"). */
const WINDOWS_FORBIDDEN = /[<>:"|?*]/g;

/** Device names Windows reserves, with or without an extension (same page). */
const WINDOWS_RESERVED = /^(con|prn|aux|nul|com[0-9¹²³]|lpt[0-9¹²³])(\.|$)/i;

/** Longest extension kept when a name is shortened, in UTF-8 bytes. */
const MAX_EXTENSION_BYTES = 32;

/**
 * The one sanitizer of file names that come from a message, an OpenPGP literal packet, an object key
 * or a parameter: control and bidi characters dropped; only the last path segment (`/` and `\`);
 * Windows' forbidden characters as `_`; surrounding spaces and trailing dots removed; a reserved device
 * name prefixed with `_` (`_CON.txt`); at most `maxBytes` (default {@link MAX_FILE_NAME_BYTES}) UTF-8
 * bytes, keeping the extension; `fallback` when nothing is left (empty, `.`, `..`).
 */
export function safeFileName(name: string | null | undefined, fallback: string, maxBytes = MAX_FILE_NAME_BYTES): string {
	const visible = String(name ?? '').replace(INVISIBLE_IN_FILE_NAMES, '');
	const base = (visible.split(/[\\/]/).pop() ?? '').replace(WINDOWS_FORBIDDEN, '_').trim().replace(/[. ]+$/, '');
	if (!base) return fallback;
	return shortened(WINDOWS_RESERVED.test(base) ? `_${base}` : base, maxBytes);
}

/** `name` cut to `maxBytes` UTF-8 bytes at a code point boundary, its extension kept. */
function shortened(name: string, maxBytes: number): string {
	if (Buffer.byteLength(name, 'utf8') <= maxBytes) return name;
	const dot = name.lastIndexOf('.');
	const extension = dot > 0 && Buffer.byteLength(name.slice(dot), 'utf8') <= MAX_EXTENSION_BYTES ? name.slice(dot) : '';
	let stem = '';
	let bytes = Buffer.byteLength(extension, 'utf8');
	for (const character of name.slice(0, name.length - extension.length)) {
		bytes += Buffer.byteLength(character, 'utf8');
		if (bytes > maxBytes) break;
		stem += character;
	}
	return `${stem}${extension}`;
}
