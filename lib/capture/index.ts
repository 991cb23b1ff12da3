/**
 * Capture engine: verifies, answers and normalizes WhatsApp Business Cloud API, Messenger, Instagram
 * and Twilio (WhatsApp, SMS/MMS) webhook deliveries.
 * Plain TypeScript, no n8n import. One module per verb:
 * - {@link verifySignature} (signature.ts): `X-Hub-Signature-256` check, raw then escaped-unicode;
 * - {@link answerHandshake} (handshake.ts): `hub.mode` / `hub.verify_token` / `hub.challenge`;
 * - {@link normalizeDelivery} (normalize.ts): delivery bytes → {@link CaptureRecord}[], descending the
 *   envelope; the elements of each field are read by messages.ts (messages, echoes, statuses, errors),
 *   groups.ts, history.ts, state-sync.ts, calls.ts and user-preferences.ts, on the shared builders of
 *   record.ts;
 * - {@link normalizeMessagingDelivery} (meta-messaging.ts): Messenger / Instagram deliveries → records;
 * - {@link filterRecords} (filter.ts): user filters on records;
 * - {@link buildDeliveryItem} (delivery.ts): the one-item-per-delivery shape;
 * - {@link downloadMedia} (media.ts): Graph API media lookup + streamed, SHA-256-checked download
 *   ({@link downloadAttachment}: a Messenger / Instagram attachment URL, hashed the same way);
 * - {@link encryptRecord} / {@link encryptMediaStream} (encrypt.ts): encrypt at capture + routing fields;
 * - {@link spoolStream} (spool.ts): a ciphertext held in a private temporary file until it is archived;
 * - {@link createSubscription} & co. (subscription.ts): app subscription and WABA / phone overrides;
 * - {@link normalizeOutbound} (outbound.ts): the business's API sends as outbound records;
 * - {@link verifyTwilioSignature} / {@link normalizeTwilioWebhook} (twilio.ts): Twilio WhatsApp and SMS/MMS;
 * - {@link verifyTelegramSecret} / {@link normalizeTelegramUpdate} (telegram.ts): Telegram Bot API
 *   updates (Business included); {@link botApiRequest} & co. (telegram-bot-api.ts): the one place that
 *   speaks HTTP to the Bot API (webhook registration, `getFile` downloads);
 * - {@link graphRequest} (graph.ts): the one place that speaks HTTP to the Graph API.
 */
export { verifySignature, escapeUnicode } from './signature';
export { answerHandshake } from './handshake';
export {
	normalizeDelivery,
	epochSecondsToIso,
	WHATSAPP_OBJECT,
	MESSAGE_FIELDS,
	KNOWN_EVENT_FIELDS,
} from './normalize';
export { KNOWN_MESSAGE_TYPES, KNOWN_STATUS_VALUES } from './content';
export { GROUP_FIELDS } from './groups';
export { MEDIA_PLACEHOLDER_TYPE } from './history';
export { filterRecords } from './filter';
export { buildDeliveryItem } from './delivery';
export { GraphApiError, graphRequest, graphUrl, type GraphEndpoint, type GraphRequest } from './graph';
export {
	DEFAULT_MAX_MEDIA_BYTES,
	MEDIA_MESSAGE_TYPES,
	digestMatches,
	attachmentReference,
	downloadAttachment,
	downloadMedia,
	mediaReference,
	type DownloadAttachmentOptions,
	type DownloadMediaOptions,
	type DownloadMediaResult,
	type MediaReference,
	type MediaStreamInfo,
} from './media';
export {
	PGP_MIME_TYPE,
	encryptMediaStream,
	encryptRecord,
	routingFields,
	type EncryptMediaOptions,
	type EncryptRecordOptions,
	type EncryptRecordResult,
	type EncryptedRouting,
} from './encrypt';
export { spoolStream, type SpooledFile } from './spool';
export {
	SubscriptionError,
	checkSubscription,
	createSubscription,
	deleteSubscription,
	type DeleteSubscriptionResult,
	type SubscriptionMode,
	type SubscriptionState,
	type SubscriptionTarget,
} from './subscription';
export {
	OUTBOUND_MESSAGE_TYPES,
	OutboundError,
	normalizeOutbound,
	type NormalizeOutboundOptions,
} from './outbound';
export {
	MAX_TWILIO_PARAMS,
	TWILIO_STATUS_VALUES,
	normalizeTwilioWebhook,
	parseTwilioForm,
	twilioSignedString,
	verifyTwilioSignature,
	type NormalizeTwilioOptions,
	type TwilioParams,
	type VerifyTwilioSignatureOptions,
	type VerifyTwilioSignatureResult,
} from './twilio';
export {
	MAX_DELETED_MESSAGE_IDS,
	TELEGRAM_FILE_TYPES,
	TELEGRAM_SECRET_HEADER,
	TELEGRAM_SECRET_TOKEN_PATTERN,
	TELEGRAM_UPDATE_TYPES,
	botIdOfToken,
	normalizeTelegramUpdate,
	telegramFileReference,
	verifyTelegramSecret,
	type NormalizeTelegramOptions,
	type TelegramFileReference,
	type VerifyTelegramSecretOptions,
	type VerifyTelegramSecretResult,
} from './telegram';
export {
	TELEGRAM_MAX_FILE_BYTES,
	TelegramApiError,
	botApiBaseUrlRefusal,
	botApiRequest,
	deleteWebhook,
	downloadTelegramFile,
	getMe,
	getWebhookUrl,
	setWebhook,
	type BotApiEndpoint,
	type DownloadTelegramFileOptions,
	type SetWebhookOptions,
	type TelegramApiErrorCode,
} from './telegram-bot-api';
export { SCHEMA_VERSION, PROVIDER, TWILIO_PROVIDER, TELEGRAM_PROVIDER, META_MESSAGING_PROVIDER, CHANNELS } from './types';
export { MESSAGING_OBJECTS, normalizeMessagingDelivery, type MessagingChannel } from './meta-messaging';
export type {
	CaptureRecord,
	Channel,
	Counterparty,
	DeliveryItem,
	DeliveryItemOptions,
	Direction,
	FilterOptions,
	FilterResult,
	HandshakeOptions,
	HandshakeResult,
	JsonObject,
	MediaStatus,
	NormalizeOptions,
	Person,
	Provider,
	QuarantineRaw,
	RecordContext,
	RecordKind,
	VerifySignatureOptions,
	VerifySignatureResult,
} from './types';
