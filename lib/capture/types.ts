/**
 * Types of the capture engine: the normalized record produced from one WhatsApp Business Cloud API
 * webhook delivery, and the option / result shapes of the engine's verbs.
 *
 * Sources: Meta for Developers, "WhatsApp Cloud API – Webhooks" reference pages
 * (`messages`, `statuses`, `smb_message_echoes`, and the other `field` values), "Graph API Webhooks –
 * Getting Started" (handshake and `X-Hub-Signature-256`). See docs/FORMAT.md for the field-by-field
 * description with an example.
 */

/**
 * Version of the record layout below. Bumped only on an incompatible change: 2 added `channel` and
 * `account_id` (docs/FORMAT.md, "Schema version 2"); readers accept records of version 1 and 2.
 */
export const SCHEMA_VERSION = 2 as const;

/**
 * The messaging service a record came from (docs/FORMAT.md, "Channels"). Records written before
 * schema version 2 have no `channel`: readers treat them as `whatsapp`.
 */
export type Channel = 'whatsapp' | 'messenger' | 'instagram' | 'telegram' | 'sms';

/** Every {@link Channel}, in the order docs/FORMAT.md lists them. */
export const CHANNELS: readonly Channel[] = ['whatsapp', 'messenger', 'instagram', 'telegram', 'sms'];

/** Provider tag of records from the Meta WhatsApp Business Cloud API. */
export const PROVIDER = 'whatsapp_cloud' as const;

/** Provider tag of records from Twilio's WhatsApp channel (Programmable Messaging webhooks). */
export const TWILIO_PROVIDER = 'twilio' as const;

/** Provider tag of records from the Telegram Bot API (webhook `Update`s, Business included). */
export const TELEGRAM_PROVIDER = 'telegram_bot_api' as const;

/** Provider tag of records from Meta's Messenger Platform webhooks (Messenger and Instagram messaging). */
export const META_MESSAGING_PROVIDER = 'meta_messaging' as const;

/** Which service a record came from. */
export type Provider = typeof PROVIDER | typeof TWILIO_PROVIDER | typeof TELEGRAM_PROVIDER | typeof META_MESSAGING_PROVIDER;

/** Outcome of the trigger's "Download Media" option for one media message. */
export type MediaStatus = 'downloaded' | 'failed';

/**
 * What a record stands for.
 * - `message`: one element of `value.messages[]` (inbound; a group message when it has `group_id`),
 *   `value.message_echoes[]` (outbound echo) or a `history` thread's `messages[]` (coexistence history).
 * - `status`: one element of `value.statuses[]` (delivery status of an outbound message, per group
 *   member for a group message).
 * - `error`: one element of a value-level `value.errors[]` (out-of-band error, not tied to a message).
 * - `group`: one element of `value.groups[]` of the `group_lifecycle_update`,
 *   `group_participants_update`, `group_settings_update` and `group_status_update` fields.
 * - `history_progress`: one chunk of the coexistence `history` field (its `phase`, `chunk_order`,
 *   `progress`, or the `errors` of a declined sync), apart from the messages it carries.
 * - `contact`: one element of `value.state_sync[]` (`smb_app_state_sync`: a contact of the WhatsApp
 *   Business app added, edited or removed).
 * - `call`: one element of `value.calls[]` or a call status of `value.statuses[]` (`calls` field).
 * - `user_preference`: one element of `value.user_preferences[]` (marketing messages stopped or resumed).
 * - `template_update`: one `message_template_components_update` change (a template edited).
 * - `account_settings`: one `account_settings_update` change.
 * - `event`: one whole `change` whose `field` has no record kind of its own (template status, account
 *   update, `user_id_update`, …) or a change/entry whose shape was not understood.
 * - `quarantine`: a correctly signed body that is not JSON or not a WhatsApp envelope; kept whole.
 */
export type RecordKind =
	| 'message'
	| 'status'
	| 'error'
	| 'group'
	| 'history_progress'
	| 'contact'
	| 'call'
	| 'user_preference'
	| 'template_update'
	| 'account_settings'
	| 'event'
	| 'quarantine';

/** `inbound` = sent by the customer; `outbound` = sent by the business (statuses, echoes). */
export type Direction = 'inbound' | 'outbound';

/** Arbitrary JSON object as found in the delivery. */
export type JsonObject = { [key: string]: unknown };

/** One WhatsApp user as a record names them (Meta "Business-scoped user IDs": phone, BSUID, username). */
export interface Person {
	/** Phone number (WhatsApp id, digits only as Meta sends it): `from`, `wa_id`, `recipient_id` or echo `to`; null for username-only users. */
	wa_id: string | null;
	/** Business-scoped user id (BSUID, e.g. `US.13491208655302741918`): `from_user_id`, `user_id`, `recipient_user_id`; null when absent. */
	user_id: string | null;
	/** Profile name from `contacts[].profile.name`, matched by wa_id or user_id; null when absent. */
	name: string | null;
	/** Username from the matching contact (`profile.username` or `username`); only when present. */
	username?: string;
	/** Portfolio-level BSUID: the contact's `parent_user_id`, else the element's `from_parent_user_id` / `parent_recipient_user_id`; only when present. */
	parent_user_id?: string;
	/** The contact's `identity_key_hash` (or a status's `recipient_identity_key_hash`), sent with the identity change check on; only when present. */
	identity_key_hash?: string;
}

/**
 * The other party of the conversation (never the business number): the WhatsApp user, or for a group
 * record the group itself (`group_id` set, the user fields null, `name` the group subject when known).
 */
export interface Counterparty extends Person {
	/** Group id (Meta Groups API, e.g. `Y2FwaV9ncm91cDo…`): only on group records. */
	group_id?: string;
}

/** Reply / forward / ad-referral information of a message (`message.context` and `message.referral`). */
export interface RecordContext {
	/** `context.id`: wamid of the message replied to (or of the product message for product enquiries). */
	reply_to: string | null;
	/** `context.from`: sender of the message replied to. */
	reply_to_from: string | null;
	/** `context.forwarded`. */
	forwarded: boolean;
	/** `context.frequently_forwarded` (forwarded more than 5 times). */
	frequently_forwarded: boolean;
	/** `context.referred_product` ({ catalog_id, product_retailer_id }) or null. */
	referred_product: JsonObject | null;
	/** `message.referral` (Click-to-WhatsApp ad / post) or null. */
	referral: JsonObject | null;
}

/** Raw value of a quarantine record. */
export interface QuarantineRaw {
	/** The whole delivery body, base64 (standard alphabet, padded). */
	body_base64: string;
	/** Content-Type request header, when the caller passed it. */
	content_type?: string;
}

/**
 * One normalized record. Every field is always present (null when not applicable) so that downstream
 * nodes and templates can rely on the shape. Field names are snake_case and part of the public contract.
 */
export interface CaptureRecord {
	/** Layout version, currently 2 (1 before `channel` and `account_id`). */
	schema_version: typeof SCHEMA_VERSION;
	/** The messaging service (see {@link Channel}); absent on records of schema version 1 (WhatsApp). */
	channel: Channel;
	/**
	 * The business's account on a channel other than WhatsApp (Messenger: the Page id; Instagram: the
	 * Instagram professional account id; SMS: the digits of the Twilio number; Telegram: the bot's user id);
	 * null on WhatsApp records, which keep `phone_number_id`.
	 */
	account_id: string | null;
	/** See {@link RecordKind}. */
	record_kind: RecordKind;
	/** `whatsapp_cloud` (Meta WhatsApp Business Cloud API) or `twilio` (Twilio WhatsApp webhooks). */
	provider: Provider;
	/** `inbound` for `messages[]`; `outbound` for `statuses[]` and `message_echoes[]`; see docs/FORMAT.md for the other kinds; null when it does not apply. */
	direction: Direction | null;
	/** `entry[].id`: the WhatsApp Business Account id; null for quarantine. */
	waba_id: string | null;
	/** `value.metadata.phone_number_id` (business number id); null when the value has no metadata, and on channels other than WhatsApp. */
	phone_number_id: string | null;
	/** `value.metadata.display_phone_number`; null when absent. */
	display_phone_number: string | null;
	/** `change.field` the record came from (`messages`, `smb_message_echoes`, `message_template_status_update`, …); null for quarantine. */
	field: string | null;
	/** Message id (`wamid.…`) of the message, echo or status; the call id (`wacid.…`) of a call; null otherwise. */
	wamid: string | null;
	/**
	 * Message: message type (`text`, `image`, …, `unknown` for a type this engine does not know).
	 * Status: status value (`sent`, `delivered`, `read`, `played`, `failed`, `deleted`, `warning`, or `unknown`).
	 * Error: `error`. Event: the change `field` (or `unknown` for a field this engine does not know).
	 * Other kinds: see docs/FORMAT.md. Quarantine: `quarantine`.
	 */
	type: string;
	/** Provider timestamp (epoch seconds in the payload) as ISO 8601 UTC, or null when absent/invalid. */
	timestamp: string | null;
	/** Time the delivery reached the capture node, ISO 8601 UTC. */
	received_at: string;
	/**
	 * Which clock files the record in the archive and starts its retention: `timestamp` when the provider
	 * time lies within 8 days before to 10 minutes after `received_at`, else `received_at` (a large skew:
	 * a missing, forged or wrong provider time). Set by the Meta normalizer.
	 */
	filed_by?: 'timestamp' | 'received_at';
	/** `received_at` − `timestamp` in whole seconds (positive: provider time earlier); null without a timestamp. */
	timestamp_skew_seconds?: number | null;
	/** The customer (or group) this record is about. All three null when not applicable. */
	counterparty: Counterparty;
	/**
	 * Only on group records naming one member: the sender of a group message, the member a group
	 * status is about (`recipient_participant_id`), the member a group event is about.
	 */
	participant?: Person;
	/** Type-specific content; see docs/FORMAT.md ("content by type"). Null only for quarantine. */
	content: JsonObject | null;
	/** Reply/forward/referral context of a message; null when the message has none and for other kinds. */
	context: RecordContext | null;
	/** For `edit` and `revoke` messages: `original_message_id`, the wamid of the message changed; else null. */
	original_wamid: string | null;
	/** Position of the element in the delivery, e.g. `entry[0].changes[1].messages[2]`; `body` for quarantine. */
	position: string;
	/**
	 * Deduplication key (Meta delivers at least once).
	 * Message/echo (live or from the history sync): `<phone_number_id>:<wamid>` (a history media
	 * placeholder: `…:placeholder`); status: `<phone_number_id>:<wamid>:<status>` (a group member's:
	 * `…:<status>:<recipient_participant_id>`); call: `<phone_number_id>:<call id>:<event or status>`;
	 * everything else (or when phone_number_id/wamid is missing): `jcs:<SHA-256 of the body's RFC 8785
	 * canonical form>:<position>`; a quarantined body that is not JSON: `sha256:<delivery_sha256>:body`.
	 */
	idempotency_key: string;
	/** Lowercase hex SHA-256 of the exact raw body bytes. */
	delivery_sha256: string;
	/** Whether `X-Hub-Signature-256` was verified for this delivery (as told by the caller). */
	signature_verified: boolean;
	/** Graph API version configured in the credential (e.g. `v24.0`), or null when unknown. */
	graph_api_version: string | null;
	/**
	 * The exact `change.value` object the record came from (shared by all records of the same change);
	 * for an event built from a malformed entry, the entry itself; for quarantine, {@link QuarantineRaw}.
	 */
	raw: unknown;
	/**
	 * Only on media messages (image, audio, video, document, sticker) when the trigger's "Download
	 * Media" option is on: `downloaded` (bytes attached and checked) or `failed` (see `media_error`).
	 */
	media_status?: MediaStatus;
	/** Lowercase hex SHA-256 of the downloaded bytes (plaintext media); set when `downloaded`. */
	media_sha256?: string;
	/** Size of the downloaded bytes; set when `downloaded`. */
	media_size?: number;
	/** MIME type reported by the Graph API media object (or the webhook); set when `downloaded`. */
	media_mime_type?: string;
	/** Whether the bytes were checked against a `sha256` from the webhook or the media object. */
	media_sha256_verified?: boolean;
	/** Why the download failed (HTTP status, Graph error code, `sha256 mismatch`…); never content. */
	media_error?: string;
}

/** Options of {@link normalizeDelivery}. */
export interface NormalizeOptions {
	/** Exact request body bytes. */
	rawBody: Buffer;
	/** Time the request was received. */
	receivedAt: Date;
	/** Result of the signature check, copied into each record. */
	signatureVerified: boolean;
	/** Graph API version to stamp on records (credential setting). */
	graphApiVersion?: string;
	/** Content-Type request header, kept on quarantine records. */
	contentType?: string;
}

/** Options of {@link verifySignature}. */
export interface VerifySignatureOptions {
	/** Exact request body bytes. */
	rawBody: Buffer;
	/** Value of the `X-Hub-Signature-256` header (`sha256=<64 hex>`), or undefined when absent. */
	header: string | undefined;
	/** Meta App Secret (App Dashboard → App settings → Basic). */
	appSecret: string;
}

/** Result of {@link verifySignature}. */
export interface VerifySignatureResult {
	verified: boolean;
	/** Which body form matched: the raw bytes, or the escaped-unicode form. Present when verified. */
	form?: 'raw' | 'escaped-unicode';
	/** Why verification failed (no secret, no header, malformed header, mismatch). Never contains body content. */
	reason?: string;
}

/** Options of {@link answerHandshake}. */
export interface HandshakeOptions {
	/** Parsed query string of the GET request (`hub.mode`, `hub.verify_token`, `hub.challenge`). */
	query: Record<string, unknown>;
	/** Verify token the user typed in the Meta App Dashboard and in the credential. */
	verifyToken: string;
}

/** Result of {@link answerHandshake}: 200 with the bare challenge as text/plain body, or 403. */
export type HandshakeResult = { status: 200; body: string } | { status: 403 };

/** Options of {@link filterRecords}. Empty / missing lists mean "keep all". */
export interface FilterOptions {
	/** Keep only message records whose `type` is listed (other kinds unaffected). */
	messageTypes?: string[];
	/** Keep only status records whose `type` is listed (other kinds unaffected). */
	statusKinds?: string[];
	/** Keep only records whose `field` is listed (quarantine records are never dropped). */
	fields?: string[];
}

/** Result of {@link filterRecords}. */
export interface FilterResult {
	kept: CaptureRecord[];
	/** Number of records dropped by the filter (so callers can report it). */
	dropped: number;
}

/** Options of {@link buildDeliveryItem}. */
export interface DeliveryItemOptions {
	/** Records of the delivery to carry (after filtering), in delivery order. */
	records: CaptureRecord[];
	/** Exact request body bytes. */
	rawBody: Buffer;
	/** Number of records removed by the filters. */
	filteredOut: number;
	/** Content-Type request header, when known. */
	contentType?: string;
}

/** One item per delivery ("One Item per Delivery" output mode of the trigger). */
export interface DeliveryItem {
	/** Layout version, currently 2. */
	schema_version: typeof SCHEMA_VERSION;
	/** Always `delivery` (distinguishes the item from a {@link CaptureRecord}). */
	record_kind: 'delivery';
	/** The channel of the first record (a delivery comes from one webhook, so from one channel). */
	channel: Channel;
	/** The phone_number_id shared by all records, or null when they differ or have none. */
	phone_number_id: string | null;
	/** The account_id shared by all records, or null when they differ or have none. */
	account_id: string | null;
	/** `sha256:<delivery_sha256>`: deduplicates byte-identical redeliveries. */
	idempotency_key: string;
	/** Lowercase hex SHA-256 of the body (as in the records); null only when there is no record. */
	delivery_sha256: string | null;
	/** ISO 8601 UTC receive time (as in the records). */
	received_at: string | null;
	/** Signature check result (as in the records). */
	signature_verified: boolean;
	/** Graph API version from the credential (as in the records). */
	graph_api_version: string | null;
	/** Content-Type request header, or null. */
	content_type: string | null;
	/** The exact body bytes, base64 (standard alphabet, padded). */
	body_base64: string;
	/** Number of records in `records`. */
	record_count: number;
	/** Number of records removed by the node's filters. */
	filtered_out_count: number;
	/** The records, in delivery order. */
	records: CaptureRecord[];
}
