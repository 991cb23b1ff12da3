/** The PgpError a promise rejects with (fails the test when it resolves or rejects with something else). */
import { PgpError } from '../../lib/pgp';

export async function pgpRejection(promise: Promise<unknown>): Promise<PgpError> {
	try {
		await promise;
	} catch (error) {
		expect(error).toBeInstanceOf(PgpError);
		return error as PgpError;
	}
	throw new Error('expected the promise to reject');
}
