import type { GraphEndpoint } from '../../lib/capture';
import type { PublicKey } from '../../lib/pgp';

/** Credential fields read by the trigger (WhatsApp Capture credential, Provider = Meta). */
export interface CaptureCredentials {
	appSecret?: string;
	verifyToken?: string;
	accessToken?: string;
	appId?: string;
	indexKey?: string;
	graphApiBaseUrl?: string;
	graphApiVersion?: string;
}

/** Credential fields read by the trigger (Twilio WhatsApp credential, Provider = Twilio). */
export interface TwilioCredentials {
	accountSid?: string;
	authToken?: string;
	indexKey?: string;
}

/** Options collection of the node. */
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
}

/** Encrypt-at-capture settings (Encrypt at Capture on). */
export interface EncryptSettings {
	recipients: PublicKey[];
	indexKey: string;
}
