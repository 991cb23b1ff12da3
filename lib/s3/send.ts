import { toArchiveError, type StoreCallContext } from './errors';

/**
 * Runs one store request; a failure becomes an ArchiveError for `context`. Internal to the transport
 * (not exported from `lib/s3`): every other module calls the named operations.
 */
export async function storeCall<Output>(context: StoreCallContext, request: () => Promise<Output>): Promise<Output> {
	try {
		return await request();
	} catch (error) {
		throw toArchiveError(error, context);
	}
}
