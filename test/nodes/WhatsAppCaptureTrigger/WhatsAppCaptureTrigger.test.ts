/**
 * Node-level tests: `webhook()` runs inside n8n-core's real `WebhookContext` behind a loopback
 * node:http server (the few Express members n8n adds — rawBody, query, status/type/send/json — are
 * added by hand), so status codes, bodies and emitted items are observed as Meta would see them.
 */
import { createHmac } from 'node:crypto';
import http from 'node:http';
import { mkdtempSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';

process.env.N8N_USER_FOLDER ??= mkdtempSync(path.join(os.tmpdir(), 'capture-trigger-'));

import { ExecutionLifecycleHooks, WebhookContext } from 'n8n-core';
import {
	ICredentialsHelper,
	Workflow,
	type ICredentialDataDecryptedObject,
	type IDataObject,
	type INode,
	type INodeParameters,
	type INodeTypes,
	type IWebhookResponseData,
	type IWorkflowExecuteAdditionalData,
	resolveWebhookDescriptionField,
	webhookDescriptionIsNativelyResolvable,
} from 'n8n-workflow';

import { WhatsAppCaptureApi } from '../../../credentials/WhatsAppCaptureApi.credentials';
import { WhatsAppCaptureTrigger } from '../../../nodes/WhatsAppCaptureTrigger/WhatsAppCaptureTrigger.node';
import { deliveryFixtures, expectedRecords, fixtureBody } from '../../lib/capture/fixtures';

const APP_SECRET = 'node-test-app-secret';
const VERIFY_TOKEN = 'node-test-verify-token';
const TYPE = 'n8n-nodes-chat-archive.whatsAppCaptureTrigger';
const sign = (body: Buffer | string, secret = APP_SECRET) =>
	'sha256=' + createHmac('sha256', secret).update(body).digest('hex');

class StaticCredentials extends ICredentialsHelper {
	constructor(private readonly data: ICredentialDataDecryptedObject) {
		super();
	}
	async getDecrypted() {
		return this.data;
	}
	isCredentialUsableByNode() {
		return true;
	}
	async authenticate(_c: unknown, _t: unknown, options: never) {
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
		throw new Error('unused');
	}
	async updateCredentials() {}
	async updateCredentialsOauthTokenData() {}
}

interface Exchange {
	status: number;
	body: string;
	contentType: string | undefined;
	result?: IWebhookResponseData;
}

/** A loopback server calling the node's webhook() for each request, with the given parameters. */
async function withServer(
	parameters: INodeParameters,
	run: (url: string, exchanges: Exchange[]) => Promise<void>,
	credentials: ICredentialDataDecryptedObject = { appSecret: APP_SECRET, verifyToken: VERIFY_TOKEN, graphApiVersion: 'v24.0' },
) {
	const nodeType = new WhatsAppCaptureTrigger();
	const nodeTypes = {
		getByName: () => nodeType,
		getByNameAndVersion: () => nodeType,
		getKnownTypes: () => ({}),
	} as unknown as INodeTypes;
	const node: INode = {
		id: 'n1',
		name: 'WhatsApp Capture Trigger',
		type: TYPE,
		typeVersion: 1,
		position: [0, 0],
		webhookId: 'hook-1',
		parameters,
		credentials: { whatsAppCaptureApi: { id: '1', name: 'Meta App' } },
	};
	const workflow = new Workflow({ id: 'wf', name: 'wf', nodes: [node], connections: {}, active: false, nodeTypes });
	const exchanges: Exchange[] = [];

	const server = http.createServer(async (req, res) => {
		const chunks: Buffer[] = [];
		for await (const chunk of req) chunks.push(chunk as Buffer);
		const url = new URL(req.url ?? '/', 'http://127.0.0.1');
		const request = req as any;
		if (!url.searchParams.has('noRawBody')) request.rawBody = Buffer.concat(chunks);
		request.query = Object.fromEntries(url.searchParams);
		request.params = {};
		request.body = {};
		const response = res as any;
		response.status = (code: number) => ((res.statusCode = code), response);
		response.type = (type: string) => (res.setHeader('content-type', type === 'text/plain' ? 'text/plain; charset=utf-8' : type), response);
		response.send = (body: unknown) => {
			if (!res.getHeader('content-type')) res.setHeader('content-type', 'text/html; charset=utf-8');
			res.end(String(body ?? ''));
			return response;
		};
		response.json = (body: unknown) => {
			res.setHeader('content-type', 'application/json');
			res.end(JSON.stringify(body));
			return response;
		};
		const hooks = new ExecutionLifecycleHooks('webhook', 'exec-1', { id: 'wf' } as never);
		const additionalData = {
			hooks,
			executionId: 'exec-1',
			credentialsHelper: new StaticCredentials(credentials),
			webhookWaitingBaseUrl: 'http://127.0.0.1/webhook-waiting',
			formWaitingBaseUrl: 'http://127.0.0.1/form-waiting',
			httpRequest: request,
			httpResponse: response,
		} as unknown as IWorkflowExecuteAdditionalData;
		const method = req.method === 'GET' ? 'GET' : 'POST';
		const description = nodeType.description.webhooks!.find((w) => w.httpMethod === method)!;
		const ctx = new WebhookContext(
			workflow,
			node,
			additionalData,
			'webhook',
			{
				httpMethod: method,
				node: node.name,
				path: description.path,
				workflowId: 'wf',
				webhookId: 'hook-1',
				webhookDescription: description,
				workflowExecuteAdditionalData: additionalData,
			},
			[],
			null,
		);
		try {
			const result = await nodeType.webhook.call(ctx);
			exchanges.push({ status: res.headersSent || res.writableEnded ? res.statusCode : 0, body: '', contentType: undefined, result });
			if (!res.writableEnded) {
				res.statusCode = 200;
				res.end();
			}
		} catch (error) {
			res.statusCode = 500;
			res.end(String(error));
		}
	});
	await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
	const { port } = server.address() as { port: number };
	try {
		await run(`http://127.0.0.1:${port}/webhook/hook-1/webhook`, exchanges);
	} finally {
		await new Promise((resolve) => server.close(resolve));
	}
}

const post = (url: string, body: Buffer, signature?: string, contentType = 'application/json') =>
	fetch(url, {
		method: 'POST',
		headers: { 'content-type': contentType, ...(signature !== undefined ? { 'x-hub-signature-256': signature } : {}) },
		body: new Uint8Array(body),
	});

const items = (exchange: Exchange) => exchange.result?.workflowData?.[0] ?? [];

describe('WhatsApp Capture Trigger: description', () => {
	const { description } = new WhatsAppCaptureTrigger();

	it('is a webhook trigger with setup (GET) and default (POST) on path "webhook"', () => {
		expect(description.name).toBe('whatsAppCaptureTrigger');
		expect(description.displayName).toBe('WhatsApp Capture Trigger');
		expect(description.group).toEqual(['trigger']);
		expect(description.inputs).toEqual([]);
		expect(description.outputs).toEqual(['main']);
		expect(description.credentials).toEqual([
			{ name: 'whatsAppCaptureApi', required: true, displayOptions: { show: { provider: ['metaCloud'] } } },
			{ name: 'twilioWhatsAppApi', required: true, displayOptions: { show: { provider: ['twilio'] } } },
			{ name: 'openPgpPublicKeysApi', required: true, testedBy: 'openPgpPublicKeysApiTest', displayOptions: { show: { encryptAtCapture: [true] } } },
			{ name: 's3ArchiveApi', required: true, testedBy: 's3ArchiveApiTest', displayOptions: { show: { encryptAtCapture: [true], archiveAtCapture: [true] } } },
		]);
		expect(description.webhooks).toHaveLength(2);
		expect({ ...description.webhooks![0] }).toEqual({ name: 'setup', httpMethod: 'GET', responseMode: 'onReceived', path: 'webhook' });
		expect(description.webhooks![1]).toEqual(expect.objectContaining({
			name: 'default',
			httpMethod: 'POST',
			responseMode: expect.stringMatching(/^=\{\{.*responseTiming.*\}\}$/s),
			responseData: 'noData',
			path: 'webhook',
		}));
	});

	// Respond, and Archive at Capture (answered after the workflow when it emits the records it could not store)
	const responseModes: Array<[INodeParameters, string]> = [
		[{ responseTiming: 'afterWorkflow' }, 'lastNode'],
		[{ responseTiming: 'immediately' }, 'onReceived'],
		[{ encryptAtCapture: true, archiveAtCapture: true }, 'lastNode'],
		[{ encryptAtCapture: false, archiveAtCapture: true, responseTiming: 'immediately' }, 'onReceived'],
	];

	// n8n 2.40+ needs no expression sandbox for a webhook request when every field of the description
	// resolves natively (n8n-workflow webhookDescriptionIsNativelyResolvable) and, from version 1.1 on,
	// for the request body (webhook-helpers parseRequestBody evaluates an expression for version 1)
	it('every webhook field resolves without the expression engine; version 1.1 is the default', () => {
		expect(description.version).toEqual([1, 1.1]);
		expect(description.defaultVersion).toBe(1.1);
		for (const webhook of description.webhooks!) expect(webhookDescriptionIsNativelyResolvable(webhook)).toBe(true);
		for (const [parameters, mode] of responseModes) {
			const node: INode = { id: 'n', name: 'T', type: TYPE, typeVersion: 1.1, position: [0, 0], parameters };
			expect(resolveWebhookDescriptionField(node, description.webhooks![1], 'responseMode')).toEqual({ resolved: true, value: mode });
		}
	});

	it.each(responseModes)('parameters %j → responseMode %s (evaluated by n8n-workflow)', (parameters, mode) => {
		const nodeType = new WhatsAppCaptureTrigger();
		const nodeTypes = { getByName: () => nodeType, getByNameAndVersion: () => nodeType, getKnownTypes: () => ({}) } as unknown as INodeTypes;
		const node: INode = { id: 'n', name: 'T', type: TYPE, typeVersion: 1, position: [0, 0], parameters };
		const workflow = new Workflow({ id: 'w', nodes: [node], connections: {}, active: false, nodeTypes });
		const expression = description.webhooks![1].responseMode as string;
		expect(workflow.expression.getSimpleParameterValue(node, expression, 'webhook', {})).toBe(mode);
	});

	it('parameters and defaults', () => {
		const byName = Object.fromEntries(description.properties.map((p) => [p.name, p]));
		expect(byName.provider.default).toBe('metaCloud');
		expect(byName.subscriptionMode.default).toBe('manual');
		expect(byName.subscriptionMode.options!.map((o) => (o as { value: string }).value)).toEqual([
			'manual',
			'registerApp',
			'overrideWaba',
			'overridePhoneNumber',
		]);
		expect(byName.subscribedFields.default).toEqual(['messages']);
		expect(byName.encryptAtCapture.default).toBe(false);
		expect(byName.downloadMedia.default).toBe(false);
		expect(byName.outputMode.default).toBe('perRecord');
		expect(byName.outputMode.options!.map((o) => (o as { value: string }).value)).toEqual(['perRecord', 'perDelivery']);
		expect(byName.responseTiming.default).toBe('immediately');
		expect(byName.responseTiming.options!.map((o) => (o as { value: string }).value)).toEqual(['immediately', 'afterWorkflow']);
		const options = (byName.options.options as Array<{ name: string; default: unknown }>).map((o) => [o.name, o.default]);
		expect(options).toEqual([
			['fields', []],
			['maxBodySizeMb', 3],
			['mediaAttempts', 3],
			['mediaRetryDelayMs', 500],
			['messageTypes', []],
			['statusKinds', []],
			['twilioSignatureUrl', ''],
		]);
	});

	it('manual subscription: checkExists/create/delete are true without calling Meta', async () => {
		const trigger = new WhatsAppCaptureTrigger();
		const hook = { getNodeParameter: () => 'manual', getNode: () => ({}) } as never;
		await expect(trigger.webhookMethods.default.checkExists.call(hook)).resolves.toBe(true);
		await expect(trigger.webhookMethods.default.create.call(hook)).resolves.toBe(true);
		await expect(trigger.webhookMethods.default.delete.call(hook)).resolves.toBe(true);
	});

	it('the credential has the documented fields and a test request', () => {
		const credential = new WhatsAppCaptureApi();
		expect(credential.name).toBe('whatsAppCaptureApi');
		expect(credential.properties.map((p) => [p.name, p.default, Boolean(p.required), Boolean(p.typeOptions?.password)])).toEqual([
			['appSecret', '', true, true],
			['verifyToken', '', true, true],
			['accessToken', '', false, true],
			['appId', '', false, false],
			['indexKey', '', false, true],
			['graphApiBaseUrl', 'https://graph.facebook.com', false, false],
			['graphApiVersion', 'v24.0', false, false],
		]);
		expect(credential.test.request.method).toBe('GET');
	});
});

describe('WhatsApp Capture Trigger: webhook() in n8n-core WebhookContext', () => {
	it('GET handshake: right token → 200 text/plain challenge; wrong token or mode → 403', async () => {
		await withServer({}, async (url) => {
			const ok = await fetch(`${url}?hub.mode=subscribe&hub.verify_token=${VERIFY_TOKEN}&hub.challenge=1158201444`);
			expect(ok.status).toBe(200);
			expect(ok.headers.get('content-type')).toMatch(/^text\/plain/);
			expect(await ok.text()).toBe('1158201444');
			expect((await fetch(`${url}?hub.mode=subscribe&hub.verify_token=nope&hub.challenge=1`)).status).toBe(403);
			expect((await fetch(`${url}?hub.mode=unsubscribe&hub.verify_token=${VERIFY_TOKEN}&hub.challenge=1`)).status).toBe(403);
			expect((await fetch(url)).status).toBe(403);
		});
	});

	it.each(deliveryFixtures)('%s signed → one item per record, equal to the expected records', async (name) => {
		await withServer({}, async (url, exchanges) => {
			const body = fixtureBody(name);
			const response = await post(url, body, sign(body));
			expect(response.status).toBe(200);
			const out = items(exchanges[0]).map((item) => item.json);
			const expected = expectedRecords(name, undefined) as Array<Record<string, unknown>>;
			expect(out).toHaveLength(expected.length);
			out.forEach((record, index) => {
				expect(record.received_at).toEqual(expect.stringMatching(/^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z$/));
				// received_at is the trigger's clock, and filed_by / timestamp_skew_seconds are measured from it
				const receipt = { received_at: 'X', filed_by: 'X', timestamp_skew_seconds: 'X' };
				expect(JSON.parse(JSON.stringify({ ...record, ...receipt }))).toEqual({ ...expected[index], ...receipt });
			});
		});
	});

	it.each([
		['no header', undefined, (b: Buffer) => b],
		['wrong secret', sign(fixtureBody('inbound-text'), 'other'), (b: Buffer) => b],
		['sha1 prefix', sign(fixtureBody('inbound-text')).replace('sha256=', 'sha1='), (b: Buffer) => b],
		['one byte of body changed', sign(fixtureBody('inbound-text')), (b: Buffer) => {
			const m = Buffer.from(b);
			m[10] ^= 1;
			return m;
		}],
	])('%s → 401 {"error":"invalid signature"}, no execution', async (_label, signature, mutate) => {
		await withServer({}, async (url, exchanges) => {
			const response = await post(url, mutate(fixtureBody('inbound-text')), signature);
			expect(response.status).toBe(401);
			expect(await response.json()).toEqual({ error: 'invalid signature' });
			expect(exchanges[0].result).toEqual({ noWebhookResponse: true });
		});
	});

	it('no rawBody on the request → 401 (fail closed, body never re-serialized)', async () => {
		await withServer({}, async (url, exchanges) => {
			const body = fixtureBody('inbound-text');
			const response = await post(`${url}?noRawBody=1`, body, sign(body));
			expect(response.status).toBe(401);
			expect(exchanges[0].result).toEqual({ noWebhookResponse: true });
		});
	});

	it('signed body that is not JSON → one quarantine item with the raw body', async () => {
		await withServer({}, async (url, exchanges) => {
			const body = Buffer.from('definitely not json');
			const response = await post(url, body, sign(body), 'text/plain');
			expect(response.status).toBe(200);
			const [item, ...rest] = items(exchanges[0]);
			expect(rest).toHaveLength(0);
			expect(item.json.record_kind).toBe('quarantine');
			expect(item.json.raw).toEqual({ body_base64: body.toString('base64'), content_type: 'text/plain' });
		});
	});

	it('escaped-unicode signature is accepted', async () => {
		await withServer({}, async (url, exchanges) => {
			const body = fixtureBody('location-and-reaction-batch');
			const escaped = body.toString('utf8').replace(/👍/g, '\\ud83d\\udc4d');
			const response = await post(url, body, sign(escaped));
			expect(response.status).toBe(200);
			expect(items(exchanges[0])).toHaveLength(2);
		});
	});

	it('perDelivery → one item holding all records', async () => {
		await withServer({ outputMode: 'perDelivery' }, async (url, exchanges) => {
			const body = fixtureBody('location-and-reaction-batch');
			await post(url, body, sign(body));
			const out = items(exchanges[0]);
			expect(out).toHaveLength(1);
			expect(out[0].json).toMatchObject({
				schema_version: 2,
				channel: 'whatsapp',
				record_count: 2,
				filtered_out_count: 0,
				signature_verified: true,
				graph_api_version: 'v24.0',
				content_type: 'application/json',
				body_base64: body.toString('base64'),
			});
			expect((out[0].json.records as IDataObject[]).map((r) => r.type)).toEqual(['location', 'reaction']);
		});
	});

	it('filters: statusKinds without "delivered" → the delivered status starts no execution, 200', async () => {
		await withServer({ options: { statusKinds: ['read', 'failed'] } }, async (url, exchanges) => {
			const delivered = fixtureBody('status-delivered');
			const response = await post(url, delivered, sign(delivered));
			expect(response.status).toBe(200);
			expect(exchanges[0].result).toEqual({ noWebhookResponse: true });
			const failed = fixtureBody('status-failed');
			await post(url, failed, sign(failed));
			expect(items(exchanges[1]).map((i) => i.json.type)).toEqual(['failed']);
		});
	});

	it('a body over Options → Max Body Size (default 3 MiB) → 413 before any signature work, no execution; raising the option accepts it', async () => {
		const text = 'x'.repeat(3 * 1024 * 1024);
		const body = Buffer.from(JSON.stringify({ object: 'whatsapp_business_account', entry: [{ id: '1', changes: [{ field: 'messages', value: { note: text } }] }] }));
		await withServer({}, async (url, exchanges) => {
			const response = await post(url, body, sign(body));
			expect(response.status).toBe(413);
			expect(await response.json()).toEqual({ error: 'body too large' });
			expect(exchanges[0].result).toEqual({ noWebhookResponse: true });
			// exactly at the limit: accepted
			const padded = Buffer.concat([fixtureBody('inbound-text'), Buffer.alloc(3 * 1024 * 1024 - fixtureBody('inbound-text').length, ' ')]);
			expect((await post(url, padded, sign(padded))).status).toBe(200);
			expect(items(exchanges[1])).toHaveLength(1);
		});
		await withServer({ options: { maxBodySizeMb: 4 } }, async (url, exchanges) => {
			expect((await post(url, body, sign(body))).status).toBe(200);
			expect(items(exchanges[0])).toHaveLength(1);
		});
		await withServer({ options: { maxBodySizeMb: 0.001 } }, async (url) => {
			const small = fixtureBody('inbound-text');
			expect((await post(url, small, sign(small))).status).toBe(413);
		});
	});

	it('missing app secret in the credential → 401', async () => {
		await withServer({}, async (url) => {
			const body = fixtureBody('inbound-text');
			expect((await post(url, body, sign(body, ''))).status).toBe(401);
		}, { appSecret: '', verifyToken: VERIFY_TOKEN });
	});
});
