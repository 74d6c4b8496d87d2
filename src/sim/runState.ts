// What one run holds while it plays: the scenario and what was derived from its seed, the key sources, the
// queue of events, virtual time, the phase and the verdict so far, and the counts the report is made from.
// It is made once per run by runScenario and handed to each module that plays a part of the run (agenda,
// mail, syncs, faults, liveness, tallies); they read and change the run through this one object.
import { EventQueue } from '../engine/eventQueue.js';
import type { Profile } from '../model/profiles.js';
import type { Violation } from '../model/violation.js';
import type { SimEvent } from './agenda.js';
import type { RunTally } from './expectations.js';
import type { Message } from './mailMessage.js';
import type { Rng } from './rng.js';
import { createTally } from './runTallies.js';
import type { Scenario } from './scenarioSchema.js';
import { createSeriesRecorder, type SeriesRecorder } from './seriesRecorder.js';
import type { SimKme } from './simKme.js';
import type { SimUser } from './simUsers.js';
import type { LinkProduction } from './supplyChanges.js';
import type { Trace } from './trace.js';

export type RunPhase = 'safety' | 'liveness';

export interface RunState {
  readonly scenario: Scenario;
  /** `<scenario name>:<seed>`: what message texts and corrupted key IDs derive from. */
  readonly runSeed: string;
  readonly profile: Profile;
  readonly users: readonly SimUser[];
  readonly userOfSae: ReadonlyMap<string, SimUser>;
  readonly chooseRecipient: (sender: SimUser) => SimUser;
  readonly kmeIds: readonly string[];
  /** One world of KMEs per key source; set once they are made, before the first step. */
  sims: readonly SimKme[];
  readonly trace: Trace;
  readonly series: SeriesRecorder;
  readonly queue: EventQueue<SimEvent>;
  readonly tally: RunTally;
  /** When the safety phase ends: faults heal, no new mail. */
  readonly endOfSafety: number;
  /** When the liveness bound has passed and the run ends. */
  readonly endOfRun: number;
  readonly misbehaviour: Scenario['workload']['misbehaviour'];
  readonly mailRng: Rng;
  readonly sampleRng: Rng;
  /** The run's seeded tree, for modules that fork their own streams. */
  readonly rng: Rng;
  /** Each link's production now, when the scenario makes it fluctuate or fail (supplyChanges.ts). */
  readonly production: Map<string, LinkProduction>;
  readonly badRng: Rng;
  phase: RunPhase;
  /** Set by the first violation: the run stops there. */
  stopped: boolean;
  nowMs: number;
  steps: number;
  readonly safety: Violation[];
  readonly liveness: Violation[];
  nextMessageId: number;
  /** Messages created and not yet decrypted by every reader (or lost). */
  readonly inFlight: Set<Message>;
  /** A message's text, kept only while the message is in flight. */
  readonly texts: Map<Message, Uint8Array>;
  /** When each pool last fell below its low threshold (I16 gives it the liveness bound to recover). */
  readonly belowSince: Map<string, number>;
}

export interface RunStateInit {
  readonly scenario: Scenario;
  readonly runSeed: string;
  readonly rng: Rng;
  readonly profile: Profile;
  readonly users: readonly SimUser[];
  readonly chooseRecipient: (sender: SimUser) => SimUser;
  readonly kmeIds: readonly string[];
  readonly trace: Trace;
}

export function createRunState(init: RunStateInit): RunState {
  const { scenario, rng, users } = init;
  const endOfRun = scenario.duration + scenario.liveness.bound;
  return {
    scenario,
    runSeed: init.runSeed,
    profile: init.profile,
    users,
    userOfSae: new Map(users.map((user) => [user.saeId, user])),
    chooseRecipient: init.chooseRecipient,
    kmeIds: init.kmeIds,
    sims: [],
    trace: init.trace,
    series: createSeriesRecorder(endOfRun),
    queue: new EventQueue<SimEvent>(),
    tally: createTally(),
    endOfSafety: scenario.duration,
    endOfRun,
    misbehaviour: scenario.workload.misbehaviour,
    mailRng: rng.fork('mail'),
    sampleRng: rng.fork('otp-sample'),
    rng,
    production: new Map(),
    badRng: rng.fork('misbehaviour'),
    phase: 'safety',
    stopped: false,
    nowMs: 0,
    steps: 0,
    safety: [],
    liveness: [],
    nextMessageId: 1,
    inFlight: new Set(),
    texts: new Map(),
    belowSince: new Map(),
  };
}

/** Files violations under the current phase, traces them, and stops the run. */
export function recordViolations(state: RunState, violations: readonly Violation[]): void {
  (state.phase === 'safety' ? state.safety : state.liveness).push(...violations);
  // The charts mark where the run broke (and, as it stops here, end there).
  state.series.event(state.nowMs, 'violation', [...new Set(violations.map((v) => v.invariant))].join(', '));
  state.trace.record({ t: state.nowMs, k: 'violation', phase: state.phase, found: violations.map((v) => ({ invariant: v.invariant, message: v.message })) });
  state.stopped = true;
}
