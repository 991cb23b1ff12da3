import type { Readable } from 'node:stream';
import { NodeOperationError, type IBinaryData, type IDataObject, type IExecuteFunctions, type INodeExecutionData, type INodeProperties } from 'n8n-workflow';

import { readPublicKeys, type PublicKey } from '../../../lib/pgp';
import { BINARY_READ_CHUNK_BYTES, safeFileName } from '../../shared/binary';

/** MIME type of OpenPGP messages (RFC 3156 §4). */
export const PGP_MIME_TYPE = 'application/pgp-encrypted';

/** MIME type of detached OpenPGP signatures (RFC 3156 §5). */
export const PGP_SIGNATURE_MIME_TYPE = 'application/pgp-signature';

/**
 * Public keys pasted in parameters (expressions may differ per item), read once per distinct text in
 * one execution. The credentials' keys are read through nodes/shared/credentials.ts.
 */
export class PastedKeys {
	private readonly byText = new Map<string, Promise<PublicKey[]>>();

	/** The keys of an armored text (empty text gives no keys). */
	async read(text: string): Promise<PublicKey[]> {
		if (!text.trim()) return [];
		let promise = this.byText.get(text);
		if (!promise) {
			promise = readPublicKeys({ armoredKeys: text, profile: 'rfc9580' });
			this.byText.set(text, promise);
		}
		return await promise;
	}
}

/** Concatenate key lists, keeping the first key of each fingerprint. */
export function uniqueKeys(...lists: PublicKey[][]): PublicKey[] {
	const seen = new Set<string>();
	const result: PublicKey[] = [];
	for (const key of lists.flat()) {
		const fingerprint = key.getFingerprint();
		if (seen.has(fingerprint)) continue;
		seen.add(fingerprint);
		result.push(key);
	}
	return result;
}

/**
 * Value at a dot path (`a.b.c`, `a[0].b`) inside an item's JSON.
 *
 * @returns the value, or undefined when any segment is missing
 */
export function getByPath(json: IDataObject, path: string): unknown {
	const segments = path
		.replace(/\[(\d+)\]/g, '.$1')
		.split('.')
		.filter((segment) => segment.length > 0);
	let current: unknown = json;
	for (const segment of segments) {
		if (current === null || typeof current !== 'object') return undefined;
		current = (current as Record<string, unknown>)[segment];
	}
	return current;
}

/**
 * The bytes of a binary property: a stream when the binary lives in a store (it has an `id`:
 * filesystem, database or S3 mode), else the inline base64 buffer.
 */
export async function readBinaryInput(
	this: IExecuteFunctions,
	itemIndex: number,
	propertyName: string,
	options: { stream: boolean },
): Promise<{ data: Uint8Array | Readable; binary: IBinaryData }> {
	const binary = this.helpers.assertBinaryData(itemIndex, propertyName);
	if (options.stream && binary.id) {
		return { data: await this.helpers.getBinaryStream(binary.id, BINARY_READ_CHUNK_BYTES), binary };
	}
	return { data: await this.helpers.getBinaryDataBuffer(itemIndex, propertyName), binary };
}

/** Read a Node stream fully (for small outputs such as armored text). */
export async function streamToBuffer(stream: Readable): Promise<Buffer> {
	const chunks: Buffer[] = [];
	for await (const chunk of stream) {
		chunks.push(typeof chunk === 'string' ? Buffer.from(chunk) : Buffer.from(chunk as Uint8Array));
	}
	return Buffer.concat(chunks);
}

/** Make sure an output file name ends with `suffix` (e.g. `.pgp`). */
export function withSuffix(fileName: string, suffix: string): string {
	const name = safeFileName(fileName, `data${suffix}`);
	return name.toLowerCase().endsWith(suffix) ? name : safeFileName(`${name}${suffix}`, `data${suffix}`);
}

/** What every operation's `execute` receives. */
export interface OperationContext {
	pastedKeys: PastedKeys;
}

/** The shape every `<verb>.operation.ts` exports. */
export type OperationExecute = (
	this: IExecuteFunctions,
	itemIndex: number,
	context: OperationContext,
) => Promise<INodeExecutionData[]>;

/**
 * The "what to process" parameters shared by Encrypt, Sign and Verify: `source` (`json` | `binary`),
 * `jsonMode` (`wholeItem` | `field`), `jsonField` (dot path), `inputBinaryPropertyName` (default `data`).
 */
export function plaintextInputDescription(operation: string, verb: string): INodeProperties[] {
	return [
		{
			displayName: 'Source',
			name: 'source',
			type: 'options',
			noDataExpression: true,
			displayOptions: { show: { operation: [operation] } },
			options: [
				{
					name: 'JSON',
					value: 'json',
					description: `${verb} the item's JSON (the whole item or one field)`,
				},
				{
					name: 'Binary File',
					value: 'binary',
					description: `${verb} a binary property of the item`,
				},
			],
			default: 'json',
		},
		{
			displayName: 'JSON Mode',
			name: 'jsonMode',
			type: 'options',
			noDataExpression: true,
			displayOptions: { show: { operation: [operation], source: ['json'] } },
			options: [
				{
					name: 'Whole Item',
					value: 'wholeItem',
					description: 'Use JSON.stringify of the whole item JSON',
				},
				{
					name: 'Field',
					value: 'field',
					description: 'Use one field: strings as UTF-8 text, other values as JSON',
				},
			],
			default: 'wholeItem',
		},
		{
			displayName: 'JSON Field',
			name: 'jsonField',
			type: 'string',
			displayOptions: { show: { operation: [operation], source: ['json'], jsonMode: ['field'] } },
			default: '',
			required: true,
			placeholder: 'record.body',
			description: 'Dot path of the field, e.g. record.body or messages[0]',
		},
		{
			displayName: 'Input Binary Field',
			name: 'inputBinaryPropertyName',
			type: 'string',
			displayOptions: { show: { operation: [operation], source: ['binary'] } },
			default: 'data',
			required: true,
			description: 'Name of the binary property holding the file',
		},
	];
}

/**
 * The bytes selected by {@link plaintextInputDescription} for item `itemIndex`, and the neutral
 * name to store inside a message (`record.json`, `record.txt` or `data.bin`).
 *
 * @param options.stream give a stream for id-backed binaries (else a buffer)
 * @param options.omitField for whole-item JSON: leave this top-level field out (e.g. a signature)
 */
export async function readPlaintext(
	this: IExecuteFunctions,
	itemIndex: number,
	options: { stream: boolean; omitField?: string },
): Promise<{ data: Uint8Array | Readable; innerName: string; source: 'json' | 'binary' }> {
	const source = this.getNodeParameter('source', itemIndex) as 'json' | 'binary';
	const item = this.getInputData()[itemIndex];
	if (source === 'binary') {
		const propertyName = this.getNodeParameter('inputBinaryPropertyName', itemIndex) as string;
		const { data } = await readBinaryInput.call(this, itemIndex, propertyName, options);
		return { data, innerName: 'data.bin', source };
	}
	const jsonMode = this.getNodeParameter('jsonMode', itemIndex) as 'wholeItem' | 'field';
	if (jsonMode === 'wholeItem') {
		let json = item.json;
		if (options.omitField && options.omitField in json) {
			json = { ...json };
			delete json[options.omitField];
		}
		return { data: Buffer.from(JSON.stringify(json)), innerName: 'record.json', source };
	}
	const path = (this.getNodeParameter('jsonField', itemIndex) as string).trim();
	const value = getByPath(item.json, path);
	if (value === undefined) {
		throw new NodeOperationError(this.getNode(), `Field "${path}" not found in the item`, {
			itemIndex,
		});
	}
	if (typeof value === 'string') {
		return { data: Buffer.from(value, 'utf8'), innerName: 'record.txt', source };
	}
	return { data: Buffer.from(JSON.stringify(value)), innerName: 'record.json', source };
}

/** JSON-friendly copy of a signature report (dates as ISO strings). */
export function signatureJson(report: {
	keyId: string;
	fingerprint?: string;
	valid: boolean;
	created?: Date;
	reason?: string;
}): IDataObject {
	return {
		keyId: report.keyId,
		fingerprint: report.fingerprint ?? null,
		valid: report.valid,
		created: report.created ? report.created.toISOString() : null,
		...(report.reason ? { reason: report.reason } : {}),
	};
}
