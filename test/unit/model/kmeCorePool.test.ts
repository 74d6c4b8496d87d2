// Checks pool mechanics of the pure KME core (expiry I11, bounded syncs I12, thresholds, the remote going offline, deleting an SAE) by driving syncs by hand, as the simulator's driver would, on small worlds.
import { expect, it } from 'vitest';
import type { KmeEffect } from '../../../src/model/poolOps.js';
import { describePoolState } from '../../../src/model/lifecycles.js';
import { strictProfile } from '../../../src/model/profiles.js';
import { linkIdOf } from '../../../src/model/world.js';
import {
  dec,
  enc,
  errorOf,
  idsOf,
  isConserved,
  KME_A,
  KME_B,
  keysOf,
  makeWorld,
  poolOf,
  run,
  statusOf,
  storedIn,
} from './coreWorld.js';

const TTL_MS = strictProfile.keyTtlMs;

type SyncRequest = Extract<KmeEffect, { type: 'sync.requested' }>;

function syncRequests(effects: readonly KmeEffect[]): SyncRequest[] {
  return effects.filter((effect): effect is SyncRequest => effect.type === 'sync.requested');
}

function onlySyncRequest(effects: readonly KmeEffect[]): SyncRequest {
  const requests = syncRequests(effects);
  expect(requests).toHaveLength(1);
  return requests[0] as SyncRequest;
}

it('I11 keys expire after keyTtlMs, are never delivered afterwards, and are counted', () => {
  const world = makeWorld({ capacity: 10 });
  const [early, late] = idsOf(enc(world, 'alice', 'bob', { number: 2 }, 1_000)) as [string, string];
  const pool = poolOf(world, 'bob');
  expect(run(world, { type: 'clock.tick' }, TTL_MS - 1).effects).toEqual([]);
  expect(storedIn(pool)).toBe(8);
  const atTtl = run(world, { type: 'clock.tick' }, TTL_MS);
  expect(atTtl.effects).toContainEqual({ type: 'keys.expired', poolId: pool.id, count: 8 });
  expect(pool).toMatchObject({ expired: 8, reserved: 2 });
  expect(statusOf(world, 'alice', 'bob').stored_key_count).toBe(0);
  expect(errorOf(world, enc(world, 'alice', 'bob')).status).toBe(503);
  // A delivered key waits keyTtlMs from its delivery for its slave.
  expect(idsOf(dec(world, 'bob', 'alice', [early], KME_A, TTL_MS + 999))).toEqual([early]);
  expect(errorOf(world, dec(world, 'bob', 'alice', [late], KME_A, TTL_MS + 1_000)).status).toBe(400);
  expect(pool).toMatchObject({ expired: 9, reserved: 0, consumed: 1 });
  expect(isConserved(pool)).toBe(true);
});

it('I12 a sync fills the pool up to its capacity and no further', () => {
  const world = makeWorld({ capacity: 20 });
  const request = onlySyncRequest(enc(world, 'alice', 'bob', { number: 19 }).effects);
  const pool = poolOf(world, 'bob');
  expect(request).toMatchObject({ poolId: pool.id, keyCount: 19 });
  const completed = run(world, { type: 'sync.complete', poolId: pool.id, attempt: request.attempt, keyCount: 50 });
  expect(completed.effects).toContainEqual({ type: 'sync.completed', poolId: pool.id, received: 50, added: 19 });
  expect(storedIn(pool)).toBe(20);
  expect(pool.generated).toBe(39);
  expect(statusOf(world, 'alice', 'bob').stored_key_count).toBe(20);
  expect(describePoolState(pool.state)).toMatchObject({ level: 'healthy', sync: 'idle' });
  expect(syncRequests(completed.effects)).toEqual([]);
  expect(isConserved(pool)).toBe(true);
});

it('I12 a pool falling to 10 % asks for a threshold sync and below 5 % for an emergency one', () => {
  const world = makeWorld({ capacity: 100 });
  const pool = poolOf(world, 'bob');
  expect(syncRequests(enc(world, 'alice', 'bob', { number: 89 }).effects)).toEqual([]);
  const low = enc(world, 'alice', 'bob', { number: 2 }).effects;
  expect(onlySyncRequest(low)).toMatchObject({ reason: 'threshold', keyCount: 91 });
  expect(low).toContainEqual({ type: 'pool.levelChanged', poolId: pool.id, from: 'healthy', to: 'low' });
  const urgent = makeWorld({ capacity: 100 });
  const critical = enc(urgent, 'alice', 'bob', { number: 96 }).effects;
  expect(onlySyncRequest(critical)).toMatchObject({ reason: 'emergency', keyCount: 96 });
  expect(critical).toContainEqual({ type: 'pool.levelChanged', poolId: pool.id, from: 'healthy', to: 'critical' });
});

it('I12 keeps at most one sync per pool in flight, whatever asks for another', () => {
  const world = makeWorld({ capacity: 100 });
  const pool = poolOf(world, 'bob');
  const first = onlySyncRequest(enc(world, 'alice', 'bob', { number: 91 }).effects);
  expect(syncRequests(enc(world, 'alice', 'bob', { number: 6 }).effects)).toEqual([]);
  expect(run(world, { type: 'sync.start', poolId: pool.id, reason: 'manual' })).toEqual({
    result: { ok: true, kind: 'done', changed: false },
    effects: [],
  });
  expect(run(world, { type: 'sync.retry', poolId: pool.id, attempt: first.attempt }).result).toMatchObject({ changed: false });
  expect(pool.syncAttempt).toBe(first.attempt);
});

it('I12 a failed sync backs off exponentially and retries only when its retry comes due', () => {
  const world = makeWorld({ capacity: 10, initialKeys: 0 });
  const pool = poolOf(world, 'bob');
  let attempt = pool.syncAttempt;
  expect(attempt).toBe(1);
  const delays: number[] = [];
  for (let failure = 1; failure <= 3; failure++) {
    const failed = run(world, { type: 'sync.fail', poolId: pool.id, attempt }, world.nowMs + 10);
    const scheduled = failed.effects.find((effect) => effect.type === 'sync.retryScheduled');
    expect(scheduled).toMatchObject({ poolId: pool.id, attempt });
    if (scheduled?.type === 'sync.retryScheduled') delays.push(scheduled.atMs - world.nowMs);
    expect(run(world, { type: 'sync.retry', poolId: pool.id, attempt: attempt - 1 }).result).toMatchObject({ changed: false });
    attempt = onlySyncRequest(run(world, { type: 'sync.retry', poolId: pool.id, attempt }).effects).attempt;
  }
  expect(delays).toEqual([1_000, 2_000, 4_000]);
  expect(attempt).toBe(4);
  run(world, { type: 'sync.complete', poolId: pool.id, attempt, keyCount: 10 });
  expect(pool).toMatchObject({ failedAttempts: 0, retryAtMs: null });
  expect(storedIn(pool)).toBe(10);
});

it('I12 treats an empty sync answer while the pool has room as a failed sync that backs off', () => {
  const world = makeWorld({ capacity: 10, initialKeys: 0 });
  const pool = poolOf(world, 'bob');
  const answer = run(world, { type: 'sync.complete', poolId: pool.id, attempt: pool.syncAttempt, keyCount: 0 }, 5);
  expect(answer.effects).toEqual([
    { type: 'sync.failed', poolId: pool.id, failedAttempts: 1 },
    { type: 'sync.retryScheduled', poolId: pool.id, atMs: 5 + strictProfile.backoff.baseMs, attempt: 1 },
  ]);
  expect(describePoolState(pool.state).sync).toBe('backoff');
  expect(pool.generated).toBe(0);
});

it('ignores a late sync.complete for an attempt a restart aborted', () => {
  const world = makeWorld({ capacity: 100 });
  const pool = poolOf(world, 'bob');
  const aborted = onlySyncRequest(enc(world, 'alice', 'bob', { number: 95 }).effects);
  const renewed = onlySyncRequest(run(world, { type: 'kme.restart', kmeId: KME_A }).effects);
  expect(renewed.attempt).toBeGreaterThan(aborted.attempt);
  const late = run(world, { type: 'sync.complete', poolId: pool.id, attempt: aborted.attempt, keyCount: 95 });
  expect(late).toEqual({ result: { ok: true, kind: 'done', changed: false }, effects: [] });
  expect(storedIn(pool)).toBe(5);
  expect(pool.generated).toBe(100);
  run(world, { type: 'sync.complete', poolId: pool.id, attempt: renewed.attempt, keyCount: 95 });
  expect(storedIn(pool)).toBe(100);
});

it('serves what the pool holds while the remote is down, then answers 503 and generates nothing', () => {
  const world = makeWorld({ capacity: 10 });
  const pool = poolOf(world, 'bob');
  run(world, { type: 'remote.down' });
  expect(describePoolState(pool.state).remote).toBe('offline');
  const request = onlySyncRequest(enc(world, 'alice', 'bob', { number: 10 }).effects);
  const error = errorOf(world, enc(world, 'alice', 'bob', { number: 2 }));
  expect(error).toMatchObject({ status: 503, body: { message: 'remote key manager unavailable' } });
  // An answer from a remote that is down is no answer: key material only comes from the remote (I10).
  const answer = run(world, { type: 'sync.complete', poolId: pool.id, attempt: request.attempt, keyCount: 10 }, 10);
  expect(answer.effects.map((effect) => effect.type)).toEqual(['sync.failed', 'sync.retryScheduled']);
  expect(pool).toMatchObject({ generated: 10, synthetic: 0 });
  expect(storedIn(pool)).toBe(0);
  const back = onlySyncRequest(run(world, { type: 'remote.up' }, 20).effects);
  run(world, { type: 'sync.complete', poolId: pool.id, attempt: back.attempt, keyCount: 10 }, 30);
  expect(storedIn(pool)).toBe(10);
  expect(keysOf(enc(world, 'alice', 'bob', { number: 2 }))).toHaveLength(2);
});

it('brings back online only the link named, and leaves pools of other links waiting out their backoff', () => {
  const world = makeWorld({ kmeIds: [KME_A, KME_B], saes: { alice: KME_A, bob: KME_A }, capacity: 10, initialKeys: 0 });
  const local = poolOf(world, 'bob');
  const remote = poolOf(world, 'bob', KME_B);
  for (const pool of [local, remote]) run(world, { type: 'sync.fail', poolId: pool.id, attempt: pool.syncAttempt });
  const linkId = linkIdOf(KME_A, KME_B);
  run(world, { type: 'remote.down', linkId });
  expect(describePoolState(local.state).remote).toBe('online');
  const up = run(world, { type: 'remote.up', linkId });
  expect(syncRequests(up.effects).map((request) => request.poolId)).toEqual([remote.id]);
  expect(describePoolState(local.state).sync).toBe('backoff');
});

it('deleting an SAE discards its stored and delivered keys, counts them, and leaves other pools alone', () => {
  const world = makeWorld({ capacity: 10 });
  const ids = idsOf(enc(world, 'alice', 'bob', { number: 3 }));
  keysOf(dec(world, 'bob', 'alice', ids.slice(0, 1)));
  keysOf(enc(world, 'bob', 'alice', { number: 2 }));
  const bobPool = poolOf(world, 'bob');
  const alicePool = { ...poolOf(world, 'alice') };
  const deleted = run(world, { type: 'sae.delete', saeId: 'bob' });
  const discarded = deleted.effects.reduce((sum, effect) => sum + (effect.type === 'keys.discarded' ? effect.count : 0), 0);
  expect(discarded).toBe(9);
  expect(bobPool).toMatchObject({ discarded: 9, consumed: 1, reserved: 0, deleted: true });
  expect(storedIn(bobPool)).toBe(0);
  expect(isConserved(bobPool)).toBe(true);
  expect([...world.reserved.values()].filter((key) => key.poolId === bobPool.id)).toEqual([]);
  expect(errorOf(world, enc(world, 'alice', 'bob')).status).toBe(400);
  expect(errorOf(world, dec(world, 'bob', 'alice', ids.slice(1))).status).toBe(401);
  expect(poolOf(world, 'alice')).toEqual(alicePool);
});

it('registers an SAE without keys while its link is down and asks the remote for them', () => {
  const world = makeWorld({ capacity: 10 });
  run(world, { type: 'remote.down' });
  const registered = run(world, { type: 'sae.register', saeId: 'carol', kmeId: KME_A, capacity: 10 });
  const pool = poolOf(world, 'carol');
  expect(pool.generated).toBe(0);
  expect(describePoolState(pool.state)).toEqual({ level: 'exhausted', sync: 'syncing', remote: 'offline' });
  expect(onlySyncRequest(registered.effects)).toMatchObject({ reason: 'emergency', keyCount: 10 });
});

it('I12 a pool exactly at its low threshold is not yet below it; one key fewer is', () => {
  const world = makeWorld({ capacity: 100, initialKeys: 11 });
  const atThreshold = enc(world, 'alice', 'bob');
  expect(describePoolState(poolOf(world, 'bob').state).level).toBe('healthy');
  expect(atThreshold.effects.some((effect) => effect.type === 'sync.requested')).toBe(false);
  const below = enc(world, 'alice', 'bob');
  expect(describePoolState(poolOf(world, 'bob').state).level).toBe('low');
  expect(below.effects).toContainEqual(expect.objectContaining({ type: 'sync.requested', reason: 'threshold' }));
});

it('refuses a manual sync of a deleted pool and ignores an answer to a sync started before the deletion', () => {
  const world = makeWorld({ capacity: 10 });
  const pool = poolOf(world, 'bob');
  enc(world, 'alice', 'bob', { number: 5 });
  const started = run(world, { type: 'sync.start', poolId: pool.id, reason: 'manual' });
  expect(started.result).toEqual({ ok: true, kind: 'done', changed: true });
  const request = pool.syncAttempt;
  run(world, { type: 'sae.delete', saeId: 'bob' });
  const late = run(world, { type: 'sync.complete', poolId: pool.id, attempt: request, keyCount: 10 });
  expect(late.result).toEqual({ ok: true, kind: 'done', changed: false });
  expect(run(world, { type: 'sync.start', poolId: pool.id, reason: 'manual' }).result).toEqual({ ok: true, kind: 'done', changed: false });
  expect(pool.generated).toBe(10);
});

it('keeps a sync reason and failure count on the Pool: kept by a retry, replaced by a manual sync, cleared on completion', () => {
  const world = makeWorld({ capacity: 10, initialKeys: 0 });
  const pool = poolOf(world, 'bob');
  expect(pool).toMatchObject({ syncReason: 'emergency', failedAttempts: 0 });
  run(world, { type: 'sync.fail', poolId: pool.id, attempt: pool.syncAttempt });
  expect(onlySyncRequest(run(world, { type: 'sync.retry', poolId: pool.id, attempt: pool.syncAttempt }).effects).reason).toBe('emergency');
  run(world, { type: 'sync.fail', poolId: pool.id, attempt: pool.syncAttempt });
  expect(pool).toMatchObject({ syncReason: 'emergency', failedAttempts: 2 });
  // A manual sync may cut the backoff short; it becomes the one sync in flight, with its own reason.
  expect(onlySyncRequest(run(world, { type: 'sync.start', poolId: pool.id, reason: 'manual' }).effects).reason).toBe('manual');
  expect(pool).toMatchObject({ syncReason: 'manual', failedAttempts: 2 });
  run(world, { type: 'sync.complete', poolId: pool.id, attempt: pool.syncAttempt, keyCount: 10 });
  expect(pool).toMatchObject({ syncReason: null, failedAttempts: 0, retryAtMs: null });
  expect(describePoolState(pool.state).sync).toBe('idle');
});

it('gives a re-registered SAE its old pool back while the link is down, still offline, with no second remote.down', () => {
  const world = makeWorld({ capacity: 10 });
  const pool = poolOf(world, 'bob');
  run(world, { type: 'sae.delete', saeId: 'bob' });
  run(world, { type: 'remote.down' });
  expect(run(world, { type: 'sae.register', saeId: 'bob', kmeId: KME_A, capacity: 10 }).result.ok).toBe(true);
  expect(poolOf(world, 'bob')).toBe(pool);
  expect(describePoolState(pool.state)).toEqual({ level: 'exhausted', sync: 'syncing', remote: 'offline' });
});
