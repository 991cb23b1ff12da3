import type { Icon, ICredentialType, INodeProperties } from 'n8n-workflow';

/**
 * OpenPGP Public Keys: the recipients the OpenPGP node encrypts to (and the signers it verifies).
 *
 * - `publicKeys`: one or more armored public keys pasted in a multi-line field (not a password
 *   field: n8n password inputs strip newlines). The node repairs common paste damage (BOM, CRLF,
 *   indentation, literal `\n`, collapsed newlines) and reads every concatenated block.
 * - `expectedFingerprints` (optional): comma, space or newline separated fingerprints; when set, a
 *   key with another fingerprint (a wrong key, or a damaged paste) is refused, and so is a missing one.
 *
 * A key parse cannot be one HTTP request, so the OpenPGP node tests this credential itself
 * (`testedBy: 'openPgpPublicKeysApiTest'`): every key is parsed and its fingerprint, expiry and
 * encryption usability reported.
 */
export class OpenPgpPublicKeysApi implements ICredentialType {
	name = 'openPgpPublicKeysApi';

	// A set of keys, not an API: the name users see in the credential list.
	// eslint-disable-next-line n8n-nodes-base/cred-class-field-display-name-missing-api
	displayName = 'OpenPGP Public Keys';

	icon: Icon = {
		light: 'file:../nodes/OpenPgp/openpgp.svg',
		dark: 'file:../nodes/OpenPgp/openpgp.dark.svg',
	};

	documentationUrl =
		'https://github.com/n8n-nodes-chat-archive/n8n-nodes-chat-archive#openpgp-public-keys-credential';

	properties: INodeProperties[] = [
		{
			displayName: 'Public Keys',
			name: 'publicKeys',
			type: 'string',
			typeOptions: { rows: 8 },
			default: '',
			required: true,
			placeholder: '-----BEGIN PGP PUBLIC KEY BLOCK-----\n\n…\n-----END PGP PUBLIC KEY BLOCK-----',
			description:
				'One or more ASCII-armored public keys (output of "gpg --armor --export FINGERPRINT"); paste several blocks one after the other to encrypt to several recipients. Public keys only: a private key is refused.',
		},
		{
			displayName: 'Expected Fingerprints',
			name: 'expectedFingerprints',
			type: 'string',
			default: '',
			placeholder: '0123 4567 89AB CDEF 0123  4567 89AB CDEF 0123 4567, …',
			description:
				'Optional. Comma, newline or space separated 40-digit fingerprints. When set, only keys with these fingerprints are accepted and all of them must be present.',
		},
	];
}
