import { NodeOperationError, updateDisplayOptions, type IDataObject, type IDisplayOptions, type IExecuteFunctions, type INodeExecutionData, type INodeProperties } from 'n8n-workflow';

import { daySealScope, sealPrefix, type LockRetention } from '../../../../lib/archive';
import { assertSigningKey } from '../../../../lib/pgp';
import { audited, scopeFolder } from '../../../shared/audit';
import { credentialPrivateKey, type ArchiveStore } from '../../../shared/credentials';
import { objectLockModeOptions, storeLocation } from '../../../shared/storeLocation';

const showForSeal: IDisplayOptions = { show: { resource: ['seal'], operation: ['seal'] } };

/** Parameters of Seal → Create (operation value `seal`). */
const properties: INodeProperties[] = [
	{
		displayName: 'What to Seal',
		name: 'sealScope',
		type: 'options',
		noDataExpression: true,
		options: [
			{
				name: 'One Day',
				value: 'day',
				description: 'One day folder of one retention class and phone number ID',
			},
			{
				name: 'Folder Under the Prefix',
				value: 'folder',
				description: 'Any folder below the prefix, e.g. default/106000000000002',
			},
			{
				name: 'Whole Prefix',
				value: 'all',
				description: 'Every object under the prefix (control folders excepted)',
			},
		],
		default: 'day',
	},
	{
		displayName: 'Retention Class',
		name: 'sealRetentionClass',
		type: 'string',
		default: 'default',
		required: true,
		displayOptions: { show: { sealScope: ['day'] } },
		description: 'Retention class of the day folder (the second key segment)',
	},
	{
		displayName: 'Phone Number ID',
		name: 'sealPhoneNumberId',
		type: 'string',
		default: '',
		required: true,
		displayOptions: { show: { sealScope: ['day'] } },
		description: 'WhatsApp business phone number ID of the day folder, or another channel\'s account as filed: channel-account ID, e.g. messenger-1045566778899',
	},
	{
		displayName: 'Day',
		name: 'sealDate',
		type: 'dateTime',
		default: '',
		displayOptions: { show: { sealScope: ['day'] } },
		description: 'UTC day to seal; empty seals yesterday (UTC), for a daily schedule',
	},
	{
		displayName: 'Folder',
		name: 'sealFolder',
		type: 'string',
		default: '',
		required: true,
		placeholder: 'default/106000000000002/2026/01',
		displayOptions: { show: { sealScope: ['folder'] } },
		description: 'Folder below the prefix to seal (without the prefix)',
	},
	{
		displayName: 'Options',
		name: 'sealOptions',
		type: 'collection',
		placeholder: 'Add option',
		default: {},
		options: [
			{
				displayName: 'Hash Objects Without SHA-256 Metadata',
				name: 'hashWhenNoMetadata',
				type: 'boolean',
				default: true,
				description:
					'Whether to download and hash versions written without x-amz-meta-sha256 (by other tools); off fails on such versions',
			},
			{
				displayName: 'Lock Retention',
				name: 'lockRetention',
				type: 'string',
				default: 'P7Y',
				description: 'ISO 8601 duration the manifest and signature are locked for (from now)',
			},
			{
				displayName: 'Object Lock Mode',
				name: 'objectLockMode',
				type: 'options',
				options: objectLockModeOptions('Do not lock the manifest'),
				default: 'GOVERNANCE',
				description:
					'Lock of the manifest and its signature, applied when the bucket has Object Lock enabled',
			},
			{
				displayName: 'Seals Folder',
				name: 'sealsPrefix',
				type: 'string',
				default: '',
				placeholder: 'archive/_seals',
				description:
					'Where manifests go and the hash chain lives; empty: the prefix followed by /_seals',
			},
		],
	},
];

export const description = updateDisplayOptions(showForSeal, properties);

interface SealNodeOptions {
	hashWhenNoMetadata?: boolean;
	lockRetention?: string;
	objectLockMode?: 'GOVERNANCE' | 'COMPLIANCE' | 'none';
	sealsPrefix?: string;
}

/** Yesterday (UTC) as `yyyy-mm-dd`. */
function yesterdayUtc(): string {
	return new Date(Date.now() - 86_400_000).toISOString().slice(0, 10);
}

/**
 * Seal → Create: lists every object version of the chosen scope, writes a signed, hash-chained manifest
 * (Merkle root over the versions) under `<prefix>/_seals/` and outputs
 * `{ seal: { sealId, manifestKey, signatureKey, manifestSha256, merkleRoot, prevManifestKey, counts, … } }`.
 * The manifest entries are not put into the item (they can be many): read the manifest with Record → Get.
 * Each seal appends a `seal-create` audit event (seal id, sealed folder, counts) signed with the same key.
 */
export async function execute(this: IExecuteFunctions, i: number, context: ArchiveStore): Promise<INodeExecutionData[]> {
	const { bucket, prefix } = storeLocation.call(this, i, context);
	const mode = this.getNodeParameter('sealScope', i, 'day') as 'day' | 'folder' | 'all';
	const options = this.getNodeParameter('sealOptions', i, {}) as SealNodeOptions;
	let scope = '';
	if (mode === 'day') {
		const phoneNumberId = String(this.getNodeParameter('sealPhoneNumberId', i, '')).trim();
		if (!/^\d+$/.test(phoneNumberId)) {
			throw new NodeOperationError(
				this.getNode(),
				phoneNumberId
					? 'Phone Number ID must be a WhatsApp phone_number_id (digits only)'
					: 'Phone Number ID is required to seal one day',
				{
					itemIndex: i,
					description:
						'Set Phone Number ID to the phone_number_id your capture workflow archives (WhatsApp Manager → API Setup)',
				},
			);
		}
		scope = daySealScope({
			retentionClass: String(this.getNodeParameter('sealRetentionClass', i, 'default'))
				.trim()
				.toLowerCase(),
			phoneNumberId,
			date: String(this.getNodeParameter('sealDate', i, '') || '') || yesterdayUtc(),
		});
	} else if (mode === 'folder') {
		scope = String(this.getNodeParameter('sealFolder', i, ''));
		if (!scope.trim())
			throw new NodeOperationError(this.getNode(), 'Folder is required', { itemIndex: i });
	}
	const signingKey = await credentialPrivateKey.call(this, { itemIndex: i, purpose: 'Seal' });
	await assertSigningKey(signingKey);
	const lockMode = options.objectLockMode ?? 'GOVERNANCE';
	const objectLock: LockRetention | null =
		lockMode === 'none'
			? null
			: { mode: lockMode, retention: options.lockRetention?.trim() || 'P7Y' };
	const sealsPrefix = options.sealsPrefix?.trim() || undefined;
	const result = await audited(
		this,
		{ client: context.client, bucket, prefix, signer: signingKey },
		{
			operation: 'seal-create',
			scope: { keyPrefixes: scopeFolder(prefix, scope) },
			outcome: (sealed) => ({
				scope: { sealIds: [sealed.sealId] },
				counts: {
					versions: sealed.counts.versions,
					objects: sealed.counts.objects,
					deleteMarkers: sealed.counts.delete_markers,
					bytes: sealed.counts.bytes,
					hashedByDownload: sealed.hashedByDownload,
				},
			}),
		},
		async () =>
			await sealPrefix({
				client: context.client,
				bucket,
				prefix,
				scope,
				signer: signingKey,
				objectLock,
				sealsPrefix,
				hashWhenNoMetadata: options.hashWhenNoMetadata !== false,
			}),
	);
	const seal: IDataObject = {
		bucket: result.bucket,
		sealId: result.sealId,
		scope: result.manifest.scope,
		listedPrefix: result.manifest.listed_prefix,
		manifestKey: result.manifestKey,
		manifestVersionId: result.manifestVersionId,
		signatureKey: result.signatureKey,
		manifestSha256: result.manifestSha256,
		merkleRoot: result.merkleRoot,
		prevManifestKey: result.prevManifestKey,
		prevManifestSha256: result.prevManifestSha256,
		counts: result.counts,
		hashedByDownload: result.hashedByDownload,
		signerFingerprint: result.signerFingerprint,
		objectLock: result.objectLock,
		createdAt: result.manifest.created_at,
	};
	return [{ json: { seal }, pairedItem: { item: i } }];
}
