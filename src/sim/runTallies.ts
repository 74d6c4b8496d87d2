// What a run counts for its report and expectations: the tally (messages, refusals, syncs, keys, the
// worst level each user's pools reached), the pool series the report charts, and when each pool fell
// below its low threshold (which the liveness verdict reads).
import { describePoolState } from '../model/lifecycles.js';
import { levelAt } from '../model/keySupply.js';
import { availableKeys } from '../model/world.js';
import { KEY_WAIT_EDGES_MS, type RunTally } from './expectations.js';
import type { RunState } from './runState.js';
import type { SimKme } from './simKme.js';

const LEVEL_ORDER = { healthy: 0, low: 1, critical: 2, exhausted: 3 } as const;

export function createTally(): RunTally {
  return {
    messagesSent: 0,
    messagesDecrypted: 0,
    encRefused: {},
    decRefused: {},
    syncsRequested: 0,
    syncsCompleted: 0,
    syncsFailed: 0,
    syncReasons: {},
    keysDelivered: 0,
    keysExpired: 0,
    maxDeliveryMs: 0,
    keyWaitOver: KEY_WAIT_EDGES_MS.map(() => 0),
    messagesDeferred: 0,
    worstLevel: new Map(),
    exhaustedUsers: new Set(),
    undelivered: 0,
  };
}

/** One more refusal with this status. */
export function countRefusal(bucket: Record<string, number>, status: number): void {
  bucket[String(status)] = (bucket[String(status)] ?? 0) + 1;
}

/** Starts the series of every pool of a source, at its level after registration. */
export function trackPools(state: RunState, sim: SimKme): void {
  const { kmeIds, sims, profile } = state;
  for (const pool of sim.world.pools.values()) {
    const slave = state.userOfSae.get(pool.slaveSaeId);
    const label = `${slave?.name ?? pool.slaveSaeId}${kmeIds.length > 1 || sims.length > 1 ? ` ${pool.linkId}${sims.length > 1 ? ` src${sim.index + 1}` : ''}` : ''}`;
    const capacity = pool.capacity;
    state.series.trackPool(`${sim.index}:${pool.id}`, label, capacity, (capacity * profile.lowThresholdPct) / 100, (capacity * profile.emergencyThresholdPct) / 100, availableKeys(pool));
  }
}

/** Starts the series of every link's key store of a source, when the scenario has a supply. */
export function trackStores(state: RunState, sim: SimKme): void {
  const keyBits = state.profile.keySizeBits;
  for (const link of sim.world.links.values()) {
    if (link.supply === null) continue;
    const label = `store ${link.id}${state.sims.length > 1 ? ` src${sim.index + 1}` : ''}`;
    state.series.trackStore(storeSeriesId(sim.index, link.id), label, Math.floor(link.supply.capacityBits / keyBits), Math.floor(link.supply.levelBits / keyBits));
  }
}

/** Each store's level at `atMs` (default now), in whole keys, for every link or one; nothing may have changed a store since. */
export function sampleStores(state: RunState, linkId?: string, atMs: number = state.nowMs): void {
  const keyBits = state.profile.keySizeBits;
  for (const sim of state.sims) {
    for (const link of sim.world.links.values()) {
      if (link.supply === null || (linkId !== undefined && link.id !== linkId)) continue;
      state.series.recordStore(storeSeriesId(sim.index, link.id), atMs, Math.floor(levelAt(link.supply, atMs, link.remote === 'online') / keyBits));
    }
  }
}

const storeSeriesId = (source: number, linkId: string): string => `${source}:store:${linkId}`;

/**
 * The hook a source calls when a step changed a pool: its series point, its user's worst level, and when
 * it fell below its low threshold. Made once per run; it names each pool once, not once per step.
 */
export function createPoolWatcher(state: RunState): (source: number, poolId: string, at: number, level: number) => void {
  const { series, tally, belowSince } = state;
  // `${source}:${poolId}` names a pool across sources.
  const seriesKeys = new Map<string, string>();
  const seriesKeyOf = (source: number, poolId: string): string => {
    const cacheKey = source === 0 ? poolId : `${source}\u0000${poolId}`;
    let key = seriesKeys.get(cacheKey);
    if (key === undefined) {
      key = `${source}:${poolId}`;
      seriesKeys.set(cacheKey, key);
    }
    return key;
  };
  return (source, poolId, at, level) => {
    const key = seriesKeyOf(source, poolId);
    series.recordLevel(key, at, level);
    const pool = state.sims[source]?.world.pools.get(poolId);
    if (pool === undefined) return;
    const name = state.userOfSae.get(pool.slaveSaeId)?.name ?? pool.slaveSaeId;
    const severity = LEVEL_ORDER[describePoolState(pool.state).level];
    if (severity > (tally.worstLevel.get(name) ?? 0)) tally.worstLevel.set(name, severity);
    // While the workload runs (the safety phase); an idle liveness phase may let keys expire.
    if (severity === LEVEL_ORDER.exhausted && state.phase === 'safety') tally.exhaustedUsers.add(name);
    if (severity === 0) belowSince.delete(key);
    else if (!belowSince.has(key)) belowSince.set(key, at);
  };
}

/** Messages still in flight at the end and not lost: the report's pending count. */
export function countUndelivered(state: RunState): number {
  return [...state.inFlight].filter((message) => !message.lost).length;
}
