/**
 * One fake of n8n's IExecuteFunctions for running the pack's action nodes in-process (`execute` of
 * OpenPGP, S3 Archive, Retention Sweeper, WhatsApp Record) without n8n-core:
 * - parameters per execution or per item, dotted names (`classes.values`) resolved; with `nodeType`
 *   a missing parameter takes its description's default, chosen by displayOptions as n8n does;
 * - credentials by type name, each read recorded;
 * - binaries inline (base64 `data`, as test harnesses keep them) or by `id` (filesystem, database and
 *   S3 binary modes), served from `binaryStore`; stream opens and their chunk sizes recorded;
 * - continueOnFail, getExecutionCancelSignal, a logger that keeps what it was told;
 * - fixed workflow and execution ids (`getWorkflow().id`, `getExecutionId()`), as audit events carry them.
 * Full workflows run in n8n-core through ./n8n-runner.ts instead.
 */
import { Readable } from 'node:stream';
import {
	NodeOperationError,
	type IBinaryData,
	type ICredentialDataDecryptedObject,
	type IExecuteFunctions,
	type INode,
	type INodeExecutionData,
	type INodeProperties,
	type INodeType,
} from 'n8n-workflow';

type Parameters = Record<string, unknown>;

export interface ExecuteContextOptions {
	/** Input items; default one empty item. */
	items?: INodeExecutionData[];
	/** Node parameters, or one parameter set per item. */
	parameters: Parameters | Parameters[];
	/** The node under test: names the node, and gives missing parameters their description's default. */
	nodeType?: INodeType;
	/** Credentials by type name; a type not given is "not set" on the node. */
	credentials?: Record<string, ICredentialDataDecryptedObject>;
	continueOnFail?: boolean;
	/** Binaries with an `id`: their bytes (served in 16 KiB chunks), or a function opening a fresh stream. */
	binaryStore?: Record<string, Buffer | (() => Readable)>;
}

/** What a run observed besides its output. */
export interface ExecuteStats {
	/** Credential types in the order they were read. */
	credentialReads: string[];
	/** Reads per credential type. */
	getCredentialsCalls: Record<string, number>;
	getBinaryStreamCalls: number;
	/** The chunk size each getBinaryStream call asked for (undefined: n8n's default, 64 KiB). */
	getBinaryStreamChunkSizes: Array<number | undefined>;
	getBinaryDataBufferCalls: number;
	/** Calls of prepareBinaryData (output binaries created, even if the item later fails). */
	prepareBinaryDataCalls: number;
	logs: Array<{ level: 'debug' | 'info' | 'warn' | 'error'; message: string }>;
}

export type ExecuteContext = IExecuteFunctions & { stats: ExecuteStats };

const PACKAGE_NAME = 'n8n-nodes-chat-archive';
const STORE_CHUNK = 16 * 1024;

/** The value at a dotted path of a parameter set, or undefined. */
function lookup(parameters: Parameters, name: string): unknown {
	let value: unknown = parameters;
	for (const part of name.split('.')) {
		if (value === null || typeof value !== 'object' || !(part in (value as object))) return undefined;
		value = (value as Parameters)[part];
	}
	return value;
}

/** The default of the top-level property `name` that the current parameters show (n8n displayOptions). */
function defaultOf(properties: INodeProperties[], name: string, parameters: Parameters): unknown {
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

async function readAll(body: Buffer | Readable): Promise<Buffer> {
	if (Buffer.isBuffer(body)) return body;
	const chunks: Buffer[] = [];
	for await (const chunk of body) chunks.push(typeof chunk === 'string' ? Buffer.from(chunk) : Buffer.from(chunk as Uint8Array));
	return Buffer.concat(chunks);
}

/** A fake IExecuteFunctions over `options`; `context.stats` tells what the node did with it. */
export function executeContext(options: ExecuteContextOptions): ExecuteContext {
	const items: INodeExecutionData[] = options.items ?? [{ json: {} }];
	const description = options.nodeType?.description;
	const node: INode = {
		id: 'node-under-test',
		name: description?.defaults.name ?? 'Node',
		type: description ? `${PACKAGE_NAME}.${description.name}` : `${PACKAGE_NAME}.unknown`,
		typeVersion: 1,
		position: [0, 0],
		parameters: {},
	};
	const stats: ExecuteStats = {
		credentialReads: [],
		getCredentialsCalls: {},
		getBinaryStreamCalls: 0,
		getBinaryStreamChunkSizes: [],
		getBinaryDataBufferCalls: 0,
		prepareBinaryDataCalls: 0,
		logs: [],
	};
	const parametersOf = (itemIndex: number): Parameters =>
		Array.isArray(options.parameters) ? options.parameters[itemIndex] : options.parameters;
	const binaryOf = (itemIndex: number, propertyName: string): IBinaryData => {
		const binary = items[itemIndex]?.binary?.[propertyName];
		if (!binary) {
			throw new NodeOperationError(
				node,
				`This operation expects the node's input data to contain a binary file '${propertyName}', but none was found [item ${itemIndex}]`,
				{ itemIndex },
			);
		}
		return binary;
	};
	const openStored = (id: string): Readable => {
		const stored = options.binaryStore?.[id];
		if (!stored) throw new Error(`no binary ${id}`);
		if (typeof stored === 'function') return stored();
		const chunks = Array.from({ length: Math.ceil(stored.length / STORE_CHUNK) }, (_v, i) =>
			stored.subarray(i * STORE_CHUNK, (i + 1) * STORE_CHUNK),
		);
		return Readable.from(chunks);
	};
	const log = (level: ExecuteStats['logs'][number]['level']) => (message: string) => {
		stats.logs.push({ level, message });
	};

	const context = {
		stats,
		getInputData: () => items,
		getNode: () => node,
		getWorkflow: () => ({ id: 'workflow-under-test', name: 'Test', active: false }),
		getExecutionId: () => 'execution-under-test',
		continueOnFail: () => options.continueOnFail === true,
		getExecutionCancelSignal: () => undefined,
		logger: { debug: log('debug'), info: log('info'), warn: log('warn'), error: log('error') },
		getNodeParameter: (name: string, itemIndex: number, fallback?: unknown) => {
			const parameters = parametersOf(itemIndex);
			const value = lookup(parameters, name);
			if (value !== undefined) return value;
			const byDefault = description ? defaultOf(description.properties, name, parameters) : undefined;
			return byDefault === undefined ? fallback : byDefault;
		},
		getCredentials: async (type: string) => {
			stats.credentialReads.push(type);
			stats.getCredentialsCalls[type] = (stats.getCredentialsCalls[type] ?? 0) + 1;
			const credentials = options.credentials?.[type];
			if (!credentials) throw new Error(`Node does not have any credentials set for "${type}"`);
			return credentials;
		},
		helpers: {
			assertBinaryData: (itemIndex: number, propertyName: string) => binaryOf(itemIndex, propertyName),
			getBinaryStream: async (id: string, chunkSize?: number) => {
				stats.getBinaryStreamCalls++;
				stats.getBinaryStreamChunkSizes.push(chunkSize);
				return openStored(id);
			},
			getBinaryDataBuffer: async (itemIndex: number, propertyName: string) => {
				stats.getBinaryDataBufferCalls++;
				const binary = binaryOf(itemIndex, propertyName);
				return binary.id ? await readAll(openStored(binary.id)) : Buffer.from(binary.data, 'base64');
			},
			prepareBinaryData: async (body: Buffer | Readable, fileName?: string, mimeType?: string): Promise<IBinaryData> => {
				stats.prepareBinaryDataCalls++;
				const bytes = await readAll(body);
				return {
					data: bytes.toString('base64'),
					mimeType: mimeType ?? 'application/octet-stream',
					fileName,
					fileExtension: fileName?.split('.').pop(),
					fileSize: String(bytes.length),
				};
			},
		},
	};
	return context as unknown as ExecuteContext;
}

/** Runs `nodeType.execute` on a fake context: its first output, what it observed, and the context. */
export async function runNode(
	nodeType: INodeType,
	options: Omit<ExecuteContextOptions, 'nodeType'>,
): Promise<{ output: INodeExecutionData[]; stats: ExecuteStats; context: ExecuteContext }> {
	const context = executeContext({ ...options, nodeType });
	const [output] = (await nodeType.execute!.call(context)) as INodeExecutionData[][];
	return { output, stats: context.stats, context };
}

/** Bytes of a binary the fake's `prepareBinaryData` produced (kept inline). */
export function binaryBytes(binary: IBinaryData): Buffer {
	return Buffer.from(binary.data, 'base64');
}

/** An inline (base64) binary, as test harnesses and the default binary mode keep it. */
export function inlineBinary(bytes: Buffer, fileName = 'secret-report.pdf', mimeType = 'application/pdf'): IBinaryData {
	return { data: bytes.toString('base64'), mimeType, fileName };
}
