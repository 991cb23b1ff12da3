import type { Readable } from 'node:stream';
import { NodeOperationError, updateDisplayOptions, type IDataObject, type IDisplayOptions, type IExecuteFunctions, type INodeExecutionData, type INodeProperties } from 'n8n-workflow';

import { decryptToSpool } from '../../../lib/pgp';
import { safeFileName } from '../../shared/binary';
import { credentialPrivateKey } from '../../shared/credentials';
import { getByPath, readBinaryInput, signatureJson, type OperationContext } from './common';
import { compressionRatioLimit, decryptedSizeLimit, maxCompressionRatioDescription, maxDecryptedSizeDescription } from '../../shared/decryptLimits';
import { optionsCollection } from '../../shared/parameters';

const showForDecrypt: IDisplayOptions = { show: { operation: ['decrypt'] } };

/** Parameters of the Decrypt operation. */
const properties: INodeProperties[] = [
	{
		displayName:
			'Messages GnuPG 2.4 writes in its OCB mode (LibrePGP "AEAD Encrypted Data", packet type 20) decrypt about 100× slower here (0.5–2 MB/s, against 100+ MB/s for the usual format): to avoid them, remove the AEAD feature from YOUR key in GnuPG 2.4 (Arch Wiki, GnuPG, "Disable unsupported AEAD mechanism": gpg --edit-key KEY, showpref, setpref without AEAD, save) and give senders the re-exported public key. See docs/OPENPGP.md.',
		name: 'ocbNotice',
		type: 'notice',
		default: '',
	},
	{
		displayName: 'Ciphertext Source',
		name: 'ciphertextSource',
		type: 'options',
		noDataExpression: true,
		options: [
			{
				name: 'Binary File',
				value: 'binary',
				description: 'An OpenPGP message (binary .pgp/.gpg or armored .asc) in a binary property',
			},
			{
				name: 'JSON Field',
				value: 'field',
				description: 'Armored text ("-----BEGIN PGP MESSAGE-----") in a JSON field',
			},
		],
		default: 'binary',
	},
	{
		displayName: 'Input Binary Field',
		name: 'inputBinaryPropertyName',
		type: 'string',
		displayOptions: { show: { ciphertextSource: ['binary'] } },
		default: 'data',
		required: true,
		description: 'Name of the binary property holding the message',
	},
	{
		displayName: 'Ciphertext Field',
		name: 'ciphertextField',
		type: 'string',
		displayOptions: { show: { ciphertextSource: ['field'] } },
		default: 'encrypted',
		required: true,
		description: 'Dot path of the JSON field holding the armored message',
	},
	{
		displayName: 'Output',
		name: 'decryptedOutput',
		type: 'options',
		noDataExpression: true,
		options: [
			{
				name: 'Auto',
				value: 'auto',
				description: 'JSON when the plaintext is JSON, else a binary file',
			},
			{
				name: 'JSON',
				value: 'json',
				description: 'Parse the plaintext as JSON (fails when it is not JSON)',
			},
			{
				name: 'Binary File',
				value: 'binary',
				description: 'Put the plaintext in a binary property',
			},
		],
		default: 'auto',
	},
	{
		displayName: 'Output Binary Field',
		name: 'outputBinaryPropertyName',
		type: 'string',
		displayOptions: { show: { decryptedOutput: ['auto', 'binary'] } },
		default: 'data',
		required: true,
		description: 'Name of the binary property that receives binary plaintext',
	},
	optionsCollection([
			{
				displayName: 'Expect Signed',
				name: 'expectSigned',
				type: 'boolean',
				default: false,
				description:
					'Whether to refuse messages without a valid signature of one of the Signer Public Keys',
			},
			{
				displayName: 'File Name',
				name: 'fileName',
				type: 'string',
				default: '',
				description:
					'Name of the binary output. Default: the name stored in the message, without directories.',
			},
			maxCompressionRatioDescription,
			// named for saved workflows, which keep the limit they set under this name
			maxDecryptedSizeDescription('maxDecompressedMegabytes'),
			{
				displayName: 'Metadata Field',
				name: 'metadataField',
				type: 'string',
				default: 'pgp',
				description:
					'JSON field receiving signature results and the stored file name; empty to add nothing',
			},
			{
				displayName: 'Signer Public Keys',
				name: 'signerPublicKeys',
				type: 'string',
				typeOptions: { rows: 4 },
				default: '',
				placeholder: '-----BEGIN PGP PUBLIC KEY BLOCK-----…',
				description:
					'Armored public keys whose signatures are checked (expressions allowed); needed for Expect Signed',
			},
		]),
];

export const description = updateDisplayOptions(showForDecrypt, properties);

interface DecryptOperationOptions {
	expectSigned?: boolean;
	fileName?: string;
	maxCompressionRatio?: number;
	maxDecompressedMegabytes?: number;
	metadataField?: string;
	signerPublicKeys?: string;
}

/** Whether the first bytes could start JSON text (after optional whitespace). */
function looksLikeJson(prefix: Uint8Array): boolean {
	const trimmed = Buffer.from(prefix).toString('utf8').trimStart();
	// Only whitespace so far: let the full parse decide.
	if (!trimmed) return prefix.length > 0;
	return '{["-0123456789tfn'.includes(trimmed[0]);
}

/** Parse bytes as JSON, or undefined when they are not JSON text. */
function parseJson(bytes: Uint8Array): { value: unknown } | undefined {
	const text = Buffer.from(bytes).toString('utf8');
	const trimmed = text.trim();
	if (!trimmed || !'{["-0123456789tfn'.includes(trimmed[0])) return undefined;
	try {
		return { value: JSON.parse(text) };
	} catch {
		return undefined;
	}
}

/** Plaintext up to this size is checked for JSON in Auto/JSON output; larger is always binary. */
export const JSON_SNIFF_LIMIT = 16 * 1024 * 1024;

/** Whether a file name has an extension n8n can derive a MIME type from. */
function hasExtension(fileName: string): boolean {
	return /\.[A-Za-z0-9]{1,8}$/.test(fileName);
}

/**
 * Decrypt one item with the private key of the `openPgpPrivateKeyApi` credential (unlocked once
 * per execution). Binary input with a binary-data id (filesystem, database or S3 mode) is streamed
 * (`getBinaryStream`) through `decryptToSpool`: memory stays bounded, and the plaintext is handed to
 * `prepareBinaryData` only after the MDC / AEAD tags (and, with Expect Signed, the signature) were
 * checked at the end of the message; on failure nothing is output and the spool is deleted. The
 * plaintext stops at Max Decrypted Size and Max Compression Ratio (compression bombs), the spool too.
 *
 * JSON plaintext (up to {@link JSON_SNIFF_LIMIT}) becomes the item's JSON (objects as they are,
 * other values under `data`); other plaintext goes to a binary property next to the input JSON.
 * Signature results (signer fingerprint, validity, reason) go to the metadata field (default `pgp`).
 */
export async function execute(this: IExecuteFunctions, itemIndex: number, context: OperationContext): Promise<INodeExecutionData[]> {
	const item = this.getInputData()[itemIndex];
	const options = this.getNodeParameter('options', itemIndex, {}) as DecryptOperationOptions;
	const ciphertextSource = this.getNodeParameter('ciphertextSource', itemIndex) as
		| 'binary'
		| 'field';
	const outputMode = this.getNodeParameter('decryptedOutput', itemIndex) as
		| 'auto'
		| 'json'
		| 'binary';

	let data: Uint8Array | string | Readable;
	let reread: (() => Promise<Uint8Array | Readable>) | undefined;
	let inputFileName: string | undefined;
	if (ciphertextSource === 'binary') {
		const propertyName = this.getNodeParameter('inputBinaryPropertyName', itemIndex) as string;
		const { data: input, binary } = await readBinaryInput.call(this, itemIndex, propertyName, {
			stream: true,
		});
		inputFileName = binary.fileName;
		data = input;
		reread = async () => (await readBinaryInput.call(this, itemIndex, propertyName, { stream: true })).data;
	} else {
		const path = (this.getNodeParameter('ciphertextField', itemIndex) as string).trim();
		const value = getByPath(item.json, path);
		if (typeof value !== 'string' || !value.trim()) {
			throw new NodeOperationError(
				this.getNode(),
				`Field "${path}" does not hold an armored OpenPGP message`,
				{ itemIndex },
			);
		}
		data = value;
	}

	const privateKey = await credentialPrivateKey.call(this);
	const verificationKeys = await context.pastedKeys.read(options.signerPublicKeys ?? '');
	const result = await decryptToSpool({
		data,
		reread,
		decryptionKeys: [privateKey],
		verificationKeys,
		expectSigned: options.expectSigned === true,
		maxDecryptedBytes: decryptedSizeLimit.call(this, itemIndex, options.maxDecompressedMegabytes),
		maxCompressionRatio: compressionRatioLimit.call(this, itemIndex, options.maxCompressionRatio),
	});
	try {
		const metadataField = (options.metadataField ?? 'pgp').trim();
		const metadata: IDataObject = {
			decryptedWith: privateKey.getFingerprint().toUpperCase(),
			fileName: result.filename,
			signed: result.signed,
			verified: result.signatures.some((signature) => signature.valid),
			signatures: result.signatures.map(signatureJson),
		};
		const withMetadata = (json: IDataObject): IDataObject =>
			metadataField ? { ...json, [metadataField]: metadata } : json;

		if (outputMode !== 'binary') {
			const parsed =
				result.size <= JSON_SNIFF_LIMIT && looksLikeJson(await result.readPrefix(64))
					? parseJson(await result.readAll())
					: undefined;
			if (parsed) {
				const value = parsed.value;
				const json =
					value !== null && typeof value === 'object' && !Array.isArray(value)
						? (value as IDataObject)
						: { data: value as IDataObject };
				return [{ json: withMetadata(json), pairedItem: { item: itemIndex } }];
			}
			if (outputMode === 'json') {
				throw new NodeOperationError(
					this.getNode(),
					result.size > JSON_SNIFF_LIMIT
						? `The decrypted data is larger than ${JSON_SNIFF_LIMIT / 1024 / 1024} MiB; set Output to Binary File`
						: 'The decrypted data is not JSON; set Output to Binary File or Auto',
					{ itemIndex },
				);
			}
		}

		const outputProperty =
			(this.getNodeParameter('outputBinaryPropertyName', itemIndex) as string).trim() || 'data';
		const strippedInputName = inputFileName?.replace(/\.(pgp|gpg|asc)$/i, '');
		const fileName = safeFileName(
			options.fileName?.trim() || result.filename || strippedInputName,
			'decrypted.bin',
		);
		// With an extension, n8n derives the MIME type from the file name; a stream cannot be sniffed.
		const binary = await this.helpers.prepareBinaryData(
			result.createReadStream(),
			fileName,
			hasExtension(fileName) ? undefined : 'application/octet-stream',
		);
		return [
			{
				json: withMetadata(item.json),
				binary: { [outputProperty]: binary },
				pairedItem: { item: itemIndex },
			},
		];
	} finally {
		await result.dispose();
	}
}
