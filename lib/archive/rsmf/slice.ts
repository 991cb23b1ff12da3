/**
 * Slicing: the events of each conversation cut into runs of at most `maxEventsPerSlice` events, and
 * at each UTC day when asked. One slice becomes one `.rsmf` file.
 */
import { ArchiveError } from '../types';
import type { MappedConversation, MappedEvent } from './map-records';
import { DEFAULT_MAX_EVENTS_PER_SLICE } from './types';

/** The events of one `.rsmf` file. */
export interface EventSlice {
	conversation: MappedConversation;
	/** In time order. */
	events: MappedEvent[];
	/** 1-based position among the slices of the conversation. */
	part: number;
	/** Number of slices of the conversation. */
	parts: number;
}

/** Options of {@link sliceEvents}. */
export interface SliceOptions {
	/** Default {@link DEFAULT_MAX_EVENTS_PER_SLICE}. */
	maxEventsPerSlice?: number;
	/** A new slice at each UTC day of the events' time (default false). */
	sliceByDay?: boolean;
}

/**
 * Slices of every conversation, conversations in their order, slices in time order. A conversation
 * of n events gives ceil(n / maxEventsPerSlice) slices (more with `sliceByDay`); events without a
 * time come last, in a day of their own.
 *
 * @throws ArchiveError `InvalidInput` when `maxEventsPerSlice` is not a whole number of at least 1.
 */
export function sliceEvents(conversations: MappedConversation[], options: SliceOptions = {}): EventSlice[] {
	const max = options.maxEventsPerSlice ?? DEFAULT_MAX_EVENTS_PER_SLICE;
	if (!Number.isSafeInteger(max) || max < 1) {
		throw new ArchiveError(`maxEventsPerSlice must be a whole number of at least 1 (default ${DEFAULT_MAX_EVENTS_PER_SLICE}), not ${String(max)}`, {
			code: 'InvalidInput',
		});
	}
	const slices: EventSlice[] = [];
	for (const conversation of conversations) {
		const runs: MappedEvent[][] = [];
		let run: MappedEvent[] = [];
		let day: string | null = null;
		for (const event of conversation.events) {
			const eventDay = event.time ? event.time.slice(0, 10) : 'undated';
			if (run.length && (run.length >= max || (options.sliceByDay && eventDay !== day))) {
				runs.push(run);
				run = [];
			}
			run.push(event);
			day = eventDay;
		}
		if (run.length) runs.push(run);
		runs.forEach((events, index) => slices.push({ conversation, events, part: index + 1, parts: runs.length }));
	}
	return slices;
}
