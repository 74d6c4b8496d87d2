// Shrinks a failing run: fewer faults, users, messages and misbehaviours, keeping the seed, as long as
// the run still breaks the same invariant. Greedy and bounded, like a delta-debugging pass.
import type { BugName } from '../model/bugs.js';
import type { InvariantId } from '../model/violation.js';
import type { RunReport } from './runReport.js';
import { runScenario } from './runScenario.js';
import type { Scenario } from './scenarioSchema.js';

export interface ShrinkResult {
  readonly scenario: Scenario;
  readonly report: RunReport;
  readonly runs: number;
}

function firstViolation(report: RunReport): InvariantId | undefined {
  return (report.safety.violations[0] ?? report.liveness.violations[0])?.invariant;
}

/** Candidate scenarios one step smaller than the given one, most promising first. */
function* candidates(scenario: Scenario): Generator<Scenario> {
  const referenced = new Set<string>([
    ...scenario.workload.bursts.map((burst) => burst.recipient),
    ...scenario.workload.races.map((race) => race.recipient),
    ...scenario.expect.flatMap((expectation) => ('pool' in expectation ? [expectation.pool] : [])),
    ...(typeof scenario.workload.recipients === 'object' ? [scenario.workload.recipients.hot] : []),
  ]);
  for (let i = 0; i < scenario.faults.length; i++) yield { ...scenario, faults: scenario.faults.filter((_, j) => j !== i) };
  for (let i = 0; i < scenario.workload.races.length; i++) {
    yield { ...scenario, workload: { ...scenario.workload, races: scenario.workload.races.filter((_, j) => j !== i) } };
  }
  for (let i = 0; i < scenario.workload.bursts.length; i++) {
    yield { ...scenario, workload: { ...scenario.workload, bursts: scenario.workload.bursts.filter((_, j) => j !== i) } };
  }
  if (scenario.duration > 60_000) yield { ...scenario, duration: Math.floor(scenario.duration / 2), faults: scenario.faults.filter((fault) => ('at' in fault ? fault.at : (fault.to ?? fault.from)) < scenario.duration / 2) };
  const users = scenario.world.users;
  if (!Array.isArray(users) && users.count > 2) {
    const count = Math.max(2, Math.floor(users.count / 2));
    const keeps = [...referenced].every((name) => !/^user-\d+$/.test(name) || Number(name.slice(5)) <= count);
    if (keeps) yield { ...scenario, world: { ...scenario.world, users: { count } } };
  }
  if (Array.isArray(users) && users.length > 2) {
    for (let i = users.length - 1; i >= 0; i--) {
      if (!referenced.has(users[i]?.name ?? '')) yield { ...scenario, world: { ...scenario.world, users: users.filter((_, j) => j !== i) } };
    }
  }
  if (scenario.workload.mailsPerUserPerDay > 1) {
    yield { ...scenario, workload: { ...scenario.workload, mailsPerUserPerDay: Math.floor(scenario.workload.mailsPerUserPerDay / 2) } };
  }
  const misbehaviour = scenario.workload.misbehaviour;
  for (const kind of Object.keys(misbehaviour) as Array<keyof typeof misbehaviour>) {
    if (misbehaviour[kind] > 0) yield { ...scenario, workload: { ...scenario.workload, misbehaviour: { ...misbehaviour, [kind]: 0 } } };
  }
  if (scenario.expect.length > 0) yield { ...scenario, expect: [] };
}

export function shrinkScenario(scenario: Scenario, seed: number, bugs: readonly BugName[], file: string, maxRuns = 200): ShrinkResult | null {
  const run = (candidate: Scenario): RunReport => runScenario(candidate, { seed, file, bugs });
  let best = run(scenario);
  const target = firstViolation(best);
  if (target === undefined) return null;
  let current = scenario;
  let runs = 1;
  let progress = true;
  while (progress && runs < maxRuns) {
    progress = false;
    for (const candidate of candidates(current)) {
      if (runs >= maxRuns) break;
      const report = run(candidate);
      runs += 1;
      if (firstViolation(report) === target) {
        current = candidate;
        best = report;
        progress = true;
        break;
      }
    }
  }
  // The name seeds the random tree, so it stays; the description says what this file is.
  const description = `Shrunk from ${file} at seed ${seed}${bugs.length > 0 ? ` with ${bugs.join(', ')}` : ''}: still breaks ${target}.`;
  return { scenario: { ...current, description, seeds: [seed] }, report: best, runs };
}
