import type { Icon, ICredentialType, INodeProperties } from 'n8n-workflow';

/**
 * OpenPGP Private Key: the key the OpenPGP node decrypts and signs with.
 *
 * - `privateKey`: one armored private key in a multi-line field (n8n password inputs strip
 *   newlines, so the key cannot be a password field; n8n encrypts all credential data at rest).
 * - `passphrase`: password field; empty for an unprotected key.
 *
 * Tested by the OpenPGP node (`testedBy: 'openPgpPrivateKeyApiTest'`): the key is parsed and
 * unlocked, and its fingerprint and usability reported. The key is unlocked once per execution.
 */
export class OpenPgpPrivateKeyApi implements ICredentialType {
	name = 'openPgpPrivateKeyApi';

	// A key, not an API: the name users see in the credential list.
	// eslint-disable-next-line n8n-nodes-base/cred-class-field-display-name-missing-api
	displayName = 'OpenPGP Private Key';

	icon: Icon = {
		light: 'file:../nodes/OpenPgp/openpgp.svg',
		dark: 'file:../nodes/OpenPgp/openpgp.dark.svg',
	};

	documentationUrl =
		'https://github.com/n8n-nodes-chat-archive/n8n-nodes-chat-archive#openpgp-private-key-credential';

	properties: INodeProperties[] = [
		// Not a password field on purpose: n8n password inputs strip the newlines an armored key needs
		// (n8n-io/n8n#31007, #6158, #6298). Credential data is still encrypted at rest by n8n.
		// eslint-disable-next-line @n8n/community-nodes/credential-password-field
		{
			displayName: 'Private Key',
			name: 'privateKey',
			type: 'string',
			typeOptions: { rows: 8 },
			default: '',
			required: true,
			placeholder:
				'-----BEGIN PGP PRIVATE KEY BLOCK-----\n\n…\n-----END PGP PRIVATE KEY BLOCK-----',
			description:
				'One ASCII-armored private key (output of "gpg --armor --export-secret-keys FINGERPRINT")',
		},
		{
			displayName: 'Passphrase',
			name: 'passphrase',
			type: 'string',
			typeOptions: { password: true },
			default: '',
			description: 'Passphrase of the private key; leave empty for an unprotected key',
		},
	];
}
