/**
 * Names of the media files at the root of rsmf.zip: the sender's original file name made safe to
 * extract on any system, an extension from the MIME type when it has none, and unique in the zip.
 */

/** Name of the manifest inside rsmf.zip (RSMF 2.0). */
export const MANIFEST_FILE_NAME = 'rsmf_manifest.json';

/**
 * Extensions of the media types WhatsApp carries (Meta, Cloud API "Supported media types": audio,
 * document, image, sticker, video).
 */
const EXTENSIONS: Record<string, string> = {
	'audio/aac': 'aac',
	'audio/amr': 'amr',
	'audio/mpeg': 'mp3',
	'audio/mp4': 'm4a',
	'audio/ogg': 'ogg',
	'text/plain': 'txt',
	'application/pdf': 'pdf',
	'application/msword': 'doc',
	'application/vnd.openxmlformats-officedocument.wordprocessingml.document': 'docx',
	'application/vnd.ms-excel': 'xls',
	'application/vnd.openxmlformats-officedocument.spreadsheetml.sheet': 'xlsx',
	'application/vnd.ms-powerpoint': 'ppt',
	'application/vnd.openxmlformats-officedocument.presentationml.presentation': 'pptx',
	'image/jpeg': 'jpg',
	'image/png': 'png',
	'image/webp': 'webp',
	'video/3gpp': '3gp',
	'video/mp4': 'mp4',
};

/**
 * Characters replaced by `_`: C0/C1 controls, DEL, the bidirectional formatting characters (UAX #9:
 * ALM, LRM/RLM, embeddings, overrides, isolates), zero-width characters and the BOM, line and
 * paragraph separators, and the characters Windows forbids in names (`<>:"/\|?*`).
 */
// eslint-disable-next-line no-control-regex
const UNSAFE = /[\u0000-\u001f\u007f-\u009f\u061c\u200b-\u200f\u2028-\u202e\u2060-\u2069\ufeff<>:"/\\|?*]/g;

/** Names Windows reserves for devices, with or without an extension (Win32 "Naming Files"). */
const RESERVED = /^(con|prn|aux|nul|com[0-9]|lpt[0-9])(\..*)?$/i;

/** Longest name in UTF-8 octets: below the 255 of common file systems, with room for ` (n)`. */
const MAX_NAME_BYTES = 200;

/** The extension for a MIME type (parameters ignored), or `bin`. */
export function extensionForMimeType(mimeType: string | null | undefined): string {
	const essence = (mimeType ?? '').split(';')[0].trim().toLowerCase();
	return EXTENSIONS[essence] ?? 'bin';
}

/** `name` cut to at most `maxBytes` UTF-8 octets on a code point boundary. */
function truncateUtf8(name: string, maxBytes: number): string {
	let out = '';
	let bytes = 0;
	for (const character of name) {
		bytes += Buffer.byteLength(character, 'utf8');
		if (bytes > maxBytes) break;
		out += character;
	}
	return out;
}

/**
 * A file name safe at the root of a zip on any system: the last segment of any path (`/` or `\`),
 * Unicode NFC, unsafe characters replaced (see {@link UNSAFE}), no leading or trailing dots or
 * spaces (no `..`, no hidden file), a Windows device name prefixed with `_`, at most 200 UTF-8
 * octets with the extension kept. Empty or nothing left: `fallback`.
 */
export function sanitizeFileName(name: string | null | undefined, fallback: string): string {
	const segments = (name ?? '').normalize('NFC').split(/[/\\]/);
	let safe = (segments.filter((segment) => segment.trim()).pop() ?? '').replace(UNSAFE, '_');
	safe = safe.replace(/^[\s.]+|[\s.]+$/g, '');
	if (!safe) return fallback;
	if (RESERVED.test(safe)) safe = `_${safe}`;
	if (Buffer.byteLength(safe, 'utf8') > MAX_NAME_BYTES) {
		const dot = safe.lastIndexOf('.');
		const extension = dot > 0 && safe.length - dot <= 16 ? safe.slice(dot) : '';
		safe = truncateUtf8(safe.slice(0, safe.length - extension.length), MAX_NAME_BYTES - Buffer.byteLength(extension, 'utf8')) + extension;
	}
	return safe;
}

/** Whether a name has an extension (`report.pdf`, not `report` or `.pdf`). */
function hasExtension(name: string): boolean {
	const dot = name.lastIndexOf('.');
	return dot > 0 && dot < name.length - 1;
}

/**
 * The display name of a media file: the sanitized original name, with the MIME type's extension
 * when it has none; without a name, `<message type>-<yyyymmdd-hhmmss UTC>.<ext>`.
 */
export function mediaFileName(options: { fileName?: string | null; type: string; time: string | null; mimeType?: string | null }): string {
	const extension = extensionForMimeType(options.mimeType);
	const stamp = options.time ? options.time.slice(0, 19).replace(/[-:]/g, '').replace('T', '-') : 'undated';
	const fallback = `${sanitizeFileName(options.type, 'media')}-${stamp}.${extension}`;
	const name = sanitizeFileName(options.fileName, '');
	if (!name) return fallback;
	return hasExtension(name) ? name : `${name}.${extension}`;
}

/**
 * `name`, or `name (2).ext`, `name (3).ext`… : the first not in `taken` (compared case-insensitively,
 * as Windows and macOS compare names), which is then added to `taken`.
 */
export function uniqueFileName(name: string, taken: Set<string>): string {
	const dot = name.lastIndexOf('.');
	const stem = dot > 0 ? name.slice(0, dot) : name;
	const extension = dot > 0 ? name.slice(dot) : '';
	let candidate = name;
	for (let n = 2; taken.has(candidate.toLowerCase()); n++) candidate = `${stem} (${n})${extension}`;
	taken.add(candidate.toLowerCase());
	return candidate;
}
