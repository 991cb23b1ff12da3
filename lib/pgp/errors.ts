/**
 * Messages of OpenPGP.js (and other third-party) errors, made fit for a PgpError message: the
 * innermost cause only, with anything shaped like base64 key material, a file path or Node's
 * module-loader trace cut out.
 */

/** Node's "Cannot find module 'x'" (with its require stack): a part of OpenPGP.js that is not installed. */
const MISSING_MODULE = /Cannot find module '[^']*'(?: from '[^']*')?(?:\s*Require stack:[\s\S]*)?/g;
/** An absolute or relative file path (`/a/b`, `../a/b`, `C:\a`), after a space, quote or parenthesis. */
const FILE_PATH = /(^|[\s'"(])(?:[A-Za-z]:\\|\.{0,2}\/)[\w.@~-]+[\\/][^\s'")]*/g;

/** Remove anything that looks like base64 key material or a file path from a third-party error message. */
export function sanitizeMessage(message: string): string {
	return message
		.replace(MISSING_MODULE, 'an optional part of OpenPGP.js is not installed')
		.replace(FILE_PATH, '$1<path>')
		.replace(/[A-Za-z0-9+/]{24,}={0,2}/g, '…')
		.slice(0, 300);
}

/** The innermost message of an OpenPGP.js error (which wraps as "Outer: inner" with `cause`). */
export function innerMessage(error: unknown): string {
	let current: unknown = error;
	while (current instanceof Error && current.cause instanceof Error) current = current.cause;
	const text = current instanceof Error ? current.message : String(current);
	return sanitizeMessage(text);
}
