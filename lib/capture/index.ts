/**
 * Capture engine: verifies, answers and normalizes WhatsApp Business Cloud API webhook deliveries.
 * Plain TypeScript, no n8n import. One module per verb:
 * - {@link verifySignature} (signature.ts): `X-Hub-Signature-256` check, raw then escaped-unicode;
 * - {@link answerHandshake} (handshake.ts): `hub.mode` / `hub.verify_token` / `hub.challenge`;
 * - {@link normalizeDelivery} (normalize.ts): delivery bytes → {@link CaptureRecord}[];
 * - {@link filterRecords} (filter.ts): user filters on records;
 * - {@link buildDeliveryItem} (delivery.ts): the one-item-per-delivery shape.
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
export { filterRecords } from './filter';
export { buildDeliveryItem } from './delivery';
export { SCHEMA_VERSION, PROVIDER } from './types';
export type {
	CaptureRecord,
	Counterparty,
	DeliveryItem,
	DeliveryItemOptions,
	Direction,
	FilterOptions,
	FilterResult,
	HandshakeOptions,
	HandshakeResult,
	JsonObject,
	NormalizeOptions,
	QuarantineRaw,
	RecordContext,
	RecordKind,
	VerifySignatureOptions,
	VerifySignatureResult,
} from './types';
