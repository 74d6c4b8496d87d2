// The KME host: the world behind every KME a server process exposes, driven by a clock. It runs each
// request through the core, answers the core's sync requests on a timer (the remote key manager lives in
// process), applies faults, keeps a bounded trace, judges the live invariants, and journals every change
// when a store is attached.
import { applyFaultEdge, createTransportFaults, faultEdges, healFaults as healTransport, remoteOnline, type Fault, type FaultEdge, type TransportFaults } from '../engine/faults.js';
import { createStepper } from '../engine/stepper.js';
import { commandOfSyncTimer, queueScheduledSync, queueSyncTimers, scheduledSyncCommands, type SyncTimer } from '../engine/syncTimers.js';
import { keyedKeyHash, materialsOf } from '../model/keyMaterial.js';
import { checkEncKeys, type KmeCommand, type StepOutcome } from '../model/kmeCore.js';
import type { KmeEffect } from '../model/poolOps.js';
import type { Violation } from '../model/violation.js';
import { describeCommand } from '../model/describeCommand.js';
import { checkWorld } from '../model/worldInvariants.js';
import type { World } from '../model/world.js';
import type { EncKeysCommand } from '../model/encKeys.js';
import { EventQueue } from '../engine/eventQueue.js';
import type { HostClock } from './hostClock.js';

/** The engine's fault state of the transport in front of the host's KMEs. */
export type HostFaults = TransportFaults;

/** Receives every state-changing command once it has run, to persist it (see worldStore). */
export interface CommandJournal {
  /** `encoded`: the command as JSON, made before it ran (so a command that cannot be written never runs). */
  append(command: KmeCommand, nowMs: number, encoded?: string): void;
}

export interface KmeHostOptions {
  readonly world: World;
  readonly clock: HostClock;
  /** The KMEs the host exposes (a restart fault names one by index or ID); default: those of the world's SAEs. */
  readonly kmeIds?: readonly string[];
  /** How long the remote key manager takes to answer a sync. */
  readonly syncLatencyMs?: number;
  readonly journal?: CommandJournal;
  /** Trace lines kept for GET /_kmesim/trace; older ones are dropped. */
  readonly traceLimit?: number;
  /** Characters of trace kept (default 32 Mi); older lines are dropped past it. */
  readonly traceBytes?: number;
  /** Where a careless server would await; only the check-then-act bug awaits. */
  readonly pause?: () => Promise<void>;
  /** Told about every command once it has run (the server's debug log). */
  readonly onStep?: (command: KmeCommand, outcome: StepOutcome, nowMs: number, world: World) => void;
  /** Told about every fault edge once it has been played (the server's log). */
  readonly onFault?: (fault: Fault, edge: FaultEdge, nowMs: number) => void;
}

export interface KmeHost {
  world: World;
  readonly clock: HostClock;
  readonly faults: HostFaults;
  /** Runs a command now; refused ETSI requests come back as results, programmer errors throw. */
  execute(command: KmeCommand): StepOutcome;
  /** ETSI requests: as execute, but awaits between check and reserve under the check-then-act bug. */
  request(command: KmeCommand): Promise<StepOutcome>;
  /** The bytes of the keys an outcome delivered, in order (derived once, when the step was judged). */
  materialsOf(outcome: StepOutcome): readonly Uint8Array[];
  /** Brings the world up to the clock: expiry and any sync answers that came due. */
  tick(): void;
  violations(): { readonly live: readonly Violation[]; readonly audit: readonly Violation[] };
  traceLines(): readonly string[];
  /**
   * Does something at a time of the host's clock, in order with its sync timers: a command (run at that
   * time, journaled and judged like any other), then `apply` (a change to the host's faults). A clock
   * advance returns only once everything due by then has happened.
   */
  at(atMs: number, action: TimedAction): void;
  /**
   * Plays a fault of the engine's schema on the host's clock, its times counted from `originMs`: each
   * start and end is run at its due time, in order with the sync timers, as the simulator plays it.
   * With `only`, just that edge, at `originMs`.
   */
  playFault(fault: Fault, originMs: number, only?: FaultEdge): void;
  /** Ends every fault now, and forgets the ones planned for later. */
  healFaults(): void;
  /** The faults played or planned, with their times on the host's clock. */
  plannedFaults(): ReadonlyArray<{ readonly fault: Fault; readonly originMs: number }>;
  /** Replaces the world (reset); checkers and trace start over. */
  replaceWorld(world: World): void;
  close(): void;
  readonly closed: boolean;
  /** Counts replaced worlds: a request that waited across a replacement belongs to none of them. */
  readonly generation: number;
}

/** A scheduled change: a fault's start or end from a scenario or the admin API. */
export interface TimedAction {
  readonly command?: KmeCommand;
  readonly apply?: (atMs: number) => void;
}

/** The journal could not be written: the host refuses every further request (answered 503, C32). */
export class StorageError extends Error {}

/** A command that cannot be written to the journal (not serializable): refused before it runs. */
export class UnjournalableCommand extends Error {}

function encodeForJournal(command: KmeCommand): string {
  try {
    return JSON.stringify(command);
  } catch (error) {
    throw new UnjournalableCommand(`${command.type} cannot be journaled: ${(error as Error).message}`);
  }
}

type Timer =
  | SyncTimer
  | { readonly type: 'action'; readonly action: TimedAction }
  | { readonly type: 'fault'; readonly fault: Fault; readonly edge: FaultEdge };

const READ_ONLY = new Set<KmeCommand['type']>(['keys.status', 'clock.tick']);

export function createKmeHost(options: KmeHostOptions): KmeHost {
  const { clock } = options;
  const syncLatencyMs = options.syncLatencyMs ?? 1_000;
  const traceLimit = options.traceLimit ?? 100_000;
  const pause = options.pause ?? (() => new Promise<void>((resolve) => setImmediate(resolve)));
  let world = options.world;
  let timers = new EventQueue<Timer>();
  let stepper = createStepper(() => world);
  // The first scheduled sync comes one period after the world's time, then one every period.
  queueScheduledSync(timers, world.config.profile.scheduledSyncMs, world.nowMs);
  let faultsPlayed: Array<{ readonly fault: Fault; readonly originMs: number }> = [];
  let closed = false;
  let generation = 0;
  let live: Violation[] = [];
  // Trace lines as JSON text, oldest first from `traceHead`: bounded in lines and in characters, so refused
  // requests with large bodies (summarized by describeCommand anyway) cannot grow the server's memory.
  const traceBytesMax = options.traceBytes ?? 32 * 1024 * 1024;
  let trace: string[] = [];
  let traceHead = 0;
  let traceChars = 0;
  let storageFailure: string | null = null;
  // The key bytes each step delivered, derived once for the checkers and kept for the answer.
  const materials = new WeakMap<StepOutcome, Uint8Array[]>();
  const faults: HostFaults = createTransportFaults();
  const kmeIds = (): readonly string[] => options.kmeIds ?? [...new Set([...world.saes.values()].map((sae) => sae.kmeId))].sort();

  function record(line: Record<string, unknown>): void {
    const text = JSON.stringify(line);
    trace.push(text);
    traceChars += text.length;
    while (traceHead < trace.length - 1 && (trace.length - traceHead > traceLimit || traceChars > traceBytesMax)) {
      traceChars -= (trace[traceHead] as string).length;
      trace[traceHead] = '';
      traceHead += 1;
    }
    if (traceHead > 1_024 && traceHead * 2 > trace.length) {
      trace = trace.slice(traceHead);
      traceHead = 0;
    }
  }

  function wake(): void {
    const next = timers.peekTime();
    if (next !== undefined) clock.wakeAt(next, tick);
  }

  function schedule(effects: readonly KmeEffect[], nowMs: number): void {
    queueSyncTimers(timers, effects, nowMs, syncLatencyMs, 0);
    wake();
  }

  /**
   * One command through the engine's stepper (run and judged), then what the host adds: the journal, before
   * anyone sees the answer; the live verdict; the trace; the effects on its timers; the debug log.
   */
  function run(command: KmeCommand, nowMs: number, execute?: () => StepOutcome): StepOutcome {
    // A command the journal could not write is refused before it runs, the world untouched: only the disk
    // failing is a storage failure (a body too deep to serialize was once taken for one). Only enc_keys
    // carries JSON a caller chose (its extensions); every other command is written as it comes.
    const encoded = options.journal !== undefined && command.type === 'keys.enc' ? encodeForJournal(command) : undefined;
    const { outcome, status, violations } = stepper.step(command, nowMs, execute);
    // Journal everything that changed the world (a status call can expire keys), before anyone sees it.
    if ((outcome.result.ok && !READ_ONLY.has(command.type)) || outcome.effects.length > 0) {
      try {
        options.journal?.append(command, nowMs, encoded);
      } catch (error) {
        // The world in memory is now ahead of the disk: stop serving rather than serve what may be lost.
        storageFailure = error instanceof Error ? error.message : String(error);
        throw new StorageError(storageFailure);
      }
    }
    if (violations.length > 0 && live.length < 1_000) live.push(...violations);
    const delivered = outcome.result.ok && outcome.result.kind === 'keys' ? outcome.result.keys : [];
    const bytesOfKeys = materialsOf(world.config.seed, delivered);
    if (bytesOfKeys.length > 0) materials.set(outcome, bytesOfKeys);
    // Looking (an admin read brings the world up to the clock) leaves no trace unless something happened.
    if (command.type !== 'clock.tick' || outcome.effects.length > 0) {
      // The trace names keys by ID and a hash keyed from the run's seed: no key material, and no short key
      // that can be recovered by trying every value without the seed (which derives every key anyway).
      record({
        t: nowMs,
        k: command.type,
        ...describeCommand(command),
        status,
        ...(outcome.result.ok ? {} : { error: outcome.result.error.kind }),
        ...(delivered.length > 0 ? { keys: delivered.map((key, i) => ({ id: key.keyId, hash: keyedKeyHash(world.config.seed, bytesOfKeys[i] as Uint8Array) })) } : {}),
        ...(outcome.effects.length > 0 ? { effects: outcome.effects } : {}),
      });
    }
    schedule(outcome.effects, nowMs);
    options.onStep?.(command, outcome, nowMs, world);
    return outcome;
  }

  function execute(command: KmeCommand): StepOutcome {
    if (storageFailure !== null) throw new StorageError(storageFailure);
    const nowMs = Math.max(clock.now(), world.nowMs);
    runDueTimers(nowMs);
    return run(command, nowMs);
  }


  function runDueTimers(nowMs: number): void {
    for (let due = timers.peekTime(); due !== undefined && due <= nowMs; due = timers.peekTime()) {
      const timer = timers.pop()?.event as Timer;
      const at = Math.max(due, world.nowMs);
      switch (timer.type) {
        case 'sync.scheduled':
          for (const command of scheduledSyncCommands(world)) run(command, at);
          queueScheduledSync(timers, world.config.profile.scheduledSyncMs, due);
          break;
        case 'action': {
          const { command, apply } = timer.action;
          if (command !== undefined) run(command, at);
          apply?.(at);
          break;
        }
        case 'fault': {
          const change = applyFaultEdge(faults, timer.fault, timer.edge, at, kmeIds());
          for (const command of change.commands) run(command, at);
          options.onFault?.(timer.fault, timer.edge, at);
          break;
        }
        case 'sync.answer':
        case 'sync.retry': {
          const command = commandOfSyncTimer(timer, world, (linkId) => remoteOnline(faults, linkId));
          if (command !== null) run(command, at);
          break;
        }
      }
    }
  }

  /** Keeps only the timers `keep` says to keep, in their order. */
  function dropPlanned(keep: (timer: Timer) => boolean): void {
    const planned: Array<{ atMs: number; timer: Timer }> = [];
    for (let due = timers.peekTime(); due !== undefined; due = timers.peekTime()) {
      const timer = timers.pop()?.event as Timer;
      if (keep(timer)) planned.push({ atMs: due, timer });
    }
    timers = new EventQueue<Timer>();
    for (const { atMs, timer } of planned) timers.push(atMs, timer);
  }

  function tick(): void {
    execute({ type: 'clock.tick' });
  }

  async function requestCarelessly(command: EncKeysCommand): Promise<StepOutcome> {
    const checked = checkEncKeys(world, command);
    if (checked === null) return execute(command);
    await pause();
    const nowMs = Math.max(clock.now(), world.nowMs);
    return run(command, nowMs, () => checked.commit(nowMs));
  }

  wake();

  return {
    get world() {
      return world;
    },
    set world(next: World) {
      world = next;
    },
    clock,
    faults,
    execute,
    request(command) {
      if (command.type === 'keys.enc' && world.config.bugs.has('check-then-act')) return requestCarelessly(command);
      return Promise.resolve(execute(command));
    },
    materialsOf(outcome) {
      const known = materials.get(outcome);
      if (known !== undefined) return known;
      return outcome.result.ok && outcome.result.kind === 'keys' ? materialsOf(world.config.seed, outcome.result.keys) : [];
    },
    tick,
    at(atMs, action) {
      timers.push(atMs, { type: 'action', action });
      wake();
    },
    playFault(fault, originMs, only) {
      if (only === undefined) {
        faultsPlayed.push({ fault, originMs });
        for (const { atMs, edge } of faultEdges(fault)) timers.push(originMs + atMs, { type: 'fault', fault, edge });
      } else {
        if (only === 'start') faultsPlayed.push({ fault, originMs });
        timers.push(originMs, { type: 'fault', fault, edge: only });
      }
      wake();
    },
    healFaults() {
      // A request held by a latency is let go at once: the fault has ended.
      clock.releaseSleepers();
      dropPlanned(() => false);
      faultsPlayed = [];
      const nowMs = Math.max(clock.now(), world.nowMs);
      for (const command of healTransport(faults)) run(command, nowMs);
    },
    plannedFaults() {
      return faultsPlayed;
    },
    violations() {
      return { live, audit: checkWorld(world) };
    },
    traceLines() {
      return trace.slice(traceHead);
    },
    replaceWorld(next) {
      // Requests held by a latency belong to the old world: they are let go and refused (see `generation`).
      generation += 1;
      clock.releaseSleepers();
      world = next;
      // Faults planned for later (a scenario's) stay planned; syncs and retries belong to the old world.
      dropPlanned((timer) => timer.type === 'action' || timer.type === 'fault');
      queueScheduledSync(timers, world.config.profile.scheduledSyncMs, next.nowMs);
      wake();
      stepper = createStepper(() => world);
      live = [];
      trace = [];
      traceHead = 0;
      traceChars = 0;
      healTransport(faults);
    },
    close() {
      closed = true;
      clock.stop();
    },
    get closed() {
      return closed;
    },
    get generation() {
      return generation;
    },
  };
}
