/**
 * Prints reports/reliability/*.json as the Markdown table docs/reliability.md holds: what was tried, how
 * many times, and the result, from one run of the suite. `npm run test:reliability` ends with it.
 */
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import type { ReliabilityRow } from './record.js';

const AREAS: ReadonlyArray<ReliabilityRow['area']> = ['fuzz', 'crash', 'concurrency', 'access', 'secrets', 'careless-parent', 'memory'];

export function renderReliabilityTable(files: ReadonlyArray<{ scale: string; rows: readonly ReliabilityRow[] }>): string {
  const rows = files.flatMap((file) => file.rows.map((row) => ({ ...row, scale: file.scale })));
  rows.sort((a, b) => AREAS.indexOf(a.area) - AREAS.indexOf(b.area));
  const cell = (text: string): string => text.replaceAll('|', '\\|').replaceAll('\n', ' ');
  return [
    '| area | tried | count | result | scale |',
    '| --- | --- | ---: | --- | --- |',
    ...rows.map((row) => `| ${row.area} | ${cell(row.tried)} | ${row.count.toLocaleString('en-US')} | ${cell(row.result)} | ${row.scale} |`),
  ].join('\n');
}

const dir = join(process.cwd(), 'reports', 'reliability');
const files = readdirSync(dir)
  .filter((name) => name.endsWith('.json'))
  .sort()
  .map((name) => JSON.parse(readFileSync(join(dir, name), 'utf8')) as { scale: string; rows: ReliabilityRow[] });
process.stdout.write(`${renderReliabilityTable(files)}\n`);
