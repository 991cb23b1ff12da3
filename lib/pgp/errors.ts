/**
 * Messages of OpenPGP.js (and other third-party) errors, made fit for a PgpError message: the
 * innermost cause only, with anything shaped like base64 key material cut out.
 */

/** Remove anything that looks like base64 key material from a third-party error message. */
export function sanitizeMessage(message: string): string {
	return message.replace(/[A-Za-z0-9+/]{24,}={0,2}/g, '…').slice(0, 300);
}

/** The innermost message of an OpenPGP.js error (which wraps as "Outer: inner" with `cause`). */
export function innerMessage(error: unknown): string {
	let current: unknown = error;
	while (current instanceof Error && current.cause instanceof Error) current = current.cause;
	const text = current instanceof Error ? current.message : String(current);
	return sanitizeMessage(text);
}
