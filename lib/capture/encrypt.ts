/**
 * Encrypt at capture: turns a plaintext {@link CaptureRecord} (or per-delivery item) into OpenPGP
 * ciphertext plus routing fields that identify nobody, so nothing readable reaches n8n's execution
 * database. Uses the OpenPGP engine (`lib/pgp`, gnupg profile: SEIPD v1 + AES-256, readable by gpg 2.2)
 * and the archive layout's HMAC functions (`lib/archive/layout`) under the archive index key.
 */
import type { Readable } from 'node:stream';

import { recordIdentityPseudonyms, recordParticipantPseudonyms } from '../archive/identity';
import { counterpartyPseudonym, indexKeyCheck, recordId } from '../archive/layout';
import { encrypt, type CompatibilityProfile, type PublicKey } from '../pgp';
import { SCHEMA_VERSION, type CaptureRecord, type Channel, type DeliveryItem, type MediaStatus, type Provider, type RecordKind } from './types';

/** MIME type of the OpenPGP messages the trigger emits (RFC 3156 §4). */
export const PGP_MIME_TYPE = 'application/pgp-encrypted';

/**
 * JSON of an item leaving the trigger with "Encrypt at Capture" on. Only these fields are in clear;
 * the whole record (content, counterparty, wamid, idempotency key, raw value) is in the ciphertext.
 * No field holds a phone number, a name, a wamid (which base64-encodes the counterparty's number),
 * message content or a media file name.
 */
export interface EncryptedRouting {
	schema_version: typeof SCHEMA_VERSION;
	record_kind: RecordKind | 'delivery';
	provider: Provider;
	/** The record's channel (schema version 2). */
	channel: Channel;
	direction: 'inbound' | 'outbound' | null;
	/** Record `type` (message type, status value, event field, `quarantine`, `delivery`). */
	type: string;
	/** Change `field`, or null. */
	field: string | null;
	waba_id: string | null;
	phone_number_id: string | null;
	/** The business account on a channel other than WhatsApp (Page id, Instagram account id, Twilio number digits). */
	account_id: string | null;
	/** ISO 8601 UTC provider time, or null. */
	timestamp: string | null;
	/** ISO 8601 UTC receive time. */
	received_at: string | null;
	/** HMAC-SHA256(index key, `wa:<digits>` or `uid:<BSUID>`, or `<channel>:<user id>` on Messenger, Instagram, Telegram), 32 hex; null when the record has no counterparty. */
	counterparty_pseudonym: string | null;
	/**
	 * Other pseudonyms of the same person the record names (`uid:` BSUID, `un:` username, parent BSUID,
	 * the new number of a `user_changed_number` system message; lib/archive/identity.ts), so the S3
	 * Archive node can record the identity links without plaintext. Only when there are any.
	 */
	identity_pseudonyms?: string[];
	/**
	 * Pseudonyms of the group member a group record names (its `participant`: `wa:` number forms,
	 * `uid:` BSUIDs, `un:` username; their first identifier first), so the S3 Archive node links them
	 * (among themselves, never to the group). Only when there are any.
	 */
	participant_pseudonyms?: string[];
	/** HMAC-SHA256(index key, `rec:<idempotency_key>`), 32 hex: the archive file name of the record. */
	record_id: string;
	/** Lowercase hex SHA-256 of the delivery body. */
	delivery_sha256: string | null;
	signature_verified: boolean;
	graph_api_version: string | null;
	/** Set only on media messages when media download is on. */
	media_status?: MediaStatus;
	/** Plaintext media size in bytes, when downloaded. */
	media_size?: number;
	/** Why the media download failed (content-free). */
	media_error?: string;
	/**
	 * {@link indexKeyCheck} of the index key used: lets the S3 Archive node refuse items encrypted under
	 * another index key than its own (their pseudonyms would not match its lookups). Reveals nothing
	 * about the key.
	 */
	index_key_check: string;
	/** Always true: the item carries only ciphertext. */
	encrypted: true;
	/** Upper-case fingerprints of the recipients the ciphertext is encrypted to. */
	recipient_fingerprints: string[];
}

/** Options of {@link encryptRecord}. */
export interface EncryptRecordOptions {
	/** The plaintext record or per-delivery item; serialized whole with `JSON.stringify`. */
	record: CaptureRecord | DeliveryItem;
	/** Recipients, from `readPublicKeys` on the OpenPGP Public Keys credential. */
	recipients: PublicKey[];
	/** Archive index key (must equal the S3 Archive Store credential's), as `assertIndexKey` of lib/archive accepts. */
	indexKey: string;
	/** Default `gnupg`. */
	profile?: CompatibilityProfile;
}

/** Result of {@link encryptRecord}. */
export interface EncryptRecordResult {
	/** Binary OpenPGP message of `JSON.stringify(record)` (literal file name `record.json`). */
	ciphertext: Uint8Array;
	/** The clear routing fields. */
	routing: EncryptedRouting;
}

/**
 * Encrypts one record (its full JSON, raw value included) and computes its routing fields.
 *
 * @throws PgpError from `lib/pgp` (no recipients, unusable key…), ArchiveError `InvalidInput` when the
 *   index key `assertIndexKey` refuses or the record has no idempotency key.
 */
export async function encryptRecord(options: EncryptRecordOptions): Promise<EncryptRecordResult> {
	const routing = routingFields(options.record, options.indexKey);
	const result = await encrypt({
		data: Buffer.from(JSON.stringify(options.record), 'utf8'),
		recipients: options.recipients,
		profile: options.profile ?? 'gnupg',
		filename: 'record.json',
	});
	return {
		ciphertext: result.ciphertext as Uint8Array,
		routing: { ...routing, recipient_fingerprints: result.recipientFingerprints },
	};
}

/** Options of {@link encryptMediaStream}. */
export interface EncryptMediaOptions {
	/** The plaintext media bytes, streamed. */
	stream: Readable;
	recipients: PublicKey[];
	profile?: CompatibilityProfile;
}

/**
 * Encrypts a media stream (streamed: never buffered here). The literal data packet carries the
 * neutral name `media.bin`, never the user's file name.
 *
 * @returns a Node `Readable` of the binary OpenPGP message; source errors surface on it.
 * @throws PgpError as `lib/pgp`'s `encrypt`.
 */
export async function encryptMediaStream(options: EncryptMediaOptions): Promise<Readable> {
	const result = await encrypt({
		data: options.stream,
		recipients: options.recipients,
		profile: options.profile ?? 'gnupg',
		filename: 'media.bin',
	});
	return result.ciphertext as Readable;
}

/**
 * The clear routing fields of a record (without `recipient_fingerprints`). `record_id` equals what the
 * S3 Archive node computes from the plaintext record (`recordId(indexKey, idempotency_key)`), and so
 * does `counterparty_pseudonym`, so both paths file a record under the same key.
 *
 * @throws ArchiveError `InvalidInput` for a short index key or a missing idempotency key.
 */
export function routingFields(record: CaptureRecord | DeliveryItem, indexKey: string): Omit<EncryptedRouting, 'recipient_fingerprints'> {
	// A per-delivery item is filed like a record of kind `delivery` without counterparty or time.
	const view =
		record.record_kind === 'delivery'
			? {
					record_kind: 'delivery' as const,
					provider: record.records[0]?.provider ?? 'whatsapp_cloud',
					direction: null,
					type: 'delivery',
					field: null,
					waba_id: null,
					timestamp: null,
					counterparty: null,
				}
			: record;
	const routing: Omit<EncryptedRouting, 'recipient_fingerprints'> = {
		schema_version: SCHEMA_VERSION,
		record_kind: view.record_kind,
		provider: view.provider,
		channel: record.channel,
		direction: view.direction,
		type: view.type,
		field: view.field,
		waba_id: view.waba_id,
		phone_number_id: record.phone_number_id,
		account_id: record.account_id,
		timestamp: view.timestamp,
		received_at: record.received_at,
		counterparty_pseudonym: counterpartyPseudonym({ indexKey, counterparty: view.counterparty, channel: record.channel }),
		record_id: recordId({ indexKey, idempotencyKey: record.idempotency_key }),
		delivery_sha256: record.delivery_sha256,
		signature_verified: record.signature_verified,
		graph_api_version: record.graph_api_version,
		index_key_check: indexKeyCheck(indexKey),
		encrypted: true,
	};
	if (record.record_kind === 'delivery') return routing;
	const others = recordIdentityPseudonyms({ indexKey, record }).filter((pseudonym) => pseudonym !== routing.counterparty_pseudonym);
	if (routing.counterparty_pseudonym && others.length) routing.identity_pseudonyms = others;
	const participant = recordParticipantPseudonyms({ indexKey, record });
	if (participant.length) routing.participant_pseudonyms = participant;
	if (record.media_status !== undefined) routing.media_status = record.media_status;
	if (record.media_size !== undefined) routing.media_size = record.media_size;
	if (record.media_error !== undefined) routing.media_error = record.media_error;
	return routing;
}
