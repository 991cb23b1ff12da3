import type { IDataObject, INodeExecutionData, INodeParameters, INodeProperties, IWebhookFunctions } from 'n8n-workflow';
import * as n8nWorkflow from 'n8n-workflow';

import { archiveRecord, type ArchivedRecord, type DuplicateCheck, type ObjectLockParams } from '../../lib/archive';
import { legalHoldForNewRecord } from '../../lib/retention';
import { ArchiveError, lockUntil, mapLimit } from '../../lib/s3';
import { storeCiphertext, type ItemCiphertext } from './capture';
import { openArchiveStore, type ArchiveStore } from './credentials';
import { toNodeError } from './errors';
import { duplicateCheckOption, objectLockModeOptions, prefixDescription } from './storeLocation';

/**
 * Archive at Capture: the trigger writes every record of a delivery (and its media) to the archive
 * itself (lib/archive `archiveRecord`, as S3 Archive → Record → Write does), so a delivery whose
 * records are all stored is answered 200 without starting an execution. Records that could not be
 * stored are emitted, still encrypted, with a non-sensitive error, for the workflow to keep them.
 */

/**
 * The POST webhook's `responseMode` from Respond (`responseTiming`). n8n ≥ 2.40 resolves a field
 * declared with `webhookDescriptionFields` / `fromFunction` (n8n-workflow `webhook-description-fields`)
 * without the expression engine when the node's parameters are static, so a delivery needs no
 * expression sandbox for it; older n8n evaluates the same expression template. The function is
 * inlined into that template, so it must not refer to anything outside itself.
 */
export function responseModeField(): { responseMode: string } {
	const { webhookDescriptionFields, fromFunction } = n8nWorkflow as Partial<typeof n8nWorkflow>;
	// Archive at Capture: the records not stored start the workflow, answered after it (so the sender retries when it fails)
	const responseMode = (parameters: INodeParameters) =>
		parameters.responseTiming === 'afterWorkflow' || (parameters.encryptAtCapture === true && parameters.archiveAtCapture === true) ? 'lastNode' : 'onReceived';
	if (typeof webhookDescriptionFields !== 'function' || typeof fromFunction !== 'function') {
		return {
			responseMode:
				'={{$parameter["responseTiming"] === "afterWorkflow" || ($parameter["encryptAtCapture"] === true && $parameter["archiveAtCapture"] === true) ? "lastNode" : "onReceived"}}',
		};
	}
	return webhookDescriptionFields({ responseMode: fromFunction(responseMode) }) as { responseMode: string };
}

const whenArchiving = { show: { archiveAtCapture: [true] } };

/** The trigger's parameters of Archive at Capture (the template's former Archive Record settings as defaults). */
export const archiveProperties: INodeProperties[] = [
	{
		displayName: 'Archive at Capture',
		name: 'archiveAtCapture',
		type: 'boolean',
		default: false,
		// `hide`, not `show`: n8n's editor hides from the panel every parameter that a parameter named in
		// a credential's displayOptions shows on (Encrypt at Capture and Output would vanish)
		displayOptions: { hide: { encryptAtCapture: [false], outputMode: ['perDelivery'] } },
		description:
			'Whether the trigger writes every record (and its media) to the S3 Archive Store itself, as S3 Archive → Record → Write does, and answers 200 once all are stored, starting no execution for them. Only records that could not be stored are emitted (still encrypted, with an "error"), so a branch such as Quarantine Record keeps them; the answer then waits for the workflow, so the sender retries when it fails.',
	},
	{ ...prefixDescription, displayOptions: whenArchiving },
	{
		displayName: 'Retention Class',
		name: 'retentionClass',
		type: 'string',
		default: 'default',
		required: true,
		displayOptions: whenArchiving,
		description: 'Second part of the key, naming the retention rule that applies (e.g. default, finra-6y)',
	},
	{
		displayName: 'Object Lock Mode',
		name: 'objectLockMode',
		type: 'options',
		options: objectLockModeOptions("Use the bucket's default retention, if any"),
		default: 'GOVERNANCE',
		displayOptions: whenArchiving,
	},
	{
		displayName: 'Retain For',
		name: 'retainFor',
		type: 'string',
		default: 'P1Y',
		placeholder: 'P6Y',
		displayOptions: { show: { archiveAtCapture: [true], objectLockMode: ['GOVERNANCE', 'COMPLIANCE'] } },
		description: 'ISO 8601 duration from now, e.g. P1Y, P6Y, P90D',
	},
	{
		displayName: 'Archive Options',
		name: 'archiveOptions',
		type: 'collection',
		placeholder: 'Add option',
		default: {},
		displayOptions: whenArchiving,
		options: [
			duplicateCheckOption,
			{
				displayName: 'Emit Archived Records',
				name: 'emitArchived',
				type: 'boolean',
				default: false,
				description:
					"Whether to emit the write results of stored records too (metadata only, as Record → Write outputs them), which starts an execution for every delivery; off: only records that could not be stored are emitted",
			},
			{
				displayName: 'Flag Records Under Legal Hold',
				name: 'legalHoldFromRegistry',
				type: 'boolean',
				default: true,
				description:
					"Whether to read the legal-hold registry (&lt;prefix&gt;/_holds/) and set the S3 legal-hold flag on a new record an active matter covers (Object Lock buckets). Releases are not verified here (the trigger holds no archive public key): a released matter keeps flagging new records until it is removed from the registry, as with Record → Write without the OpenPGP Public Keys credential.",
			},
		],
	},
];

interface ArchiveOptions {
	duplicateCheck?: DuplicateCheck;
	emitArchived?: boolean;
	legalHoldFromRegistry?: boolean;
}

/** Whether Archive at Capture is on (it needs Encrypt at Capture and one item per record). */
export function archivesAtCapture(this: IWebhookFunctions): boolean {
	return (
		this.getNodeParameter('encryptAtCapture', false) === true &&
		this.getNodeParameter('outputMode', 'perRecord') !== 'perDelivery' &&
		this.getNodeParameter('archiveAtCapture', false) === true
	);
}

/** Object Lock Mode and Retain For as the lock of the new versions, or none. */
function objectLock(this: IWebhookFunctions): ObjectLockParams | undefined {
	const mode = this.getNodeParameter('objectLockMode', 'GOVERNANCE') as 'none' | 'GOVERNANCE' | 'COMPLIANCE';
	if (mode === 'none') return undefined;
	const retainFor = String(this.getNodeParameter('retainFor', '') ?? '').trim();
	return lockUntil({ mode, retention: retainFor }, { field: 'Retain For' });
}

/** What the archive needs once per delivery: the store, the layout, the lock. */
interface Settings {
	store: ArchiveStore;
	prefix: string;
	retentionClass: string;
	lock?: ObjectLockParams;
	options: ArchiveOptions;
}

async function settings(this: IWebhookFunctions): Promise<Settings> {
	const store = await openArchiveStore.call(this);
	if (!store.bucket) {
		throw new ArchiveError('No bucket: set Bucket in the S3 Archive Store credential', { code: 'InvalidInput' });
	}
	return {
		store,
		prefix: String(this.getNodeParameter('prefix', 'archive') ?? ''),
		retentionClass: String(this.getNodeParameter('retentionClass', 'default') ?? ''),
		lock: objectLock.call(this),
		options: this.getNodeParameter('archiveOptions', {}) as ArchiveOptions,
	};
}

/** Records written at once for one delivery (a delivery holds a few records; each write is a few requests). */
const RECORDS_IN_FLIGHT = 4;

/** Outcome of {@link archiveItems}. */
export interface ArchiveOutcome {
	/** The items to emit: records not stored (with `error`), and with Emit Archived Records the stored ones. */
	items: INodeExecutionData[];
	stored: number;
	failed: number;
}

/**
 * Archives every item (its record ciphertext kept in memory, its media spooled: `keepCiphertext` of
 * `../shared/capture.ts`). A record that could not be stored becomes an item holding its ciphertext
 * as binary `data` (and `media`), its routing fields and `error` ({ message, name, code,
 * description }: the store's code and the engine's message, never content), as a node's error
 * output carries it. Every spool is released.
 */
export async function archiveItems(this: IWebhookFunctions, items: INodeExecutionData[], ciphertexts: ItemCiphertext[], trigger = 'WhatsApp Capture Trigger'): Promise<ArchiveOutcome> {
	let ready: Settings | undefined;
	let notReady: unknown;
	try {
		ready = await settings.call(this);
	} catch (error) {
		notReady = error;
	}
	const outcomes = await mapLimit(items, RECORDS_IN_FLIGHT, async (item, index): Promise<{ done?: ArchivedRecord; error?: unknown }> => {
		const kept = ciphertexts[index];
		try {
			if (!ready) throw notReady;
			const { store, prefix, options } = ready;
			const done = await archiveRecord({
				client: store.client,
				bucket: store.bucket,
				fields: item.json,
				indexKey: store.indexKey,
				prefix,
				retentionClass: ready.retentionClass,
				record: { body: { bytes: kept.record } },
				media: kept.media ? { body: { openBody: () => kept.media!.open() } } : undefined,
				objectLock: ready.lock,
				holdLookup:
					options.legalHoldFromRegistry === false
						? null
						: async ({ key, identityPseudonyms }) =>
								await legalHoldForNewRecord({ client: store.client, bucket: store.bucket, key, verifier: null, identityPseudonyms, indexKey: store.indexKey }),
				duplicateCheck: options.duplicateCheck ?? 'precheck',
			});
			await kept.media?.release();
			return { done };
		} catch (error) {
			return { error };
		}
	});

	const emitted: INodeExecutionData[] = [];
	let stored = 0;
	const codes = new Set<string>();
	for (const [index, outcome] of outcomes.entries()) {
		const json = items[index].json as IDataObject;
		if (outcome.done) {
			stored += 1;
			if (ready?.options.emitArchived) emitted.push({ json: writeOutput(outcome.done, json) });
			continue;
		}
		const error = toNodeError(this.getNode(), outcome.error, index);
		const code = (outcome.error as { code?: unknown })?.code;
		codes.add(typeof code === 'string' ? code : error.name);
		emitted.push(
			await storeCiphertext.call(this, {
				json: {
					...json,
					error: { message: error.message, name: error.name, code: typeof code === 'string' ? code : null, ...(error.description ? { description: error.description } : {}) },
				},
			}, ciphertexts[index]),
		);
	}
	const failed = items.length - stored;
	if (failed > 0) {
		this.logger.warn(`${trigger}: Archive at Capture: ${failed} of ${items.length} records not stored (${[...codes].join(', ')}); emitted to the workflow`);
	}
	return { items: emitted, stored, failed };
}

/** A stored record as Record → Write outputs it: the write result and routing fields, never content. */
function writeOutput(done: ArchivedRecord, json: IDataObject): IDataObject {
	return {
		archive: done.media ? { ...done.result, media: { ...done.media } } : { ...done.result },
		...(done.hold?.legalHold ? { legalHoldMatterIds: done.hold.matterIds } : {}),
		phone_number_id: (json.phone_number_id as string | null | undefined) ?? null,
		record_kind: (json.record_kind as string | undefined) ?? null,
		type: (json.type as string | undefined) ?? null,
		timestamp: (json.timestamp as string | null | undefined) ?? null,
	};
}
