/**
 * The template workflow (`workflows/whatsapp-capture-archive.json`) in in-process n8n-core, wired to a
 * store endpoint (the store itself or the fault proxy) and a bucket, with fresh secrets. The template
 * encrypts at capture: the trigger's items carry ciphertext (binary `data`) and routing fields only, so
 * `records(run)` are those ciphertexts decrypted with `gpg` (done once per claimed run in `post`).
 */
import { createHash, randomBytes } from 'node:crypto';

import type { IDataObject, INodeExecutionData, IRun } from 'n8n-workflow';

import { gpgDecrypt, makeGpgHome } from '../../helpers/gpg';
import { binaryBytes, InProcessN8n, loadTemplate, type WorkflowJson } from '../../helpers/n8n-runner';
import { s3Settings } from '../../helpers/s3';
import { sign } from './deliveries';

export const nodeOutput = (run: IRun | undefined, node: string): INodeExecutionData[] =>
	run?.data.resultData.runData[node]?.[0]?.data?.main?.[0] ?? [];

export const TRIGGER = 'WhatsApp Capture Trigger';
export const ARCHIVE = 'Archive Record';
export const QUARANTINE = 'Quarantine Record';

export interface Pipeline {
	n8n: InProcessN8n;
	appSecret: string;
	indexKey: string;
	secrets: Record<string, string>;
	post(body: Buffer, signature?: string): Promise<{ status: number; run?: IRun }>;
	/** POST signed with the app secret. */
	postSigned(body: Buffer): Promise<{ status: number; run?: IRun }>;
	/** The records the trigger emitted in this run (its ciphertexts, decrypted). */
	records(run?: IRun): IDataObject[];
	/** The trigger's items as n8n holds them (routing fields, `encrypted: true`). */
	emitted(run?: IRun): IDataObject[];
	/** Archive Record's results. */
	written(run?: IRun): IDataObject[];
	/** Quarantine Record's results (items the archive write refused, kept still encrypted). */
	quarantined(run?: IRun): IDataObject[];
	stop(): Promise<void>;
}

export async function startPipeline(options: {
	endpoint?: string;
	bucket: string;
	/** A Graph API stand-in for media downloads (default: a closed port, downloads fail fast). */
	graph?: { baseUrl: string; accessToken: string };
	/**
	 * Whether the bucket has Object Lock (default true). Without it the template's writes are set to
	 * Object Lock Mode None, as its notes tell users of stores without Object Lock.
	 */
	objectLock?: boolean;
}): Promise<Pipeline> {
	const gpg = await makeGpgHome();
	const settings = s3Settings();
	const appSecret = randomBytes(16).toString('hex');
	const verifyToken = randomBytes(12).toString('hex');
	const indexKey = randomBytes(32).toString('hex');
	const n8n = new InProcessN8n({
		workflow: options.objectLock === false ? withoutObjectLock(loadTemplate('whatsapp-capture-archive')) : loadTemplate('whatsapp-capture-archive'),
		credentials: {
			// Encrypt at Capture needs the store's index key; media downloads fail fast (closed port)
			whatsAppCaptureApi: {
				appSecret,
				verifyToken,
				indexKey,
				accessToken: options.graph?.accessToken ?? randomBytes(12).toString('hex'),
				graphApiBaseUrl: options.graph?.baseUrl ?? 'http://127.0.0.1:9',
				graphApiVersion: 'v24.0',
			},
			openPgpPublicKeysApi: { publicKeys: gpg.publicKeyArmored, expectedFingerprints: '' },
			s3ArchiveApi: {
				endpoint: options.endpoint ?? settings.endpoint,
				region: settings.region,
				accessKeyId: settings.accessKeyId,
				secretAccessKey: settings.secretAccessKey,
				forcePathStyle: true,
				checksumMode: 'WHEN_REQUIRED',
				bucket: options.bucket,
				indexKey,
			},
		},
	});
	await n8n.start();
	const claimed = new WeakSet<object>();
	const decrypted = new WeakMap<IRun, IDataObject[]>();
	const decrypt = async (run: IRun) => {
		const records: IDataObject[] = [];
		for (const item of nodeOutput(run, TRIGGER)) {
			const data = item.binary?.data;
			records.push(data ? (JSON.parse(gpgDecrypt(gpg.home, await binaryBytes(data)).toString('utf8')) as IDataObject) : item.json);
		}
		decrypted.set(run, records);
	};
	const post = async (body: Buffer, signature?: string) => {
		const headers: Record<string, string> = { 'content-type': 'application/json' };
		if (signature !== undefined) headers['x-hub-signature-256'] = signature;
		const before = n8n.exchanges.length;
		const response = await fetch(n8n.webhookUrl(), { method: 'POST', headers, body: new Uint8Array(body) });
		await response.arrayBuffer();
		// the exchange of this request: its run's records carry the body's SHA-256 (several concurrent
		// identical bodies each claim one run)
		const sha = createHash('sha256').update(body).digest('hex');
		const mine = n8n.exchanges.slice(before).find((e) => {
			if (!e.run || claimed.has(e)) return false;
			const first = nodeOutput(e.run, TRIGGER)[0]?.json;
			return first?.delivery_sha256 === sha;
		});
		if (mine) claimed.add(mine);
		if (mine?.run) await decrypt(mine.run);
		return { status: response.status, run: mine?.run };
	};
	return {
		n8n,
		appSecret,
		indexKey,
		secrets: {
			appSecret,
			verifyToken,
			indexKey,
			accessKeyId: settings.accessKeyId,
			secretAccessKey: settings.secretAccessKey,
			gpgSecretKey: gpg.secretKeyArmored,
		},
		post,
		postSigned: (body) => post(body, sign(body, appSecret)),
		records: (run) => (run ? (decrypted.get(run) ?? []) : []),
		emitted: (run) => nodeOutput(run, TRIGGER).map((i) => i.json),
		written: (run) => nodeOutput(run, ARCHIVE).map((i) => i.json.archive as IDataObject),
		quarantined: (run) => nodeOutput(run, QUARANTINE).map((i) => i.json.archive as IDataObject),
		async stop() {
			await n8n.stop();
			await gpg.cleanup();
		},
	};
}

/** The template with its writes set to Object Lock Mode None (for a bucket without Object Lock). */
function withoutObjectLock(workflow: WorkflowJson): WorkflowJson {
	for (const node of workflow.nodes) {
		const parameters = node.parameters as IDataObject;
		if (parameters.operation !== 'write') continue;
		const { objectLockMode: _mode, retainFor: _retainFor, ...options } = (parameters.options ?? {}) as IDataObject;
		parameters.options = { ...options, objectLockMode: 'none' };
	}
	return workflow;
}
