import { updateDisplayOptions, type IDataObject, type IDisplayOptions, type IExecuteFunctions, type INodeExecutionData, type INodeProperties } from 'n8n-workflow';

import { getObject } from '../../../../lib/archive';
import { decryptToSpool } from '../../../../lib/pgp';
import { safeFileName } from '../../../shared/binary';
import { credentialPrivateKey, type ArchiveStore } from '../../../shared/credentials';
import { compressionRatioLimit, decryptedSizeLimit, maxCompressionRatioDescription, maxDecryptedSizeDescription } from '../../../shared/decryptLimits';
import { resolveBucket } from '../../../shared/storeLocation';

const showForGet: IDisplayOptions = { show: { resource: ['record'], operation: ['get'] } };

/** Parameters of Record → Get. */
const properties: INodeProperties[] = [
	{
		displayName: 'Object Key',
		name: 'key',
		type: 'string',
		default: '',
		required: true,
		description: 'Key of the archived object, e.g. the "key" of a Write or List result',
	},
	{
		displayName: 'Version ID',
		name: 'versionId',
		type: 'string',
		default: '',
		description: 'Version to read; empty reads the current version',
	},
	{
		displayName: 'Put Output File in Field',
		name: 'outputBinaryPropertyName',
		type: 'string',
		default: 'data',
		required: true,
		description: 'Name of the binary property to put the ciphertext in',
	},
	{
		displayName: 'Verify SHA-256',
		name: 'verifySha256',
		type: 'boolean',
		default: true,
		description:
			'Whether to fail when the bytes do not match the SHA-256 recorded at write time (x-amz-meta-sha256)',
	},
	{
		displayName: 'Decrypt',
		name: 'decrypt',
		type: 'boolean',
		default: false,
		description:
			'Whether to decrypt the object with the OpenPGP Private Key credential: JSON plaintext (a record) is output as JSON in "data", anything else as binary',
	},
	{ ...maxDecryptedSizeDescription('maxDecryptedMegabytes'), displayOptions: { show: { decrypt: [true] } } },
	{ ...maxCompressionRatioDescription, displayOptions: { show: { decrypt: [true] } } },
];

export const description = updateDisplayOptions(showForGet, properties);

/** Plaintext up to this size that starts like a JSON object or array is parsed (a record); larger is binary. */
const JSON_RECORD_LIMIT = 16 * 1024 * 1024;

function parseJson(bytes: Uint8Array): unknown {
	const text = Buffer.from(bytes).toString('utf8').trim();
	if (!text.startsWith('{') && !text.startsWith('[')) return undefined;
	try {
		return JSON.parse(text) as unknown;
	} catch {
		return undefined;
	}
}

/**
 * Record → Get: downloads one object version (streamed into n8n's binary data store) and outputs it as a
 * binary with `{ archive: { bucket, key, versionId, etag, size, sha256, contentType, lastModified, objectLock } }`.
 *
 * With Decrypt on, the object is streamed through `decryptToSpool` of lib/pgp (bounded memory; the
 * plaintext waits in an encrypted spool file until authenticated, and stops at Max Decrypted Size and
 * Max Compression Ratio) with the private key credential (unlocked once per execution), and output
 * as `json.data` when the plaintext is a JSON object or array, else as binary (file name from the
 * OpenPGP literal packet, else the key's file name without `.pgp`). `archive.decrypted` is then true.
 */
export async function execute(this: IExecuteFunctions, i: number, context: ArchiveStore): Promise<INodeExecutionData[]> {
	const bucket = resolveBucket.call(this, i, context);
	const key = (this.getNodeParameter('key', i) as string).trim();
	const versionId = (this.getNodeParameter('versionId', i, '') as string).trim() || undefined;
	const property =
		(this.getNodeParameter('outputBinaryPropertyName', i, 'data') as string).trim() || 'data';
	const verify = this.getNodeParameter('verifySha256', i, true) as boolean;
	const decryptOn = this.getNodeParameter('decrypt', i, false) as boolean;
	const privateKey = decryptOn
		? await credentialPrivateKey.call(this, { itemIndex: i, purpose: 'Decrypt' })
		: null;
	const result = await getObject({ client: context.client, bucket, key, versionId, verify });
	const fileName = safeFileName(key.split('/').pop(), 'object.pgp');
	const archive: IDataObject = {
		bucket: result.bucket,
		key: result.key,
		versionId: result.versionId,
		etag: result.etag,
		size: result.size,
		sha256: result.sha256,
		contentType: result.contentType,
		lastModified: result.lastModified?.toISOString() ?? null,
		objectLock: {
			mode: result.objectLock.mode,
			retainUntil: result.objectLock.retainUntil?.toISOString() ?? null,
			legalHold: result.objectLock.legalHold,
		},
	};
	if (privateKey) {
		const plaintext = await decryptToSpool({
			data: result.body,
			// the one second pass (sq's ZIP packets) reads the same version again
			reread: async () => (await getObject({ client: context.client, bucket, key, versionId: result.versionId ?? versionId, verify })).body,
			decryptionKeys: [privateKey],
			maxDecryptedBytes: decryptedSizeLimit.call(this, i, this.getNodeParameter('maxDecryptedMegabytes', i, undefined)),
			maxCompressionRatio: compressionRatioLimit.call(this, i, this.getNodeParameter('maxCompressionRatio', i, undefined)),
		});
		try {
			archive.decrypted = true;
			const record = plaintext.size <= JSON_RECORD_LIMIT && /^\s*([[{]|$)/.test((await plaintext.readPrefix(64)).toString('utf8'));
			const parsed = record ? parseJson(await plaintext.readAll()) : undefined;
			if (parsed !== undefined) {
				return [{ json: { archive, data: parsed as IDataObject }, pairedItem: { item: i } }];
			}
			const plainName = safeFileName(plaintext.filename || fileName.replace(/\.pgp$/, ''), 'data.bin');
			const binary = await this.helpers.prepareBinaryData(
				plaintext.createReadStream(),
				plainName,
				'application/octet-stream',
			);
			return [{ json: { archive }, binary: { [property]: binary }, pairedItem: { item: i } }];
		} finally {
			await plaintext.dispose();
		}
	}
	const binary = await this.helpers.prepareBinaryData(
		result.body,
		fileName,
		result.contentType ?? 'application/pgp-encrypted',
	);
	return [{ json: { archive }, binary: { [property]: binary }, pairedItem: { item: i } }];
}
