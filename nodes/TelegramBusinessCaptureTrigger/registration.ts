import { NodeOperationError, type IHookFunctions } from 'n8n-workflow';

import { TELEGRAM_UPDATE_TYPES, TelegramApiError, deleteWebhook, getWebhookUrl, setWebhook } from '../../lib/capture';
import { botApiEndpoint } from './methods/credentialTest';
import type { TelegramCredentials } from './types';

/** Bot API errors as NodeOperationError (their messages never hold the token). */
function asNodeError(this: IHookFunctions, error: unknown): NodeOperationError {
	if (error instanceof TelegramApiError) return new NodeOperationError(this.getNode(), error.message);
	return new NodeOperationError(this.getNode(), error as Error);
}

/**
 * `webhookMethods.default`: on activation `setWebhook` with this trigger's URL, the credential's
 * Secret Token and the chosen Update Types as `allowed_updates` (Bot API, setWebhook), every time, so
 * a changed secret or list takes effect; on deactivation `deleteWebhook`, only when the bot's webhook
 * is still this trigger's URL (`getWebhookInfo`), so another workflow's registration is left alone.
 */
export const registrationMethods = {
	async checkExists(this: IHookFunctions): Promise<boolean> {
		// setWebhook replaces any registration: always (re)register on activation
		return false;
	},

	async create(this: IHookFunctions): Promise<boolean> {
		const credentials = await this.getCredentials<TelegramCredentials>('telegramBotCaptureApi');
		const chosen = this.getNodeParameter('updateTypes', []) as string[];
		try {
			await setWebhook(botApiEndpoint(credentials), {
				url: this.getNodeWebhookUrl('default') ?? '',
				secretToken: credentials.secretToken ?? '',
				allowedUpdates: chosen.length > 0 ? chosen : [...TELEGRAM_UPDATE_TYPES],
			});
			return true;
		} catch (error) {
			throw asNodeError.call(this, error);
		}
	},

	async delete(this: IHookFunctions): Promise<boolean> {
		const credentials = await this.getCredentials<TelegramCredentials>('telegramBotCaptureApi');
		const endpoint = botApiEndpoint(credentials);
		try {
			if ((await getWebhookUrl(endpoint)) !== this.getNodeWebhookUrl('default')) {
				this.logger.info('Telegram Business Capture Trigger: the bot\'s webhook is another URL now; left in place');
				return true;
			}
			await deleteWebhook(endpoint);
			return true;
		} catch (error) {
			throw asNodeError.call(this, error);
		}
	},
};
