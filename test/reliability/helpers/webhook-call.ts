/**
 * The trigger's `webhook()` called in-process inside n8n-core's real `WebhookContext`, without HTTP:
 * the request carries the exact bytes as n8n's body parser leaves them (`rawBody`), so what is timed and
 * weighed is the trigger's own work. n8n's parser (reading the socket, JSON or form parsing into
 * `req.body`) runs before the trigger is called and is not part of the figure.
 *
 * Per call: the answer (status, JSON body), the wall time of `webhook()` (nothing else runs meanwhile,
 * so it bounds the event-loop time of our code), the event loop's longest delay seen by
 * `monitorEventLoopDelay`, and the RSS rise (current RSS after the call minus before, and the rise
 * of the process's peak RSS).
 */
import { monitorEventLoopDelay } from 'node:perf_hooks';

import {
	Workflow,
	type ICredentialDataDecryptedObject,
	type INode,
	type INodeParameters,
	type INodeTypes,
	type IWorkflowExecuteAdditionalData,
} from 'n8n-workflow';

import { WhatsAppCaptureTrigger } from '../../../nodes/WhatsAppCaptureTrigger/WhatsAppCaptureTrigger.node';
import { StaticCredentialsHelper } from '../../helpers/n8n-runner';

// n8n-core reads N8N_USER_FOLDER when first loaded: the runner (imported above) sets it
// eslint-disable-next-line @typescript-eslint/no-require-imports
const core = require('n8n-core') as typeof import('n8n-core');

export interface WebhookCall {
	status: number;
	body: string;
	/** Whether webhook() handed workflow data to n8n (an execution would start). */
	started: boolean;
	wallMs: number;
	/** CPU time of the process during the call (user + system, ms): the call's own work, without the time it waited for a core. */
	cpuMs: number;
	loopMaxMs: number;
	/** Current RSS after minus before (MB). */
	rssRiseMb: number;
	/** Rise of the process's peak RSS during the call (MB). */
	peakRiseMb: number;
}

const MB = 1024 * 1024;

/** A trigger node with `parameters` and `credentials` that `post` calls for each request. */
export function webhookTarget(parameters: INodeParameters, credentials: Record<string, ICredentialDataDecryptedObject>) {
	const nodeType = new WhatsAppCaptureTrigger();
	const nodeTypes = { getByName: () => nodeType, getByNameAndVersion: () => nodeType, getKnownTypes: () => ({}) } as unknown as INodeTypes;
	const node: INode = {
		id: 'hook',
		name: 'WhatsApp Capture Trigger',
		type: 'n8n-nodes-chat-archive.whatsAppCaptureTrigger',
		typeVersion: 1,
		position: [0, 0],
		webhookId: 'hook-1',
		parameters,
		credentials: Object.fromEntries(Object.keys(credentials).map((type) => [type, { id: type, name: type }])),
	};
	const workflow = new Workflow({ id: 'wf', name: 'wf', nodes: [node], connections: {}, active: false, nodeTypes });
	const description = nodeType.description.webhooks!.find((w) => w.httpMethod === 'POST')!;

	return async function post(rawBody: Buffer, headers: Record<string, string>): Promise<WebhookCall> {
		const answer = { status: 0, body: '' };
		const request = { headers, rawBody, body: {}, query: {}, params: {}, url: '/webhook/hook-1/webhook', method: 'POST' };
		const response = {
			status: (code: number) => ((answer.status = code), response),
			type: () => response,
			set: () => response,
			header: () => response,
			send: (body: unknown) => ((answer.body = String(body ?? '')), response),
			json: (body: unknown) => ((answer.body = JSON.stringify(body)), response),
			end: () => response,
		};
		const additionalData = {
			hooks: new core.ExecutionLifecycleHooks('webhook', 'exec-1', { id: 'wf' } as never),
			executionId: 'exec-1',
			credentialsHelper: new StaticCredentialsHelper(credentials),
			webhookBaseUrl: 'https://n8n.example.com/webhook',
			webhookTestBaseUrl: 'https://n8n.example.com/webhook-test',
			webhookWaitingBaseUrl: 'https://n8n.example.com/webhook-waiting',
			formWaitingBaseUrl: 'https://n8n.example.com/form-waiting',
			httpRequest: request,
			httpResponse: response,
		} as unknown as IWorkflowExecuteAdditionalData;
		const ctx = new core.WebhookContext(
			workflow,
			node,
			additionalData,
			'webhook',
			{
				httpMethod: 'POST',
				node: node.name,
				path: description.path as string,
				workflowId: 'wf',
				webhookId: 'hook-1',
				webhookDescription: description,
				workflowExecuteAdditionalData: additionalData,
			},
			[],
			null,
		);
		const histogram = monitorEventLoopDelay({ resolution: 1 });
		const rssBefore = process.memoryUsage.rss();
		const peakBefore = process.resourceUsage().maxRSS * 1024;
		histogram.enable();
		await new Promise((resolve) => setTimeout(resolve, 5));
		const cpuBefore = process.cpuUsage();
		const started = performance.now();
		const result = await nodeType.webhook.call(ctx);
		const wallMs = performance.now() - started;
		const cpu = process.cpuUsage(cpuBefore);
		const rssAfter = process.memoryUsage.rss();
		const peakAfter = process.resourceUsage().maxRSS * 1024;
		await new Promise((resolve) => setTimeout(resolve, 5));
		histogram.disable();
		return {
			status: answer.status || (result.workflowData ? 200 : 0),
			body: answer.body,
			started: Boolean(result.workflowData),
			wallMs,
			cpuMs: (cpu.user + cpu.system) / 1000,
			loopMaxMs: histogram.max / 1e6,
			rssRiseMb: (rssAfter - rssBefore) / MB,
			peakRiseMb: Math.max(0, peakAfter - peakBefore) / MB,
		};
	};
}
