/**
 * The one place that turns the pack's credentials into what the engines take: the S3 Archive Store
 * credential into an S3 client, bucket and index key; the OpenPGP Public Keys credential into public
 * keys pinned to their expected fingerprints; the OpenPGP Private Key credential into an unlocked
 * private key (or the Retention Sweeper's archive key: signer and verifier).
 *
 * Keys are read once per execution: cached per execution context (`IExecuteFunctions` of one node
 * run, `IWebhookFunctions` of one webhook request), so a node unlocks its private key once however
 * many items it processes. A failed read is not cached: the next item reports it again.
 */
import { createHash } from 'node:crypto';
import type { S3Client } from '@aws-sdk/client-s3';
import { NodeOperationError, type ICredentialDataDecryptedObject, type INode, type IWebhookFunctions } from 'n8n-workflow';

import { sharedS3Client, type ChecksumMode, type S3Settings } from '../../lib/s3';
import { parseFingerprints, readPrivateKey, readPublicKeys, type CompatibilityProfile, type PrivateKey, type PublicKey } from '../../lib/pgp';
import { createArchiveAuthority, type ArchiveAuthority } from '../../lib/retention';

const S3_ARCHIVE = 's3ArchiveApi';
const PUBLIC_KEYS = 'openPgpPublicKeysApi';
const PRIVATE_KEY = 'openPgpPrivateKeyApi';

/** What reads credentials: a node's execute context or a trigger's webhook context. */
export interface CredentialSource {
	getCredentials(type: string, itemIndex?: number): Promise<ICredentialDataDecryptedObject>;
	getNode(): INode;
}

const perExecution = new WeakMap<object, Map<string, Promise<unknown>>>();

/** `make()` once per execution context and key; a rejected result is dropped so the next call retries. */
async function oncePerExecution<T>(context: object, key: string, make: () => Promise<T>): Promise<T> {
	let cache = perExecution.get(context);
	if (!cache) {
		cache = new Map();
		perExecution.set(context, cache);
	}
	let promise = cache.get(key) as Promise<T> | undefined;
	if (!promise) {
		const made = make();
		promise = made;
		cache.set(key, made);
		made.catch(() => {
			if (cache.get(key) === made) cache.delete(key);
		});
	}
	return await promise;
}

// Credentials of a trigger's webhook()

/** How long a trigger's webhook() reuses a credential it read ({@link withCredentialReuse}). */
export const WEBHOOK_CREDENTIAL_TTL_MS = 10_000;
const WEBHOOK_CREDENTIAL_LIMIT = 256;
const webhookCredentials = new Map<string, { until: number; data: Promise<ICredentialDataDecryptedObject> }>();

/**
 * The webhook context with `getCredentials` answered from a short-lived process cache, per workflow,
 * node, credential type and credential id. Outside an execution n8n resolves each credential in a new
 * workflow that takes an expression isolate of its own (n8n/dist/credentials-helper.js
 * `applyDefaultsAndOverwrites`, in every `getCredentials` of a webhook request): with n8n's default
 * vm expression engine that is the largest cost of a delivery (docs/upstream-n8n.md). A changed
 * credential takes effect within {@link WEBHOOK_CREDENTIAL_TTL_MS}; a failed read is not kept.
 */
export function withCredentialReuse<T extends IWebhookFunctions>(context: T): T {
	const node = context.getNode();
	const workflowId = String(context.getWorkflow().id ?? '');
	const getCredentials = async (type: string, itemIndex?: number): Promise<ICredentialDataDecryptedObject> => {
		const credentialId = node.credentials?.[type]?.id;
		if (!credentialId) return await context.getCredentials(type, itemIndex);
		const key = JSON.stringify([workflowId, node.id ?? node.name, type, credentialId]);
		const now = Date.now();
		let entry = webhookCredentials.get(key);
		if (!entry || now >= entry.until) {
			for (const [other, cached] of webhookCredentials) if (now >= cached.until) webhookCredentials.delete(other);
			if (webhookCredentials.size >= WEBHOOK_CREDENTIAL_LIMIT) webhookCredentials.delete(webhookCredentials.keys().next().value as string);
			const made = { until: now + WEBHOOK_CREDENTIAL_TTL_MS, data: context.getCredentials(type, itemIndex) };
			made.data.catch(() => {
				if (webhookCredentials.get(key) === made) webhookCredentials.delete(key);
			});
			webhookCredentials.set(key, made);
			entry = made;
		}
		return { ...(await entry.data) };
	};
	return new Proxy(context, {
		get(target, property) {
			if (property === 'getCredentials') return getCredentials;
			const value: unknown = Reflect.get(target, property, target);
			return typeof value === 'function' ? (value as (...args: unknown[]) => unknown).bind(target) : value;
		},
	});
}

// S3 Archive Store credential

/** What the nodes that use the S3 Archive Store credential share for one execution. */
export interface ArchiveStore {
	client: S3Client;
	/** Bucket from the credential (a node parameter may override it). */
	bucket: string;
	/** Secret for counterparty pseudonyms and record ids (from the credential). */
	indexKey: string;
}

/** The S3 Archive Store credential's fields as engine settings (lib/archive `createS3Client`). */
export function s3SettingsFrom(credentials: ICredentialDataDecryptedObject): S3Settings {
	return {
		endpoint: String(credentials.endpoint ?? '').trim(),
		region: String(credentials.region ?? '').trim() || 'us-east-1',
		accessKeyId: String(credentials.accessKeyId ?? '').trim(),
		secretAccessKey: String(credentials.secretAccessKey ?? ''),
		sessionToken: credentials.sessionToken ? String(credentials.sessionToken) : undefined,
		forcePathStyle: credentials.forcePathStyle !== false,
		checksumMode: (credentials.checksumMode as ChecksumMode) || 'WHEN_REQUIRED',
		ignoreTlsErrors: credentials.ignoreTlsErrors === true,
	};
}

/**
 * Reads the S3 Archive Store credential and returns the process's S3 client for its settings
 * (`sharedS3Client`: built once per credential and reused by later executions, never destroyed here).
 *
 * @throws NodeOperationError when the credential's endpoint or keys are unusable.
 */
export async function openArchiveStore(this: CredentialSource): Promise<ArchiveStore> {
	const credentials = await this.getCredentials(S3_ARCHIVE);
	try {
		return {
			client: sharedS3Client(s3SettingsFrom(credentials)),
			bucket: String(credentials.bucket ?? '').trim(),
			indexKey: String(credentials.indexKey ?? ''),
		};
	} catch (error) {
		throw new NodeOperationError(this.getNode(), error as Error, {
			description: 'Check the S3 Archive Store credential',
		});
	}
}

// OpenPGP Public Keys credential

/**
 * The public keys of an OpenPGP Public Keys credential, pinned to its expected fingerprints.
 *
 * @throws PgpError (`KEY_FORMAT`, `PRIVATE_KEY_IN_PUBLIC_FIELD`, `UNEXPECTED_FINGERPRINT`…).
 */
export async function publicKeysFrom(
	credentials: ICredentialDataDecryptedObject,
	profile: CompatibilityProfile,
): Promise<PublicKey[]> {
	const armoredKeys = String(credentials.publicKeys ?? '');
	const fingerprints = String(credentials.expectedFingerprints ?? '');
	const id = createHash('sha256').update(JSON.stringify([armoredKeys, fingerprints, profile])).digest('hex');
	const known = parsedPublicKeys.get(id);
	if (known && Date.now() - known.at < PARSED_KEYS_TTL_MS) return await known.keys;
	const keys = readPublicKeys({
		armoredKeys,
		field: 'Public Keys',
		expectedFingerprints: parseFingerprints(fingerprints),
		profile,
	});
	if (parsedPublicKeys.size >= PARSED_KEYS_LIMIT) parsedPublicKeys.clear();
	parsedPublicKeys.set(id, { keys, at: Date.now() });
	keys.catch(() => {
		if (parsedPublicKeys.get(id)?.keys === keys) parsedPublicKeys.delete(id);
	});
	return await keys;
}

/**
 * Public keys parsed and checked per credential content (a SHA-256 of it) in this process, so a
 * webhook or node run does not parse the same armored keys again. Checked again after
 * {@link PARSED_KEYS_TTL_MS}, so a key that expires or a credential that changes is seen within it.
 */
const parsedPublicKeys = new Map<string, { keys: Promise<PublicKey[]>; at: number }>();
const PARSED_KEYS_TTL_MS = 60_000;
const PARSED_KEYS_LIMIT = 32;

/** Which profile to read keys in (`rfc9580` in the action nodes, `gnupg` in the trigger), for which item. */
export interface PublicKeysOptions {
	profile: CompatibilityProfile;
	itemIndex?: number;
}

/** The node's OpenPGP Public Keys credential as public keys ({@link publicKeysFrom}), once per execution. */
export async function credentialPublicKeys(this: CredentialSource, options: PublicKeysOptions): Promise<PublicKey[]> {
	return await oncePerExecution(this, `${PUBLIC_KEYS}:${options.profile}`, async () =>
		await publicKeysFrom(await this.getCredentials(PUBLIC_KEYS, options.itemIndex), options.profile),
	);
}

/**
 * Like {@link credentialPublicKeys} for a credential the node may leave out: undefined when none is
 * attached or it holds no keys.
 */
export async function credentialPublicKeysIfSet(
	this: CredentialSource,
	options: PublicKeysOptions,
): Promise<PublicKey[] | undefined> {
	return await oncePerExecution(this, `${PUBLIC_KEYS}?:${options.profile}`, async () => {
		let credentials: ICredentialDataDecryptedObject;
		try {
			credentials = await this.getCredentials(PUBLIC_KEYS, options.itemIndex);
		} catch {
			return undefined;
		}
		return credentials.publicKeys ? await publicKeysFrom(credentials, options.profile) : undefined;
	});
}

// OpenPGP Private Key credential

/** The private key fields of an OpenPGP Private Key credential, as the engines take them. */
function privateKeyFields(credentials: ICredentialDataDecryptedObject): { armoredKey: string; field: string; passphrase?: string } {
	return {
		armoredKey: String(credentials.privateKey ?? ''),
		field: 'Private Key',
		passphrase: credentials.passphrase ? String(credentials.passphrase) : undefined,
	};
}

/**
 * The unlocked private key of an OpenPGP Private Key credential (`rfc9580` profile).
 *
 * @throws PgpError (`KEY_FORMAT`, `PASSPHRASE`…) when the key cannot be read or unlocked.
 */
export async function privateKeyFrom(credentials: ICredentialDataDecryptedObject): Promise<PrivateKey> {
	return await readPrivateKey({ ...privateKeyFields(credentials), profile: 'rfc9580' });
}

/** For which item, and (when the credential is optional on the node) which operation needs the key. */
export interface PrivateKeyOptions {
	itemIndex?: number;
	/** Names the operation in the error when no credential is attached ("Seal needs …"). */
	purpose?: string;
}

/**
 * The node's OpenPGP Private Key credential as an unlocked key ({@link privateKeyFrom}), once per
 * execution.
 *
 * @throws NodeOperationError "<purpose> needs an OpenPGP Private Key credential" when a `purpose` is
 *   given and no credential is attached (else n8n's own error); PgpError as {@link privateKeyFrom}.
 */
export async function credentialPrivateKey(this: CredentialSource, options: PrivateKeyOptions = {}): Promise<PrivateKey> {
	return await oncePerExecution(this, PRIVATE_KEY, async () =>
		await privateKeyFrom(await privateKeyCredential.call(this, options)),
	);
}

/**
 * The node's OpenPGP Private Key credential as the archive's key for the Retention Sweeper
 * (`createArchiveAuthority` of lib/retention): signs hold events, sweep plans and reports, and verifies
 * the hold registry and plans against its public part and `trustedKeys` (earlier archive keys kept
 * across a rotation). Once per execution and set of trusted keys.
 *
 * @throws NodeOperationError "<purpose> needs an OpenPGP Private Key credential" when none is attached;
 *   PgpError as `createArchiveAuthority`.
 */
export async function credentialArchiveAuthority(
	this: CredentialSource,
	options: PrivateKeyOptions & { trustedKeys?: PublicKey[] } = {},
): Promise<ArchiveAuthority> {
	const trustedKeys = options.trustedKeys ?? [];
	const trusted = trustedKeys.map((key) => key.getFingerprint()).sort().join(',');
	return await oncePerExecution(this, `${PRIVATE_KEY}:archiveAuthority:${trusted}`, async () =>
		await createArchiveAuthority({ ...privateKeyFields(await privateKeyCredential.call(this, options)), trustedKeys }),
	);
}

async function privateKeyCredential(
	this: CredentialSource,
	{ itemIndex, purpose }: PrivateKeyOptions,
): Promise<ICredentialDataDecryptedObject> {
	if (!purpose) return await this.getCredentials(PRIVATE_KEY, itemIndex);
	try {
		return await this.getCredentials(PRIVATE_KEY, itemIndex);
	} catch {
		throw new NodeOperationError(this.getNode(), `${purpose} needs an OpenPGP Private Key credential`, {
			itemIndex,
			description: 'Select an "OpenPGP Private Key" credential on this node',
		});
	}
}
