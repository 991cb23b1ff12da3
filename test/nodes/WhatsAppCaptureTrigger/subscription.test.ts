/**
 * Subscription lifecycle through the trigger's `webhookMethods`, called with n8n-core's real
 * `HookContext` (credentials through a credentials helper, `getNodeWebhookUrl` from
 * `additionalData.webhookBaseUrl`, workflow static data), against the Graph stand-in. The stand-in
 * performs Meta's verification GET against the trigger's own URL, served by the in-process runner.
 */
import { randomBytes } from 'node:crypto';

import { HookContext } from 'n8n-core';
import {
	type ICredentialDataDecryptedObject,
	type INodeParameters,
	type IWorkflowExecuteAdditionalData,
} from 'n8n-workflow';

import { WhatsAppCaptureApi } from '../../../credentials/WhatsAppCaptureApi.credentials';
import { WhatsAppCaptureTrigger } from '../../../nodes/WhatsAppCaptureTrigger/WhatsAppCaptureTrigger.node';
import { GraphStandIn } from '../../helpers/graph-stand-in';
import { InProcessN8n, newWebhookId, StaticCredentialsHelper } from '../../helpers/n8n-runner';

const VERIFY_TOKEN = randomBytes(12).toString('hex');
const WABA_ID = '102290129340398';
const PHONE_A = '106540352242922';
const PHONE_B = '106540352242923';

describe('WhatsApp Capture Trigger: subscription lifecycle (HookContext, Graph stand-in)', () => {
	const graph = new GraphStandIn();
	const runners: InProcessN8n[] = [];
	const trigger = new WhatsAppCaptureTrigger();

	const credentials = (overrides: ICredentialDataDecryptedObject = {}) => ({
		whatsAppCaptureApi: {
			appSecret: graph.appSecret,
			appId: graph.appId,
			verifyToken: VERIFY_TOKEN,
			accessToken: graph.accessToken,
			graphApiBaseUrl: graph.baseUrl,
			graphApiVersion: graph.version,
			...overrides,
		},
	});

	/** A running trigger (answers Meta's handshake) and a HookContext factory for it. */
	async function triggerWith(parameters: INodeParameters, credentialOverrides: ICredentialDataDecryptedObject = {}) {
		const creds = credentials(credentialOverrides);
		const n8n = new InProcessN8n({
			workflow: {
				name: 'subscription',
				nodes: [
					{
						id: 't',
						name: 'WhatsApp Capture Trigger',
						type: 'n8n-nodes-chat-archive.whatsAppCaptureTrigger',
						typeVersion: 1,
						position: [0, 0],
						webhookId: newWebhookId(),
						parameters,
						credentials: { whatsAppCaptureApi: { id: '1', name: 'Meta App' } },
					},
				],
				connections: {},
			},
			credentials: creds,
		});
		const base = await n8n.start();
		runners.push(n8n);
		const hook = () =>
			new HookContext(
				n8n.workflow,
				n8n.trigger,
				{
					credentialsHelper: new StaticCredentialsHelper(creds),
					webhookBaseUrl: `${base}/webhook`,
					webhookTestBaseUrl: `${base}/webhook-test`,
				} as unknown as IWorkflowExecuteAdditionalData,
				'trigger',
				'activate',
			);
		return { n8n, hook, url: n8n.webhookUrl() };
	}

	const methods = trigger.webhookMethods.default;

	beforeAll(async () => {
		await graph.start();
		graph.verifyCallbacks = true;
	});
	afterAll(async () => {
		for (const n8n of runners) await n8n.stop();
		await graph.stop();
	});
	beforeEach(() => {
		graph.appSubscriptions.clear();
		graph.wabaApps.clear();
		graph.phones.clear();
		graph.requests.length = 0;
	});

	it('registerApp: checkExists false → create (verified by Meta\'s GET) → checkExists true → delete removes it', async () => {
		const { hook, url, n8n } = await triggerWith({ subscriptionMode: 'registerApp', subscribedFields: ['messages', 'smb_message_echoes'] });
		await expect(methods.checkExists.call(hook())).resolves.toBe(false);
		await expect(methods.create.call(hook())).resolves.toBe(true);
		expect(graph.appSubscriptions.get(graph.appId)).toEqual([
			{
				object: 'whatsapp_business_account',
				callback_url: url,
				active: true,
				fields: [
					{ name: 'messages', version: graph.version },
					{ name: 'smb_message_echoes', version: graph.version },
				],
			},
		]);
		const post = graph.seen(/\/subscriptions$/, 'POST')[0];
		expect(post.auth).toBe('app');
		expect(post.body).toMatchObject({ object: 'whatsapp_business_account', callback_url: url, verify_token: VERIFY_TOKEN, include_values: true });
		// Meta's verification request reached the trigger and was answered with the challenge
		expect(n8n.exchanges.some((e) => e.method === 'GET' && e.status === 200)).toBe(true);
		const staticData = () => (n8n.workflow.staticData['node:WhatsApp Capture Trigger'] ?? {}) as Record<string, unknown>;
		expect(staticData().subscription).toMatchObject({ mode: 'registerApp', callbackUrl: url, created: true, appId: graph.appId });
		await expect(methods.checkExists.call(hook())).resolves.toBe(true);
		await expect(methods.delete.call(hook())).resolves.toBe(true);
		expect(graph.appSubscriptions.get(graph.appId)).toEqual([]);
		expect(graph.seen(/\/subscriptions$/, 'DELETE')[0].query).toEqual({ object: 'whatsapp_business_account' });
		expect(staticData().subscription).toBeUndefined();
	});

	it('registerApp: another callback URL already holds the app subscription → create refuses; delete leaves it', async () => {
		const foreign = { object: 'whatsapp_business_account', callback_url: 'https://other.example.org/hook', active: true, fields: [{ name: 'messages', version: 'v24.0' }] };
		graph.appSubscriptions.set(graph.appId, [{ ...foreign }]);
		const { hook } = await triggerWith({ subscriptionMode: 'registerApp' });
		await expect(methods.checkExists.call(hook())).resolves.toBe(false);
		await expect(methods.create.call(hook())).rejects.toThrow(/another callback URL/);
		await expect(methods.delete.call(hook())).resolves.toBe(true);
		expect(graph.appSubscriptions.get(graph.appId)).toEqual([foreign]);
		expect(graph.seen(/\/subscriptions$/, 'DELETE')).toHaveLength(0);
	});

	it('registerApp: a subscription for this URL found in place is kept on delete (not created by this trigger)', async () => {
		const { hook, url } = await triggerWith({ subscriptionMode: 'registerApp' });
		graph.appSubscriptions.set(graph.appId, [
			{ object: 'whatsapp_business_account', callback_url: url, active: true, fields: [{ name: 'messages', version: 'v24.0' }] },
		]);
		await expect(methods.create.call(hook())).resolves.toBe(true);
		expect(graph.seen(/\/subscriptions$/, 'POST')).toHaveLength(0);
		await expect(methods.delete.call(hook())).resolves.toBe(true);
		expect(graph.appSubscriptions.get(graph.appId)).toHaveLength(1);
	});

	it('registerApp: a wrong verify token fails Meta\'s verification (2200); the token is not in the error', async () => {
		const { hook } = await triggerWith({ subscriptionMode: 'registerApp' });
		const wrong = 'wrong-verify-token-value';
		const context = hook();
		const original = context.getCredentials.bind(context);
		context.getCredentials = (async (type: string) => ({ ...(await original(type)), verifyToken: wrong })) as never;
		const error = await methods.create.call(context).catch((e: Error) => e);
		expect(String((error as Error).message)).toMatch(/HTTP 400 OAuthException \(code 2200\)/);
		expect(JSON.stringify(error)).not.toContain(wrong);
		expect(String((error as Error).message)).not.toContain(graph.appSecret);
	});

	it('registerApp without an App ID → a clear error, nothing called', async () => {
		const { hook } = await triggerWith({ subscriptionMode: 'registerApp' }, { appId: '' });
		await expect(methods.create.call(hook())).rejects.toThrow('App ID is missing or not numeric');
		expect(graph.requests).toHaveLength(0);
	});

	it('overrideWaba: create sets the WABA alternate callback; a second trigger on the same WABA is refused; delete resets only its own', async () => {
		graph.wabaApps.set(WABA_ID, [{ whatsapp_business_api_data: { id: graph.appId, name: 'Archive App', link: 'x' } }]);
		const first = await triggerWith({ subscriptionMode: 'overrideWaba', wabaId: WABA_ID });
		const second = await triggerWith({ subscriptionMode: 'overrideWaba', wabaId: WABA_ID });
		await expect(methods.checkExists.call(first.hook())).resolves.toBe(false);
		await expect(methods.create.call(first.hook())).resolves.toBe(true);
		expect(graph.wabaApps.get(WABA_ID)![0].override_callback_uri).toBe(first.url);
		expect(graph.seen(/subscribed_apps$/, 'POST')[0]).toMatchObject({ auth: 'system', body: { override_callback_uri: first.url, verify_token: VERIFY_TOKEN } });
		await expect(methods.checkExists.call(first.hook())).resolves.toBe(true);

		await expect(methods.create.call(second.hook())).rejects.toThrow(/already has an alternate callback URL/);
		await expect(methods.delete.call(second.hook())).resolves.toBe(true);
		expect(graph.wabaApps.get(WABA_ID)![0].override_callback_uri).toBe(first.url);

		await expect(methods.delete.call(first.hook())).resolves.toBe(true);
		expect(graph.wabaApps.get(WABA_ID)).toHaveLength(1); // the app stays subscribed to the WABA
		expect(graph.wabaApps.get(WABA_ID)![0].override_callback_uri).toBeUndefined();
		expect(graph.seen(/subscribed_apps$/, 'DELETE')).toHaveLength(0);
	});

	it('overridePhoneNumber: two triggers share one app, one phone number each; delete removes only its own override', async () => {
		graph.phones.set(PHONE_A, { application: 'https://app.example.org/hook' });
		graph.phones.set(PHONE_B, { application: 'https://app.example.org/hook' });
		const a = await triggerWith({ subscriptionMode: 'overridePhoneNumber', phoneNumberId: PHONE_A });
		const b = await triggerWith({ subscriptionMode: 'overridePhoneNumber', phoneNumberId: PHONE_B });
		await expect(methods.create.call(a.hook())).resolves.toBe(true);
		await expect(methods.create.call(b.hook())).resolves.toBe(true);
		expect(graph.phones.get(PHONE_A)!.phone_number).toBe(a.url);
		expect(graph.phones.get(PHONE_B)!.phone_number).toBe(b.url);
		expect(graph.seen(new RegExp(`/${PHONE_A}$`), 'POST')[0].body).toEqual({
			webhook_configuration: { override_callback_uri: a.url, verify_token: VERIFY_TOKEN },
		});
		await expect(methods.checkExists.call(a.hook())).resolves.toBe(true);
		await expect(methods.delete.call(a.hook())).resolves.toBe(true);
		expect(graph.phones.get(PHONE_A)).toEqual({ application: 'https://app.example.org/hook' });
		expect(graph.phones.get(PHONE_B)!.phone_number).toBe(b.url);
		await expect(methods.checkExists.call(b.hook())).resolves.toBe(true);
	});

	it('overridePhoneNumber: an override changed by someone else since create is not removed', async () => {
		graph.phones.set(PHONE_A, {});
		const a = await triggerWith({ subscriptionMode: 'overridePhoneNumber', phoneNumberId: PHONE_A });
		await methods.create.call(a.hook());
		graph.phones.get(PHONE_A)!.phone_number = 'https://someone-else.example.org/hook';
		await expect(methods.delete.call(a.hook())).resolves.toBe(true);
		expect(graph.phones.get(PHONE_A)!.phone_number).toBe('https://someone-else.example.org/hook');
	});

	it('manual mode and Twilio call nothing', async () => {
		const manual = await triggerWith({ subscriptionMode: 'manual' });
		const twilio = await triggerWith({ provider: 'twilio', subscriptionMode: 'registerApp' });
		for (const { hook } of [manual, twilio]) {
			await expect(methods.checkExists.call(hook())).resolves.toBe(true);
			await expect(methods.create.call(hook())).resolves.toBe(true);
			await expect(methods.delete.call(hook())).resolves.toBe(true);
		}
		expect(graph.requests).toHaveLength(0);
	});

	it('credential test: GET /<version>/me with the access token (200), 401 with a wrong one', async () => {
		const { request } = new WhatsAppCaptureApi().test;
		expect(request).toMatchObject({
			method: 'GET',
			baseURL: '={{$credentials.graphApiBaseUrl}}',
			url: '=/{{$credentials.graphApiVersion}}/me',
			headers: { Authorization: '=Bearer {{$credentials.accessToken}}' },
		});
		const me = (token: string) => fetch(`${graph.baseUrl}/${graph.version}/me`, { headers: { Authorization: `Bearer ${token}` } });
		expect((await me(graph.accessToken)).status).toBe(200);
		const refused = await me('EAAGnot-a-token');
		expect(refused.status).toBe(401);
		expect(await refused.json()).toMatchObject({ error: { type: 'OAuthException', code: 190, fbtrace_id: expect.any(String) } });
	});
});
