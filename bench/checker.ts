/**
 * `checker`: how fast the black-box checker finds each catalogue bug. For every bug the mock KME is started
 * with it switched on (two KMEs, four SAEs, pools of 20 keys, as in test/check/bugCatalogue.test.ts) and
 * checked at several seeds; the figure is the time from the start of the check to its first violation
 * (`detectedAfterMs` in the report, shrinking not included), and the length of the transcript the report
 * shows for the violation of the invariant the bug breaks.
 */
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { runCheck } from '../src/check/runCheck.js';
import { targetSchema } from '../src/check/targetSchema.js';
import { startServer } from '../src/http/startServer.js';
import { createScenarioSetup } from '../src/sim/scenarioSetup.js';
import { describeTarget } from '../src/http/targetFile.js';
import { BUG_DESCRIPTIONS, BUG_NAMES, type BugName } from '../src/model/bugs.js';
import type { BenchFigures, BenchSection } from './main.js';
import { median } from './processes.js';

const SEEDS = [1, 2, 3, 4, 5];
const RUNS = 25;
const BUDGET_MS = 60_000;

function writeScenario(dir: string, bug: BugName): string {
  const file = join(dir, `${bug}.yaml`);
  const users = ['a1', 'a2', 'b1', 'b2'].map((name) => `    - { name: ${name}, kme: ${name.startsWith('a') ? 0 : 1} }`);
  writeFileSync(file, [`name: bench-check-${bug}`, 'seeds: [1]', 'duration: 1h', 'world:', '  kmes: 2', '  users:', ...users, '  pool: { capacity: 20 }', `bugs: [${bug}]`, ''].join('\n'));
  return file;
}

interface Detection {
  readonly ms: number | null;
  readonly transcript: number | null;
}

async function checkOnce(scenario: string, bug: BugName, seed: number): Promise<Detection> {
  const server = await startServer({ port: 0, host: '127.0.0.1', seed: 1, clock: 'real', setup: createScenarioSetup(scenario), bugs: [bug] });
  try {
    const { report } = await runCheck(targetSchema.parse(describeTarget(server)), { file: 'target.yaml', seed, runs: RUNS, budgetMs: BUDGET_MS, replays: 0 });
    const found = report.violations.find((violation) => violation.invariant === BUG_DESCRIPTIONS[bug].breaks);
    return { ms: found === undefined ? null : report.detectedAfterMs, transcript: found?.transcript.length ?? null };
  } finally {
    await server.close();
  }
}

export const checkerSection: BenchSection = {
  name: 'checker',
  async run(): Promise<BenchFigures> {
    const dir = mkdtempSync(join(tmpdir(), 'kmesim-bench-check-'));
    const detectMedianMs: Record<string, number | string> = {};
    const transcriptLength: Record<string, number | string> = {};
    const seedsFound: Record<string, number> = {};
    const all: number[] = [];
    try {
      for (const bug of BUG_NAMES) {
        const scenario = writeScenario(dir, bug);
        const times: number[] = [];
        const lengths: number[] = [];
        for (const seed of SEEDS) {
          const detection = await checkOnce(scenario, bug, seed);
          if (detection.ms === null || detection.transcript === null) continue;
          times.push(detection.ms);
          lengths.push(detection.transcript);
        }
        all.push(...times);
        seedsFound[bug] = times.length;
        detectMedianMs[bug] = times.length === 0 ? 'not found' : Math.round(median(times));
        transcriptLength[bug] = lengths.length === 0 ? 'not found' : median(lengths);
      }
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
    // Medians are over the seeds at which the check found the bug (seedsFound of seedsPerBug, at --runs 25).
    return { detectMedianMs, detectMedianOverallMs: Math.round(median(all)), transcriptLength, seedsPerBug: SEEDS.length, seedsFound };
  },
};
