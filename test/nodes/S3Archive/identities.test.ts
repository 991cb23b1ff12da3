/**
 * One person, one conversation (docs/FORMAT.md, "Identities"): records of one person filed under
 * different identifiers — a BSUID only, Meta's `521…` form of a Mexican number, a Brazilian number
 * without its ninth digit, a UK number — are written through Record → Write (real gpg ciphertext, the
 * local store), then found by List, Export and Place Hold from a phone number typed any common way, a
 * BSUID or a username, including a record written before the link between its identifiers was learned.
 */
import { randomBytes } from 'node:crypto';
import type { S3Client } from '@aws-sdk/client-s3';
import type { ICredentialDataDecryptedObject, IDataObject, INodeExecutionData } from 'n8n-workflow';

import { counterpartyPseudonym, type Counterparty } from '../../../lib/archive';
import { routingFields } from '../../../lib/capture';
import { encrypt, readPublicKeys, type PublicKey } from '../../../lib/pgp';
import { createS3Client } from '../../../lib/s3';
import { RetentionSweeper } from '../../../nodes/RetentionSweeper/RetentionSweeper.node';
import { S3Archive } from '../../../nodes/S3Archive/S3Archive.node';
import { executeContext } from '../../helpers/execute-context';
import { makeGpgHome, type GpgHome } from '../../helpers/gpg';
import { listAllKeys, makeBucket, s3Settings } from '../../helpers/s3';

const INDEX_KEY = randomBytes(32).toString('hex');
const ANA_BSUID = 'MX.1000000000000000001';
const EVE_BSUID = 'DE.2000000000000000002';

type Who = Counterparty & { username?: string | null };

/** Written in this order: Ana's BSUID-only record comes before the record that links her BSUID to her number. */
const RECORDS: Array<{ name: string; day: string; counterparty: Who; atCapture?: boolean }> = [
	{ name: 'ana-bsuid-only', day: '2026-03-01', counterparty: { wa_id: null, user_id: ANA_BSUID } },
	{ name: 'ana-521', day: '2026-03-02', counterparty: { wa_id: '5215512345678', user_id: null } },
	{ name: 'ana-linked', day: '2026-03-03', counterparty: { wa_id: '525512345678', user_id: ANA_BSUID, username: 'Ana.Mx' } },
	{ name: 'bruno-8-digit', day: '2026-03-04', counterparty: { wa_id: '551187654321', user_id: null } },
	{ name: 'carol-uk', day: '2026-03-05', counterparty: { wa_id: '442079460958', user_id: null } },
	{ name: 'dave-other', day: '2026-03-06', counterparty: { wa_id: '15550100999', user_id: null } },
	{ name: 'eve-bsuid-only', day: '2026-03-07', counterparty: { wa_id: null, user_id: EVE_BSUID } },
	{ name: 'eve-at-capture', day: '2026-03-08', counterparty: { wa_id: '4915112345678', user_id: EVE_BSUID }, atCapture: true },
];

function captureRecord(entry: (typeof RECORDS)[number]): IDataObject {
	return {
		schema_version: 1,
		record_kind: 'message',
		provider: 'whatsapp_cloud',
		direction: 'inbound',
		waba_id: '102',
		phone_number_id: '106',
		wamid: `wamid.${entry.name}`,
		type: 'text',
		timestamp: `${entry.day}T08:00:00.000Z`,
		received_at: `${entry.day}T08:00:01.000Z`,
		counterparty: { name: null, ...entry.counterparty },
		content: { body: `hello from ${entry.name}` },
		idempotency_key: `106:wamid.${entry.name}`,
		delivery_sha256: 'a'.repeat(64),
		signature_verified: true,
		graph_api_version: 'v24.0',
	};
}

describe('identities: one person, one conversation (S3 Archive and Retention Sweeper nodes, local store)', () => {
	const archive = new S3Archive();
	const sweeper = new RetentionSweeper();
	let client: S3Client;
	let bucket: string;
	let gpg: GpgHome;
	let recipients: PublicKey[];
	const keyOf = new Map<string, string>();

	const s3Credential = () => ({ ...s3Settings(), bucket, indexKey: INDEX_KEY }) as unknown as ICredentialDataDecryptedObject;
	const runArchive = async (parameters: Record<string, unknown>, items: INodeExecutionData[] = [{ json: {} }], creds: Record<string, ICredentialDataDecryptedObject> = {}) => {
		const [output] = await archive.execute.call(executeContext({ nodeType: archive, items, parameters, credentials: { s3ArchiveApi: s3Credential(), ...creds } }));
		return output;
	};
	const runSweeper = async (parameters: Record<string, unknown>) => {
		// the archive key signs the hold events (and verifies the registry)
		const archiveKey = { privateKey: gpg.secretKeyArmored, passphrase: '' } as unknown as ICredentialDataDecryptedObject;
		const [output] = await sweeper.execute.call(executeContext({ nodeType: sweeper, parameters, credentials: { s3ArchiveApi: s3Credential(), openPgpPrivateKeyApi: archiveKey } }));
		return output;
	};
	const listRecords = async (filters: Record<string, unknown>) =>
		(await runArchive({ resource: 'record', operation: 'list', prefix: 'archive', returnAll: true, filters: { includeMedia: false, ...filters } }))
			.map((item) => item.json.key as string)
			.sort();
	const keysOf = (...names: string[]) => names.map((name) => keyOf.get(name)!).sort();

	beforeAll(async () => {
		client = createS3Client(s3Settings());
		bucket = await makeBucket(client, { objectLock: true });
		gpg = await makeGpgHome();
		recipients = await readPublicKeys({ armoredKeys: gpg.publicKeyArmored });
		for (const entry of RECORDS) {
			const record = captureRecord(entry);
			const { ciphertext } = await encrypt({ data: Buffer.from(JSON.stringify(record)), recipients, filename: 'record.json' });
			// with Encrypt at Capture the item carries only the routing fields (pseudonyms), no plaintext
			const json = entry.atCapture ? (routingFields(record as never, INDEX_KEY) as unknown as IDataObject) : record;
			const [out] = await runArchive(
				{ resource: 'record', operation: 'write', binaryPropertyName: 'data', prefix: 'archive', retentionClass: 'default', options: {} },
				[{ json, binary: { data: { data: Buffer.from(ciphertext as Uint8Array).toString('base64'), mimeType: 'application/pgp-encrypted' } } }],
			);
			keyOf.set(entry.name, (out.json.archive as { key: string }).key);
		}
	});
	afterAll(async () => {
		client?.destroy();
		await gpg?.cleanup();
	});

	it('List by phone number finds the BSUID-only record written before the link was learned', async () => {
		expect(await listRecords({ person: '+52 55 1234 5678' })).toEqual(keysOf('ana-bsuid-only', 'ana-521', 'ana-linked'));
		expect(await listRecords({ counterpartyPhoneNumber: '+52 55 1234 5678' })).toEqual(keysOf('ana-bsuid-only', 'ana-521', 'ana-linked'));
	});

	it.each([
		['Mexico typed with the mobile 1 (521…)', '+52 1 55 1234 5678', ['ana-bsuid-only', 'ana-521', 'ana-linked']],
		['Mexico typed with dashes', '+52-55-1234-5678', ['ana-bsuid-only', 'ana-521', 'ana-linked']],
		['Mexico as digits without +', '525512345678', ['ana-bsuid-only', 'ana-521', 'ana-linked']],
		['Brazil with the ninth digit, wa_id without it', '+55 11 98765-4321', ['bruno-8-digit']],
		['Brazil without the ninth digit', '+55 (11) 8765-4321', ['bruno-8-digit']],
		['UK with a trunk (0)', '+44 (0)20 7946 0958', ['carol-uk']],
		['UK with 00 and spaces', '0044 20 7946 0958', ['carol-uk']],
	])('phone-number variant: %s', async (_case, typed, names) => {
		expect(await listRecords({ counterpartyPhoneNumber: typed })).toEqual(keysOf(...names));
	});

	it('a BSUID or a username finds every record of the person', async () => {
		expect(await listRecords({ person: ANA_BSUID })).toEqual(keysOf('ana-bsuid-only', 'ana-521', 'ana-linked'));
		expect(await listRecords({ person: '@ana.mx' })).toEqual(keysOf('ana-bsuid-only', 'ana-521', 'ana-linked'));
	});

	it('an item encrypted at capture carries the linked pseudonyms, so Write learns the link without plaintext', async () => {
		const routing = routingFields(captureRecord(RECORDS.find((r) => r.atCapture)!) as never, INDEX_KEY) as unknown as Record<string, unknown>;
		expect(routing.identity_pseudonyms).toEqual([counterpartyPseudonym({ indexKey: INDEX_KEY, counterparty: { wa_id: null, user_id: EVE_BSUID } })]);
		expect(JSON.stringify(routing)).not.toMatch(/4915112345678|DE\.2000/);
		expect(await listRecords({ person: '+49 151 12345678' })).toEqual(keysOf('eve-bsuid-only', 'eve-at-capture'));
	});

	it('Export by phone number exports every record of the person, whichever identifier it carries', async () => {
		const [item] = await runArchive(
			{ resource: 'conversation', operation: 'export', prefix: 'archive', exportPhoneNumber: '+52 55 1234 5678' },
			[{ json: {} }],
			{ openPgpPrivateKeyApi: { privateKey: gpg.secretKeyArmored, passphrase: '' } },
		);
		const exported = item.json.export as { counts: { records: number }; sources: Array<{ key: string }> };
		expect(exported.sources.map((s) => s.key).sort()).toEqual(keysOf('ana-bsuid-only', 'ana-521', 'ana-linked'));
		const jsonl = Buffer.from(item.binary!.jsonl.data, 'base64').toString('utf8');
		expect(jsonl).toContain('hello from ana-bsuid-only');
		expect(jsonl).not.toContain('hello from dave-other');
	});

	it('Place Hold by phone number covers the BSUID-only and variant-number records, reports the match, warns on none', async () => {
		const [placed] = await runSweeper({ operation: 'placeHold', prefix: 'archive', matterId: 'M-1', actor: 'legal@example.org', reason: 'subpoena', counterpartyPhoneNumbers: '+52 55 1234 5678', applyLegalHoldFlag: true });
		const scope = (placed.json.matter as { scope: { pseudonyms: string[] } }).scope;
		for (const name of ['ana-bsuid-only', 'ana-521', 'ana-linked']) expect(scope.pseudonyms).toContain(keyOf.get(name)!.split('/')[6]);
		expect(placed.json.matched).toEqual({ records: 3, identities: scope.pseudonyms.length });
		expect(placed.json.legalHold).toMatchObject({ matched: 3, changed: 3 });
		expect(placed.json.warning).toBeUndefined();
		expect(JSON.stringify(placed.json)).not.toMatch(/5512345678|MX\.1000/);

		const [none] = await runSweeper({ operation: 'placeHold', prefix: 'archive', matterId: 'NOBODY-1', actor: 'legal@example.org', reason: 'subpoena', counterpartyPhoneNumbers: '+1 202 555 0199', applyLegalHoldFlag: false });
		expect(none.json.matched).toEqual({ records: 0, identities: 1 });
		expect(none.json.warning).toMatch(/matched no record/);
	});

	it('keys hold pseudonyms only: no phone number, BSUID or username in any key, identity links included', async () => {
		const keys = await listAllKeys(client, bucket);
		expect(keys.some((key) => key.startsWith('archive/_identities/'))).toBe(true);
		// case-sensitive where a hex record id could hold the letters ("…de.pgp"); m, x and n are not hex
		for (const key of keys) {
			expect(key).not.toMatch(/5512345678|87654321|79460958|12345678|DE\./);
			expect(key).not.toMatch(/mx\.|ana/i);
		}
	});
});
