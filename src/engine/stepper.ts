// The one step of both drivers, the simulator and the mock KME host: snapshot the pools a command may
// change, run it through the core (or commit an enc_keys checked earlier), and judge it at once with the
// step checker (I2, I6–I12), the history checker (I1–I5, I7, I9) and, every `auditEvery` steps, a full
// audit of the world. Keys are named to the history checker by their material's identity inside the model,
// (label, key ID, size): the bytes are PRF(seed, label, key ID, size), so this names them exactly, costs no
// hashing, and is the same in both drivers. What each driver does with the outcome (answers, effects on
// its own timers, its trace, transport faults) stays with the driver.
import { exchangeOf } from '../model/exchangeOf.js';
import { createHistoryChecker, type HistoryChecker, type ObservedKey } from '../model/historyChecker.js';
import { executeCommand, type KmeCommand, type StepOutcome } from '../model/kmeCore.js';
import { toEtsiError } from '../model/kmeError.js';
import type { Violation } from '../model/violation.js';
import type { World } from '../model/world.js';
import { checkStep, checkWorld, poolsCommandMayChange, snapshotCounts } from '../model/worldInvariants.js';

export interface StepResult {
  readonly outcome: StepOutcome;
  /** The HTTP status the command's answer has (200, or its Error's status). */
  readonly status: number;
  /** The keys it delivered, as the history checker saw them. */
  readonly keys: readonly ObservedKey[];
  /** Pools the command may have changed (undefined: any). */
  readonly pools: readonly string[] | undefined;
  readonly violations: Violation[];
}

export interface Stepper {
  readonly history: HistoryChecker;
  /** Steps judged so far. */
  readonly steps: number;
  /** Runs `command` at `nowMs` (or `execute`, a commit prepared earlier) and judges it. */
  step(command: KmeCommand, nowMs: number, execute?: () => StepOutcome): StepResult;
  /** The full audit of the world (I6, I8, I11, I12). */
  audit(): Violation[];
}

export interface StepperOptions {
  /** A full audit every this many steps; never when absent. */
  readonly auditEvery?: number;
}

/** The keys an outcome delivered, named by their material's identity in the model. */
export function observedKeys(outcome: StepOutcome): ObservedKey[] {
  if (!outcome.result.ok || outcome.result.kind !== 'keys') return [];
  return outcome.result.keys.map((key) => ({ keyId: key.keyId, materialHash: `${key.materialLabel}|${key.keyId}|${key.sizeBits}`, sizeBits: key.sizeBits }));
}

export function createStepper(world: () => World, options: StepperOptions = {}): Stepper {
  const history = createHistoryChecker({
    keyTtlMs: world().config.profile.keyTtlMs,
    consumeOnDecrypt: world().config.profile.consumeOnDecrypt,
    materialNamesKeyId: true,
    repeatGraceMs: world().config.profile.retry === 'idempotent' ? world().config.profile.retryGraceMs : 0,
  });
  let steps = 0;
  let exchangeId = 0;
  return {
    history,
    get steps() {
      return steps;
    },
    step(command, nowMs, execute) {
      const current = world();
      const { profile } = current.config;
      const pools = poolsCommandMayChange(current, command);
      const before = snapshotCounts(current, pools);
      const outcome = execute === undefined ? executeCommand(current, command, nowMs) : execute();
      steps += 1;
      const status = outcome.result.ok ? 200 : toEtsiError(outcome.result.error, profile).status;
      const keys = observedKeys(outcome);
      const violations = checkStep(current, before, command, outcome, nowMs);
      exchangeId += 1;
      const exchange = exchangeOf(command, { id: exchangeId, atMs: nowMs, status, keys, defaultKeySizeBits: profile.keySizeBits }, current);
      if (exchange !== null) violations.push(...history.observe(exchange));
      if (options.auditEvery !== undefined && steps % options.auditEvery === 0) violations.push(...checkWorld(current));
      return { outcome, status, keys, pools, violations };
    },
    audit() {
      return checkWorld(world());
    },
  };
}
