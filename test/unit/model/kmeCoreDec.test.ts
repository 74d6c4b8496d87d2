// Checks Get key with key IDs (dec_keys) of the pure KME core against ETSI014.md items C29 and C33 to C39, all-or-nothing (I7) and the compat profiles, by delivering keys with enc_keys and retrieving them on one- and two-KME worlds.
import { expect, it } from 'vitest';
import { deriveKeyId } from '../../../src/model/keyIds.js';
import { lenientProfile, perUserPoolProfile, resolveProfile, strictProfile } from '../../../src/model/profiles.js';
import type { KmeCommand } from '../../../src/model/kmeCore.js';
import { SPEC_ERROR } from '../../../src/model/wireSchema.js';
import {
  expectRefusedChangingNothingButDemand,
  bytesOf,
  dec,
  enc,
  errorOf,
  idsOf,
  KME_A,
  KME_B,
  keysOf,
  makeWorld,
  poolOf,
  run,
  statusOf,
} from './coreWorld.js';

const STRANGER_ID = deriveKeyId('another-seed', 'nowhere', 1);

it('C33 the slave calling dec_keys on its own KME gets the identical key IDs and bytes', () => {
  for (const saes of [{ alice: KME_A, bob: KME_A }, { alice: KME_A, bob: KME_B }, { alice: KME_B, bob: KME_A }]) {
    const world = makeWorld({ kmeIds: [KME_A, KME_B], saes });
    const sent = keysOf(enc(world, 'alice', 'bob', { number: 3, size: 512 }));
    const received = keysOf(dec(world, 'bob', 'alice', sent.map((key) => key.keyId)));
    expect(received.map((key) => key.keyId)).toEqual(sent.map((key) => key.keyId));
    expect(received.map((key) => bytesOf(world, key))).toEqual(sent.map((key) => bytesOf(world, key)));
    expect(received.map((key) => key.sizeBits)).toEqual([512, 512, 512]);
  }
});

it('C34 dec_keys returns every requested key in request order, and works for one ID', () => {
  const world = makeWorld();
  const [first, second, third] = idsOf(enc(world, 'alice', 'bob', { number: 4 })) as [string, string, string, string];
  expect(idsOf(dec(world, 'bob', 'alice', [third, first, second]))).toEqual([third, first, second]);
  const [only] = idsOf(enc(world, 'alice', 'bob')) as [string];
  expect(idsOf(dec(world, 'bob', 'alice', [only]))).toEqual([only]);
});

it('C35 a caller not named as slave gets 401 and nothing is consumed', () => {
  const world = makeWorld({ saes: { alice: KME_A, bob: KME_A, carol: KME_A } });
  const forBob = idsOf(enc(world, 'alice', 'bob', { number: 2 }));
  const forCarol = idsOf(enc(world, 'alice', 'carol'));
  expect(errorOf(world, dec(world, 'carol', 'alice', forBob)).status).toBe(401);
  expect(errorOf(world, dec(world, 'bob', 'alice', [...forBob, ...forCarol])).status).toBe(401);
  expect(errorOf(world, dec(world, 'mallory', 'alice', forBob)).status).toBe(401);
  // 401 before 400: a request naming someone else's key and a key that does not exist is unauthorized.
  expect(errorOf(world, dec(world, 'carol', 'alice', [STRANGER_ID, ...forBob])).status).toBe(401);
  expect(poolOf(world, 'bob')).toMatchObject({ reserved: 2, consumed: 0 });
  expect(idsOf(dec(world, 'bob', 'alice', forBob))).toEqual(forBob);
  expect(idsOf(dec(world, 'carol', 'alice', forCarol))).toEqual(forCarol);
});

it('C36 unknown, consumed, expired and other-master key IDs get 400 with spec string 5', () => {
  const world = makeWorld({ kmeIds: [KME_A, KME_B, 'kme-c'], saes: { alice: KME_A, bob: KME_B, carol: KME_A } });
  const [consumed, expiring, other] = idsOf(enc(world, 'alice', 'bob', { number: 3 })) as [string, string, string];
  keysOf(dec(world, 'bob', 'alice', [consumed]));
  const cases: Array<[string, () => ReturnType<typeof dec>]> = [
    ['unknown', () => dec(world, 'bob', 'alice', [STRANGER_ID])],
    ['consumed', () => dec(world, 'bob', 'alice', [consumed])],
    ['another master', () => dec(world, 'bob', 'carol', [other])],
    ['a KME off the key link', () => dec(world, 'bob', 'alice', [other], 'kme-c')],
    ['expired', () => dec(world, 'bob', 'alice', [expiring], KME_B, strictProfile.keyTtlMs)],
  ];
  for (const [name, call] of cases) {
    expect(errorOf(world, call()), name).toEqual({
      status: 400,
      body: expect.objectContaining({ message: SPEC_ERROR.keysNotFound }) as unknown,
    });
  }
});

it('C37 after a successful dec_keys the key cannot be retrieved again, on either KME of its link', () => {
  const world = makeWorld({ kmeIds: [KME_A, KME_B], saes: { alice: KME_A, bob: KME_B } });
  const ids = idsOf(enc(world, 'alice', 'bob', { number: 2 }));
  keysOf(dec(world, 'bob', 'alice', ids, KME_B));
  expect(errorOf(world, dec(world, 'bob', 'alice', ids, KME_B)).status).toBe(400);
  expect(errorOf(world, dec(world, 'bob', 'alice', ids, KME_A)).status).toBe(400);
  expect(poolOf(world, 'bob', KME_A)).toMatchObject({ reserved: 0, consumed: 2 });
  expect(world.reserved.size).toBe(0);
});

it('C38 a failed dec_keys consumes nothing, not even the keys it found', () => {
  const world = makeWorld();
  const ids = idsOf(enc(world, 'alice', 'bob', { number: 2 }));
  expect(errorOf(world, dec(world, 'bob', 'alice', [...ids, STRANGER_ID])).status).toBe(400);
  expect(poolOf(world, 'bob')).toMatchObject({ reserved: 2, consumed: 0 });
  expect(idsOf(dec(world, 'bob', 'alice', ids))).toEqual(ids);
});

it('C39 an empty, duplicated or non-UUID list of key IDs gets 400', () => {
  const world = makeWorld();
  const [id] = idsOf(enc(world, 'alice', 'bob')) as [string];
  for (const keyIds of [[], ['key-1'], [''], [id.slice(0, -1)], [`${id} `], [id, id]]) {
    expect(errorOf(world, dec(world, 'bob', 'alice', keyIds)).status, JSON.stringify(keyIds)).toBe(400);
  }
  expect(idsOf(dec(world, 'bob', 'alice', [id]))).toEqual([id]);
});

it('C29 multicast delivers identical bytes to every named slave, each once, and consumes after the last', () => {
  const profile = resolveProfile('strict', { maxSaeIdCount: 2 });
  const world = makeWorld({ profile, saes: { alice: KME_A, bob: KME_A, carol: KME_A, dave: KME_A, erin: KME_A } });
  const sent = keysOf(enc(world, 'alice', 'bob', { number: 2, additional_slave_SAE_IDs: ['carol', 'dave'] }));
  const ids = sent.map((key) => key.keyId);
  const pool = poolOf(world, 'bob');
  expect(errorOf(world, dec(world, 'erin', 'alice', ids)).status).toBe(401);
  for (const [index, slave] of ['carol', 'bob', 'dave'].entries()) {
    expect(pool, `before ${slave}`).toMatchObject({ reserved: 2, consumed: 0 });
    const received = keysOf(dec(world, slave, 'alice', ids));
    expect(received.map((key) => bytesOf(world, key))).toEqual(sent.map((key) => bytesOf(world, key)));
    expect(errorOf(world, dec(world, slave, 'alice', ids)).status, `${slave} again`).toBe(400);
    if (index < 2) expect(world.reserved.size).toBe(2);
  }
  expect(pool).toMatchObject({ reserved: 0, consumed: 2 });
  expect(world.reserved.size).toBe(0);
});

it('I7 a refused request of any kind leaves a deep-equal world', () => {
  const profile = resolveProfile('strict', { maxSaeIdCount: 1 });
  const world = makeWorld({ profile, kmeIds: [KME_A, KME_B], saes: { alice: KME_A, bob: KME_B, carol: KME_B }, capacity: 8 });
  const ids = idsOf(enc(world, 'alice', 'bob', { number: 3, additional_slave_SAE_IDs: ['carol'] }));
  keysOf(dec(world, 'carol', 'alice', ids.slice(0, 1), KME_A));
  keysOf(dec(world, 'bob', 'alice', ids.slice(1, 2)));
  const encAs = (callerSaeId: string, kmeId: string, slaveSaeId: string, request: object): KmeCommand => ({
    type: 'keys.enc',
    kmeId,
    callerSaeId,
    slaveSaeId,
    request,
  });
  const decAs = (callerSaeId: string, kmeId: string, masterSaeId: string, keyIds: string[]): KmeCommand => ({
    type: 'keys.dec',
    kmeId,
    callerSaeId,
    masterSaeId,
    keyIds,
  });
  const refused: KmeCommand[] = [
    encAs('mallory', KME_A, 'bob', {}),
    encAs('alice', KME_B, 'bob', {}),
    encAs('alice', KME_A, 'mallory', {}),
    encAs('alice', KME_A, 'bob', { size: 12 }),
    encAs('alice', KME_A, 'bob', { number: 0 }),
    encAs('alice', KME_A, 'bob', { extension_mandatory: [{ unknown_option: 1 }] }),
    encAs('alice', KME_A, 'bob', { additional_slave_SAE_IDs: ['carol', 'alice'] }),
    encAs('alice', KME_A, 'bob', { number: 6 }),
    decAs('alice', KME_A, 'alice', ids),
    decAs('bob', KME_B, 'alice', [...ids, STRANGER_ID]),
    decAs('bob', KME_B, 'alice', ids),
    decAs('carol', KME_B, 'alice', ids.slice(0, 1)),
    decAs('bob', KME_B, 'carol', ids.slice(2)),
    decAs('bob', KME_B, 'alice', []),
    decAs('bob', KME_B, 'alice', ['not-a-key-id']),
    { type: 'keys.status', kmeId: KME_B, callerSaeId: 'alice', slaveSaeId: 'bob' },
    { type: 'sae.register', saeId: 'bob', kmeId: KME_A },
    { type: 'sae.register', saeId: 'zoe', kmeId: 'kme-nowhere' },
    { type: 'sae.delete', saeId: 'mallory' },
  ];
  for (const command of refused) expectRefusedChangingNothingButDemand(world, command, world.nowMs + 1_000);
  expect(idsOf(dec(world, 'bob', 'alice', [ids[0] as string, ids[2] as string]))).toHaveLength(2);
});

it('issues qk_{SAE}_{seq:06d} key IDs and 8192-bit keys with status_extension on the per-user-pool profile', () => {
  const world = makeWorld({ profile: perUserPoolProfile, capacity: 20 });
  const keys = keysOf(enc(world, 'alice', 'bob', { number: 2 }));
  expect(keys.map((key) => key.keyId)).toEqual(['qk_bob_000001', 'qk_bob_000002']);
  for (const key of keys) {
    expect(key.sizeBits).toBe(8192);
    expect(bytesOf(world, key)).toHaveLength(1024);
  }
  expect(statusOf(world, 'alice', 'bob').status_extension).toEqual({
    pool: { level: 'healthy', sync: 'idle', remote: 'online', reserved_key_count: 2 },
  });
  expect(errorOf(world, enc(world, 'alice', 'bob', { size: 256 })).status).toBe(400);
  expect(idsOf(dec(world, 'bob', 'alice', ['qk_bob_000002']))).toEqual(['qk_bob_000002']);
  expect(idsOf(enc(world, 'bob', 'alice'))).toEqual(['qk_alice_000001']);
});

it('answers 404 Key not found and does not consume on the lenient profile', () => {
  const world = makeWorld({ profile: lenientProfile });
  const ids = idsOf(enc(world, 'alice', 'bob', { number: 2 }));
  expect(errorOf(world, dec(world, 'bob', 'alice', [STRANGER_ID]))).toEqual({ status: 404, body: { message: 'Key not found', details: [{ key_ID: STRANGER_ID }] } });
  const first = keysOf(dec(world, 'bob', 'alice', ids));
  const second = keysOf(dec(world, 'bob', 'alice', ids));
  expect(second).toEqual(first);
  expect(poolOf(world, 'bob')).toMatchObject({ reserved: 2, consumed: 0 });
  expect(errorOf(world, dec(world, 'alice', 'alice', ids)).status).toBe(401);
});

it('drops retrieved keys from the reserved-key expiry queue, keeping every waiting key and their expiry', () => {
  const world = makeWorld({ capacity: 100_000, initialKeys: 100_000 });
  const waiting: string[] = [];
  for (let i = 0; i < 20_000; i++) {
    const ids = idsOf(enc(world, 'alice', 'bob'));
    // One key in a hundred is left waiting for its slave; the rest are retrieved at once.
    if (i % 100 === 0) waiting.push(...ids);
    else expect(dec(world, 'bob', 'alice', ids).result.ok).toBe(true);
  }
  const queued = world.reservedQueue.length - world.reservedHead;
  expect(world.reserved.size).toBe(waiting.length);
  // Without compaction the queue would hold all 20,000 records for a whole key lifetime.
  expect(queued).toBeLessThan(4_096 + 2 * waiting.length + 1);
  expect(world.reservedQueue.slice(world.reservedHead).map((key) => key.keyId)).toEqual(expect.arrayContaining(waiting));
  // The waiting keys still expire when their time comes, and are still retrievable before it.
  expect(dec(world, 'bob', 'alice', waiting.slice(0, 5)).result.ok).toBe(true);
  const later = world.nowMs + world.config.profile.keyTtlMs + 1;
  run(world, { type: 'clock.tick' }, later);
  expect(world.reserved.size).toBe(0);
  expect(dec(world, 'bob', 'alice', waiting.slice(5, 6), undefined, later).result.ok).toBe(false);
});

it('empties the expiry queue when every waiting key has been retrieved, even with no reservation after', () => {
  const world = makeWorld({ capacity: 100_000, initialKeys: 100_000 });
  const ids: string[] = [];
  for (let i = 0; i < 10_000; i++) ids.push(...idsOf(enc(world, 'alice', 'bob')));
  for (const id of ids) expect(dec(world, 'bob', 'alice', [id]).result.ok).toBe(true);
  expect(world.reserved.size).toBe(0);
  expect(world.reservedQueue.length - world.reservedHead).toBeLessThan(4_096);
});
