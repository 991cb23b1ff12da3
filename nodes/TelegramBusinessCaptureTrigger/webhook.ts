import type { IWebhookFunctions, IWebhookResponseData } from 'n8n-workflow';

import { TELEGRAM_SECRET_HEADER, botIdOfToken, normalizeTelegramUpdate, verifyTelegramSecret } from '../../lib/capture';
import { emitCapture, rawBodyOf } from '../shared/triggerEmit';
import { botApiEndpoint } from './methods/credentialTest';
import { telegramFiles } from './files';
import type { TelegramCaptureOptions, TelegramCredentials } from './types';

const SOURCE = 'Telegram Business Capture Trigger';

/**
 * `webhook()`: checks `X-Telegram-Bot-Api-Secret-Token` against the credential's Secret Token in
 * constant time (403 and no execution when it is missing or wrong: the Bot API documents the header,
 * not an answer; 403 because the request is understood but not allowed, and 401 would call for a
 * WWW-Authenticate challenge, RFC 9110 §15.5.2), then the raw body (413 above Max Body Size),
 * normalizes the `Update` (lib/capture) and answers with the shared capture tail.
 */
export async function telegramWebhook(this: IWebhookFunctions): Promise<IWebhookResponseData> {
	const res = this.getResponseObject();
	const credentials = await this.getCredentials<TelegramCredentials>('telegramBotCaptureApi');
	const req = this.getRequestObject();
	const header = req.headers[TELEGRAM_SECRET_HEADER];
	const secret = verifyTelegramSecret({ header: typeof header === 'string' ? header : undefined, secretToken: credentials.secretToken ?? '' });
	if (!secret.verified) {
		this.logger.warn(`${SOURCE}: update refused (403): ${secret.reason}`);
		res.status(403).json({ error: 'invalid secret token' });
		return { noWebhookResponse: true };
	}
	const options = this.getNodeParameter('options', {}) as TelegramCaptureOptions;
	const rawBody = rawBodyOf.call(this, SOURCE, options);
	if (!rawBody) return { noWebhookResponse: true };
	const botId = botIdOfToken(credentials.botToken);
	if (botId === null) {
		// Telegram retries an update answered other than 2xx: nothing is lost while the credential is fixed
		this.logger.error(`${SOURCE}: the Bot Token of the Telegram Bot API credential has not the shape <bot id>:<secret>`);
		res.status(500).json({ error: 'bot token is not configured' });
		return { noWebhookResponse: true };
	}
	const contentType = typeof req.headers['content-type'] === 'string' ? req.headers['content-type'] : undefined;
	const records = normalizeTelegramUpdate({ rawBody, botId, receivedAt: new Date(), secretVerified: true, contentType });
	const updateTypes = new Set(this.getNodeParameter('updateTypes', []) as string[]);
	// Update Types keeps the chosen update fields (all when empty); a body that is not an Update is always kept
	const kept = updateTypes.size === 0 ? records : records.filter((record) => record.field === null || updateTypes.has(record.field));
	return await emitCapture.call(this, {
		records: kept,
		rawBody,
		contentType,
		options,
		media: this.getNodeParameter('downloadFiles', false) === true ? telegramFiles(botApiEndpoint(credentials), options) : undefined,
		indexKey: credentials.indexKey,
		source: SOURCE,
		indexKeyCredential: 'Telegram Bot API',
	});
}
