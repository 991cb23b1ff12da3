import type { S3Client } from '@aws-sdk/client-s3';
import {
	NodeOperationError,
	type ICredentialDataDecryptedObject,
	type IExecuteFunctions,
} from 'n8n-workflow';

import { createS3Client, type ChecksumMode, type S3Settings } from '../../lib/s3';

/** What the nodes that use the `s3ArchiveApi` credential share for one execution. */
export interface ArchiveStore {
	client: S3Client;
	/** Bucket from the credential (a node parameter may override it). */
	bucket: string;
	/** Secret for counterparty pseudonyms and record ids (from the credential). */
	indexKey: string;
}

/** Maps the `s3ArchiveApi` credential fields to engine settings (lib/archive `createS3Client`). */
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
export async function openArchiveStore(this: IExecuteFunctions): Promise<ArchiveStore> {
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
