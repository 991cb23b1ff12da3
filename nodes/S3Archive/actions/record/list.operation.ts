import {
	NodeOperationError,
	type IExecuteFunctions,
	type INodeExecutionData,
	type INodeProperties,
} from 'n8n-workflow';

import { listObjects, phoneNumberPseudonym, type ListFilter } from '../../../../lib/archive';
import type { ArchiveStore } from '../../../shared/credentials';
import { resolveBucket } from '../../../shared/storeLocation';

const showForList = { show: { resource: ['record'], operation: ['list'] } };

/** Parameters of Record → List. */
export const description: INodeProperties[] = [
	{
		displayName: 'Return All',
		name: 'returnAll',
		type: 'boolean',
		default: false,
		displayOptions: showForList,
		description: 'Whether to return all results or only up to a given limit',
	},
	{
		displayName: 'Limit',
		name: 'limit',
		type: 'number',
		typeOptions: { minValue: 1 },
		default: 50,
		displayOptions: { show: { resource: ['record'], operation: ['list'], returnAll: [false] } },
		description: 'Max number of results to return',
	},
	{
		displayName: 'Filters',
		name: 'filters',
		type: 'collection',
		placeholder: 'Add filter',
		default: {},
		displayOptions: showForList,
		options: [
			{
				displayName: 'Counterparty Phone Number',
				name: 'counterpartyPhoneNumber',
				type: 'string',
				default: '',
				placeholder: '+16505551234',
				description:
					"Only this person's records: the number is turned into its pseudonym with the credential's Index Key and never sent to the store",
			},
			{
				displayName: 'From Date',
				name: 'from',
				type: 'dateTime',
				default: '',
				description: 'First UTC day included',
			},
			{
				displayName: 'Include Media',
				name: 'includeMedia',
				type: 'boolean',
				default: true,
				description: 'Whether to include encrypted media objects (.media.pgp) as well as records',
			},
			{
				displayName: 'Phone Number ID',
				name: 'phoneNumberId',
				type: 'string',
				default: '',
				description: 'WhatsApp business phone number ID the records were captured on',
			},
			{
				displayName: 'Retention Class',
				name: 'retentionClass',
				type: 'string',
				default: '',
				description: 'Only this retention class (empty: all)',
			},
			{
				displayName: 'To Date',
				name: 'to',
				type: 'dateTime',
				default: '',
				description: 'Last UTC day included',
			},
		],
	},
];

interface ListNodeFilters {
	counterpartyPhoneNumber?: string;
	from?: string;
	to?: string;
	includeMedia?: boolean;
	phoneNumberId?: string;
	retentionClass?: string;
}

/**
 * Record → List: one item per archived object matching the filters (key parts, size, ETag, last modified),
 * through all ListObjectsV2 pages; bodies are not downloaded.
 */
export async function execute(
	this: IExecuteFunctions,
	i: number,
	context: ArchiveStore,
): Promise<INodeExecutionData[]> {
	const bucket = resolveBucket.call(this, i, context);
	const prefix = this.getNodeParameter('prefix', i, 'archive') as string;
	const returnAll = this.getNodeParameter('returnAll', i, false) as boolean;
	const limit = returnAll ? Infinity : (this.getNodeParameter('limit', i, 50) as number);
	const filters = this.getNodeParameter('filters', i, {}) as ListNodeFilters;

	let pseudonym: string | undefined;
	if (filters.counterpartyPhoneNumber?.trim()) {
		if (!context.indexKey) {
			throw new NodeOperationError(this.getNode(), 'The S3 Archive Store credential has no Index Key', {
				itemIndex: i,
				description: 'A phone number lookup needs the Index Key the records were written with',
			});
		}
		pseudonym = phoneNumberPseudonym({ indexKey: context.indexKey, phoneNumber: filters.counterpartyPhoneNumber });
	}
	const filter: ListFilter = {
		prefix,
		retentionClass: filters.retentionClass?.trim() || undefined,
		phoneNumberId: filters.phoneNumberId?.trim() || undefined,
		from: filters.from || undefined,
		to: filters.to || undefined,
		pseudonym,
		includeMedia: filters.includeMedia !== false,
	};

	const out: INodeExecutionData[] = [];
	for await (const object of listObjects({ client: context.client, bucket, filter })) {
		if (out.length >= limit) break;
		out.push({
			json: {
				bucket,
				key: object.key,
				size: object.size,
				etag: object.etag,
				lastModified: object.lastModified?.toISOString() ?? null,
				storageClass: object.storageClass,
				retentionClass: object.retentionClass,
				phoneNumberId: object.phoneNumberId,
				date: object.date,
				pseudonym: object.pseudonym,
				recordId: object.recordId,
				kind: object.kind,
			},
			pairedItem: { item: i },
		});
	}
	return out;
}
