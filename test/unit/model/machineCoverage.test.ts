// Machine coverage, as run reports show it, counts only moves the tables allow: a command the machine
// refuses counts nothing, and neither do the records that bugs leave behind.
import { expect, it } from 'vitest';
import { NO_TRANSITION } from '../../../src/model/compileMachine.js';
import { compiledKeyMachine } from '../../../src/model/compiledMachines.js';
import { KEY_STATE_INDEX, MACHINE_TABLES } from '../../../src/model/lifecycles.js';
import type { World } from '../../../src/model/world.js';
import { dec, enc, idsOf, isConserved, KME_A, KME_B, makeWorld, poolOf, run } from './coreWorld.js';

function countedCells(world: World): { key: number[]; pool: number[] } {
  const counted = (counts: Uint32Array): number[] => [...counts.keys()].filter((cell) => (counts[cell] as number) > 0);
  return { key: counted(world.coverage.key), pool: counted(world.coverage.pool) };
}

function expectOnlyLegalCells(world: World): void {
  const { key, pool } = countedCells(world);
  for (const cell of key) expect(MACHINE_TABLES.key[cell], `key cell ${cell}`).not.toBe(NO_TRANSITION);
  for (const cell of pool) expect(MACHINE_TABLES.pool[cell], `pool cell ${cell}`).not.toBe(NO_TRANSITION);
}

const snapshot = (world: World) => ({ key: [...world.coverage.key], pool: [...world.coverage.pool] });

it('counts nothing for a command whose event the pool machine refuses', () => {
  const world = makeWorld({ capacity: 10, initialKeys: 0 });
  const pool = poolOf(world, 'bob');
  const before = snapshot(world);
  // A sync is in flight: a second one, a retry and an answer to an old attempt are all refused.
  expect(run(world, { type: 'sync.start', poolId: pool.id, reason: 'manual' }).result).toMatchObject({ changed: false });
  expect(run(world, { type: 'sync.retry', poolId: pool.id, attempt: pool.syncAttempt }).result).toMatchObject({ changed: false });
  expect(run(world, { type: 'sync.fail', poolId: pool.id, attempt: pool.syncAttempt - 1 }).result).toMatchObject({ changed: false });
  expect(snapshot(world)).toEqual(before);
  expectOnlyLegalCells(world);
});

it('counts a key the double-delivery bug serves again as nothing, and forgets its record without a discard when its SAE goes', () => {
  const world = makeWorld({ kmeIds: [KME_A, KME_B], saes: { alice: KME_A, bob: KME_B }, bugs: ['double-delivery'], capacity: 10 });
  const ids = idsOf(enc(world, 'alice', 'bob'));
  expect(idsOf(dec(world, 'bob', 'alice', ids, KME_B))).toEqual(ids);
  const consumed = snapshot(world);
  expect(idsOf(dec(world, 'bob', 'alice', ids, KME_A))).toEqual(ids);
  expect(snapshot(world)).toEqual(consumed);
  const pool = poolOf(world, 'bob', KME_A);
  run(world, { type: 'sae.delete', saeId: 'bob' });
  // The consumed key's record is gone; it is not discarded a second time.
  const consumedOnDiscard = KEY_STATE_INDEX.consumed * compiledKeyMachine.eventTypes.length + compiledKeyMachine.eventTypes.indexOf('key.discard');
  expect(world.coverage.key[consumedOnDiscard]).toBe(0);
  expect(pool).toMatchObject({ consumed: 1, reserved: 0, discarded: 9 });
  expect(isConserved(pool)).toBe(true);
  expectOnlyLegalCells(world);
});

it('counts the keys the restart-loses-keys bug drops as discarded, and the pop-on-enc bug’s as consumed, all legal cells', () => {
  const world = makeWorld({ bugs: ['restart-loses-keys'], capacity: 10 });
  idsOf(enc(world, 'alice', 'bob', { number: 2 }));
  run(world, { type: 'kme.restart', kmeId: KME_A });
  expect(poolOf(world, 'bob')).toMatchObject({ reserved: 0, discarded: 2 });
  expectOnlyLegalCells(world);
  const popped = makeWorld({ bugs: ['pop-on-enc'], capacity: 10 });
  idsOf(enc(popped, 'alice', 'bob', { number: 3 }));
  expect(poolOf(popped, 'bob')).toMatchObject({ reserved: 0, consumed: 3 });
  expectOnlyLegalCells(popped);
});
