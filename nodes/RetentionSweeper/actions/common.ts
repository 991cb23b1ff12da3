import type { IExecuteFunctions, INodeProperties } from 'n8n-workflow';

import type { RetentionPolicyInput } from '../../../lib/retention';
import type { ArchiveStore } from '../../shared/credentials';
import { bucketDescription, prefixDescription } from '../../shared/storeLocation';

/** Shared parameters: bucket override, prefix, and the retention classes. */
export const commonDescription: INodeProperties[] = [
	bucketDescription,
	prefixDescription,
	{
		displayName: 'Retention Classes',
		name: 'classes',
		type: 'fixedCollection',
		typeOptions: { multipleValues: true, sortable: true },
		placeholder: 'Add Retention Class',
		default: { values: [{ name: 'default', retention: 'P1Y', minimum: '' }] },
		displayOptions: { show: { operation: ['plan', 'execute', 'lifecycle'] } },
		description: 'Each class is a folder under the prefix (&lt;prefix&gt;/&lt;class&gt;/…). Records in folders not listed here are never touched.',
		options: [
			{
				displayName: 'Class',
				name: 'values',
				values: [
					{
						displayName: 'Name',
						name: 'name',
						type: 'string',
						default: 'default',
						description: 'Class name as used in the S3 Archive node, e.g. default, mifid, sec-17a-4',
					},
					{
						displayName: 'Retention',
						name: 'retention',
						type: 'string',
						default: 'P1Y',
						description:
							'ISO 8601 duration counted from the end of the record date, e.g. P1Y, P3Y (SEC 17a-4), P5Y (MiFID II), P6Y (FINRA 4511)',
					},
					{
						displayName: 'Minimum',
						name: 'minimum',
						type: 'string',
						default: '',
						description:
							'ISO 8601 floor: a shorter Retention is refused. Empty: the floor of a known class name (sec-17a-4 P3Y, mifid P5Y, finra P6Y, cftc P5Y, hipaa P6Y), else P1D.',
					},
				],
			},
		],
	},
];

/** What every operation receives: one S3 client per execution plus the credential's bucket and index key. */
export type SweeperContext = ArchiveStore;

/** The policy from the node's Prefix and Retention Classes (validated later by `resolvePolicy`). */
export function readPolicy(this: IExecuteFunctions, i: number): RetentionPolicyInput {
	const classes = this.getNodeParameter('classes.values', i, []) as Array<{ name?: string; retention?: string; minimum?: string }>;
	return {
		prefix: String(this.getNodeParameter('prefix', i, 'archive') ?? ''),
		classes: classes.map((entry) => ({
			name: String(entry.name ?? ''),
			retention: String(entry.retention ?? ''),
			...(entry.minimum ? { minimum: String(entry.minimum) } : {}),
		})),
	};
}

/** Splits a comma / newline separated list, trimming and dropping empties. */
export function splitList(value: unknown): string[] {
	return String(value ?? '')
		.split(/[,\n]/)
		.map((part) => part.trim())
		.filter((part) => part !== '');
}
