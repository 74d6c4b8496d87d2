// The report of a finished run: the verdict (safety, liveness, expectations), the fingerprint of its
// trace, the counts, the series for the charts, the machines' coverage and the command that repeats it.
import { KEY_WAIT_EDGES_MS } from './expectations.js';
import type { BugName } from '../model/bugs.js';
import { reportCoverage } from './coverageReport.js';
import { evaluateExpectations } from './expectations.js';
import { levelAt } from '../model/keySupply.js';
import type { RunReport, SupplyStats } from './runReport.js';
import type { RunState } from './runState.js';
import { countUndelivered } from './runTallies.js';

export interface RunIdentity {
  readonly file: string;
  readonly seed: number;
  readonly bugs: readonly BugName[];
  readonly derived: Readonly<Record<string, unknown>>;
  /** The caller's wall clock, and its reading when the run began, for the run's wall time. */
  readonly wallStart: number;
  readonly wallClock: () => number;
}

export function assembleReport(state: RunState, run: RunIdentity): RunReport {
  const { scenario, tally, safety, liveness, sims } = state;
  tally.undelivered = countUndelivered(state);
  const expectations = evaluateExpectations(scenario, tally, state.stopped && safety.length > 0);
  const fingerprint = state.trace.fingerprint();
  const passed = safety.length === 0 && liveness.length === 0 && expectations.every((result) => result.passed);
  const bugFlags = run.bugs.filter((bug) => !scenario.bugs.includes(bug)).map((bug) => ` --bug ${bug}`).join('');
  const finished = state.series.finish(state.nowMs);
  const wallMs = Math.round(run.wallClock() - run.wallStart);
  const kmeSteps = sims.reduce((total, sim) => total + sim.steps, 0);
  return {
    scenario: scenario.name,
    file: run.file,
    seed: run.seed,
    bugs: run.bugs,
    passed,
    fingerprint,
    virtualMs: state.nowMs,
    wallMs,
    speed: { kmeSteps, stepsPerSecond: Math.round((kmeSteps * 1_000) / Math.max(1, wallMs)), simToReal: Math.round(state.nowMs / Math.max(1, wallMs)) },
    derived: run.derived,
    safety: { violations: safety, steps: state.steps },
    liveness: { violations: liveness, steps: 0 },
    expectations,
    stats: {
      users: state.users.length,
      messagesSent: tally.messagesSent,
      messagesDecrypted: tally.messagesDecrypted,
      messagesPending: tally.undelivered,
      encRefused: tally.encRefused,
      decRefused: tally.decRefused,
      syncsRequested: tally.syncsRequested,
      syncsCompleted: tally.syncsCompleted,
      syncsFailed: tally.syncsFailed,
      keysDelivered: tally.keysDelivered,
      keysExpired: tally.keysExpired,
      maxDeliveryMs: tally.maxDeliveryMs,
      messagesWritten: state.nextMessageId - 1,
      // A message never sent waited longer than every threshold.
      usersExhausted: tally.exhaustedUsers.size,
      messagesDeferred: tally.messagesDeferred,
      ...supplyStats(state),
      keyWaits: KEY_WAIT_EDGES_MS.map((overMs, i) => ({ overMs, messages: (tally.keyWaitOver[i] ?? 0) + (state.nextMessageId - 1 - tally.messagesSent) })),
    },
    series: finished,
    coverage: reportCoverage(sims.map((sim) => sim.world.coverage)),
    repro: `npx kmesim run ${run.file} --seed ${run.seed}${bugFlags}`,
  };
}

/** What the links' stores made, gave and held over the run, summed over every link and key source (absent without a supply). */
function supplyStats(state: RunState): { supply?: SupplyStats } {
  const totals = { producedBits: 0, drawnBits: 0, heldBits: 0 };
  let any = false;
  for (const sim of state.sims) {
    for (const link of sim.world.links.values()) {
      if (link.supply === null) continue;
      // The store as of the run's end, read without changing it: what the link made since its last change counts too.
      const held = levelAt(link.supply, state.nowMs, link.remote === 'online');
      totals.producedBits += link.supply.producedBits + (held - link.supply.levelBits);
      totals.drawnBits += link.supply.drawnBits;
      totals.heldBits += held;
      any = true;
    }
  }
  return any ? { supply: totals } : {};
}
