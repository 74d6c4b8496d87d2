// The two lifecycle machines compiled to tables once, with their XState snapshots (decision 0015). The
// core reads the tables through lifecycles.ts; this module stays out of the model's declarations, so that
// the public types do not reach XState's.
import { compileMachine, type CompiledMachine } from './compileMachine.js';
import { KEY_EVENT_TYPES, keyMachine } from './keyMachine.js';
import type { PoolEvent } from './machineTypes.js';
import { poolMachine } from './poolMachine.js';

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
  { type: 'sync.start' },
  { type: 'sync.complete' },
  { type: 'sync.fail' },
  { type: 'sync.retry' },
  { type: 'sync.abort' },
  { type: 'remote.down' },
  { type: 'remote.up' },
];
export const compiledPoolMachine: CompiledMachine = compileMachine(poolMachine, POOL_SAMPLE_EVENTS);
