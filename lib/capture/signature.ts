import { createHmac, timingSafeEqual } from 'node:crypto';

import type { VerifySignatureOptions, VerifySignatureResult } from './types';

const HEADER_PATTERN = /^sha256=([0-9a-fA-F]{64})$/;

/**
 * Verifies the `X-Hub-Signature-256` header of a Meta webhook delivery.
 *
 * The header is `sha256=<64 lowercase hex>` = HMAC-SHA256 (RFC 2104, FIPS 180-4) keyed with the
 * App Secret over the request body (Meta, "Graph API Webhooks – Getting Started", "Validate payloads").
 * The raw bytes are tried first; when they do not match and the body holds non-ASCII characters, the
 * escaped-unicode form (see {@link escapeUnicode}) is tried, because Meta documents the signature as
 * computed over that form. JSON is never parsed nor re-serialized here.
 *
 * Comparison is constant time (`crypto.timingSafeEqual` on two 32-byte digests).
 *
 * @returns `{ verified: true, form }` on a match; otherwise `{ verified: false, reason }` where reason is
 *   one of `missing app secret`, `missing header`, `malformed header`, `signature mismatch`.
 *   Never throws for bad input; never includes body content in `reason`.
 */
export function verifySignature({
	rawBody,
	header,
	appSecret,
}: VerifySignatureOptions): VerifySignatureResult {
	if (typeof appSecret !== 'string' || appSecret.length === 0) {
		return { verified: false, reason: 'missing app secret' };
	}
	if (typeof header !== 'string' || header.trim().length === 0) {
		return { verified: false, reason: 'missing header' };
	}
	const match = HEADER_PATTERN.exec(header.trim());
	if (!match) {
		return { verified: false, reason: 'malformed header' };
	}
	const expected = Buffer.from(match[1], 'hex');
	const body = Buffer.isBuffer(rawBody) ? rawBody : Buffer.from(rawBody ?? '');

	if (digestEquals(hmacSha256(appSecret, body), expected)) {
		return { verified: true, form: 'raw' };
	}
	const escaped = escapedUnicodeForm(body);
	if (escaped !== undefined && digestEquals(hmacSha256(appSecret, escaped), expected)) {
		return { verified: true, form: 'escaped-unicode' };
	}
	return { verified: false, reason: 'signature mismatch' };
}

/**
 * Returns `text` with every non-ASCII character (U+0080 and above; ASCII is kept as is) written as a
 * JSON `\uXXXX` escape with four lowercase hex digits, one escape per UTF-16 code unit, so an astral
 * character (e.g. U+1F44D 👍) becomes its surrogate pair `\ud83d\udc4d`. This is the form PHP's
 * `json_encode` produces and the one Meta signs (see whatsapp-api-js issue #290).
 */
export function escapeUnicode(text: string): string {
	return text.replace(
		/[\u0080-\uffff]/g,
		(ch) => '\\u' + ch.charCodeAt(0).toString(16).padStart(4, '0'),
	);
}

/** HMAC-SHA256 (RFC 2104) of `data` keyed with `secret` (UTF-8), as a 32-byte Buffer. */
function hmacSha256(secret: string, data: Buffer): Buffer {
	return createHmac('sha256', secret).update(data).digest();
}

/** Constant-time equality of two digests; false when lengths differ (lengths are public: 32 bytes). */
function digestEquals(actual: Buffer, expected: Buffer): boolean {
	return actual.length === expected.length && timingSafeEqual(actual, expected);
}

/**
 * The escaped-unicode form of the body bytes, or undefined when it would equal the raw bytes (pure
 * ASCII) or the body is not valid UTF-8 (then no character-level form exists).
 */
function escapedUnicodeForm(body: Buffer): Buffer | undefined {
	if (!body.some((byte) => byte > 0x7f)) return undefined;
	let text: string;
	try {
		text = new TextDecoder('utf-8', { fatal: true, ignoreBOM: true }).decode(body);
	} catch {
		return undefined;
	}
	return Buffer.from(escapeUnicode(text), 'utf8');
}
