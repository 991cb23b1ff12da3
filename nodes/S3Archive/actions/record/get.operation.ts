import { NodeOperationError, updateDisplayOptions, type IDataObject, type IDisplayOptions, type IExecuteFunctions, type INodeExecutionData, type INodeProperties } from 'n8n-workflow';

import { auditKeyDigest, getObject, parseObjectKey } from '../../../../lib/archive';
import { decryptToSpool } from '../../../../lib/pgp';
import { assertAuditSigningKey, audited } from '../../../shared/audit';
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
			'Whether to decrypt the object with the OpenPGP Private Key credential: JSON plaintext (a record) is output as JSON in "data", anything else as binary. Each decrypting read is recorded in the audit trail, signed with the same key.',
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

/** The `archive` output fields of a downloaded version. */
function archiveFields(result: Awaited<ReturnType<typeof getObject>>): IDataObject {
	return {
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
}

/** The audit trail and scope entry of a key outside the archive layout; null without an index key. */
function outsideLayout(key: string, indexKey: string): { prefix: string; digest: string } | null {
	if (!indexKey) return null;
	const first = key.split('/')[0];
	// a folder name, never one that could be a phone number (8 or more digits in a row)
	const plain = key.includes('/') && /^[A-Za-z][A-Za-z0-9._-]{0,62}$/.test(first) && !/\d{8}/.test(first);
	return { prefix: plain ? first : 'archive', digest: auditKeyDigest(key, indexKey) };
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
 * A decrypting read is an access to the archive: each read appends a `get-decrypt` audit event under
 * `<prefix>/_audit/` (the prefix read from the key), signed with the same key, before any plaintext is
 * output (nodes/shared/audit.ts). A key outside the layout is recorded as its HMAC under the index key
 * (`auditKeyDigest`), in the trail of its first folder when that is a plain name (`quarantine/_audit/`
 * for the template's Quarantine Record), else of `archive`.
 */
export async function execute(this: IExecuteFunctions, i: number, context: ArchiveStore): Promise<INodeExecutionData[]> {
	const bucket = resolveBucket.call(this, i, context);
	const key = (this.getNodeParameter('key', i) as string).trim();
	const versionId = (this.getNodeParameter('versionId', i, '') as string).trim() || undefined;
	const property =
		(this.getNodeParameter('outputBinaryPropertyName', i, 'data') as string).trim() || 'data';
	const verify = this.getNodeParameter('verifySha256', i, true) as boolean;
	const fileName = safeFileName(key.split('/').pop(), 'object.pgp');
	if (!(this.getNodeParameter('decrypt', i, false) as boolean)) {
		const result = await getObject({ client: context.client, bucket, key, versionId, verify });
		const binary = await this.helpers.prepareBinaryData(
			result.body,
			fileName,
			result.contentType ?? 'application/pgp-encrypted',
		);
		return [{ json: { archive: archiveFields(result) }, binary: { [property]: binary }, pairedItem: { item: i } }];
	}

	const parsed = parseObjectKey(key);
	// a key outside the archive layout (quarantine/…, a Write's Object Key override) may hold anything: the
	// trail keeps its HMAC under the index key, in the trail of its first folder when that is a plain name
	const outside = parsed ? null : outsideLayout(key, context.indexKey);
	if (!parsed && !outside) {
		throw new NodeOperationError(this.getNode(), 'Decrypt of a key outside the archive layout needs the Index Key of the S3 Archive Store credential', {
			itemIndex: i,
			description: 'Each decrypting read is recorded in the audit trail; a key outside <prefix>/<retention class>/<phone_number_id>/<yyyy>/<mm>/<dd>/<pseudonym>/<record id>.pgp is recorded as its HMAC under the index key. Set Index Key in the credential, or give the "key" of a List result.',
		});
	}
	const privateKey = await credentialPrivateKey.call(this, { itemIndex: i, purpose: 'Decrypt' });
	await assertAuditSigningKey.call(this, privateKey, i, 'Decrypt');
	const maxDecryptedBytes = decryptedSizeLimit.call(this, i, this.getNodeParameter('maxDecryptedMegabytes', i, undefined));
	const maxCompressionRatio = compressionRatioLimit.call(this, i, this.getNodeParameter('maxCompressionRatio', i, undefined));
	const { result, plaintext } = await audited(
		this,
		{ client: context.client, bucket, prefix: parsed?.prefix ?? outside!.prefix, signer: privateKey },
		{
			operation: 'get-decrypt',
			scope: parsed ? { keyPrefixes: [key] } : { keyDigests: [outside!.digest] },
			outcome: ({ plaintext }) => ({ counts: { objects: 1, bytes: plaintext.size } }),
			discard: async ({ plaintext }) => await plaintext.dispose(),
		},
		async () => {
			const result = await getObject({ client: context.client, bucket, key, versionId, verify });
			const plaintext = await decryptToSpool({
				data: result.body,
				// the one second pass (sq's ZIP packets) reads the same version again
				reread: async () => (await getObject({ client: context.client, bucket, key, versionId: result.versionId ?? versionId, verify })).body,
				decryptionKeys: [privateKey],
				maxDecryptedBytes,
				maxCompressionRatio,
			});
			return { result, plaintext };
		},
	);
	try {
		const archive = { ...archiveFields(result), decrypted: true };
		const record = plaintext.size <= JSON_RECORD_LIMIT && /^\s*([[{]|$)/.test((await plaintext.readPrefix(64)).toString('utf8'));
		const data = record ? parseJson(await plaintext.readAll()) : undefined;
		if (data !== undefined) {
			return [{ json: { archive, data: data as IDataObject }, pairedItem: { item: i } }];
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
