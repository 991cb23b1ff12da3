/**
 * A minimal fake of n8n's IExecuteFunctions, enough to run the OpenPGP node's `execute` in-process:
 * parameters (with the node description's defaults), credentials, inline and id-backed binaries.
 */
import { Readable } from 'node:stream';
import type {
	IBinaryData,
	ICredentialDataDecryptedObject,
	IDataObject,
	IExecuteFunctions,
	INode,
	INodeExecutionData,
	INodeProperties,
} from 'n8n-workflow';

import { OpenPgp } from '../../../nodes/OpenPgp/OpenPgp.node';

/** Options of {@link runOpenPgp}. */
export interface RunOptions {
	/** Node parameters; missing ones take the description's default. */
	parameters: IDataObject;
	items: INodeExecutionData[];
	credentials?: Record<string, ICredentialDataDecryptedObject>;
	continueOnFail?: boolean;
	/** Stored binaries for items whose binary has an `id`. */
	binaryStore?: Record<string, Buffer>;
}

/** What a run observed besides the output. */
export interface RunStats {
	getCredentialsCalls: Record<string, number>;
	getBinaryStreamCalls: number;
	/** The chunk size each getBinaryStream call asked for (undefined: n8n's default, 64 KiB). */
	getBinaryStreamChunkSizes: Array<number | undefined>;
	getBinaryDataBufferCalls: number;
	/** Calls of prepareBinaryData (output binaries created, even if the item later fails). */
	prepareBinaryDataCalls: number;
}

const node: INode = {
	id: 'openpgp-test',
	name: 'OpenPGP',
	type: 'n8n-nodes-chat-archive.openPgp',
	typeVersion: 1,
	position: [0, 0],
	parameters: {},
};

function defaultOf(properties: INodeProperties[], name: string, parameters: IDataObject): unknown {
	const candidates = properties.filter((property) => property.name === name);
	const matching = candidates.find((property) => {
		const show = property.displayOptions?.show ?? {};
		return Object.entries(show).every(([key, values]) => {
			const current = key in parameters ? parameters[key] : defaultOf(properties, key, parameters);
			return (values as unknown[]).includes(current);
		});
	});
	return (matching ?? candidates[0])?.default;
}

/** Decoded bytes of a binary the fake `prepareBinaryData` produced. */
export function binaryBytes(binary: IBinaryData): Buffer {
	return Buffer.from(binary.data, 'base64');
}

/** Run the OpenPGP node's `execute` with a fake context. */
export async function runOpenPgp(
	options: RunOptions,
): Promise<{ output: INodeExecutionData[]; stats: RunStats }> {
	const nodeType = new OpenPgp();
	const properties = nodeType.description.properties;
	const stats: RunStats = {
		getCredentialsCalls: {},
		getBinaryStreamCalls: 0,
		getBinaryStreamChunkSizes: [],
		getBinaryDataBufferCalls: 0,
		prepareBinaryDataCalls: 0,
	};
	const items = options.items;
	const context = {
		getInputData: () => items,
		getNode: () => node,
		continueOnFail: () => options.continueOnFail === true,
		getNodeParameter: (name: string, _itemIndex: number, fallback?: unknown) => {
			if (name in options.parameters) return options.parameters[name];
			const value = defaultOf(properties, name, options.parameters);
			return value === undefined ? fallback : value;
		},
		getCredentials: async (type: string) => {
			stats.getCredentialsCalls[type] = (stats.getCredentialsCalls[type] ?? 0) + 1;
			const credentials = options.credentials?.[type];
			if (!credentials) throw new Error(`no credentials of type ${type}`);
			return credentials;
		},
		helpers: {
			assertBinaryData: (itemIndex: number, propertyName: string) => {
				const binary = items[itemIndex].binary?.[propertyName];
				if (!binary)
					throw new Error(
						`This operation expects the node's input data to contain a binary file '${propertyName}', but none was found [item ${itemIndex}]`,
					);
				return binary;
			},
			getBinaryStream: async (id: string, chunkSize?: number) => {
				stats.getBinaryStreamCalls++;
				stats.getBinaryStreamChunkSizes.push(chunkSize);
				const bytes = options.binaryStore?.[id];
				if (!bytes) throw new Error(`no binary ${id}`);
				const chunks = Array.from({ length: Math.ceil(bytes.length / 16384) }, (_v, i) =>
					bytes.subarray(i * 16384, (i + 1) * 16384),
				);
				return Readable.from(chunks);
			},
			getBinaryDataBuffer: async (itemIndex: number, propertyName: string) => {
				stats.getBinaryDataBufferCalls++;
				const binary = items[itemIndex].binary?.[propertyName] as IBinaryData;
				if (binary.id) return options.binaryStore?.[binary.id] as Buffer;
				return Buffer.from(binary.data, 'base64');
			},
			prepareBinaryData: async (body: Buffer | Readable, fileName?: string, mimeType?: string) => {
				stats.prepareBinaryDataCalls++;
				let bytes: Buffer;
				if (Buffer.isBuffer(body)) bytes = body;
				else {
					const chunks: Buffer[] = [];
					for await (const chunk of body) chunks.push(Buffer.from(chunk as Uint8Array));
					bytes = Buffer.concat(chunks);
				}
				const binary: IBinaryData = {
					data: bytes.toString('base64'),
					mimeType: mimeType ?? 'application/octet-stream',
					fileName,
					fileExtension: fileName?.split('.').pop(),
					fileSize: String(bytes.length),
				};
				return binary;
			},
		},
	} as unknown as IExecuteFunctions;
	const [output] = await nodeType.execute.call(context);
	return { output, stats };
}

/** An inline (base64) binary, as test harnesses and the default binary mode keep it. */
export function inlineBinary(
	bytes: Buffer,
	fileName = 'secret-report.pdf',
	mimeType = 'application/pdf',
): IBinaryData {
	return { data: bytes.toString('base64'), mimeType, fileName };
}
