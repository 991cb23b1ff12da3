/**
 * What the e2e tests and the webhook bench both build in a real n8n: the credentials of the shipped
 * capture templates, a template instantiated with them, n8n's bare Webhook workflow, and signed Meta
 * deliveries. One copy, so that the queue-mode test and the bench measure the same workflows.
 */
import { createHmac, randomBytes, randomUUID } from 'node:crypto';

import { api } from './n8n';

/** Node types of the pack as n8n names them when loaded from the community packages folder. */
const PACK = 'n8n-nodes-chat-archive';

/** The secrets a capture set-up shares: the Meta app secret (signatures) and the index key. */
export interface CaptureSecrets {
	appSecret: string;
	indexKey: string;
}

/** An S3 store reachable from n8n (the local Ceph RGW in tests). */
export interface StoreAccess {
	endpoint: string;
	region: string;
	accessKeyId: string;
	secretAccessKey: string;
}

export interface CredentialRef {
	id: string;
	name: string;
}

/** Creates a credential through the public API; returns it as a node's `credentials` entry. */
export type CreateCredential = (
	type: string,
	data: Record<string, unknown>,
) => Promise<CredentialRef>;

/** A {@link CreateCredential} on the instance at `baseUrl` (names get a random suffix: they need not be unique). */
export function credentialMaker(baseUrl: string, apiKey: string, label = 'e2e'): CreateCredential {
	return async (type, data) => {
		const name = `${type} (${label} ${randomBytes(3).toString('hex')})`;
		const created = await api(baseUrl, apiKey, 'POST', '/credentials', { name, type, data });
		return { id: created.id, name };
	};
}

/**
 * The WhatsApp Capture (Meta App) credential: media downloads are not exercised (text deliveries), so a
 * throw-away access token and a closed Graph API port.
 */
export function captureCredentialData(secrets: CaptureSecrets): Record<string, unknown> {
	return {
		appSecret: secrets.appSecret,
		verifyToken: randomBytes(8).toString('hex'),
		accessToken: randomBytes(8).toString('hex'),
		graphApiBaseUrl: 'http://127.0.0.1:9',
		graphApiVersion: 'v24.0',
		indexKey: secrets.indexKey,
	};
}

/** Credential data by type for the capture templates: Meta app, recipients' public keys, the store. */
export function templateCredentialData(
	secrets: CaptureSecrets,
	gpg: { publicKeyArmored: string; fingerprint: string },
	store: StoreAccess,
	bucket: string,
): Record<string, Record<string, unknown>> {
	return {
		whatsAppCaptureApi: captureCredentialData(secrets),
		openPgpPublicKeysApi: {
			publicKeys: gpg.publicKeyArmored,
			expectedFingerprints: gpg.fingerprint,
		},
		s3ArchiveApi: {
			endpoint: store.endpoint,
			region: store.region,
			accessKeyId: store.accessKeyId,
			secretAccessKey: store.secretAccessKey,
			forcePathStyle: true,
			checksumMode: 'WHEN_REQUIRED',
			bucket,
			indexKey: secrets.indexKey,
		},
	};
}

export interface BuiltWorkflow {
	nodes: unknown[];
	connections: unknown;
	settings: unknown;
	/** Path of the production webhook after `/webhook/`. */
	webhookPath: string;
}

/**
 * A shipped template (parsed workflows/*.json) with a fresh webhook id on the pack's trigger, each
 * credential created once per type from `data`, and optional trigger parameters (e.g. responseTiming).
 */
export async function instantiateTemplate(
	template: { nodes: any[]; connections: unknown; settings: unknown },
	data: Record<string, Record<string, unknown>>,
	createCredential: CreateCredential,
	triggerParameters: Record<string, unknown> = {},
): Promise<BuiltWorkflow> {
	const webhookId = randomUUID();
	const created: Record<string, CredentialRef> = {};
	const nodes = [];
	for (const original of template.nodes) {
		const copy = structuredClone(original);
		if (copy.webhookId && String(copy.type).startsWith(`${PACK}.`)) {
			copy.webhookId = webhookId;
			copy.parameters = { ...copy.parameters, ...triggerParameters };
		}
		for (const type of Object.keys(copy.credentials ?? {})) {
			if (!data[type]) throw new Error(`credential type "${type}" of the template has no data`);
			created[type] ??= await createCredential(type, data[type]);
			copy.credentials[type] = created[type];
		}
		nodes.push(copy);
	}
	return {
		nodes,
		connections: template.connections,
		settings: template.settings,
		webhookPath: `${webhookId}/webhook`,
	};
}

/** The trigger parameters of Archive at Capture (nodes/shared/captureArchive.ts). */
const ARCHIVE_AT_CAPTURE_PARAMETERS = [
	'archiveAtCapture',
	'prefix',
	'retentionClass',
	'objectLockMode',
	'retainFor',
	'archiveOptions',
];

/**
 * "The template with the archive write in the workflow": a capture template whose trigger archives at
 * capture, rebuilt as it shipped before Archive at Capture. The trigger keeps Encrypt at Capture but
 * not Archive at Capture (nor the store credential); an "Archive Record" node (S3 Archive → Record →
 * Write) with the trigger's archive settings (prefix, retention class, Object Lock Mode, Retain For,
 * Duplicate Check, legal-hold registry) and its store credential takes the trigger's output, and its
 * error output feeds the node the trigger fed (Quarantine Record). Every delivery then starts an
 * execution (a worker's, in queue mode) that writes its records. Throws when the template's trigger
 * does not archive at capture.
 */
export function withArchiveInWorkflow<
	T extends { nodes: any[]; connections: any; settings: unknown },
>(template: T, name = 'Archive Record'): T {
	const trigger = template.nodes.find(
		(n) =>
			n.webhookId &&
			String(n.type).startsWith(`${PACK}.`) &&
			n.parameters?.archiveAtCapture === true,
	);
	if (!trigger) throw new Error('the template has no trigger with Archive at Capture on');
	const fed: unknown[] = template.connections[trigger.name]?.main?.[0] ?? [];
	const parameters = trigger.parameters;
	const archiveOptions = parameters.archiveOptions ?? {};
	const lockMode = parameters.objectLockMode ?? 'GOVERNANCE';
	const archive = {
		id: randomUUID(),
		name,
		type: `${PACK}.s3Archive`,
		typeVersion: 1,
		position: [trigger.position[0] + 300, trigger.position[1]],
		parameters: {
			resource: 'record',
			operation: 'write',
			binaryPropertyName: 'data',
			prefix: parameters.prefix ?? 'archive',
			retentionClass: parameters.retentionClass ?? 'default',
			options: {
				mediaBinaryPropertyName: 'media',
				objectLockMode: lockMode,
				...(lockMode === 'none' ? {} : { retainFor: parameters.retainFor ?? 'P1Y' }),
				...(archiveOptions.duplicateCheck ? { duplicateCheck: archiveOptions.duplicateCheck } : {}),
				...(archiveOptions.legalHoldFromRegistry === false ? { legalHoldFromRegistry: false } : {}),
			},
		},
		credentials: { s3ArchiveApi: trigger.credentials.s3ArchiveApi },
		onError: 'continueErrorOutput',
	};
	const { s3ArchiveApi: _store, ...triggerCredentials } = trigger.credentials;
	const variantTrigger = {
		...trigger,
		parameters: {
			...Object.fromEntries(
				Object.entries(parameters).filter(([key]) => !ARCHIVE_AT_CAPTURE_PARAMETERS.includes(key)),
			),
			archiveAtCapture: false,
		},
		credentials: triggerCredentials,
	};
	return {
		...template,
		nodes: [
			...template.nodes.map((n) =>
				n === trigger
					? variantTrigger
					: // the nodes the trigger fed move one column to the right and down, behind Archive Record
						fed.some((c: any) => c.node === n.name)
						? { ...n, position: [archive.position[0] + 300, archive.position[1] + 160] }
						: n,
			),
			archive,
		],
		connections: {
			...template.connections,
			[trigger.name]: { main: [[{ node: name, type: 'main', index: 0 }]] },
			[name]: { main: [[], fed] },
		},
	};
}

/** Execution-data settings of the capture template (successes not saved), for its peers. */
export const PEER_SETTINGS = {
	executionOrder: 'v1',
	saveDataSuccessExecution: 'none',
	saveDataErrorExecution: 'all',
	saveManualExecutions: false,
	saveExecutionProgress: false,
};

/**
 * n8n's Webhook node alone, the floor: static parameters only (no "=" value) and typeVersion 2.1, so
 * that n8n's webhook phase skips the expression isolate (n8n/dist/webhooks/live-webhooks.js
 * webhookPhaseNeedsIsolate). Answers after the (empty) workflow or on receipt.
 */
export function bareWebhookWorkflow(afterWorkflow: boolean, label = 'bare'): BuiltWorkflow {
	const webhookPath = `${label}-${randomUUID()}`;
	const parameters: Record<string, unknown> = afterWorkflow
		? {
				httpMethod: 'POST',
				path: webhookPath,
				responseMode: 'lastNode',
				responseData: 'noData',
				options: {},
			}
		: { httpMethod: 'POST', path: webhookPath, responseMode: 'onReceived', options: {} };
	return {
		nodes: [
			{
				id: randomUUID(),
				name: 'Webhook',
				type: 'n8n-nodes-base.webhook',
				typeVersion: 2.1,
				position: [0, 0],
				parameters,
				webhookId: randomUUID(),
			},
		],
		connections: {},
		settings: PEER_SETTINGS,
		webhookPath,
	};
}

/** Creates the workflow through the public API and activates it; returns its id. */
export async function createActiveWorkflow(
	baseUrl: string,
	apiKey: string,
	name: string,
	built: BuiltWorkflow,
): Promise<string> {
	const workflow = await api(baseUrl, apiKey, 'POST', '/workflows', {
		name,
		nodes: built.nodes,
		connections: built.connections,
		settings: built.settings,
	});
	await api(baseUrl, apiKey, 'POST', `/workflows/${workflow.id}/activate`);
	return workflow.id;
}

/**
 * A Meta text delivery (the fixture test/fixtures/whatsapp/inbound-text.json, raw) for message `wamid`
 * with `body`, stamped with the time it is sent, as Meta's are: a timestamp far from the receipt files
 * the record by its receipt day, which first looks for an earlier copy in the previous days' folders
 * (docs/FORMAT.md).
 */
export function textDelivery(fixture: string, wamid: string, body?: string): Buffer {
	const delivery = JSON.parse(fixture);
	const message = delivery.entry[0].changes[0].value.messages[0];
	message.id = wamid;
	if (body !== undefined) message.text.body = body;
	message.timestamp = String(Math.floor(Date.now() / 1000));
	return Buffer.from(JSON.stringify(delivery));
}

/** Meta's X-Hub-Signature-256 header value: HMAC-SHA256 of the raw body with the app secret. */
export function metaSignature(appSecret: string, body: Buffer): string {
	return 'sha256=' + createHmac('sha256', appSecret).update(body).digest('hex');
}
