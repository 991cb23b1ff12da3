/**
 * S3 Archive node and the audit trail, in in-process n8n-core (test/helpers/n8n-runner.ts) against the
 * local Ceph RGW store with a gpg-generated key: Record → Get with Decrypt, Conversation → Export and
 * Seal → Create each append exactly one signed event (operation, counts, result, n8n's workflow and
 * execution ids; no phone number, no content), failures included; a decrypting read whose event cannot
 * be written outputs no plaintext; Audit → Verify reports the trail valid, then a deleted event as a gap.
 */
import { randomBytes } from 'node:crypto';
import { DeleteObjectCommand, HeadObjectCommand, PutObjectCommand, type S3Client } from '@aws-sdk/client-s3';
import type { ICredentialDataDecryptedObject, IDataObject, INode, INodeExecutionData, IRun } from 'n8n-workflow';

import { auditKeyDigest, objectKeyForRecord, phoneNumberPseudonym, writeObject, type AuditEvent } from '../../../lib/archive';
import { createS3Client } from '../../../lib/s3';
import { gpgEncrypt, gpgVerify, makeGpgHome, type GpgHome } from '../../helpers/gpg';
import { InProcessN8n } from '../../helpers/n8n-runner';
import { getObjectBytes, listAllKeys, makeBucket, s3Settings } from '../../helpers/s3';

const INDEX_KEY = randomBytes(32).toString('hex');
const WORKFLOW_ID = 'auditTrailTest01';
const PHONE_NUMBER_ID = '106000000000002';
const ALICE = '447700900123';
const SECRET = 'the bond order is confirmed';

const s3ArchiveNode = (name: string, parameters: INode['parameters'], x: number): INode => ({
	id: `node-${x}`,
	name,
	type: 'n8n-nodes-chat-archive.s3Archive',
	typeVersion: 1,
	position: [x * 200, 0],
	parameters,
	credentials: {
		s3ArchiveApi: { id: '1', name: 'S3 Archive Store' },
		openPgpPrivateKeyApi: { id: '2', name: 'Archive key' },
	},
});

/** A record as the capture trigger builds it (test/fixtures/expected), with a counterparty and content. */
function record(n: number, waId: string): IDataObject {
	const at = `2026-01-0${n}T08:00:00.000Z`;
	return {
		schema_version: 1,
		record_kind: 'message',
		provider: 'whatsapp_cloud',
		direction: 'inbound',
		phone_number_id: PHONE_NUMBER_ID,
		wamid: `wamid.audit-${waId}-${n}`,
		type: 'text',
		timestamp: at,
		received_at: at,
		counterparty: { wa_id: waId, user_id: null, name: 'Alice Example' },
		content: { body: `${SECRET} ${n}` },
		idempotency_key: `${PHONE_NUMBER_ID}:wamid.audit-${waId}-${n}`,
	};
}

const nodeOutput = (run: IRun, name: string): INodeExecutionData[] => run.data.resultData.runData[name]?.[0]?.data?.main?.[0] ?? [];

describe('S3 Archive node: every access appends one audit event (in-process n8n-core, local RGW, gpg)', () => {
	let gpg: GpgHome;
	let client: S3Client;
	let bucket: string;
	let n8n: InProcessN8n;
	const aliceKeys: string[] = [];

	const auditKeys = async (prefix = 'archive') => (await listAllKeys(client, bucket, `${prefix}/_audit/`)).filter((key) => key.endsWith('.json'));
	const readEvent = async (key: string) => JSON.parse((await getObjectBytes(client, bucket, key)).toString('utf8')) as AuditEvent;

	/** Runs one node of the workflow and returns the run with the events it appended under `prefix`. */
	async function runAudited(name: string, items: INodeExecutionData[] = [{ json: {} }], prefix = 'archive'): Promise<{ run: IRun; events: AuditEvent[] }> {
		const before = new Set(await auditKeys(prefix));
		const run = await n8n.runFrom(name, items);
		const added = (await auditKeys(prefix)).filter((key) => !before.has(key));
		return { run, events: await Promise.all(added.map(readEvent)) };
	}

	/** No phone number (in any spelling) and no message text in a stored event. */
	function expectPseudonymous(event: AuditEvent): void {
		const text = JSON.stringify(event);
		expect(text).not.toMatch(/7700\s*900\s*123/);
		expect(text).not.toContain(SECRET);
		expect(text).not.toContain('Alice');
	}

	beforeAll(async () => {
		gpg = await makeGpgHome({ userId: 'Archive Key <archive@example.org>' });
		client = createS3Client(s3Settings());
		bucket = await makeBucket(client, { versioning: true });
		for (const [n, waId] of [[1, ALICE], [2, ALICE], [3, ALICE], [4, '15550100123']] as const) {
			const fields = record(n, waId);
			const { key } = objectKeyForRecord({ indexKey: INDEX_KEY, prefix: 'archive', retentionClass: 'default', record: fields as never });
			await writeObject({ client, bucket, key, body: gpgEncrypt(gpg.home, JSON.stringify(fields), { recipients: [gpg.fingerprint] }) });
			if (waId === ALICE) aliceKeys.push(key);
		}
		n8n = new InProcessN8n({
			workflow: {
				id: WORKFLOW_ID,
				name: 'Audit trail',
				nodes: [
					s3ArchiveNode('Get', { resource: 'record', operation: 'get', key: '={{ $json.key }}', decrypt: true }, 0),
					s3ArchiveNode('Export', { resource: 'conversation', operation: 'export', prefix: 'archive', exportPhoneNumber: '+44 7700 900123' }, 1),
					s3ArchiveNode('Seal', { resource: 'seal', operation: 'seal', prefix: 'archive', sealScope: 'folder', sealFolder: `default/${PHONE_NUMBER_ID}` }, 2),
					s3ArchiveNode('Verify Audit', { resource: 'audit', operation: 'verify', prefix: 'archive' }, 3),
					s3ArchiveNode('Export RSMF', { resource: 'conversation', operation: 'export', prefix: 'archive', exportFormat: 'rsmf', exportScope: 'custodian', custodianPhoneNumberId: PHONE_NUMBER_ID, custodianFrom: '2026-01-01', custodianTo: '2026-01-09' }, 4),
				],
				connections: {},
			},
			credentials: {
				s3ArchiveApi: { ...s3Settings(), bucket, indexKey: INDEX_KEY } as unknown as ICredentialDataDecryptedObject,
				openPgpPrivateKeyApi: { privateKey: gpg.secretKeyArmored, passphrase: '' },
			},
		});
		await n8n.start();
	});
	afterAll(async () => {
		await n8n?.stop();
		client?.destroy();
		await gpg?.cleanup();
	});

	it('Record → Get with Decrypt: one get-decrypt event, signed by the decrypting key (gpg --verify), then the plaintext', async () => {
		const { run, events } = await runAudited('Get', [{ json: { key: aliceKeys[0] } }]);
		expect(run.status).toBe('success');
		expect((nodeOutput(run, 'Get')[0].json.data as IDataObject).content).toEqual({ body: `${SECRET} 1` });
		expect(events).toHaveLength(1);
		const [event] = events;
		expect(event).toMatchObject({
			seq: 1,
			operation: 'get-decrypt',
			result: 'success',
			errorCode: null,
			scope: { keyPrefixes: [aliceKeys[0]] },
			counts: { objects: 1, bytes: expect.any(Number) },
			workflowId: WORKFLOW_ID,
			executionId: expect.stringMatching(/^exec-\d+$/),
			user: null,
			prevKey: null,
		});
		expect(event.counts.bytes).toBeGreaterThan(SECRET.length);
		expectPseudonymous(event);

		// the signature, checked by hand as docs/FORMAT.md shows: the event without it as sorted compact JSON (its JCS form here)
		const { signature, ...unsigned } = event;
		const sortedKeys = (_key: string, value: unknown) =>
			value && typeof value === 'object' && !Array.isArray(value) ? Object.fromEntries(Object.entries(value).sort(([a], [b]) => (a < b ? -1 : 1))) : value;
		expect(gpgVerify(gpg.home, JSON.stringify(unsigned, sortedKeys), signature).good).toBe(true);
	});

	it('a failed decrypting read is recorded too: result failure with the store code, and the node fails', async () => {
		const missing = aliceKeys[0].replace(/[0-9a-f]{32}\.pgp$/, `${'0'.repeat(32)}.pgp`);
		const { run, events } = await runAudited('Get', [{ json: { key: missing } }]);
		expect(run.status).toBe('error');
		expect(nodeOutput(run, 'Get')).toEqual([]);
		expect(events).toHaveLength(1);
		expect(events[0]).toMatchObject({ operation: 'get-decrypt', result: 'failure', errorCode: 'NoSuchKey', counts: {}, scope: { keyPrefixes: [missing] } });
	});

	it('Decrypt of a key outside the archive layout (quarantine/): recorded as the key\'s HMAC in that folder\'s trail, never the key', async () => {
		// a quarantined object whose key carries a phone number (a Write's Object Key override can hold anything)
		const key = `quarantine/2026/01/01/+${ALICE}-note.pgp`;
		await writeObject({ client, bucket, key, body: gpgEncrypt(gpg.home, JSON.stringify(record(1, ALICE)), { recipients: [gpg.fingerprint] }) });
		const { run, events } = await runAudited('Get', [{ json: { key } }], 'quarantine');
		expect(run.status).toBe('success');
		expect((nodeOutput(run, 'Get')[0].json.data as IDataObject).content).toEqual({ body: `${SECRET} 1` });
		expect(events).toHaveLength(1);
		expect(events[0]).toMatchObject({ operation: 'get-decrypt', result: 'success', scope: { keyDigests: [auditKeyDigest(key, INDEX_KEY)] } });
		expect(events[0].scope.keyPrefixes).toBeUndefined();
		expectPseudonymous(events[0]);
		// a key whose first folder could be a phone number goes to the archive's trail
		const odd = `${ALICE}/note.pgp`;
		await writeObject({ client, bucket, key: odd, body: gpgEncrypt(gpg.home, 'not a record', { recipients: [gpg.fingerprint] }) });
		const second = await runAudited('Get', [{ json: { key: odd } }]);
		expect(second.run.status).toBe('success');
		expect(second.events).toHaveLength(1);
		expect(second.events[0].scope).toEqual({ keyDigests: [auditKeyDigest(odd, INDEX_KEY)] });
		expectPseudonymous(second.events[0]);
	});

	it('Conversation → Export: one export event with the person as pseudonyms and the counts', async () => {
		const { run, events } = await runAudited('Export');
		expect(run.status).toBe('success');
		expect((nodeOutput(run, 'Export')[0].json.export as IDataObject).counts).toMatchObject({ records: 3 });
		expect(events).toHaveLength(1);
		expect(events[0]).toMatchObject({ operation: 'export', result: 'success', counts: { records: 3, messages: 3 }, workflowId: WORKFLOW_ID });
		expect(events[0].scope.pseudonyms).toContain(phoneNumberPseudonym({ indexKey: INDEX_KEY, phoneNumber: ALICE }));
		expectPseudonymous(events[0]);
	});

	it('Conversation → Export as RSMF of a custodian: one export event with the number, the dates and the files', async () => {
		const { run, events } = await runAudited('Export RSMF');
		expect(run.status).toBe('success');
		const files = nodeOutput(run, 'Export RSMF').filter((item) => item.binary?.data);
		expect(files.length).toBeGreaterThan(0);
		expect(events).toHaveLength(1);
		expect(events[0]).toMatchObject({
			operation: 'export',
			result: 'success',
			scope: { phoneNumberIds: [PHONE_NUMBER_ID], from: '2026-01-01', to: '2026-01-09' },
			counts: { records: 4, files: files.length },
		});
		expect(events[0].scope.pseudonyms).toBeUndefined();
		expectPseudonymous(events[0]);
	});

	it('Seal → Create: one seal-create event naming the seal and the sealed folder', async () => {
		const { run, events } = await runAudited('Seal');
		expect(run.status).toBe('success');
		const seal = nodeOutput(run, 'Seal')[0].json.seal as IDataObject;
		expect(events).toHaveLength(1);
		expect(events[0]).toMatchObject({
			operation: 'seal-create',
			result: 'success',
			scope: { sealIds: [seal.sealId], keyPrefixes: [`archive/default/${PHONE_NUMBER_ID}`] },
			counts: { versions: 4, objects: 4, deleteMarkers: 0 },
		});
	});

	it('Audit → Verify: the trail is valid and appends nothing; a deleted event is reported as a gap', async () => {
		const checked = await runAudited('Verify Audit');
		expect(checked.run.status).toBe('success');
		expect(checked.events).toEqual([]);
		const report = nodeOutput(checked.run, 'Verify Audit')[0].json;
		expect(report.valid).toBe(true);
		expect(report.audit).toMatchObject({ folder: 'archive/_audit', eventsChecked: 6, gaps: [], breaks: [], badSignatures: [], signers: [gpg.fingerprint] });

		const second = (await auditKeys())[1];
		const { VersionId } = await client.send(new HeadObjectCommand({ Bucket: bucket, Key: second }));
		await client.send(new DeleteObjectCommand({ Bucket: bucket, Key: second, VersionId }));
		const after = nodeOutput((await runAudited('Verify Audit')).run, 'Verify Audit')[0].json;
		expect(after.valid).toBe(false);
		expect((after.audit as IDataObject).gaps).toEqual([expect.objectContaining({ afterSeq: 1, beforeSeq: 3, missing: 1 })]);
	});

	it('when the event cannot be written, the decrypting read fails and outputs no plaintext', async () => {
		// a trail whose newest object is larger than any event: no event can follow it (AuditTrailUnreadable)
		const fields = record(5, ALICE);
		const { key } = objectKeyForRecord({ indexKey: INDEX_KEY, prefix: 'blocked', retentionClass: 'default', record: fields as never });
		await writeObject({ client, bucket, key, body: gpgEncrypt(gpg.home, JSON.stringify(fields), { recipients: [gpg.fingerprint] }) });
		const today = new Date().toISOString().slice(0, 10);
		const planted = Buffer.alloc(70 * 1024, 0x20);
		await client.send(new PutObjectCommand({ Bucket: bucket, Key: `blocked/_audit/${today}/000000000001.json`, Body: planted, ContentLength: planted.length }));

		const { run, events } = await runAudited('Get', [{ json: { key } }], 'blocked');
		expect(run.status).toBe('error');
		expect(run.data.resultData.error?.message).toMatch(/larger than any audit event/);
		expect(nodeOutput(run, 'Get')).toEqual([]);
		expect(JSON.stringify(run.data.resultData)).not.toContain(SECRET);
		expect(events).toEqual([]);
	});
});
