import type { ICredentialDataDecryptedObject, INodeCredentialTestResult } from 'n8n-workflow';

import { assertIndexKey } from '../../../lib/archive';
import { TELEGRAM_SECRET_TOKEN_PATTERN, TelegramApiError, botIdOfToken, getMe } from '../../../lib/capture';

/** The credential's Bot API endpoint (API Base URL defaulting to Telegram's). */
export function botApiEndpoint(credentials: { apiBaseUrl?: unknown; botToken?: unknown }): { baseUrl: string; token: string } {
	return {
		baseUrl: String(credentials.apiBaseUrl ?? '').trim() || 'https://api.telegram.org',
		token: String(credentials.botToken ?? '').trim(),
	};
}

/**
 * Credential test for `telegramBotCaptureApi`: the Bot Token's and Secret Token's shapes (Bot API,
 * setWebhook `secret_token`), the Index Key when set, then `getMe` with the token (Bot API, getMe),
 * which must name the bot the token's id says. Messages never hold a secret.
 */
export async function testTelegramBotCredential(credentials: ICredentialDataDecryptedObject): Promise<INodeCredentialTestResult> {
	const endpoint = botApiEndpoint(credentials);
	const botId = botIdOfToken(endpoint.token);
	if (botId === null) return { status: 'Error', message: 'Bot Token has not the shape <bot id>:<secret> that @BotFather gives' };
	if (!TELEGRAM_SECRET_TOKEN_PATTERN.test(String(credentials.secretToken ?? ''))) {
		return { status: 'Error', message: 'Secret Token must be 1-256 characters of A-Z, a-z, 0-9, _ and - (e.g. from: openssl rand -hex 32)' };
	}
	if (String(credentials.indexKey ?? '') !== '') {
		try {
			assertIndexKey(credentials.indexKey, 'Telegram Bot API');
		} catch (error) {
			return { status: 'Error', message: (error as Error).message };
		}
	}
	try {
		const bot = await getMe(endpoint);
		if (bot.id !== botId) return { status: 'Error', message: `getMe answered bot ${bot.id}, not the token's bot ${botId}` };
		return { status: 'OK', message: `Connected: bot ${bot.username ? `@${bot.username}` : bot.id}` };
	} catch (error) {
		if (error instanceof TelegramApiError && error.status === 401) return { status: 'Error', message: `${error.message}: check the Bot Token` };
		return { status: 'Error', message: error instanceof TelegramApiError ? error.message : 'getMe failed' };
	}
}
