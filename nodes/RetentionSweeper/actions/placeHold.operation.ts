import { updateDisplayOptions, type IDisplayOptions, type IExecuteFunctions, type INodeExecutionData, type INodeProperties } from 'n8n-workflow';

import { placeHold } from '../../../lib/retention';
import { audited } from '../../shared/audit';
import { resolveBucket } from '../../shared/storeLocation';
import { archiveAuthority, holdItem, holdOutcome, readMatter, splitList, type SweeperContext } from './common';

const showForPlace: IDisplayOptions = { show: { operation: ['placeHold'] } };

/** Parameters of Place Hold (the scope). */
const properties: INodeProperties[] = [
	{
		displayName: 'Phone Number IDs',
		name: 'phoneNumberIds',
		type: 'string',
		default: '',
		description: 'WhatsApp business phone number IDs in scope, comma-separated. Empty: all.',
	},
	{
		displayName: 'Counterparties',
		name: 'counterpartyPhoneNumbers',
		type: 'string',
		default: '',
		placeholder: '+44 7700 900123, US.13491208655302741918, @username',
		description:
			"People in scope, comma-separated: phone numbers (any common typing), BSUIDs or usernames, or WhatsApp group IDs (group:ID). Each covers every identifier linked to that person; a group ID covers the group's conversation (a person's messages in a group are held through the group's ID). Turned into pseudonyms with the credential's index key and never stored. Empty: all.",
	},
	{
		displayName: 'Counterparty Pseudonyms',
		name: 'pseudonyms',
		type: 'string',
		default: '',
		description:
			'Counterparty pseudonyms (32 hex characters, as in object keys) in scope, comma-separated',
	},
	{
		displayName: 'From Date',
		name: 'from',
		type: 'dateTime',
		default: '',
		description: 'First record date in scope (UTC day, inclusive). Empty: no lower bound.',
	},
	{
		displayName: 'To Date',
		name: 'to',
		type: 'dateTime',
		default: '',
		description: 'Last record date in scope (UTC day, inclusive). Empty: no upper bound.',
	},
	{
		displayName: 'Retention Classes in Scope',
		name: 'scopeClasses',
		type: 'string',
		default: '',
		description: 'Retention classes in scope, comma-separated. Empty: all.',
	},
];

export const description = updateDisplayOptions(showForPlace, properties);

/** Formats a dateTime parameter as its UTC day, or undefined when empty. */
function day(value: unknown): string | undefined {
	const text = String(value ?? '').trim();
	if (!text) return undefined;
	const date = new Date(text);
	return Number.isNaN(date.getTime()) ? text : date.toISOString().slice(0, 10);
}

/**
 * Place Hold: records the matter in `<prefix>/_holds/` (signed with the archive's key) and sets the
 * legal-hold flag on versions in scope. Outputs the matter (scope with pseudonyms only), the flag
 * counts, `matched: { records, identities }`, and `warning` when no record matched. Appends a
 * `hold-place` audit event (matter id, counts) signed with the archive key.
 */
export async function execute(this: IExecuteFunctions, i: number, context: SweeperContext): Promise<INodeExecutionData[]> {
	const bucket = resolveBucket.call(this, i, context);
	const { signer, verifier } = await archiveAuthority.call(this, i, 'placeHold');
	const matter = readMatter.call(this, i);
	const result = await audited(
		this,
		{ client: context.client, bucket, prefix: matter.prefix, signer },
		{ operation: 'hold-place', scope: { matterIds: [matter.matterId.trim()] }, outcome: holdOutcome },
		async () =>
			await placeHold({
				client: context.client,
				bucket,
				signer,
				verifier,
				...matter,
				indexKey: context.indexKey,
				scope: {
					phoneNumberIds: splitList(this.getNodeParameter('phoneNumberIds', i, '')),
					persons: splitList(this.getNodeParameter('counterpartyPhoneNumbers', i, '')),
					pseudonyms: splitList(this.getNodeParameter('pseudonyms', i, '')),
					from: day(this.getNodeParameter('from', i, '')),
					to: day(this.getNodeParameter('to', i, '')),
					classes: splitList(this.getNodeParameter('scopeClasses', i, '')),
				},
			}),
	);
	const item = holdItem('placeHold', bucket, result, i);
	item.json.matched = { ...result.matched };
	if (result.matched?.records === 0) {
		const warning = 'The hold matched no record: check the scope (counterparties, phone number IDs, dates, classes). It is recorded and covers matching records written later.';
		item.json.warning = warning;
		// n8n shows execution hints above the output (n8n-workflow NodeExecutionHint)
		this.addExecutionHints?.({ message: warning, type: 'warning', location: 'outputPane' });
	}
	return [item];
}
