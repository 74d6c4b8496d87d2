/**
 * `npm run bench`: every figure is measured next to a baseline taken in the same run, because these
 * machines are shared and noisy. Prints a table and writes reports/bench.json.
 */
import { mkdirSync, writeFileSync } from 'node:fs';
import { cpus, totalmem } from 'node:os';
import { join } from 'node:path';
import { simSection } from './sim.js';
import { renderBenchTable } from './table.js';
import { checkerSection } from './checker.js';
import { httpSection } from './http.js';
import { memorySection } from './memory.js';
import { startupSection } from './startup.js';

/** A group of figures, e.g. `sim` or `http`, as it appears in reports/bench.json. */
export type BenchFigures = Record<string, number | string | Record<string, number | string>>;

export interface BenchSection {
  readonly name: string;
  readonly run: () => Promise<BenchFigures>;
}

const sections: BenchSection[] = [simSection, httpSection, memorySection, startupSection, checkerSection];

async function main(): Promise<void> {
  const started = performance.now();
  const result: Record<string, unknown> = {
    machine: { node: process.version, cpus: cpus().length, cpuModel: cpus()[0]?.model ?? 'unknown', memoryBytes: totalmem() },
  };
  // BENCH_ONLY=sim,http runs only the named sections.
  const only = process.env['BENCH_ONLY']?.split(',');
  for (const section of sections.filter((candidate) => only === undefined || only.includes(candidate.name))) {
    process.stderr.write(`bench: ${section.name}…\n`);
    result[section.name] = await section.run();
  }
  result['totalSeconds'] = Math.round((performance.now() - started) / 100) / 10;
  const dir = join(process.cwd(), 'reports');
  mkdirSync(dir, { recursive: true });
  writeFileSync(join(dir, 'bench.json'), `${JSON.stringify(result, null, 2)}\n`);
  process.stdout.write(`${renderBenchTable(result)}\n\nwritten: reports/bench.json\n`);
}

await main();
