import { NodeApiError, NodeOperationError, type INode, type JsonObject } from 'n8n-workflow';

import { ArchiveError } from '../../lib/archive';
import { PgpError } from '../../lib/pgp';
import { RetentionError } from '../../lib/retention';

/** What a node adds to a mapped error. */
export interface ErrorHints {
	/** Shown under every PgpError instead of the per-code hint, e.g. which credential signs reports. */
	pgp?: string;
}

/** Retention engine codes that mean bad input (policy, hold scope, matter), not a store failure. */
const RETENTION_INPUT_CODES = new Set([
	'InvalidPolicy',
	'PolicyBelowMinimum',
	'InvalidInput',
	'InvalidHoldScope',
	'MatterNotFound',
	'MatterAlreadyActive',
	'MattersActive',
	'SignerRequired',
]);

/**
 * Turns an engine error into the n8n error to throw for item `itemIndex` (n8n: NodeOperationError for
 * input and logic problems, NodeApiError for remote failures):
 * - n8n errors pass through;
 * - ArchiveError: `InvalidInput` → NodeOperationError (the fix hint as description), `OutputLimit` (an Export
 *   past its limits) → NodeOperationError naming the options; store failures → NodeApiError keeping the store's
 *   code, HTTP status and request id, with the engine's fix hint (else the store's message) as description;
 * - RetentionError: policy, scope and matter codes → NodeOperationError; store failures → NodeApiError
 *   with the store's code and HTTP status;
 * - PgpError → NodeOperationError with a hint per code (or `hints.pgp`);
 * - anything else → NodeOperationError with its message.
 * Engine messages are safe to show: they never hold bodies, plaintext, keys or passphrases.
 */
export function toNodeError(
	node: INode,
	error: unknown,
	itemIndex: number,
	hints: ErrorHints = {},
): NodeApiError | NodeOperationError {
	if (error instanceof NodeApiError || error instanceof NodeOperationError) return error;
	if (error instanceof ArchiveError) {
		if (error.code === 'InvalidInput') return new NodeOperationError(node, error.message, { itemIndex, description: error.hint });
		if (error.code === 'OutputLimit') return new NodeOperationError(node, error.message, { itemIndex, description: error.hint ?? EXPORT_LIMIT_HINT });
		return storeError(node, itemIndex, {
			message: error.message,
			code: error.code,
			httpStatusCode: error.httpStatusCode,
			requestId: error.requestId,
			description: error.hint ?? error.storeMessage,
		});
	}
	if (error instanceof RetentionError) {
		if (RETENTION_INPUT_CODES.has(error.code)) return new NodeOperationError(node, error.message, { itemIndex });
		return storeError(node, itemIndex, {
			message: error.message,
			code: error.storeCode ?? error.code,
			httpStatusCode: error.httpStatusCode,
		});
	}
	if (error instanceof PgpError) {
		return new NodeOperationError(node, error.message, { itemIndex, description: hints.pgp ?? pgpHint(error) });
	}
	return new NodeOperationError(node, error instanceof Error ? error.message : String(error), { itemIndex });
}

/** A failed store call as NodeApiError; the response carries only code, status and request id. */
function storeError(
	node: INode,
	itemIndex: number,
	failure: { message: string; code: string; httpStatusCode?: number; requestId?: string; description?: string },
): NodeApiError {
	const httpCode = failure.httpStatusCode ? String(failure.httpStatusCode) : undefined;
	const response: JsonObject = {
		message: failure.message,
		code: failure.code,
		...(httpCode ? { httpCode } : {}),
		...(failure.requestId ? { requestId: failure.requestId } : {}),
	};
	return new NodeApiError(node, response, {
		itemIndex,
		message: failure.message,
		description: failure.description,
		...(httpCode ? { httpCode } : {}),
	});
}

/** Hint under an Export stopped by its limits (lib/archive `OutputLimit`). */
const EXPORT_LIMIT_HINT =
	'If the records are trusted and really this large, raise Options → Max Decrypted Size (MB) (per record) or Max Export Size (MB) (all records); or narrow the export by date range';

/** Hint shown under a PgpError message, by engine error code. */
function pgpHint(error: PgpError): string | undefined {
	switch (error.code) {
		case 'PRIVATE_KEY_IN_PUBLIC_FIELD':
		case 'UNEXPECTED_FINGERPRINT':
		case 'MISSING_EXPECTED_FINGERPRINT':
		case 'KEY_FORMAT':
			return 'Check the keys in the OpenPGP credential or in the node options';
		case 'INCOMPATIBLE_KEY':
			return 'Use a key GnuPG 2.2 can read, or set Options → Compatibility Profile to RFC 9580';
		case 'UNUSABLE_KEY':
			return 'Renew or replace the key (e.g. "gpg --quick-set-expire"), then paste the new public key';
		case 'PASSPHRASE':
			return 'Check the passphrase in the OpenPGP Private Key credential';
		case 'OUTPUT_LIMIT':
			return error.limit === 'ratio'
				? "If the message is trusted, raise the node's Max Compression Ratio option (0 switches the check off)"
				: "If the message is trusted and really this large, raise the node's Max Decrypted Size (MB) option";
		default:
			return undefined;
	}
}
