import { randomBytes } from 'node:crypto';
import type { S3Client } from '@aws-sdk/client-s3';
import type { ICredentialTestFunctions } from 'n8n-workflow';

import { createS3Client } from '../../../lib/s3';
import { S3Archive } from '../../../nodes/S3Archive/S3Archive.node';
import { executeContext } from '../../helpers/execute-context';
import { makeBucket, s3Settings } from '../../helpers/s3';

const INDEX_KEY = randomBytes(32).toString('hex');

describe('S3 Archive node: Setup Check and credential test', () => {
	let client: S3Client;
	let bucket: string;
	const node = new S3Archive();
	const credentials = (overrides: Record<string, unknown> = {}) => ({
		...s3Settings(),
		forcePathStyle: true,
		checksumMode: 'WHEN_REQUIRED',
		bucket,
		indexKey: INDEX_KEY,
		...overrides,
	});
	const credentialTest = async (overrides: Record<string, unknown> = {}) =>
		await node.methods.credentialTest.s3ArchiveApiTest.call({} as ICredentialTestFunctions, {
			id: '1',
			name: 'S3 Archive Store',
			type: 's3ArchiveApi',
			data: credentials(overrides),
		});

	beforeAll(async () => {
		client = createS3Client(s3Settings());
		bucket = await makeBucket(client, { objectLock: true });
	});
	afterAll(() => client?.destroy());

	it('Setup Check outputs the bucket report', async () => {
		const context = executeContext({
			nodeType: node,
			items: [{ json: {} }],
			parameters: { resource: 'bucket', operation: 'setupCheck', bucket: '', probeWrites: true },
			credentials: { s3ArchiveApi: credentials() },
		});
		const output = await node.execute.call(context);
		expect(output[0]).toHaveLength(1);
		expect(output[0][0].pairedItem).toEqual({ item: 0 });
		expect(output[0][0].json.setupCheck).toMatchObject({
			bucket,
			versioning: 'Enabled',
			objectLock: { enabled: true, support: 'supported' },
			readyForCompliance: true,
		});
	});

	it('credential test: OK for good settings', async () => {
		expect(await credentialTest()).toEqual({ status: 'OK', message: expect.stringContaining(bucket) });
	});

	it("credential test: returns the store's own message for a bad secret, an unknown key, a missing bucket", async () => {
		const badSecret = await credentialTest({ secretAccessKey: 'wrong-secret' });
		expect(badSecret.status).toBe('Error');
		expect(badSecret.message).toMatch(/SignatureDoesNotMatch/);
		expect(badSecret.message).not.toContain('wrong-secret');

		const badKey = await credentialTest({ accessKeyId: 'nosuchkey' });
		expect(badKey).toEqual({ status: 'Error', message: expect.stringMatching(/InvalidAccessKeyId/) });

		const noBucket = await credentialTest({ bucket: `missing-${randomBytes(4).toString('hex')}` });
		expect(noBucket).toEqual({ status: 'Error', message: expect.stringMatching(/NoSuchBucket/) });

		const shortIndex = await credentialTest({ indexKey: 'short' });
		expect(shortIndex).toEqual({ status: 'Error', message: expect.stringMatching(/Index Key/) });

		const badEndpoint = await credentialTest({ endpoint: 'not a url' });
		expect(badEndpoint).toEqual({ status: 'Error', message: expect.stringMatching(/not a URL/) });
	});
});
