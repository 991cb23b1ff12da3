import { createServer, type Server, type Socket } from 'node:net';
import type { AddressInfo } from 'node:net';

import { writeObject } from '../../../lib/archive';
import { ArchiveError, createS3Client, DEFAULT_TIMEOUTS } from '../../../lib/s3';

const settings = { endpoint: 'http://127.0.0.1:1', region: 'us-east-1', accessKeyId: 'AKIDTEST', secretAccessKey: 'secret-test' };

/** A "store" that accepts connections, reads whatever comes, and never answers. */
async function stalledStore(): Promise<{ endpoint: string; requests: () => number; close: () => Promise<void> }> {
	const sockets = new Set<Socket>();
	let requests = 0;
	const server: Server = createServer((socket) => {
		sockets.add(socket);
		socket.on('data', (chunk) => {
			requests += (chunk.toString('latin1').match(/^(HEAD|GET|PUT|POST|DELETE) /gm) ?? []).length;
		});
		socket.on('close', () => sockets.delete(socket));
		socket.on('error', () => {});
	});
	await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
	const { port } = server.address() as AddressInfo;
	return {
		endpoint: `http://127.0.0.1:${port}`,
		requests: () => requests,
		close: async () => {
			for (const socket of sockets) socket.destroy();
			await new Promise<void>((resolve) => server.close(() => resolve()));
		},
	};
}

describe('createS3Client timeouts', () => {
	it('configures connect and request timeouts that throw, by default', async () => {
		expect(DEFAULT_TIMEOUTS).toEqual({ connectionTimeoutMs: 5_000, requestTimeoutMs: 120_000, headTimeoutMs: 5_000 });
		const client = createS3Client(settings);
		try {
			const handler = client.config.requestHandler as unknown as { httpHandlerConfigs(): Record<string, unknown>; handle(...args: unknown[]): Promise<unknown> };
			await handler.handle({ protocol: 'http:', hostname: '127.0.0.1', port: 1, method: 'HEAD', path: '/', headers: {} }).catch(() => {}); // resolves the lazy config
			expect(handler.httpHandlerConfigs()).toMatchObject({ connectionTimeout: 5_000, requestTimeout: 120_000, throwOnRequestTimeout: true });
		} finally {
			client.destroy();
		}
	});

	it('refuses a timeout that is not a number ≥ 0, naming it', () => {
		expect(() => createS3Client({ ...settings, requestTimeoutMs: -1 })).toThrow(/requestTimeoutMs/);
		expect(() => createS3Client({ ...settings, connectionTimeoutMs: Number.NaN })).toThrow(ArchiveError);
	});

	it('a stalled store: the lookups before a write (Object Lock configuration, HEAD) time out, are retried, and the write fails (no hang)', async () => {
		const store = await stalledStore();
		const client = createS3Client({ ...settings, endpoint: store.endpoint, headTimeoutMs: 300 });
		try {
			const started = Date.now();
			const error = await writeObject({ client, bucket: 'b', key: 'k', body: Buffer.from('x') }).then(
				() => null,
				(caught: unknown) => caught as ArchiveError,
			);
			expect(error).toBeInstanceOf(ArchiveError);
			expect(error?.message).toMatch(/^HeadObject s3:\/\/b\/k failed: TimeoutError/);
			expect(store.requests()).toBe(6); // the SDK's 3 attempts of GetObjectLockConfiguration, then of HeadObject
			expect(Date.now() - started).toBeLessThan(8_000);
		} finally {
			client.destroy();
			await store.close();
		}
	});

	it('a stalled store: a PUT times out after requestTimeoutMs', async () => {
		const store = await stalledStore();
		const client = createS3Client({ ...settings, endpoint: store.endpoint, requestTimeoutMs: 400 });
		try {
			const started = Date.now();
			const error = await writeObject({ client, bucket: 'b', key: 'k', body: Buffer.from('x'), duplicateCheck: 'store' }).then(
				() => null,
				(caught: unknown) => caught as ArchiveError,
			);
			expect(error?.message).toMatch(/^PutObject s3:\/\/b\/k failed: TimeoutError/);
			expect(store.requests()).toBe(3);
			expect(Date.now() - started).toBeLessThan(6_000);
		} finally {
			client.destroy();
			await store.close();
		}
	});

	it('headTimeoutMs 0: HEAD requests get the request limit', async () => {
		const store = await stalledStore();
		const client = createS3Client({ ...settings, endpoint: store.endpoint, headTimeoutMs: 0, requestTimeoutMs: 2_500 });
		try {
			const started = Date.now();
			await expect(writeObject({ client, bucket: 'b', key: 'k', body: Buffer.from('x') })).rejects.toThrow(/TimeoutError/);
			expect(Date.now() - started).toBeGreaterThanOrEqual(3 * 2_500 - 100);
		} finally {
			client.destroy();
			await store.close();
		}
	}, 20_000);
});
