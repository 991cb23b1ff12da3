/**
 * Signature verification: detached signatures over data, or inline signed messages.
 */
import * as openpgp from 'openpgp';

import { readMessageFrom, reportSignatures } from './decrypt';
import { repairArmoredText } from './armor';
import { formatDay, signingKeyStatus } from './check';
import { innerMessage } from './errors';
import { PgpError, type SignatureReport, type SigningKeyStatus, type VerifyOptions, type VerifyResult } from './types';

async function readSignatureFrom(signature: Uint8Array | string): Promise<openpgp.Signature> {
	try {
		const repaired = repairArmoredText(signature);
		if (repaired.binary) return await openpgp.readSignature({ binarySignature: repaired.binary });
		const block = repaired.blocks.find((candidate) => candidate.type === 'SIGNATURE');
		if (!block) {
			throw new PgpError('MESSAGE_FORMAT', 'Expected a PGP SIGNATURE block.');
		}
		return await openpgp.readSignature({ armoredSignature: block.text });
	} catch (error) {
		if (error instanceof PgpError) throw error;
		throw new PgpError(
			'MESSAGE_FORMAT',
			`The signature could not be read: ${innerMessage(error)}`,
			{ cause: error },
		);
	}
}

/**
 * Verify a detached signature over `data`, or an inline signed message (`signature` absent),
 * against `verificationKeys` (RFC 4880 §5.2.4). Never throws for a bad signature: the result says
 * `valid: false` and each signature's `reason`.
 *
 * @returns {@link VerifyResult}; `data` is the signed content (for inline messages: extracted)
 * @throws PgpError `MESSAGE_FORMAT` when the message/signature cannot be read, `NO_RECIPIENTS`
 *  when no verification key is given
 */
export async function verify(options: VerifyOptions): Promise<VerifyResult> {
	if (!options.verificationKeys || options.verificationKeys.length === 0) {
		throw new PgpError(
			'NO_RECIPIENTS',
			'At least one verification (signer) public key is required.',
		);
	}
	if (options.asOfSignatureTime) return await verifyAsOfSignatureTime(options);
	let message: openpgp.Message<Uint8Array>;
	let signature: openpgp.Signature | undefined;
	if (options.signature !== undefined) {
		signature = await readSignatureFrom(options.signature);
		const bytes =
			typeof options.data === 'string' ? new TextEncoder().encode(options.data) : options.data;
		message = await openpgp.createMessage({ binary: bytes });
	} else {
		message = await readMessageFrom(options.data);
	}
	let result;
	try {
		result = await openpgp.verify({
			message,
			signature,
			verificationKeys: options.verificationKeys,
			format: 'binary',
			date: options.date,
		});
	} catch (error) {
		throw new PgpError('MESSAGE_FORMAT', `Verification failed: ${innerMessage(error)}`, {
			cause: error,
		});
	}
	const data = result.data as Uint8Array;
	const signatures = await reportSignatures(result.signatures, options.verificationKeys);
	return { valid: signatures.some((entry) => entry.valid), data, signatures };
}

/** What a hard revocation means for a signature, in words (RFC 9580 §5.2.3.31). */
function hardRevocationReason(status: SigningKeyStatus): string {
	const why = status.revocationReason === 'compromised' ? 'key material compromised' : status.revocationReason === 'none' ? 'no reason given' : `reason code ${status.revocationReasonCode}`;
	return `the signing key ${status.fingerprint} was revoked on ${formatDay(status.revokedAt!)} (${why}): no signature of it is trusted, whatever its date (RFC 9580 §5.2.3.31)`;
}

/**
 * {@link verify} with `asOfSignatureTime`: each signature packet of the detached signature is
 * checked on its own, as of its creation time (OpenPGP.js then takes the key's expiry and soft
 * revocations at that time, hard revocations always), and reports the signing key at `date`.
 */
async function verifyAsOfSignatureTime(options: VerifyOptions): Promise<VerifyResult> {
	if (options.signature === undefined) {
		throw new PgpError('MESSAGE_FORMAT', 'Checking a signature as of its own time needs a detached signature (signature is empty).');
	}
	const signature = await readSignatureFrom(options.signature);
	const bytes = typeof options.data === 'string' ? new TextEncoder().encode(options.data) : options.data;
	const statusDate = options.date ?? new Date();
	const signatures: SignatureReport[] = [];
	for (const packet of signature.packets) {
		const single = new openpgp.PacketList<openpgp.SignaturePacket>();
		single.push(packet);
		const checkedAt = packet.created ?? statusDate;
		let result;
		try {
			result = await openpgp.verify({
				message: await openpgp.createMessage({ binary: bytes }),
				signature: new openpgp.Signature(single),
				verificationKeys: options.verificationKeys,
				format: 'binary',
				date: checkedAt,
			});
		} catch (error) {
			throw new PgpError('MESSAGE_FORMAT', `Verification failed: ${innerMessage(error)}`, { cause: error });
		}
		for (const report of await reportSignatures(result.signatures, options.verificationKeys)) {
			report.checkedAt = checkedAt;
			if (!packet.signatureNeverExpires && packet.created) report.expires = packet.getExpirationTime() as Date;
			const key = options.verificationKeys.find((candidate) => candidate.getKeys(packet.issuerKeyID).length > 0);
			if (key) {
				report.signingKey = await signingKeyStatus(key, packet.issuerKeyID, statusDate);
				if (!report.valid && report.signingKey.hardRevocation) report.reason = hardRevocationReason(report.signingKey);
			}
			signatures.push(report);
		}
	}
	return { valid: signatures.some((entry) => entry.valid), data: bytes, signatures };
}
