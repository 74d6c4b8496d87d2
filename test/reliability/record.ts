import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { reliabilityScale } from './scale.js';

/** One row of docs/reliability.md: what was tried, how many times, and what came of it. */
export interface ReliabilityRow {
  readonly area: 'fuzz' | 'crash' | 'concurrency' | 'access' | 'secrets' | 'careless-parent' | 'memory';
  readonly tried: string;
  readonly count: number;
  readonly result: string;
}

/**
 * Writes the rows a reliability test measured to reports/reliability/<file>.json, so one run of the
 * suite leaves the figures docs/reliability.md is written from.
 */
export function recordReliability(file: string, rows: readonly ReliabilityRow[]): void {
  const dir = join(process.cwd(), 'reports', 'reliability');
  mkdirSync(dir, { recursive: true });
  const body = { scale: reliabilityScale().name, rows };
  writeFileSync(join(dir, `${file}.json`), `${JSON.stringify(body, null, 2)}\n`);
}
