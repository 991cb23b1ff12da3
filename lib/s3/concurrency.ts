import pLimit from 'p-limit';

/**
 * Runs `worker` over `items` with at most `limit` calls in flight (p-limit); results keep the input
 * order. The first worker that throws rejects the call, and no item not yet started is started after
 * it (those in flight finish on their own).
 */
export async function mapLimit<T, R>(items: readonly T[], limit: number, worker: (item: T, index: number) => Promise<R>): Promise<R[]> {
	const run = pLimit(Math.max(1, Math.floor(limit) || 1));
	return await Promise.all(
		items.map(
			async (item, index) =>
				await run(async () => {
					try {
						return await worker(item, index);
					} catch (error) {
						run.clearQueue();
						throw error;
					}
				}),
		),
	);
}

/**
 * Runs `worker` over `items` with at most `limit` calls in flight, keeping no results: memory does not
 * grow with the number of items (no promise per item, unlike {@link mapLimit}). The first worker that
 * throws rejects the call once the calls in flight have settled, and no further item is started.
 */
export async function forEachLimit<T>(items: readonly T[], limit: number, worker: (item: T, index: number) => Promise<void>): Promise<void> {
	let next = 0;
	let failure: { error: unknown } | null = null;
	const lane = async () => {
		while (!failure && next < items.length) {
			const index = next++;
			try {
				await worker(items[index], index);
			} catch (error) {
				failure ??= { error };
			}
		}
	};
	await Promise.all(Array.from({ length: Math.max(1, Math.min(Math.floor(limit) || 1, items.length)) }, lane));
	if (failure) throw (failure as { error: unknown }).error;
}
