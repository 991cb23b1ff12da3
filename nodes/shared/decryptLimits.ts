/**
 * The output limits of every node that decrypts (OpenPGP Decrypt, S3 Archive Get with Decrypt and
 * Export): the "Max Decrypted Size (MB)" and "Max Compression Ratio" parameters and their values as
 * lib/pgp options (`maxDecryptedBytes`, `maxCompressionRatio`; lib/pgp/output-limit.ts).
 */
import { NodeOperationError, type IExecuteFunctions, type INodeProperties } from 'n8n-workflow';

import { DEFAULT_MAX_COMPRESSION_RATIO, DEFAULT_MAX_DECRYPTED_BYTES } from '../../lib/pgp';

const MIB = 1024 * 1024;

/** "Max Decrypted Size (MB)" with its default in MiB; a node picks the parameter name and says what it covers. */
export function maxDecryptedSizeDescription(name: string, defaultMegabytes = DEFAULT_MAX_DECRYPTED_BYTES / MIB, scope = ''): INodeProperties {
	return {
		displayName: 'Max Decrypted Size (MB)',
		name,
		type: 'number',
		typeOptions: { minValue: 1 },
		default: defaultMegabytes,
		description: `Stop with an error as soon as the decrypted data${scope} grows beyond this many MiB (compressed messages can expand a thousandfold); raise it for larger trusted messages`,
	};
}

/** "Max Compression Ratio" (0 switches the check off). */
export const maxCompressionRatioDescription: INodeProperties = {
	displayName: 'Max Compression Ratio',
	name: 'maxCompressionRatio',
	type: 'number',
	typeOptions: { minValue: 0 },
	default: DEFAULT_MAX_COMPRESSION_RATIO,
	description:
		'Stop with an error when the decrypted data passes 8 MiB and is more than this many times the size of the message, as compression bombs are; 0 to switch the check off',
};

/**
 * A size limit in MB (a "Max Decrypted Size (MB)" value, or `parameter`) in bytes: unset or 0 gives the default (a limit is never off).
 *
 * @throws NodeOperationError naming the parameter for a negative or non-numeric value
 */
export function decryptedSizeLimit(this: IExecuteFunctions, itemIndex: number, megabytes: unknown, defaultMegabytes = DEFAULT_MAX_DECRYPTED_BYTES / MIB, parameter = 'Max Decrypted Size (MB)'): number {
	const value = megabytes === undefined || megabytes === '' || megabytes === 0 ? defaultMegabytes : Number(megabytes);
	if (!Number.isFinite(value) || value <= 0) {
		throw new NodeOperationError(this.getNode(), `${parameter} must be a positive number, not ${String(megabytes)}`, { itemIndex });
	}
	return Math.floor(value * MIB);
}

/**
 * A "Max Compression Ratio" value for lib/pgp: unset gives the default, 0 switches the check off.
 *
 * @throws NodeOperationError naming the parameter for a negative or non-numeric value
 */
export function compressionRatioLimit(this: IExecuteFunctions, itemIndex: number, ratio: unknown): number {
	if (ratio === undefined || ratio === '') return DEFAULT_MAX_COMPRESSION_RATIO;
	const value = Number(ratio);
	if (!Number.isFinite(value) || value < 0) {
		throw new NodeOperationError(this.getNode(), `Max Compression Ratio must be 0 (off) or a positive number, not ${String(ratio)}`, { itemIndex });
	}
	return value === 0 ? Infinity : value;
}
