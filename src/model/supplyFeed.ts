// How a link's key supply reaches the pools in the core (keySupply.ts holds the store itself): what the
// remote gives a pool when it syncs or registers, the continuous feed that tops a pool up when a client
// asks, and the `supply.rate` command.
import { accrue, drawKeys, grantableKeys } from './keySupply.js';
import { addKeys, fedContinuously, type KmeEffect } from './poolOps.js';
import { availableKeys, type Pool, type World } from './world.js';

/** The `supply.rate` command: a link's rate (or every link's) from now on; returns whether any changed. */
export function setSupplyRate(world: World, linkId: string | undefined, rateBitsPerSecond: number): boolean {
  if (!Number.isFinite(rateBitsPerSecond) || rateBitsPerSecond < 0) throw new Error(`supply.rate: bad rate ${rateBitsPerSecond}`);
  if (linkId !== undefined && !world.links.has(linkId)) throw new Error(`executeCommand: no link "${linkId}"`);
  let changed = false;
  for (const link of world.links.values()) {
    if ((linkId !== undefined && link.id !== linkId) || link.supply === null || link.supply.rateBitsPerSecond === rateBitsPerSecond) continue;
    // What the link made up to now counts at the rate it had.
    accrue(link.supply, world.nowMs, link.remote === 'online');
    link.supply.rateBitsPerSecond = rateBitsPerSecond;
    changed = true;
  }
  return changed;
}

/**
 * Keys the link's remote key manager gives a pool now: what it asks for, from an endless source; with a
 * key supply, at most what the store holds and the pool has room for (keySupply.ts).
 */
export function fromRemote(world: World, pool: Pool, keys: number, nowMs: number): number {
  const link = world.links.get(pool.linkId);
  if (link === undefined || link.supply === null) return keys;
  const room = Math.max(0, pool.capacity - availableKeys(pool));
  return drawKeys(link.supply, Math.min(keys, room), world.config.profile.keySizeBits, nowMs, link.remote === 'online');
}

/** Whether topping the pool up from its continuously feeding link's store now would give it `count` keys. */
export function feedWouldServe(world: World, pool: Pool, count: number, nowMs: number): boolean {
  const link = world.links.get(pool.linkId);
  if (link === undefined || link.supply === null || !fedContinuously(world, pool) || link.remote !== 'online' || pool.deleted) return false;
  // Only a request refused for want of keys comes here (planEncKeys checks the waiting bound first); the
  // store would give what feedFromStore asks of it: the pool's room.
  const available = availableKeys(pool);
  return available + grantableKeys(link.supply, pool.capacity - available, world.config.profile.keySizeBits, nowMs, true) >= count;
}

/** Tops a pool up from its link's store when the link feeds continuously (keySupply.ts); returns the keys added. */
export function feedFromStore(world: World, pool: Pool, nowMs: number, effects: KmeEffect[]): number {
  const link = world.links.get(pool.linkId);
  if (link === undefined || !fedContinuously(world, pool) || link.remote !== 'online' || pool.deleted) return 0;
  const received = fromRemote(world, pool, pool.capacity - availableKeys(pool), nowMs);
  return received === 0 ? 0 : addKeys(world, pool, received, 'remote', nowMs, effects);
}
