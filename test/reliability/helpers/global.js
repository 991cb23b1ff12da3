/* Jest globalSetup / globalTeardown of the reliability suite (CommonJS: loaded before any transform). */
const { mkdtempSync, readFileSync, existsSync, rmSync } = require('node:fs');
const { tmpdir } = require('node:os');
const path = require('node:path');

function setup() {
	process.env.RELIABILITY_DIR = mkdtempSync(path.join(tmpdir(), 'chat-archive-reliability-'));
}

function teardown() {
	const dir = process.env.RELIABILITY_DIR;
	if (!dir) return;
	const file = path.join(dir, 'counters.jsonl');
	const lines = existsSync(file)
		? readFileSync(file, 'utf8').split('\n').filter(Boolean).map((l) => JSON.parse(l))
		: [];
	const rows = new Map();
	for (const line of lines) {
		const row = rows.get(line.category) ?? { tried: 0, passed: 0, lost: 0, leaked: 0, notes: [] };
		row.tried += line.tried;
		row.passed += line.passed;
		row.lost += line.lost;
		row.leaked += line.leaked;
		if (line.note) row.notes.push(line.note);
		rows.set(line.category, row);
	}
	const total = { tried: 0, passed: 0, lost: 0, leaked: 0 };
	const out = [];
	const pad = (s, n) => String(s).padEnd(n);
	const num = (s, n) => String(s).padStart(n);
	out.push('');
	out.push('Reliability and security suite — summary');
	out.push(`${pad('category', 42)}${num('tried', 8)}${num('passed', 8)}${num('lost', 6)}${num('leaked', 8)}`);
	out.push('-'.repeat(72));
	for (const [category, row] of [...rows.entries()].sort()) {
		for (const k of Object.keys(total)) total[k] += row[k];
		out.push(`${pad(category, 42)}${num(row.tried, 8)}${num(row.passed, 8)}${num(row.lost, 6)}${num(row.leaked, 8)}`);
	}
	out.push('-'.repeat(72));
	out.push(`${pad('total', 42)}${num(total.tried, 8)}${num(total.passed, 8)}${num(total.lost, 6)}${num(total.leaked, 8)}`);
	const notes = [...rows.entries()].flatMap(([c, r]) => r.notes.map((n) => `  ${c}: ${n}`));
	if (notes.length) out.push('notes:', ...notes);
	console.log(out.join('\n'));
	if (process.env.KEEP_RELIABILITY_DIR !== '1') rmSync(dir, { recursive: true, force: true });
}

module.exports = { setup, teardown };
