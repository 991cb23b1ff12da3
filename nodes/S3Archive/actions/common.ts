import type { S3Client } from '@aws-sdk/client-s3';
import {
	NodeApiError,
	NodeOperationError,
	type ICredentialDataDecryptedObject,
	type IExecuteFunctions,
	type INode,
	type INodeProperties,
	type JsonObject,
} from 'n8n-workflow';

import { ArchiveError, createS3Client, type ChecksumMode, type S3Settings } from '../../../lib/archive';

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
export interface ArchiveContext {
	client: S3Client;
	/** Bucket from the credential (a node parameter may override it). */
	bucket: string;
	/** Secret for pseudonyms and record ids (from the credential). */
	indexKey: string;
}

/** Maps the `s3ArchiveApi` credential fields to engine settings. */
export function settingsFromCredentials(credentials: ICredentialDataDecryptedObject): S3Settings {
	return {
		endpoint: String(credentials.endpoint ?? '').trim(),
		region: String(credentials.region ?? '').trim() || 'us-east-1',
		accessKeyId: String(credentials.accessKeyId ?? '').trim(),
		secretAccessKey: String(credentials.secretAccessKey ?? ''),
		sessionToken: credentials.sessionToken ? String(credentials.sessionToken) : undefined,
		forcePathStyle: credentials.forcePathStyle !== false,
		checksumMode: (credentials.checksumMode as ChecksumMode) || 'WHEN_REQUIRED',
		ignoreTlsErrors: credentials.ignoreTlsErrors === true,
	};
}

/**
 * Reads the `s3ArchiveApi` credential and builds the S3 client once for this execution.
 *
 * @throws NodeOperationError when the credential's endpoint or keys are unusable.
 */
export async function getArchiveContext(this: IExecuteFunctions): Promise<ArchiveContext> {
	const credentials = await this.getCredentials('s3ArchiveApi');
	try {
		return {
			client: createS3Client(settingsFromCredentials(credentials)),
			bucket: String(credentials.bucket ?? '').trim(),
			indexKey: String(credentials.indexKey ?? ''),
		};
	} catch (error) {
		throw new NodeOperationError(this.getNode(), error as Error, {
			description: 'Check the S3 Archive Store credential',
		});
	}
}

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
