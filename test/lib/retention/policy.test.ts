import { DateTime } from 'luxon';

import { expiredBefore, expiresAt, resolvePolicy, retentionStart, RetentionError } from '../../../lib/retention';
import { prng } from './population';

describe('resolvePolicy', () => {
	it('normalises prefix, names and durations', () => {
		const policy = resolvePolicy({
			prefix: ' archive/ ',
			classes: [
				{ name: 'Default', retention: 'p1y' },
				{ name: 'mifid', retention: 'P7Y' },
			],
		});
		expect(policy).toEqual({
			prefix: 'archive',
			classes: [
				{ name: 'default', retention: 'P1Y', minimum: 'P1D' },
				{ name: 'mifid', retention: 'P7Y', minimum: 'P5Y' },
			],
		});
	});

	it.each([
		[{ name: 'sec-17a-4', retention: 'P2Y' }, 'PolicyBelowMinimum'],
		[{ name: 'mifid', retention: 'P59M' }, 'PolicyBelowMinimum'],
		[{ name: 'default', retention: 'P6M', minimum: 'P1Y' }, 'PolicyBelowMinimum'],
		[{ name: 'default', retention: 'P365D', minimum: 'P1Y' }, 'PolicyBelowMinimum'], // shorter across a leap day
		[{ name: 'default', retention: 'P30D', minimum: 'P1M' }, 'PolicyBelowMinimum'], // shorter in 31-day months
		[{ name: 'default', retention: 'one year' }, 'InvalidPolicy'],
		[{ name: 'default', retention: 'P0D' }, 'InvalidPolicy'],
		[{ name: '../x', retention: 'P1Y' }, 'InvalidPolicy'],
	])('refuses %j (%s)', (retentionClass, code) => {
		const attempt = () => resolvePolicy({ prefix: 'archive', classes: [retentionClass] });
		expect(attempt).toThrow(RetentionError);
		try {
			attempt();
		} catch (error) {
			expect((error as RetentionError).code).toBe(code);
		}
	});

	it('accepts retention equal to the floor (P36M for P3Y, P366D for P1Y)', () => {
		expect(resolvePolicy({ prefix: 'a', classes: [{ name: 'sec-17a-4', retention: 'P36M' }] }).classes[0].retention).toBe('P36M');
		expect(resolvePolicy({ prefix: 'a', classes: [{ name: 'x', retention: 'P366D', minimum: 'P1Y' }] }).classes).toHaveLength(1);
	});

	it('refuses duplicate classes, empty policies and bad prefixes', () => {
		expect(() => resolvePolicy({ prefix: 'a', classes: [] })).toThrow(/at least one/);
		expect(() =>
			resolvePolicy({ prefix: 'a', classes: [{ name: 'x', retention: 'P1Y' }, { name: 'X', retention: 'P2Y' }] }),
		).toThrow(/twice/);
		expect(() => resolvePolicy({ prefix: '/a', classes: [{ name: 'x', retention: 'P1Y' }] })).toThrow(RetentionError);
	});
});

describe('retentionStart', () => {
	it('counts from the write day when the key date lies within the retry window before it, else from the key date', () => {
		const written = new Date('2026-12-10T23:59:00Z');
		expect(retentionStart('2026-12-10', written)).toBe('2026-12-10');
		expect(retentionStart('2026-12-11', written)).toBe('2026-12-11'); // key date after the write: the key date
		expect(retentionStart('2026-12-03', written)).toBe('2026-12-10'); // delivered 7 days late
		expect(retentionStart('2026-12-01', written)).toBe('2026-12-10'); // 9 days: 8-day window + the day boundary
		expect(retentionStart('2026-11-30', written)).toBe('2026-11-30'); // an import of older records keeps its date
		expect(retentionStart('2026-12-03', null)).toBe('2026-12-03');
	});
});

describe('expiresAt', () => {
	const cls = { name: 'default', retention: 'P1Y', minimum: 'P1D' };
	it('counts from the end of the record day', () => {
		expect(expiresAt('2024-02-29', cls).toISO()).toBe('2025-03-01T00:00:00.000Z');
		expect(expiresAt('2025-06-30', cls).toISO()).toBe('2026-07-01T00:00:00.000Z');
	});
	it('refuses impossible dates', () => {
		expect(() => expiresAt('2025-02-30', cls)).toThrow(RetentionError);
	});

	it('agrees with expiredBefore for random dates, durations and times (seeded)', () => {
		const random = prng(42);
		const durations = ['P1Y', 'P3Y', 'P5Y', 'P18M', 'P400D', 'P1Y6M', 'P30D', 'P7Y'];
		for (let i = 0; i < 3000; i++) {
			const retentionClass = { name: 'c', retention: durations[Math.floor(random() * durations.length)], minimum: 'P1D' };
			const now = DateTime.fromMillis(Date.UTC(2020, 0, 1) + Math.floor(random() * 10 * 365 * 86400_000), { zone: 'utc' });
			const recordDate = now.minus({ days: Math.floor(random() * 3000) }).toISODate()!;
			const expired = expiresAt(recordDate, retentionClass).toMillis() <= now.toMillis();
			const boundary = expiredBefore(now.toJSDate(), retentionClass);
			if (expired !== recordDate < boundary) {
				throw new Error(`disagree: ${recordDate} ${retentionClass.retention} at ${now.toISO()} (boundary ${boundary})`);
			}
		}
	});
});
