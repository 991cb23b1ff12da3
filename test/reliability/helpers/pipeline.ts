/**
 * The template workflow (`workflows/whatsapp-capture-archive.json`) as it ships, in in-process
 * n8n-core, wired to a store endpoint (the store itself or the fault proxy) and the test's own bucket,
 * with fresh secrets. Its trigger encrypts and archives at capture: it writes every record (and media)
 * itself and answers 200 without starting an execution when all are stored; only records it could not
 * store are emitted (still encrypted, with `error`) and run through Quarantine Record, which writes
 * them under `quarantine/`.
 *
 * So what a delivery did is read from the store, not from run data: `post` lists the bucket's versions
 * before and after the request and decrypts the new record objects with gpg (the private key of the
 * recipient the template encrypts to). Concurrent requests (`send`) cannot be told apart in the store:
 * tests that race read the bucket's end state (`stored`).
 */
import { createHash, randomBytes } from 'node:crypto';

import type { IDataObject, INodeExecutionData, IRun } from 'n8n-workflow';

import { createS3Client } from '../../../lib/s3';
import { gpgDecrypt, makeGpgHome } from '../../helpers/gpg';
import { binaryBytes, InProcessN8n, loadTemplate, type WorkflowJson } from '../../helpers/n8n-runner';
import { getObjectBytes, s3ArchiveCredential, s3Settings } from '../../helpers/s3';
import { sign } from './deliveries';
import { listVersions, type VersionRef } from './store';

export const nodeOutput = (run: IRun | undefined, node: string): INodeExecutionData[] =>
	run?.data.resultData.runData[node]?.[0]?.data?.main?.[0] ?? [];

export const TRIGGER = 'WhatsApp Capture Trigger';
export const QUARANTINE = 'Quarantine Record';

/** Key prefix of Quarantine Record's writes (its Object Key option in the template). */
export const QUARANTINE_PREFIX = 'quarantine/';
const MEDIA_SUFFIX = '.media.pgp';
const RECORD_SUFFIX = '.pgp';
const IDENTITY_LINKS = '/_identities/';

/** A version in the bucket. */
export interface StoredVersion {
	key: string;
	versionId: string;
}

/** A record object as stored: its version, the record it decrypts to, and the media version beside it. */
export interface StoredRecord extends StoredVersion {
	record: IDataObject;
	media?: StoredVersion;
}

/** The records of a set of versions, by where they were written. */
export interface StoredRecords {
	/** Record objects the trigger wrote (Archive at Capture), decrypted. */
	archived: StoredRecord[];
	/** Record objects Quarantine Record wrote under `quarantine/`, decrypted. */
	quarantined: StoredRecord[];
	/** Every version (records, media, identity links, delete markers). */
	versions: VersionRef[];
}

/** An item the trigger emitted (a record it could not store): its routing fields and `error`, and the record decrypted. */
export interface EmittedRecord {
	fields: IDataObject;
	record: IDataObject;
}

/** One POST and what it left in the store. */
export interface Delivery extends StoredRecords {
	status: number;
	/** The execution, started only when the trigger could not store some records. */
	run?: IRun;
	/** The records the trigger emitted to the workflow (none when it stored them all). */
	emitted: EmittedRecord[];
	/** Quarantine Record's write results in the run (`archive`: key, versionId, status, …). */
	quarantineWrites: IDataObject[];
}

export interface Pipeline {
	n8n: InProcessN8n;
	appSecret: string;
	indexKey: string;
	secrets: Record<string, string>;
	/**
	 * One POST, then the versions it added to the bucket, decrypted. Refuses to run beside another
	 * request (the store could not tell whose versions are whose): use `send` and `stored` for that.
	 */
	post(body: Buffer, signature?: string): Promise<Delivery>;
	/** `post` signed with the app secret. */
	postSigned(body: Buffer): Promise<Delivery>;
	/** One POST that may run beside others: the answer and the run it started (its own, by the body's SHA-256), no store reading. */
	send(body: Buffer, signature?: string): Promise<{ status: number; run?: IRun }>;
	/** `send` signed with the app secret. */
	sendSigned(body: Buffer): Promise<{ status: number; run?: IRun }>;
	/** The bucket's end state: every version, every record object decrypted. */
	stored(): Promise<StoredRecords>;
	/** The items the trigger emitted in a run, their records decrypted. */
	emitted(run?: IRun): Promise<EmittedRecord[]>;
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
	const client = createS3Client(settings);
	const { bucket } = options;
	const appSecret = randomBytes(16).toString('hex');
	const verifyToken = randomBytes(12).toString('hex');
	const indexKey = randomBytes(32).toString('hex');
	const template = loadTemplate('whatsapp-capture-archive');
	const n8n = new InProcessN8n({
		workflow: options.objectLock === false ? withoutObjectLock(template) : template,
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
			s3ArchiveApi: s3ArchiveCredential(bucket, indexKey, { endpoint: options.endpoint ?? settings.endpoint }),
		},
	});
	await n8n.start();

	const decrypt = (ciphertext: Buffer): IDataObject => JSON.parse(gpgDecrypt(gpg.home, ciphertext).toString('utf8')) as IDataObject;
	// a version's bytes never change: each record object is fetched and decrypted once
	const plaintexts = new Map<string, IDataObject>();
	const recordOf = async (v: VersionRef): Promise<IDataObject> => {
		const id = `${v.key}#${v.versionId}`;
		let record = plaintexts.get(id);
		if (!record) {
			record = decrypt(await getObjectBytes(client, bucket, v.key, v.versionId));
			plaintexts.set(id, record);
		}
		return record;
	};
	/** The record objects among `versions` (media paired with the record beside it; identity links apart). */
	const readRecords = async (versions: VersionRef[]): Promise<StoredRecords> => {
		const out: StoredRecords = { archived: [], quarantined: [], versions };
		const live = versions.filter((v) => !v.isDeleteMarker);
		const media = new Map(live.filter((v) => v.key.endsWith(MEDIA_SUFFIX)).map((v) => [v.key, v] as const));
		for (const v of live) {
			if (!v.key.endsWith(RECORD_SUFFIX) || v.key.endsWith(MEDIA_SUFFIX) || v.key.includes(IDENTITY_LINKS)) continue;
			const beside = media.get(v.key.slice(0, -RECORD_SUFFIX.length) + MEDIA_SUFFIX);
			const stored: StoredRecord = {
				key: v.key,
				versionId: v.versionId,
				record: await recordOf(v),
				...(beside ? { media: { key: beside.key, versionId: beside.versionId } } : {}),
			};
			(v.key.startsWith(QUARANTINE_PREFIX) ? out.quarantined : out.archived).push(stored);
		}
		return out;
	};
	const emitted = async (run?: IRun): Promise<EmittedRecord[]> => {
		const out: EmittedRecord[] = [];
		for (const item of nodeOutput(run, TRIGGER)) {
			const data = item.binary?.data;
			if (!data) throw new Error(`pipeline: the trigger emitted an item without ciphertext (fields: ${Object.keys(item.json).join(', ')})`);
			out.push({ fields: item.json, record: decrypt(await binaryBytes(data)) });
		}
		return out;
	};

	let inFlight = 0;
	let overlapped = false;
	const claimed = new WeakSet<object>();
	const send = async (body: Buffer, signature?: string) => {
		if (inFlight > 0) overlapped = true;
		inFlight += 1;
		try {
			const headers: Record<string, string> = { 'content-type': 'application/json' };
			if (signature !== undefined) headers['x-hub-signature-256'] = signature;
			const before = n8n.exchanges.length;
			const response = await fetch(n8n.webhookUrl(), { method: 'POST', headers, body: new Uint8Array(body) });
			await response.arrayBuffer();
			// the run of this request (the answer waits for it): its items carry the body's SHA-256
			// (several concurrent identical bodies each claim one run)
			const sha = createHash('sha256').update(body).digest('hex');
			const mine = n8n.exchanges.slice(before).find((e) => {
				if (!e.run || claimed.has(e)) return false;
				return nodeOutput(e.run, TRIGGER)[0]?.json.delivery_sha256 === sha;
			});
			if (mine) claimed.add(mine);
			return { status: response.status, run: mine?.run };
		} finally {
			inFlight -= 1;
		}
	};
	const post = async (body: Buffer, signature?: string): Promise<Delivery> => {
		if (inFlight > 0) throw new Error('pipeline.post: another request is in flight; send() concurrent requests and read stored()');
		overlapped = false;
		const seen = new Set((await listVersions(client, bucket)).map((v) => `${v.key}#${v.versionId}`));
		const { status, run } = await send(body, signature);
		await n8n.idle();
		if (overlapped) throw new Error('pipeline.post: another request ran meanwhile; its versions cannot be told apart');
		const added = (await listVersions(client, bucket)).filter((v) => !seen.has(`${v.key}#${v.versionId}`));
		return {
			status,
			run,
			...(await readRecords(added)),
			emitted: await emitted(run),
			quarantineWrites: nodeOutput(run, QUARANTINE).map((i) => i.json.archive as IDataObject),
		};
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
		send,
		sendSigned: (body) => send(body, sign(body, appSecret)),
		stored: async () => await readRecords(await listVersions(client, bucket)),
		emitted,
		async stop() {
			await n8n.stop();
			client.destroy();
			await gpg.cleanup();
		},
	};
}

/**
 * The template with its writes set to Object Lock Mode None (for a bucket without Object Lock): the
 * trigger's Archive at Capture and every S3 Archive write (Quarantine Record).
 */
function withoutObjectLock(workflow: WorkflowJson): WorkflowJson {
	const changed: string[] = [];
	for (const node of workflow.nodes) {
		const parameters = node.parameters as IDataObject;
		if (parameters.archiveAtCapture === true) {
			const { objectLockMode: _mode, retainFor: _retainFor, ...rest } = parameters;
			node.parameters = { ...rest, objectLockMode: 'none' };
			changed.push(node.name);
		}
		if (parameters.operation !== 'write') continue;
		const { objectLockMode: _mode, retainFor: _retainFor, ...options } = (parameters.options ?? {}) as IDataObject;
		parameters.options = { ...options, objectLockMode: 'none' };
		changed.push(node.name);
	}
	if (!changed.includes(TRIGGER) || !changed.includes(QUARANTINE)) {
		throw new Error(`pipeline: the template's writes were not all found (changed: ${changed.join(', ')})`);
	}
	return workflow;
}
