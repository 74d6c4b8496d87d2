// The world: every KME, SAE, link, pool and delivered key the core knows. The core owns it and updates
// it in place (see docs/decisions/0002-owned-world.md); nothing else writes to it.
import type { BugName } from './bugs.js';
import type { DeliveredKey } from './encKeys.js';
import { createSupply, type KeySupply, type SupplySpec } from './keySupply.js';
import { assertLifecycleTables, createMachineCoverage, INITIAL_POOL_STATE, MACHINE_TABLES, type LifecycleTables, type MachineCoverage } from './lifecycles.js';
import type { RemoteState, SyncReason } from './machineTypes.js';
import { assertProfile, type Profile } from './profiles.js';

export interface WorldConfig {
  readonly seed: string;
  readonly profile: Profile;
  readonly bugs: ReadonlySet<BugName>;
  /** The tables keys and pools step through: the compiled machines' own (MACHINE_TABLES) outside tests. */
  readonly lifecycles: LifecycleTables;
}

export interface SaeRecord {
  readonly id: string;
  readonly kmeId: string;
  readonly name?: string;
  readonly email?: string;
}

export interface LinkRecord {
  readonly id: string;
  readonly kmeIds: readonly [string, string];
  remote: RemoteState;
  /** What the link produces, and its store; null: an endless source. */
  readonly supply: KeySupply | null;
}

export type KeyOrigin = 'remote' | 'local';

/** A run of consecutive key sequence numbers that arrived in one pool at one instant. */
export interface KeyBatch {
  readonly poolId: string;
  readonly seqStart: number;
  readonly seqEnd: number;
  readonly generatedAtMs: number;
  readonly expiresAtMs: number;
  readonly origin: KeyOrigin;
}

export interface Pool {
  readonly id: string;
  readonly linkId: string;
  readonly slaveSaeId: string;
  /** The name sequential key IDs of this pool carry (`qk_{owner}_{seq}`), fixed when the pool is made. */
  readonly keyIdOwner: string;
  readonly capacity: number;
  /** Stored (deliverable) keys are the sequence numbers [headSeq, tailSeq). */
  headSeq: number;
  tailSeq: number;
  readonly batches: KeyBatch[];
  batchHead: number;
  /** Compiled pool machine state (level × sync × remote). */
  state: number;
  generated: number;
  reserved: number;
  consumed: number;
  expired: number;
  discarded: number;
  /** Keys that did not come from the remote key manager (only a bug produces them). */
  synthetic: number;
  // The sync in flight or backing off: kept here only. The pool machine holds its states, not this data.
  /** Why the current sync was started; null when the sync region is idle. */
  syncReason: SyncReason | null;
  syncKeyCount: number;
  /** Numbers each sync request, so a late answer to an aborted one is recognised and ignored. */
  syncAttempt: number;
  /** Failures of the current sync since it started; the backoff grows with it. */
  failedAttempts: number;
  retryAtMs: number | null;
  lastSyncAtMs: number | null;
  deleted: boolean;
}

/** The retrievals of a key nobody retrieved yet: one shared, frozen empty list. */
export const NO_RETRIEVALS: ReservedKey['retrievals'] = Object.freeze([]);

export interface ReservedKey {
  readonly keyId: string;
  readonly poolId: string;
  readonly linkId: string;
  readonly seq: number;
  readonly masterSaeId: string;
  readonly slaveSaeIds: readonly string[];
  /** Slaves that retrieved it, with the KME each retrieval went through. */
  retrievals: ReadonlyArray<{ readonly saeId: string; readonly kmeId: string }>;
  readonly sizeBits: number;
  readonly generatedAtMs: number;
  readonly reservedAtMs: number;
  readonly expiresAtMs: number;
  readonly origin: KeyOrigin;
  state: number;
}

/** A retrieval a repeated dec_keys may get again (profile `retry: idempotent`), until `untilMs`. */
export interface RecentRetrieval {
  readonly key: DeliveredKey;
  /** The slave that retrieved it. */
  readonly saeId: string;
  readonly masterSaeId: string;
  readonly linkId: string;
  readonly untilMs: number;
}

/** The key of a recent retrieval: the key and the slave that retrieved it. */
export function recentRetrievalKey(keyId: string, saeId: string): string {
  return `${keyId}\u0000${saeId}`;
}

export interface World {
  readonly config: WorldConfig;
  readonly kmes: Set<string>;
  readonly saes: Map<string, SaeRecord>;
  readonly links: Map<string, LinkRecord>;
  readonly pools: Map<string, Pool>;
  /** Delivered keys that wait for (some of) their slaves. */
  readonly reserved: Map<string, ReservedKey>;
  /** Delivered keys in delivery order, which is also expiry order (one TTL for all). */
  readonly reservedQueue: ReservedKey[];
  reservedHead: number;
  /** Stored batches in arrival order, which is also expiry order. */
  readonly expiryQueue: KeyBatch[];
  expiryHead: number;
  nowMs: number;
  /** Every retrieval ever recorded, so a checker can see in O(1) whether a step consumed anything. */
  retrievalCount: number;
  /** Retrievals a repeat may still get again, oldest first (empty unless the profile's retry is idempotent). */
  readonly recentRetrievals: Map<string, RecentRetrieval>;
  readonly coverage: MachineCoverage;
}

export interface WorldOptions {
  readonly seed: string;
  readonly profile: Profile;
  readonly kmeIds: readonly string[];
  readonly bugs?: ReadonlySet<BugName>;
  readonly startMs?: number;
  /** Every link's key supply (keySupply.ts); absent: the remote key manager is an endless source. */
  readonly supply?: SupplySpec;
  /**
   * Tables to step keys and pools through instead of the compiled machines' own. Only the mutation test
   * uses it, to show that each transition of the machines is needed for some behaviour.
   */
  readonly lifecycles?: LifecycleTables;
}

export function linkIdOf(kmeA: string, kmeB: string): string {
  return kmeA <= kmeB ? `${kmeA}~${kmeB}` : `${kmeB}~${kmeA}`;
}

/** Every link among these KMEs: one per pair, each KME with itself included. */
export function linkIdsOf(kmeIds: readonly string[]): string[] {
  return [...new Set(kmeIds.flatMap((a) => kmeIds.map((b) => linkIdOf(a, b))))];
}

export function poolIdOf(linkId: string, slaveSaeId: string): string {
  return `${linkId}/${slaveSaeId}`;
}

/** The ID of the pool a master on `kmeId` draws from for this slave (undefined: no such SAE). */
export function slavePoolIdOf(world: World, kmeId: string, slaveSaeId: string): string | undefined {
  const slave = world.saes.get(slaveSaeId);
  return slave === undefined ? undefined : poolIdOf(linkIdOf(kmeId, slave.kmeId), slave.id);
}

/** The pool a master on `kmeId` draws from for this slave, when the slave and its pool exist. */
export function slavePoolOf(world: World, kmeId: string, slaveSaeId: string): Pool | undefined {
  const id = slavePoolIdOf(world, kmeId, slaveSaeId);
  return id === undefined ? undefined : world.pools.get(id);
}

export function createWorld(options: WorldOptions): World {
  assertProfile(options.profile);
  if (options.kmeIds.length === 0) throw new Error('createWorld: at least one KME is needed');
  const kmes = new Set(options.kmeIds);
  if (kmes.size !== options.kmeIds.length) throw new Error('createWorld: KME IDs must be distinct');
  const links = new Map<string, LinkRecord>();
  for (const a of options.kmeIds) {
    for (const b of options.kmeIds) {
      const id = linkIdOf(a, b);
      if (!links.has(id)) links.set(id, { id, kmeIds: a <= b ? [a, b] : [b, a], remote: 'online', supply: options.supply === undefined ? null : createSupply(options.supply, options.startMs ?? 0) });
    }
  }
  if (options.lifecycles !== undefined) assertLifecycleTables(options.lifecycles);
  return {
    config: { seed: options.seed, profile: options.profile, bugs: options.bugs ?? new Set(), lifecycles: options.lifecycles ?? MACHINE_TABLES },
    kmes,
    saes: new Map(),
    links,
    pools: new Map(),
    reserved: new Map(),
    reservedQueue: [],
    reservedHead: 0,
    expiryQueue: [],
    expiryHead: 0,
    nowMs: options.startMs ?? 0,
    retrievalCount: 0,
    recentRetrievals: new Map(),
    coverage: createMachineCoverage(),
  };
}

/**
 * The owner in a pool's sequential key IDs: the slave's name, with the other KME's appended on a link
 * between two KMEs (the slave's pool on each link needs IDs of its own).
 */
export function keyIdOwnerOf(slaveSaeId: string, slaveKmeId: string, otherKmeId: string): string {
  return otherKmeId === slaveKmeId ? slaveSaeId : `${slaveSaeId}_${otherKmeId}`;
}

export function createPool(linkId: string, slaveSaeId: string, capacity: number, keyIdOwner: string = slaveSaeId): Pool {
  return {
    id: poolIdOf(linkId, slaveSaeId),
    linkId,
    slaveSaeId,
    keyIdOwner,
    capacity,
    headSeq: 1,
    tailSeq: 1,
    batches: [],
    batchHead: 0,
    state: INITIAL_POOL_STATE,
    generated: 0,
    reserved: 0,
    consumed: 0,
    expired: 0,
    discarded: 0,
    synthetic: 0,
    syncReason: null,
    syncKeyCount: 0,
    syncAttempt: 0,
    failedAttempts: 0,
    retryAtMs: null,
    lastSyncAtMs: null,
    deleted: false,
  };
}

export function availableKeys(pool: Pool): number {
  return pool.tailSeq - pool.headSeq;
}

/**
 * What enc_keys can deliver from the pool now, the `stored_key_count` of status ("keys the KME can deliver
 * to the SAE"): the keys it holds, and no more than the room left under the bound on keys waiting for the
 * slave (Profile.maxWaitingKeys), when there is one.
 */
export function deliverableKeys(world: World, pool: Pool): number {
  const bound = world.config.profile.maxWaitingKeys;
  const available = availableKeys(pool);
  return bound === null ? available : Math.max(0, Math.min(available, bound - pool.reserved));
}

/** A deep copy, for snapshots in tests and for comparing before/after. */
export function cloneWorld(world: World): World {
  return structuredClone(world);
}
