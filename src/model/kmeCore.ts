// The KME core: (world, command, nowMs) → (reply, effects). No IO, no clock, no randomness of its own:
// time arrives as nowMs and every identifier derives from the world's seed. Effects tell the driver
// (simulator or server) what to schedule, such as the remote key manager's answer to a sync.
import { decKeys, type DecKeysCommand } from './decKeys.js';
import { commitEncKeys, planEncKeys, type DeliveredKey, type EncKeysCommand } from './encKeys.js';
import { kmeError, unauthorizedCaller, type KmeError } from './kmeError.js';
import { canStepPool, describePoolState, KEY_STATE_INDEX, stepKey, stepPool, type PoolEventType } from './lifecycles.js';
import type { SyncReason } from './machineTypes.js';
import {
  abortSync,
  addKeys,
  fedContinuously,
  advanceHead,
  expireDue,
  failSync,
  retrySync,
  startSync,
  updateLevel,
  type KmeEffect,
} from './poolOps.js';
import { accrue } from './keySupply.js';
import { feedFromStore, feedWouldServe, fromRemote, setSupplyRate } from './supplyFeed.js';
import type { Status } from './wireSchema.js';
import { availableKeys, createPool, deliverableKeys, keyIdOwnerOf, linkIdOf, poolIdOf, slavePoolOf, type Pool, type World } from './world.js';

export interface RegisterSaeCommand {
  readonly type: 'sae.register';
  readonly saeId: string;
  readonly kmeId: string;
  readonly name?: string;
  readonly email?: string;
  readonly capacity?: number;
  /** Keys each new pool starts with (default: full). They come from the remote, so none while it is down. */
  readonly initialKeys?: number;
}

export type KmeCommand =
  | RegisterSaeCommand
  | { readonly type: 'sae.delete'; readonly saeId: string }
  | { readonly type: 'keys.status'; readonly kmeId: string; readonly callerSaeId: string; readonly slaveSaeId: string }
  | EncKeysCommand
  | DecKeysCommand
  /** `keyCount`: ask the remote for at most this many keys (a refill of a given size); default, what the pool lacks. */
  | { readonly type: 'sync.start'; readonly poolId: string; readonly reason: SyncReason; readonly keyCount?: number }
  | { readonly type: 'sync.complete'; readonly poolId: string; readonly attempt: number; readonly keyCount: number }
  | { readonly type: 'sync.fail'; readonly poolId: string; readonly attempt: number }
  | { readonly type: 'sync.retry'; readonly poolId: string; readonly attempt: number }
  | { readonly type: 'remote.down'; readonly linkId?: string }
  | { readonly type: 'remote.up'; readonly linkId?: string }
  | { readonly type: 'clock.tick' }
  | { readonly type: 'kme.restart'; readonly kmeId: string }
  /** The link's production rate from now on (a fluctuation, or 0 while its quantum channel is down); every link's when none is named. */
  | { readonly type: 'supply.rate'; readonly linkId?: string; readonly rateBitsPerSecond: number };

export type KmeResult =
  | { readonly ok: true; readonly kind: 'status'; readonly status: Status }
  | { readonly ok: true; readonly kind: 'keys'; readonly keys: readonly DeliveredKey[] }
  | { readonly ok: true; readonly kind: 'done'; readonly changed: boolean }
  | { readonly ok: false; readonly error: KmeError };

export interface StepOutcome {
  readonly result: KmeResult;
  readonly effects: readonly KmeEffect[];
}

const DONE: KmeResult = { ok: true, kind: 'done', changed: true };
const UNCHANGED: KmeResult = { ok: true, kind: 'done', changed: false };

export function executeCommand(world: World, command: KmeCommand, nowMs: number): StepOutcome {
  if (!Number.isFinite(nowMs) || nowMs < world.nowMs) {
    throw new Error(`executeCommand: time must not go backwards (world at ${world.nowMs} ms, command at ${nowMs} ms)`);
  }
  world.nowMs = nowMs;
  const effects: KmeEffect[] = [];
  expireDue(world, nowMs, effects);
  const result = dispatch(world, command, nowMs, effects);
  return { result, effects };
}

function dispatch(world: World, command: KmeCommand, nowMs: number, effects: KmeEffect[]): KmeResult {
  switch (command.type) {
    case 'sae.register':
      return registerSae(world, command, nowMs, effects);
    case 'sae.delete':
      return deleteSae(world, command.saeId, effects);
    case 'keys.status':
      return status(world, command.kmeId, command.callerSaeId, command.slaveSaeId, nowMs, effects);
    case 'keys.enc': {
      let planned = planEncKeys(world, command);
      // A pool fed continuously from its link takes what the store holds, when that is enough for the
      // request: a request refused all the same changes nothing (I7).
      if (!planned.ok && planned.starved !== undefined && feedWouldServe(world, planned.starved, command.request.number ?? 1, nowMs) && feedFromStore(world, planned.starved, nowMs, effects) > 0) {
        planned = planEncKeys(world, command);
      }
      if (!planned.ok) {
        // A request refused for want of keys is demand: the pool asks the remote for keys (unless a sync is
        // already in flight), so a pool left above its threshold but below what clients ask for recovers.
        if (planned.starved !== undefined && !world.config.bugs.has('no-demand-sync')) startSync(world, planned.starved, 'demand', effects);
        return { ok: false, error: planned.error };
      }
      return { ok: true, kind: 'keys', keys: commitEncKeys(world, planned.plan, nowMs, effects) };
    }
    case 'keys.dec': {
      const outcome = decKeys(world, command);
      return outcome.ok ? { ok: true, kind: 'keys', keys: outcome.keys } : outcome;
    }
    case 'sync.start': {
      const pool = livePool(world, command.poolId);
      if (pool.deleted) return UNCHANGED;
      if (command.keyCount !== undefined && (!Number.isSafeInteger(command.keyCount) || command.keyCount < 1)) throw new Error(`sync.start: bad key count ${command.keyCount}`);
      return startSync(world, pool, command.reason, effects, command.keyCount) ? DONE : UNCHANGED;
    }
    case 'sync.complete':
      return completeSync(world, command.poolId, command.attempt, command.keyCount, nowMs, effects);
    case 'sync.fail': {
      const pool = livePool(world, command.poolId);
      if (!isCurrentSync(world, pool, command.attempt, 'sync.fail')) return UNCHANGED;
      failSync(world, pool, nowMs, effects);
      return DONE;
    }
    case 'sync.retry': {
      // A retry that is no longer due (the sync completed, was aborted or retried already) is refused by the machine.
      const pool = livePool(world, command.poolId);
      if (pool.syncAttempt !== command.attempt) return UNCHANGED;
      return retrySync(world, pool, effects) ? DONE : UNCHANGED;
    }
    case 'remote.down':
    case 'remote.up':
      return setRemote(world, command.type === 'remote.up' ? 'online' : 'offline', command.linkId, effects);
    case 'clock.tick':
      return UNCHANGED;
    case 'kme.restart':
      return restartKme(world, command.kmeId, effects);
    case 'supply.rate':
      return setSupplyRate(world, command.linkId, command.rateBitsPerSecond) ? DONE : UNCHANGED;
  }
}

function livePool(world: World, poolId: string): Pool {
  const pool = world.pools.get(poolId);
  if (pool === undefined) throw new Error(`executeCommand: no pool "${poolId}"`);
  return pool;
}

/** Whether an answer belongs to the sync in flight: its attempt number, and a machine that takes the event. */
function isCurrentSync(world: World, pool: Pool, attempt: number, event: PoolEventType): boolean {
  return pool.syncAttempt === attempt && canStepPool(world, pool.state, event);
}

function registerSae(world: World, command: RegisterSaeCommand, nowMs: number, effects: KmeEffect[]): KmeResult {
  const capacity = command.capacity ?? world.config.profile.poolCapacity;
  const invalid =
    world.saes.has(command.saeId) ||
    !world.kmes.has(command.kmeId) ||
    command.saeId.length === 0 ||
    !Number.isSafeInteger(capacity) ||
    capacity < 1 ||
    (command.initialKeys !== undefined && !(Number.isSafeInteger(command.initialKeys) && command.initialKeys >= 0));
  if (invalid || takesKeyIdOwner(world, command.saeId, command.kmeId)) return { ok: false, error: kmeError('badRequest', [{ sae_id: command.saeId }]) };
  world.saes.set(command.saeId, {
    id: command.saeId,
    kmeId: command.kmeId,
    ...(command.name === undefined ? {} : { name: command.name }),
    ...(command.email === undefined ? {} : { email: command.email }),
  });
  for (const otherKme of world.kmes) {
    const linkId = linkIdOf(command.kmeId, otherKme);
    const poolId = poolIdOf(linkId, command.saeId);
    // A re-registered SAE takes its old pool back, so its sequence numbers (and key IDs) never repeat.
    const existing = world.pools.get(poolId);
    const pool = existing ?? createPool(linkId, command.saeId, capacity, keyIdOwnerOf(command.saeId, command.kmeId, otherKme));
    pool.deleted = false;
    world.pools.set(poolId, pool);
    const link = world.links.get(linkId);
    // A pool fed continuously takes its keys when first asked, not at registration.
    if (link?.remote === 'online' && !fedContinuously(world, pool)) addKeys(world, pool, fromRemote(world, pool, command.initialKeys ?? capacity, nowMs), 'remote', nowMs, effects);
    // A new pool starts online; an old one has followed its link all along (setRemote steps every pool).
    if (link?.remote === 'offline' && existing === undefined) pool.state = stepPool(world, pool.state, 'remote.down');
    updateLevel(world, pool, effects);
  }
  return DONE;
}

/**
 * Sequential key IDs name their pool's owner (C19: an ID is never issued twice). A registration whose new
 * pools would carry an owner another pool already has (a look-alike name such as "bob_KME_A", or an SAE
 * coming back on another KME) would issue that pool's IDs again: it is refused.
 */
function takesKeyIdOwner(world: World, saeId: string, kmeId: string): boolean {
  if (world.config.profile.keyIdFormat !== 'sequential') return false;
  const kmes = [...world.kmes];
  const taken = (owner: string): boolean => {
    // Only a pool whose slave is the owner itself, or the owner less a "_<KME>" suffix, can carry it.
    const slaves = [owner, ...kmes.filter((kme) => owner.endsWith(`_${kme}`)).map((kme) => owner.slice(0, -(kme.length + 1)))];
    return slaves.some((slave) => kmes.some((a) => kmes.some((b) => world.pools.get(poolIdOf(linkIdOf(a, b), slave))?.keyIdOwner === owner)));
  };
  return kmes.some((otherKme) => !world.pools.has(poolIdOf(linkIdOf(kmeId, otherKme), saeId)) && taken(keyIdOwnerOf(saeId, kmeId, otherKme)));
}

function deleteSae(world: World, saeId: string, effects: KmeEffect[]): KmeResult {
  if (!world.saes.has(saeId)) return { ok: false, error: kmeError('unknownSlave', [{ sae_id: saeId }]) };
  world.saes.delete(saeId);
  const pools = [...world.pools.values()].filter((pool) => pool.slaveSaeId === saeId);
  for (const pool of pools) {
    const stored = advanceHead(pool, pool.tailSeq);
    if (stored > 0) stepKey(world, KEY_STATE_INDEX.stored, 'key.discard', stored);
    pool.discarded += stored;
    pool.deleted = true;
    abortSync(world, pool);
    // The level follows the counts (I8); a deleted pool asks for no sync.
    updateLevel(world, pool, effects);
    effects.push({ type: 'keys.discarded', poolId: pool.id, count: stored });
  }
  const poolIds = new Set(pools.map((pool) => pool.id));
  for (const key of world.reserved.values()) {
    if (!poolIds.has(key.poolId)) continue;
    world.reserved.delete(key.keyId);
    // A key its slaves all retrieved stays on record only under the double-delivery bug: it is already counted.
    if (key.state !== KEY_STATE_INDEX.reserved) continue;
    const pool = world.pools.get(key.poolId) as Pool;
    key.state = stepKey(world, key.state, 'key.discard');
    pool.reserved -= 1;
    pool.discarded += 1;
    effects.push({ type: 'keys.discarded', poolId: pool.id, count: 1 });
  }
  // Its retrievals, as slave or as master, can no longer be repeated: an SAE registered later under the
  // same ID is someone else.
  for (const [id, recent] of world.recentRetrievals) {
    if (recent.masterSaeId === saeId || recent.saeId === saeId) world.recentRetrievals.delete(id);
  }
  return DONE;
}

function status(world: World, kmeId: string, callerSaeId: string, slaveSaeId: string, nowMs: number, effects: KmeEffect[]): KmeResult {
  const { profile, bugs } = world.config;
  const refusal = unauthorizedCaller(world, callerSaeId, kmeId);
  if (refusal !== null) return { ok: false, error: refusal };
  const slave = world.saes.get(slaveSaeId);
  const pool = slavePoolOf(world, kmeId, slaveSaeId);
  if (slave === undefined || pool === undefined) {
    return { ok: false, error: kmeError('unknownSlave', [{ slave_SAE_ID: slaveSaeId }]) };
  }
  // A pool fed continuously from its link counts what the store holds for it now.
  feedFromStore(world, pool, nowMs, effects);
  // The count-drift bug also counts delivered keys still waiting for their slave (breaks I8, C14).
  const stored = deliverableKeys(world, pool) + (bugs.has('count-drift') ? pool.reserved : 0);
  const parts = describePoolState(pool.state);
  return {
    ok: true,
    kind: 'status',
    status: {
      source_KME_ID: kmeId,
      target_KME_ID: slave.kmeId,
      master_SAE_ID: callerSaeId,
      slave_SAE_ID: slaveSaeId,
      key_size: profile.keySizeBits,
      stored_key_count: stored,
      max_key_count: pool.capacity,
      max_key_per_request: profile.maxKeysPerRequest,
      max_key_size: profile.maxKeySizeBits,
      min_key_size: profile.minKeySizeBits,
      max_SAE_ID_count: profile.maxSaeIdCount,
      ...(profile.statusExtension
        ? { status_extension: { pool: { level: parts.level, sync: parts.sync, remote: parts.remote, reserved_key_count: pool.reserved } } }
        : {}),
    },
  };
}

function completeSync(world: World, poolId: string, attempt: number, keyCount: number, nowMs: number, effects: KmeEffect[]): KmeResult {
  const pool = livePool(world, poolId);
  if (!isCurrentSync(world, pool, attempt, 'sync.complete') || pool.deleted) return UNCHANGED;
  if (!Number.isSafeInteger(keyCount) || keyCount < 0) throw new Error(`sync.complete: bad key count ${keyCount}`);
  if (world.links.get(pool.linkId)?.remote !== 'online') {
    // Key material only ever comes from the remote (I10): an answer while it is down is a failed sync.
    failSync(world, pool, nowMs, effects);
    return DONE;
  }
  // With a key supply, the remote gives what its store holds (a drained store gives nothing).
  const received = fromRemote(world, pool, keyCount, nowMs);
  if (received === 0 && availableKeys(pool) < pool.capacity) {
    // An empty answer is no progress: back off rather than ask again at once.
    failSync(world, pool, nowMs, effects, keyCount > 0 && world.links.get(pool.linkId)?.supply != null);
    return DONE;
  }
  pool.state = stepPool(world, pool.state, 'sync.complete');
  pool.syncReason = null;
  pool.failedAttempts = 0;
  pool.retryAtMs = null;
  pool.lastSyncAtMs = nowMs;
  const added = addKeys(world, pool, received, 'remote', nowMs, effects);
  effects.push({ type: 'sync.completed', poolId, received, added });
  updateLevel(world, pool, effects);
  return DONE;
}

function setRemote(world: World, remote: 'online' | 'offline', linkId: string | undefined, effects: KmeEffect[]): KmeResult {
  if (linkId !== undefined && !world.links.has(linkId)) throw new Error(`executeCommand: no link "${linkId}"`);
  const changed = new Set<string>();
  for (const link of world.links.values()) {
    if ((linkId !== undefined && link.id !== linkId) || link.remote === remote) continue;
    // The store counts what the link produced up to now, in the state it was in.
    if (link.supply !== null) accrue(link.supply, world.nowMs, link.remote === 'online');
    link.remote = remote;
    changed.add(link.id);
  }
  if (changed.size === 0) return UNCHANGED;
  // Only pools of links that changed: a pool backing off on a link that was up all along keeps waiting.
  for (const pool of world.pools.values()) {
    if (!changed.has(pool.linkId)) continue;
    pool.state = stepPool(world, pool.state, remote === 'online' ? 'remote.up' : 'remote.down');
    // Back online: pools waiting out a backoff try again at once rather than at their next retry.
    if (remote === 'online' && !pool.deleted) retrySync(world, pool, effects);
  }
  return DONE;
}

function restartKme(world: World, kmeId: string, effects: KmeEffect[]): KmeResult {
  if (!world.kmes.has(kmeId)) throw new Error(`executeCommand: no KME "${kmeId}"`);
  const touches = (linkId: string): boolean => world.links.get(linkId)?.kmeIds.includes(kmeId) === true;
  if (world.config.bugs.has('restart-loses-keys')) {
    // The bug: delivered keys were only held in memory, so their slaves can no longer retrieve them (breaks I2).
    for (const key of [...world.reserved.values()]) {
      if (!touches(key.linkId)) continue;
      world.reserved.delete(key.keyId);
      // A key kept after its last retrieval (the double-delivery bug) is already counted as consumed.
      if (key.state !== KEY_STATE_INDEX.reserved) continue;
      const pool = world.pools.get(key.poolId) as Pool;
      key.state = stepKey(world, key.state, 'key.discard');
      pool.reserved -= 1;
      pool.discarded += 1;
    }
  }
  for (const pool of world.pools.values()) {
    if (!touches(pool.linkId) || pool.deleted) continue;
    // A sync in flight does not survive the restart; a pool still below its threshold asks again.
    abortSync(world, pool);
    updateLevel(world, pool, effects);
  }
  return DONE;
}

/**
 * enc_keys split where a careless server awaits (the check-then-act bug): the check runs now, the
 * reservation when `commit` runs. A refused request is left to executeCommand, so its answer is the usual one.
 */
export function checkEncKeys(world: World, command: EncKeysCommand): { readonly commit: (nowMs: number) => StepOutcome } | null {
  const planned = planEncKeys(world, command);
  if (!planned.ok) return null;
  return {
    commit(nowMs) {
      const effects: KmeEffect[] = [];
      const keys = commitEncKeys(world, planned.plan, nowMs, effects);
      return { result: { ok: true, kind: 'keys', keys }, effects };
    },
  };
}
