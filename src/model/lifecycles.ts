// The compiled forms of the key and pool machines that the core's hot paths step through.
import { compileMachine, NO_TRANSITION, stepCompiled, type CompiledMachine } from './compileMachine.js';
import { KEY_EVENT_TYPES, keyMachine, type KeyState } from './keyMachine.js';
import { poolMachine, type PoolEvent, type PoolLevel, type RemoteState, type SyncActivity } from './poolMachine.js';

export const compiledKeyMachine: CompiledMachine = compileMachine(
  keyMachine,
  KEY_EVENT_TYPES.map((type) => ({ type })),
);

/** One event of each type the pool machine takes, in the compiled table's column order. */
export const POOL_SAMPLE_EVENTS: readonly PoolEvent[] = [
  { type: 'level.healthy' },
  { type: 'level.low' },
  { type: 'level.critical' },
  { type: 'level.exhausted' },
  { type: 'sync.start', reason: 'manual' },
  { type: 'sync.complete' },
  { type: 'sync.fail' },
  { type: 'sync.retry' },
  { type: 'sync.abort' },
  { type: 'remote.down' },
  { type: 'remote.up' },
];
export type PoolEventType = PoolEvent['type'];

export const compiledPoolMachine: CompiledMachine = compileMachine(poolMachine, POOL_SAMPLE_EVENTS);

function indexTable(compiled: CompiledMachine): ReadonlyMap<string, number> {
  return new Map(compiled.eventTypes.map((type, index) => [type, index]));
}
// A plain object of fixed shape: the hottest lookup of the core, cheaper than a Map.
const keyEventIndex: Readonly<Record<(typeof KEY_EVENT_TYPES)[number], number>> = Object.fromEntries(
  compiledKeyMachine.eventTypes.map((type, index) => [type, index]),
) as Record<(typeof KEY_EVENT_TYPES)[number], number>;
const keyEventCount = compiledKeyMachine.eventTypes.length;
const keyTable = compiledKeyMachine.table;
const poolEventIndex = indexTable(compiledPoolMachine);

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

/** Coverage counters: how often each (state, event) pair of each machine was taken. */
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

/** Steps a key through its lifecycle. An event the machine refuses is a bug in the core: it throws. */
export function stepKey(state: number, type: (typeof KEY_EVENT_TYPES)[number], coverage: MachineCoverage): number {
  const cell = state * keyEventCount + keyEventIndex[type];
  const next = keyTable[cell] ?? NO_TRANSITION;
  if (next === NO_TRANSITION) {
    throw new Error(`key lifecycle: ${type} is not allowed in state ${compiledKeyMachine.states[state]}`);
  }
  coverage.key[cell] = (coverage.key[cell] as number) + 1;
  return next;
}

/** Steps a pool; returns the same state when the machine does not take the event there. */
export function stepPool(state: number, type: PoolEventType, coverage: MachineCoverage): number {
  const event = poolEventIndex.get(type) as number;
  const next = stepCompiled(compiledPoolMachine, state, event);
  if (next === NO_TRANSITION) return state;
  const cell = state * compiledPoolMachine.eventTypes.length + event;
  coverage.pool[cell] = (coverage.pool[cell] ?? 0) + 1;
  return next;
}

export function canStepPool(state: number, type: PoolEventType): boolean {
  return stepCompiled(compiledPoolMachine, state, poolEventIndex.get(type) as number) !== NO_TRANSITION;
}
