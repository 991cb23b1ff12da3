/**
 * "No secrets in output": captures what failure tests print (console, process stdout/stderr) and the
 * errors they see, and scans it all for secret values.
 */
import { IncomingMessage, OutgoingMessage } from 'node:http';
import { Socket } from 'node:net';
import { inspect } from 'node:util';

/** Live HTTP objects (sockets, messages): reached through `ArchiveError.cause.$response.body`. */
export const isLiveHttpObject = (value: unknown): boolean =>
	value instanceof Socket || value instanceof IncomingMessage || value instanceof OutgoingMessage;

/**
 * Whether a live HTTP object is reachable from `root` (property walk, own and non-enumerable
 * properties, up to `maxDepth`); returns the first path found.
 */
export function liveHttpPath(root: unknown, maxDepth = 8): string | null {
	const seen = new Set<unknown>();
	const walk = (value: unknown, path: string, depth: number): string | null => {
		if (value === null || typeof value !== 'object' || depth > maxDepth || seen.has(value)) return null;
		if (isLiveHttpObject(value)) return path;
		seen.add(value);
		for (const name of Object.getOwnPropertyNames(value)) {
			let child: unknown;
			try {
				child = (value as Record<string, unknown>)[name];
			} catch {
				continue;
			}
			const found = walk(child, `${path}.${name}`, depth + 1);
			if (found) return found;
		}
		return null;
	};
	return walk(root, 'error', 0);
}

/** A copy of an error graph without live HTTP objects (see the live-HTTP-object test in store-faults). */
function withoutLiveHttp(root: unknown): unknown {
	const seen = new Map<unknown, unknown>();
	const copy = (value: unknown, depth: number): unknown => {
		if (value === null || typeof value !== 'object') return value;
		if (isLiveHttpObject(value)) return '[live HTTP object]';
		if (depth > 8) return '[deep]';
		if (seen.has(value)) return seen.get(value);
		const out: Record<string, unknown> = Array.isArray(value) ? ([] as unknown as Record<string, unknown>) : {};
		seen.set(value, out);
		for (const name of Object.getOwnPropertyNames(value)) {
			try {
				out[name] = copy((value as Record<string, unknown>)[name], depth + 1);
			} catch {
				/* getters may throw */
			}
		}
		return out;
	};
	return copy(root, 0);
}

/**
 * Deep text of an error (message, stack, description, cause chain, every own property, inspected).
 * Live sockets / HTTP messages are left out (their reachability is the subject of its own test).
 */
export function errorText(raw: unknown): string {
	const error = withoutLiveHttp(raw);
	const seen = new Set<unknown>();
	const parts: string[] = [];
	const walk = (value: unknown, depth: number) => {
		if (value === null || value === undefined || depth > 6 || seen.has(value)) return;
		if (typeof value !== 'object' && typeof value !== 'function') {
			parts.push(String(value));
			return;
		}
		seen.add(value);
		for (const name of Object.getOwnPropertyNames(value)) {
			try {
				walk((value as Record<string, unknown>)[name], depth + 1);
			} catch {
				/* getters may throw */
			}
		}
	};
	walk(error, 0);
	try {
		parts.push(inspect(error, { depth: 8, showHidden: true }));
	} catch {
		/* ignore */
	}
	try {
		parts.push(JSON.stringify(error));
	} catch {
		/* cycles */
	}
	return parts.join('\n');
}

/** Collects console output and stdout/stderr writes while installed. */
export class OutputCapture {
	readonly chunks: string[] = [];
	private restore: Array<() => void> = [];

	install(): this {
		for (const method of ['log', 'info', 'warn', 'error', 'debug'] as const) {
			const original = console[method];
			console[method] = (...args: unknown[]) => {
				this.chunks.push(args.map((a) => (typeof a === 'string' ? a : inspect(a, { depth: 6 }))).join(' '));
			};
			this.restore.push(() => (console[method] = original));
		}
		// winston's Console transport (n8n's logger) writes to console._stdout / console._stderr
		const consoleStreams = console as unknown as { _stdout?: NodeJS.WriteStream; _stderr?: NodeJS.WriteStream };
		const streams = new Set([process.stdout, process.stderr, consoleStreams._stdout, consoleStreams._stderr].filter(Boolean));
		for (const stream of streams as Set<NodeJS.WriteStream>) {
			const original = stream.write.bind(stream);
			stream.write = ((chunk: unknown, ...rest: unknown[]) => {
				this.chunks.push(typeof chunk === 'string' ? chunk : Buffer.from(chunk as Uint8Array).toString('utf8'));
				// swallowed (the suite's own summary is printed by globalTeardown); VERBOSE=1 shows it
				if (process.env.VERBOSE === '1') return (original as (...a: unknown[]) => boolean)(chunk, ...rest);
				return true;
			}) as typeof stream.write;
			this.restore.push(() => (stream.write = original as typeof stream.write));
		}
		return this;
	}

	add(text: string): void {
		this.chunks.push(text);
	}

	uninstall(): void {
		for (const undo of this.restore.reverse()) undo();
		this.restore = [];
	}
}

/** Lines naming each secret found in the texts (the secret itself is never echoed). */
export function findSecrets(texts: string[], secrets: Record<string, string>): string[] {
	const hits: string[] = [];
	for (const [name, value] of Object.entries(secrets)) {
		if (!value || value.length < 6) continue;
		const probes = [value];
		// armored key blocks: also look for any one base64 line of the block body
		if (value.includes('-----BEGIN')) {
			probes.push(...value.split('\n').filter((l) => l.length >= 40 && !l.startsWith('-----')).slice(0, 20));
		}
		let found = 0;
		texts.forEach((text, index) => {
			if (found >= 5) return; // the first five hits per secret are enough to name the leak
			const probe = probes.find((p) => text.includes(p));
			if (!probe) return;
			// context around the hit, the secret itself masked
			const at = text.indexOf(probe);
			const context = text.slice(Math.max(0, at - 100), at + probe.length + 60).split(probe).join('***').replace(/\s+/g, ' ');
			hits.push(`${name} found in output #${index}: …${context}…`);
			found += 1;
		});
	}
	return hits;
}
