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
