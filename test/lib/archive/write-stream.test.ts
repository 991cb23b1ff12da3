import { createHash } from 'node:crypto';
import v8 from 'node:v8';
import { runInNewContext } from 'node:vm';
import { AbortMultipartUploadCommand, CreateMultipartUploadCommand, ListMultipartUploadsCommand, UploadPartCommand, type S3Client } from '@aws-sdk/client-s3';

import { ArchiveError, multipartPartSize, writeObjectStream } from '../../../lib/archive';
import { createS3Client } from '../../../lib/s3';
import { listAllKeys, makeBucket, s3Settings } from '../../helpers/s3';
import { patternStream } from '../../helpers/pattern';

const MiB = 1024 * 1024;

// a real gc() so the sampler measures live memory, not garbage awaiting collection
v8.setFlagsFromString('--expose-gc');
const gc = runInNewContext('gc') as () => void;

describe('writeObjectStream against the local store', () => {
	let client: S3Client;
	let bucket: string;
	beforeAll(async () => {
		client = createS3Client(s3Settings());
		bucket = await makeBucket(client, { objectLock: true });
	});
	afterAll(() => client?.destroy());

	it('uploads 96 MiB from 16 KiB chunks in ≥ 5 MiB parts, each with Content-MD5, with bounded memory', async () => {
		const parts: Array<{ length: number; md5: string | undefined; actual: string }> = [];
		const spy = createS3Client(s3Settings());
		spy.middlewareStack.add(
			(next, context) => async (args) => {
				if (context.commandName === 'UploadPartCommand') {
					const request = args.request as { headers: Record<string, string>; body: Uint8Array };
					parts.push({
						length: request.body.byteLength,
						md5: request.headers['content-md5'],
						actual: createHash('md5').update(request.body).digest('base64'),
					});
				}
				return await next(args);
			},
			{ step: 'finalizeRequest', name: 'spyParts' },
		);
		const size = 96 * MiB + 7;
		gc();
		// The rise above the lowest level seen so far: V8 may free buffers of earlier tests only after
		// the first gc() (its ArrayBuffer sweeper runs behind), which would make a fixed baseline too high.
		let floor = process.memoryUsage().arrayBuffers;
		let peak = 0;
		const timer = setInterval(() => {
			gc();
			const now = process.memoryUsage().arrayBuffers;
			floor = Math.min(floor, now);
			peak = Math.max(peak, now - floor);
		}, 20);
		try {
			const result = await writeObjectStream({
				client: spy,
				bucket,
				key: 'stream/big.pgp',
				openBody: () => patternStream(size, 16 * 1024),
				partSize: 8 * MiB,
				queueSize: 2,
			});
			expect(result).toMatchObject({ status: 'created', size, etag: expect.stringMatching(/-13$/) });
		} finally {
			clearInterval(timer);
			spy.destroy();
		}
		expect(parts).toHaveLength(13);
		for (const part of parts.slice(0, -1)) expect(part.length).toBe(8 * MiB);
		for (const part of parts) expect(part.md5).toBe(part.actual);
		// parts × queue (16 MiB) plus lib-storage chunk assembly, copies and socket buffers: seen 35–48 MiB,
		// up to 71 MiB on a loaded 2-core host; buffering the object would hold at least its 96 MiB
		expect(peak).toBeGreaterThan(0);
		expect(peak).toBeLessThan(84 * MiB);
	});

	it("duplicateCheck 'store' does not apply to multipart uploads: the pre-check stays (RGW 16 ignores If-None-Match on CompleteMultipartUpload)", async () => {
		const plain = await makeBucket(client);
		const sent: string[] = [];
		const counted = createS3Client(s3Settings());
		counted.middlewareStack.add(
			(next, context) => async (args) => {
				sent.push(String(context.commandName));
				return await next(args);
			},
			{ step: 'initialize', name: 'countCommands' },
		);
		try {
			const write = () =>
				writeObjectStream({ client: counted, bucket: plain, key: 'stream/once.pgp', openBody: () => patternStream(11 * MiB, 64 * 1024), duplicateCheck: 'store' });
			const first = await write();
			expect(first.status).toBe('created');
			expect(sent.indexOf('HeadObjectCommand')).toBeLessThan(sent.indexOf('CreateMultipartUploadCommand'));
			const second = await write();
			expect(second).toMatchObject({ status: 'duplicate', sha256: first.sha256, size: 11 * MiB });
			expect(await listAllKeys(counted, plain, 'stream/once')).toEqual(['stream/once.pgp']);
		} finally {
			counted.destroy();
		}
	});

	it('refuses a source whose bytes change between the hashing pass and the upload, leaving nothing', async () => {
		let opens = 0;
		const error = await writeObjectStream({
			client,
			bucket,
			key: 'stream/changing.pgp',
			openBody: () => patternStream(++opens === 1 ? 12 * MiB : 12 * MiB - 1, 64 * 1024),
		}).catch((e: unknown) => e);
		expect(error).toBeInstanceOf(ArchiveError);
		expect(JSON.stringify((error as Error).message)).toMatch(/changed/);
		expect(await listAllKeys(client, bucket, 'stream/changing')).toEqual([]);
		expect((await client.send(new ListMultipartUploadsCommand({ Bucket: bucket }))).Uploads ?? []).toEqual([]);
	});

	it('aborts incomplete uploads of exactly its key (leftovers of an interrupted attempt) before uploading; other keys untouched', async () => {
		const key = 'stream/leftover.pgp';
		const leftover = async (k: string) => {
			const { UploadId } = await client.send(new CreateMultipartUploadCommand({ Bucket: bucket, Key: k }));
			const part = Buffer.alloc(1024, 7);
			await client.send(new UploadPartCommand({ Bucket: bucket, Key: k, UploadId, PartNumber: 1, Body: part, ContentMD5: createHash('md5').update(part).digest('base64') }));
			return UploadId!;
		};
		const first = await leftover(key);
		const second = await leftover(key);
		const longer = await leftover(`${key}.media.pgp`); // shares the prefix, another key
		const uploads = async () =>
			((await client.send(new ListMultipartUploadsCommand({ Bucket: bucket, Prefix: 'stream/leftover' }))).Uploads ?? []).map((u) => `${u.Key}#${u.UploadId}`).sort();
		expect(await uploads()).toEqual([`${key}#${first}`, `${key}#${second}`, `${key}.media.pgp#${longer}`].sort());
		const result = await writeObjectStream({ client, bucket, key, openBody: () => patternStream(6 * MiB, 64 * 1024), partSize: 5 * MiB });
		expect(result).toMatchObject({ status: 'created', size: 6 * MiB });
		expect(await uploads()).toEqual([`${key}.media.pgp#${longer}`]);
		await client.send(new AbortMultipartUploadCommand({ Bucket: bucket, Key: `${key}.media.pgp`, UploadId: longer }));
	});
});

describe('multipartPartSize', () => {
	const GiB = 1024 * MiB;
	const TiB = 1024 * GiB;

	it('keeps the requested size while 10,000 parts suffice, then grows to size / 10,000 in whole MiB', () => {
		expect(multipartPartSize(1)).toBe(8 * MiB);
		expect(multipartPartSize(78 * GiB)).toBe(8 * MiB);
		expect(multipartPartSize(79 * GiB)).toBe(9 * MiB);
		expect(multipartPartSize(100 * GiB)).toBe(11 * MiB);
		expect(multipartPartSize(5 * TiB)).toBe(525 * MiB);
		expect(multipartPartSize(100 * GiB, 64 * MiB)).toBe(64 * MiB);
		expect(multipartPartSize(1, 1024)).toBe(5 * MiB);
		for (const size of [78 * GiB + 1, 100 * GiB, 1 * TiB + 12345, 5 * TiB]) {
			const part = multipartPartSize(size);
			expect(Math.ceil(size / part)).toBeLessThanOrEqual(10_000);
			expect(part % MiB).toBe(0);
			expect(part).toBeLessThanOrEqual(5 * GiB);
		}
	});

	it('refuses more than 5 TiB with InvalidInput', () => {
		expect(() => multipartPartSize(5 * TiB + 1)).toThrow(ArchiveError);
		expect(() => multipartPartSize(5 * TiB + 1)).toThrow(/at most 5 TiB/);
	});
});
