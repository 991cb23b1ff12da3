/** Shared fixture helpers of the capture tests: the Meta-shaped deliveries and their expected records. */
import { existsSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';

export const FIXTURES = path.join(__dirname, '..', '..', 'fixtures', 'whatsapp');
export const EXPECTED = path.join(__dirname, '..', '..', 'fixtures', 'expected');

/** Fixed inputs used to produce the checked-in expectations. */
export const RECEIVED_AT = new Date('2026-01-01T08:00:00.000Z');
export const GRAPH_API_VERSION = 'v24.0';

/** File names (without .json) of the fixtures that are webhook deliveries (not Graph responses). */
export const deliveryFixtures: string[] = readdirSync(FIXTURES)
	.filter((file) => file.endsWith('.json'))
	.filter(
		(file) =>
			(JSON.parse(readFileSync(path.join(FIXTURES, file), 'utf8')) as { object?: unknown }).object ===
			'whatsapp_business_account',
	)
	.map((file) => file.replace(/\.json$/, ''))
	.sort();

/** Raw bytes of a fixture delivery. */
export function fixtureBody(name: string): Buffer {
	return readFileSync(path.join(FIXTURES, `${name}.json`));
}

/** Path of the checked-in expected records of a fixture. */
export function expectedPath(name: string): string {
	return path.join(EXPECTED, `${name}.records.json`);
}

/**
 * The checked-in expected records of a fixture. With UPDATE_EXPECTED=1 the given records are written
 * first (to regenerate after an intended change; the result must then be reviewed by hand).
 */
export function expectedRecords(name: string, actual: unknown): unknown {
	const file = expectedPath(name);
	if (process.env.UPDATE_EXPECTED === '1' || !existsSync(file)) {
		if (process.env.UPDATE_EXPECTED !== '1') throw new Error(`missing expectation ${file}`);
		writeFileSync(file, JSON.stringify(actual, null, '\t') + '\n');
	}
	return JSON.parse(readFileSync(file, 'utf8')) as unknown;
}
