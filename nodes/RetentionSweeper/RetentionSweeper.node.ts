import { NodeConnectionTypes, type IExecuteFunctions, type INodeExecutionData, type INodeType, type INodeTypeDescription } from 'n8n-workflow';

import { credentialTest } from '../shared/credentialTests';

import { commonDescription, earlierArchiveKeysDescription, legalHoldFlagDescription, matterDescription } from './actions/common';
import * as execute from './actions/execute.operation';
import * as lifecycle from './actions/lifecycle.operation';
import * as placeHold from './actions/placeHold.operation';
import * as plan from './actions/plan.operation';
import * as releaseHold from './actions/releaseHold.operation';
import { router } from './actions/router';

/**
 * Retention Sweeper: deletes archived records whose retention class has run out, never what a legal
 * hold, a matter or Object Lock still protects, and proves it with a signed deletion report. Also
 * places and releases legal holds, and compiles the policy into bucket lifecycle rules. The verbs
 * live in `actions/`; the engine in `lib/retention`.
 */
// Deliberately not `usableAsTool`: this node deletes records of a compliance archive and must
// never be driven by an AI agent.
// eslint-disable-next-line @n8n/community-nodes/node-usable-as-tool
export class RetentionSweeper implements INodeType {
	description: INodeTypeDescription = {
		displayName: 'Retention Sweeper',
		name: 'retentionSweeper',
		icon: { light: 'file:retention.svg', dark: 'file:retention.dark.svg' },
		group: ['transform'],
		version: 1,
		subtitle: '={{$parameter["operation"]}}',
		description: 'Delete archived records when retention ends, honouring legal holds and Object Lock',
		defaults: { name: 'Retention Sweeper' },
		inputs: [NodeConnectionTypes.Main],
		outputs: [NodeConnectionTypes.Main],
		credentials: [
			{ name: 's3ArchiveApi', required: true, testedBy: 's3ArchiveApiTest' },
			{
				// the archive's key: signs hold events, sweep plans and reports; verifies the registry and plans
				name: 'openPgpPrivateKeyApi',
				required: true,
				testedBy: 'openPgpPrivateKeyApiTest',
			},
		],
		properties: [
			{
				displayName: 'Operation',
				name: 'operation',
				type: 'options',
				noDataExpression: true,
				options: [
					{
						name: 'Execute',
						value: 'execute',
						action: 'Delete expired records',
						description: 'Delete every expired version that is not held or locked, with a signed report',
					},
					{
						name: 'Lifecycle',
						value: 'lifecycle',
						action: 'Show or apply lifecycle rules',
						description: 'Compile the retention classes into bucket lifecycle rules, show or apply them',
					},
					{
						name: 'Place Hold',
						value: 'placeHold',
						action: 'Place a legal hold',
						description: 'Record a matter and set the legal-hold flag on the versions in its scope',
					},
					{
						name: 'Plan',
						value: 'plan',
						action: 'Plan a sweep dry run',
						description: 'Count what would be deleted, kept, held and locked per class; change nothing',
					},
					{
						name: 'Release Hold',
						value: 'releaseHold',
						action: 'Release a legal hold',
						description: 'Record the release and clear the legal-hold flag where no other matter applies',
					},
				],
				default: 'plan',
			},
			...commonDescription,
			...plan.description,
			...execute.description,
			...matterDescription,
			...placeHold.description,
			legalHoldFlagDescription,
			...releaseHold.description,
			...lifecycle.description,
			earlierArchiveKeysDescription,
		],
	};

	methods = { credentialTest };

	async execute(this: IExecuteFunctions): Promise<INodeExecutionData[][]> {
		return await router.call(this);
	}
}
