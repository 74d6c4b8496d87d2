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
import { testingSection } from './testing.js';
import { httpSection } from './http.js';
import { memorySection } from './memory.js';
import { startupSection } from './startup.js';

/** A group of figures, e.g. `sim` or `http`, as it appears in reports/bench.json. */
export type BenchFigures = Record<string, number | string | Record<string, number | string>>;

export interface BenchSection {
  readonly name: string;
  readonly run: () => Promise<BenchFigures>;
}

const sections: BenchSection[] = [simSection, httpSection, memorySection, startupSection, checkerSection, testingSection];

async function main(): Promise<number> {
  const started = performance.now();
  const result: Record<string, unknown> = {
    machine: { node: process.version, cpus: cpus().length, cpuModel: cpus()[0]?.model ?? 'unknown', memoryBytes: totalmem() },
  };
  const sectionSeconds: Record<string, number> = {};
  const failed: string[] = [];
  const dir = join(process.cwd(), 'reports');
  mkdirSync(dir, { recursive: true });
  // Written after every section, so a long run that fails late keeps what it measured.
  const write = (): void => writeFileSync(join(dir, 'bench.json'), `${JSON.stringify({ ...result, sectionSeconds }, null, 2)}\n`);
  // BENCH_ONLY=sim,http runs only the named sections.
  const only = process.env['BENCH_ONLY']?.split(',');
  for (const section of sections.filter((candidate) => only === undefined || only.includes(candidate.name))) {
    process.stderr.write(`bench: ${section.name}…\n`);
    const sectionStarted = performance.now();
    try {
      result[section.name] = await section.run();
    } catch (error) {
      failed.push(section.name);
      result[section.name] = { error: error instanceof Error ? error.message : String(error) };
      process.stderr.write(`bench: ${section.name} failed: ${error instanceof Error ? (error.stack ?? error.message) : String(error)}\n`);
    }
    sectionSeconds[section.name] = Math.round((performance.now() - sectionStarted) / 100) / 10;
    write();
  }
  result['totalSeconds'] = Math.round((performance.now() - started) / 100) / 10;
  write();
  process.stdout.write(`${renderBenchTable({ ...result, sectionSeconds })}\n\nwritten: reports/bench.json\n`);
  if (failed.length > 0) process.stderr.write(`bench: failed sections: ${failed.join(', ')}\n`);
  return failed.length > 0 ? 1 : 0;
}

process.exitCode = await main();
