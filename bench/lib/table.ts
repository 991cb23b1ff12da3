/** Markdown tables (they print fine on a terminal and go into the README unchanged). */
export function table(headers: string[], rows: Array<Array<string | number>>): string {
	const cells = [headers, ...rows.map((row) => row.map(String))];
	const widths = headers.map((_, c) => Math.max(3, ...cells.map((row) => (row[c] ?? '').length)));
	const line = (row: string[]) => `| ${row.map((cell, c) => (cell ?? '').padEnd(widths[c])).join(' | ')} |`;
	return [line(cells[0]), `|${widths.map((w) => '-'.repeat(w + 2)).join('|')}|`, ...cells.slice(1).map(line)].join('\n');
}
