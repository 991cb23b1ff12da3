import { NodeOperationError, type IHookFunctions } from 'n8n-workflow';

import { GraphApiError, SubscriptionError, checkSubscription, createSubscription, deleteSubscription, type SubscriptionMode, type SubscriptionState, type SubscriptionTarget } from '../../lib/capture';
import type { CaptureCredentials } from '../shared/capture';

/** Key of the remembered subscription in the node's workflow static data. */
const STATE_KEY = 'subscription';

/** The node's subscription settings and credential, as one target for lib/capture. */
async function targetOf(this: IHookFunctions): Promise<{ target: SubscriptionTarget; graph: { baseUrl: string; version: string } }> {
	const mode = this.getNodeParameter('subscriptionMode', 'manual') as SubscriptionMode;
	const credentials = await this.getCredentials<CaptureCredentials>('whatsAppCaptureApi');
	const target: SubscriptionTarget = {
		mode,
		callbackUrl: this.getNodeWebhookUrl('default') ?? '',
		verifyToken: credentials.verifyToken ?? '',
		appId: credentials.appId?.trim() || undefined,
		appSecret: credentials.appSecret,
		accessToken: credentials.accessToken,
	};
	if (mode === 'registerApp') target.fields = this.getNodeParameter('subscribedFields', ['messages']) as string[];
	if (mode === 'overrideWaba') target.wabaId = String(this.getNodeParameter('wabaId', '')).trim();
	if (mode === 'overridePhoneNumber') target.phoneNumberId = String(this.getNodeParameter('phoneNumberId', '')).trim();
	return {
		target,
		graph: {
			baseUrl: credentials.graphApiBaseUrl || 'https://graph.facebook.com',
			version: credentials.graphApiVersion || 'v24.0',
		},
	};
}

/** Twilio (and Meta manual mode) registers nothing: the user configures the URL at the provider. */
function registersNothing(this: IHookFunctions): boolean {
	return (
		this.getNodeParameter('provider', 'metaCloud') === 'twilio' ||
		this.getNodeParameter('subscriptionMode', 'manual') === 'manual'
	);
}

/** Graph and subscription errors as NodeOperationError (messages carry no token). */
function asNodeError(this: IHookFunctions, error: unknown): NodeOperationError {
	if (error instanceof GraphApiError || error instanceof SubscriptionError) {
		return new NodeOperationError(this.getNode(), error.message, {
			description:
				error instanceof GraphApiError && error.fbtraceId ? `Graph fbtrace_id: ${error.fbtraceId}` : undefined,
		});
	}
	return new NodeOperationError(this.getNode(), error as Error);
}

/**
 * `webhookMethods.default` of the trigger: `checkExists` / `create` / `delete` of the Meta registration
 * chosen by Subscription Mode. What `create` registered is remembered in the node's workflow static
 * data, and `delete` only removes that (lib/capture/subscription.ts enforces it).
 */
export const subscriptionMethods = {
	async checkExists(this: IHookFunctions): Promise<boolean> {
		if (registersNothing.call(this)) return true;
		const { target, graph } = await targetOf.call(this);
		try {
			return await checkSubscription(graph, target);
		} catch (error) {
			throw asNodeError.call(this, error);
		}
	},

	async create(this: IHookFunctions): Promise<boolean> {
		if (registersNothing.call(this)) return true;
		const { target, graph } = await targetOf.call(this);
		try {
			const state = await createSubscription(graph, target);
			this.getWorkflowStaticData('node')[STATE_KEY] = { ...state };
			return true;
		} catch (error) {
			throw asNodeError.call(this, error);
		}
	},

	async delete(this: IHookFunctions): Promise<boolean> {
		if (registersNothing.call(this)) return true;
		const staticData = this.getWorkflowStaticData('node');
		const state = staticData[STATE_KEY] as SubscriptionState | undefined;
		const { target, graph } = await targetOf.call(this);
		try {
			const result = await deleteSubscription(graph, target, state);
			if (!result.deleted) {
				this.logger.info(`WhatsApp Capture Trigger: Meta registration left in place (${result.reason})`);
			}
			delete staticData[STATE_KEY];
			return true;
		} catch (error) {
			throw asNodeError.call(this, error);
		}
	},
};
