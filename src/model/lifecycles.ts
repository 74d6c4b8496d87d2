// The compiled forms of the key and pool machines, and the only functions that move a key or a pool.
// Every state change of the core goes through stepKey or stepPool, which look the move up in the world's
// tables (the compiled machines' own, unless a test hands createWorld a mutated pair) and throw when the
// machine refuses it. Coverage counts only the moves a table allowed.
import { NO_TRANSITION } from './compileMachine.js';
import { compiledKeyMachine, compiledPoolMachine } from './compiledMachines.js';
import type { KeyEvent, KeyState, MachineTable, PoolEvent, PoolLevel, RemoteState, SyncActivity } from './machineTypes.js';

export type KeyEventType = KeyEvent['type'];
export type PoolEventType = PoolEvent['type'];


/** The (state × event) → state tables the core steps keys and pools through, laid out as MachineTable.table. */
export interface LifecycleTables {
  readonly key: Int16Array;
  readonly pool: Int16Array;
}

/** The tables derived from the machines: what every world runs on unless a test says otherwise. */
export const MACHINE_TABLES: LifecycleTables = { key: compiledKeyMachine.table, pool: compiledPoolMachine.table };

/** Checks that tables handed to createWorld have the compiled machines' shape: same cells, known states. */
export function assertLifecycleTables(tables: LifecycleTables): void {
  for (const [name, table, compiled] of [
    ['key', tables.key, compiledKeyMachine],
    ['pool', tables.pool, compiledPoolMachine],
  ] as const) {
    const fits = table.length === compiled.table.length && table.every((next) => next === NO_TRANSITION || (next >= 0 && next < compiled.states.length));
    if (!fits) throw new Error(`createWorld: the ${name} table does not have the shape of the compiled ${name} machine`);
  }
}

/** What stepping needs of a world: the tables it runs on and its coverage counters. */
export interface LifecycleHost {
  readonly config: { readonly lifecycles: LifecycleTables };
  readonly coverage: MachineCoverage;
}

function columnsOf<Type extends string>(compiled: MachineTable): Readonly<Record<Type, number>> {
  return Object.fromEntries(compiled.eventTypes.map((type, index) => [type, index])) as Record<Type, number>;
}
// Plain objects of fixed shape: the hottest lookups of the core, cheaper than a Map.
const keyColumn = columnsOf<KeyEventType>(compiledKeyMachine);
const keyWidth = compiledKeyMachine.eventTypes.length;
const poolColumn = columnsOf<PoolEventType>(compiledPoolMachine);
const poolWidth = compiledPoolMachine.eventTypes.length;

export const KEY_STATE_INDEX: Readonly<Record<KeyState, number>> = Object.fromEntries(
  compiledKeyMachine.states.map((state, index) => [state, index]),
) as Record<KeyState, number>;

/** Per compiled pool state: its level, sync activity and remote reachability. */
const poolParts = compiledPoolMachine.states.map((serialized) => {
  const parts = Object.fromEntries(serialized.split('|').map((part) => part.split('.') as [string, string]));
  return {
    level: parts['level'] as PoolLevel,
    sync: parts['sync'] as SyncActivity,
    remote: parts['remote'] as RemoteState,
  };
});

export function describePoolState(state: number): { level: PoolLevel; sync: SyncActivity; remote: RemoteState } {
  const parts = poolParts[state];
  if (parts === undefined) throw new RangeError(`describePoolState: no pool state ${state}`);
  return parts;
}

export const INITIAL_POOL_STATE = compiledPoolMachine.initial;

/** Coverage counters: how often each (state, event) cell of each machine's table was taken. */
export interface MachineCoverage {
  readonly key: Uint32Array;
  readonly pool: Uint32Array;
}

export function createMachineCoverage(): MachineCoverage {
  return {
    key: new Uint32Array(compiledKeyMachine.table.length),
    pool: new Uint32Array(compiledPoolMachine.table.length),
  };
}

function refused(compiled: MachineTable, state: number, type: string): never {
  throw new Error(`${compiled.id} machine: ${type} is not allowed in state ${compiled.states[state] ?? `#${state}`}`);
}

/**
 * Moves `count` keys in `state` by one event and returns their next state. Stored keys have no record of
 * their own, so a batch of them moves at once. An event the machine refuses is a bug in the core: it
 * throws, and nothing is counted.
 */
export function stepKey(host: LifecycleHost, state: number, type: KeyEventType, count = 1): number {
  const cell = state * keyWidth + keyColumn[type];
  const next = host.config.lifecycles.key[cell] ?? NO_TRANSITION;
  if (next === NO_TRANSITION) refused(compiledKeyMachine, state, type);
  host.coverage.key[cell] = (host.coverage.key[cell] as number) + count;
  return next;
}

/** Whether the key machine takes the event in that state: for the few callers to whom a refusal is an answer. */
export function canStepKey(host: LifecycleHost, state: number, type: KeyEventType): boolean {
  return (host.config.lifecycles.key[state * keyWidth + keyColumn[type]] ?? NO_TRANSITION) !== NO_TRANSITION;
}

/** Moves a pool by one event. An event the machine refuses is a bug in the core: it throws, and nothing is counted. */
export function stepPool(host: LifecycleHost, state: number, type: PoolEventType): number {
  const cell = state * poolWidth + poolColumn[type];
  const next = host.config.lifecycles.pool[cell] ?? NO_TRANSITION;
  if (next === NO_TRANSITION) refused(compiledPoolMachine, state, type);
  host.coverage.pool[cell] = (host.coverage.pool[cell] as number) + 1;
  return next;
}

/** Whether the pool machine takes the event in that state (a second sync while one is in flight, say). */
export function canStepPool(host: LifecycleHost, state: number, type: PoolEventType): boolean {
  return (host.config.lifecycles.pool[state * poolWidth + poolColumn[type]] ?? NO_TRANSITION) !== NO_TRANSITION;
}
