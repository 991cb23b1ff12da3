import type { IDataObject, IExecuteFunctions, INodeExecutionData, INodeProperties } from 'n8n-workflow';

import { inspectKey, readPublicKeys, type KeyReport } from '../../../lib/pgp';

/** Parameters of the Inspect Key operation. */
export const description: INodeProperties[] = [
	{
		displayName: 'Public Keys',
		name: 'publicKeys',
		type: 'string',
		typeOptions: { rows: 6 },
		displayOptions: { show: { operation: ['inspectKey'] } },
		default: '',
		required: true,
		placeholder: '-----BEGIN PGP PUBLIC KEY BLOCK-----…',
		description:
			'One or more armored public keys to describe (expressions allowed). Private keys are refused.',
	},
];

function reportJson(report: KeyReport): IDataObject {
	const iso = (date: Date | null | undefined) => (date instanceof Date ? date.toISOString() : null);
	return {
		fingerprint: report.fingerprint,
		keyId: report.keyId,
		version: report.version,
		userIds: report.userIds,
		algorithm: report.algorithm,
		subkeyAlgorithms: report.subkeyAlgorithms,
		created: iso(report.created),
		expires: iso(report.expires),
		revoked: report.revoked,
		usableForEncryption: report.usableForEncryption,
		encryptionProblem: report.encryptionProblem ?? null,
		encryptionKeyFingerprint: report.encryptionKeyFingerprint ?? null,
		encryptionKeyExpires: iso(report.encryptionKeyExpires),
		usableForSigning: report.usableForSigning,
		signingProblem: report.signingProblem ?? null,
		gnupgCompatible: !report.gnupgProblem,
		gnupgProblem: report.gnupgProblem ?? null,
	};
}

/**
 * Describe every public key pasted in the item's "Public Keys" parameter: one output item per key
 * with fingerprint, user IDs, algorithm, creation and expiry, whether it can encrypt (and why not),
 * whether it can sign, and whether GnuPG 2.2 can use it.
 */
export async function execute(
	this: IExecuteFunctions,
	itemIndex: number,
): Promise<INodeExecutionData[]> {
	const text = this.getNodeParameter('publicKeys', itemIndex) as string;
	const keys = await readPublicKeys({ armoredKeys: text, field: 'Public Keys', profile: 'rfc9580' });
	const reports = await Promise.all(keys.map(async (key) => await inspectKey({ key })));
	return reports.map((report) => ({ json: reportJson(report), pairedItem: { item: itemIndex } }));
}
