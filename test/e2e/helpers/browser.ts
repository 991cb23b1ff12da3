/**
 * E2E helper: headless Debian Chromium driven by `playwright-core` (no Playwright browser download).
 *
 * `playwright-core` is resolved from the repository's node_modules (devDependency) or, failing that,
 * from `<cache>/playwright/node_modules` (`npm install --prefix <cache>/playwright playwright-core`).
 * The browser is `/usr/bin/chromium` (Debian package `chromium`) or $CHROMIUM_PATH.
 */
import { existsSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';

/* eslint-disable @typescript-eslint/no-explicit-any -- playwright-core may not be in node_modules (types) */
export type Browser = any;
export type BrowserContext = any;
export type Page = any;

const CACHE =
	process.env.CHAT_ARCHIVE_CACHE ||
	path.join(
		process.env.XDG_CACHE_HOME || path.join(os.homedir(), '.cache'),
		'n8n-nodes-chat-archive',
	);

export const CHROMIUM_PATH = process.env.CHROMIUM_PATH || '/usr/bin/chromium';

export const CHROMIUM_ARGS = [
	'--headless',
	'--no-sandbox',
	'--disable-gpu',
	'--disable-quic',
	'--no-first-run',
	'--disable-background-networking',
	'--disable-component-update',
	'--disable-sync',
];

/** `playwright-core`, or undefined when it is not installed anywhere we look. */
export function loadPlaywright(): any {
	for (const base of [path.resolve(__dirname, '..', '..', '..'), path.join(CACHE, 'playwright')]) {
		try {
			// eslint-disable-next-line @typescript-eslint/no-require-imports
			return require(require.resolve('playwright-core', { paths: [base] }));
		} catch {
			// try the next place
		}
	}
	return undefined;
}

export function browserAvailable(): boolean {
	return existsSync(CHROMIUM_PATH) && loadPlaywright() !== undefined;
}

/** Launch Chromium with a 1440×900 context. */
export async function launchBrowser(): Promise<{ browser: Browser; context: BrowserContext }> {
	const playwright = loadPlaywright();
	if (!playwright) throw new Error('playwright-core is not installed');
	const browser = await playwright.chromium.launch({
		executablePath: CHROMIUM_PATH,
		args: CHROMIUM_ARGS,
	});
	const context = await browser.newContext({
		viewport: { width: 1440, height: 900 },
		deviceScaleFactor: 1,
	});
	return { browser, context };
}

/** Sign in through n8n's sign-in form; resolves once the editor left /signin. */
export async function signIn(
	page: Page,
	baseUrl: string,
	email: string,
	password: string,
): Promise<void> {
	await page.goto(`${baseUrl}/signin`);
	await page.fill('input[name=emailOrLdapLoginId]', email);
	await page.fill('input[name=password]', password);
	await page.keyboard.press('Enter');
	await page.waitForURL((url: URL) => !url.pathname.startsWith('/signin'), { timeout: 60_000 });
}
