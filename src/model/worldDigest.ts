// A canonical description of everything in a world that a command can change, and its SHA-256. Two worlds
// with the same SAEs, links, pools, stored batches, delivered keys, counters, clock and machine coverage
// describe (and digest) alike, whatever order their maps were filled in and however far their queues have
// been compacted. Tests compare digests before and after a request to prove that a refusal changed nothing.
import { createHash } from 'node:crypto';
import { KEY_STATE_INDEX } from './lifecycles.js';
import type { KeyBatch, Pool, ReservedKey, World } from './world.js';

const byId = <T extends { readonly id: string }>(a: T, b: T): number => (a.id < b.id ? -1 : a.id > b.id ? 1 : 0);

function describeBatch(batch: KeyBatch): unknown[] {
  return [batch.seqStart, batch.seqEnd, batch.generatedAtMs, batch.expiresAtMs, batch.origin];
}

function describePool(pool: Pool): Record<string, unknown> {
  const { batches, batchHead, ...fields } = pool;
  // Batches already behind the head are bookkeeping; those that still hold keys are state.
  const live = batches.slice(batchHead).filter((batch) => batch.seqEnd > pool.headSeq);
  return { ...fields, batches: live.map(describeBatch) };
}

function describeKey(key: ReservedKey): unknown[] {
  return [
    key.keyId,
    key.poolId,
    key.linkId,
    key.seq,
    key.masterSaeId,
    key.slaveSaeIds,
    key.retrievals.map((r) => [r.saeId, r.kmeId]),
    key.sizeBits,
    key.generatedAtMs,
    key.reservedAtMs,
    key.expiresAtMs,
    key.origin,
    key.state,
  ];
}

/** Canonical JSON of the world's state: sorted collections, live entries only, no compaction cursors. */
export function describeWorldState(world: World): string {
  const keys = [...world.reserved.keys()].sort().map((keyId) => world.reserved.get(keyId) as ReservedKey);
  return JSON.stringify({
    config: { seed: world.config.seed, profile: world.config.profile, bugs: [...world.config.bugs].sort() },
    nowMs: world.nowMs,
    retrievalCount: world.retrievalCount,
    kmes: [...world.kmes].sort(),
    saes: [...world.saes.values()].sort(byId).map((sae) => [sae.id, sae.kmeId, sae.name ?? null, sae.email ?? null]),
    links: [...world.links.values()].sort(byId).map((link) => [link.id, link.kmeIds, link.remote, link.supply]),
    pools: [...world.pools.values()].sort(byId).map(describePool),
    reserved: keys.map(describeKey),
    // Retrievals a repeat may still get again; stale ones are forgotten lazily, which is bookkeeping.
    recentRetrievals: [...world.recentRetrievals]
      .filter(([, recent]) => recent.untilMs > world.nowMs)
      .map(([id, recent]) => [id, recent.key.keyId, recent.masterSaeId, recent.linkId, recent.untilMs])
      .sort((a, b) => (String(a[0]) < String(b[0]) ? -1 : 1)),
    // Entries still waiting in the expiry queues. Reserved keys count only while they wait: retrieved ones
    // leave the queue whenever it is compacted, which is bookkeeping, not state.
    pendingBatches: world.expiryQueue.length - world.expiryHead,
    pendingReservations: world.reservedQueue.slice(world.reservedHead).filter((key) => world.reserved.get(key.keyId) === key && key.state === KEY_STATE_INDEX.reserved).length,
    coverage: { key: [...world.coverage.key], pool: [...world.coverage.pool] },
  });
}

/** SHA-256 (hex) of describeWorldState. */
export function worldDigest(world: World): string {
  return createHash('sha256').update(describeWorldState(world)).digest('hex');
}
