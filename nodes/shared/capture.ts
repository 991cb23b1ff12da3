import type { IBinaryData, IBinaryKeyData, IDataObject, INodeExecutionData, INodeProperties, INodePropertyOptions } from 'n8n-workflow';
import type { Readable } from 'node:stream';

import { assertIndexKey } from '../../lib/archive';
import {
	KNOWN_EVENT_FIELDS,
	KNOWN_MESSAGE_TYPES,
	KNOWN_STATUS_VALUES,
	MESSAGE_FIELDS,
	PGP_MIME_TYPE,
	attachmentReference,
	buildDeliveryItem,
	downloadAttachment,
	downloadMedia,
	encryptMediaStream,
	encryptRecord,
	filterRecords,
	mediaReference,
	normalizeDelivery,
	spoolStream,
	verifySignature,
	type CaptureRecord,
	type DownloadMediaResult,
	type GraphEndpoint,
	type MediaStreamInfo,
	type NormalizeOptions,
	type SpooledFile,
} from '../../lib/capture';
import type { PublicKey } from '../../lib/pgp';
import { safeFileName } from './binary';
import { credentialPublicKeys, type CredentialSource } from './credentials';

/**
 * What the pack emits for a WhatsApp delivery, wherever it arrives: the WhatsApp Capture Trigger's
 * `webhook()` and WhatsApp Record → Capture Delivery (after n8n's Webhook node) both check the raw
 * body, verify the signature, normalize (lib/capture), filter, download media and encrypt at capture
 * through this module, so both emit the same items for the same delivery.
 */

/** Credential fields read on capture (WhatsApp Capture credential, Provider = Meta). */
export interface CaptureCredentials {
	appSecret?: string;
	verifyToken?: string;
	accessToken?: string;
	appId?: string;
	indexKey?: string;
	graphApiBaseUrl?: string;
	graphApiVersion?: string;
}

/** The capture's Options collection (trigger and Capture Delivery). */
export interface CaptureOptions {
	messageTypes?: string[];
	statusKinds?: string[];
	fields?: string[];
	mediaAttempts?: number;
	mediaRetryDelayMs?: number;
	twilioSignatureUrl?: string;
	maxBodySizeMb?: number;
}

/** Media download settings (Download Media on). */
export interface MediaSettings {
	graph: GraphEndpoint;
	accessToken: string;
	attempts: number;
	backoffMs: number;
	/** Sent with attachment downloads to its host only (Twilio media: the account's HTTP Basic auth). */
	authorization?: { header: string; host: string };
	/** Plain http to loopback for attachment URLs; default: when the Graph API base URL is loopback http. */
	allowLoopbackHttp?: boolean;
}

/** Whether a base URL is plain http on a loopback address (a local stand-in). */
export function isLoopbackHttp(baseUrl: string): boolean {
	return /^http:\/\/(localhost|127\.\d+\.\d+\.\d+|\[::1\])(:\d+)?(\/|$)/.test(baseUrl);
}

/**
 * The files of a provider other than Meta (e.g. Telegram's `getFile`), downloaded by the capture as
 * Meta media are: streamed into `consume`, hashed, with the same `media_*` fields on the record.
 */
export interface ProviderMedia {
	/** The record's file (a name for its binary when the message names none), or undefined when it has none. */
	fileOf(record: CaptureRecord): { fallbackName: string; fileName: string | null } | undefined;
	/** Downloads the record's file into `consume`; never throws for HTTP or stream problems. */
	download<T>(record: CaptureRecord, consume: (stream: Readable, info: MediaStreamInfo) => Promise<T>): Promise<DownloadMediaResult<T>>;
}

/** Encrypt-at-capture settings (Encrypt at Capture on). */
export interface EncryptSettings {
	recipients: PublicKey[];
	indexKey: string;
}

/** What capture needs of n8n: credentials, binary data, a logger (a webhook or an execute context). */
export interface CaptureContext extends CredentialSource {
	helpers: {
		prepareBinaryData(body: Buffer | Readable, fileName?: string, mimeType?: string): Promise<IBinaryData>;
	};
	logger: { warn(message: string): void };
}

// Parameters

/** `snake_case` → `Snake Case` for option labels. */
function label(value: string): string {
	return value
		.split('_')
		.map((word) => word.charAt(0).toUpperCase() + word.slice(1))
		.join(' ');
}

/** Multi-options list of `values` plus the catch-all `unknown`, sorted by label. */
export function captureChoices(values: readonly string[], unknownLabel: string): INodePropertyOptions[] {
	return [
		...values.map((value) => ({ name: label(value), value })),
		{ name: unknownLabel, value: 'unknown' },
	].sort((a, b) => a.name.localeCompare(b.name));
}

/** Default of Options → Max Body Size (MiB): Meta documents webhook payloads of up to 3 MB. */
export const DEFAULT_MAX_BODY_SIZE_MB = 3;

/** The Output parameter: one item per record or one per delivery. */
export const outputModeParameter: INodeProperties = {
	displayName: 'Output',
	name: 'outputMode',
	type: 'options',
	options: [
		{
			name: 'One Item per Record',
			value: 'perRecord',
			description: 'Each message, status, error and event of the delivery becomes its own item',
		},
		{
			name: 'One Item per Delivery',
			value: 'perDelivery',
			description: 'One item per webhook request, holding all its records in "records"',
		},
	],
	default: 'perRecord',
};

/** The filter options (Fields, Message Types, Status Kinds) of the capture's Options collection. */
export const captureFilterOptions: INodeProperties[] = [
	{
		displayName: 'Fields',
		name: 'fields',
		type: 'multiOptions',
		options: captureChoices([...MESSAGE_FIELDS, ...KNOWN_EVENT_FIELDS], 'Unknown (Undocumented Fields)'),
		default: [],
		description: 'Keep only records from these webhook fields. Empty keeps all. Quarantined deliveries are always kept.',
	},
	{
		displayName: 'Message Types',
		name: 'messageTypes',
		type: 'multiOptions',
		options: captureChoices(KNOWN_MESSAGE_TYPES, 'Unknown (New Types)'),
		default: [],
		description: 'Keep only message records of these types. Empty keeps all. Does not affect statuses, errors or events.',
	},
	{
		displayName: 'Status Kinds',
		name: 'statusKinds',
		type: 'multiOptions',
		options: captureChoices(KNOWN_STATUS_VALUES, 'Unknown (New Statuses)'),
		default: [],
		description:
			'Keep only status records of these kinds (e.g. leave out Sent and Delivered). Empty keeps all. Does not affect messages.',
	},
];

// Request checks

/** Options → Max Body Size in bytes (default {@link DEFAULT_MAX_BODY_SIZE_MB} MiB). */
export function maxBodyBytes(options: CaptureOptions): number {
	const mb = Number(options.maxBodySizeMb ?? DEFAULT_MAX_BODY_SIZE_MB);
	return Math.floor((Number.isFinite(mb) && mb > 0 ? mb : DEFAULT_MAX_BODY_SIZE_MB) * 1024 * 1024);
}

/**
 * Why a delivery is refused before any record is made: its signature (401), or a body above Options →
 * Max Body Size (413 Content Too Large, RFC 9110 §15.5.14: the size is known before authentication, and
 * an honest sender whose delivery outgrows the option sees why in its delivery log). Never holds body
 * content.
 */
export interface Refusal {
	status: 401 | 413;
	/** `signature: <lib/capture reason>` or `body too large: <n> bytes, limit <m>`. */
	reason: string;
}

/** The body-size refusal, or undefined when `rawBody` fits Options → Max Body Size. */
export function sizeRefusal(rawBody: Buffer, options: CaptureOptions): Refusal | undefined {
	const limit = maxBodyBytes(options);
	if (rawBody.length <= limit) return undefined;
	return { status: 413, reason: `body too large: ${rawBody.length} bytes, Options → Max Body Size is ${limit} bytes` };
}

/** The delivery, verified: its records, or why it was refused. */
export type MetaDelivery = { records: CaptureRecord[]; refusal?: never } | { refusal: Refusal; records?: never };

/**
 * A Meta delivery as the capture emits it: size checked, `X-Hub-Signature-256` verified over the
 * raw bytes in constant time (lib/capture `verifySignature`), then normalized (`normalizeDelivery`;
 * a signed body that is not a WhatsApp envelope becomes one `quarantine` record).
 */
export function readMetaDelivery(input: {
	rawBody: Buffer;
	signatureHeader: unknown;
	contentType: unknown;
	credentials: CaptureCredentials;
	options: CaptureOptions;
	/** The normalizer of the webhook's envelope: WhatsApp's `normalizeDelivery` by default. */
	normalize?: (options: NormalizeOptions) => CaptureRecord[];
}): MetaDelivery {
	const tooLarge = sizeRefusal(input.rawBody, input.options);
	if (tooLarge) return { refusal: tooLarge };
	const signature = verifySignature({
		rawBody: input.rawBody,
		header: typeof input.signatureHeader === 'string' ? input.signatureHeader : undefined,
		appSecret: input.credentials.appSecret ?? '',
	});
	if (!signature.verified) return { refusal: { status: 401, reason: `signature: ${signature.reason}` } };
	const records = (input.normalize ?? normalizeDelivery)({
		rawBody: input.rawBody,
		receivedAt: new Date(),
		signatureVerified: true,
		graphApiVersion: input.credentials.graphApiVersion,
		contentType: typeof input.contentType === 'string' ? input.contentType : undefined,
	});
	return { records };
}

/** Media settings from the WhatsApp Capture credential and the options (Download Media on). */
export function metaMediaSettings(credentials: CaptureCredentials, options: CaptureOptions): MediaSettings {
	return {
		graph: {
			baseUrl: credentials.graphApiBaseUrl || 'https://graph.facebook.com',
			version: credentials.graphApiVersion || 'v24.0',
		},
		accessToken: credentials.accessToken ?? '',
		attempts: options.mediaAttempts ?? 3,
		backoffMs: options.mediaRetryDelayMs ?? 500,
	};
}

// Items

/** What to make items of, and how. */
export interface CaptureInput {
	records: CaptureRecord[];
	rawBody: Buffer;
	contentType?: string;
	options: CaptureOptions;
	outputMode: 'perRecord' | 'perDelivery';
	/** Download Media settings (Meta's, or another provider's files); undefined when off. */
	media?: MediaSettings | ProviderMedia;
	encryptAtCapture: boolean;
	/** Index Key of the provider credential (needed with Encrypt at Capture). */
	indexKey?: string;
	/** Credential names for the index-key error, e.g. `WhatsApp Capture or Twilio WhatsApp`. */
	indexKeyCredential: string;
	/** Names the capturing node in warnings (never body content). */
	source: string;
	/**
	 * Archive at Capture (with Encrypt at Capture, one item per record): each record's ciphertext is
	 * returned in `ciphertexts` instead of stored as binary `data`, its media's spooled to a private
	 * temporary file instead of binary `media`; the caller archives them and stores as binaries only
	 * those of the items it emits ({@link storeCiphertext}).
	 */
	keepCiphertext?: boolean;
}

/** The ciphertexts of one item kept out of n8n's binary data (`keepCiphertext`). */
export interface ItemCiphertext {
	record: Uint8Array;
	media?: SpooledFile;
}

/**
 * The outcome: the items; or none because the filters kept no record (acknowledge, run nothing); or
 * none because Encrypt at Capture is on but cannot run (fail closed: never plaintext; the sender
 * should retry once the credential is fixed).
 */
export type CaptureOutcome =
	| { items: INodeExecutionData[]; ciphertexts?: ItemCiphertext[]; filteredOut?: never; encryptionError?: never }
	| { filteredOut: true; items?: never; encryptionError?: never }
	| { encryptionError: string; items?: never; filteredOut?: never };

/** Filters the records, then builds (and with Encrypt at Capture, encrypts) the capture's items. */
export async function captureItems(this: CaptureContext, input: CaptureInput): Promise<CaptureOutcome> {
	const { kept, dropped } = filterRecords(input.records, input.options);
	if (kept.length === 0) return { filteredOut: true };

	let encryption: EncryptSettings | undefined;
	if (input.encryptAtCapture) {
		try {
			const indexKey = assertIndexKey(input.indexKey, input.indexKeyCredential);
			// the gnupg profile: ciphertext made at capture must be readable by GnuPG 2.2
			const recipients = await credentialPublicKeys.call(this, { profile: 'gnupg' });
			encryption = { recipients, indexKey };
		} catch (error) {
			return { encryptionError: (error as Error).message };
		}
	}
	if (input.keepCiphertext && (!encryption || input.outputMode !== 'perRecord')) {
		throw new Error('keepCiphertext needs Encrypt at Capture and one item per record');
	}
	const ciphertexts: ItemCiphertext[] | undefined = input.keepCiphertext ? [] : undefined;
	let built = false;
	try {
		const items = await buildItems.call(this, { ...input, records: kept, filteredOut: dropped, encryption, ciphertexts });
		built = true;
		return ciphertexts ? { items, ciphertexts } : { items };
	} finally {
		// a capture that failed half-way releases the media it spooled
		if (!built) await Promise.all((ciphertexts ?? []).map(async (kept) => await kept?.media?.release()));
	}
}

/**
 * Stores an item's ciphertexts kept by `keepCiphertext` as its binaries `data` (`record.pgp`) and
 * `media` (`media.pgp`), as Encrypt at Capture alone emits them, and releases the spool.
 */
export async function storeCiphertext(this: CaptureContext, item: INodeExecutionData, kept: ItemCiphertext): Promise<INodeExecutionData> {
	const binary: IBinaryKeyData = { data: await this.helpers.prepareBinaryData(Buffer.from(kept.record), 'record.pgp', PGP_MIME_TYPE) };
	if (kept.media) {
		try {
			binary.media = await this.helpers.prepareBinaryData(kept.media.open(), 'media.pgp', PGP_MIME_TYPE);
		} finally {
			await kept.media.release();
		}
	}
	return { ...item, binary };
}

/**
 * Downloads media (binary `media`, or `media_<record index>` per delivery), then either emits the
 * plaintext records, or, with Encrypt at Capture, one item per record (or delivery) whose JSON holds
 * only the routing fields and whose binary `data` is the OpenPGP message of the full record
 * (`record.pgp`), media encrypted as well (`media.pgp`).
 */
async function buildItems(
	this: CaptureContext,
	plan: CaptureInput & { filteredOut: number; encryption?: EncryptSettings; ciphertexts?: ItemCiphertext[] },
): Promise<INodeExecutionData[]> {
	const mediaBinaries: Array<IBinaryKeyData[string] | undefined> = [];
	const spooled: Array<SpooledFile | undefined> = [];
	if (plan.media) {
		for (const [index, record] of plan.records.entries()) {
			if (plan.ciphertexts) {
				spooled[index] = (await attachMedia.call(this, record, plan.media, plan.encryption, plan.source, spoolStream)) as SpooledFile | undefined;
				// held here from now on, so a failure before the record's encryption releases it
				if (spooled[index]) plan.ciphertexts[index] = { record: new Uint8Array(0), media: spooled[index] };
			} else {
				mediaBinaries[index] = (await attachMedia.call(this, record, plan.media, plan.encryption, plan.source)) as IBinaryKeyData[string] | undefined;
			}
		}
	}

	if (plan.outputMode === 'perDelivery') {
		const delivery = buildDeliveryItem({
			records: plan.records,
			rawBody: plan.rawBody,
			filteredOut: plan.filteredOut,
			contentType: plan.contentType,
		});
		const binary: IBinaryKeyData = {};
		mediaBinaries.forEach((media, index) => {
			if (media) binary[`media_${index}`] = media;
		});
		return [await recordItem.call(this, delivery, binary, plan.encryption)];
	}

	const items: INodeExecutionData[] = [];
	for (const [index, record] of plan.records.entries()) {
		if (plan.ciphertexts && plan.encryption) {
			const encrypted = await encryptRecord({ record, ...plan.encryption });
			plan.ciphertexts[index] = { record: encrypted.ciphertext, ...(spooled[index] ? { media: spooled[index] } : {}) };
			items.push({ json: encrypted.routing as unknown as IDataObject });
			continue;
		}
		const binary: IBinaryKeyData = {};
		if (mediaBinaries[index]) binary.media = mediaBinaries[index];
		items.push(await recordItem.call(this, record, binary, plan.encryption));
	}
	return items;
}

/** One item: the record as JSON, or its routing fields with the record encrypted in binary `data`. */
async function recordItem(
	this: CaptureContext,
	record: object,
	binary: IBinaryKeyData,
	encryption: EncryptSettings | undefined,
): Promise<INodeExecutionData> {
	if (encryption) {
		const encrypted = await encryptRecord({ record: record as CaptureRecord, ...encryption });
		binary.data = await this.helpers.prepareBinaryData(Buffer.from(encrypted.ciphertext), 'record.pgp', PGP_MIME_TYPE);
		return { json: encrypted.routing as unknown as IDataObject, binary };
	}
	const item: INodeExecutionData = { json: record as unknown as IDataObject };
	return Object.keys(binary).length > 0 ? { ...item, binary } : item;
}

/**
 * Downloads the media of one record (when it is a media message), streamed into n8n's binary store,
 * encrypted on the way with Encrypt at Capture (with `spool`, the ciphertext goes to a private
 * temporary file instead: Archive at Capture). Sets `media_status` and the other `media_*` fields on the record.
 */
async function attachMedia(
	this: CaptureContext,
	record: CaptureRecord,
	media: MediaSettings | ProviderMedia,
	encryption: EncryptSettings | undefined,
	source: string,
	spool?: typeof spoolStream,
): Promise<IBinaryKeyData[string] | SpooledFile | undefined> {
	const provider = 'download' in media ? media : metaMedia(media);
	const file = provider.fileOf(record);
	if (!file) return undefined;
	// a Graph API media id needs the access token (attachment URLs of Messenger, Instagram and Twilio do not)
	if ('accessToken' in media && !media.accessToken && !attachmentReference(record)) {
		record.media_status = 'failed';
		record.media_error = 'the WhatsApp credential has no Access Token';
		return undefined;
	}
	// a spool of an attempt that did not count (e.g. a SHA-256 mismatch) is released
	const spools: SpooledFile[] = [];
	const result = await provider.download(record, async (stream, info): Promise<IBinaryKeyData[string] | SpooledFile> => {
		if (encryption) {
			const ciphertext = await encryptMediaStream({ stream, recipients: encryption.recipients });
			if (spool) {
				const file = await spool(ciphertext);
				spools.push(file);
				return file;
			}
			return await this.helpers.prepareBinaryData(ciphertext, 'media.pgp', PGP_MIME_TYPE);
		}
		const fileName = safeFileName(file.fileName || file.fallbackName, 'media.bin');
		return await this.helpers.prepareBinaryData(stream, fileName, info.mimeType);
	});
	await Promise.all(spools.filter((file) => result.status === 'failed' || file !== result.value).map(async (file) => await file.release()));
	if (result.status === 'failed') {
		record.media_status = 'failed';
		record.media_error = result.error;
		this.logger.warn(`${source}: media download failed: ${result.error}`);
		return undefined;
	}
	record.media_status = 'downloaded';
	record.media_sha256 = result.sha256;
	record.media_size = result.size;
	record.media_mime_type = result.mimeType;
	record.media_sha256_verified = result.sha256Verified;
	return result.value;
}

/**
 * Meta and Twilio media as a {@link ProviderMedia}: a WhatsApp media id through the Graph API, or the
 * first attachment URL of a Messenger or Instagram message (no token) or of a Twilio message (the
 * account's Basic auth, to Twilio's API host only); plain http only to a loopback stand-in.
 */
function metaMedia(media: MediaSettings): ProviderMedia {
	return {
		fileOf(record) {
			const attachment = attachmentReference(record);
			if (attachment) return { fileName: null, fallbackName: `${attachment.type}-${record.wamid ?? 'attachment'}` };
			const reference = mediaReference(record);
			return reference ? { fileName: reference.fileName, fallbackName: `${record.type}-${reference.mediaId}` } : undefined;
		},
		async download(record, consume) {
			const attachment = attachmentReference(record);
			if (attachment) {
				return await downloadAttachment({
					url: attachment.url,
					mimeType: attachment.mimeType,
					consume,
					attempts: media.attempts,
					backoffMs: media.backoffMs,
					allowLoopbackHttp: media.allowLoopbackHttp ?? isLoopbackHttp(media.graph.baseUrl),
					authorization: media.authorization,
					fetch: media.graph.fetch,
				});
			}
			const reference = mediaReference(record)!;
			return await downloadMedia({
				graph: media.graph,
				accessToken: media.accessToken,
				mediaId: reference.mediaId,
				phoneNumberId: record.phone_number_id,
				expectedSha256: reference.sha256,
				mimeType: reference.mimeType,
				attempts: media.attempts,
				backoffMs: media.backoffMs,
				consume,
			});
		},
	};
}
