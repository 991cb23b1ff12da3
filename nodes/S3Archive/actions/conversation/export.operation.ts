import type { Readable } from 'node:stream';

import { NodeOperationError, updateDisplayOptions, type IDataObject, type IDisplayOptions, type IExecuteFunctions, type INodeExecutionData, type INodeProperties } from 'n8n-workflow';

import {
	assertIndexKey,
	DEFAULT_MAX_EVENTS_PER_SLICE,
	DEFAULT_MAX_EXPORT_BYTES,
	DEFAULT_MAX_RECORD_BYTES,
	exportConversation,
	exportRsmf,
	identifierPseudonyms,
	type AuditScope,
	type ExportOptions,
	type ExportScope,
	type ExportSummary,
	type RsmfSlice,
} from '../../../../lib/archive';
import { DEFAULT_MAX_DECRYPTED_BYTES, encrypt } from '../../../../lib/pgp';
import { assertAuditSigningKey, audited, scopeClasses, scopeDay } from '../../../shared/audit';
import { digestedStream } from '../../../shared/binary';
import { credentialPrivateKey, credentialPublicKeys, type ArchiveStore } from '../../../shared/credentials';
import { decryptedSizeLimit, maxDecryptedSizeDescription } from '../../../shared/decryptLimits';
import { storeLocation } from '../../../shared/storeLocation';
import { recordFilters } from '../common.descriptions';

const MIB = 1024 * 1024;

const showForExport: IDisplayOptions = {
	show: { resource: ['conversation'], operation: ['export'] },
};

/** Options that only a person export takes (a custodian export names its number and dates above them). */
const personOnly: IDisplayOptions = { show: { '/exportScope': ['person'] } };
/** Options of the RSMF files. */
const rsmfOnly: IDisplayOptions = { show: { '/exportFormat': ['rsmf'] } };

/** Parameters of Conversation → Export. */
const properties: INodeProperties[] = [
	{
		displayName: 'Scope',
		name: 'exportScope',
		type: 'options',
		noDataExpression: true,
		default: 'person',
		options: [
			{
				name: 'Custodian (Business Number)',
				value: 'custodian',
				description: 'Every conversation of one WhatsApp business phone number ID in a date range',
			},
			{
				name: 'Person',
				value: 'person',
				description: 'Every conversation of one person, whichever of their identifiers a record carries',
			},
		],
	},
	{
		displayName: 'Person',
		name: 'exportPhoneNumber',
		type: 'string',
		default: '',
		placeholder: '+16505551234, US.13491208655302741918 or @username',
		description:
			"The person whose conversation to export: a phone number (any common typing), a BSUID or a username; or a WhatsApp group ID (group:ID) for the group's conversation with all its participants. Every record of the person is exported, whichever of their identifiers it carries. Turned into pseudonyms with the credential's Index Key, never sent to the store. Leave empty to give a pseudonym in Options.",
		displayOptions: { show: { exportScope: ['person'] } },
	},
	{
		displayName: 'Phone Number ID',
		name: 'custodianPhoneNumberId',
		type: 'string',
		default: '',
		required: true,
		placeholder: '106000000000002',
		description: 'The WhatsApp business phone number ID (the custodian) whose conversations to export, or another channel\'s account as filed: channel-account ID, e.g. messenger-1045566778899 or sms-15550100999',
		displayOptions: { show: { exportScope: ['custodian'] } },
	},
	{
		displayName: 'From Date',
		name: 'custodianFrom',
		type: 'dateTime',
		default: '',
		required: true,
		description: 'First UTC day included',
		displayOptions: { show: { exportScope: ['custodian'] } },
	},
	{
		displayName: 'To Date',
		name: 'custodianTo',
		type: 'dateTime',
		default: '',
		required: true,
		description: 'Last UTC day included',
		displayOptions: { show: { exportScope: ['custodian'] } },
	},
	{
		displayName: 'Format',
		name: 'exportFormat',
		type: 'options',
		noDataExpression: true,
		default: 'jsonl',
		options: [
			{
				name: 'JSONL + HTML + Text',
				value: 'jsonl',
				description:
					'One item with export.jsonl (one record per line, each media file named in media_file), transcript.html, transcript.txt and media.zip (the decrypted media, when there are any)',
			},
			{
				name: 'RSMF 2.0',
				value: 'rsmf',
				description:
					'One item per .rsmf file (Relativity Short Message Format: the transcript as message body, rsmf.zip with the manifest and the media), as review platforms ingest chat',
			},
		],
	},
	{
		displayName: 'Encrypt Files',
		name: 'encryptFiles',
		type: 'boolean',
		noDataExpression: true,
		default: false,
		description:
			"Whether to encrypt every file to the OpenPGP Public Keys credential (e.g. the legal team's keys) before it enters n8n's binary store, so that the export never rests there in plaintext. Each file name gets .pgp added; gpg --decrypt gives back the same bytes.",
	},
	{
		displayName:
			"The files go into n8n's binary store in plaintext, where a manual run leaves them until n8n prunes the execution. Turn on Encrypt Files to keep them encrypted to the reader's keys.",
		name: 'plaintextExportNotice',
		type: 'notice',
		default: '',
		displayOptions: { show: { encryptFiles: [false] } },
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
				displayOptions: personOnly,
			},
			{ ...recordFilters.from, displayOptions: personOnly },
			{
				displayName: 'Include Statuses',
				name: 'includeStatuses',
				type: 'boolean',
				default: true,
				description: 'Whether to include sent / delivered / read / failed status records',
			},
			maxDecryptedSizeDescription('maxRecordMegabytes', DEFAULT_MAX_RECORD_BYTES / MIB, ' of one record'),
			{
				displayName: 'Max Events per File',
				name: 'maxEventsPerFile',
				type: 'number',
				typeOptions: { minValue: 1, numberPrecision: 0 },
				// DEFAULT_MAX_EVENTS_PER_SLICE of lib/archive (n8n's lint wants a literal)
				default: 10000,
				description: 'Start another .rsmf file after this many events of a conversation (Relativity advises at most 10,000)',
				displayOptions: rsmfOnly,
			},
			{
				displayName: 'Max Export Size (MB)',
				name: 'maxExportMegabytes',
				type: 'number',
				typeOptions: { minValue: 1 },
				// DEFAULT_MAX_EXPORT_BYTES of lib/archive, in MiB (n8n's lint wants a literal)
				default: 256,
				description: 'Stop with an error when the decrypted records together grow beyond this many MiB (RSMF holds the records in memory; JSONL streams them)',
				displayOptions: rsmfOnly,
			},
			{
				displayName: 'Max Media Size (MB)',
				name: 'maxMediaMegabytes',
				type: 'number',
				typeOptions: { minValue: 1 },
				// DEFAULT_MAX_DECRYPTED_BYTES of lib/pgp, in MiB (n8n's lint wants a literal)
				default: 256,
				description: 'Stop with an error as soon as one decrypted media file grows beyond this many MiB (media are streamed, one at a time)',
			},
			{
				displayName: 'Max Records',
				name: 'maxRecords',
				type: 'number',
				typeOptions: { minValue: 1 },
				default: 50000,
				description: 'Stop with an error when more records match (RSMF holds the records in memory; JSONL streams them)',
				displayOptions: rsmfOnly,
			},
			{ ...recordFilters.phoneNumberId, displayOptions: personOnly },
			recordFilters.retentionClass,
			{
				displayName: 'Split by Day',
				name: 'splitByDay',
				type: 'boolean',
				default: false,
				description: 'Whether to start another .rsmf file at each UTC day',
				displayOptions: rsmfOnly,
			},
			{ ...recordFilters.to, displayOptions: personOnly },
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
	maxMediaMegabytes?: number;
	maxEventsPerFile?: number;
	splitByDay?: boolean;
	phoneNumberId?: string;
	retentionClass?: string;
}

/** The scope of item `i` as engine options: one person, or a custodian's number and dates. */
function scopeOptions(this: IExecuteFunctions, i: number, options: ExportNodeOptions, context: ArchiveStore): Pick<ExportOptions, 'scope' | 'person' | 'pseudonym' | 'phoneNumberId' | 'from' | 'to'> {
	const scope = this.getNodeParameter('exportScope', i, 'person') as ExportScope;
	if (scope === 'custodian') {
		const phoneNumberId = String(this.getNodeParameter('custodianPhoneNumberId', i, '')).trim();
		const from = String(this.getNodeParameter('custodianFrom', i, '') ?? '').trim();
		const to = String(this.getNodeParameter('custodianTo', i, '') ?? '').trim();
		const missing = [phoneNumberId ? null : 'Phone Number ID', from ? null : 'From Date', to ? null : 'To Date'].filter(Boolean);
		if (missing.length) {
			throw new NodeOperationError(this.getNode(), `A custodian export needs its ${missing.join(', ')}`, {
				itemIndex: i,
				description: 'The custodian is the business phone number ID; the dates bound the export (UTC days, both included)',
			});
		}
		return { scope, phoneNumberId, from, to };
	}
	const person = String(this.getNodeParameter('exportPhoneNumber', i, '')).trim();
	const pseudonym = options.pseudonym?.trim() || undefined;
	if (!person && !pseudonym) {
		throw new NodeOperationError(this.getNode(), 'Give the Person (or a Counterparty Pseudonym in Options)', { itemIndex: i });
	}
	// a phone number lookup needs the index key the records were written with: checked before unlocking the key
	if (person && !pseudonym) assertIndexKey(context.indexKey);
	return {
		scope,
		person: pseudonym ? undefined : person,
		pseudonym,
		phoneNumberId: options.phoneNumberId?.trim() || undefined,
		from: options.from || undefined,
		to: options.to || undefined,
	};
}

/** What every output item of an export says of it: where, which scope, counts and period; object keys only, no plaintext. */
function exportFacts(bucket: string, prefix: string, scope: Pick<ExportOptions, 'phoneNumberId' | 'from' | 'to'>, result: ExportSummary): IDataObject {
	return {
		bucket,
		prefix,
		scope: result.scope,
		...(result.scope === 'custodian' ? { phoneNumberId: scope.phoneNumberId, from: scope.from, to: scope.to } : { pseudonym: result.pseudonym, pseudonyms: result.pseudonyms }),
		counts: result.counts,
		period: result.period,
	};
}

/** The facts of one `.rsmf` file (no names, numbers or content: ids, counts, times, its SHA-256). */
function fileFacts(slice: RsmfSlice, digest: { sha256: string; size: number }): IDataObject {
	return {
		fileName: slice.fileName,
		sha256: digest.sha256,
		size: digest.size,
		conversationId: slice.conversationId,
		part: slice.part,
		parts: slice.parts,
		eventCollectionId: slice.eventCollectionId,
		eventCount: slice.eventCount,
		attachmentCount: slice.attachmentCount,
		beginDate: slice.beginDate,
		endDate: slice.endDate,
	};
}

/**
 * Conversation → Export (eDiscovery) of one person, or of a custodian (a business phone number ID in
 * a date range), in one of two formats:
 *
 * - JSONL + HTML + Text: one item with the binary files `jsonl` (`export.jsonl`, one record per line,
 *   in order, a record's media named in `media_file`), `html` (`transcript.html`), `text`
 *   (`transcript.txt`) and, when the export has media, `media` (`media.zip`, the decrypted media under
 *   `media/`), each written into n8n's binary store from a stream (`exportConversation`: any number of
 *   records in bounded memory), and `{ export: { scope, counts, period, sources } }` (object keys only,
 *   no plaintext) in its JSON;
 * - RSMF 2.0: one item per `.rsmf` file (binary `data`, `message/rfc822`), written into n8n's binary
 *   store from the file's stream, media fetched and decrypted one at a time as the stream reaches
 *   them, with `{ export: { scope, counts, period, file: { fileName, sha256, size, … } } }`; an
 *   export without records gives one item without binary. Its records are held in memory: Max Records
 *   and Max Export Size (MB) bound them.
 *
 * Each record's decryption stops at Max Decrypted Size (MB), each media file's at Max Media Size (MB).
 * Each export appends an `export` audit event (the person's pseudonyms or the custodian's number and
 * dates, the filters, the counts and files) signed with the same key, once every file is in n8n's
 * binary store and before its items are output (nodes/shared/audit.ts).
 * Encrypt Files: each file is encrypted to the OpenPGP Public Keys credential as it streams into the
 * binary store (`<file>.pgp`), so the plaintext never rests there.
 */
export async function execute(this: IExecuteFunctions, i: number, context: ArchiveStore): Promise<INodeExecutionData[]> {
	const { bucket, prefix } = storeLocation.call(this, i, context);
	const options = this.getNodeParameter('exportOptions', i, {}) as ExportNodeOptions;
	const format = this.getNodeParameter('exportFormat', i, 'jsonl') as string;
	if (format !== 'jsonl' && format !== 'rsmf') {
		throw new NodeOperationError(this.getNode(), `Unknown Format "${format}": choose RSMF 2.0 or JSONL + HTML + Text`, { itemIndex: i });
	}
	const scope = scopeOptions.call(this, i, options, context);
	const privateKey = await credentialPrivateKey.call(this, { itemIndex: i, purpose: 'Export' });
	await assertAuditSigningKey.call(this, privateKey, i, 'Export');
	const retentionClass = options.retentionClass?.trim() || undefined;
	const engineOptions: ExportOptions = {
		client: context.client,
		bucket,
		prefix,
		indexKey: context.indexKey,
		...scope,
		retentionClass,
		includeStatuses: options.includeStatuses !== false,
		maxRecordBytes: decryptedSizeLimit.call(this, i, options.maxRecordMegabytes, DEFAULT_MAX_RECORD_BYTES / MIB),
		maxMediaBytes: decryptedSizeLimit.call(this, i, options.maxMediaMegabytes, DEFAULT_MAX_DECRYPTED_BYTES / MIB, 'Max Media Size (MB)'),
		decryptionKeys: [privateKey],
	};
	const phoneNumberId = scope.phoneNumberId?.trim();
	// who was exported, pseudonymously: the person's pseudonyms (the linked ones once exported) or the custodian's number and dates
	const auditScope: AuditScope = {
		pseudonyms:
			scope.scope === 'custodian' ? undefined : scope.pseudonym ? [scope.pseudonym] : identifierPseudonyms({ indexKey: context.indexKey, identifier: scope.person ?? '', field: 'Person' }),
		phoneNumberIds: phoneNumberId && /^\d{1,64}$/.test(phoneNumberId) ? [phoneNumberId] : undefined,
		classes: scopeClasses([retentionClass]),
		from: scopeDay(scope.from),
		to: scopeDay(scope.to),
	};
	const target = { client: context.client, bucket, prefix, signer: privateKey };
	// Encrypt Files: each file is encrypted to the reader's keys on its way into n8n's binary store
	// (gnupg profile: SEIPD v1, AES-256, what GnuPG 2.2 and sq decrypt)
	const recipients = this.getNodeParameter('encryptFiles', i, false)
		? await credentialPublicKeys.call(this, { profile: 'gnupg', itemIndex: i })
		: undefined;
	const toBinary = async (stream: Readable, fileName: string, mimeType: string) => {
		if (!recipients) return await this.helpers.prepareBinaryData(stream, fileName, mimeType);
		const { ciphertext } = await encrypt({ data: stream, recipients, profile: 'gnupg', filename: fileName });
		return await this.helpers.prepareBinaryData(ciphertext as Readable, `${fileName}.pgp`, 'application/pgp-encrypted');
	};

	if (format === 'rsmf') {
		const maxEvents = options.maxEventsPerFile ?? DEFAULT_MAX_EVENTS_PER_SLICE;
		if (!Number.isSafeInteger(maxEvents) || maxEvents < 1) {
			throw new NodeOperationError(this.getNode(), `Max Events per File must be a whole number of at least 1, not ${String(options.maxEventsPerFile)}`, { itemIndex: i });
		}
		const maxExportBytes = decryptedSizeLimit.call(this, i, options.maxExportMegabytes, DEFAULT_MAX_EXPORT_BYTES / MIB, 'Max Export Size (MB)');
		// the event is appended once every file is in n8n's binary store, before any item is output
		const { result, items } = await audited(
			this,
			target,
			{
				operation: 'export',
				scope: auditScope,
				outcome: ({ result, items }) => ({
					scope: result.scope === 'custodian' ? {} : { pseudonyms: result.pseudonyms },
					counts: { ...result.counts, files: items.filter((item) => item.binary).length },
				}),
			},
			async () => {
				const result = await exportRsmf({ ...engineOptions, maxRecords: options.maxRecords, maxExportBytes, maxEventsPerSlice: maxEvents, sliceByDay: options.splitByDay === true });
				const facts = { ...exportFacts(bucket, prefix, scope, result), format: 'rsmf', files: result.slices.length };
				if (!result.slices.length) return { result, items: [{ json: { export: { ...facts, file: null } }, pairedItem: { item: i } }] as INodeExecutionData[] };
				const items: INodeExecutionData[] = [];
				// one file at a time: each reads its media one at a time
				for (const slice of result.slices) {
					const file = digestedStream(slice.createRsmfStream());
					const data = await toBinary(file.stream, slice.fileName, 'message/rfc822');
					items.push({ json: { export: { ...facts, file: fileFacts(slice, file.digest()) } }, binary: { data }, pairedItem: { item: i } });
				}
				return { result, items };
			},
		);
		void result;
		return items;
	}

	// the event is appended once every file is in n8n's binary store, before the item is output
	const { item } = await audited(
		this,
		target,
		{
			operation: 'export',
			scope: auditScope,
			outcome: ({ exported }) => ({
				scope: exported.scope === 'custodian' ? {} : { pseudonyms: exported.pseudonyms },
				counts: { ...exported.counts, files: exported.mediaFiles.length ? 4 : 3 },
			}),
		},
		async () => {
			const exported = await exportConversation(engineOptions);
			const streams = [
				exported.createJsonlStream(),
				exported.createTranscriptHtmlStream(),
				exported.createTranscriptTextStream(),
				exported.createMediaZipStream(),
			] as const;
			try {
				// all four at once: each reads the records (or media) on its own
				const [jsonl, html, text, media] = await Promise.all([
					toBinary(streams[0], 'export.jsonl', 'application/x-ndjson'),
					toBinary(streams[1], 'transcript.html', 'text/html'),
					toBinary(streams[2], 'transcript.txt', 'text/plain'),
					streams[3] ? toBinary(streams[3], 'media.zip', 'application/zip') : undefined,
				]);
				const item: INodeExecutionData = {
					json: { export: { ...exportFacts(bucket, prefix, scope, exported), format: 'jsonl', sources: exported.sources.map((s) => ({ ...s })) } },
					binary: { jsonl, html, text, ...(media ? { media } : {}) },
					pairedItem: { item: i },
				};
				return { exported, item };
			} catch (error) {
				for (const stream of streams) stream?.destroy();
				// the engine's or n8n's own error, unchanged: runPerItem maps it to NodeOperationError / NodeApiError with the node's hints
				// eslint-disable-next-line @n8n/community-nodes/require-node-api-error
				throw error;
			} finally {
				await exported.dispose();
			}
		},
	);
	return [item];
}
