// Behaviours of the KME core that between them take every transition of the key and pool machines: enc
// and dec, multicast, expiry of stored and delivered keys, deleting an SAE, syncs that complete, fail,
// retry, are cut short or aborted, every move between fill levels, and the remote going down and up.
// Each runs on the tables it is given, so the mutation test can run them on tables missing a transition.
import { expect } from 'vitest';
import { describePoolState, type LifecycleTables } from '../../../src/model/lifecycles.js';
import type { PoolLevel } from '../../../src/model/poolMachine.js';
import type { KmeEffect } from '../../../src/model/poolOps.js';
import { strictProfile, type Profile } from '../../../src/model/profiles.js';
import type { Pool, World } from '../../../src/model/world.js';
import { dec, enc, errorOf, idsOf, isConserved, KME_A, keysOf, makeWorld, poolOf, run, statusOf, storedIn, type WorldSpec } from './coreWorld.js';

/** Eight keys a pool: healthy from 4, low at 2 or 3, critical at 1, exhausted at 0. */
const PROFILE: Profile = { ...strictProfile, lowThresholdPct: 50, emergencyThresholdPct: 25, maxSaeIdCount: 2 };
const CAPACITY = 8;
const TTL_MS = PROFILE.keyTtlMs;

export interface Behaviour {
  readonly name: string;
  readonly run: (lifecycles: LifecycleTables) => void;
}

function world(lifecycles: LifecycleTables, spec: WorldSpec = {}): World {
  return makeWorld({ profile: PROFILE, capacity: CAPACITY, lifecycles, ...spec });
}

type SyncRequest = Extract<KmeEffect, { type: 'sync.requested' }>;

function onlySyncRequest(effects: readonly KmeEffect[]): SyncRequest {
  const requests = effects.filter((effect): effect is SyncRequest => effect.type === 'sync.requested');
  expect(requests).toHaveLength(1);
  return requests[0] as SyncRequest;
}

/** The effects about one pool. */
function about(pool: Pool, effects: readonly KmeEffect[]): KmeEffect[] {
  return effects.filter((effect) => 'poolId' in effect && effect.poolId === pool.id);
}

function noSyncRequest(effects: readonly KmeEffect[]): void {
  expect(effects.filter((effect) => effect.type === 'sync.requested')).toEqual([]);
}

function complete(w: World, pool: Pool, keyCount: number): readonly KmeEffect[] {
  return run(w, { type: 'sync.complete', poolId: pool.id, attempt: pool.syncAttempt, keyCount }).effects;
}

const UNCHANGED = { ok: true, kind: 'done', changed: false };

export const BEHAVIOURS: readonly Behaviour[] = [
  {
    name: 'enc_keys delivers a stored key that dec_keys then delivers to its slave once',
    run(lifecycles) {
      const w = world(lifecycles);
      const pool = poolOf(w, 'bob');
      expect(storedIn(pool)).toBe(CAPACITY);
      const ids = idsOf(enc(w, 'alice', 'bob'));
      expect(pool).toMatchObject({ reserved: 1, consumed: 0 });
      expect(idsOf(dec(w, 'bob', 'alice', ids))).toEqual(ids);
      expect(errorOf(w, dec(w, 'bob', 'alice', ids)).status).toBe(400);
      expect(pool).toMatchObject({ reserved: 0, consumed: 1 });
      expect(statusOf(w, 'alice', 'bob').stored_key_count).toBe(CAPACITY - 1);
      expect(isConserved(pool)).toBe(true);
    },
  },
  {
    name: 'a multicast key is delivered to each named slave once and consumed after the last',
    run(lifecycles) {
      const w = world(lifecycles, { saes: { alice: KME_A, bob: KME_A, carol: KME_A } });
      const pool = poolOf(w, 'bob');
      const ids = idsOf(enc(w, 'alice', 'bob', { additional_slave_SAE_IDs: ['carol'] }));
      expect(idsOf(dec(w, 'bob', 'alice', ids))).toEqual(ids);
      expect(errorOf(w, dec(w, 'bob', 'alice', ids)).status).toBe(400);
      expect(pool).toMatchObject({ reserved: 1, consumed: 0 });
      expect(idsOf(dec(w, 'carol', 'alice', ids))).toEqual(ids);
      expect(errorOf(w, dec(w, 'carol', 'alice', ids)).status).toBe(400);
      expect(pool).toMatchObject({ reserved: 0, consumed: 1 });
    },
  },
  {
    name: 'stored keys expire at their TTL, and the emptied pool asks for an emergency sync',
    run(lifecycles) {
      const w = world(lifecycles);
      const pool = poolOf(w, 'bob');
      expect(run(w, { type: 'clock.tick' }, TTL_MS - 1).effects).toEqual([]);
      const expired = run(w, { type: 'clock.tick' }, TTL_MS).effects;
      expect(expired).toContainEqual({ type: 'keys.expired', poolId: pool.id, count: CAPACITY });
      expect(expired).toContainEqual({ type: 'pool.levelChanged', poolId: pool.id, from: 'healthy', to: 'exhausted' });
      expect(onlySyncRequest(about(pool, expired)).reason).toBe('emergency');
      expect(pool.expired).toBe(CAPACITY);
      expect(errorOf(w, enc(w, 'alice', 'bob')).status).toBe(503);
    },
  },
  {
    name: 'a delivered key waits TTL from its delivery for its slave, then expires',
    run(lifecycles) {
      const w = world(lifecycles);
      const pool = poolOf(w, 'bob');
      const ids = idsOf(enc(w, 'alice', 'bob', {}, 1_000));
      const late = dec(w, 'bob', 'alice', ids, KME_A, TTL_MS + 1_000);
      expect(late.effects).toContainEqual({ type: 'keys.expired', poolId: pool.id, count: 1 });
      expect(errorOf(w, late).status).toBe(400);
      expect(pool).toMatchObject({ reserved: 0, consumed: 0, expired: CAPACITY });
      expect(w.reserved.size).toBe(0);
    },
  },
  {
    name: 'deleting an SAE discards its stored and delivered keys and drops its sync in flight',
    run(lifecycles) {
      const w = world(lifecycles);
      const pool = poolOf(w, 'bob');
      const ids = idsOf(enc(w, 'alice', 'bob', { number: 5 }));
      const request = pool.syncAttempt;
      expect(describePoolState(pool.state)).toMatchObject({ level: 'low', sync: 'syncing' });
      const deleted = run(w, { type: 'sae.delete', saeId: 'bob' }).effects;
      expect(deleted.reduce((sum, effect) => sum + (effect.type === 'keys.discarded' ? effect.count : 0), 0)).toBe(CAPACITY);
      expect(pool).toMatchObject({ discarded: CAPACITY, reserved: 0, deleted: true, syncReason: null });
      expect(describePoolState(pool.state)).toMatchObject({ level: 'exhausted', sync: 'idle' });
      expect(run(w, { type: 'sync.complete', poolId: pool.id, attempt: request, keyCount: CAPACITY }).result).toEqual(UNCHANGED);
      expect(errorOf(w, dec(w, 'bob', 'alice', ids)).status).toBe(401);
      expect(isConserved(pool)).toBe(true);
    },
  },
  {
    name: 'the fill level follows the count through every pair of levels, syncing below healthy',
    run(lifecycles) {
      const w = world(lifecycles);
      const pool = poolOf(w, 'bob');
      const steps: Array<[() => readonly KmeEffect[], number, PoolLevel]> = [
        [() => enc(w, 'alice', 'bob', { number: 7 }).effects, 1, 'critical'],
        [() => complete(w, pool, 2), 3, 'low'],
        [() => enc(w, 'alice', 'bob', { number: 2 }).effects, 1, 'critical'],
        [() => complete(w, pool, 7), 8, 'healthy'],
        [() => enc(w, 'alice', 'bob', { number: 6 }).effects, 2, 'low'],
        [() => enc(w, 'alice', 'bob', { number: 2 }).effects, 0, 'exhausted'],
        [() => complete(w, pool, 8), 8, 'healthy'],
        [() => enc(w, 'alice', 'bob', { number: 8 }).effects, 0, 'exhausted'],
        [() => complete(w, pool, 1), 1, 'critical'],
        [() => enc(w, 'alice', 'bob').effects, 0, 'exhausted'],
        [() => complete(w, pool, 3), 3, 'low'],
        [() => complete(w, pool, 1), 4, 'healthy'],
      ];
      let level: PoolLevel = 'healthy';
      for (const [act, stored, next] of steps) {
        const effects = act();
        expect(storedIn(pool)).toBe(stored);
        expect(effects).toContainEqual({ type: 'pool.levelChanged', poolId: pool.id, from: level, to: next });
        expect(describePoolState(pool.state)).toMatchObject({ level: next, sync: next === 'healthy' ? 'idle' : 'syncing' });
        level = next;
      }
      expect(isConserved(pool)).toBe(true);
    },
  },
  {
    name: 'a sync answer beyond the room left in the pool is dropped',
    run(lifecycles) {
      const w = world(lifecycles, { initialKeys: 0 });
      const pool = poolOf(w, 'bob');
      expect(complete(w, pool, 50)).toContainEqual({ type: 'sync.completed', poolId: pool.id, received: 50, added: CAPACITY });
      expect(pool).toMatchObject({ generated: CAPACITY, discarded: 0 });
      expect(storedIn(pool)).toBe(CAPACITY);
    },
  },
  {
    name: 'a failed sync backs off and retries when its retry is due, with its reason',
    run(lifecycles) {
      const w = world(lifecycles, { initialKeys: 0 });
      const pool = poolOf(w, 'bob');
      const failed = run(w, { type: 'sync.fail', poolId: pool.id, attempt: 1 }, 10).effects;
      expect(failed).toEqual([
        { type: 'sync.failed', poolId: pool.id, failedAttempts: 1 },
        { type: 'sync.retryScheduled', poolId: pool.id, atMs: 10 + PROFILE.backoff.baseMs, attempt: 1 },
      ]);
      expect(describePoolState(pool.state).sync).toBe('backoff');
      expect(run(w, { type: 'sync.retry', poolId: pool.id, attempt: 0 }).result).toEqual(UNCHANGED);
      expect(onlySyncRequest(run(w, { type: 'sync.retry', poolId: pool.id, attempt: 1 }).effects)).toMatchObject({ attempt: 2, reason: 'emergency' });
      expect(run(w, { type: 'sync.retry', poolId: pool.id, attempt: 2 }).result).toEqual(UNCHANGED);
      complete(w, pool, CAPACITY);
      expect(pool).toMatchObject({ failedAttempts: 0, retryAtMs: null, syncReason: null });
      expect(storedIn(pool)).toBe(CAPACITY);
    },
  },
  {
    name: 'a manual sync cuts a backoff short, and no second sync starts while one is in flight',
    run(lifecycles) {
      const w = world(lifecycles, { initialKeys: 0 });
      const pool = poolOf(w, 'bob');
      run(w, { type: 'sync.fail', poolId: pool.id, attempt: 1 });
      expect(onlySyncRequest(run(w, { type: 'sync.start', poolId: pool.id, reason: 'manual' }).effects)).toMatchObject({ attempt: 2, reason: 'manual' });
      expect(describePoolState(pool.state).sync).toBe('syncing');
      expect(run(w, { type: 'sync.start', poolId: pool.id, reason: 'manual' })).toEqual({ result: UNCHANGED, effects: [] });
      expect(pool.syncAttempt).toBe(2);
    },
  },
  {
    name: 'a restart drops a sync in flight or backing off, and the pool asks again',
    run(lifecycles) {
      const w = world(lifecycles, { initialKeys: 0 });
      const pool = poolOf(w, 'bob');
      expect(onlySyncRequest(about(pool, run(w, { type: 'kme.restart', kmeId: KME_A }).effects)).attempt).toBe(2);
      run(w, { type: 'sync.fail', poolId: pool.id, attempt: 2 });
      expect(onlySyncRequest(about(pool, run(w, { type: 'kme.restart', kmeId: KME_A }).effects)).attempt).toBe(3);
      expect(pool).toMatchObject({ failedAttempts: 0, syncReason: 'emergency' });
      expect(run(w, { type: 'sync.complete', poolId: pool.id, attempt: 1, keyCount: CAPACITY }).result).toEqual(UNCHANGED);
      expect(run(w, { type: 'sync.retry', poolId: pool.id, attempt: 2 }).result).toEqual(UNCHANGED);
      complete(w, pool, CAPACITY);
      expect(storedIn(pool)).toBe(CAPACITY);
    },
  },
  {
    name: 'while the remote is down a pool serves what it holds, then 503; back up, a backing-off pool retries at once',
    run(lifecycles) {
      const w = world(lifecycles);
      const pool = poolOf(w, 'bob');
      noSyncRequest(run(w, { type: 'remote.down' }).effects);
      expect(describePoolState(pool.state).remote).toBe('offline');
      expect(keysOf(enc(w, 'alice', 'bob', { number: CAPACITY }))).toHaveLength(CAPACITY);
      expect(errorOf(w, enc(w, 'alice', 'bob'))).toMatchObject({ status: 503, body: { message: 'remote key manager unavailable' } });
      expect(complete(w, pool, CAPACITY).map((effect) => effect.type)).toEqual(['sync.failed', 'sync.retryScheduled']);
      run(w, { type: 'sae.register', saeId: 'carol', kmeId: KME_A });
      expect(describePoolState(poolOf(w, 'carol').state).remote).toBe('offline');
      const up = run(w, { type: 'remote.up' }).effects;
      expect(onlySyncRequest(about(pool, up)).attempt).toBe(2);
      expect(describePoolState(pool.state)).toMatchObject({ remote: 'online', sync: 'syncing' });
      complete(w, pool, CAPACITY);
      expect(keysOf(enc(w, 'alice', 'bob'))).toHaveLength(1);
      expect(pool.synthetic).toBe(0);
    },
  },
];
