import type { ICredentialDataDecryptedObject, ICredentialsDecrypted, ICredentialTestFunctions, INodeCredentialTestResult } from 'n8n-workflow';

import { testPrivateKeyCredential, testPublicKeysCredential } from '../OpenPgp/methods/credentialTest';
import { testS3ArchiveCredential } from '../S3Archive/methods/credentialTest';
import { testTelegramBotCredential } from '../TelegramBusinessCaptureTrigger/methods/credentialTest';

type CredentialTest = (
	this: ICredentialTestFunctions,
	credential: ICredentialsDecrypted<ICredentialDataDecryptedObject>,
) => Promise<INodeCredentialTestResult>;

/**
 * The credential tests of the pack's credentials that one HTTP request cannot express (a key parse,
 * a signed S3 call), for `methods.credentialTest` of every node that uses them; each node names the
 * test with `testedBy` on its credential entry (n8n: ICredentialTestFunctions / testedBy).
 */
export const credentialTest: Record<
	'openPgpPublicKeysApiTest' | 'openPgpPrivateKeyApiTest' | 's3ArchiveApiTest' | 'telegramBotCaptureApiTest',
	CredentialTest
> = {
	async openPgpPublicKeysApiTest(credential) {
		return await testPublicKeysCredential(credential.data ?? {});
	},
	async openPgpPrivateKeyApiTest(credential) {
		return await testPrivateKeyCredential(credential.data ?? {});
	},
	async s3ArchiveApiTest(credential) {
		return await testS3ArchiveCredential(credential.data ?? {});
	},
	async telegramBotCaptureApiTest(credential) {
		return await testTelegramBotCredential(credential.data ?? {});
	},
};
