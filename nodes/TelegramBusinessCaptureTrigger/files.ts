import { downloadTelegramFile, telegramFileReference, type BotApiEndpoint } from '../../lib/capture';
import type { ProviderMedia } from '../shared/capture';
import type { TelegramCaptureOptions } from './types';

/**
 * Download Files: the file of each photo, document, voice, video, audio, sticker (animation, video
 * note) message through `getFile` and the file URL (lib/capture `downloadTelegramFile`), streamed
 * and hashed by the capture as WhatsApp media are (`../shared/capture.ts`).
 */
export function telegramFiles(endpoint: BotApiEndpoint, options: TelegramCaptureOptions): ProviderMedia {
	const maxFileSizeMb = Number(options.maxFileSizeMb ?? 20);
	return {
		fileOf(record) {
			const file = telegramFileReference(record);
			return file ? { fileName: file.fileName, fallbackName: `${record.type}-${file.fileUniqueId ?? 'file'}` } : undefined;
		},
		async download(record, consume) {
			const file = telegramFileReference(record)!;
			return await downloadTelegramFile({
				endpoint,
				fileId: file.fileId,
				mimeType: file.mimeType,
				consume,
				attempts: options.mediaAttempts ?? 3,
				backoffMs: options.mediaRetryDelayMs ?? 500,
				maxBytes: Math.floor((Number.isFinite(maxFileSizeMb) && maxFileSizeMb > 0 ? maxFileSizeMb : 20) * 1024 * 1024),
			});
		},
	};
}
