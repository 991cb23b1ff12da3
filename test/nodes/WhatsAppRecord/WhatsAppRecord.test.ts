/**
 * WhatsApp Record → Normalize Outbound in real n8n-core (in-process runner; the node type is passed in
 * directly until package.json lists it): the response of n8n's WhatsApp node arrives as the input item,
 * the request body comes from an expression, the default `={{ $json }}` picks the response; errors are
 * NodeOperationErrors (or error items under Continue On Fail), every item keeps its pairedItem.
 */
import type { IDataObject, INode, INodeExecutionData, INodeParameters, IRun } from 'n8n-workflow';

import { WhatsAppRecord } from '../../../nodes/WhatsAppRecord/WhatsAppRecord.node';
import { InProcessN8n, newWebhookId } from '../../helpers/n8n-runner';

const WAMID = 'wamid.HBgLMTU1NTAxMDAxMjMVAgARGBI5QTNDQTVCM0Q0Q0Q2RTY3RTcA';
const response = (id: string | null) => ({
	messaging_product: 'whatsapp',
	contacts: [{ input: '15550100123', wa_id: '15550100123' }],
	messages: id ? [{ id }] : [],
});
const request = (body: string) => ({ messaging_product: 'whatsapp', to: '15550100123', type: 'text', text: { body } });

function run(parameters: INodeParameters, items: INodeExecutionData[], settings: Partial<INode> = {}): Promise<IRun> {
	const n8n = new InProcessN8n({
		workflow: {
			name: 'outbound',
			nodes: [
				{
					id: 't',
					name: 'Send Message',
					type: 'n8n-nodes-chat-archive.whatsAppCaptureTrigger',
					typeVersion: 1,
					position: [0, 0],
					webhookId: newWebhookId(),
					parameters: {},
				},
				{
					id: 'r',
					name: 'WhatsApp Record',
					type: 'n8n-nodes-chat-archive.whatsAppRecord',
					typeVersion: 1,
					position: [260, 0],
					parameters,
					...settings,
				},
			],
			connections: { 'Send Message': { main: [[{ node: 'WhatsApp Record', type: 'main', index: 0 }]] } },
			settings: { executionOrder: 'v1' },
		},
		credentials: {},
		nodeTypes: { 'n8n-nodes-chat-archive.whatsAppRecord': new WhatsAppRecord() },
	});
	return n8n.runFromTrigger(items);
}

const output = (result: IRun) => result.data.resultData.runData['WhatsApp Record']?.[0]?.data?.main?.[0] ?? [];

describe('WhatsApp Record: Normalize Outbound (n8n-core)', () => {
	it('description: one operation, defaults', () => {
		const { description } = new WhatsAppRecord();
		expect(description.name).toBe('whatsAppRecord');
		const byName = Object.fromEntries(description.properties.map((p) => [p.name, p]));
		expect(byName.operation.default).toBe('normalizeOutbound');
		expect(byName.response.default).toBe('={{ $json }}');
		expect(byName.phoneNumberId.required).toBe(true);
	});

	it('each input item (the WhatsApp node output) becomes an outbound record with the returned wamid', async () => {
		const result = await run(
			{
				operation: 'normalizeOutbound',
				phoneNumberId: '106000000000002',
				request: '={{ { messaging_product: "whatsapp", to: "15550100123", type: "text", text: { body: "Statement " + $itemIndex } } }}',
				options: { wabaId: '102000000000001', graphApiVersion: 'v24.0', sentAt: '2026-01-01T08:00:00.000Z' },
			},
			[{ json: response(WAMID) }, { json: response(WAMID.replace('TdFN', 'TdFO')) }],
		);
		expect(result.status).toBe('success');
		const items = output(result);
		expect(items).toHaveLength(2);
		expect(items.map((i) => i.pairedItem)).toEqual([{ item: 0 }, { item: 1 }]);
		expect(items[0].json).toMatchObject({
			record_kind: 'message',
			direction: 'outbound',
			provider: 'whatsapp_cloud',
			waba_id: '102000000000001',
			phone_number_id: '106000000000002',
			wamid: WAMID,
			type: 'text',
			timestamp: '2026-01-01T08:00:00.000Z',
			counterparty: { wa_id: '15550100123', user_id: null, name: null },
			content: { body: 'Statement 0' },
			idempotency_key: `106000000000002:${WAMID}`,
			graph_api_version: 'v24.0',
			raw: { request: request('Statement 0'), response: response(WAMID) },
		});
		expect((items[1].json.content as IDataObject).body).toBe('Statement 1');
	});

	it('a failed send (no wamid) stops the workflow with a NodeOperationError naming the item', async () => {
		const result = await run(
			{ operation: 'normalizeOutbound', phoneNumberId: '106000000000002', request: JSON.stringify(request('x')) },
			[{ json: response(null) }],
		);
		expect(result.status).toBe('error');
		expect(result.data.resultData.error?.message).toMatch(/no messages\[0\]\.id/);
		expect(result.data.resultData.error?.name).toBe('NodeOperationError');
	});

	it('Continue On Fail: the failed item becomes an error item, the others records', async () => {
		const result = await run(
			{ operation: 'normalizeOutbound', phoneNumberId: '106000000000002', request: JSON.stringify(request('x')) },
			[{ json: response(null) }, { json: response(WAMID) }],
			{ onError: 'continueRegularOutput' },
		);
		expect(result.status).toBe('success');
		const items = output(result);
		expect(items[0].json.error).toMatchObject({ message: expect.stringMatching(/no messages\[0\]\.id/) });
		expect(items[0].pairedItem).toEqual({ item: 0 });
		expect(items[1].json.wamid).toBe(WAMID);
	});
});
