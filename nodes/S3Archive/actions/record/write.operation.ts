import { NodeOperationError, updateDisplayOptions, type IBinaryData, type IDataObject, type IDisplayOptions, type IExecuteFunctions, type INodeExecutionData, type INodeProperties } from 'n8n-workflow';

import { archiveRecord, assertEncryptedMessage, CIPHERTEXT_CHECK_BYTES, ENCRYPT_BEFORE_WRITE, readHead, type CiphertextBody, type DuplicateCheck, type ObjectLockParams } from '../../../../lib/archive';
import { createControlVerifier, legalHoldForNewRecord, type NewRecordHold } from '../../../../lib/retention';
import { lockUntil, storeErrorCode } from '../../../../lib/s3';
import { BINARY_READ_CHUNK_BYTES } from '../../../shared/binary';
import { credentialPublicKeysIfSet, type ArchiveStore } from '../../../shared/credentials';
import { duplicateCheckOption, objectLockModeOptions, storeLocation } from '../../../shared/storeLocation';
import { toNodeError } from '../../../shared/errors';
import { optionsCollection } from '../../../shared/parameters';

const showForWrite: IDisplayOptions = { show: { resource: ['record'], operation: ['write'] } };

/** Parameters of Record → Write. */
const properties: INodeProperties[] = [
	{
		displayName: 'Input Binary Field',
		name: 'binaryPropertyName',
		type: 'string',
		default: 'data',
		required: true,
		description:
			'Name of the binary property holding the ciphertext (e.g. the output of the OpenPGP node). Anything that does not start as an OpenPGP encrypted message is refused before any write.',
	},
	{
		displayName: 'Retention Class',
		name: 'retentionClass',
		type: 'string',
		default: 'default',
		required: true,
		description:
			'Second part of the key, naming the retention rule that applies (e.g. default, finra-6y)',
	},
	optionsCollection([
			duplicateCheckOption,
			{
				displayName: 'Flag Records Under Legal Hold',
				name: 'legalHoldFromRegistry',
				type: 'boolean',
				default: true,
				description:
					"Whether to read the legal-hold registry (&lt;prefix&gt;/_holds/, one ListObjectsV2 per record) and set the S3 legal-hold flag on the new version when an active matter covers it (Object Lock buckets), so lifecycle rules cannot expire it during the matter. A release counts only when signed by the archive key: attach the OpenPGP Public Keys credential holding its public key, else released matters keep flagging new records.",
			},
			{
				displayName: 'KMS Key ID',
				name: 'kmsKeyId',
				type: 'string',
				default: '',
				displayOptions: { show: { serverSideEncryption: ['aws:kms'] } },
				description: 'KMS key for aws:kms encryption; empty uses the bucket default key',
			},
			{
				displayName: 'Legal Hold',
				name: 'legalHold',
				type: 'boolean',
				default: false,
				description:
					'Whether to place a legal hold on the new object version (needs an Object Lock bucket)',
			},
			{
				displayName: 'Media Binary Field',
				name: 'mediaBinaryPropertyName',
				type: 'string',
				default: 'media',
				description:
					'Binary property holding the encrypted media of the record (as the WhatsApp Capture Trigger emits with Download Media and Encrypt at Capture); written beside the record as [record ID].media.pgp when present, and refused like the record when it is not an OpenPGP encrypted message. Empty: never write media.',
			},
			{
				displayName: 'Object Key',
				name: 'objectKey',
				type: 'string',
				default: '',
				description:
					'Override the computed key. Never put phone numbers, names or wamids in it: keys are visible to the storage provider.',
			},
			{
				displayName: 'Object Lock Mode',
				name: 'objectLockMode',
				type: 'options',
				options: objectLockModeOptions("Use the bucket's default retention, if any"),
				default: 'none',
			},
			{
				displayName: 'Retain For',
				name: 'retainFor',
				type: 'string',
				default: '',
				placeholder: 'P6Y',
				description:
					'ISO 8601 duration from now, e.g. P3Y, P6Y, P90D (required with an Object Lock Mode)',
			},
			{
				displayName: 'Server-Side Encryption',
				name: 'serverSideEncryption',
				type: 'options',
				options: [
					{ name: 'None', value: 'none' },
					{ name: 'AES256', value: 'AES256' },
					{ name: 'AWS KMS', value: 'aws:kms' },
				],
				default: 'none',
			},
			{
				displayName: 'Storage Class',
				name: 'storageClass',
				type: 'string',
				default: '',
				placeholder: 'STANDARD',
				description: "Store-specific storage class; empty uses the bucket's default",
			},
		]),
];

export const description = updateDisplayOptions(showForWrite, properties);

interface WriteNodeOptions {
	duplicateCheck?: DuplicateCheck;
	legalHoldFromRegistry?: boolean;
	mediaBinaryPropertyName?: string;
	objectKey?: string;
	objectLockMode?: 'none' | 'GOVERNANCE' | 'COMPLIANCE';
	retainFor?: string;
	legalHold?: boolean;
	storageClass?: string;
	serverSideEncryption?: 'none' | 'AES256' | 'aws:kms';
	kmsKeyId?: string;
}

/** Options → Object Lock Mode and Retain For as the lock of the new versions, or none. */
function objectLockFrom(
	this: IExecuteFunctions,
	options: WriteNodeOptions,
	i: number,
): ObjectLockParams | undefined {
	const mode = options.objectLockMode ?? 'none';
	const retainFor = (options.retainFor ?? '').trim();
	if (mode === 'none') {
		if (retainFor) {
			throw new NodeOperationError(
				this.getNode(),
				'Retain For is set but Object Lock Mode is None',
				{
					itemIndex: i,
					description:
						'Choose Governance or Compliance under Options → Object Lock Mode, or clear Retain For',
				},
			);
		}
		return undefined;
	}
	return {
		...lockUntil({ mode, retention: retainFor }, { field: 'Retain For' }),
		legalHold: options.legalHold === true,
	};
}

/**
 * Whether an active matter covers the record about to be written (`legalHoldForNewRecord`), with the
 * registry's releases verified against the OpenPGP Public Keys credential when one is attached.
 *
 * @throws NodeOperationError naming the permission and the option when the registry cannot be read.
 */
async function registryHold(this: IExecuteFunctions, i: number, context: ArchiveStore, bucket: string, key: string, identityPseudonyms: string[]): Promise<NewRecordHold> {
	const keys = await credentialPublicKeysIfSet.call(this, { profile: 'rfc9580', itemIndex: i });
	try {
		return await legalHoldForNewRecord({
			client: context.client,
			bucket,
			key,
			verifier: keys?.length ? createControlVerifier({ verificationKeys: keys }) : null,
			// a matter naming the person holds the record under any of its identities
			identityPseudonyms,
			indexKey: context.indexKey || undefined,
		});
	} catch (error) {
		if (storeErrorCode(error) !== 'AccessDenied') throw toNodeError(this.getNode(), error, i);
		throw new NodeOperationError(this.getNode(), 'The legal-hold registry (or the bucket\'s Object Lock configuration) could not be read before the write (AccessDenied)', {
			itemIndex: i,
			description:
				'Allow s3:ListBucket on the prefix _holds/, s3:GetObject on its objects and s3:GetBucketObjectLockConfiguration for this credential, or turn off Options → Flag Records Under Legal Hold (then only the sweeper honours matters)',
		});
	}
}

/**
 * A binary's body once its first bytes were found to be an OpenPGP encrypted message
 * (`assertEncryptedMessage`): an id-backed binary is opened once for its first
 * {@link CIPHERTEXT_CHECK_BYTES} (then released) and later re-opened by the writer; an in-memory one
 * is checked on its buffer.
 *
 * @throws ArchiveError `InvalidInput` naming the property and the fix.
 */
async function ciphertextBody(this: IExecuteFunctions, i: number, property: string, binaryData: IBinaryData): Promise<CiphertextBody> {
	if (binaryData.id) {
		const id = binaryData.id;
		const { head, complete } = await readHead(await this.helpers.getBinaryStream(id, CIPHERTEXT_CHECK_BYTES));
		assertEncryptedMessage(head, { field: property, complete });
		return { openBody: async () => await this.helpers.getBinaryStream(id, BINARY_READ_CHUNK_BYTES) };
	}
	const bytes = await this.helpers.getBinaryDataBuffer(i, property);
	assertEncryptedMessage(bytes.subarray(0, CIPHERTEXT_CHECK_BYTES), { field: property, complete: bytes.length <= CIPHERTEXT_CHECK_BYTES });
	return { bytes };
}

/**
 * Record → Write: stores the item's binary (ciphertext) once under the archive key layout
 * (`lib/archive/layout.ts`), computed from the item's record fields, and outputs only the
 * archive result plus routing fields (never the input JSON, which may hold plaintext). A record that an
 * active matter covers is written with the S3 legal-hold flag ON (Object Lock buckets), its matters
 * named in `legalHoldMatterIds`.
 */
export async function execute(this: IExecuteFunctions, i: number, context: ArchiveStore): Promise<INodeExecutionData[]> {
	const item = this.getInputData()[i];
	const json = item.json as IDataObject;
	const binaryPropertyName = (
		this.getNodeParameter('binaryPropertyName', i, 'data') as string
	).trim();
	const retentionClass = this.getNodeParameter('retentionClass', i, 'default') as string;
	const { bucket, prefix } = storeLocation.call(this, i, context);
	const options = this.getNodeParameter('options', i, {}) as WriteNodeOptions;

	const override = (options.objectKey ?? '').trim();
	const objectLock = objectLockFrom.call(this, options, i);

	// Every binary is checked to be ciphertext before the first request: nothing is written when one fails.
	const mediaProperty = (options.mediaBinaryPropertyName ?? 'media').trim();
	const recordBinary = item.binary?.[binaryPropertyName];
	if (!recordBinary) {
		throw new NodeOperationError(this.getNode(), `No binary property "${binaryPropertyName}" to write: it holds the record's ciphertext`, {
			itemIndex: i,
			description: `${ENCRYPT_BEFORE_WRITE}, or set Input Binary Field to the property that holds the ciphertext.`,
		});
	}
	const record = await ciphertextBody.call(this, i, binaryPropertyName, recordBinary);
	const mediaBinary = mediaProperty && mediaProperty !== binaryPropertyName ? item.binary?.[mediaProperty] : undefined;
	const media = mediaBinary ? await ciphertextBody.call(this, i, mediaProperty, mediaBinary) : undefined;

	// After the ciphertext checks (nothing is requested for a refused item): the key, the registry's
	// legal hold beside the writes, the media, the record, the identity links (lib/archive archiveRecord).
	const { result, media: mediaResult, hold } = await archiveRecord({
		client: context.client,
		bucket,
		fields: json,
		indexKey: context.indexKey,
		prefix,
		retentionClass,
		objectKey: override || undefined,
		record: { body: record, contentType: recordBinary.mimeType },
		media: media ? { body: media, contentType: mediaBinary!.mimeType } : undefined,
		objectLock,
		legalHold: options.legalHold === true,
		holdLookup: options.legalHoldFromRegistry === false ? null : async ({ key, identityPseudonyms }) => await registryHold.call(this, i, context, bucket, key, identityPseudonyms),
		storageClass: options.storageClass?.trim() || undefined,
		serverSideEncryption: options.serverSideEncryption && options.serverSideEncryption !== 'none' ? options.serverSideEncryption : undefined,
		kmsKeyId: options.kmsKeyId?.trim() || undefined,
		duplicateCheck: options.duplicateCheck ?? 'precheck',
	});

	return [
		{
			json: {
				archive: mediaResult ? { ...result, media: { ...mediaResult } } : { ...result },
				...(hold?.legalHold ? { legalHoldMatterIds: hold.matterIds } : {}),
				phone_number_id: (json.phone_number_id as string | null | undefined) ?? null,
				record_kind: (json.record_kind as string | undefined) ?? null,
				type: (json.type as string | undefined) ?? null,
				timestamp: (json.timestamp as string | null | undefined) ?? null,
			},
			pairedItem: { item: i },
		},
	];
}
