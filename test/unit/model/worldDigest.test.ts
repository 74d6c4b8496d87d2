// worldDigest is the state hash the API fuzzing compares around every refused request: it must move with
// every change a command can make (keys, counts, SAEs, links, pools, clock, coverage) and with nothing else
// (map insertion order, queue compaction, copying).
import { expect, it } from 'vitest';
import { describeWorldState, worldDigest } from '../../../src/model/worldDigest.js';
import { cloneWorld } from '../../../src/model/world.js';
import { dec, enc, idsOf, KME_A, KME_B, makeWorld, run } from './coreWorld.js';

const DAY_MS = 86_400_000;

function twoKmeWorld() {
  return makeWorld({ kmeIds: [KME_A, KME_B], saes: { alice: KME_A, bob: KME_B } });
}

it('is a 64-digit hex SHA-256 and the same for a world and its copy', () => {
  const world = twoKmeWorld();
  idsOf(enc(world, 'alice', 'bob', { number: 3 }));
  expect(worldDigest(world)).toMatch(/^[0-9a-f]{64}$/);
  expect(worldDigest(cloneWorld(world))).toBe(worldDigest(world));
});

it('does not depend on the order SAEs were registered in', () => {
  const first = makeWorld({ kmeIds: [KME_A, KME_B], saes: { alice: KME_A, bob: KME_B } });
  const second = makeWorld({ kmeIds: [KME_A, KME_B], saes: { bob: KME_B, alice: KME_A } });
  expect(worldDigest(second)).toBe(worldDigest(first));
});

it('changes when keys are reserved, retrieved, registered, deleted, or a link goes down', () => {
  const world = twoKmeWorld();
  const seen = new Set([worldDigest(world)]);
  const changed = (label: string): void => {
    const digest = worldDigest(world);
    expect(seen.has(digest), label).toBe(false);
    seen.add(digest);
  };
  const ids = idsOf(enc(world, 'alice', 'bob', { number: 2 }));
  changed('enc_keys');
  expect(dec(world, 'bob', 'alice', [ids[0] as string]).result.ok).toBe(true);
  changed('dec_keys');
  run(world, { type: 'sae.register', saeId: 'carol', kmeId: KME_B });
  changed('register');
  run(world, { type: 'remote.down', linkId: `${KME_A}~${KME_B}` });
  changed('remote down');
  run(world, { type: 'sae.delete', saeId: 'carol' });
  changed('delete');
  run(world, { type: 'clock.tick' }, world.nowMs + 1);
  changed('clock');
});

it('changes with a single retrieval record of a key that stays reserved', () => {
  const world = twoKmeWorld();
  const ids = idsOf(enc(world, 'alice', 'bob'));
  const before = worldDigest(world);
  const key = world.reserved.get(ids[0] as string);
  if (key === undefined) throw new Error('no reserved key');
  key.retrievals = [...key.retrievals, { saeId: 'bob', kmeId: KME_B }];
  expect(worldDigest(world)).not.toBe(before);
});

it('stays the same after a refused enc_keys or dec_keys (I7)', () => {
  const world = twoKmeWorld();
  idsOf(enc(world, 'alice', 'bob', { number: 2 }));
  const before = describeWorldState(world);
  expect(enc(world, 'alice', 'bob', { number: 0 }).result.ok).toBe(false);
  expect(enc(world, 'alice', 'nobody').result.ok).toBe(false);
  expect(dec(world, 'bob', 'alice', ['00000000-0000-4000-8000-000000000000']).result.ok).toBe(false);
  expect(describeWorldState(world)).toBe(before);
});

it('ignores how far the expiry queues have been compacted', () => {
  const world = twoKmeWorld();
  for (let i = 0; i < 3; i++) idsOf(enc(world, 'alice', 'bob'));
  run(world, { type: 'clock.tick' }, world.nowMs + 2 * DAY_MS);
  expect(world.reservedHead).toBeGreaterThan(0);
  const compacted = cloneWorld(world);
  compacted.reservedQueue.splice(0, compacted.reservedHead);
  compacted.reservedHead = 0;
  compacted.expiryQueue.splice(0, compacted.expiryHead);
  compacted.expiryHead = 0;
  expect(worldDigest(compacted)).toBe(worldDigest(world));
});
