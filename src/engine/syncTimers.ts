// The core's effects as later commands, for every driver: a sync request is answered by the remote key
// manager after the sync latency (with keys, or a failure while the remote is unreachable), a failed sync
// is retried when the KME said, and every pool short of its capacity is synced on the profile's schedule.
// Drivers put these timers on their (time, seq) queue and run the commands they turn into when due.
import type { KmeCommand } from '../model/kmeCore.js';
import type { KmeEffect } from '../model/poolOps.js';
import { availableKeys, type World } from '../model/world.js';

export type SyncTimer =
  | { readonly type: 'sync.answer'; readonly source: number; readonly poolId: string; readonly linkId: string; readonly attempt: number; readonly keyCount: number }
  | { readonly type: 'sync.retry'; readonly source: number; readonly poolId: string; readonly attempt: number }
  /** The profile's scheduled sync of every pool below capacity, every `scheduledSyncMs`. */
  | { readonly type: 'sync.scheduled' };

/** Where timers go: a driver's queue (any queue whose events include SyncTimer). */
export interface TimerSink {
  push(atMs: number, timer: SyncTimer): void;
}

/** Queues the timers a step's effects ask for; `source` names the world they belong to. */
export function queueSyncTimers(sink: TimerSink, effects: readonly KmeEffect[], nowMs: number, syncLatencyMs: number, source: number): void {
  for (const effect of effects) {
    if (effect.type === 'sync.requested') {
      sink.push(nowMs + syncLatencyMs, { type: 'sync.answer', source, poolId: effect.poolId, linkId: effect.linkId, attempt: effect.attempt, keyCount: effect.keyCount });
    } else if (effect.type === 'sync.retryScheduled') {
      sink.push(effect.atMs, { type: 'sync.retry', source, poolId: effect.poolId, attempt: effect.attempt });
    }
  }
}

/** Queues the next scheduled sync, one period after `fromMs`. */
export function queueScheduledSync(sink: TimerSink, periodMs: number, fromMs: number): void {
  sink.push(fromMs + periodMs, { type: 'sync.scheduled' });
}

/**
 * The command a due sync answer or retry runs on its world, or null when its pool is gone. The answer
 * brings keys only while the remote key manager of the link is reachable.
 */
export function commandOfSyncTimer(timer: Exclude<SyncTimer, { type: 'sync.scheduled' }>, world: World, remoteReachable: (linkId: string) => boolean): KmeCommand | null {
  if (!world.pools.has(timer.poolId)) return null;
  if (timer.type === 'sync.retry') return { type: 'sync.retry', poolId: timer.poolId, attempt: timer.attempt };
  return remoteReachable(timer.linkId)
    ? { type: 'sync.complete', poolId: timer.poolId, attempt: timer.attempt, keyCount: timer.keyCount }
    : { type: 'sync.fail', poolId: timer.poolId, attempt: timer.attempt };
}

/** The scheduled sync on one world: a sync start for every pool short of its capacity. */
export function scheduledSyncCommands(world: World): KmeCommand[] {
  const commands: KmeCommand[] = [];
  for (const pool of world.pools.values()) {
    if (!pool.deleted && availableKeys(pool) < pool.capacity) commands.push({ type: 'sync.start', poolId: pool.id, reason: 'scheduled' });
  }
  return commands;
}
