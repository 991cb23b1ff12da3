/**
 * Synthetic normalized capture records (the shape of lib/capture's `CaptureRecord`, schema 1), about
 * 1 KB of JSON each, with invented data only: reserved-looking numbers (+1 650 555 01xx), made-up
 * names and lorem-style text. Deterministic for a given seed, so peers get identical inputs.
 */
import { createHash } from 'node:crypto';

import type { CaptureRecord } from '../../lib/capture/types';

const WORDS = 'lorem ipsum dolor sit amet consectetur adipiscing elit sed do eiusmod tempor incididunt ut labore et dolore magna aliqua ut enim ad minim veniam quis nostrud exercitation ullamco laboris nisi aliquip ex ea commodo consequat'.split(' ');

/** Small deterministic PRNG (mulberry32). */
export function prng(seed: number): () => number {
	let a = seed >>> 0;
	return () => {
		a = (a + 0x6d2b79f5) >>> 0;
		let t = a;
		t = Math.imul(t ^ (t >>> 15), t | 1);
		t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
		return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
	};
}

export const BENCH_PHONE_NUMBER_ID = '106000000000001';
export const BENCH_WABA_ID = '102000000000001';

export interface SynthOptions {
	count: number;
	seed?: number;
	/** Counterparty numbers to spread records over (default 50); 1 = one conversation. */
	counterparties?: number;
	/** First record time (default 2026-01-05T08:00:00Z); records follow at `stepSeconds`. */
	start?: Date;
	stepSeconds?: number;
}

/** `count` inbound text-message records, ~1 KB of JSON each. */
export function synthRecords(options: SynthOptions): CaptureRecord[] {
	const random = prng(options.seed ?? 42);
	const parties = options.counterparties ?? 50;
	const start = (options.start ?? new Date('2026-01-05T08:00:00Z')).getTime();
	const step = (options.stepSeconds ?? 37) * 1000;
	const records: CaptureRecord[] = [];
	for (let i = 0; i < options.count; i++) {
		const party = Math.floor(random() * parties);
		const waId = `1650555${String(100 + party).padStart(4, '0')}`;
		const time = new Date(start + i * step);
		const wamid = `wamid.HBgL${Buffer.from(`${waId}-${i}-${Math.floor(random() * 1e9)}`).toString('base64').replace(/=+$/, '')}`;
		const words = Array.from({ length: 3 + Math.floor(random() * 10) }, () => WORDS[Math.floor(random() * WORDS.length)]);
		const body = words.join(' ');
		const message = { from: waId, id: wamid, timestamp: String(Math.floor(time.getTime() / 1000)), type: 'text', text: { body } };
		const raw = {
			messaging_product: 'whatsapp',
			metadata: { display_phone_number: '16505550100', phone_number_id: BENCH_PHONE_NUMBER_ID },
			contacts: [{ profile: { name: `Test Person ${party}` }, wa_id: waId }],
			messages: [message],
		};
		const deliverySha = createHash('sha256').update(JSON.stringify(raw)).digest('hex');
		records.push({
			schema_version: 2,
			record_kind: 'message',
			provider: 'whatsapp_cloud',
			channel: 'whatsapp',
			account_id: null,
			direction: 'inbound',
			waba_id: BENCH_WABA_ID,
			phone_number_id: BENCH_PHONE_NUMBER_ID,
			display_phone_number: '16505550100',
			field: 'messages',
			wamid,
			type: 'text',
			timestamp: time.toISOString(),
			received_at: new Date(time.getTime() + 800).toISOString(),
			counterparty: { wa_id: waId, user_id: null, name: `Test Person ${party}` },
			content: { body },
			context: null,
			original_wamid: null,
			position: 'entry[0].changes[0].messages[0]',
			idempotency_key: `${BENCH_PHONE_NUMBER_ID}:${wamid}`,
			delivery_sha256: deliverySha,
			signature_verified: true,
			graph_api_version: 'v24.0',
			raw,
		} as CaptureRecord);
	}
	return records;
}

/** The bytes the OpenPGP node encrypts for a record in "whole item" JSON mode. */
export function recordBytes(record: CaptureRecord): Buffer {
	return Buffer.from(JSON.stringify(record));
}
