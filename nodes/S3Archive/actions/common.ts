import {
	NodeApiError,
	NodeOperationError,
	type INode,
	type INodeProperties,
	type JsonObject,
} from 'n8n-workflow';

import { ArchiveError } from '../../../lib/archive';
import type { ArchiveStore } from '../../shared/credentials';


/** The bucket override, shared by every operation. */
export const bucketDescription: INodeProperties = {
	displayName: 'Bucket',
	name: 'bucket',
	type: 'string',
	default: '',
	description: "Leave empty to use the credential's bucket",
};

/** The key prefix, shared by Write and List. */
export const prefixDescription: INodeProperties = {
	displayName: 'Prefix',
	name: 'prefix',
	type: 'string',
	default: 'archive',
	required: true,
	displayOptions: { show: { operation: ['write', 'list', 'seal', 'export'] } },
	description: 'First part of every object key (may contain "/"), e.g. archive or team-a/archive',
};

/** What every operation receives: one S3 client per execution plus the credential's bucket and index key. */
export type ArchiveContext = ArchiveStore;


/** The bucket to use: the node's override, else the credential's; throws naming both fields when empty. */
export function resolveBucket(node: INode, override: string, context: ArchiveContext, itemIndex: number): string {
	const bucket = (override ?? '').trim() || context.bucket;
	if (!bucket) {
		throw new NodeOperationError(node, 'No bucket: set Bucket in the S3 Archive Store credential or in the node', {
			itemIndex,
		});
	}
	return bucket;
}

/**
 * Turns an engine error into the n8n error to throw: `InvalidInput` → NodeOperationError (bad input,
 * the message names the field and the fix); store failures → NodeApiError keeping the store's code,
 * HTTP status and message. Errors already from n8n pass through. Bodies are never included.
 */
export function toNodeError(node: INode, error: unknown, itemIndex: number): NodeApiError | NodeOperationError {
	if (error instanceof NodeApiError || error instanceof NodeOperationError) return error;
	if (error instanceof ArchiveError) {
		if (error.code === 'InvalidInput') {
			return new NodeOperationError(node, error.message, { itemIndex });
		}
		const response: JsonObject = {
			message: error.message,
			code: error.code,
			...(error.httpStatusCode ? { httpCode: String(error.httpStatusCode) } : {}),
			...(error.requestId ? { requestId: error.requestId } : {}),
		};
		return new NodeApiError(node, response, {
			itemIndex,
			message: error.message,
			description: error.hint ?? error.storeMessage,
			...(error.httpStatusCode ? { httpCode: String(error.httpStatusCode) } : {}),
		});
	}
	const message = error instanceof Error ? error.message : String(error);
	return new NodeOperationError(node, message, { itemIndex });
}
