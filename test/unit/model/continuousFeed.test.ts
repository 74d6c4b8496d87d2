// A link that feeds its pools continuously (keySupply.ts, feed: continuous): a pool takes what the link's
// store holds when a client asks about it (status, enc_keys), takes nothing at registration, never syncs,
// and the store's books still balance (I10).
import { expect, it } from 'vitest';
import { executeCommand } from '../../../src/model/kmeCore.js';
import { resolveProfile, strictProfile } from '../../../src/model/profiles.js';
import { describePoolState } from '../../../src/model/lifecycles.js';
import { checkWorld } from '../../../src/model/worldInvariants.js';
import { availableKeys, createWorld, linkIdOf, poolIdOf, type World } from '../../../src/model/world.js';
import type { SupplySpec } from '../../../src/model/keySupply.js';
import { keysOf, statusOf } from './coreWorld.js';

const KEY_BITS = strictProfile.keySizeBits;

function fedWorld(supply: Partial<SupplySpec> = {}, profile = strictProfile): World {
  const world = createWorld({
    seed: 'feed',
    profile,
    kmeIds: ['A', 'B'],
    bugs: new Set(),
    supply: { rateBitsPerSecond: KEY_BITS, capacityBits: 1_000 * KEY_BITS, initialBits: 3 * KEY_BITS, feed: 'continuous', ...supply },
  });
  for (const [saeId, kmeId] of [['alice', 'A'], ['bob', 'B']] as const) executeCommand(world, { type: 'sae.register', saeId, kmeId, capacity: 100 }, 0);
  return world;
}

const aliceToBob = (world: World) => world.pools.get(poolIdOf(linkIdOf('A', 'B'), 'bob'));
const link = (world: World) => world.links.get(linkIdOf('A', 'B'));
const encAt = (world: World, number: number, atMs: number) =>
  executeCommand(world, { type: 'keys.enc', kmeId: 'A', callerSaeId: 'alice', slaveSaeId: 'bob', request: { number } }, atMs);

it('takes nothing at registration and starts no sync; a status call takes what the store holds', () => {
  const world = fedWorld();
  const pool = aliceToBob(world);
  expect(pool && availableKeys(pool)).toBe(0);
  expect(pool && describePoolState(pool.state).sync).toBe('idle');
  expect(link(world)?.supply?.levelBits).toBe(3 * KEY_BITS);
  // Two seconds later the link has made two more keys: the status counts five, and the store is empty.
  world.nowMs = 2_000;
  expect(statusOf(world, 'alice', 'bob').stored_key_count).toBe(5);
  expect(link(world)?.supply?.levelBits).toBe(0);
  expect(checkWorld(world)).toEqual([]);
});

it('enc_keys takes the shortfall from the store, and refuses only when pool and store together are short', () => {
  const world = fedWorld();
  expect(keysOf(encAt(world, 3, 0))).toHaveLength(3);
  // Nothing left; a second later one key has been made.
  const refused = encAt(world, 2, 1_000);
  expect(refused.result.ok === false && refused.result.error.kind).toBe('insufficientKeys');
  expect(keysOf(encAt(world, 1, 1_000))).toHaveLength(1);
  expect(keysOf(encAt(world, 4, 5_000))).toHaveLength(4);
  const supply = link(world)?.supply;
  expect(supply && supply.drawnBits).toBe(8 * KEY_BITS);
  expect(supply && supply.initialBits + supply.producedBits - supply.drawnBits).toBe(supply?.levelBits);
  // An empty continuously fed pool with no sync under way is not an I12: it fills when asked.
  expect(checkWorld(world)).toEqual([]);
});

it('takes no more than the pool has room for, and nothing while the link is down', () => {
  const world = fedWorld({ initialBits: 500 * KEY_BITS });
  world.nowMs = 1;
  expect(statusOf(world, 'alice', 'bob').stored_key_count).toBe(100);
  expect(link(world)?.supply?.levelBits).toBeCloseTo(400 * KEY_BITS + KEY_BITS / 1_000, 6);
  executeCommand(world, { type: 'remote.down' }, 2);
  expect(keysOf(encAt(world, 100, 2))).toHaveLength(100);
  const refused = encAt(world, 1, 10_000);
  expect(refused.result.ok).toBe(false);
  expect(aliceToBob(world) && availableKeys(aliceToBob(world)!)).toBe(0);
});

it('supply.rate: what the link made so far counts at the old rate, and it makes at the new one after', () => {
  const world = fedWorld({ initialBits: 0 });
  const supply = link(world)?.supply;
  expect(executeCommand(world, { type: 'supply.rate', linkId: linkIdOf('A', 'B'), rateBitsPerSecond: 0 }, 10_000).result).toMatchObject({ changed: true });
  expect(supply?.producedBits).toBe(10 * KEY_BITS);
  // Down for ten seconds: nothing made; then twice the rate for five.
  executeCommand(world, { type: 'supply.rate', linkId: linkIdOf('A', 'B'), rateBitsPerSecond: 2 * KEY_BITS }, 20_000);
  world.nowMs = 25_000;
  expect(statusOf(world, 'alice', 'bob').stored_key_count).toBe(20);
  expect(checkWorld(world)).toEqual([]);
  // Other links keep their own rate; the same rate again changes nothing.
  expect(world.links.get(linkIdOf('A', 'A'))?.supply?.rateBitsPerSecond).toBe(KEY_BITS);
  expect(executeCommand(world, { type: 'supply.rate', linkId: linkIdOf('A', 'B'), rateBitsPerSecond: 2 * KEY_BITS }, 25_000).result).toMatchObject({ changed: false });
  expect(() => executeCommand(world, { type: 'supply.rate', rateBitsPerSecond: -1 }, 25_000)).toThrow(/bad rate/);
});

it('a request the pool and the store together cannot serve is refused and changes nothing (I7)', () => {
  const world = fedWorld({ initialBits: 2 * KEY_BITS });
  const before = link(world)?.supply?.levelBits;
  const refused = encAt(world, 3, 0);
  expect(refused.result.ok).toBe(false);
  expect(refused.effects).toEqual([]);
  expect(link(world)?.supply?.levelBits).toBe(before);
  expect(aliceToBob(world) && availableKeys(aliceToBob(world)!)).toBe(0);
  // One second later the link has made the third key: the same request is served.
  expect(keysOf(encAt(world, 3, 1_000))).toHaveLength(3);
});

it('a request the waiting bound refuses takes nothing from the store, though the store could serve it (I7)', () => {
  // At most 2 delivered keys may wait for their slave; alice takes 2 and bob has not retrieved them.
  const world = fedWorld({ initialBits: 10 * KEY_BITS }, resolveProfile('strict', { maxWaitingKeys: 2 }));
  expect(keysOf(encAt(world, 2, 0))).toHaveLength(2);
  const level = link(world)?.supply?.levelBits;
  const refused = encAt(world, 1, 0);
  expect(refused.result.ok === false && refused.result.error.kind).toBe('tooManyWaiting');
  expect(refused.effects).toEqual([]);
  expect(link(world)?.supply?.levelBits).toBe(level);
});
