import type { CaptureOptions } from '../shared/capture';

/** Credential fields read by the trigger (Telegram Bot API credential). */
export interface TelegramCredentials {
	botToken?: string;
	secretToken?: string;
	indexKey?: string;
	apiBaseUrl?: string;
}

/** The trigger's Options collection. */
export interface TelegramCaptureOptions extends CaptureOptions {
	/** Largest file downloaded, in MiB (Bot API getFile: 20 MB on Telegram's server). */
	maxFileSizeMb?: number;
}
