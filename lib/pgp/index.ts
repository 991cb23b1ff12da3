/**
 * OpenPGP engine: reads keys as people paste them, encrypts, decrypts, signs and verifies, in the
 * OpenPGP.js style (one options object in, one result object out). Plain TypeScript on
 * OpenPGP.js 6, no n8n import. One module per verb:
 * - {@link repairArmoredText} (armor.ts): pasted armor → canonical blocks (RFC 4880 §6.2);
 * - {@link readPublicKeys} / {@link readPrivateKey} (keys.ts): pasted keys → checked, unlocked keys;
 * - {@link fingerprintOf} / {@link parseFingerprints} (fingerprint.ts): keys named by fingerprint;
 * - {@link assertProfileCompatible}, {@link assertEncryptionKeys}, {@link assertSigningKey}
 *   (check.ts): is a key fit for the profile, for encryption, for signing, and if not, why;
 *   {@link signingKeyStatus} (check.ts): a signing key's expiry and revocation at a date;
 * - {@link inspectKey} (inspect.ts): a key described for a person;
 * - {@link encrypt} (encrypt.ts): bytes or streams → an OpenPGP message; stream input in the gnupg
 *   profile through the native SEIPD v1 writer (seipd-stream.ts, OpenSSL AES-256-CFB and SHA-1);
 * - {@link decrypt} (decrypt.ts): a message → plaintext in memory, signatures checked;
 * - {@link decryptToSpool} (decrypt-stream.ts): a message stream → plaintext released only once
 *   authenticated;
 * - output limits of both (output-limit.ts: size and compression ratio, counted as plaintext comes
 *   out) and their second pass for sq's ZIP packets (inflate-fallback.ts, SEIPD v1 reader in
 *   seipd-stream.ts);
 * - {@link sign} (sign.ts) and {@link verify} (verify.ts): signatures over bytes;
 * - {@link PgpError} and the option and result types (types.ts); third-party error text made safe
 *   for messages (errors.ts).
 */
export * from './types';
export { repairArmoredText, type ArmorBlock, type RepairedInput } from './armor';
export { readPublicKeys, readPrivateKey } from './keys';
export { fingerprintOf, parseFingerprints } from './fingerprint';
export {
	assertEncryptionKeys,
	assertSigningKey,
	assertProfileCompatible,
	gnupgIncompatibility,
	formatDay,
	signingKeyStatus,
} from './check';
export { inspectKey, describeAlgorithm } from './inspect';
export { encrypt, toOpenPgpInput } from './encrypt';
export { decrypt, readMessageFrom, reportSignatures } from './decrypt';
export { decryptToSpool } from './decrypt-stream';
export { sign } from './sign';
export { verify } from './verify';
