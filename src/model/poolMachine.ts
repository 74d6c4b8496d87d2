// The pool lifecycle: fill level, sync activity and the remote key manager's reachability, as three
// parallel regions. A sync can only start from idle or backoff, so at most one is ever in flight (I12).
// The machine holds states only: a sync's reason, request number and failure count live on the Pool
// record, which the core updates as it steps the machine (docs/decisions/0015-machines-drive.md).
import { setup } from 'xstate';
import type { BackoffPolicy, PoolEvent } from './machineTypes.js';

export type { BackoffPolicy, PoolEvent, PoolLevel, RemoteState, SyncActivity, SyncReason } from './machineTypes.js';

/** Exponential backoff, capped: attempt 1 waits baseMs, each further failure doubles, never past maxMs. */
export function computeBackoffMs(attempt: number, policy: BackoffPolicy): number {
  if (!Number.isInteger(attempt) || attempt < 1) {
    throw new RangeError(`computeBackoffMs: attempt must be a positive integer, got ${attempt}`);
  }
  const exponent = Math.min(attempt - 1, 30);
  return Math.min(policy.maxMs, policy.baseMs * 2 ** exponent);
}

export const poolMachine = setup({
  types: { events: {} as PoolEvent },
}).createMachine({
  id: 'pool',
  type: 'parallel',
  states: {
    level: {
      initial: 'exhausted',
      states: {
        healthy: {
          on: { 'level.low': 'low', 'level.critical': 'critical', 'level.exhausted': 'exhausted' },
        },
        low: {
          on: { 'level.healthy': 'healthy', 'level.critical': 'critical', 'level.exhausted': 'exhausted' },
        },
        critical: {
          on: { 'level.healthy': 'healthy', 'level.low': 'low', 'level.exhausted': 'exhausted' },
        },
        exhausted: {
          on: { 'level.healthy': 'healthy', 'level.low': 'low', 'level.critical': 'critical' },
        },
      },
    },
    sync: {
      initial: 'idle',
      states: {
        idle: {
          on: { 'sync.start': 'syncing' },
        },
        syncing: {
          on: {
            'sync.complete': 'idle',
            'sync.fail': 'backoff',
            'sync.abort': 'idle',
          },
        },
        backoff: {
          on: {
            'sync.retry': 'syncing',
            // A manual or emergency sync may cut a backoff short; it is still the only sync in flight.
            'sync.start': 'syncing',
            'sync.abort': 'idle',
          },
        },
      },
    },
    remote: {
      initial: 'online',
      states: {
        online: { on: { 'remote.down': 'offline' } },
        offline: { on: { 'remote.up': 'online' } },
      },
    },
  },
});
