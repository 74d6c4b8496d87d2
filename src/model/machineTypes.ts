// The machines' plain types: events, states and the values the core reads off them. Kept apart from the
// XState machines (poolMachine.ts, keyMachine.ts), so that the model's declarations, and the public types
// that reach them, do not depend on XState's.

/** Why a sync started: its schedule, a threshold crossed, an operator, or an enc_keys refused for want of keys. */
export type SyncReason = 'scheduled' | 'threshold' | 'emergency' | 'manual' | 'demand';
export type PoolLevel = 'healthy' | 'low' | 'critical' | 'exhausted';

export type PoolEvent =
  | { type: 'level.healthy' }
  | { type: 'level.low' }
  | { type: 'level.critical' }
  | { type: 'level.exhausted' }
  | { type: 'sync.start' }
  | { type: 'sync.complete' }
  | { type: 'sync.fail' }
  | { type: 'sync.retry' }
  | { type: 'sync.abort' }
  | { type: 'remote.down' }
  | { type: 'remote.up' };

export interface BackoffPolicy {
  readonly baseMs: number;
  readonly maxMs: number;
}

export type SyncActivity = 'idle' | 'syncing' | 'backoff';
export type RemoteState = 'online' | 'offline';

export type KeyEvent =
  | { type: 'key.store' }
  | { type: 'key.reserve' }
  | { type: 'key.retrieve' } // a named slave retrieved it and other named slaves remain (multicast)
  | { type: 'key.consume' } // the last named slave retrieved it
  | { type: 'key.expire' }
  | { type: 'key.discard' };

export type KeyState = 'generated' | 'stored' | 'reserved' | 'consumed' | 'expired' | 'discarded';

/** A machine compiled to a table: what the core steps keys and pools through. */
export interface MachineTable {
  readonly id: string;
  /** Serialized state values; a state's number is its index here. */
  readonly states: readonly string[];
  readonly eventTypes: readonly string[];
  readonly initial: number;
  /** Row-major: table[state * eventTypes.length + event] is the next state, or NO_TRANSITION. */
  readonly table: Int16Array;
}
