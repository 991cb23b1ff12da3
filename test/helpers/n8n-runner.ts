/**
 * In-process n8n: runs a workflow JSON (a template from `workflows/`) with real n8n-core
 * (`WorkflowExecute`, `WebhookContext`, `BinaryDataService`) and the pack's node classes,
 * behind a real `node:http` server on loopback. No n8n server, no database.
 *
 * What it mirrors from n8n's webhook server (n8n 2.x `WebhookService` / `WebhookHelpers`):
 * - `GET|POST /webhook/<webhookId>/<path>` reaches the trigger's `webhook()` through n8n-core's
 *   `WebhookContext`, with `req.rawBody` (the exact bytes), `req.body`, `req.query` set as n8n's
 *   body parser sets them;
 * - `{ noWebhookResponse: true }` without workflow data: the node answered, nothing runs;
 * - workflow data with the trigger's `responseMode` `onReceived`: 200 first, then the run;
 *   `lastNode`: the run first, then 200 (or 500 when the run failed) — so a failed archive
 *   write reaches the sender as an error and the sender retries.
 *
 * Recipe and pitfalls: ../shared/notes/n8n-core-in-process.md (N8N_USER_FOLDER before the first
 * DI lookup, absolute waiting URLs, lifecycle hooks, credentials helper).
 */
import { randomUUID } from 'node:crypto';
import { mkdtempSync, readFileSync } from 'node:fs';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import path from 'node:path';

import {
	ICredentialsHelper,
	Workflow,
	createRunExecutionData,
	type IBinaryData,
	type ICredentialDataDecryptedObject,
	type IConnections,
	type INode,
	type INodeExecutionData,
	type INodeType,
	type INodeTypes,
	type IRun,
	type IWebhookDescription,
	type IWorkflowExecuteAdditionalData,
	type IWorkflowSettings,
} from 'n8n-workflow';

if (!process.env.N8N_USER_FOLDER) {
	process.env.N8N_USER_FOLDER = mkdtempSync(path.join(tmpdir(), 'chat-archive-n8n-'));
}
process.env.N8N_ENCRYPTION_KEY ??= 'in-process-test-only';

// n8n-core reads N8N_USER_FOLDER when first loaded: require it only after the line above.
// eslint-disable-next-line @typescript-eslint/no-require-imports
const core = require('n8n-core') as typeof import('n8n-core');
// n8n-core's own copy of the DI container (the top-level @n8n/di can be another version).
// eslint-disable-next-line @typescript-eslint/no-require-imports
const { Container } = require(require.resolve('@n8n/di', {
	paths: [path.dirname(require.resolve('n8n-core'))],
})) as typeof import('@n8n/di');

export type Credentials = Record<string, ICredentialDataDecryptedObject>;

/** A workflow as n8n exports it (and as `workflows/*.json` holds it). */
export interface WorkflowJson {
	id?: string;
	name: string;
	nodes: INode[];
	connections: IConnections;
	settings?: IWorkflowSettings;
}

const REPO = path.resolve(__dirname, '..', '..');
const PACKAGE_NAME = 'n8n-nodes-chat-archive';

/**
 * The pack's node types, loaded from the TypeScript sources that `package.json`'s `n8n.nodes`
 * entries compile from, keyed by their full type name (`n8n-nodes-chat-archive.<name>`).
 */
export function loadPackNodeTypes(): Record<string, INodeType> {
	const pkg = JSON.parse(readFileSync(path.join(REPO, 'package.json'), 'utf8'));
	const types: Record<string, INodeType> = {};
	for (const dist of pkg.n8n.nodes as string[]) {
		const source = path.join(REPO, dist.replace(/^dist\//, '').replace(/\.js$/, '.ts'));
		// eslint-disable-next-line @typescript-eslint/no-require-imports
		const mod = require(source) as Record<string, new () => INodeType>;
		for (const Ctor of Object.values(mod)) {
			if (typeof Ctor !== 'function') continue;
			const instance = new Ctor();
			if (instance?.description?.name) {
				types[`${PACKAGE_NAME}.${instance.description.name}`] = instance;
			}
		}
	}
	return types;
}

/** Reads a template from `workflows/<name>.json`. */
export function loadTemplate(name: string): WorkflowJson {
	return JSON.parse(readFileSync(path.join(REPO, 'workflows', `${name}.json`), 'utf8'));
}

/** n8n's credentials helper over fixed credential data by type (tests that build their own contexts use it too). */
export class StaticCredentialsHelper extends ICredentialsHelper {
	constructor(private readonly byType: Credentials) {
		super();
	}
	async getDecrypted(_a: IWorkflowExecuteAdditionalData, _n: unknown, type: string) {
		const data = this.byType[type];
		if (!data) throw new Error(`test runner: no credentials of type ${type} were given`);
		return data;
	}
	isCredentialUsableByNode() {
		return true;
	}
	async authenticate(_c: ICredentialDataDecryptedObject, _t: string, options: any) {
		return options;
	}
	getParentTypes() {
		return [];
	}
	getCredentialsProperties() {
		return [];
	}
	async preAuthentication() {
		return undefined;
	}
	async runPreAuthentication() {
		return undefined;
	}
	async getCredentials(): Promise<never> {
		throw new Error('test runner: getCredentials is not supported');
	}
	async updateCredentials() {}
	async updateCredentialsOauthTokenData() {}
}

let binaryDataReady: Promise<void> | undefined;
/** Filesystem binary mode (as n8n 2.x in regular mode): binaries get an id and stream. */
async function initBinaryData(): Promise<void> {
	binaryDataReady ??= Container.get(core.BinaryDataService).init();
	await binaryDataReady;
}

/** One webhook request as the runner saw it, with the run it started (if any). */
export interface WebhookExchange {
	method: string;
	status: number;
	body: string;
	run?: IRun;
}

export interface RunnerOptions {
	workflow: WorkflowJson;
	credentials: Credentials;
	/** Extra node types (e.g. stand-ins) merged over the pack's own. */
	nodeTypes?: Record<string, INodeType>;
}

/**
 * Runs one workflow in-process behind a loopback HTTP server.
 * `start()` → base URL; `webhookUrl()` → the production URL of the trigger;
 * `exchanges` → every request with its status and run; `stop()` closes the server.
 */
export class InProcessN8n {
	readonly workflow: Workflow;
	readonly exchanges: WebhookExchange[] = [];
	private server?: http.Server;
	private baseUrl = '';
	private pending = new Set<Promise<unknown>>();
	private executionCounter = 0;

	constructor(private readonly options: RunnerOptions) {
		const types = { ...loadPackNodeTypes(), ...(options.nodeTypes ?? {}) };
		const nodeTypes: INodeTypes = {
			getByName: (t: string) => types[t],
			// Unknown types (e.g. n8n-nodes-base.stickyNote) are undefined, as n8n treats
			// nodes whose package is not installed; they fail only if they are executed.
			getByNameAndVersion: (t: string) => types[t],
			getKnownTypes: () => ({}),
		} as INodeTypes;
		const wf = options.workflow;
		this.workflow = new Workflow({
			// one id per runner: n8n keys what it keeps per workflow by it (and so does the trigger's credential reuse)
			id: wf.id ?? `wf-test-${randomUUID()}`,
			name: wf.name,
			nodes: wf.nodes,
			connections: wf.connections,
			active: false,
			nodeTypes,
			settings: wf.settings,
		});
	}

	/** The trigger node (the workflow's only node with webhooks). */
	get trigger(): INode {
		const node = Object.values(this.workflow.nodes).find((n) => {
			const type = this.workflow.nodeTypes.getByNameAndVersion(n.type, n.typeVersion);
			return Boolean(type?.description.webhooks?.length);
		});
		if (!node) throw new Error('test runner: the workflow has no webhook trigger');
		return node;
	}

	async start(): Promise<string> {
		await initBinaryData();
		this.server = http.createServer((req, res) => {
			const job = this.handle(req, res).catch((error) => {
				if (!res.headersSent) {
					res.statusCode = 500;
					res.end(String(error?.message ?? error));
				}
			});
			this.track(job);
		});
		await new Promise<void>((resolve) => this.server!.listen(0, '127.0.0.1', resolve));
		const { port } = this.server.address() as AddressInfo;
		this.baseUrl = `http://127.0.0.1:${port}`;
		return this.baseUrl;
	}

	/** Production webhook URL of the trigger: `<base>/webhook/<webhookId>/<path>`. */
	webhookUrl(): string {
		const node = this.trigger;
		const type = this.workflow.nodeTypes.getByNameAndVersion(node.type, node.typeVersion);
		const description = type.description.webhooks![0];
		return `${this.baseUrl}/webhook/${node.webhookId}/${description.path}`;
	}

	/** Waits until every request and the runs they started have finished. */
	async idle(): Promise<void> {
		while (this.pending.size) await Promise.allSettled([...this.pending]);
	}

	async stop(): Promise<void> {
		await this.idle();
		await new Promise<void>((resolve) => (this.server ? this.server.close(() => resolve()) : resolve()));
	}

	/** Runs the workflow from the trigger with the given items (no HTTP, no `webhook()`). */
	async runFromTrigger(items: INodeExecutionData[]): Promise<IRun> {
		return await this.runFrom(this.trigger.name, items);
	}

	/**
	 * Runs the workflow from the named node with the given items as its input, as n8n does after a
	 * trigger of another package (Schedule, Form, Manual) has fired.
	 */
	async runFrom(nodeName: string, items: INodeExecutionData[]): Promise<IRun> {
		const node = this.workflow.getNode(nodeName);
		if (!node) throw new Error(`test runner: no node named ${nodeName}`);
		const executionId = `exec-${++this.executionCounter}`;
		const additionalData = this.additionalData(executionId);
		const runData = createRunExecutionData({
			executionData: {
				nodeExecutionStack: [{ node, data: { main: [items] }, source: null }],
			},
		});
		return await new core.WorkflowExecute(additionalData, 'webhook', runData).processRunExecutionData(
			this.workflow,
		);
	}

	private track(job: Promise<unknown>) {
		this.pending.add(job);
		void job.finally(() => this.pending.delete(job));
	}

	private additionalData(executionId: string, extra: Record<string, unknown> = {}) {
		const hooks = new core.ExecutionLifecycleHooks('webhook', executionId, {
			id: this.workflow.id,
		} as never);
		return {
			hooks,
			executionId,
			credentialsHelper: new StaticCredentialsHelper(this.options.credentials),
			webhookWaitingBaseUrl: 'http://127.0.0.1/webhook-waiting',
			formWaitingBaseUrl: 'http://127.0.0.1/form-waiting',
			...extra,
		} as unknown as IWorkflowExecuteAdditionalData;
	}

	private async handle(req: http.IncomingMessage, res: http.ServerResponse) {
		const chunks: Buffer[] = [];
		for await (const chunk of req) chunks.push(chunk as Buffer);
		const rawBody = Buffer.concat(chunks);
		const url = new URL(req.url ?? '/', this.baseUrl);
		const exchange: WebhookExchange = { method: req.method ?? 'GET', status: 0, body: '' };
		this.exchanges.push(exchange);

		// What n8n's body parser and Express add to the request and response.
		const request = req as any;
		request.rawBody = rawBody;
		request.query = Object.fromEntries(url.searchParams);
		request.params = {};
		request.body = parseBody(rawBody, req.headers['content-type']);
		const response = res as any;
		const finish = (status: number, body: string | Buffer, contentType?: string) => {
			exchange.status = status;
			exchange.body = body.toString();
			if (res.headersSent) return;
			res.statusCode = status;
			if (contentType && !res.getHeader('content-type')) res.setHeader('content-type', contentType);
			res.end(body);
		};
		response.status = (code: number) => {
			res.statusCode = code;
			return response;
		};
		response.send = (body: unknown) => {
			const text = Buffer.isBuffer(body) ? body : String(body ?? '');
			finish(res.statusCode, text, 'text/html; charset=utf-8');
			return response;
		};
		response.json = (body: unknown) => {
			finish(res.statusCode, JSON.stringify(body), 'application/json');
			return response;
		};
		response.type = (contentType: string) => {
			res.setHeader('content-type', contentType === 'text/plain' ? 'text/plain; charset=utf-8' : contentType);
			return response;
		};
		response.set = response.header = (name: string, value: string) => {
			res.setHeader(name, value);
			return response;
		};

		const node = this.trigger;
		const type = this.workflow.nodeTypes.getByNameAndVersion(node.type, node.typeVersion);
		const expectedPath = `/webhook/${node.webhookId}/`;
		const method = (req.method ?? 'GET').toUpperCase();
		const description = type.description.webhooks!.find(
			(w) => w.httpMethod === method && url.pathname === expectedPath + w.path,
		);
		if (!description) return finish(404, JSON.stringify({ message: 'webhook not registered' }));

		const executionId = `exec-${++this.executionCounter}`;
		const additionalData = this.additionalData(executionId, {
			httpRequest: request,
			httpResponse: response,
		});
		const ctx = new core.WebhookContext(
			this.workflow,
			node,
			additionalData,
			'webhook',
			{
				httpMethod: method as never,
				node: node.name,
				path: description.path as string,
				workflowId: this.workflow.id,
				webhookId: node.webhookId,
				webhookDescription: description,
				workflowExecuteAdditionalData: additionalData,
			},
			[],
			null,
		);
		const out = await type.webhook!.call(ctx);
		if (!out.workflowData) {
			if (!res.headersSent) finish(200, '');
			return;
		}
		const responseMode = this.resolve(description, 'responseMode', 'onReceived');
		const runData = createRunExecutionData({
			executionData: {
				nodeExecutionStack: [{ node, data: { main: out.workflowData }, source: null }],
			},
		});
		const execute = () =>
			new core.WorkflowExecute(additionalData, 'webhook', runData).processRunExecutionData(this.workflow);
		if (responseMode === 'lastNode') {
			const run = await execute();
			exchange.run = run;
			if (run.status === 'success') finish(200, '');
			else finish(500, JSON.stringify({ message: 'Error in workflow' }), 'application/json');
		} else {
			if (!out.noWebhookResponse) finish(200, '');
			exchange.run = await execute();
		}
	}

	private resolve(description: IWebhookDescription, key: keyof IWebhookDescription, fallback: string) {
		const value = description[key];
		if (value === undefined) return fallback;
		return String(
			this.workflow.expression.getSimpleParameterValue(this.trigger, value as string, 'webhook', {}) ??
				fallback,
		);
	}
}

function parseBody(raw: Buffer, contentType: string | undefined): unknown {
	if (!raw.length) return {};
	if ((contentType ?? '').includes('json')) {
		try {
			return JSON.parse(raw.toString('utf8'));
		} catch {
			return {};
		}
	}
	if ((contentType ?? '').includes('x-www-form-urlencoded')) {
		return Object.fromEntries(new URLSearchParams(raw.toString('utf8')));
	}
	return {};
}

/** The bytes of a binary property as a node wrote it (inline base64 or n8n's binary data store). */
export async function binaryBytes(binary: IBinaryData): Promise<Buffer> {
	return await Container.get(core.BinaryDataService).getAsBuffer(binary);
}

/** A fresh webhook id for a trigger node in a test workflow. */
export const newWebhookId = (): string => randomUUID();
