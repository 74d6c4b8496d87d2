// What one run of one scenario at one seed produced: the verdict, the evidence, and the series the
// report charts are drawn from. Serialised as-is into reports/*.json (see docs/report-schema.md).
import type { Violation } from '../model/violation.js';

export interface ExpectationResult {
  readonly description: string;
  readonly passed: boolean;
  readonly detail: string;
}

export interface PoolSeries {
  readonly poolId: string;
  /** The slave's display name (the pool belongs to the receiver). */
  readonly label: string;
  readonly capacity: number;
  readonly lowThreshold: number;
  readonly emergencyThreshold: number;
  /** [virtual ms, stored keys] samples, in time order. */
  readonly points: ReadonlyArray<readonly [number, number]>;
}

export interface TimelineEvent {
  readonly atMs: number;
  readonly kind: 'sync.completed' | 'sync.failed' | 'outage.start' | 'outage.end' | 'kme.restart' | 'race' | 'burst' | 'fault' | 'violation';
  readonly label: string;
}

export interface DeliveryBucket {
  readonly atMs: number;
  readonly sent: number;
  readonly decrypted: number;
  readonly encRefused: number;
  readonly decRefused: number;
}

export interface MachineCoverageReport {
  readonly machine: 'key' | 'pool';
  readonly states: readonly string[];
  readonly statesVisited: readonly string[];
  readonly transitions: ReadonlyArray<{ readonly from: string; readonly event: string; readonly to: string; readonly count: number }>;
  /** Declared transitions never taken in this run. */
  readonly transitionsMissed: ReadonlyArray<{ readonly from: string; readonly event: string; readonly to: string }>;
}

export interface PhaseResult {
  readonly violations: readonly Violation[];
  readonly steps: number;
}

export interface RunStats {
  readonly users: number;
  readonly messagesSent: number;
  readonly messagesDecrypted: number;
  readonly messagesPending: number;
  readonly encRefused: Readonly<Record<string, number>>;
  readonly decRefused: Readonly<Record<string, number>>;
  readonly syncsRequested: number;
  readonly syncsCompleted: number;
  readonly syncsFailed: number;
  readonly keysDelivered: number;
  readonly keysExpired: number;
  /** Longest time from sending a message to decrypting it. */
  readonly maxDeliveryMs: number;
  /** Messages written by the users (sent or not). */
  readonly messagesWritten: number;
  /** For each threshold, the messages that waited at least that long for their keys (never sent: longer than all). */
  readonly keyWaits: ReadonlyArray<{ readonly overMs: number; readonly messages: number }>;
  /** Users at least one of whose pools ran empty (level exhausted) while the workload ran (the safety phase). */
  readonly usersExhausted: number;
  /** Messages that could not go out at their first attempt (too few keys, or a refusal or fault) and were queued again. */
  readonly messagesDeferred: number;
  /** With a key supply: what the links produced, what pools drew, and what the stores held at the end, in bits. */
  readonly supply?: SupplyStats;
}

export interface SupplyStats {
  readonly producedBits: number;
  readonly drawnBits: number;
  readonly heldBits: number;
}

/**
 * A failing run made as small as it can be while it still fails the same way (src/sim/shrinkScenario.ts):
 * its scenario, where it was written, the violation it shows, and the events of its trace that tell it.
 */
export interface ShrunkRun {
  /** Where the shrunk scenario was written (beside the reports). */
  readonly file: string;
  readonly scenarioYaml: string;
  /** Runs the shrinker played. */
  readonly shrinkRuns: number;
  readonly messages: number;
  readonly faults: number;
  /** The shrunk run's own first violation. */
  readonly violation: Violation | null;
  /** Its trace lines that name the violation's key (or its last ones), set-up left out. */
  readonly events: readonly string[];
  readonly repro: string;
}

/** How fast the run went: wall time against the work done and the virtual time covered. */
export interface RunSpeed {
  /** KME steps judged: every request, sync, expiry and restart run through the engine's stepper. */
  readonly kmeSteps: number;
  readonly stepsPerSecond: number;
  /** Virtual ms per wall ms (rounded): 60,000 means a simulated minute took a real millisecond. */
  readonly simToReal: number;
}

export interface RunReport {
  readonly scenario: string;
  readonly file: string;
  readonly seed: number;
  readonly bugs: readonly string[];
  readonly passed: boolean;
  /** SHA-256 of the JSONL trace: the same seed and build always give the same fingerprint (I14). */
  readonly fingerprint: string;
  readonly virtualMs: number;
  readonly wallMs: number;
  readonly speed: RunSpeed;
  /** Every option derived from the seed, as printed at the start of the run. */
  readonly derived: Readonly<Record<string, unknown>>;
  readonly safety: PhaseResult;
  readonly liveness: PhaseResult;
  readonly expectations: readonly ExpectationResult[];
  readonly stats: RunStats;
  readonly series: {
    readonly pools: readonly PoolSeries[];
    /** Each link's key store in whole keys (capacity: the store's size), when the scenario has a supply. */
    readonly stores: readonly PoolSeries[];
    readonly deliveries: readonly DeliveryBucket[];
    readonly events: readonly TimelineEvent[];
  };
  readonly coverage: readonly MachineCoverageReport[];
  /** The command that reproduces this run. */
  readonly repro: string;
  /** A failing run, shrunk (absent when it passed, could not be shrunk, or --no-shrink said not to). */
  readonly shrunk?: ShrunkRun;
}
