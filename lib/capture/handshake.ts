import { createHash, timingSafeEqual } from 'node:crypto';

import type { HandshakeOptions, HandshakeResult } from './types';

/**
 * Answers Meta's webhook verification request (Meta, "Graph API Webhooks – Getting Started",
 * "Verification Requests"; WhatsApp "Create a webhook endpoint").
 *
 * Meta sends `GET <callback>?hub.mode=subscribe&hub.challenge=<n>&hub.verify_token=<token>` whenever
 * the Callback URL or Verify token is saved in the App Dashboard. The answer is 200 with the bare
 * challenge (to be sent as `text/plain`) only when `hub.mode` is exactly `subscribe`, the token equals
 * the configured verify token (constant-time comparison of SHA-256 digests, so lengths do not leak),
 * and a non-empty challenge is present. Everything else — including an empty configured token and
 * repeated query parameters (arrays) — gets 403.
 *
 * Accepts the query keys as Express delivers them (`hub.mode`), nested (`{ hub: { mode } }`, from
 * parsers that split on dots) or PHP-style (`hub_mode`).
 *
 * @returns `{ status: 200, body: challenge }` or `{ status: 403 }`. Never throws.
 */
export function answerHandshake({ query, verifyToken }: HandshakeOptions): HandshakeResult {
	const mode = readHubParam(query, 'mode');
	const token = readHubParam(query, 'verify_token');
	const challenge = readHubParam(query, 'challenge');

	if (mode !== 'subscribe') return { status: 403 };
	if (typeof verifyToken !== 'string' || verifyToken.length === 0) return { status: 403 };
	if (token === undefined || !secretEquals(token, verifyToken)) return { status: 403 };
	if (challenge === undefined || challenge.length === 0) return { status: 403 };
	return { status: 200, body: challenge };
}

/** Reads `hub.<name>` from a parsed query in any of the three spellings; undefined unless a single string. */
function readHubParam(query: Record<string, unknown>, name: string): string | undefined {
	if (query === null || typeof query !== 'object') return undefined;
	const nested = query.hub;
	const candidates: unknown[] = [
		query[`hub.${name}`],
		nested !== null && typeof nested === 'object' ? (nested as Record<string, unknown>)[name] : undefined,
		query[`hub_${name}`],
	];
	for (const candidate of candidates) {
		if (candidate !== undefined) return typeof candidate === 'string' ? candidate : undefined;
	}
	return undefined;
}

/** Constant-time string equality over SHA-256 digests (equal-length buffers whatever the inputs). */
function secretEquals(given: string, expected: string): boolean {
	const a = createHash('sha256').update(given, 'utf8').digest();
	const b = createHash('sha256').update(expected, 'utf8').digest();
	return timingSafeEqual(a, b);
}
