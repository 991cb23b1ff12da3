import type { Readable } from 'node:stream';
import {
	NodeOperationError,
	type IBinaryData,
	type IDataObject,
	type IExecuteFunctions,
	type INode,
	type INodeExecutionData,
} from 'n8n-workflow';

import {
	PgpError,
	parseFingerprints,
	readPrivateKey,
	readPublicKeys,
	type PrivateKey,
	type PublicKey,
} from '../../../lib/pgp';

/** MIME type of OpenPGP messages (RFC 3156 §4). */
export const PGP_MIME_TYPE = 'application/pgp-encrypted';

/** MIME type of detached OpenPGP signatures (RFC 3156 §5). */
export const PGP_SIGNATURE_MIME_TYPE = 'application/pgp-signature';

/**
 * Keys for one execution, each read (and the private key unlocked) at most once, on first use.
 * Keys pasted in parameters (expressions may differ per item) are cached per distinct text.
 */
export class KeyCache {
	private publicKeysPromise?: Promise<PublicKey[]>;

	private privateKeyPromise?: Promise<PrivateKey>;

	private readonly textKeys = new Map<string, Promise<PublicKey[]>>();

	constructor(private readonly functions: IExecuteFunctions) {}

	/**
	 * Public keys of the `openPgpPublicKeysApi` credential, pinned to its expected fingerprints.
	 * Read in the lenient `rfc9580` profile; `encrypt` checks the profile chosen per item.
	 */
	async credentialPublicKeys(): Promise<PublicKey[]> {
		this.publicKeysPromise ??= (async () => {
			const credentials = await this.functions.getCredentials('openPgpPublicKeysApi');
			return await readPublicKeys({
				armoredKeys: String(credentials.publicKeys ?? ''),
				expectedFingerprints: parseFingerprints(String(credentials.expectedFingerprints ?? '')),
				profile: 'rfc9580',
			});
		})();
		return await this.publicKeysPromise;
	}

	/** The unlocked private key of the `openPgpPrivateKeyApi` credential. */
	async credentialPrivateKey(): Promise<PrivateKey> {
		this.privateKeyPromise ??= (async () => {
			const credentials = await this.functions.getCredentials('openPgpPrivateKeyApi');
			return await readPrivateKey({
				armoredKey: String(credentials.privateKey ?? ''),
				passphrase: credentials.passphrase ? String(credentials.passphrase) : undefined,
				profile: 'rfc9580',
			});
		})();
		return await this.privateKeyPromise;
	}

	/** Public keys pasted in a parameter (empty text gives no keys). */
	async keysFromText(text: string): Promise<PublicKey[]> {
		if (!text.trim()) return [];
		let promise = this.textKeys.get(text);
		if (!promise) {
			promise = readPublicKeys({ armoredKeys: text, profile: 'rfc9580' });
			this.textKeys.set(text, promise);
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
		return { data: await this.helpers.getBinaryStream(binary.id), binary };
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
	const name = fileName.trim() || `data${suffix}`;
	return name.toLowerCase().endsWith(suffix) ? name : `${name}${suffix}`;
}

/** Hint shown under the error message, by engine error code. */
function descriptionFor(error: PgpError): string | undefined {
	switch (error.code) {
		case 'PRIVATE_KEY_IN_PUBLIC_FIELD':
		case 'UNEXPECTED_FINGERPRINT':
		case 'MISSING_EXPECTED_FINGERPRINT':
		case 'KEY_FORMAT':
			return 'Check the keys in the OpenPGP credential or in the node options';
		case 'INCOMPATIBLE_KEY':
			return 'Use a key GnuPG 2.2 can read, or set Options → Compatibility Profile to RFC 9580';
		case 'UNUSABLE_KEY':
			return 'Renew or replace the key (e.g. "gpg --quick-set-expire"), then paste the new public key';
		case 'PASSPHRASE':
			return 'Check the passphrase in the OpenPGP Private Key credential';
		default:
			return undefined;
	}
}

/**
 * Turn any error into the NodeOperationError to throw for item `itemIndex`. Engine messages are
 * safe to show (fingerprints only, no key material or plaintext); n8n errors pass through.
 */
export function toNodeError(node: INode, error: unknown, itemIndex: number): NodeOperationError {
	if (error instanceof NodeOperationError) return error;
	const message = error instanceof Error ? error.message : String(error);
	const description = error instanceof PgpError ? descriptionFor(error) : undefined;
	return new NodeOperationError(node, message, { itemIndex, description });
}

/** What every operation's `execute` receives. */
export interface OperationContext {
	keys: KeyCache;
}

/** The shape every `<verb>.operation.ts` exports. */
export type OperationExecute = (
	this: IExecuteFunctions,
	itemIndex: number,
	context: OperationContext,
) => Promise<INodeExecutionData[]>;
