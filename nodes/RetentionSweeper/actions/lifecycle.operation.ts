import type { IDataObject, IExecuteFunctions, INodeExecutionData, INodeProperties } from 'n8n-workflow';

import { applyLifecycle, showLifecycle } from '../../../lib/retention';
import { audited, scopeClasses } from '../../shared/audit';
import { resolveBucket } from '../../shared/storeLocation';
import { archiveAuthority, readPolicy, type SweeperContext } from './common';

/** Parameters of the Lifecycle operation. */
export const description: INodeProperties[] = [
	{
		displayName: 'Action',
		name: 'lifecycleAction',
		type: 'options',
		default: 'show',
		displayOptions: { show: { operation: ['lifecycle'] } },
		options: [
			{ name: 'Show', value: 'show', description: 'Show the rules that would be applied; change nothing' },
			{ name: 'Apply', value: 'apply', description: "Write the rules to the bucket's lifecycle configuration" },
		],
		description:
			'Lifecycle rules make the store delete server-side (Expiration and NoncurrentVersionExpiration per class prefix); rules of other owners are kept',
	},
];

/**
 * Lifecycle: compiles the retention classes into bucket lifecycle rules and shows them, or applies
 * them (PutBucketLifecycleConfiguration). Outputs current, proposed, changed and removed rules, and the
 * active matters; Apply is refused while any matter is active (the store's rules cannot see the registry).
 * Apply appends a `lifecycle-apply` audit event (classes, rules changed and removed), refused or not.
 */
export async function execute(this: IExecuteFunctions, i: number, context: SweeperContext): Promise<INodeExecutionData[]> {
	const bucket = resolveBucket.call(this, i, context);
	const action = this.getNodeParameter('lifecycleAction', i, 'show') as string;
	const { signer, verifier } = await archiveAuthority.call(this, i, 'lifecycle');
	const policy = readPolicy.call(this, i);
	const options = { client: context.client, bucket, policy, verifier };
	const change =
		action === 'apply'
			? await audited(
					this,
					{ client: context.client, bucket, prefix: policy.prefix, signer },
					{
						operation: 'lifecycle-apply',
						scope: { classes: scopeClasses(policy.classes.map((entry) => entry.name)) },
						outcome: (applied) => ({ counts: { rulesChanged: applied.changed.length, rulesRemoved: applied.removed.length } }),
					},
					async () => await applyLifecycle(options),
				)
			: await showLifecycle(options);
	return [
		{
			json: { operation: 'lifecycle', action, ...(change as unknown as IDataObject) },
			pairedItem: { item: i },
		},
	];
}
