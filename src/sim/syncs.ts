// Syncs with the remote key manager, through the engine's sync timers (src/engine/syncTimers.ts): a KME's
// sync request is answered after the scenario's sync latency (completed, or failed while the remote is
// unreachable), a failed sync is retried when the KME says, and every pool short of its capacity is synced
// on the profile's schedule. The core's other effects are counted here too, as they arrive with the step
// that caused them.
import { remoteOnline } from '../engine/faults.js';
import { commandOfSyncTimer, queueScheduledSync, queueSyncTimers, scheduledSyncCommands } from '../engine/syncTimers.js';
import type { KmeEffect } from '../model/poolOps.js';
import type { SimEventOf } from './agenda.js';
import type { RunState } from './runState.js';
import { sampleStores } from './runTallies.js';
import type { SimKme } from './simKme.js';

/** The effects of one step of one source: sync requests and retries are queued, syncs and expiries tallied. */
export function onKmeEffects(state: RunState, source: number, effects: readonly KmeEffect[], at: number): void {
  const { tally } = state;
  queueSyncTimers(state.queue, effects, at, state.scenario.world.sync.latency, source);
  for (const effect of effects) {
    switch (effect.type) {
      case 'sync.requested':
        tally.syncsRequested += 1;
        tally.syncReasons[effect.reason] = (tally.syncReasons[effect.reason] ?? 0) + 1;
        break;
      case 'sync.completed':
        tally.syncsCompleted += 1;
        state.series.event(at, 'sync.completed', `${effect.poolId} +${effect.added}`);
        break;
      case 'sync.failed':
        tally.syncsFailed += 1;
        state.series.event(at, 'sync.failed', effect.storeEmpty === true ? `${effect.poolId}: the link's key store is empty` : effect.poolId);
        break;
      case 'keys.expired':
        tally.keysExpired += effect.count;
        break;
      // Retries are queued above; arrivals, discards and level changes are drawn by the pool series from
      // the world, not tallied here.
      case 'keys.arrived':
        // Keys from the remote were drawn from the link's store, when it has one.
        if (effect.origin === 'remote' && state.scenario.world.supply !== undefined) {
          const linkId = state.sims[source]?.world.pools.get(effect.poolId)?.linkId;
          if (linkId !== undefined) sampleStores(state, linkId);
        }
        break;
      case 'sync.retryScheduled':
      case 'keys.discarded':
      case 'pool.levelChanged':
        break;
    }
  }
}

/** A sync answer or retry came due: its command runs on the source it belongs to. */
export function runSyncTimer(state: RunState, event: SimEventOf<'sync.answer'> | SimEventOf<'sync.retry'>): void {
  const sim = state.sims[event.source] as SimKme;
  const command = commandOfSyncTimer(event, sim.world, (linkId) => remoteOnline(sim.transport, linkId));
  if (command !== null) sim.run(command, state.nowMs);
}

/** The scheduled sync: every pool short of its capacity asks for keys, and the next one is queued. */
export function runScheduledSync(state: RunState): void {
  const { nowMs } = state;
  for (const sim of state.sims) for (const command of scheduledSyncCommands(sim.world)) sim.run(command, nowMs);
  queueScheduledSync(state.queue, state.profile.scheduledSyncMs, nowMs);
}
