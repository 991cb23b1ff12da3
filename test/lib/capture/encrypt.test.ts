/** encryptRecord / routingFields: ciphertext gpg can read, routing fields that match the archive layout. */
import { randomBytes } from 'node:crypto';
import { Readable } from 'node:stream';

import { counterpartyPseudonym, objectKeyForRecord, recordId, recordIdentityPseudonyms, recordParticipantPseudonyms } from '../../../lib/archive';
import { indexKeyCheck } from '../../../lib/archive';
import { buildDeliveryItem, encryptMediaStream, encryptRecord, normalizeDelivery, routingFields } from '../../../lib/capture';
import { readPublicKeys } from '../../../lib/pgp';
import { gpgDecrypt, gpgDecryptWithStatus, makeGpgHome } from '../../helpers/gpg';
import { deliveryFixtures, fixtureBody } from './fixtures';

const INDEX_KEY = randomBytes(32).toString('hex');

describe('encryptRecord / routingFields', () => {
	let gpg: Awaited<ReturnType<typeof makeGpgHome>>;
	beforeAll(async () => {
		gpg = await makeGpgHome();
	});
	afterAll(async () => {
		await gpg?.cleanup();
	});

	it.each(deliveryFixtures)('%s: routing ids equal the archive layout ids of the plaintext record', (name) => {
		for (const record of normalizeDelivery({ rawBody: fixtureBody(name), receivedAt: new Date(), signatureVerified: true })) {
			const routing = routingFields(record, INDEX_KEY);
			expect(routing.record_id).toBe(recordId({ indexKey: INDEX_KEY, idempotencyKey: record.idempotency_key }));
			expect(routing.counterparty_pseudonym).toBe(counterpartyPseudonym({ indexKey: INDEX_KEY, counterparty: record.counterparty }));
			const { key } = objectKeyForRecord({ indexKey: INDEX_KEY, prefix: 'p', retentionClass: 'default', record: record as never });
			expect(key.endsWith(`/${routing.counterparty_pseudonym ?? '_unknown'}/${routing.record_id}.pgp`)).toBe(true);
			// the other pseudonyms of the same person (a BSUID beside the wa_id), for the identity links
			const linked = recordIdentityPseudonyms({ indexKey: INDEX_KEY, record }).slice(1);
			expect(routing.identity_pseudonyms).toEqual(linked.length ? linked : undefined);
			// the group member a group record names, apart from the group
			const participant = recordParticipantPseudonyms({ indexKey: INDEX_KEY, record });
			expect(routing.participant_pseudonyms).toEqual(participant.length ? participant : undefined);
			expect(Object.keys(routing).sort()).toEqual(
				[
					'schema_version', 'record_kind', 'provider', 'channel', 'direction', 'type', 'field', 'waba_id', 'phone_number_id', 'account_id', 'timestamp',
					'received_at', 'counterparty_pseudonym', 'record_id', 'delivery_sha256', 'signature_verified', 'graph_api_version', 'index_key_check', 'encrypted',
					...(linked.length ? ['identity_pseudonyms'] : []),
					...(participant.length ? ['participant_pseudonyms'] : []),
				].sort(),
			);
		}
	});

	it('encryptRecord: SEIPD v1 (gpg-readable) of the full record JSON; per-delivery items too', async () => {
		const recipients = await readPublicKeys({ armoredKeys: gpg.publicKeyArmored });
		const [record] = normalizeDelivery({ rawBody: fixtureBody('inbound-text'), receivedAt: new Date(), signatureVerified: true });
		const encrypted = await encryptRecord({ record, recipients, indexKey: INDEX_KEY });
		expect(JSON.parse(gpgDecrypt(gpg.home, encrypted.ciphertext).toString('utf8'))).toEqual(JSON.parse(JSON.stringify(record)));
		expect(gpgDecryptWithStatus(gpg.home, encrypted.ciphertext).status).toMatch(/DECRYPTION_INFO \d+ 9 0/); // mdc, AES-256, no AEAD
		expect(encrypted.routing.recipient_fingerprints).toEqual([gpg.fingerprint]);

		const body = fixtureBody('location-and-reaction-batch');
		const delivery = buildDeliveryItem({ records: normalizeDelivery({ rawBody: body, receivedAt: new Date(), signatureVerified: true }), rawBody: body, filteredOut: 0 });
		const encryptedDelivery = await encryptRecord({ record: delivery, recipients, indexKey: INDEX_KEY });
		expect(encryptedDelivery.routing).toMatchObject({ record_kind: 'delivery', type: 'delivery', counterparty_pseudonym: null, encrypted: true });
		expect(JSON.parse(gpgDecrypt(gpg.home, encryptedDelivery.ciphertext).toString('utf8')).body_base64).toBe(body.toString('base64'));
	});

	it('encryptMediaStream: streamed, gpg decrypts to the bytes', async () => {
		const recipients = await readPublicKeys({ armoredKeys: gpg.publicKeyArmored });
		const bytes = randomBytes(3 * 1024 * 1024);
		const ciphertext = await encryptMediaStream({ stream: Readable.from([bytes.subarray(0, 1e6), bytes.subarray(1e6)]), recipients });
		const chunks: Buffer[] = [];
		for await (const chunk of ciphertext) chunks.push(Buffer.from(chunk as Uint8Array));
		expect(gpgDecrypt(gpg.home, Buffer.concat(chunks)).equals(bytes)).toBe(true);
	});

	it('index_key_check: equal for equal keys, different otherwise, not the key', () => {
		const [record] = normalizeDelivery({ rawBody: fixtureBody('inbound-text'), receivedAt: new Date(), signatureVerified: true });
		expect(routingFields(record, INDEX_KEY).index_key_check).toBe(indexKeyCheck(INDEX_KEY));
		expect(indexKeyCheck(INDEX_KEY)).toMatch(/^[0-9a-f]{16}$/);
		expect(indexKeyCheck(INDEX_KEY + 'x')).not.toBe(indexKeyCheck(INDEX_KEY));
		expect(INDEX_KEY).not.toContain(indexKeyCheck(INDEX_KEY));
	});

	it('a short index key is refused', () => {
		const [record] = normalizeDelivery({ rawBody: fixtureBody('inbound-text'), receivedAt: new Date(), signatureVerified: true });
		expect(() => routingFields(record, 'short')).toThrow(/openssl rand -hex 32/);
	});
});
