/**
 * Hostile webhook bodies before authentication: whoever knows the webhook URL can POST any body up to
 * n8n's payload limit (16 MiB by default) with a wrong signature. Each must be refused without a run,
 * within 50 ms of the trigger's own event-loop time and 20 MB of RSS, and without its content in the
 * logs. The trigger's webhook() runs in n8n-core's real WebhookContext (helpers/webhook-call.ts); n8n's
 * body parser, which runs before the trigger, is not timed here.
 *
 * Bodies over the Max Body Size option are refused 413 before any HMAC; bodies under it with a wrong
 * signature 401. A call's time is the smaller of its wall time and its CPU time (on a shared machine
 * the wall time also counts the wait for a core, which is not the trigger's work); timing is the best
 * of up to five calls (the work is deterministic), memory the worst.
 */
import { randomBytes } from 'node:crypto';

import { WhatsAppCaptureTrigger } from '../../nodes/WhatsAppCaptureTrigger/WhatsAppCaptureTrigger.node';
import { record } from './helpers/counters';
import { OutputCapture } from './helpers/secrets';
import { webhookTarget, type WebhookCall } from './helpers/webhook-call';

const MB = 1024 * 1024;
const N8N_PAYLOAD_LIMIT = 16 * MB;
const BUDGET_MS = 50;
const BUDGET_RSS_MB = 20;
const MARKER = 'HOSTILE-BODY-MARKER-5c1e';

/** The default of the trigger's Max Body Size option (MiB), or 3 where the option does not exist. */
function defaultCapBytes(): number {
	const options = new WhatsAppCaptureTrigger().description.properties.find((p) => p.name === 'options');
	const option = (options?.options as Array<{ name: string; default: unknown }> | undefined)?.find((o) => o.name === 'maxBodySizeMb');
	return Math.floor((typeof option?.default === 'number' ? option.default : 3) * MB);
}
const CAP = defaultCapBytes();

/** A Meta-shaped JSON body of about `size` bytes whose text is `unit` repeated. */
function metaBody(size: number, unit: string): Buffer {
	const head = Buffer.from(`{"object":"whatsapp_business_account","entry":[{"id":"1","changes":[{"field":"messages","value":{"text":"${MARKER} `);
	const tail = Buffer.from('"}}]}]}');
	const u = Buffer.from(unit);
	const count = Math.floor((size - head.length - tail.length) / u.length);
	return Buffer.concat([head, Buffer.alloc(count * u.length, u), tail]);
}

/** A form body of about `size` bytes: `params` parameters sharing the bytes, values percent-encoded 2-byte characters. */
function twilioForm(size: number, params: number): Buffer {
	const valueBytes = Math.max(1, Math.floor((size - params * 8) / params / 6));
	const value = '%C3%A9'.repeat(valueBytes);
	const parts = [`Body=${MARKER}`];
	for (let i = 1; i < params; i++) parts.push(`P${i}=${value}`);
	return Buffer.from(parts.join('&').slice(0, size));
}

/** `a=1&a=1&…`: the most parameters per byte. */
const manyParams = (size: number) => Buffer.alloc(size - (size % 4), 'a=1&');

const wrongMetaSignature = () => 'sha256=' + randomBytes(32).toString('hex');
const wrongTwilioSignature = () => randomBytes(20).toString('base64');

interface Case {
	label: string;
	provider: 'metaCloud' | 'twilio';
	body: () => Buffer;
	headers: () => Record<string, string>;
	status: number;
}

const metaHeaders = () => ({ 'content-type': 'application/json', 'x-hub-signature-256': wrongMetaSignature() });
const twilioHeaders = (signature = wrongTwilioSignature()) => ({ 'content-type': 'application/x-www-form-urlencoded', 'x-twilio-signature': signature });

const cases: Case[] = [
	{ label: 'Meta, 16 MiB of 2-byte characters', provider: 'metaCloud', body: () => metaBody(N8N_PAYLOAD_LIMIT, 'é'), headers: metaHeaders, status: 413 },
	{ label: 'Meta, 16 MiB of 3-byte characters', provider: 'metaCloud', body: () => metaBody(N8N_PAYLOAD_LIMIT, '€'), headers: metaHeaders, status: 413 },
	{ label: 'Meta, 16 MiB of 4-byte characters', provider: 'metaCloud', body: () => metaBody(N8N_PAYLOAD_LIMIT, '👍'), headers: metaHeaders, status: 413 },
	{ label: 'Meta, just under the cap, 2-byte characters', provider: 'metaCloud', body: () => metaBody(CAP - 16, 'é'), headers: metaHeaders, status: 401 },
	{ label: 'Meta, just under the cap, 4-byte characters', provider: 'metaCloud', body: () => metaBody(CAP - 16, '👍'), headers: metaHeaders, status: 401 },
	{ label: 'Meta, just under the cap, ASCII and 2-byte alternating', provider: 'metaCloud', body: () => metaBody(CAP - 16, 'aé'), headers: metaHeaders, status: 401 },
	{ label: 'Twilio, 16 MiB form, 4 M parameters', provider: 'twilio', body: () => manyParams(N8N_PAYLOAD_LIMIT), headers: () => twilioHeaders(), status: 413 },
	{ label: 'Twilio, 16 MiB form, ill-shaped signature', provider: 'twilio', body: () => manyParams(N8N_PAYLOAD_LIMIT), headers: () => twilioHeaders('x'.repeat(4096)), status: 413 },
	{ label: 'Twilio, just under the cap, parameters at every 4 bytes', provider: 'twilio', body: () => manyParams(CAP - 16), headers: () => twilioHeaders(), status: 401 },
	{ label: 'Twilio, just under the cap, ill-shaped signature', provider: 'twilio', body: () => manyParams(CAP - 16), headers: () => twilioHeaders('x'.repeat(4096)), status: 401 },
	{ label: 'Twilio, just under the cap, 400 long percent-encoded values', provider: 'twilio', body: () => twilioForm(CAP - 16, 400), headers: () => twilioHeaders(), status: 401 },
];

describe('hostile webhook bodies before authentication', () => {
	const meta = webhookTarget(
		{ provider: 'metaCloud' },
		{ whatsAppCaptureApi: { appSecret: randomBytes(16).toString('hex'), verifyToken: 'v', graphApiVersion: 'v24.0' } },
	);
	const twilio = webhookTarget(
		{ provider: 'twilio' },
		{ twilioWhatsAppApi: { accountSid: 'AC00000000000000000000000000000001', authToken: randomBytes(16).toString('hex') } },
	);
	const results: Array<{ label: string; calls: WebhookCall[]; leaked: boolean }> = [];
	const output = new OutputCapture();
	const figures: string[] = [];

	beforeAll(() => output.install());
	afterAll(() => {
		output.uninstall();
		console.log(['hostile webhook bodies (wall time of webhook(), event-loop max, RSS):', ...figures].join('\n  '));
		const within = (r: (typeof results)[number]) => callMs(best(r.calls)) <= BUDGET_MS && worstRss(r.calls) <= BUDGET_RSS_MB;
		record({
			category: 'webhook: hostile body before authentication',
			tried: results.length,
			passed: results.filter(within).length,
			lost: 0,
			leaked: results.filter((r) => r.leaked).length,
			note: results.map((r) => `${r.label}: ${callMs(best(r.calls)).toFixed(1)} ms, +${worstRss(r.calls).toFixed(1)} MB, ${r.calls[0].status}`).join('; '),
		});
	});

	const callMs = (call: WebhookCall) => Math.min(call.wallMs, call.cpuMs);
	const best = (calls: WebhookCall[]) => calls.reduce((a, b) => (callMs(b) < callMs(a) ? b : a));
	const worstRss = (calls: WebhookCall[]) => Math.max(...calls.map((c) => Math.max(c.rssRiseMb, c.peakRiseMb)));

	it.each(cases.map((c) => [c.label, c] as const))('%s → refused within 50 ms and 20 MB', async (_label, c) => {
		let body: Buffer | undefined = c.body();
		const post = c.provider === 'twilio' ? twilio : meta;
		const calls: WebhookCall[] = [];
		const printedBefore = output.chunks.length;
		for (let attempt = 0; attempt < 5; attempt++) {
			const call = await post(body, c.headers());
			calls.push(call);
			if (callMs(call) > BUDGET_MS * 10) break; // far over: repeating only adds seconds
			if (callMs(call) <= BUDGET_MS) break;
		}
		body = undefined;
		const leaked = output.chunks.slice(printedBefore).some((text) => text.includes(MARKER));
		results.push({ label: c.label, calls, leaked });
		const shown = best(calls);
		figures.push(
			`${c.label}: ${calls.map((x) => `${x.wallMs.toFixed(1)} ms wall, ${x.cpuMs.toFixed(1)} ms CPU (loop max ${x.loopMaxMs.toFixed(1)} ms), rss +${x.rssRiseMb.toFixed(1)} MB, peak +${x.peakRiseMb.toFixed(1)} MB`).join(' | ')} → ${shown.status}`,
		);
		expect({ status: shown.status, started: calls.some((x) => x.started), leaked }).toEqual({ status: c.status, started: false, leaked: false });
		expect(callMs(shown)).toBeLessThanOrEqual(BUDGET_MS);
		expect(worstRss(calls)).toBeLessThanOrEqual(BUDGET_RSS_MB);
	});
});
