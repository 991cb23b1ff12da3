/**
 * Names of the media files at the root of rsmf.zip: the sender's original file name made safe by the
 * pack's one sanitizer (lib/archive/file-name.ts), an extension from the MIME type when it has none,
 * and unique in the zip.
 */
import { safeFileName } from '../file-name';

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

/** Longest name in UTF-8 octets: below the 255 of common file systems, with room for ` (n)`. */
const MAX_NAME_BYTES = 200;

/** The extension for a MIME type (parameters ignored), or `bin`. */
export function extensionForMimeType(mimeType: string | null | undefined): string {
	const essence = (mimeType ?? '').split(';')[0].trim().toLowerCase();
	return EXTENSIONS[essence] ?? 'bin';
}

/** Whether a name has an extension (`report.pdf`, not `report` or `.pdf`). */
function hasExtension(name: string): boolean {
	const dot = name.lastIndexOf('.');
	return dot > 0 && dot < name.length - 1;
}

/**
 * The display name of a media file: the original name through {@link safeFileName} (at most 200
 * UTF-8 octets), with the MIME type's extension when it has none; without a name,
 * `<message type>-<yyyymmdd-hhmmss UTC>.<ext>`.
 */
export function mediaFileName(options: { fileName?: string | null; type: string; time: string | null; mimeType?: string | null }): string {
	const extension = extensionForMimeType(options.mimeType);
	const stamp = options.time ? options.time.slice(0, 19).replace(/[-:]/g, '').replace('T', '-') : 'undated';
	const fallback = `${safeFileName(options.type, 'media', MAX_NAME_BYTES)}-${stamp}.${extension}`;
	const name = safeFileName(options.fileName, '', MAX_NAME_BYTES);
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
