// Proves the simulator finds every bug in the catalogue: each bug switch is turned on in the scenario
// built to expose it, and at every pinned seed of that scenario the run fails with the invariant the bug
// breaks as its first violation. Each failure must also print a repro that names the file, seed and bug.
import { fileURLToPath } from 'node:url';
import { expect, it } from 'vitest';
import { BUG_DESCRIPTIONS, BUG_NAMES, type BugName } from '../../src/model/bugs.js';
import { INVARIANT_NAMES, type InvariantId } from '../../src/model/violation.js';
import { loadScenarios } from '../../src/sim/loadScenario.js';
import type { RunReport } from '../../src/sim/runReport.js';
import { runScenario } from '../../src/sim/runScenario.js';
import type { Scenario } from '../../src/sim/scenarioSchema.js';

const CATALOGUE: ReadonlyArray<{ bug: BugName; scenario: string; invariant: InvariantId }> = [
  { bug: 'pop-on-enc', scenario: 'exhaustion', invariant: 'I2' },
  { bug: 'count-drift', scenario: 'exhaustion', invariant: 'I8' },
  { bug: 'check-then-act', scenario: 'race-same-pool', invariant: 'I1' },
  { bug: 'restart-loses-keys', scenario: 'enc-dec-persistence', invariant: 'I2' },
  { bug: 'synthetic-fallback', scenario: 'remote-outage', invariant: 'I10' },
  { bug: 'no-consume', scenario: 'misbehaving-clients', invariant: 'I3' },
  { bug: 'double-delivery', scenario: 'misbehaving-clients', invariant: 'I3' },
  { bug: 'partial-consume', scenario: 'misbehaving-clients', invariant: 'I7' },
  { bug: 'size-rounding', scenario: 'misbehaving-clients', invariant: 'I9' },
  { bug: 'third-party-read', scenario: 'misbehaving-clients', invariant: 'I5' },
  { bug: 'no-demand-sync', scenario: 'refused-demand', invariant: 'I16' },
];

interface Loaded {
  /** Relative to the repo root, as a user types it: the repro and the trace carry it. */
  readonly file: string;
  readonly scenario: Scenario;
}

const ROOT = new URL('../..', import.meta.url);
const scenarios = new Map<string, Loaded>();
for (const name of new Set(CATALOGUE.map((row) => row.scenario))) {
  const file = `scenarios/${name}.yaml`;
  const [entry] = await loadScenarios(fileURLToPath(new URL(file, ROOT)));
  if (entry === undefined) throw new Error(`no scenario in ${file}`);
  scenarios.set(name, { file, scenario: entry.scenario });
}

function scenarioNamed(name: string): Loaded {
  const entry = scenarios.get(name);
  if (entry === undefined) throw new Error(`scenario ${name} not loaded`);
  return entry;
}

function firstViolation(report: RunReport): string {
  const found = report.safety.violations[0] ?? report.liveness.violations[0];
  return found === undefined ? '(none)' : `${found.invariant} ${INVARIANT_NAMES[found.invariant]}`;
}

it('has a scenario for every bug switch, expecting the invariant the bug says it breaks', () => {
  expect(CATALOGUE.map((row) => row.bug).sort()).toEqual([...BUG_NAMES].sort());
  for (const row of CATALOGUE) expect(row.invariant, row.bug).toBe(BUG_DESCRIPTIONS[row.bug].breaks);
});

for (const { bug, scenario: name, invariant } of CATALOGUE) {
  const { file, scenario } = scenarioNamed(name);
  for (const seed of scenario.seeds) {
    it(`${name} at seed ${seed} catches ${bug} as ${invariant} ${INVARIANT_NAMES[invariant]} first`, () => {
      const report = runScenario(scenario, { seed, file, bugs: [bug] });
      expect(report.passed).toBe(false);
      expect(firstViolation(report), report.repro).toBe(`${invariant} ${INVARIANT_NAMES[invariant]}`);
      expect(report.bugs).toEqual([bug]);
      expect(report.repro).toBe(`npx kmesim run ${file} --seed ${seed} --bug ${bug}`);
    });
  }
}

it('prints the repro of a failing run as the command that reproduces it', () => {
  const { file, scenario } = scenarioNamed('misbehaving-clients');
  const report = runScenario(scenario, { seed: 2, file, bugs: ['partial-consume'] });
  expect(report.repro).toBe('npx kmesim run scenarios/misbehaving-clients.yaml --seed 2 --bug partial-consume');
});

it('leaves out of the repro the bug switches the scenario file turns on itself', () => {
  const { file, scenario } = scenarioNamed('misbehaving-clients');
  const report = runScenario({ ...scenario, bugs: ['no-consume'] }, { seed: 1, file, bugs: ['partial-consume'] });
  expect(report.bugs).toEqual(['no-consume', 'partial-consume']);
  expect(report.repro).toBe(`npx kmesim run ${file} --seed 1 --bug partial-consume`);
});
