/**
 * Webhook subscription lifecycle of the capture trigger, on the Graph API:
 * - `registerApp`: the app subscription (Meta, "Graph API – Application Subscriptions" /
 *   "Webhooks – Getting Started"): `GET|POST|DELETE /<app-id>/subscriptions` with an app access token
 *   `<app-id>|<app-secret>`, `object=whatsapp_business_account`, `callback_url`, `verify_token`, `fields`.
 * - `overrideWaba`: a WABA alternate callback (Meta, "Webhook overrides"):
 *   `POST /<WABA_ID>/subscribed_apps { override_callback_uri, verify_token }`, read back with `GET`.
 * - `overridePhoneNumber`: a phone number alternate callback (same page):
 *   `POST /<PHONE_NUMBER_ID> { webhook_configuration: { override_callback_uri, verify_token } }`, read back
 *   with `GET /<PHONE_NUMBER_ID>?fields=webhook_configuration`.
 * Overrides let several triggers share one Meta app: each owns one WABA or phone number.
 *
 * Ownership rule: {@link deleteSubscription} only removes what {@link createSubscription} created for
 * the same callback URL (the caller keeps the returned {@link SubscriptionState}, e.g. in n8n's workflow
 * static data) and only while Graph still shows that URL; a subscription found in place, or changed
 * since, is left alone. Creating over another callback URL is refused (it would steal its deliveries).
 */
import { isObject, stringOrNull } from './content';
import { graphRequest, type GraphEndpoint } from './graph';
import { WHATSAPP_OBJECT } from './normalize';
import type { JsonObject } from './types';

/** How the trigger's callback URL gets to Meta. `manual`: the user pastes it; nothing is called. */
export type SubscriptionMode = 'manual' | 'registerApp' | 'overrideWaba' | 'overridePhoneNumber';

/** What the trigger wants registered. */
export interface SubscriptionTarget {
	mode: SubscriptionMode;
	/** The trigger's production webhook URL (`getNodeWebhookUrl('default')`). */
	callbackUrl: string;
	/** Verify token Meta echoes in the handshake (credential). */
	verifyToken: string;
	/** Meta App ID: required for `registerApp`; used to find the app's entry for `overrideWaba`. */
	appId?: string;
	/** App Secret: with `appId` forms the app access token for `registerApp`. */
	appSecret?: string;
	/** System-user access token: required for the override modes. */
	accessToken?: string;
	/** WhatsApp Business Account id (`overrideWaba`). */
	wabaId?: string;
	/** Business phone number id (`overridePhoneNumber`). */
	phoneNumberId?: string;
	/** App subscription fields (`registerApp`), default `['messages']`. */
	fields?: string[];
}

/** What {@link createSubscription} did; keep it to let {@link deleteSubscription} undo only that. */
export interface SubscriptionState {
	mode: SubscriptionMode;
	callbackUrl: string;
	/** True when this trigger created (or changed) the registration; false when it was found in place. */
	created: boolean;
	appId?: string;
	wabaId?: string;
	phoneNumberId?: string;
	fields?: string[];
	/** ISO 8601 UTC time of creation. */
	at: string;
}

/** Result of {@link deleteSubscription}. */
export interface DeleteSubscriptionResult {
	deleted: boolean;
	/** Why nothing was removed, when `deleted` is false. */
	reason?: string;
}

/** A subscription request that cannot be carried out (missing setting, conflicting registration). */
export class SubscriptionError extends Error {
	constructor(message: string) {
		super(message);
		this.name = 'SubscriptionError';
	}
}

/**
 * Whether Meta currently delivers to `target.callbackUrl` as configured:
 * `registerApp` — an active `whatsapp_business_account` app subscription with this callback URL and
 * every wanted field; `overrideWaba` — the app's (or any) `subscribed_apps` entry has this
 * `override_callback_uri`; `overridePhoneNumber` — `webhook_configuration.phone_number` is this URL.
 * `manual` is always true (nothing is registered by the trigger).
 *
 * @throws SubscriptionError for missing settings; GraphApiError when Graph refuses.
 */
export async function checkSubscription(graph: GraphEndpoint, target: SubscriptionTarget): Promise<boolean> {
	switch (target.mode) {
		case 'manual':
			return true;
		case 'registerApp': {
			const current = await appSubscription(graph, target);
			if (!current || current.active === false) return false;
			if (stringOrNull(current.callback_url) !== target.callbackUrl) return false;
			const have = new Set(fieldNames(current.fields));
			return wantedFields(target).every((field) => have.has(field));
		}
		case 'overrideWaba':
			return (await wabaOverride(graph, target)) === target.callbackUrl;
		case 'overridePhoneNumber':
			return (await phoneOverride(graph, target)) === target.callbackUrl;
		default:
			throw new SubscriptionError(`Unknown subscription mode "${String(target.mode)}"`);
	}
}

/**
 * Registers `target.callbackUrl` with Meta. Meta verifies the URL at once (GET handshake with the
 * verify token), so the trigger's webhook must already answer. A registration found in place for
 * this URL is kept and reported with `created: false`.
 *
 * @returns the state to keep for {@link deleteSubscription}.
 * @throws SubscriptionError when settings are missing or another callback URL holds the slot
 *   (app subscription / WABA override / phone override); GraphApiError when Graph refuses.
 */
export async function createSubscription(graph: GraphEndpoint, target: SubscriptionTarget): Promise<SubscriptionState> {
	const state: SubscriptionState = {
		mode: target.mode,
		callbackUrl: target.callbackUrl,
		created: false,
		at: new Date().toISOString(),
	};
	if (target.mode === 'manual') return state;
	if (await checkSubscription(graph, target)) return withIds(state, target);

	if (target.mode === 'registerApp') {
		const current = await appSubscription(graph, target);
		const other = stringOrNull(current?.callback_url);
		if (other !== null && other !== target.callbackUrl && current?.active !== false) {
			throw new SubscriptionError(
				'The Meta app already sends whatsapp_business_account webhooks to another callback URL. Use a WABA or phone number override to share the app, or change the app subscription in the App Dashboard.',
			);
		}
		const fields = mergeFields(other === target.callbackUrl ? fieldNames(current?.fields) : [], wantedFields(target));
		await graphRequest(graph, {
			method: 'POST',
			path: `${requireId(target.appId, 'App ID')}/subscriptions`,
			token: appToken(target),
			body: {
				object: WHATSAPP_OBJECT,
				callback_url: target.callbackUrl,
				verify_token: target.verifyToken,
				fields: fields.join(','),
				include_values: true,
			},
		});
		return { ...withIds(state, target), created: true, fields };
	}
	if (target.mode === 'overrideWaba') {
		const other = await wabaOverride(graph, target);
		if (other !== null && other !== target.callbackUrl) {
			throw new SubscriptionError(
				'This WhatsApp Business Account already has an alternate callback URL for this app (another trigger?). Remove it first or use a phone number override.',
			);
		}
		await graphRequest(graph, {
			method: 'POST',
			path: `${requireId(target.wabaId, 'WhatsApp Business Account ID')}/subscribed_apps`,
			token: requireToken(target),
			body: { override_callback_uri: target.callbackUrl, verify_token: target.verifyToken },
		});
		return { ...withIds(state, target), created: true };
	}
	if (target.mode === 'overridePhoneNumber') {
		const other = await phoneOverride(graph, target);
		if (other !== null && other !== target.callbackUrl) {
			throw new SubscriptionError(
				'This phone number already has an alternate callback URL (another trigger?). Remove it first.',
			);
		}
		await graphRequest(graph, {
			method: 'POST',
			path: requireId(target.phoneNumberId, 'Phone Number ID'),
			token: requireToken(target),
			body: {
				webhook_configuration: {
					override_callback_uri: target.callbackUrl,
					verify_token: target.verifyToken,
				},
			},
		});
		return { ...withIds(state, target), created: true };
	}
	throw new SubscriptionError(`Unknown subscription mode "${String(target.mode)}"`);
}

/**
 * Removes the registration `state` says this trigger created, if Graph still shows it for the same
 * callback URL: `DELETE /<app-id>/subscriptions?object=whatsapp_business_account`; for a WABA override
 * `POST /<WABA_ID>/subscribed_apps` without `override_callback_uri` (back to the app callback; the app
 * stays subscribed to the WABA); for a phone override `override_callback_uri: ""`.
 * Never removes anything without a matching `state` with `created: true`.
 *
 * @throws GraphApiError when Graph refuses a call; SubscriptionError for missing settings.
 */
export async function deleteSubscription(
	graph: GraphEndpoint,
	target: SubscriptionTarget,
	state: SubscriptionState | undefined,
): Promise<DeleteSubscriptionResult> {
	if (target.mode === 'manual') return { deleted: false, reason: 'manual mode' };
	if (!state || state.created !== true || state.mode !== target.mode || state.callbackUrl !== target.callbackUrl) {
		return { deleted: false, reason: 'not created by this trigger' };
	}
	if (target.mode === 'registerApp') {
		const scoped = { ...target, appId: state.appId ?? target.appId };
		const current = await appSubscription(graph, scoped);
		if (stringOrNull(current?.callback_url) !== state.callbackUrl) {
			return { deleted: false, reason: 'the app subscription now points elsewhere' };
		}
		await graphRequest(graph, {
			method: 'DELETE',
			path: `${requireId(scoped.appId, 'App ID')}/subscriptions`,
			token: appToken(scoped),
			query: { object: WHATSAPP_OBJECT },
		});
		return { deleted: true };
	}
	if (target.mode === 'overrideWaba') {
		const scoped = { ...target, wabaId: state.wabaId ?? target.wabaId };
		if ((await wabaOverride(graph, scoped)) !== state.callbackUrl) {
			return { deleted: false, reason: 'the WABA override now points elsewhere' };
		}
		await graphRequest(graph, {
			method: 'POST',
			path: `${requireId(scoped.wabaId, 'WhatsApp Business Account ID')}/subscribed_apps`,
			token: requireToken(scoped),
			body: {},
		});
		return { deleted: true };
	}
	if (target.mode === 'overridePhoneNumber') {
		const scoped = { ...target, phoneNumberId: state.phoneNumberId ?? target.phoneNumberId };
		if ((await phoneOverride(graph, scoped)) !== state.callbackUrl) {
			return { deleted: false, reason: 'the phone number override now points elsewhere' };
		}
		await graphRequest(graph, {
			method: 'POST',
			path: requireId(scoped.phoneNumberId, 'Phone Number ID'),
			token: requireToken(scoped),
			body: { webhook_configuration: { override_callback_uri: '' } },
		});
		return { deleted: true };
	}
	throw new SubscriptionError(`Unknown subscription mode "${String(target.mode)}"`);
}

/** The app's `whatsapp_business_account` subscription, or undefined. */
async function appSubscription(graph: GraphEndpoint, target: SubscriptionTarget): Promise<JsonObject | undefined> {
	const answer = await graphRequest(graph, {
		method: 'GET',
		path: `${requireId(target.appId, 'App ID')}/subscriptions`,
		token: appToken(target),
	});
	const data = Array.isArray(answer.data) ? answer.data.filter(isObject) : [];
	return data.find((subscription) => subscription.object === WHATSAPP_OBJECT);
}

/** The app's WABA alternate callback URL, or null. */
async function wabaOverride(graph: GraphEndpoint, target: SubscriptionTarget): Promise<string | null> {
	const answer = await graphRequest(graph, {
		method: 'GET',
		path: `${requireId(target.wabaId, 'WhatsApp Business Account ID')}/subscribed_apps`,
		token: requireToken(target),
	});
	const data = Array.isArray(answer.data) ? answer.data.filter(isObject) : [];
	const ours = data.find((entry) => {
		const app = isObject(entry.whatsapp_business_api_data) ? entry.whatsapp_business_api_data : {};
		return target.appId ? String(app.id) === target.appId : entry.override_callback_uri === target.callbackUrl;
	});
	return stringOrNull(ours?.override_callback_uri);
}

/** The phone number's alternate callback URL (`webhook_configuration.phone_number`), or null. */
async function phoneOverride(graph: GraphEndpoint, target: SubscriptionTarget): Promise<string | null> {
	const answer = await graphRequest(graph, {
		method: 'GET',
		path: requireId(target.phoneNumberId, 'Phone Number ID'),
		token: requireToken(target),
		query: { fields: 'webhook_configuration' },
	});
	const configuration = isObject(answer.webhook_configuration) ? answer.webhook_configuration : {};
	return stringOrNull(configuration.phone_number);
}

function withIds(state: SubscriptionState, target: SubscriptionTarget): SubscriptionState {
	const result = { ...state };
	if (target.appId) result.appId = target.appId;
	if (target.mode === 'overrideWaba' && target.wabaId) result.wabaId = target.wabaId;
	if (target.mode === 'overridePhoneNumber' && target.phoneNumberId) result.phoneNumberId = target.phoneNumberId;
	if (target.mode === 'registerApp') result.fields = wantedFields(target);
	return result;
}

function wantedFields(target: SubscriptionTarget): string[] {
	const fields = (target.fields ?? []).map((field) => field.trim()).filter(Boolean);
	return fields.length > 0 ? [...new Set(fields)] : ['messages'];
}

function mergeFields(existing: string[], wanted: string[]): string[] {
	return [...new Set([...existing, ...wanted])].sort();
}

/** `fields` as Graph returns them: `[{ name, version }]` or plain strings. */
function fieldNames(fields: unknown): string[] {
	if (!Array.isArray(fields)) return [];
	return fields
		.map((field) => (isObject(field) ? stringOrNull(field.name) : stringOrNull(field)))
		.filter((name): name is string => name !== null);
}

function appToken(target: SubscriptionTarget): string {
	const appId = requireId(target.appId, 'App ID');
	if (!target.appSecret) throw new SubscriptionError('The credential has no App Secret (needed for the app access token)');
	return `${appId}|${target.appSecret}`;
}

function requireToken(target: SubscriptionTarget): string {
	if (!target.accessToken) {
		throw new SubscriptionError('The credential has no Access Token (a system-user token is needed for overrides)');
	}
	return target.accessToken;
}

function requireId(value: string | undefined, label: string): string {
	const id = (value ?? '').trim();
	if (!/^\d{1,32}$/.test(id)) throw new SubscriptionError(`${label} is missing or not numeric`);
	return id;
}
