// Plays one scenario at one seed in virtual time: users send mail (status → enc_keys from the receiver's
// pool → transmit → dec_keys by the receiver → decrypt and compare), the remote key manager answers
// syncs, faults come and go. Safety phase first (faults on, invariants at every step; the first violation
// stops the run), then liveness (faults healed, no new mail, pending work must finish within the bound).
//
// This module sets the run up and plays its events; each kind of event is handled where its concept
// lives: agenda.ts (the events, and what is queued at time 0), mailSend.ts and mailRead.ts (the mail
// flow), syncs.ts, faults.ts, liveness.ts, runTallies.ts (counts and series) and runResult.ts (the
// report). They share the run's state through one RunState (runState.ts).
import { describeSupply, supplyRateOf, supplySpecOf } from './supply.js';
import { changeProduction, seedSupplyChanges } from './supplyChanges.js';
import type { BugName } from '../model/bugs.js';
import type { KmeCommand } from '../model/kmeCore.js';
import { buildProfile } from './scenarioProfile.js';
import { createWorld } from '../model/world.js';
import { formatDuration } from '../engine/duration.js';
import { seedAgenda } from './agenda.js';
import { endFault, startFault } from './faults.js';
import { finishLiveness, startLiveness } from './liveness.js';
import { eavesdrop, readMail, rereadMessage } from './mailRead.js';
import { sendDueMails, sendNextMail } from './mailSend.js';
import { createRng } from './rng.js';
import type { RunReport } from './runReport.js';
import { assembleReport } from './runResult.js';
import { createRunState, recordViolations, type RunState } from './runState.js';
import { createPoolWatcher, sampleStores, trackPools, trackStores } from './runTallies.js';
import type { Scenario } from './scenarioSchema.js';
import { createSimKme, kmeIdOf, type SimKme, type SimKmeHooks } from './simKme.js';
import { createRecipientChooser, createUsers } from './simUsers.js';
import { onKmeEffects, runScheduledSync, runSyncTimer } from './syncs.js';
import { contentHash, createTrace } from './trace.js';

export interface RunOptions {
  readonly seed: number;
  /** Where the scenario was read from, for the report and its repro line; never in the trace. */
  readonly file: string;
  /** Bug switches on top of the scenario's own. */
  readonly bugs?: readonly BugName[];
  /** Receives each trace line (JSONL) as it is written. */
  readonly traceSink?: (line: string) => void;
  /** Called once, before the run, with every option derived from the seed. */
  readonly onDerived?: (derived: Readonly<Record<string, unknown>>) => void;
  /**
   * The caller's wall clock in milliseconds, for the report's wall time (the simulator reads no clock of
   * its own); without one the report's wall time is 0.
   */
  readonly wallClock?: () => number;
  /**
   * Called every PROGRESS_EVERY events with the virtual time reached, the run's end in virtual time and
   * the events played so far, for a progress display; it cannot change the run.
   */
  readonly onProgress?: (progress: RunProgress) => void;
}

export interface RunProgress {
  readonly virtualMs: number;
  readonly endMs: number;
  readonly events: number;
}

/** Events between two progress calls: rare enough to cost nothing, often enough to move a bar. */
const PROGRESS_EVERY = 1 << 15;

export function runScenario(scenario: Scenario, options: RunOptions): RunReport {
  const wallClock = options.wallClock ?? ((): number => 0);
  const wallStart = wallClock();
  const runSeed = `${scenario.name}:${options.seed}`;
  const rng = createRng(runSeed);
  const profile = buildProfile(scenario);
  const bugs = [...new Set([...scenario.bugs, ...(options.bugs ?? [])])].sort() as BugName[];
  const users = createUsers(scenario, rng.fork('users'));
  const chooseRecipient = createRecipientChooser(scenario, users, rng.fork('recipients'));
  const kmeIds = Array.from({ length: scenario.world.kmes }, (_, i) => kmeIdOf(i));
  const auditEvery = scenario.auditEvery ?? (users.length <= 50 ? 1 : 5_000);
  const derived = {
    scenario: scenario.name,
    seed: options.seed,
    profile: profile.name,
    bugs,
    users: users.length,
    kmes: kmeIds,
    sources: scenario.world.sources,
    keySizeBits: profile.keySizeBits,
    poolCapacity: profile.poolCapacity,
    thresholds: `${profile.lowThresholdPct}% / ${profile.emergencyThresholdPct}%`,
    keyTtl: formatDuration(profile.keyTtlMs),
    safety: formatDuration(scenario.duration),
    livenessBound: formatDuration(scenario.liveness.bound),
    auditEvery,
    ...(scenario.world.supply === undefined ? {} : { supplyBitsPerSecond: supplyRateOf(scenario.world.supply), supply: describeSupply(scenario, profile) }),
    firstUsers: users.slice(0, 3).map((user) => `${user.name} ${user.displayName} <${user.email}> ${user.saeId}@${kmeIds[user.kmeIndex]}`),
  };
  options.onDerived?.(derived);

  const trace = createTrace(options.traceSink);
  // The first line carries everything a replay needs: the scenario itself, the seed, the bug switches.
  // It names the scenario by its name and content hash, not by its file's path, so the same scenario
  // gives the same fingerprint however its path is spelled and wherever a copy of it lies.
  // The faker-made names and addresses of `firstUsers` stay out of the trace (as they stay out of the
  // registrations below): they change nothing in the run, and a new faker release may reword them.
  const { firstUsers: _firstUsers, ...tracedDerived } = derived;
  trace.record({ t: 0, k: 'run.start', scenario: scenario.name, scenarioHash: contentHash(scenario), seed: options.seed, bugs, definition: scenario, derived: tracedDerived });

  const state = createRunState({ scenario, runSeed, rng, profile, users, chooseRecipient, kmeIds, trace });
  state.sims = createSources(state, bugs, auditEvery);
  registerUsers(state);
  seedAgenda(state);
  seedSupplyChanges(state);
  play(state, options.onProgress);
  finishLiveness(state);
  // The buckets after the last event: the stores went on filling (or not) as they were.
  if (scenario.world.supply !== undefined) for (const atMs of state.series.bucketsEntered(state.nowMs)) sampleStores(state, undefined, atMs);
  return assembleReport(state, { file: options.file, seed: options.seed, bugs, derived, wallStart, wallClock });
}

/** One world of KMEs per key source, each seeded apart, wired to the run's hooks. */
function createSources(state: RunState, bugs: readonly BugName[], auditEvery: number): SimKme[] {
  const { scenario, profile, kmeIds, trace } = state;
  const hooks: SimKmeHooks = {
    onEffects: (source, effects, at) => onKmeEffects(state, source, effects, at),
    onViolations: (violations) => recordViolations(state, violations),
    onPoolChanged: createPoolWatcher(state),
  };
  return Array.from({ length: scenario.world.sources }, (_, source) => {
    const supply = supplySpecOf(scenario, profile);
    const world = createWorld({ seed: `${state.runSeed}/source-${source}`, profile, kmeIds, bugs: new Set(bugs), ...(supply === undefined ? {} : { supply }) });
    return createSimKme(source, world, trace, hooks, auditEvery);
  });
}

/**
 * The world at time 0: every user registered, pools full, each pool's series started. A user is registered
 * under its scenario name (as listed, or `user-N`), with an address only when the scenario lists it:
 * faker's output is not traced.
 */
function registerUsers(state: RunState): void {
  const { scenario, users, kmeIds } = state;
  const listedUsers = Array.isArray(scenario.world.users);
  for (const sim of state.sims) {
    for (const user of users) {
      const registration: KmeCommand = {
        type: 'sae.register',
        saeId: user.saeId,
        kmeId: kmeIds[user.kmeIndex] as string,
        name: user.name,
        ...(listedUsers ? { email: user.email } : {}),
        ...(scenario.world.pool.initialKeys === undefined ? {} : { initialKeys: scenario.world.pool.initialKeys }),
      };
      sim.run(registration, 0);
    }
    trackPools(state, sim);
    trackStores(state, sim);
  }
}

/** Plays the agenda until it is empty, the run's end has passed, or a violation stopped the run. */
function play(state: RunState, onProgress?: (progress: RunProgress) => void): void {
  const { queue, endOfRun } = state;
  // A store fills by itself between draws: its series is sampled at the start of every chart bucket, the
  // buckets no event fell in included (nothing changed the store between events, so its level there is exact).
  const sampling = state.scenario.world.supply !== undefined;
  while (!state.stopped) {
    const next = queue.pop();
    if (next === undefined || next.atMs > endOfRun) break;
    state.nowMs = next.atMs;
    state.steps += 1;
    if (sampling) for (const atMs of state.series.bucketsEntered(state.nowMs)) sampleStores(state, undefined, atMs);
    if (onProgress !== undefined && state.steps % PROGRESS_EVERY === 0) onProgress({ virtualMs: state.nowMs, endMs: endOfRun, events: state.steps });
    const event = next.event;
    switch (event.type) {
      case 'mail.next':
        sendNextMail(state, event.user);
        break;
      case 'mail.send':
        sendDueMails(state, event.message);
        break;
      case 'mail.read':
        readMail(state, event.message, event.reader, event.attempt);
        break;
      case 'mail.reread':
        rereadMessage(state, event.message, event.reader, event.otherEnd);
        break;
      case 'mail.eavesdrop':
        eavesdrop(state, event.message, event.eavesdropper);
        break;
      case 'sync.answer':
      case 'sync.retry':
        runSyncTimer(state, event);
        break;
      case 'sync.scheduled':
        runScheduledSync(state);
        break;
      case 'fault.start':
        startFault(state, event);
        break;
      case 'fault.end':
        endFault(state, event);
        break;
      case 'supply.fluctuate':
      case 'supply.outage':
        changeProduction(state, event);
        break;
      case 'phase.liveness':
        startLiveness(state);
        break;
    }
  }
}
