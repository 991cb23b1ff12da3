import type { IWebhookFunctions, IWebhookResponseData } from 'n8n-workflow';

import type { CaptureRecord } from '../../lib/capture';
import type { CaptureOptions, MediaSettings } from '../shared/capture';
import { emitCapture } from '../shared/triggerEmit';

export { rawBodyOf } from '../shared/triggerEmit';

/** The shared capture tail (`../shared/triggerEmit.ts`) as both WhatsApp providers answer with it. */
export async function emit(
	this: IWebhookFunctions,
	input: { records: CaptureRecord[]; rawBody: Buffer; contentType?: string; options: CaptureOptions; media?: MediaSettings; indexKey?: string },
): Promise<IWebhookResponseData> {
	return await emitCapture.call(this, { ...input, source: 'WhatsApp Capture Trigger', indexKeyCredential: 'WhatsApp Capture or Twilio WhatsApp' });
}
