import { updateDisplayOptions, type IDisplayOptions, type IExecuteFunctions, type INodeExecutionData, type INodeProperties } from 'n8n-workflow';

import { listObjects, phoneNumberPseudonyms, resolveIdentity, type ListFilter } from '../../../../lib/archive';
import type { ArchiveStore } from '../../../shared/credentials';
import { storeLocation } from '../../../shared/storeLocation';
import { recordFilters } from '../common.descriptions';

const showForList: IDisplayOptions = { show: { resource: ['record'], operation: ['list'] } };

/** Parameters of Record → List. */
const properties: INodeProperties[] = [
	{
		displayName: 'Return All',
		name: 'returnAll',
		type: 'boolean',
		default: false,
		description: 'Whether to return all results or only up to a given limit',
	},
	{
		displayName: 'Limit',
		name: 'limit',
		type: 'number',
		typeOptions: { minValue: 1 },
		default: 50,
		displayOptions: { show: { returnAll: [false] } },
		description: 'Max number of results to return',
	},
	{
		displayName: 'Filters',
		name: 'filters',
		type: 'collection',
		placeholder: 'Add filter',
		default: {},
		options: [
			{
				displayName: 'Counterparty Phone Number',
				name: 'counterpartyPhoneNumber',
				type: 'string',
				default: '',
				placeholder: '+16505551234',
				description:
					"Only this person's records (as Person, for a phone number): the number is turned into pseudonyms with the credential's Index Key and never sent to the store",
			},
			recordFilters.from,
			{
				displayName: 'Include Media',
				name: 'includeMedia',
				type: 'boolean',
				default: true,
				description: 'Whether to include encrypted media objects (.media.pgp) as well as records',
			},
			{
				displayName: 'Person',
				name: 'person',
				type: 'string',
				default: '',
				placeholder: '+16505551234, US.13491208655302741918 or @username',
				description:
					"Only this person's records, whichever of their identifiers each record carries: a phone number (any common typing), a BSUID or a username; or a WhatsApp group's records by its group ID (group:ID). Turned into pseudonyms with the credential's Index Key and never sent to the store.",
			},
			recordFilters.phoneNumberId,
			recordFilters.retentionClass,
			recordFilters.to,
		],
	},
];

export const description = updateDisplayOptions(showForList, properties);

interface ListNodeFilters {
	counterpartyPhoneNumber?: string;
	person?: string;
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
export async function execute(this: IExecuteFunctions, i: number, context: ArchiveStore): Promise<INodeExecutionData[]> {
	const { bucket, prefix } = storeLocation.call(this, i, context);
	const returnAll = this.getNodeParameter('returnAll', i, false) as boolean;
	const limit = returnAll ? Infinity : (this.getNodeParameter('limit', i, 50) as number);
	const filters = this.getNodeParameter('filters', i, {}) as ListNodeFilters;

	// every pseudonym of the person under the credential's index key (checked there), links included
	let pseudonyms: string[] | undefined;
	const lookup = { client: context.client, bucket, prefix, indexKey: context.indexKey };
	if (filters.person?.trim()) {
		pseudonyms = (await resolveIdentity({ ...lookup, identifier: filters.person, field: 'Person' })).pseudonyms;
	} else if (filters.counterpartyPhoneNumber?.trim()) {
		const start = phoneNumberPseudonyms({ indexKey: context.indexKey, phoneNumber: filters.counterpartyPhoneNumber, field: 'Counterparty Phone Number' });
		pseudonyms = (await resolveIdentity({ ...lookup, pseudonyms: start })).pseudonyms;
	}
	const filter: ListFilter = {
		prefix,
		retentionClass: filters.retentionClass?.trim() || undefined,
		phoneNumberId: filters.phoneNumberId?.trim() || undefined,
		from: filters.from || undefined,
		to: filters.to || undefined,
		pseudonyms,
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
