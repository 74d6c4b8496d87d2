// What a repeated dec_keys gets after a lost answer (LATITUDE.md "retry after a lost answer"): under the
// profile's `retry: burn` the repeat is refused as for unknown keys; under `idempotent` the slave that
// retrieved the keys gets the same keys again within the grace, and nothing changes; the history checker
// accepts exactly those repeats when told the grace, and no others.
import { expect, it } from 'vitest';
import { createHistoryChecker, type Exchange } from '../../../src/model/historyChecker.js';
import { resolveProfile } from '../../../src/model/profiles.js';
import { worldDigest } from '../../../src/model/worldDigest.js';
import { bytesOf, dec, enc, errorOf, idsOf, keysOf, makeWorld, poolOf, run } from './coreWorld.js';

const GRACE_MS = 30_000;
const idempotent = resolveProfile('strict', { retry: 'idempotent', retryGraceMs: GRACE_MS });

it('burn (the default): a repeated dec_keys is refused as for unknown keys', () => {
  const world = makeWorld();
  const ids = idsOf(enc(world, 'alice', 'bob', { number: 2 }));
  expect(idsOf(dec(world, 'bob', 'alice', ids))).toEqual(ids);
  expect(errorOf(world, dec(world, 'bob', 'alice', ids, undefined, 1_000)).status).toBe(400);
});

it('idempotent: the slave repeating within the grace gets the same keys and bytes, and nothing changes', () => {
  const world = makeWorld({ profile: idempotent });
  const sent = keysOf(enc(world, 'alice', 'bob', { number: 3 }));
  const ids = sent.map((key) => key.keyId);
  const first = keysOf(dec(world, 'bob', 'alice', ids, undefined, 1_000));
  const before = worldDigest(world);
  const consumed = poolOf(world, 'bob').consumed;
  // At the same instant (the digest covers the clock too), and in another order.
  const again = keysOf(dec(world, 'bob', 'alice', [...ids].reverse(), undefined, 1_000));
  expect(worldDigest(world)).toBe(before);
  expect(again.map((key) => key.keyId)).toEqual([...ids].reverse());
  expect(again.map((key) => bytesOf(world, key))).toEqual([...first].reverse().map((key) => bytesOf(world, key)));
  expect(poolOf(world, 'bob').consumed).toBe(consumed);
  // Still within the grace (its last millisecond), then past it.
  expect(idsOf(dec(world, 'bob', 'alice', ids, undefined, 1_000 + GRACE_MS - 1))).toEqual(ids);
  expect(errorOf(world, dec(world, 'bob', 'alice', ids, undefined, 1_000 + GRACE_MS)).status).toBe(400);
});

it('idempotent: nobody else gets a repeat, nor the slave under another master, nor with a key it never had', () => {
  const world = makeWorld({ saes: { alice: 'kme-a', bob: 'kme-a', carol: 'kme-a' }, profile: idempotent });
  const ids = idsOf(enc(world, 'alice', 'bob', { number: 2 }));
  const carols = idsOf(enc(world, 'alice', 'carol'));
  dec(world, 'bob', 'alice', ids);
  expect(errorOf(world, dec(world, 'carol', 'alice', ids)).status).toBe(400);
  expect(errorOf(world, dec(world, 'bob', 'carol', ids)).status).toBe(400);
  // All or nothing: a repeat mixed with a key that is not the caller's is refused whole, and consumes nothing.
  expect(errorOf(world, dec(world, 'bob', 'alice', [...ids, ...carols])).status).toBe(401);
  expect(idsOf(dec(world, 'carol', 'alice', carols))).toEqual(carols);
});

it('idempotent: a repeat does not outlive the deletion of its slave or of its master', () => {
  for (const deleted of ['bob', 'alice']) {
    const world = makeWorld({ profile: idempotent });
    const ids = idsOf(enc(world, 'alice', 'bob'));
    dec(world, 'bob', 'alice', ids, undefined, 1_000);
    run(world, { type: 'sae.delete', saeId: deleted }, 2_000);
    run(world, { type: 'sae.register', saeId: deleted, kmeId: 'kme-a' }, 3_000);
    expect(errorOf(world, dec(world, 'bob', 'alice', ids, undefined, 4_000)).status, `after deleting ${deleted}`).toBe(400);
  }
});

it('idempotent: a repeat never outlives the key’s TTL', () => {
  const short = resolveProfile('strict', { retry: 'idempotent', retryGraceMs: GRACE_MS, keyTtlMs: 10_000 });
  const world = makeWorld({ profile: short });
  const ids = idsOf(enc(world, 'alice', 'bob'));
  dec(world, 'bob', 'alice', ids, undefined, 9_000);
  expect(idsOf(dec(world, 'bob', 'alice', ids, undefined, 9_999))).toEqual(ids);
  expect(errorOf(world, dec(world, 'bob', 'alice', ids, undefined, 10_000)).status).toBe(400);
});

function exchanges(): { enc: Exchange; dec: (id: number, atMs: number, hash?: string) => Exchange } {
  const key = { keyId: 'k1', materialHash: 'h1', sizeBits: 256 };
  return {
    enc: { op: 'enc', id: 1, atMs: 0, kmeId: 'A', callerSaeId: 'alice', slaveSaeId: 'bob', additionalSlaveSaeIds: [], expectedSizeBits: 256, status: 200, keys: [key] },
    dec: (id, atMs, hash = 'h1') => ({ op: 'dec', id, atMs, kmeId: 'A', callerSaeId: 'bob', masterSaeId: 'alice', keyIds: ['k1'], status: 200, keys: [{ ...key, materialHash: hash }] }),
  };
}

it('the history checker accepts a repeat within the grace it is told, and judges every other second retrieval (I3, I4)', () => {
  const { enc: issued, dec: retrieval } = exchanges();
  const strict = createHistoryChecker();
  strict.observe(issued);
  expect(strict.observe(retrieval(2, 10))).toEqual([]);
  expect(strict.observe(retrieval(3, 20)).map((v) => v.invariant)).toEqual(['I3']);

  const graced = createHistoryChecker({ repeatGraceMs: 1_000 });
  graced.observe(issued);
  expect(graced.observe(retrieval(2, 10))).toEqual([]);
  expect(graced.observe(retrieval(3, 1_010))).toEqual([]);
  expect(graced.observe(retrieval(4, 500, 'other bytes')).map((v) => v.invariant)).toEqual(['I4']);
  expect(graced.observe(retrieval(5, 1_011)).map((v) => v.invariant)).toEqual(['I3']);
});
