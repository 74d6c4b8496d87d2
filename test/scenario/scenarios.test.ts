// The golden-run suite: every scenario in scenarios/ is played in-process at each of its pinned seeds
// and must pass (no invariant broken, every expectation met); year-of-mail is played for one day of its
// workload, since `npm start` plays the full year. It also checks I14 in-process: the same seed gives the
// same trace fingerprint, different seeds give different ones.
import { relative } from 'node:path';
import { fileURLToPath } from 'node:url';
import { expect, it } from 'vitest';
import { formatDuration } from '../../src/engine/duration.js';
import { loadScenarios } from '../../src/sim/loadScenario.js';
import type { RunReport } from '../../src/sim/runReport.js';
import { runScenario } from '../../src/sim/runScenario.js';
import type { Scenario } from '../../src/sim/scenarioSchema.js';

const ROOT = fileURLToPath(new URL('../..', import.meta.url));
const DAY_MS = 86_400_000;
const SCALE_SCENARIO = 'year-of-mail';

// Report paths as the CLI writes them (relative to the repo root): the path is part of the trace.
const loaded = (await loadScenarios(`${ROOT}scenarios`)).map(({ file, scenario }) => ({ file: relative(ROOT, file), scenario }));

function scenarioNamed(name: string): { file: string; scenario: Scenario } {
  const entry = loaded.find(({ scenario }) => scenario.name === name);
  if (entry === undefined) throw new Error(`no scenario named ${name} in scenarios/`);
  return entry;
}

function explain(report: RunReport): string {
  const lines = [`${report.scenario} seed ${report.seed} failed (${report.repro})`];
  for (const v of [...report.safety.violations, ...report.liveness.violations]) lines.push(`  ${v.invariant}: ${v.message} ${JSON.stringify(v.evidence)}`);
  for (const e of report.expectations.filter((result) => !result.passed)) lines.push(`  expectation failed: ${e.description} (${e.detail})`);
  return lines.join('\n');
}

function fingerprintOf(name: string, seed: number): string {
  const { file, scenario } = scenarioNamed(name);
  return runScenario(scenario, { seed, file }).fingerprint;
}

it('finds the scenarios folder with the scale scenario in it', () => {
  expect(loaded.length).toBeGreaterThanOrEqual(2);
  expect(loaded.map(({ scenario }) => scenario.name)).toContain(SCALE_SCENARIO);
});

for (const { file, scenario } of loaded) {
  if (scenario.name === SCALE_SCENARIO) continue;
  for (const seed of scenario.seeds) {
    it(`${scenario.name} passes at pinned seed ${seed}`, () => {
      const report = runScenario(scenario, { seed, file });
      expect(report.passed, explain(report)).toBe(true);
    });
  }
}

it(`${SCALE_SCENARIO} passes with its full workload played for one day (npm start plays the full year)`, () => {
  const { file, scenario } = scenarioNamed(SCALE_SCENARIO);
  const fraction = DAY_MS / scenario.duration;
  // Count expectations are for the whole duration; a day's share of them is what one day must reach.
  const expectations = scenario.expect.map((expectation) =>
    'minMessagesDecrypted' in expectation ? { minMessagesDecrypted: Math.floor(expectation.minMessagesDecrypted * fraction) } : expectation,
  );
  const oneDay: Scenario = { ...scenario, duration: DAY_MS, expect: expectations };
  for (const seed of scenario.seeds) {
    const report = runScenario(oneDay, { seed, file });
    expect(report.passed, `${explain(report)}\n  (played for ${formatDuration(DAY_MS)})`).toBe(true);
    expect(report.stats.users).toBe(1_000);
  }
});

for (const name of ['race-same-pool', 'misbehaving-clients', 'remote-outage']) {
  it(`${name} gives the same fingerprint when run twice at the same seed (I14 determinism)`, () => {
    const seed = scenarioNamed(name).scenario.seeds[0] ?? 1;
    const first = fingerprintOf(name, seed);
    expect(first).toMatch(/^[0-9a-f]{64}$/);
    expect(fingerprintOf(name, seed)).toBe(first);
  });
}

it('race-same-pool gives a different fingerprint at each of five seeds', () => {
  const fingerprints = [1, 2, 3, 4, 5].map((seed) => fingerprintOf('race-same-pool', seed));
  expect(new Set(fingerprints).size).toBe(5);
});

it('misbehaving-clients gives different fingerprints at seeds 1 and 2', () => {
  expect(fingerprintOf('misbehaving-clients', 1)).not.toBe(fingerprintOf('misbehaving-clients', 2));
});
