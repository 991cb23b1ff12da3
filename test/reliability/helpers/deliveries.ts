/**
 * Deliveries of the reliability suite: the fixture deliveries, signing, the plaintext markers they
 * carry, a raw HTTP client (full control over header bytes), a seeded delivery fuzzer and an
 * independent count of the records a delivery must yield.
 */
import { createHmac } from 'node:crypto';
import { readdirSync, readFileSync } from 'node:fs';
import net from 'node:net';
import path from 'node:path';

import { normalizeDelivery } from '../../../lib/capture';
import { prng } from '../../lib/retention/population';

export { prng };

export const FIXTURES = path.join(__dirname, '..', '..', 'fixtures', 'whatsapp');

/** Fixture deliveries (name → raw bytes), the Graph media lookup response excluded. */
export const fixtures: Array<{ name: string; body: Buffer }> = readdirSync(FIXTURES)
	.filter((f) => f.endsWith('.json'))
	.map((f) => ({ name: f.replace(/\.json$/, ''), body: readFileSync(path.join(FIXTURES, f)) }))
	.filter((f) => (JSON.parse(f.body.toString('utf8')) as { object?: string }).object === 'whatsapp_business_account')
	.sort((a, b) => a.name.localeCompare(b.name));

export const sign = (body: Buffer | string, secret: string): string =>
	'sha256=' + createHmac('sha256', secret).update(body).digest('hex');

const MARKER_KEYS = new Set(['body', 'caption', 'name', 'formatted_name', 'first_name', 'last_name', 'title', 'description', 'emoji', 'address', 'filename', 'text', 'payload', 'username']);

/**
 * Plaintext markers of the fixtures: message bodies, captions, titles, contact and profile names,
 * counterparty phone numbers (`from`, `to`, `wa_id`, `recipient_id`, `phone`), BSUIDs and wamids.
 * Business ids (WABA, phone_number_id, display number) are not markers: they are routing data.
 */
export function fixtureMarkers(): string[] {
	const markers = new Set<string>();
	const business = new Set<string>();
	const visit = (value: unknown, key: string | null) => {
		if (Array.isArray(value)) return value.forEach((v) => visit(v, key));
		if (value && typeof value === 'object') {
			for (const [k, v] of Object.entries(value)) visit(v, k);
			return;
		}
		if (typeof value !== 'string') return;
		if (key === 'phone_number_id' || key === 'display_phone_number') return void business.add(value);
		if (key && MARKER_KEYS.has(key) && value.length >= 5) markers.add(value);
		if (key && ['from', 'to', 'wa_id', 'recipient_id', 'phone', 'user_id', 'from_user_id', 'recipient_user_id'].includes(key)) markers.add(value);
		if (value.startsWith('wamid.')) markers.add(value);
	};
	for (const f of fixtures) {
		const json = JSON.parse(f.body.toString('utf8')) as { entry?: Array<{ id?: string }> };
		for (const e of json.entry ?? []) if (e.id) business.add(e.id);
		visit(json, null);
	}
	return [...markers].filter((m) => !business.has(m) && m.length >= 5);
}

export interface RawResponse {
	status: number;
	body: string;
}

/**
 * One HTTP/1.1 request written byte for byte on a fresh socket, so header names, order, case,
 * whitespace and duplicates are exactly as given. `Content-Length` is added when absent.
 */
export async function rawPost(url: string, headers: Array<[string, string]>, body: Buffer): Promise<RawResponse> {
	const u = new URL(url);
	const lines = [`POST ${u.pathname}${u.search} HTTP/1.1`, `Host: ${u.host}`, 'Connection: close'];
	if (!headers.some(([n]) => n.toLowerCase() === 'content-length')) lines.push(`Content-Length: ${body.length}`);
	for (const [name, value] of headers) lines.push(`${name}: ${value}`);
	const head = Buffer.from(lines.join('\r\n') + '\r\n\r\n', 'latin1');
	return await new Promise<RawResponse>((resolve, reject) => {
		const socket = net.connect(Number(u.port), u.hostname);
		const chunks: Buffer[] = [];
		socket.on('data', (c) => chunks.push(c));
		socket.on('error', reject);
		socket.on('close', () => {
			const text = Buffer.concat(chunks).toString('utf8');
			const match = /^HTTP\/1\.1 (\d{3})/.exec(text);
			resolve({ status: match ? Number(match[1]) : 0, body: text.split('\r\n\r\n').slice(1).join('\r\n\r\n') });
		});
		socket.write(Buffer.concat([head, body]));
	});
}

/* ------------------------------------------------------------------ fuzzing */

export const MESSAGE_FIELDS = ['messages', 'smb_message_echoes', 'message_echoes'];

/** Independent count of the records normalizeDelivery must return for a body (one per element). */
export function expectedRecordCount(body: Buffer): { count: number; quarantine: boolean; modeled: boolean } {
	let parsed: unknown;
	try {
		parsed = JSON.parse(new TextDecoder('utf-8', { fatal: true }).decode(body));
	} catch {
		return { count: 1, quarantine: true, modeled: true };
	}
	const isObj = (v: unknown): v is Record<string, unknown> => typeof v === 'object' && v !== null && !Array.isArray(v);
	if (!isObj(parsed) || parsed.object !== 'whatsapp_business_account' || !Array.isArray(parsed.entry)) return { count: 1, quarantine: true, modeled: true };
	let count = 0;
	let modeled = true;
	for (const entry of parsed.entry) {
		if (!isObj(entry) || !Array.isArray(entry.changes) || entry.changes.length === 0) {
			count += 1;
			continue;
		}
		for (const change of entry.changes) {
			const field = isObj(change) ? change.field : undefined;
			const value = isObj(change) ? change.value : change;
			// fields with element lists of their own (groups, history, contact sync, calls): their records
			// follow rules this count does not model (an element without its ids is dropped, a chunk holds
			// many messages): callers take the engine's count for them
			if (typeof field === 'string' && OWN_RECORD_FIELDS.test(field)) modeled = false;
			if (typeof field !== 'string' || !MESSAGE_FIELDS.includes(field) || !isObj(value)) {
				count += 1;
				continue;
			}
			let n = 0;
			for (const list of ['messages', 'message_echoes', 'statuses', 'errors']) if (Array.isArray(value[list])) n += (value[list] as unknown[]).length;
			count += Math.max(n, 1);
		}
	}
	return count === 0 ? { count: 1, quarantine: true, modeled } : { count, quarantine: false, modeled };
}

const OWN_RECORD_FIELDS = /^(group_|history$|smb_app_state_sync$|calls$)/;

/**
 * The idempotency keys of a delivery's records, as the capture engine gives them (lib/capture
 * `normalizeDelivery`, which the trigger runs): what to look for in the store, where each record's
 * decrypted JSON carries its key. A duplicate stores nothing, so the store alone cannot show which
 * records a redelivery held. The count is checked against {@link expectedRecordCount} by the callers.
 */
export function idempotencyKeys(body: Buffer): string[] {
	return normalizeDelivery({ rawBody: body, receivedAt: new Date(), signatureVerified: true, graphApiVersion: 'v24.0' }).map((r) => r.idempotency_key);
}

/** A canary string the fuzzer puts into text fields, scanned for at rest. */
export const FUZZ_CANARY = 'PLAINTEXT-CANARY-7f3a9c';

export type FuzzKind =
	| 'wrong-types'
	| 'missing-fields'
	| 'huge-string'
	| 'deep-nesting'
	| 'big-body'
	| 'invalid-utf8'
	| 'non-json'
	| 'odd-envelope'
	| 'many-elements'
	| 'unicode';

export const FUZZ_KINDS: FuzzKind[] = [
	'wrong-types',
	'missing-fields',
	'huge-string',
	'deep-nesting',
	'big-body',
	'invalid-utf8',
	'non-json',
	'odd-envelope',
	'many-elements',
	'unicode',
];

/** Seeded generator of delivery bodies derived from the fixtures. */
export function fuzzer(seed: number, options: { bigBodyBytes?: number; maxDepth?: number } = {}) {
	const random = prng(seed);
	const int = (n: number) => Math.floor(random() * n);
	const pick = <T>(list: T[]): T => list[int(list.length)];
	const wrongValues = (): unknown[] => [null, 0, -1, 1e308, true, false, '', 'x', [], {}, [null], { a: 1 }, '١٢٣', 'NaN', '9'.repeat(40)];
	const mutateTree = (value: unknown, rate: number, mode: 'types' | 'delete'): unknown => {
		if (Array.isArray(value)) return value.map((v) => mutateTree(v, rate, mode));
		if (value && typeof value === 'object') {
			const out: Record<string, unknown> = {};
			for (const [k, v] of Object.entries(value)) {
				// phone_number_id is left alone here: its malformed values have a test of their own
				if (k === 'phone_number_id') {
					out[k] = v;
					continue;
				}
				if (random() < rate) {
					if (mode === 'delete') continue;
					out[k] = pick(wrongValues());
				} else out[k] = mutateTree(v, rate, mode);
			}
			return out;
		}
		if (typeof value === 'string' && value.length > 4 && random() < 0.3) return `${value} ${FUZZ_CANARY}`;
		return value;
	};
	const withText = (text: string, extra: Record<string, unknown> = {}) => ({
		object: 'whatsapp_business_account',
		entry: [
			{
				id: '102290129340398',
				changes: [
					{
						field: 'messages',
						value: {
							messaging_product: 'whatsapp',
							metadata: { display_phone_number: '15550100999', phone_number_id: '106000000000002' },
							contacts: [{ profile: { name: 'Fuzz Person' }, wa_id: '15550188888' }],
							messages: [{ from: '15550188888', id: `wamid.FUZZ${seed}.${int(1e9)}`, timestamp: '1767254400', type: 'text', text: { body: text } }],
							...extra,
						},
					},
				],
			},
		],
	});
	const nest = (depth: number) => {
		let v: unknown = { leaf: FUZZ_CANARY };
		for (let i = 0; i < depth; i++) v = random() < 0.5 ? [v] : { n: v };
		return v;
	};
	return (kind: FuzzKind = pick(FUZZ_KINDS)): { kind: FuzzKind; body: Buffer } => {
		const base = JSON.parse(pick(fixtures).body.toString('utf8'));
		let body: Buffer;
		switch (kind) {
			case 'wrong-types':
				body = Buffer.from(JSON.stringify(mutateTree(base, 0.15, 'types')));
				break;
			case 'missing-fields':
				body = Buffer.from(JSON.stringify(mutateTree(base, 0.2, 'delete')));
				break;
			case 'huge-string':
				body = Buffer.from(JSON.stringify(withText(`${FUZZ_CANARY} ` + 'a'.repeat(50_000 + int(200_000)))));
				break;
			case 'deep-nesting': {
				const depth = 10 + int(options.maxDepth ?? 200);
				body = Buffer.from(JSON.stringify(withText(`${FUZZ_CANARY} deep`, { extra_payload: nest(depth) })));
				break;
			}
			case 'big-body':
				body = Buffer.from(JSON.stringify(withText(`${FUZZ_CANARY} ` + 'b'.repeat((options.bigBodyBytes ?? 3_000_000) - 600))));
				break;
			case 'invalid-utf8': {
				const b = Buffer.from(JSON.stringify(mutateTree(base, 0, 'types')));
				const at = int(b.length);
				body = Buffer.concat([b.subarray(0, at), Buffer.from([pick([0xff, 0xc0, 0xed, 0xf8, 0x80])]), b.subarray(at)]);
				break;
			}
			case 'non-json': {
				const choices = [
					() => Buffer.from(`object=whatsapp&${FUZZ_CANARY}=1`),
					() => Buffer.from(JSON.stringify(base).slice(0, int(200) + 1)),
					() => Buffer.from(Array.from({ length: 1 + int(2000) }, () => int(256))),
					() => Buffer.alloc(0),
					() => Buffer.from('null'),
					() => Buffer.from('[]'),
					() => Buffer.from(`"${FUZZ_CANARY}"`),
				];
				body = pick(choices)();
				break;
			}
			case 'odd-envelope': {
				const variants: unknown[] = [
					{ object: 'whatsapp_business_account', entry: [] },
					{ object: 'whatsapp_business_account', entry: {} },
					{ object: 'page', entry: base.entry },
					{ object: 'whatsapp_business_account', entry: [null, 1, 'x', { changes: [] }, { changes: [null, { field: 'messages' }, { field: 'messages', value: [] }, { field: 'unknown_field', value: { t: FUZZ_CANARY } }] }] },
					{ object: 'whatsapp_business_account', entry: [{ id: 1, changes: [{ field: 'messages', value: { messages: [1, 'two', null, [], { id: 5 }], statuses: 'x', errors: [{}] } }] }] },
					{ ...base, __proto__: { polluted: true }, constructor: { prototype: { x: 1 } } },
				];
				body = Buffer.from(JSON.stringify(pick(variants)));
				break;
			}
			case 'many-elements': {
				const message = (i: number) => ({ from: '15550188888', id: `wamid.MANY${seed}.${i}`, timestamp: '1767254400', type: 'text', text: { body: `${FUZZ_CANARY} ${i}` } });
				const statuses = Array.from({ length: int(5) }, (_, i) => ({ id: `wamid.MANY${seed}.${i}`, status: pick(['sent', 'delivered', 'read']), timestamp: '1767254401', recipient_id: '15550188888' }));
				body = Buffer.from(JSON.stringify(withText('x', { messages: Array.from({ length: 1 + int(8) }, (_, i) => message(i)), statuses })));
				break;
			}
			case 'unicode':
			default: {
				const s = `${FUZZ_CANARY} ` + Array.from({ length: 1 + int(60) }, () => String.fromCodePoint(pick([0x1f44d, 0xe9, 0x4e2d, 0x202e, 0x0, 0xfeff, 0x10ffff, 0x7f]))).join('');
				body = Buffer.from(JSON.stringify(withText(s)));
			}
		}
		return { kind, body };
	};
}
