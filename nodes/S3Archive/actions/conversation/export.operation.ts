import { NodeOperationError, updateDisplayOptions, type IDisplayOptions, type IExecuteFunctions, type INodeExecutionData, type INodeProperties } from 'n8n-workflow';

import { assertIndexKey, DEFAULT_MAX_EXPORT_BYTES, DEFAULT_MAX_RECORD_BYTES, exportConversation } from '../../../../lib/archive';
import { credentialPrivateKey, type ArchiveStore } from '../../../shared/credentials';
import { decryptedSizeLimit, maxDecryptedSizeDescription } from '../../../shared/decryptLimits';
import { storeLocation } from '../../../shared/storeLocation';
import { recordFilters } from '../common.descriptions';

const MIB = 1024 * 1024;

const showForExport: IDisplayOptions = {
	show: { resource: ['conversation'], operation: ['export'] },
};

/** Parameters of Conversation → Export. */
const properties: INodeProperties[] = [
	{
		displayName: 'Person',
		name: 'exportPhoneNumber',
		type: 'string',
		default: '',
		placeholder: '+16505551234, US.13491208655302741918 or @username',
		description:
			"The person whose conversation to export: a phone number (any common typing), a BSUID or a username; or a WhatsApp group ID (group:ID) for the group's conversation with all its participants. Every record of the person is exported, whichever of their identifiers it carries. Turned into pseudonyms with the credential's Index Key, never sent to the store. Leave empty to give a pseudonym in Options.",
	},
	{
		displayName: 'Options',
		name: 'exportOptions',
		type: 'collection',
		placeholder: 'Add option',
		default: {},
		options: [
			{
				displayName: 'Counterparty Pseudonym',
				name: 'pseudonym',
				type: 'string',
				default: '',
				description: 'The 32-hex pseudonym from the object keys, instead of the phone number',
			},
			recordFilters.from,
			{
				displayName: 'Include Statuses',
				name: 'includeStatuses',
				type: 'boolean',
				default: true,
				description: 'Whether to include sent / delivered / read / failed status records',
			},
			maxDecryptedSizeDescription('maxRecordMegabytes', DEFAULT_MAX_RECORD_BYTES / MIB, ' of one record'),
			{
				displayName: 'Max Export Size (MB)',
				name: 'maxExportMegabytes',
				type: 'number',
				typeOptions: { minValue: 1 },
				// DEFAULT_MAX_EXPORT_BYTES of lib/archive, in MiB (n8n's lint wants a literal)
				default: 256,
				description: 'Stop with an error when the decrypted records together grow beyond this many MiB (the export is built in memory)',
			},
			{
				displayName: 'Max Records',
				name: 'maxRecords',
				type: 'number',
				typeOptions: { minValue: 1 },
				default: 50000,
				description: 'Stop with an error when more records match (the export is built in memory)',
			},
			recordFilters.phoneNumberId,
			recordFilters.retentionClass,
			recordFilters.to,
		],
	},
];

export const description = updateDisplayOptions(showForExport, properties);

interface ExportNodeOptions {
	pseudonym?: string;
	from?: string;
	to?: string;
	includeStatuses?: boolean;
	maxRecords?: number;
	maxRecordMegabytes?: number;
	maxExportMegabytes?: number;
	phoneNumberId?: string;
	retentionClass?: string;
}

/**
 * Conversation → Export (eDiscovery): decrypts one conversation and outputs one item with three binary files,
 * `jsonl` (`export.jsonl`, one record per line, in order), `html` (`transcript.html`) and `text`
 * (`transcript.txt`), and `{ export: { pseudonym, counts, period, sources } }` (object keys only,
 * no plaintext) in its JSON. Each record's decryption stops at Max Decrypted Size (MB), all of them
 * at Max Export Size (MB).
 */
export async function execute(this: IExecuteFunctions, i: number, context: ArchiveStore): Promise<INodeExecutionData[]> {
	const { bucket, prefix } = storeLocation.call(this, i, context);
	const phoneNumber = String(this.getNodeParameter('exportPhoneNumber', i, '')).trim();
	const options = this.getNodeParameter('exportOptions', i, {}) as ExportNodeOptions;
	const pseudonym = options.pseudonym?.trim() || undefined;
	if (!phoneNumber && !pseudonym) {
		throw new NodeOperationError(
			this.getNode(),
			'Give the Person (or a Counterparty Pseudonym in Options)',
			{
				itemIndex: i,
			},
		);
	}
	// a phone number lookup needs the index key the records were written with: checked before unlocking the key
	if (phoneNumber && !pseudonym) assertIndexKey(context.indexKey);
	const privateKey = await credentialPrivateKey.call(this, { itemIndex: i, purpose: 'Export' });
	const result = await exportConversation({
		client: context.client,
		bucket,
		prefix,
		indexKey: context.indexKey,
		person: pseudonym ? undefined : phoneNumber,
		pseudonym,
		phoneNumberId: options.phoneNumberId?.trim() || undefined,
		retentionClass: options.retentionClass?.trim() || undefined,
		from: options.from || undefined,
		to: options.to || undefined,
		includeStatuses: options.includeStatuses !== false,
		maxRecords: options.maxRecords,
		maxRecordBytes: decryptedSizeLimit.call(this, i, options.maxRecordMegabytes, DEFAULT_MAX_RECORD_BYTES / MIB),
		maxExportBytes: decryptedSizeLimit.call(this, i, options.maxExportMegabytes, DEFAULT_MAX_EXPORT_BYTES / MIB, 'Max Export Size (MB)'),
		decryptionKeys: [privateKey],
	});
	const [jsonl, html, text] = await Promise.all([
		this.helpers.prepareBinaryData(result.jsonl, 'export.jsonl', 'application/x-ndjson'),
		this.helpers.prepareBinaryData(result.transcriptHtml, 'transcript.html', 'text/html'),
		this.helpers.prepareBinaryData(result.transcriptText, 'transcript.txt', 'text/plain'),
	]);
	return [
		{
			json: {
				export: {
					bucket,
					prefix,
					pseudonym: result.pseudonym,
					pseudonyms: result.pseudonyms,
					counts: result.counts,
					period: result.period,
					sources: result.sources.map((s) => ({ ...s })),
				},
			},
			binary: { jsonl, html, text },
			pairedItem: { item: i },
		},
	];
}
