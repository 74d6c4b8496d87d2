// One key source as the simulator sees it: a world of KMEs behind a transport that faults can break.
// Every request goes through the core and is judged at once: the step checker (I2, I6–I12), the history
// checker (I1–I5, I7, I9) and, every `auditEvery` steps, a full audit of the world.
import { describeCommand } from '../model/describeCommand.js';
import { exchangeOf } from '../model/exchangeOf.js';
import { createHistoryChecker, type Exchange, type HistoryChecker } from '../model/historyChecker.js';
import { materialOf } from '../model/keyMaterial.js';
import type { EncKeysCommand } from '../model/encKeys.js';
import { checkEncKeys, executeCommand, type KmeCommand, type StepOutcome } from '../model/kmeCore.js';
import { toEtsiError } from '../model/kmeError.js';
import type { KmeEffect } from '../model/poolOps.js';
import type { Violation } from '../model/violation.js';
import { checkStep, checkWorld, poolsCommandMayChange, snapshotCounts } from '../model/worldInvariants.js';
import { availableKeys, type World } from '../model/world.js';
import type { Trace } from './trace.js';

/** What a client sees: the KME's answer, or a transport failure injected by a fault. */
export type SimReply =
  | { readonly injected: false; readonly status: number; readonly outcome: StepOutcome; readonly materials: readonly Uint8Array[] }
  | { readonly injected: true; readonly status: number };

/** An enc_keys request in flight: sent, not yet answered. */
export type PendingEnc =
  | { readonly kind: 'answered'; readonly reply: SimReply }
  | { readonly kind: 'checked'; readonly command: EncKeysCommand; readonly commit: (nowMs: number) => StepOutcome };

export interface SimKmeHooks {
  readonly onEffects: (source: number, effects: readonly KmeEffect[], nowMs: number) => void;
  readonly onViolations: (violations: readonly Violation[], nowMs: number) => void;
  readonly onPoolChanged: (source: number, poolId: string, nowMs: number, level: number) => void;
}

export interface SimKme {
  readonly index: number;
  readonly world: World;
  readonly history: HistoryChecker;
  /** KME indices that are down (restarting) until the given time. */
  readonly downUntil: Map<number, number>;
  failNext: { count: number; status: number };
  steps: number;
  /** withBytes false: the client will not use the key bytes, so none are derived (sampled scale runs). */
  call(kmeIndex: number, command: KmeCommand, nowMs: number, withBytes?: boolean): SimReply;
  /**
   * Sends enc_keys without waiting for the answer, so that requests of one instant overlap. A KME answers
   * at once; only the check-then-act bug checks now and reserves when finishEnc collects the answer.
   */
  beginEnc(kmeIndex: number, command: EncKeysCommand, nowMs: number, withBytes?: boolean): PendingEnc;
  finishEnc(pending: PendingEnc, nowMs: number): SimReply;
  /** Commands that are not client requests (syncs, remote state, restarts): never faulted. */
  run(command: KmeCommand, nowMs: number): StepOutcome;
  audit(): Violation[];
}

export function kmeIdOf(index: number): string {
  return `KME_${String.fromCharCode(65 + index)}`;
}

export function createSimKme(index: number, world: World, trace: Trace, hooks: SimKmeHooks, auditEvery: number): SimKme {
  const { profile } = world.config;
  const history = createHistoryChecker({ keyTtlMs: profile.keyTtlMs, consumeOnDecrypt: profile.consumeOnDecrypt });
  let exchangeId = 0;

  // The bytes of the keys each step delivered, derived once and shared by the checker and the client.
  const materials = new WeakMap<StepOutcome, Uint8Array[]>();

  let deriveBytes = true;

  function observe(command: KmeCommand, outcome: StepOutcome, status: number, nowMs: number): Exchange | null {
    const delivered = outcome.result.ok && outcome.result.kind === 'keys' ? outcome.result.keys : [];
    const bytesList = deriveBytes ? delivered.map((key) => materialOf(world.config.seed, key)) : [];
    materials.set(outcome, bytesList);
    // Inside the model a key's bytes are PRF(seed, label, key ID, size), so that tuple names the material
    // exactly and saves hashing every key; the bytes themselves are checked when each message is opened (I15).
    const keys = delivered.map((key, i) => ({
      keyId: key.keyId,
      materialHash: `${key.materialLabel}|${key.keyId}|${key.sizeBits}`,
      sizeBits: bytesList[i] === undefined ? key.sizeBits : (bytesList[i] as Uint8Array).length * 8,
    }));
    exchangeId += 1;
    return exchangeOf(command, { id: exchangeId, atMs: nowMs, status, keys, defaultKeySizeBits: profile.keySizeBits }, world);
  }

  const sim: SimKme = {
    index,
    world,
    history,
    downUntil: new Map(),
    failNext: { count: 0, status: 503 },
    steps: 0,
    call(kmeIndex, command, nowMs, withBytes = true) {
      const down = sim.downUntil.get(kmeIndex);
      if (down !== undefined && nowMs < down) {
        trace.record({ t: nowMs, src: index, k: 'transport.down', kme: kmeIdOf(kmeIndex), cmd: command.type });
        return { injected: true, status: 503 };
      }
      if (sim.failNext.count > 0) {
        sim.failNext.count -= 1;
        trace.record({ t: nowMs, src: index, k: 'transport.fail', status: sim.failNext.status, cmd: command.type });
        return { injected: true, status: sim.failNext.status };
      }
      deriveBytes = withBytes;
      const outcome = sim.run(command, nowMs);
      deriveBytes = true;
      const status = outcome.result.ok ? 200 : toEtsiError(outcome.result.error, profile).status;
      return { injected: false, status, outcome, materials: materials.get(outcome) ?? [] };
    },
    beginEnc(kmeIndex, command, nowMs, withBytes = true) {
      if (!world.config.bugs.has('check-then-act') || sim.downUntil.has(kmeIndex) || sim.failNext.count > 0) {
        return { kind: 'answered', reply: sim.call(kmeIndex, command, nowMs, withBytes) };
      }
      const checked = checkEncKeys(world, command);
      if (checked === null) return { kind: 'answered', reply: sim.call(kmeIndex, command, nowMs, withBytes) };
      return { kind: 'checked', command, commit: checked.commit };
    },
    finishEnc(pending, nowMs) {
      if (pending.kind === 'answered') return pending.reply;
      deriveBytes = true;
      const outcome = step(pending.command, nowMs, () => pending.commit(nowMs));
      return { injected: false, status: 200, outcome, materials: materials.get(outcome) ?? [] };
    },
    run(command, nowMs) {
      return step(command, nowMs, () => executeCommand(world, command, nowMs));
    },
    audit() {
      return checkWorld(world);
    },
  };

  function step(command: KmeCommand, nowMs: number, execute: () => StepOutcome): StepOutcome {
      const pools = poolsCommandMayChange(world, command);
      const before = snapshotCounts(world, pools);
      const outcome = execute();
      sim.steps += 1;
      const status = outcome.result.ok ? 200 : toEtsiError(outcome.result.error, profile).status;
      trace.record(describeStep(index, command, outcome, status, nowMs));
      hooks.onEffects(index, outcome.effects, nowMs);
      const violations = checkStep(world, before, command, outcome, nowMs);
      const exchange = observe(command, outcome, status, nowMs);
      if (exchange !== null) violations.push(...history.observe(exchange));
      if (sim.steps % auditEvery === 0) violations.push(...checkWorld(world));
      const changed = pools === undefined ? [] : pools.slice();
      for (const effect of outcome.effects) if (!changed.includes(effect.poolId)) changed.push(effect.poolId);
      for (const id of changed) {
        const pool = world.pools.get(id);
        if (pool !== undefined) hooks.onPoolChanged(index, id, nowMs, availableKeys(pool));
      }
      if (violations.length > 0) hooks.onViolations(violations, nowMs);
      return outcome;
  }
  return sim;
}

function describeStep(source: number, command: KmeCommand, outcome: StepOutcome, status: number, nowMs: number): Record<string, unknown> {
  const { result } = outcome;
  const line: Record<string, unknown> = { t: nowMs, src: source, k: command.type, ...describeCommand(command) };
  line['status'] = status;
  if (!result.ok) line['error'] = result.error.kind;
  else if (result.kind === 'keys') line['keys'] = result.keys.map((key) => key.keyId);
  else if (result.kind === 'status') line['stored'] = result.status.stored_key_count;
  if (outcome.effects.length > 0) line['effects'] = outcome.effects;
  return line;
}
