import type { ICredentialDataDecryptedObject, INodeCredentialTestResult } from 'n8n-workflow';

import { formatDay, inspectKey, type KeyReport } from '../../../lib/pgp';
import { privateKeyFrom, publicKeysFrom } from '../../shared/credentials';

function expiryText(report: KeyReport): string {
	const expiries = [report.expires, report.encryptionKeyExpires].filter(
		(date): date is Date => date instanceof Date,
	);
	if (expiries.length === 0) return 'never expires';
	const first = expiries.reduce((a, b) => (a < b ? a : b));
	return `expires ${formatDay(first)}`;
}

function summary(report: KeyReport): string {
	const profile = report.gnupgProblem ? ', RFC 9580 profile only' : '';
	return `${report.fingerprint} (${report.algorithm}, ${expiryText(report)}${profile})`;
}

/**
 * Credential test for `openPgpPublicKeysApi`: parses every pasted key (with the same repairs and
 * fingerprint pinning as the node), then checks each can encrypt now. OK lists fingerprints,
 * algorithms and expiry; Error names the key and the reason (e.g. "encryption subkey expired on
 * 2026-03-01", "key is revoked", "RSA-1024 is too weak"). Never echoes key material.
 */
export async function testPublicKeysCredential(
	credentials: ICredentialDataDecryptedObject,
	date: Date = new Date(),
): Promise<INodeCredentialTestResult> {
	try {
		const keys = await publicKeysFrom(credentials, 'rfc9580');
		const reports = await Promise.all(keys.map(async (key) => await inspectKey({ key, date })));
		const unusable = reports.find((report) => !report.usableForEncryption);
		if (unusable) {
			return {
				status: 'Error',
				message: `Key ${unusable.fingerprint} cannot be used for encryption: ${unusable.encryptionProblem}`,
			};
		}
		const plural = reports.length === 1 ? 'key' : 'keys';
		return {
			status: 'OK',
			message: `${reports.length} ${plural} usable for encryption: ${reports.map(summary).join('; ')}`,
		};
	} catch (error) {
		return { status: 'Error', message: (error as Error).message };
	}
}

/**
 * Credential test for `openPgpPrivateKeyApi`: parses the key, unlocks it with the passphrase and
 * checks it can decrypt or sign now. OK shows the fingerprint and what the key can do; Error gives
 * the reason (wrong passphrase, public key pasted, expired, revoked). Never echoes the key or passphrase.
 */
export async function testPrivateKeyCredential(
	credentials: ICredentialDataDecryptedObject,
	date: Date = new Date(),
): Promise<INodeCredentialTestResult> {
	try {
		const key = await privateKeyFrom(credentials);
		const report = await inspectKey({ key, date });
		if (!report.usableForEncryption && !report.usableForSigning) {
			return {
				status: 'Error',
				message: `Key ${report.fingerprint} can neither decrypt nor sign: ${report.encryptionProblem}`,
			};
		}
		const abilities = [
			report.usableForEncryption ? 'decrypt' : `not decrypt (${report.encryptionProblem})`,
			report.usableForSigning ? 'sign' : `not sign (${report.signingProblem})`,
		].join(', ');
		return { status: 'OK', message: `Unlocked ${summary(report)}: can ${abilities}` };
	} catch (error) {
		return { status: 'Error', message: (error as Error).message };
	}
}
