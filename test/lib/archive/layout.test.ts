import { createHmac, randomBytes } from 'node:crypto';

import { ArchiveError, assertIndexKey, assertPhoneNumberIdFilter, counterpartyPseudonym, indexKeyEntropyBits, mediaObjectKey, normalizePrefix, normalizeRetentionClass, objectKeyForRecord, parseObjectKey, phoneNumberIdSegment, phoneNumberPseudonym, recordId, recordObjectKey, UNKNOWN_SEGMENT } from '../../../lib/archive';

const INDEX_KEY = '47dea6762673211e5eeb699dda770b031dfabbc34583813ffd18af8190a84897'; // 64 hex characters, as openssl rand -hex 32 makes
const WA_ID = '16505551234';
const WAMID = 'wamid.HBgLMTY1MDU1NTEyMzQVAgASGBQzQUZFQjA3QjA1MUUyRjZCQkI4NQA=';

const record = {
	record_kind: 'message',
	phone_number_id: '106000000000002',
	timestamp: '2026-11-30T23:59:58Z',
	received_at: '2026-12-01T00:00:03Z',
	counterparty: { wa_id: WA_ID, user_id: null, name: 'Ana Müller' },
	idempotency_key: `106000000000002:${WAMID}`,
};

describe('counterpartyPseudonym', () => {
	it('is HMAC-SHA256(indexKey, "wa:" + digits), first 32 hex chars', () => {
		const expected = createHmac('sha256', INDEX_KEY).update(`wa:${WA_ID}`).digest('hex').slice(0, 32);
		expect(counterpartyPseudonym({ indexKey: INDEX_KEY, counterparty: record.counterparty })).toBe(expected);
	});

	it('ignores phone number formatting, so a typed number finds the same pseudonym', () => {
		const fromRecord = counterpartyPseudonym({ indexKey: INDEX_KEY, counterparty: record.counterparty });
		expect(phoneNumberPseudonym({ indexKey: INDEX_KEY, phoneNumber: '+1 (650) 555-1234' })).toBe(fromRecord);
	});

	it('falls back to user_id with a different domain, null when nothing is known', () => {
		const byUser = counterpartyPseudonym({ indexKey: INDEX_KEY, counterparty: { wa_id: null, user_id: '16505551234' } });
		expect(byUser).toMatch(/^[0-9a-f]{32}$/);
		expect(byUser).not.toBe(counterpartyPseudonym({ indexKey: INDEX_KEY, counterparty: record.counterparty }));
		expect(counterpartyPseudonym({ indexKey: INDEX_KEY, counterparty: null })).toBeNull();
		expect(counterpartyPseudonym({ indexKey: INDEX_KEY, counterparty: { wa_id: null, user_id: null } })).toBeNull();
	});

	it('depends on the index key and refuses a short one', () => {
		const a = counterpartyPseudonym({ indexKey: INDEX_KEY, counterparty: record.counterparty });
		const b = counterpartyPseudonym({ indexKey: INDEX_KEY + 'x', counterparty: record.counterparty });
		expect(a).not.toBe(b);
		expect(() => counterpartyPseudonym({ indexKey: 'short', counterparty: record.counterparty })).toThrow(/Index Key.*openssl rand -hex 32/);
	});
});

describe('recordId', () => {
	it('is deterministic, 32 hex chars, and domain-separated from the pseudonym', () => {
		const id = recordId({ indexKey: INDEX_KEY, idempotencyKey: record.idempotency_key });
		expect(id).toBe(recordId({ indexKey: INDEX_KEY, idempotencyKey: record.idempotency_key }));
		expect(id).toMatch(/^[0-9a-f]{32}$/);
		expect(recordId({ indexKey: INDEX_KEY, idempotencyKey: `${record.idempotency_key}:delivered` })).not.toBe(id);
		// same input string as a pseudonym would hash gives a different value
		expect(recordId({ indexKey: INDEX_KEY, idempotencyKey: WA_ID })).not.toBe(
			counterpartyPseudonym({ indexKey: INDEX_KEY, counterparty: { wa_id: WA_ID, user_id: null } }),
		);
		expect(() => recordId({ indexKey: INDEX_KEY, idempotencyKey: '' })).toThrow(/idempotency_key/);
	});
});

describe('recordObjectKey', () => {
	it('builds <prefix>/<class>/<phone_number_id>/<yyyy>/<mm>/<dd>/<pseudonym>/<record id>.pgp from timestamp', () => {
		const { key, pseudonym, recordId: id } = objectKeyForRecord({
			indexKey: INDEX_KEY,
			prefix: 'archive',
			retentionClass: 'default',
			record,
		});
		expect(key).toBe(`archive/default/106000000000002/2026/11/30/${pseudonym}/${id}.pgp`);
	});

	it('never contains the phone number, the wamid, the idempotency key or the name', () => {
		const { key } = objectKeyForRecord({ indexKey: INDEX_KEY, prefix: 'archive', retentionClass: 'default', record });
		for (const secret of [WA_ID, WAMID, 'HBgLMTY1MDU1NTEyMzQ', record.idempotency_key, 'Ana', 'Müller']) {
			expect(key).not.toContain(secret);
		}
	});

	it('falls back to received_at and to _unknown', () => {
		const { key } = objectKeyForRecord({
			indexKey: INDEX_KEY,
			prefix: 'archive',
			retentionClass: 'default',
			record: { ...record, timestamp: null, phone_number_id: null, counterparty: null },
		});
		expect(key).toMatch(/^archive\/default\/_unknown\/2026\/12\/01\/_unknown\/[0-9a-f]{32}\.pgp$/);
		expect(() =>
			objectKeyForRecord({
				indexKey: INDEX_KEY,
				prefix: 'archive',
				retentionClass: 'default',
				record: { ...record, timestamp: null, received_at: 'not a date' },
			}),
		).toThrow(/timestamp/);
	});

	it('normalises and validates prefix and retention class, naming the field', () => {
		expect(normalizePrefix(' team a/+=:@()/Zürich 档案/ ')).toBe('team a/+=:@()/Zürich 档案');
		expect(normalizePrefix('archive///')).toBe('archive');
		for (const bad of ['', '/archive', 'a//b', 'a/../b', './a', 'a/\u0001', 'a/ b']) {
			expect(() => normalizePrefix(bad)).toThrow(ArchiveError);
			expect(() => normalizePrefix(bad)).toThrow(/prefix/);
		}
		expect(normalizeRetentionClass(' FINRA-6y ')).toBe('finra-6y');
		for (const bad of ['', 'a/b', '..', '-x', 'a b', 'x'.repeat(64)]) {
			expect(() => normalizeRetentionClass(bad)).toThrow(/retentionClass/);
		}
	});

	it('error messages name the field and the rule, never the value', () => {
		const phone = '+16505551234';
		const attempts = [
			() => normalizePrefix(`/${phone}`),
			() => normalizePrefix(`a//${phone}`),
			() => normalizeRetentionClass(`${phone} x`),
			() => recordObjectKey({ prefix: 'archive', retentionClass: 'default', phoneNumberId: '1', date: phone, pseudonym: null, recordId: 'a'.repeat(32) }),
			() => recordObjectKey({ prefix: 'archive', retentionClass: 'default', phoneNumberId: '1', date: '2026-01-01', pseudonym: phone, recordId: 'a'.repeat(32) }),
			() => recordObjectKey({ prefix: 'archive', retentionClass: 'default', phoneNumberId: '1', date: '2026-01-01', pseudonym: null, recordId: phone }),
			() => recordObjectKey({ prefix: `${phone}/${'x'.repeat(1100)}`, retentionClass: 'default', phoneNumberId: '1', date: '2026-01-01', pseudonym: null, recordId: 'a'.repeat(32) }),
			() => assertPhoneNumberIdFilter(phone),
		];
		for (const attempt of attempts) {
			let error: unknown;
			try {
				attempt();
			} catch (caught) {
				error = caught;
			}
			expect(error).toBeInstanceOf(ArchiveError);
			expect((error as ArchiveError).code).toBe('InvalidInput');
			expect((error as Error).message).toMatch(/^Invalid (prefix|retentionClass|date|pseudonym|recordId|phone_number_id): /);
			expect((error as Error).message).not.toContain('6505551234');
		}
	});

	it.each([
		['a space', '106000000000002 x'],
		['Arabic-Indic digits', '١٠٦٠٠٠'],
		['a slash', '106/000'],
		['a traversal', '../x'],
		['65 digits', '1'.repeat(65)],
		['letters', 'PNID'],
		['empty', '  '],
		['null', null],
	])('a record whose phone_number_id is %s is filed under _unknown, never an error', (_label, phoneNumberId) => {
		expect(phoneNumberIdSegment(phoneNumberId)).toBe(UNKNOWN_SEGMENT);
		const key = recordObjectKey({
			prefix: 'archive',
			retentionClass: 'default',
			phoneNumberId,
			date: '2026-01-01T00:00:00Z',
			pseudonym: null,
			recordId: 'a'.repeat(32),
		});
		expect(key).toBe(`archive/default/_unknown/2026/01/01/_unknown/${'a'.repeat(32)}.pgp`);
		const { key: fromRecord } = objectKeyForRecord({ indexKey: INDEX_KEY, prefix: 'archive', retentionClass: 'default', record: { ...record, phone_number_id: phoneNumberId } });
		expect(fromRecord.split('/')[2]).toBe(UNKNOWN_SEGMENT);
	});

	it('a plain digit phone_number_id is filed as is (trimmed); filters are strict', () => {
		expect(phoneNumberIdSegment(' 106000000000002 ')).toBe('106000000000002');
		expect(phoneNumberIdSegment('1'.repeat(64))).toBe('1'.repeat(64));
		expect(assertPhoneNumberIdFilter(' 106000000000002 ')).toBe('106000000000002');
		expect(assertPhoneNumberIdFilter('_unknown')).toBe('_unknown');
		for (const bad of ['106 x', '١٠٦', 'a/b', '1'.repeat(65), '', 'PNID']) {
			expect(() => assertPhoneNumberIdFilter(bad)).toThrow(/^Invalid phone_number_id: must be a WhatsApp phone number ID/);
		}
		expect(() => assertPhoneNumberIdFilter('x', 'Phone Number ID')).toThrow(/^Invalid Phone Number ID: /);
	});

	it('has a media variant in the same folder and parses back', () => {
		const parts = {
			prefix: 'team a/+=:@()',
			retentionClass: 'default',
			phoneNumberId: '106000000000002',
			date: new Date('2026-02-03T04:05:06Z'),
			pseudonym: 'b'.repeat(32),
			recordId: 'c'.repeat(32),
		};
		const key = recordObjectKey(parts);
		const media = mediaObjectKey(parts);
		expect(media).toBe(key.replace(/\.pgp$/, '.media.pgp'));
		expect(mediaObjectKey({ ...parts, index: 2 })).toBe(key.replace(/\.pgp$/, '.media-2.pgp'));
		expect(parseObjectKey(key)).toEqual({
			prefix: 'team a/+=:@()',
			retentionClass: 'default',
			phoneNumberId: '106000000000002',
			channel: 'whatsapp',
			accountId: '106000000000002',
			date: '2026-02-03',
			pseudonym: 'b'.repeat(32),
			recordId: 'c'.repeat(32),
			kind: 'record',
		});
		expect(parseObjectKey(media)?.kind).toBe('media');
		expect(parseObjectKey('archive/x.pgp')).toBeNull();
	});
});

describe('assertIndexKey: the one rule for index keys', () => {
	const weak: Array<[string, string, RegExp]> = [
		['empty', '', /empty/],
		['16 repeated characters', 'a'.repeat(16), /shorter than 32 bytes/],
		['31 hex characters', 'f0e1d2c3b4a5968778695a4b3c2d1e0', /shorter than 32 bytes/],
		['64 repeated characters', 'x'.repeat(64), /too predictable/],
		['a repeated word', 'passwordpasswordpasswordpassword', /too predictable/],
		['a word and counting digits', 'password12345678901234567890123456', /too predictable/],
		['the alphabet', 'abcdefghijklmnopqrstuvwxyz0123456789', /too predictable/],
		['hex counting', '0123456789abcdef'.repeat(4), /too predictable/],
		['two characters alternating', 'ab'.repeat(32), /too predictable/],
	];

	it.each(weak)('refuses %s with the openssl hint, never quoting the key', (_label, key, reason) => {
		let error: ArchiveError | undefined;
		try {
			assertIndexKey(key, 'WhatsApp Capture');
		} catch (e) {
			error = e as ArchiveError;
		}
		expect(error).toBeInstanceOf(ArchiveError);
		expect(error!.code).toBe('InvalidInput');
		expect(error!.message).toMatch(reason);
		expect(error!.message).toMatch(/"Index Key" of the WhatsApp Capture credential/);
		expect(error!.message).toContain('openssl rand -hex 32');
		if (key) expect(error!.message).not.toContain(key);
	});

	it('accepts random keys: 64 and 32 hex characters, base64 of 32 bytes', () => {
		for (let n = 0; n < 500; n++) {
			const key = randomBytes(32).toString('hex');
			expect(assertIndexKey(key)).toBe(key);
			expect(indexKeyEntropyBits(key)).toBeGreaterThan(200);
		}
		expect(() => assertIndexKey(randomBytes(32).toString('base64'))).not.toThrow();
		expect(() => assertIndexKey(INDEX_KEY)).not.toThrow();
		expect(() => assertIndexKey(undefined)).toThrow(/empty/);
	});

	it('estimates entropy from the alphabet of the classes used, discounting runs and repeats', () => {
		expect(indexKeyEntropyBits('0f1e2d3c')).toBe(8 * 4);
		expect(indexKeyEntropyBits('aaaa')).toBe(3 * 4); // hex digits only
		expect(indexKeyEntropyBits('zzzz')).toBeCloseTo(3 * Math.log2(26));
		expect(indexKeyEntropyBits('uvwxyz')).toBeCloseTo(3 * Math.log2(26));
		expect(indexKeyEntropyBits('qmzp'.repeat(16))).toBeLessThanOrEqual(8 * Math.log2(26));
		expect(indexKeyEntropyBits('Ab1!')).toBeCloseTo(4 * Math.log2(95));
	});
});
