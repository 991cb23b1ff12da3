/**
 * A minimal IExecuteFunctions for running the S3 Archive node in tests: parameters per item,
 * the s3ArchiveApi credential, binary access (inline `data` or an `id` served by `streams`).
 */
import { Readable } from 'node:stream';
import {
	NodeOperationError,
	type IBinaryData,
	type ICredentialDataDecryptedObject,
	type IExecuteFunctions,
	type INode,
	type INodeExecutionData,
} from 'n8n-workflow';

export interface FakeOptions {
	items: INodeExecutionData[];
	parameters: Record<string, unknown>;
	credentials: ICredentialDataDecryptedObject;
	continueOnFail?: boolean;
	/** Binary ids → a function opening a fresh stream over those bytes. */
	streams?: Record<string, () => Readable>;
}

export const node: INode = {
	id: 'node-1',
	name: 'Archive Record',
	type: 'n8n-nodes-chat-archive.s3Archive',
	typeVersion: 1,
	position: [0, 0],
	parameters: {},
};

export function fakeExecuteFunctions(
	options: FakeOptions,
): IExecuteFunctions & { streamOpens: number; streamChunkSizes: Array<number | undefined> } {
	const state = { streamOpens: 0, chunkSizes: [] as Array<number | undefined> };
	const binary = (i: number, prop: string): IBinaryData => {
		const data = options.items[i].binary?.[prop];
		if (!data) throw new NodeOperationError(node, `This operation expects the node's input data to contain a binary file '${prop}', but none was found`, { itemIndex: i });
		return data;
	};
	const fake = {
		getInputData: () => options.items,
		getNode: () => node,
		continueOnFail: () => options.continueOnFail === true,
		getCredentials: async (name: string) => {
			if (name !== 's3ArchiveApi') throw new Error(`unexpected credential ${name}`);
			return options.credentials;
		},
		getNodeParameter: (name: string, _i: number, fallback?: unknown) =>
			name in options.parameters ? options.parameters[name] : fallback,
		helpers: {
			assertBinaryData: (i: number, prop: string) => binary(i, prop),
			getBinaryDataBuffer: async (i: number, prop: string) => Buffer.from(binary(i, prop).data, 'base64'),
			prepareBinaryData: async (data: Buffer | Readable, fileName?: string, mimeType?: string): Promise<IBinaryData> => {
				let buffer: Buffer;
				if (Buffer.isBuffer(data)) buffer = data;
				else {
					const chunks: Buffer[] = [];
					for await (const chunk of data) chunks.push(Buffer.from(chunk as Buffer));
					buffer = Buffer.concat(chunks);
				}
				return { data: buffer.toString('base64'), fileName, mimeType: mimeType ?? 'application/octet-stream', fileSize: String(buffer.length) };
			},
			getBinaryStream: async (id: string, chunkSize?: number) => {
				state.streamOpens++;
				state.chunkSizes.push(chunkSize);
				const open = options.streams?.[id];
				if (!open) throw new Error(`no binary ${id}`);
				return open();
			},
		},
	};
	Object.defineProperty(fake, 'streamChunkSizes', { get: () => state.chunkSizes });
	return Object.defineProperty(fake, 'streamOpens', { get: () => state.streamOpens }) as unknown as IExecuteFunctions & {
		streamOpens: number;
		/** The chunk size each getBinaryStream call asked for (undefined: n8n's default, 64 KiB). */
		streamChunkSizes: Array<number | undefined>;
	};
}

/** A stream of `size` deterministic bytes in `chunkSize` chunks, optionally failing after `failAfter` bytes. */
export function patternStream(size: number, chunkSize: number, failAfter?: number): Readable {
	let sent = 0;
	return new Readable({
		read() {
			if (failAfter !== undefined && sent >= failAfter) {
				this.destroy(new Error('injected read failure'));
				return;
			}
			if (sent >= size) {
				this.push(null);
				return;
			}
			const n = Math.min(chunkSize, size - sent);
			const chunk = Buffer.alloc(n);
			for (let j = 0; j < n; j++) chunk[j] = (sent + j) % 251;
			sent += n;
			this.push(chunk);
		},
	});
}

export function patternBytes(size: number): Buffer {
	const out = Buffer.alloc(size);
	for (let j = 0; j < size; j++) out[j] = j % 251;
	return out;
}
