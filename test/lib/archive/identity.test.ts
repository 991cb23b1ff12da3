/**
 * lib/archive/identity.ts: the WhatsApp forms of a typed phone number, identifier kinds, the links a
 * record names, and the identity-link registry on the local store (idempotent writes, forged links
 * not followed, a bounded component).
 */
import { randomBytes } from 'node:crypto';
import { PutObjectCommand, S3Client } from '@aws-sdk/client-s3';

import { ArchiveError, counterpartyPseudonym, identifierKind, identifierPseudonyms, phoneNumberCandidates, recordIdentityLinks, recordIdentityPseudonyms, resolveIdentity, usernamePseudonym } from '../../../lib/archive';
import { createS3Client } from '../../../lib/s3';
import { listAllKeys, makeBucket, s3Settings } from '../../helpers/s3';

const INDEX_KEY = randomBytes(32).toString('hex');
const wa = (digits: string) => counterpartyPseudonym({ indexKey: INDEX_KEY, counterparty: { wa_id: digits, user_id: null } })!;
const uid = (bsuid: string) => counterpartyPseudonym({ indexKey: INDEX_KEY, counterparty: { wa_id: null, user_id: bsuid } })!;

describe('phoneNumberCandidates', () => {
	it.each([
		['+52 55 1234 5678', ['525512345678', '5215512345678']],
		['5215512345678', ['5215512345678', '525512345678']],
		['+55 11 98765-4321', ['5511987654321', '551187654321']],
		['+55 11 8765-4321', ['551187654321', '5511987654321']],
		['+55 11 3456-7890', ['551134567890']], // a Brazilian landline has no ninth digit
		['+54 9 11 2345-6789', ['5491123456789', '541123456789']],
		['+44 (0)20 7946 0958', ['442079460958', '4402079460958']],
		['0044 20 7946 0958', ['442079460958', '00442079460958']],
		['+1 (650) 555-1234', ['16505551234']],
	])('%s → %j', (typed, forms) => {
		expect(phoneNumberCandidates(typed)).toEqual(forms);
	});

	it('gives nothing for text without digits', () => {
		expect(phoneNumberCandidates(' - ')).toEqual([]);
	});
});

describe('identifiers', () => {
	it('tells a BSUID, a username and a phone number apart', () => {
		expect(identifierKind('US.13491208655302741918')).toBe('bsuid');
		expect(identifierKind('US.ENT.11815799212886844830')).toBe('bsuid');
		expect(identifierKind('@ana.mx')).toBe('username');
		expect(identifierKind('ana_mx')).toBe('username');
		expect(identifierKind('+44 (0)20 7946 0958')).toBe('phoneNumber');
	});

	it('refuses anything else naming the field, never the value', () => {
		const attempt = () => identifierKind('+44 20 3333 4444; drop', 'Person');
		expect(attempt).toThrow(ArchiveError);
		expect(attempt).toThrow(/^Person must be a phone number/);
		expect(attempt).not.toThrow(/4444/);
	});

	it('maps a username case-insensitively, with or without @', () => {
		expect(identifierPseudonyms({ indexKey: INDEX_KEY, identifier: '@Ana.MX' })).toEqual([usernamePseudonym({ indexKey: INDEX_KEY, username: 'ana.mx' })]);
		expect(identifierPseudonyms({ indexKey: INDEX_KEY, identifier: 'US.1349' })).toEqual([uid('US.1349')]);
	});

	it('links a record names: wa_id in every form, BSUID, parent BSUID, username, a changed number', () => {
		const record = { counterparty: { wa_id: '525512345678', user_id: 'MX.1', parent_user_id: 'MX.ENT.9', username: 'Ana.Mx' } };
		expect(recordIdentityPseudonyms({ indexKey: INDEX_KEY, record })).toEqual([
			wa('525512345678'),
			wa('5215512345678'),
			uid('MX.1'),
			uid('MX.ENT.9'),
			usernamePseudonym({ indexKey: INDEX_KEY, username: 'ana.mx' }),
		]);
		const changed = { type: 'system', counterparty: { wa_id: '16505551234', user_id: null }, content: { type: 'user_changed_number', wa_id: '16505559999', body: 'changed' } };
		expect(recordIdentityPseudonyms({ indexKey: INDEX_KEY, record: changed })).toEqual([wa('16505551234'), wa('16505559999')]);
		expect(recordIdentityPseudonyms({ indexKey: INDEX_KEY, record: { counterparty: { wa_id: '16505551234', user_id: null } } })).toEqual([wa('16505551234')]);
	});
});

describe('identity-link registry (local store)', () => {
	let client: S3Client;
	let bucket: string;
	beforeAll(async () => {
		client = createS3Client(s3Settings());
		bucket = await makeBucket(client, { versioning: true });
	});
	afterAll(() => client?.destroy());

	it('writes each link once, both directions, pseudonyms only', async () => {
		const pseudonyms = [wa('16505551234'), uid('US.77')];
		const first = await recordIdentityLinks({ client, bucket, prefix: 'links', indexKey: INDEX_KEY, pseudonyms });
		expect(first.written).toBe(2);
		// a repeat in this process sends nothing
		expect(await recordIdentityLinks({ client, bucket, prefix: 'links', indexKey: INDEX_KEY, pseudonyms })).toEqual({ written: 0, requests: 0 });
		// another process (a client the process does not know: no memory of the writes) finds them and writes nothing
		const settings = s3Settings();
		const other = new S3Client({ endpoint: settings.endpoint, region: settings.region, forcePathStyle: true, credentials: { accessKeyId: settings.accessKeyId, secretAccessKey: settings.secretAccessKey } });
		const again = await recordIdentityLinks({ client: other, bucket, prefix: 'links', indexKey: INDEX_KEY, pseudonyms });
		other.destroy();
		expect(again).toEqual({ written: 0, requests: 2 });
		const keys = await listAllKeys(client, bucket, 'links/');
		expect(keys).toHaveLength(2);
		for (const key of keys) expect(key).toMatch(/^links\/_identities\/[0-9a-f]{32}\/[0-9a-f]{32}\.[0-9a-f]{32}$/);
		const resolved = await resolveIdentity({ client, bucket, prefix: 'links', indexKey: INDEX_KEY, identifier: 'US.77' });
		expect(resolved.pseudonyms).toEqual([...pseudonyms].sort());
	});

	it('does not follow a link whose tag does not verify (the store cannot join two people)', async () => {
		const alice = wa('447700900123');
		const mallory = wa('447700900666');
		await client.send(new PutObjectCommand({ Bucket: bucket, Key: `forged/_identities/${alice}/${mallory}.${'0'.repeat(32)}`, Body: '' }));
		const resolved = await resolveIdentity({ client, bucket, prefix: 'forged', indexKey: INDEX_KEY, identifier: '+44 7700 900123' });
		expect(resolved.pseudonyms).toEqual([alice]);
		expect(resolved.unverifiedLinks).toBe(1);
	});

	it('stops at the bound with a clear error', async () => {
		const chain = Array.from({ length: 5 }, (_, n) => uid(`US.${n}`));
		for (let n = 1; n < chain.length; n++) await recordIdentityLinks({ client, bucket, prefix: 'chain', indexKey: INDEX_KEY, pseudonyms: [chain[n - 1], chain[n]] });
		expect((await resolveIdentity({ client, bucket, prefix: 'chain', indexKey: INDEX_KEY, pseudonyms: [chain[0]] })).pseudonyms).toHaveLength(5);
		await expect(resolveIdentity({ client, bucket, prefix: 'chain', indexKey: INDEX_KEY, pseudonyms: [chain[0]], maxIdentities: 3 })).rejects.toMatchObject({
			code: 'TooManyIdentities',
			message: expect.stringMatching(/more than 3 identities/),
		});
	});
});
