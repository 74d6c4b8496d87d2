// One key source as the simulator sees it: a world of KMEs behind a transport that faults can break.
// Every request goes through the engine's stepper and is judged at once (src/engine/stepper.ts); this
// adds the transport (restarts' downtime, injected failures), the client's key bytes and the trace line.
import { createTransportFaults, failurePending, kmeDown, takeFailure, type EtsiRouteName, type TransportFaults, type TransportRequest } from '../engine/faults.js';
import { createStepper } from '../engine/stepper.js';
import { describeCommand } from '../model/describeCommand.js';
import type { HistoryChecker } from '../model/historyChecker.js';
import { materialsOf } from '../model/keyMaterial.js';
import type { EncKeysCommand } from '../model/encKeys.js';
import { checkEncKeys, type KmeCommand, type StepOutcome } from '../model/kmeCore.js';
import type { KmeEffect } from '../model/poolOps.js';
import type { Violation } from '../model/violation.js';
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
  /** What faults do to the transport in front of this source's KMEs (the engine's one fault state). */
  readonly transport: TransportFaults;
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

const KME_IDS = Array.from({ length: 26 }, (_, index) => `KME_${String.fromCharCode(65 + index)}`);

export function kmeIdOf(index: number): string {
  return KME_IDS[index] ?? `KME_${String.fromCharCode(65 + index)}`;
}

export function createSimKme(index: number, world: World, trace: Trace, hooks: SimKmeHooks, auditEvery: number): SimKme {
  const stepper = createStepper(() => world, { auditEvery });

  // The bytes of the keys each step delivered, derived once for the client.
  const materials = new WeakMap<StepOutcome, Uint8Array[]>();

  let deriveBytes = true;

  const sim: SimKme = {
    index,
    world,
    history: stepper.history,
    transport: createTransportFaults(),
    steps: 0,
    call(kmeIndex, command, nowMs, withBytes = true) {
      const { transport } = sim;
      if (kmeDown(transport, kmeIdOf(kmeIndex), nowMs)) {
        trace.record({ t: nowMs, src: index, k: 'transport.down', kme: kmeIdOf(kmeIndex), cmd: command.type });
        return { injected: true, status: 503 };
      }
      const failure = takeFailure(transport, transportRequest(kmeIndex, command));
      if (failure !== null) {
        trace.record({ t: nowMs, src: index, k: 'transport.fail', status: failure, cmd: command.type });
        return { injected: true, status: failure };
      }
      deriveBytes = withBytes;
      const { outcome, status } = step(command, nowMs);
      deriveBytes = true;
      return { injected: false, status, outcome, materials: materials.get(outcome) ?? [] };
    },
    beginEnc(kmeIndex, command, nowMs, withBytes = true) {
      if (!world.config.bugs.has('check-then-act') || kmeDown(sim.transport, kmeIdOf(kmeIndex), nowMs) || failurePending(sim.transport, transportRequest(kmeIndex, command))) {
        return { kind: 'answered', reply: sim.call(kmeIndex, command, nowMs, withBytes) };
      }
      const checked = checkEncKeys(world, command);
      if (checked === null) return { kind: 'answered', reply: sim.call(kmeIndex, command, nowMs, withBytes) };
      return { kind: 'checked', command, commit: checked.commit };
    },
    finishEnc(pending, nowMs) {
      if (pending.kind === 'answered') return pending.reply;
      deriveBytes = true;
      const { outcome } = step(pending.command, nowMs, () => pending.commit(nowMs));
      return { injected: false, status: 200, outcome, materials: materials.get(outcome) ?? [] };
    },
    run(command, nowMs) {
      return step(command, nowMs).outcome;
    },
    audit() {
      return stepper.audit();
    },
  };

  function step(command: KmeCommand, nowMs: number, execute?: () => StepOutcome): { outcome: StepOutcome; status: number } {
    const { outcome, status, pools, violations } = stepper.step(command, nowMs, execute);
    sim.steps = stepper.steps;
    if (deriveBytes && outcome.result.ok && outcome.result.kind === 'keys') materials.set(outcome, materialsOf(world.config.seed, outcome.result.keys));
    trace.record(describeStep(index, command, outcome, status, nowMs));
    hooks.onEffects(index, outcome.effects, nowMs);
    const changed = pools === undefined ? [] : pools.slice();
    for (const effect of outcome.effects) if (!changed.includes(effect.poolId)) changed.push(effect.poolId);
    for (const id of changed) {
      const pool = world.pools.get(id);
      if (pool !== undefined) hooks.onPoolChanged(index, id, nowMs, availableKeys(pool));
    }
    if (violations.length > 0) hooks.onViolations(violations, nowMs);
    return { outcome, status };
  }
  return sim;
}

const ROUTE_OF: Partial<Record<KmeCommand['type'], EtsiRouteName>> = { 'keys.status': 'status', 'keys.enc': 'enc_keys', 'keys.dec': 'dec_keys' };

/** A client request as the transport's faults see it: its route, its caller and the KME it goes to. */
function transportRequest(kmeIndex: number, command: KmeCommand): TransportRequest {
  return { route: ROUTE_OF[command.type] ?? null, sae: 'callerSaeId' in command ? command.callerSaeId : null, kme: kmeIdOf(kmeIndex) };
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
