/**
 * The `rsmf_manifest.json` of one slice (Relativity RSMF 2.0.0 schema, `schema/` beside this file).
 */
import type { EventSlice } from './slice';
import { RSMF_VERSION, type RsmfEvent, type RsmfManifest, type RsmfParticipant, type RsmfReaction } from './types';

/** Options of {@link buildRsmfManifest}. */
export interface RsmfManifestOptions {
	slice: EventSlice;
	/** Every participant of the export by id. */
	participants: Map<string, RsmfParticipant>;
	/** Size in octets of each media file by its index in the `media` option, as measured in the zip. */
	sizes: Map<number, number>;
	eventCollectionId: string;
}

/** Reactions grouped by value, in the order each value was first given. */
function reactions(current: Map<string, string>): RsmfReaction[] {
	const byValue = new Map<string, string[]>();
	for (const [participant, value] of current) {
		if (!value) continue;
		byValue.set(value, [...(byValue.get(value) ?? []), participant]);
	}
	return [...byValue].map(([value, participants]) => ({ value, count: participants.length, participants }));
}

/**
 * The manifest of a slice: its conversation, its events and the participants they name. Keys in a
 * fixed order, so equal slices serialize to equal bytes. A reply's `parent` is set when the message
 * replied to is in the same slice; the reply keeps its `Reply to message ID` either way.
 */
export function buildRsmfManifest(options: RsmfManifestOptions): RsmfManifest {
	const { slice } = options;
	const idOfWamid = new Map<string, string>();
	for (const mapped of slice.events) if (mapped.wamid && !idOfWamid.has(mapped.wamid)) idOfWamid.set(mapped.wamid, mapped.event.id!);

	const named = new Set<string>(slice.conversation.conversation.participants);
	const events = slice.events.map((mapped): RsmfEvent => {
		const e = mapped.event;
		const parent = mapped.replyTo ? idOfWamid.get(mapped.replyTo) : undefined;
		const grouped = reactions(mapped.reactions);
		const event: RsmfEvent = {
			id: e.id,
			type: e.type,
			...(parent && parent !== e.id ? { parent } : {}),
			...(e.participant ? { participant: e.participant } : {}),
			conversation: e.conversation,
			...(e.timestamp ? { timestamp: e.timestamp } : {}),
			...(e.direction ? { direction: e.direction } : {}),
			...(e.body ? { body: e.body } : {}),
			...(e.deleted ? { deleted: true } : {}),
			...(mapped.attachments.length
				? {
						attachments: mapped.attachments.map((a) => ({
							id: a.id,
							display: a.display,
							...(options.sizes.has(a.mediaIndex) ? { size: options.sizes.get(a.mediaIndex)! } : {}),
						})),
					}
				: {}),
			...(e.edits?.length ? { edits: e.edits } : {}),
			...(grouped.length ? { reactions: grouped } : {}),
			...(e.read_receipts?.length ? { read_receipts: e.read_receipts } : {}),
			...(e.custom?.length ? { custom: e.custom.filter((c) => c.name && c.value) } : {}),
		};
		for (const id of [event.participant, ...(event.edits ?? []).map((x) => x.participant), ...(event.read_receipts ?? []).map((x) => x.participant), ...grouped.flatMap((r) => r.participants ?? [])]) {
			if (id) named.add(id);
		}
		return event;
	});
	const participants = [...named]
		.sort((a, b) => Number(a.slice(1)) - Number(b.slice(1)))
		.map((id) => options.participants.get(id) ?? { id });
	return {
		version: RSMF_VERSION,
		participants,
		conversations: [slice.conversation.conversation],
		events,
		eventcollectionid: options.eventCollectionId,
	};
}
