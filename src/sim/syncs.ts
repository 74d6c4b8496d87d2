// Syncs with the remote key manager: a KME's sync request is answered after the scenario's sync latency
// (completed, or failed while the remote is offline), a failed sync is retried when the KME says, and
// every pool short of its capacity is synced on the profile's schedule. The core's other effects are
// counted here too, as they arrive with the step that caused them.
import type { KmeCommand } from '../model/kmeCore.js';
import type { KmeEffect } from '../model/poolOps.js';
import { availableKeys } from '../model/world.js';
import type { SimEventOf } from './agenda.js';
import { remoteOnline } from './faults.js';
import type { RunState } from './runState.js';
import type { SimKme } from './simKme.js';

/** The effects of one step of one source: sync requests and retries are queued, syncs and expiries tallied. */
export function onKmeEffects(state: RunState, source: number, effects: readonly KmeEffect[], at: number): void {
  const { tally } = state;
  for (const effect of effects) {
    switch (effect.type) {
      case 'sync.requested': {
        tally.syncsRequested += 1;
        tally.syncReasons[effect.reason] = (tally.syncReasons[effect.reason] ?? 0) + 1;
        state.queue.push(at + state.scenario.world.sync.latency, { type: 'sync.answer', source, poolId: effect.poolId, linkId: effect.linkId, attempt: effect.attempt, keyCount: effect.keyCount });
        break;
      }
      case 'sync.retryScheduled':
        state.queue.push(effect.atMs, { type: 'sync.retry', source, poolId: effect.poolId, attempt: effect.attempt });
        break;
      case 'sync.completed':
        tally.syncsCompleted += 1;
        state.series.event(at, 'sync.completed', `${effect.poolId} +${effect.added}`);
        break;
      case 'sync.failed':
        tally.syncsFailed += 1;
        state.series.event(at, 'sync.failed', effect.poolId);
        break;
      case 'keys.expired':
        tally.keysExpired += effect.count;
        break;
      // Arrivals, discards and level changes are drawn by the pool series from the world, not tallied here.
      case 'keys.arrived':
      case 'keys.discarded':
      case 'pool.levelChanged':
        break;
    }
  }
}

/** The remote key manager answers a sync request: with the keys, or not at all while it is offline. */
export function answerSync(state: RunState, event: SimEventOf<'sync.answer'>): void {
  const sim = state.sims[event.source] as SimKme;
  const answer: KmeCommand = remoteOnline(state, event.linkId)
    ? { type: 'sync.complete', poolId: event.poolId, attempt: event.attempt, keyCount: event.keyCount }
    : { type: 'sync.fail', poolId: event.poolId, attempt: event.attempt };
  sim.run(answer, state.nowMs);
}

export function retrySync(state: RunState, event: SimEventOf<'sync.retry'>): void {
  (state.sims[event.source] as SimKme).run({ type: 'sync.retry', poolId: event.poolId, attempt: event.attempt }, state.nowMs);
}

/** The scheduled sync: every pool short of its capacity asks for keys, and the next one is queued. */
export function runScheduledSync(state: RunState): void {
  const { nowMs } = state;
  for (const sim of state.sims) {
    for (const pool of sim.world.pools.values()) {
      if (!pool.deleted && availableKeys(pool) < pool.capacity) sim.run({ type: 'sync.start', poolId: pool.id, reason: 'scheduled' }, nowMs);
    }
  }
  state.queue.push(nowMs + state.profile.scheduledSyncMs, { type: 'sync.scheduled' });
}
