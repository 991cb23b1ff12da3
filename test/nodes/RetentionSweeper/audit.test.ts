/**
 * Retention Sweeper and the audit trail, in in-process n8n-core (test/helpers/n8n-runner.ts) against the
 * local Ceph RGW store with a gpg-generated archive key: Place Hold, Release Hold, Execute and Lifecycle
 * Apply each append exactly one event signed by the archive key (a refused Apply as a failure); a matter
 * id the trail would refuse is refused before the hold is placed; S3 Archive → Audit → Verify checks the
 * trail with the archive key's public part.
 */
import type { S3Client } from '@aws-sdk/client-s3';
import type { ICredentialDataDecryptedObject, IDataObject, INode, INodeExecutionData, IRun } from 'n8n-workflow';

import { phoneNumberPseudonym, recordObjectKey, type AuditEvent } from '../../../lib/archive';
import { createS3Client } from '../../../lib/s3';
import { makeGpgHome, type GpgHome } from '../../helpers/gpg';
import { InProcessN8n } from '../../helpers/n8n-runner';
import { getObjectBytes, listAllKeys, makeBucket, s3Settings } from '../../helpers/s3';
import { HEX32, putVersion } from '../../lib/retention/population';

const INDEX_KEY = '47dea6762673211e5eeb699dda770b031dfabbc34583813ffd18af8190a84897';
const WORKFLOW_ID = 'sweeperAudit0001';
const ALICE = '+44 7700 900123';
const CLASSES = { values: [{ name: 'default', retention: 'P1Y', minimum: '' }] };
const CREDENTIALS = {
	s3ArchiveApi: { id: '1', name: 'S3 Archive Store' },
	openPgpPrivateKeyApi: { id: '2', name: 'Archive key' },
};

const sweeperNode = (name: string, parameters: INode['parameters'], x: number): INode => ({
	id: `node-${x}`,
	name,
	type: 'n8n-nodes-chat-archive.retentionSweeper',
	typeVersion: 1,
	position: [x * 200, 0],
	parameters: { prefix: 'archive', ...parameters },
	credentials: CREDENTIALS,
});

const nodeOutput = (run: IRun, name: string): INodeExecutionData[] => run.data.resultData.runData[name]?.[0]?.data?.main?.[0] ?? [];

describe('Retention Sweeper: holds, sweeps and lifecycle changes append one audit event each (in-process n8n-core, local RGW, gpg)', () => {
	let archiveKey: GpgHome;
	let client: S3Client;
	let bucket: string;
	let n8n: InProcessN8n;
	const alice = phoneNumberPseudonym({ indexKey: INDEX_KEY, phoneNumber: ALICE });

	const auditKeys = async () => (await listAllKeys(client, bucket, 'archive/_audit/')).filter((key) => key.endsWith('.json'));
	async function runAudited(name: string): Promise<{ run: IRun; events: AuditEvent[] }> {
		const before = new Set(await auditKeys());
		const run = await n8n.runFrom(name, [{ json: {} }]);
		const added = (await auditKeys()).filter((key) => !before.has(key));
		const events = await Promise.all(added.map(async (key) => JSON.parse((await getObjectBytes(client, bucket, key)).toString('utf8')) as AuditEvent));
		for (const event of events) expect(JSON.stringify(event)).not.toMatch(/7700\s*900\s*123/);
		return { run, events };
	}

	beforeAll(async () => {
		archiveKey = await makeGpgHome({ userId: 'Archive Key <archive@example.org>', passphrase: 'pw' });
		client = createS3Client(s3Settings());
		bucket = await makeBucket(client, { objectLock: true });
		const key = (date: string, pseudonym = HEX32()) =>
			recordObjectKey({ prefix: 'archive', retentionClass: 'default', phoneNumberId: '1055500000', date, pseudonym, recordId: HEX32() });
		await putVersion(client, bucket, key('2018-01-02', alice));
		await putVersion(client, bucket, key('2018-01-03'));
		const hold = { actor: 'legal@example.org', reason: 'subpoena', applyLegalHoldFlag: true };
		n8n = new InProcessN8n({
			workflow: {
				id: WORKFLOW_ID,
				name: 'Sweeper audit',
				nodes: [
					sweeperNode('Place Hold', { operation: 'placeHold', matterId: 'CASE-7', counterpartyPhoneNumbers: ALICE, ...hold }, 0),
					sweeperNode('Place Hold (Digits)', { operation: 'placeHold', matterId: 'CASE-20260101', phoneNumberIds: '1055500000', ...hold }, 1),
					sweeperNode('Release Hold', { operation: 'releaseHold', matterId: 'CASE-7', ...hold }, 2),
					sweeperNode('Execute', { operation: 'execute', classes: CLASSES, reportLockMode: 'none' }, 3),
					sweeperNode('Lifecycle Apply', { operation: 'lifecycle', classes: CLASSES, lifecycleAction: 'apply' }, 4),
					{
						id: 'node-verify',
						name: 'Verify Audit',
						type: 'n8n-nodes-chat-archive.s3Archive',
						typeVersion: 1,
						position: [1200, 0],
						parameters: { resource: 'audit', operation: 'verify', prefix: 'archive' },
						credentials: { s3ArchiveApi: CREDENTIALS.s3ArchiveApi, openPgpPublicKeysApi: { id: '3', name: 'Archive public key' } },
					},
				],
				connections: {},
			},
			credentials: {
				s3ArchiveApi: { ...s3Settings(), bucket, indexKey: INDEX_KEY } as unknown as ICredentialDataDecryptedObject,
				openPgpPrivateKeyApi: { privateKey: archiveKey.secretKeyArmored, passphrase: 'pw' },
				openPgpPublicKeysApi: { publicKeys: archiveKey.publicKeyArmored, expectedFingerprints: archiveKey.fingerprint },
			},
		});
		await n8n.start();
	});
	afterAll(async () => {
		await n8n?.stop();
		client?.destroy();
		await archiveKey?.cleanup();
	});

	it('Place Hold by phone number: one hold-place event naming the matter, never the number', async () => {
		const { run, events } = await runAudited('Place Hold');
		expect(run.status).toBe('success');
		expect(events).toHaveLength(1);
		expect(events[0]).toMatchObject({
			operation: 'hold-place',
			result: 'success',
			scope: { matterIds: ['CASE-7'] },
			counts: { records: 1, versions: 1, flagsChanged: 1, flagsFailed: 0 },
			workflowId: WORKFLOW_ID,
			executionId: expect.stringMatching(/^exec-\d+$/),
		});
	});

	it('a matter id the trail would refuse (8 digits in a row: a phone number\'s shape) is refused before the hold is placed', async () => {
		const { run, events } = await runAudited('Place Hold (Digits)');
		expect(run.status).toBe('error');
		expect(run.data.resultData.error?.message).toMatch(/scope\.matterIds.*could be a phone number/);
		expect(events).toEqual([]);
		expect(await listAllKeys(client, bucket, 'archive/_holds/CASE-20260101/')).toEqual([]);
	});

	it('Lifecycle Apply refused while a matter is active: one failure event with the engine code', async () => {
		const { run, events } = await runAudited('Lifecycle Apply');
		expect(run.status).toBe('error');
		expect(events).toHaveLength(1);
		expect(events[0]).toMatchObject({ operation: 'lifecycle-apply', result: 'failure', errorCode: 'MattersActive', scope: { classes: ['default'] }, counts: {} });
	});

	it('Release Hold, then Execute: one hold-release and one sweep-execute event with the run id and counts', async () => {
		const released = await runAudited('Release Hold');
		expect(released.run.status).toBe('success');
		expect(released.events).toHaveLength(1);
		expect(released.events[0]).toMatchObject({ operation: 'hold-release', result: 'success', scope: { matterIds: ['CASE-7'] }, counts: { flagsChanged: 1 } });

		const swept = await runAudited('Execute');
		expect(swept.run.status).toBe('success');
		const output = nodeOutput(swept.run, 'Execute')[0].json as IDataObject;
		expect(output.deleted).toMatchObject({ count: 2 });
		expect(swept.events).toHaveLength(1);
		expect(swept.events[0]).toMatchObject({
			operation: 'sweep-execute',
			result: 'success',
			scope: { runIds: [output.runId], classes: ['default'] },
			counts: { deleted: 2, skipped: 0, deferred: 0 },
		});
	});

	it('Lifecycle Apply with no active matter: one lifecycle-apply event with the rules changed', async () => {
		const { run, events } = await runAudited('Lifecycle Apply');
		expect(run.status).toBe('success');
		expect(events).toHaveLength(1);
		expect(events[0]).toMatchObject({ operation: 'lifecycle-apply', result: 'success' });
		expect(events[0].counts.rulesChanged).toBeGreaterThan(0);
	});

	it('S3 Archive → Audit → Verify with the archive key\'s public part: every event valid, signed by the archive key', async () => {
		const run = await n8n.runFrom('Verify Audit', [{ json: {} }]);
		expect(run.status).toBe('success');
		const report = nodeOutput(run, 'Verify Audit')[0].json;
		expect(report.valid).toBe(true);
		expect(report.audit).toMatchObject({ eventsChecked: 5, gaps: [], breaks: [], badSignatures: [], signers: [archiveKey.fingerprint] });
	});
});
