/**
 * OpenPGP engine of the pack: one module per verb, OpenPGP.js style (one options object in, one
 * result object out). Plain TypeScript on OpenPGP.js 6; no n8n import.
 */
export * from './types';
export {
	readPublicKeys,
	readPrivateKey,
	repairArmoredText,
	parseFingerprints,
	inspectKey,
	assertEncryptionKeys,
	assertSigningKey,
	assertProfileCompatible,
	gnupgIncompatibility,
	describeAlgorithm,
	fingerprintOf,
	formatDay,
	type ArmorBlock,
	type RepairedInput,
} from './keys';
export { encrypt, toOpenPgpInput } from './encrypt';
export { decrypt, readMessageFrom, reportSignatures } from './decrypt';
export { decryptToSpool } from './decrypt-stream';
export { sign } from './sign';
export { verify } from './verify';
