// Runs commands through the KME core and judges every step with all the model's checkers: the
// observational history checker (I1–I5, I7, I9), the step checker (I2, I6–I12) and a full world audit.
// The first violation throws an InvariantError whose message starts with the invariant ID.
import {
  checkStep,
  checkWorld,
  createHistoryChecker,
  executeCommand,
  hashKeyBytes,
  materialOf,
  snapshotCounts,
  toEtsiError,
  type Exchange,
  type HistoryChecker,
  type KmeCommand,
  type KmeEffect,
  type StepOutcome,
  type Violation,
  type World,
} from '../../src/index.js';
import { exchangeOf } from '../../src/model/exchangeOf.js';

export class InvariantError extends Error {
  constructor(readonly violation: Violation) {
    super(`${violation.invariant} ${violation.message}`);
  }
}

export interface CheckedWorld {
  readonly world: World;
  readonly history: HistoryChecker;
  /** Sync requests the remote has not answered yet, oldest first. */
  readonly pendingSyncs: Array<{ poolId: string; attempt: number; keyCount: number }>;
  readonly pendingRetries: Array<{ poolId: string; attempt: number; atMs: number }>;
  nowMs: number;
  exchanges: number;
}

export function createCheckedWorld(world: World): CheckedWorld {
  const { profile } = world.config;
  return {
    world,
    history: createHistoryChecker({ keyTtlMs: profile.keyTtlMs, consumeOnDecrypt: profile.consumeOnDecrypt }),
    pendingSyncs: [],
    pendingRetries: [],
    nowMs: world.nowMs,
    exchanges: 0,
  };
}

function raise(violations: readonly Violation[]): void {
  const first = violations[0];
  if (first !== undefined) throw new InvariantError(first);
}

function statusCode(checked: CheckedWorld, outcome: StepOutcome): number {
  return outcome.result.ok ? 200 : toEtsiError(outcome.result.error, checked.world.config.profile).status;
}

function toExchange(checked: CheckedWorld, command: KmeCommand, outcome: StepOutcome): Exchange | null {
  const { world } = checked;
  const id = ++checked.exchanges;
  const keys =
    outcome.result.ok && outcome.result.kind === 'keys'
      ? outcome.result.keys.map((key) => {
          const bytes = materialOf(world.config.seed, key);
          return { keyId: key.keyId, materialHash: hashKeyBytes(bytes), sizeBits: bytes.length * 8 };
        })
      : [];
  const status = statusCode(checked, outcome);
  return exchangeOf(command, { id, atMs: checked.nowMs, status, keys, defaultKeySizeBits: world.config.profile.keySizeBits }, world);
}

function remember(checked: CheckedWorld, effects: readonly KmeEffect[]): void {
  for (const effect of effects) {
    if (effect.type === 'sync.requested') {
      checked.pendingSyncs.push({ poolId: effect.poolId, attempt: effect.attempt, keyCount: effect.keyCount });
    } else if (effect.type === 'sync.retryScheduled') {
      checked.pendingRetries.push({ poolId: effect.poolId, attempt: effect.attempt, atMs: effect.atMs });
    }
  }
}

/** Executes one command at the checked world's current time; throws on the first broken invariant. */
export function runChecked(checked: CheckedWorld, command: KmeCommand): StepOutcome {
  const before = snapshotCounts(checked.world);
  const outcome = executeCommand(checked.world, command, checked.nowMs);
  remember(checked, outcome.effects);
  raise(checkStep(checked.world, before, command, outcome, checked.nowMs));
  const exchange = toExchange(checked, command, outcome);
  if (exchange !== null) raise(checked.history.observe(exchange));
  raise(checkWorld(checked.world));
  return outcome;
}
