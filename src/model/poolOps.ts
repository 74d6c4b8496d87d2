// Pool mechanics shared by the core's commands: keys arriving, fill levels, syncs and expiry.
import { canStepPool, describePoolState, KEY_STATE_INDEX, stepKey, stepPool } from './lifecycles.js';
import type { PoolLevel, SyncReason } from './machineTypes.js';
import { computeBackoffMs } from './poolMachine.js';
import { availableKeys, type KeyOrigin, type Pool, type ReservedKey, type World } from './world.js';

export type KmeEffect =
  | { readonly type: 'sync.requested'; readonly poolId: string; readonly linkId: string; readonly reason: SyncReason; readonly keyCount: number; readonly attempt: number }
  | { readonly type: 'sync.retryScheduled'; readonly poolId: string; readonly atMs: number; readonly attempt: number }
  | { readonly type: 'sync.completed'; readonly poolId: string; readonly received: number; readonly added: number }
  /** `storeEmpty`: the link's key supply had no key for it (only with a supply; keySupply.ts). */
  | { readonly type: 'sync.failed'; readonly poolId: string; readonly failedAttempts: number; readonly storeEmpty?: true }
  | { readonly type: 'pool.levelChanged'; readonly poolId: string; readonly from: PoolLevel; readonly to: PoolLevel }
  | { readonly type: 'keys.arrived'; readonly poolId: string; readonly count: number; readonly origin: KeyOrigin }
  | { readonly type: 'keys.expired'; readonly poolId: string; readonly count: number }
  | { readonly type: 'keys.discarded'; readonly poolId: string; readonly count: number };

export function levelFor(available: number, capacity: number, lowPct: number, emergencyPct: number): PoolLevel {
  if (available <= 0) return 'exhausted';
  // "Falls below" the threshold, in integers: available/capacity < pct/100 without floating point.
  if (available * 100 < capacity * emergencyPct) return 'critical';
  if (available * 100 < capacity * lowPct) return 'low';
  return 'healthy';
}

const LEVEL_EVENT = {
  healthy: 'level.healthy',
  low: 'level.low',
  critical: 'level.critical',
  exhausted: 'level.exhausted',
} as const;

/** Moves the pool's level region to match its counts, and starts a sync when it falls below a threshold. */
export function updateLevel(world: World, pool: Pool, effects: KmeEffect[]): void {
  const { profile } = world.config;
  const from = describePoolState(pool.state).level;
  const to = levelFor(availableKeys(pool), pool.capacity, profile.lowThresholdPct, profile.emergencyThresholdPct);
  if (from !== to) {
    pool.state = stepPool(world, pool.state, LEVEL_EVENT[to]);
    effects.push({ type: 'pool.levelChanged', poolId: pool.id, from, to });
  }
  if (to !== 'healthy' && !pool.deleted && describePoolState(pool.state).sync === 'idle') {
    startSync(world, pool, to === 'low' ? 'threshold' : 'emergency', effects);
  }
}

/** Whether the pool's link feeds it continuously (keySupply.ts): it takes keys when a client asks, and never syncs. */
export function fedContinuously(world: World, pool: Pool): boolean {
  return world.links.get(pool.linkId)?.supply?.feed === 'continuous';
}

/** Starts a sync unless the pool machine refuses (one is already in flight); returns whether it started. */
export function startSync(world: World, pool: Pool, reason: SyncReason, effects: KmeEffect[], atMost?: number): boolean {
  if (fedContinuously(world, pool) || !canStepPool(world, pool.state, 'sync.start')) return false;
  pool.state = stepPool(world, pool.state, 'sync.start');
  pool.syncReason = reason;
  return requestKeys(pool, reason, effects, atMost);
}

/** Asks the remote for what the pool lacks, or at most `atMost` keys; a retry asks for what it lacks then. */
function requestKeys(pool: Pool, reason: SyncReason, effects: KmeEffect[], atMost?: number): true {
  pool.retryAtMs = null;
  const lacking = Math.max(0, pool.capacity - availableKeys(pool));
  pool.syncKeyCount = atMost === undefined ? lacking : Math.min(lacking, atMost);
  pool.syncAttempt += 1;
  effects.push({
    type: 'sync.requested',
    poolId: pool.id,
    linkId: pool.linkId,
    reason,
    keyCount: pool.syncKeyCount,
    attempt: pool.syncAttempt,
  });
  return true;
}

/** Retries a sync unless the pool machine refuses (no sync is backing off); returns whether it did. */
export function retrySync(world: World, pool: Pool, effects: KmeEffect[]): boolean {
  if (!canStepPool(world, pool.state, 'sync.retry')) return false;
  pool.state = stepPool(world, pool.state, 'sync.retry');
  return requestKeys(pool, pool.syncReason ?? 'threshold', effects);
}

export function failSync(world: World, pool: Pool, nowMs: number, effects: KmeEffect[], storeEmpty = false): void {
  pool.state = stepPool(world, pool.state, 'sync.fail');
  pool.failedAttempts += 1;
  pool.retryAtMs = nowMs + computeBackoffMs(pool.failedAttempts, world.config.profile.backoff);
  effects.push({ type: 'sync.failed', poolId: pool.id, failedAttempts: pool.failedAttempts, ...(storeEmpty ? { storeEmpty: true as const } : {}) });
  effects.push({ type: 'sync.retryScheduled', poolId: pool.id, atMs: pool.retryAtMs, attempt: pool.syncAttempt });
}

/** Drops the sync in flight or backing off, if any: a late answer to it is then ignored. */
export function abortSync(world: World, pool: Pool): void {
  if (!canStepPool(world, pool.state, 'sync.abort')) return;
  pool.state = stepPool(world, pool.state, 'sync.abort');
  pool.syncReason = null;
  pool.failedAttempts = 0;
  pool.retryAtMs = null;
}

/**
 * Puts up to `count` new keys into the pool, never past its capacity; returns how many went in. Keys the
 * remote sent beyond the pool's room are discarded before they are ever stored.
 */
export function addKeys(world: World, pool: Pool, count: number, origin: KeyOrigin, nowMs: number, effects: KmeEffect[]): number {
  const added = Math.max(0, Math.min(count, pool.capacity - availableKeys(pool)));
  if (count > added) stepKey(world, KEY_STATE_INDEX.generated, 'key.discard', count - added);
  if (added === 0) return 0;
  const batch = {
    poolId: pool.id,
    seqStart: pool.tailSeq,
    seqEnd: pool.tailSeq + added,
    generatedAtMs: nowMs,
    expiresAtMs: nowMs + world.config.profile.keyTtlMs,
    origin,
  };
  pool.batches.push(batch);
  world.expiryQueue.push(batch);
  pool.tailSeq += added;
  pool.generated += added;
  if (origin === 'local') pool.synthetic += added;
  stepKey(world, KEY_STATE_INDEX.generated, 'key.store', added);
  effects.push({ type: 'keys.arrived', poolId: pool.id, count: added, origin });
  updateLevel(world, pool, effects);
  return added;
}

/** Drops stored keys [headSeq, seqEnd) from the front of the pool and forgets batches used up. */
export function advanceHead(pool: Pool, seqEnd: number): number {
  const dropped = Math.max(0, seqEnd - pool.headSeq);
  pool.headSeq += dropped;
  while (pool.batchHead < pool.batches.length && (pool.batches[pool.batchHead]?.seqEnd ?? 0) <= pool.headSeq) {
    pool.batchHead += 1;
  }
  if (pool.batchHead > 64 && pool.batchHead * 2 > pool.batches.length) {
    pool.batches.splice(0, pool.batchHead);
    pool.batchHead = 0;
  }
  return dropped;
}

/** Expires every stored batch and every delivered key whose TTL has run out by nowMs (I11). */
export function expireDue(world: World, nowMs: number, effects: KmeEffect[]): void {
  const touched = new Set<Pool>();
  const queue = world.expiryQueue;
  while (world.expiryHead < queue.length) {
    const batch = queue[world.expiryHead];
    if (batch === undefined || batch.expiresAtMs > nowMs) break;
    world.expiryHead += 1;
    const pool = world.pools.get(batch.poolId);
    if (pool === undefined) continue;
    const count = pool.headSeq < batch.seqEnd ? advanceHead(pool, batch.seqEnd) : 0;
    if (count > 0) {
      pool.expired += count;
      stepKey(world, KEY_STATE_INDEX.stored, 'key.expire', count);
      effects.push({ type: 'keys.expired', poolId: pool.id, count });
      touched.add(pool);
    }
  }
  if (world.expiryHead > 1024 && world.expiryHead * 2 > queue.length) {
    queue.splice(0, world.expiryHead);
    world.expiryHead = 0;
  }
  const reservedQueue = world.reservedQueue;
  while (world.reservedHead < reservedQueue.length) {
    const key = reservedQueue[world.reservedHead];
    if (key === undefined || key.expiresAtMs > nowMs) break;
    world.reservedHead += 1;
    // Retrieved keys stay queued until their expiry time; only those still waiting for a slave expire.
    if (world.reserved.get(key.keyId) !== key || key.state !== KEY_STATE_INDEX.reserved) continue;
    const pool = world.pools.get(key.poolId);
    if (pool === undefined) continue;
    key.state = stepKey(world, key.state, 'key.expire');
    world.reserved.delete(key.keyId);
    pool.reserved -= 1;
    pool.expired += 1;
    effects.push({ type: 'keys.expired', poolId: pool.id, count: 1 });
  }
  if (world.reservedHead > 1024 && world.reservedHead * 2 > reservedQueue.length) {
    reservedQueue.splice(0, world.reservedHead);
    world.reservedHead = 0;
  }
  for (const pool of touched) updateLevel(world, pool, effects);
}

/**
 * The expiry queue of reserved keys holds a record until its expiry time even when the key was retrieved
 * long before. When retrieved keys outnumber waiting ones, they are dropped from the queue (order kept), so
 * a delivered key costs nothing once its slave has it. Called after reserving and after retrieving;
 * amortized O(1) per key.
 */
export function compactReservedQueue(world: World): void {
  const queue = world.reservedQueue;
  const queued = queue.length - world.reservedHead;
  if (queued < 4096 || queued <= 2 * world.reserved.size) return;
  let kept = 0;
  for (let i = world.reservedHead; i < queue.length; i++) {
    const key = queue[i] as ReservedKey;
    if (world.reserved.get(key.keyId) === key && key.state === KEY_STATE_INDEX.reserved) queue[kept++] = key;
  }
  queue.length = kept;
  world.reservedHead = 0;
}

