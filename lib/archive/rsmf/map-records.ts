/**
 * Capture records → RSMF participants, conversations and events (the mapping of docs/rsmf.md).
 * Pure: no I/O; the media files are only named here, read later by the zip.
 */
import { channelName, describeContent, transcriptLine, type TranscriptRecord } from '../transcript';
import { ArchiveError } from '../types';
import { mediaFileName, MANIFEST_FILE_NAME, uniqueFileName } from './file-name';
import type { RsmfConversation, RsmfCustomProperty, RsmfEdit, RsmfEvent, RsmfMedia, RsmfParticipant, RsmfReadReceipt } from './types';

type JsonObject = Record<string, unknown>;

/** A media file of an event, named for the zip; its size is measured while the zip is written. */
export interface MappedAttachment {
	/** Index in the `media` option. */
	mediaIndex: number;
	/** Unique name at the root of rsmf.zip (the manifest's attachment `id`). */
	id: string;
	/** The sanitized original name (the attachment's `display`). */
	display: string;
	/** The record's `media_sha256` (lowercase hex), which the bytes must match; null when absent. */
	sha256: string | null;
}

/** One event before slicing: `parent`, `reactions` and attachment sizes are set per slice. */
export interface MappedEvent {
	event: RsmfEvent;
	/** ISO 8601 UTC, null when the record has no valid time. */
	time: string | null;
	/** Position of its first record in time order (ties of `time`). */
	order: number;
	/** The records shown in the transcript for it: its own, then the statuses, edits… folded into it. */
	records: TranscriptRecord[];
	attachments: MappedAttachment[];
	/** `context.reply_to`: the wamid this message replies to. */
	replyTo: string | null;
	/** The wamid of its message record, when it is one (target of replies, reactions, edits…). */
	wamid: string | null;
	/** Current reaction of each participant (WhatsApp keeps one per person and message). */
	reactions: Map<string, string>;
	/** Participant ids of its conversation: the business (custodian) and the person, if any. */
	business: string;
	person: string | null;
}

/** One conversation (business number × person) with its events in time order. */
export interface MappedConversation {
	conversation: RsmfConversation;
	events: MappedEvent[];
}

/** Result of {@link mapRecords}. */
export interface MappedRecords {
	participants: Map<string, RsmfParticipant>;
	conversations: MappedConversation[];
	recordCount: number;
}

function str(value: unknown): string {
	return typeof value === 'string' ? value : value === null || value === undefined ? '' : String(value);
}

function isObject(value: unknown): value is JsonObject {
	return value !== null && typeof value === 'object' && !Array.isArray(value);
}

/** The record's time (provider `timestamp`, else `received_at`) as ISO 8601 UTC, or null. */
export function recordTime(record: JsonObject): string | null {
	for (const field of ['timestamp', 'received_at']) {
		const value = record[field];
		if (typeof value === 'string' && !Number.isNaN(Date.parse(value))) return new Date(value).toISOString();
	}
	return null;
}

/** Records in time order, then wamid, then idempotency key (the order of exportConversation). */
function sortRecords(records: ReadonlyArray<unknown>): TranscriptRecord[] {
	const keyed = records.map((record, index) => {
		if (!isObject(record) || typeof record.record_kind !== 'string') {
			throw new ArchiveError(`records[${index}] is not a capture record (no record_kind): pass the decrypted records as exported`, {
				code: 'InvalidInput',
			});
		}
		return { record: record as TranscriptRecord, time: recordTime(record) ?? '\uffff', wamid: str(record.wamid), key: str(record.idempotency_key) };
	});
	keyed.sort((a, b) =>
		a.time !== b.time ? (a.time < b.time ? -1 : 1) : a.wamid !== b.wamid ? (a.wamid < b.wamid ? -1 : 1) : a.key < b.key ? -1 : a.key > b.key ? 1 : 0,
	);
	return keyed.map((k) => k.record);
}

/** Disjoint sets of identifiers (`wa:<digits>`, `bsuid:<id>`): one set per person. */
class Identities {
	private readonly parent = new Map<string, string>();

	find(id: string): string {
		let root = id;
		while (this.parent.has(root) && this.parent.get(root) !== root) root = this.parent.get(root)!;
		if (!this.parent.has(root)) this.parent.set(root, root);
		this.parent.set(id, root);
		return root;
	}

	union(a: string, b: string): void {
		const ra = this.find(a);
		const rb = this.find(b);
		if (ra !== rb) this.parent.set(rb, ra);
	}
}

/** The WhatsApp group a record belongs to (its counterparty is the group), or null. */
function groupOf(record: TranscriptRecord): string | null {
	const c = isObject(record.counterparty) ? record.counterparty : {};
	return typeof c.group_id === 'string' && c.group_id ? c.group_id : null;
}

/** The person a record is about: the group member (`participant`) in a group, else the counterparty. */
function personFields(record: TranscriptRecord): JsonObject {
	const source = groupOf(record) ? (record as JsonObject).participant : record.counterparty;
	return isObject(source) ? source : {};
}

function identifiers(record: TranscriptRecord): string[] {
	const c = personFields(record);
	const ids: string[] = [];
	if (typeof c.wa_id === 'string' && c.wa_id) ids.push(`wa:${c.wa_id}`);
	if (typeof c.user_id === 'string' && c.user_id) ids.push(`bsuid:${c.user_id}`);
	return ids;
}

/** What is known of a person across records, in order of first appearance. */
interface Person {
	phoneNumbers: string[];
	bsuids: string[];
	usernames: string[];
	parentBsuids: string[];
	/** Latest profile name. */
	name: string | null;
}

function addOnce(list: string[], value: unknown): void {
	if (typeof value === 'string' && value && !list.includes(value)) list.push(value);
}

function custom(name: string, value: string | null | undefined): RsmfCustomProperty[] {
	return value ? [{ name, value }] : [];
}

/** `+<digits>` for Meta's digit-only numbers, else the value as given. */
function phone(value: string): string {
	return /^\d+$/.test(value) ? `+${value}` : value;
}

function personParticipant(id: string, person: Person): RsmfParticipant {
	const accountId = person.bsuids[0] ?? person.phoneNumbers[0];
	const display =
		person.name ?? (person.phoneNumbers[0] ? phone(person.phoneNumbers[0]) : person.usernames[0] ? `@${person.usernames[0].replace(/^@/, '')}` : accountId);
	const properties = [
		...person.phoneNumbers.map((n) => ({ name: 'Phone number', value: phone(n) })),
		...person.usernames.map((u) => ({ name: 'Username', value: u })),
		...person.bsuids.slice(1).map((b) => ({ name: 'BSUID', value: b })),
		...person.parentBsuids.map((b) => ({ name: 'Portfolio BSUID', value: b })),
	];
	return { id, ...(display ? { display } : {}), ...(accountId ? { account_id: accountId } : {}), ...(properties.length ? { custom: properties } : {}) };
}

/** Key of the business side of a record: its phone number id, else its WABA, else its channel account, else `unknown`. */
function businessKey(record: TranscriptRecord): string {
	if (record.phone_number_id) return `pn:${str(record.phone_number_id)}`;
	if (record.account_id) return `${str(record.channel)}:${str(record.account_id)}`;
	if (record.waba_id) return `waba:${str(record.waba_id)}`;
	return 'unknown';
}

function businessParticipant(id: string, record: TranscriptRecord): RsmfParticipant {
	const number = str(record.display_phone_number);
	const phoneNumberId = str(record.phone_number_id);
	const wabaId = str(record.waba_id);
	const accountOnChannel = str(record.account_id);
	if (!phoneNumberId && accountOnChannel) {
		const properties = [...custom('Channel', channelName(record)), ...custom('Account ID', accountOnChannel)];
		const display = `${channelName(record)} business account ${record.channel === 'sms' && number ? phone(number) : accountOnChannel}`;
		return { id, display, account_id: accountOnChannel, custom: properties };
	}
	const display = number
		? `WhatsApp Business ${phone(number)}`
		: phoneNumberId
			? `WhatsApp Business (phone number ID ${phoneNumberId})`
			: wabaId
				? `WhatsApp Business Account ${wabaId}`
				: 'WhatsApp Business';
	const accountId = phoneNumberId || wabaId;
	const properties = [...custom('Phone number', number && phone(number)), ...custom('Phone number ID', phoneNumberId), ...custom('WABA ID', wabaId)];
	return { id, display, ...(accountId ? { account_id: accountId } : {}), ...(properties.length ? { custom: properties } : {}) };
}

/** The raw type of a record: an unknown message's `original_type`, an unknown event's field, else `type`. */
function rawType(record: TranscriptRecord): string {
	const content = isObject(record.content) ? record.content : {};
	if (record.type === 'unknown') {
		if (record.record_kind === 'message' && content.original_type) return str(content.original_type);
		if (record.record_kind === 'event' && content.field) return str(content.field);
	}
	return str(record.type) || 'unknown';
}

/** Message types shown as RSMF `message` events; other messages (and other records) are `unknown` events. */
const NOT_A_MESSAGE = new Set(['unknown', 'system', 'request_welcome']);

/** Message types folded into the message they refer to. */
const UPDATE_TYPES = new Set(['edit', 'revoke', 'reaction']);

/** The wamid an update refers to: the original of an edit/revoke, the message of a reaction, the message of a status. */
function targetWamid(record: TranscriptRecord): string | null {
	const content = isObject(record.content) ? record.content : {};
	if (record.record_kind === 'status') return record.wamid ? str(record.wamid) : null;
	if (record.type === 'reaction') return str(content.message_id) || null;
	return str(record.original_wamid) || str(content.original_message_id) || null;
}

/** Whether a record updates a message (a status, edit, revoke or reaction) instead of being an event. */
export function isUpdate(record: TranscriptRecord): boolean {
	return record.record_kind === 'status' || (record.record_kind === 'message' && UPDATE_TYPES.has(str(record.type)));
}

/** The text of an edit's new version (`edit.message`, Meta coexistence `messages` reference). */
function editedBody(record: TranscriptRecord): string {
	const content = isObject(record.content) ? record.content : {};
	const message = isObject(content.message) ? content.message : {};
	const type = str(message.type);
	const typed = isObject(message[type]) ? (message[type] as JsonObject) : {};
	const text = isObject(message.text) ? str(message.text.body) : '';
	return describeContent(type, typed) || text;
}

/** `code title` of each error of a failed status. */
function statusErrors(record: TranscriptRecord): string {
	const content = isObject(record.content) ? record.content : {};
	const errors = Array.isArray(content.errors) ? content.errors.filter(isObject) : [];
	return errors.map((e) => `${str(e.code)} ${str(e.title)}`.trim()).filter(Boolean).join('; ');
}

/**
 * Maps records (any order) and their media to participants, conversations and events:
 *
 * - the business number of a record is the custodian of its conversation; the person is the set of
 *   their identifiers (phone number, BSUID) linked by any record that carries several;
 * - one `direct` conversation per business number and person (records of no person, such as
 *   template or account events, form one conversation of the business alone);
 * - messages, and records that are not messages, statuses or updates, become events; statuses,
 *   edits, revokes and reactions are folded into the event of the message they refer to, or become
 *   `unknown` events of their own when that message is not among the records.
 *
 * @throws ArchiveError `InvalidInput` for a record without `record_kind` or a media file whose
 *   `wamid` matches no message record (both named by their index, never by content).
 */
export function mapRecords(records: ReadonlyArray<unknown>, media: ReadonlyArray<RsmfMedia>): MappedRecords {
	const sorted = sortRecords(records);

	const identities = new Identities();
	for (const record of sorted) {
		const ids = identifiers(record);
		for (const id of ids.slice(1)) identities.union(ids[0], id);
	}
	const people = new Map<string, Person>();
	for (const record of sorted) {
		const ids = identifiers(record);
		if (!ids.length) continue;
		const root = identities.find(ids[0]);
		const person = people.get(root) ?? { phoneNumbers: [], bsuids: [], usernames: [], parentBsuids: [], name: null };
		people.set(root, person);
		const c = personFields(record);
		addOnce(person.phoneNumbers, c.wa_id);
		addOnce(person.bsuids, c.user_id);
		addOnce(person.usernames, c.username);
		addOnce(person.parentBsuids, c.parent_user_id);
		if (typeof c.name === 'string' && c.name) person.name = c.name;
	}

	const participants = new Map<string, RsmfParticipant>();
	const participantOf = new Map<string, string>();
	const participantId = (key: string, make: (id: string) => RsmfParticipant): string => {
		let id = participantOf.get(key);
		if (id === undefined) {
			id = `P${participantOf.size + 1}`;
			participantOf.set(key, id);
			participants.set(id, make(id));
		}
		return id;
	};
	const conversations = new Map<string, MappedConversation>();
	const byWamid = new Map<string, MappedEvent>();

	interface Placed {
		conversation: MappedConversation;
		business: string;
		person: string | null;
	}
	const businessOf = (record: TranscriptRecord): string =>
		participantId(`business:${businessKey(record)}`, (id) => businessParticipant(id, record));
	const personOf = (record: TranscriptRecord): string | null => {
		const ids = identifiers(record);
		if (!ids.length) return null;
		const root = identities.find(ids[0]);
		return participantId(`person:${root}`, (id) => personParticipant(id, people.get(root)!));
	};
	const place = (record: TranscriptRecord): Placed => {
		const business = businessOf(record);
		const person = personOf(record);
		const group = groupOf(record);
		// a group is one conversation (RSMF `channel`: members come and go) of every member who wrote or was reached
		const key = group ? `${business}|group:${group}` : `${business}|${person ?? ''}`;
		let conversation = conversations.get(key);
		if (!conversation) {
			const id = `C${conversations.size + 1}`;
			const businessDisplay = participants.get(business)!.display!;
			const channel = channelName(record);
			const display = group
				? `${channel} group ${group} of ${businessDisplay}`
				: person
					? `${channel}: ${participants.get(person)!.display} and ${businessDisplay}`
					: `${channel} account events of ${businessDisplay}`;
			const properties = [...custom('Phone number ID', str(record.phone_number_id)), ...custom('WABA ID', str(record.waba_id)), ...custom('Group ID', group)];
			conversation = {
				conversation: {
					id,
					display,
					platform: str(record.channel) || 'whatsapp',
					type: group ? 'channel' : 'direct',
					participants: person ? [business, person] : [business],
					custodian: business,
					...(properties.length ? { custom: properties } : {}),
				},
				events: [],
			};
			conversations.set(key, conversation);
		} else if (person && !conversation.conversation.participants.includes(person)) {
			conversation.conversation.participants.push(person);
		}
		return { conversation, business, person };
	};

	const displayOf = (id: string | undefined): string => (id ? (participants.get(id)?.display ?? id) : 'unknown');

	const addEvent = (record: TranscriptRecord, order: number, placed: Placed, event: Omit<RsmfEvent, 'conversation' | 'timestamp' | 'direction'>): MappedEvent => {
		const time = recordTime(record);
		const participant = event.participant;
		const mapped: MappedEvent = {
			event: {
				...event,
				conversation: placed.conversation.conversation.id,
				...(time ? { timestamp: time } : {}),
				...(participant ? { direction: participant === placed.business ? ('outgoing' as const) : ('incoming' as const) } : {}),
			},
			time,
			order,
			records: [record],
			attachments: [],
			replyTo: null,
			wamid: null,
			reactions: new Map(),
			business: placed.business,
			person: placed.person,
		};
		placed.conversation.events.push(mapped);
		return mapped;
	};

	// every record that is not an update becomes an event
	const updates: Array<{ record: TranscriptRecord; order: number }> = [];
	sorted.forEach((record, order) => {
		if (isUpdate(record)) {
			updates.push({ record, order });
			return;
		}
		const placed = place(record);
		const content = isObject(record.content) ? record.content : {};
		const type = str(record.type);
		const kind = str(record.record_kind);
		const isMessage = kind === 'message';
		const properties: RsmfCustomProperty[] = [...custom('WhatsApp type', rawType(record))];
		if (!isMessage) properties.push(...custom('WhatsApp record kind', kind));
		properties.push(...custom('Message ID', str(record.wamid)));
		const context: JsonObject = isObject(record.context) ? record.context : {};
		properties.push(...custom('Reply to message ID', str(context.reply_to)));
		if (context.frequently_forwarded === true) properties.push({ name: 'Forwarded', value: 'frequently forwarded' });
		else if (context.forwarded === true) properties.push({ name: 'Forwarded', value: 'forwarded' });
		if (type === 'location') properties.push(...custom('Location', `${str(content.latitude)}, ${str(content.longitude)}`));
		if (!isMessage || type === 'unknown') {
			const value = isMessage ? content.value : record.content;
			properties.push(...custom('Content (JSON)', value === undefined || value === null ? '' : JSON.stringify(value)));
		}
		const author = isMessage ? (record.direction === 'outbound' ? placed.business : (placed.person ?? undefined)) : undefined;
		const body = isMessage ? describeContent(type, content) : transcriptLine(record).text;
		const mapped = addEvent(record, order, placed, {
			type: isMessage && !NOT_A_MESSAGE.has(type) ? 'message' : 'unknown',
			...(author ? { participant: author } : {}),
			...(body ? { body } : {}),
			custom: properties,
		});
		mapped.replyTo = str(context.reply_to) || null;
		if (isMessage && record.wamid) {
			mapped.wamid = str(record.wamid);
			if (!byWamid.has(mapped.wamid)) byWamid.set(mapped.wamid, mapped);
		}
	});

	// statuses, edits, revokes and reactions, in time order, onto the message they refer to
	for (const { record, order } of updates) {
		const time = recordTime(record);
		const target = byWamid.get(targetWamid(record) ?? '');
		const inbound = record.record_kind === 'status' || record.direction !== 'outbound';
		if (!target) {
			const placed = place(record);
			const author = inbound ? placed.person : placed.business;
			const text = transcriptLine(record).text;
			addEvent(record, order, placed, {
				type: 'unknown',
				...(author ? { participant: author } : {}),
				...(text ? { body: text } : {}),
				custom: [
					...custom('WhatsApp type', rawType(record)),
					...custom('WhatsApp record kind', str(record.record_kind)),
					...custom('Refers to message ID', targetWamid(record)),
				],
			});
			continue;
		}
		// the person of the target's conversation when the update names none (a status to a group)
		const author = inbound ? (personOf(record) ?? target.person) : businessOf(record);
		target.records.push(record);
		const event = target.event;
		const properties = (event.custom ??= []);
		const at = time ?? 'unknown time';
		if (record.record_kind === 'status') {
			const status = str(record.type);
			const action = status === 'delivered' ? 'delivered' : status === 'read' || status === 'played' ? 'read' : null;
			if (action && author) {
				const receipt: RsmfReadReceipt = { participant: author, ...(time ? { timestamp: time } : {}), action };
				(event.read_receipts ??= []).push(receipt);
			}
			if (status !== 'delivered' && status !== 'read') {
				const content = isObject(record.content) ? record.content : {};
				const errors = statusErrors(record);
				properties.push({ name: `Status ${str(content.status) || status}`, value: errors ? `${at} (${errors})` : at });
			}
		} else if (record.type === 'edit') {
			const next = editedBody(record);
			const edit: RsmfEdit = {
				participant: author ?? event.participant ?? target.business,
				...(time ? { timestamp: time } : {}),
				previous: event.body ?? '',
				...(next ? { new: next } : {}),
			};
			(event.edits ??= []).push(edit);
			if (next) event.body = next;
		} else if (record.type === 'revoke') {
			event.deleted = true;
			properties.push({ name: 'Deleted', value: `${at} by ${displayOf(author ?? undefined)}` });
		} else if (author) {
			const content = isObject(record.content) ? record.content : {};
			const previous = target.reactions.get(author);
			target.reactions.delete(author);
			if (content.removed === true) {
				properties.push({ name: 'Reaction removed', value: `${previous ?? '(none)'} by ${displayOf(author)} at ${at}` });
			} else {
				target.reactions.set(author, str(content.emoji));
			}
		}
	}

	// media files onto their message events, named in event order
	const byEvent = new Map<MappedEvent, number[]>();
	media.forEach((file, index) => {
		const event = typeof file?.wamid === 'string' ? byWamid.get(file.wamid) : undefined;
		if (!event) {
			throw new ArchiveError(`media[${index}].wamid matches no message record of the export: give the wamid of the media message`, {
				code: 'InvalidInput',
			});
		}
		if (file.content === undefined || file.content === null) {
			throw new ArchiveError(`media[${index}].content is missing: give the decrypted bytes, a stream or a function that opens one`, {
				code: 'InvalidInput',
			});
		}
		byEvent.set(event, [...(byEvent.get(event) ?? []), index]);
	});
	const taken = new Set([MANIFEST_FILE_NAME.toLowerCase()]);
	const ordered = [...conversations.values()];
	let eventNumber = 0;
	for (const conversation of ordered) {
		conversation.events.sort((a, b) => {
			const ta = a.time ?? '\uffff';
			const tb = b.time ?? '\uffff';
			return ta !== tb ? (ta < tb ? -1 : 1) : a.order - b.order;
		});
		for (const mapped of conversation.events) {
			mapped.event = { id: `E${++eventNumber}`, ...mapped.event };
			const record = mapped.records[0];
			const content = isObject(record.content) ? record.content : {};
			for (const index of byEvent.get(mapped) ?? []) {
				const file = media[index];
				const display = mediaFileName({
					fileName: file.fileName ?? str(content.filename),
					type: str(record.type),
					time: mapped.time,
					mimeType: file.mimeType ?? (str(record.media_mime_type) || str(content.mime_type)),
				});
				const sha256 = typeof record.media_sha256 === 'string' && /^[0-9a-f]{64}$/i.test(record.media_sha256) ? record.media_sha256.toLowerCase() : null;
				mapped.attachments.push({ mediaIndex: index, id: uniqueFileName(display, taken), display, sha256 });
			}
		}
	}
	return { participants, conversations: ordered, recordCount: sorted.length };
}
