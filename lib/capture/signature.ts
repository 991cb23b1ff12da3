import { isAscii, isUtf8 } from 'node:buffer';
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
 * computed over that form. That form is hashed as it is produced, in one linear pass with constant
 * memory (at most three times the body's bytes are hashed: a 2-byte character becomes 6). JSON is never
 * parsed nor re-serialized here. The caller bounds the body size (the trigger's Max Body Size).
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
	const escaped = escapedUnicodeHmac(appSecret, body);
	if (escaped !== undefined && digestEquals(escaped, expected)) {
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

/** Body bytes decoded per step of {@link escapedUnicodeHmac}. */
const ESCAPE_STEP = 64 * 1024;
const HEX_DIGITS = Uint8Array.from('0123456789abcdef', (digit) => digit.charCodeAt(0));

/**
 * HMAC-SHA256 of the escaped-unicode form of the body bytes (see {@link escapeUnicode}), or undefined
 * when that form would equal the raw bytes (pure ASCII) or the body is not valid UTF-8 (then no
 * character-level form exists; `isUtf8` follows the WHATWG decoder: no overlongs, surrogates or code
 * points above U+10FFFF).
 *
 * One pass: 64 KiB of body at a time is decoded (streaming TextDecoder, so a character split between
 * steps is kept whole) and its UTF-16 code units written, escaped, into one reused buffer that is
 * hashed at once. Neither the whole text nor the whole escaped form is ever built: time is linear in
 * the body and memory constant (an escape, 6 bytes, stands for at least 2 body bytes, so one step
 * writes at most 3 bytes per body byte, plus a character carried over from the step before).
 */
function escapedUnicodeHmac(secret: string, body: Buffer): Buffer | undefined {
	if (isAscii(body) || !isUtf8(body)) return undefined;
	const hmac = createHmac('sha256', secret);
	const decoder = new TextDecoder('utf-8', { ignoreBOM: true });
	const out = new Uint8Array(ESCAPE_STEP * 3 + 12);
	for (let start = 0; start < body.length; start += ESCAPE_STEP) {
		const end = start + ESCAPE_STEP;
		const text = decoder.decode(body.subarray(start, end), { stream: end < body.length });
		let o = 0;
		for (let k = 0; k < text.length; k++) {
			const unit = text.charCodeAt(k);
			if (unit < 0x80) {
				out[o++] = unit;
				continue;
			}
			out[o] = 0x5c; // \
			out[o + 1] = 0x75; // u
			out[o + 2] = HEX_DIGITS[unit >> 12];
			out[o + 3] = HEX_DIGITS[(unit >> 8) & 15];
			out[o + 4] = HEX_DIGITS[(unit >> 4) & 15];
			out[o + 5] = HEX_DIGITS[unit & 15];
			o += 6;
		}
		hmac.update(out.subarray(0, o));
	}
	return hmac.digest();
}
