/**
 * The `.rsmf` file: an RFC 5322 message (nodemailer's MailComposer) whose body is the plain-text
 * transcript and whose one attachment is rsmf.zip (Relativity, "Relativity Short Message Format").
 */
import type { Readable } from 'node:stream';
import MailComposer from 'nodemailer/lib/mail-composer';

/** An address of the message: a display name and a synthetic address. */
export interface RsmfAddress {
	name: string;
	address: string;
}

/** Options of {@link createRsmfMessage}. */
export interface RsmfMessageOptions {
	from: RsmfAddress;
	to: RsmfAddress[];
	subject: string;
	/** `Date`: the time of the slice's first event. */
	date: Date;
	/** `Message-ID` with its angle brackets. */
	messageId: string;
	/** `X-RSMF-*` headers, in order. */
	headers: Array<[string, string]>;
	/** Plain-text body. */
	text: string;
	/** rsmf.zip, streamed. */
	zip: Readable;
	/**
	 * Shared part of the multipart boundaries. Derived from the content (a hash), so the output is
	 * reproducible and no message text can contain the boundary: a sender would have to predict the
	 * hash of a text that holds it.
	 */
	baseBoundary: string;
}

/** Header names as Relativity spells them (nodemailer would write `X-Rsmf-Version`). */
function headerName(names: Map<string, string>) {
	return (key: string) => names.get(key.toLowerCase()) ?? key;
}

/**
 * Streams the `.rsmf` message: `multipart/mixed` with the text body (UTF-8, quoted-printable or
 * base64 as nodemailer chooses) and rsmf.zip (`application/zip`, base64). Everything that varies
 * between runs in nodemailer (boundary, Date, Message-ID) is given, so the same options give the
 * same bytes. An error of the zip stream fails the returned stream.
 */
export function createRsmfMessage(options: RsmfMessageOptions): Readable {
	const names = new Map(options.headers.map(([name]) => [name.toLowerCase(), name]));
	const composer = new MailComposer({
		from: options.from,
		to: options.to.length ? options.to : undefined,
		subject: options.subject,
		date: options.date,
		messageId: options.messageId,
		headers: options.headers.map(([key, value]) => ({ key, value })),
		text: options.text,
		attachments: [{ filename: 'rsmf.zip', contentType: 'application/zip', content: options.zip }],
		baseBoundary: options.baseBoundary,
		normalizeHeaderKey: headerName(names),
		disableFileAccess: true,
		disableUrlAccess: true,
	});
	return composer.compile().createReadStream();
}
