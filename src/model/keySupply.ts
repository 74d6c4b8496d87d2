// What a QKD link can actually give: its remote key manager produces secret key at a rate (bits per second
// of virtual time) into a store of bounded size, and pools draw whole keys from that store when they sync
// (and when a new pool is first filled). A pool can then refill no faster than its link produces; a drained
// store makes syncs fail and back off, like an unreachable remote. Without a supply, the remote is an
// endless source, as before. The store is computed lazily from its last change, so it costs nothing per
// step; it produces only while its link's remote key manager is reachable.
//
// How the store reaches the pools (`feed`): `sync` (the default) moves keys only when a pool syncs, after
// the sync's latency; `continuous` also tops a pool up from the store whenever a client asks about it
// (status, enc_keys), as a KME whose pool is its link's key buffer does. A continuous feed serves pools in
// the order their clients ask, each up to its capacity.

export interface SupplySpec {
  /** Secret bits the link produces per second of virtual time (e.g. from keyRate.ts). */
  readonly rateBitsPerSecond: number;
  /** Bits the remote key manager can hold; production beyond it is lost. */
  readonly capacityBits: number;
  /** Bits in the store when the world starts (default: full). */
  readonly initialBits?: number;
  /** How the store reaches the pools (default `sync`). */
  readonly feed?: SupplyFeed;
}

export type SupplyFeed = 'sync' | 'continuous';

export interface KeySupply {
  /** The rate now: it fluctuates, and is 0 while the link's quantum channel is down (command supply.rate). */
  rateBitsPerSecond: number;
  readonly capacityBits: number;
  readonly initialBits: number;
  readonly feed: SupplyFeed;
  /** Bits in the store at `atMs`. */
  levelBits: number;
  atMs: number;
  /** Bits produced into the store since the start (not counting what a full store could not take). */
  producedBits: number;
  /** Bits handed to pools. */
  drawnBits: number;
}

/** Why a supply cannot be used, or null. */
export function supplyProblem(spec: SupplySpec): string | null {
  if (!Number.isFinite(spec.rateBitsPerSecond) || spec.rateBitsPerSecond < 0) return 'rateBitsPerSecond must be a finite number ≥ 0';
  if (!Number.isFinite(spec.capacityBits) || spec.capacityBits <= 0) return 'capacityBits must be a finite number > 0';
  const initial = spec.initialBits ?? spec.capacityBits;
  if (!Number.isFinite(initial) || initial < 0 || initial > spec.capacityBits) return 'initialBits must be from 0 to capacityBits';
  if (spec.feed !== undefined && spec.feed !== 'sync' && spec.feed !== 'continuous') return 'feed must be sync or continuous';
  return null;
}

export function createSupply(spec: SupplySpec, atMs: number): KeySupply {
  const problem = supplyProblem(spec);
  if (problem !== null) throw new Error(`createSupply: ${problem}`);
  const initialBits = spec.initialBits ?? spec.capacityBits;
  return { rateBitsPerSecond: spec.rateBitsPerSecond, capacityBits: spec.capacityBits, initialBits, feed: spec.feed ?? 'sync', levelBits: initialBits, atMs, producedBits: 0, drawnBits: 0 };
}

/** Bits the store would hold at `nowMs`, without changing it (for charts). */
export function levelAt(supply: KeySupply, nowMs: number, producing: boolean): number {
  if (!producing || nowMs <= supply.atMs) return supply.levelBits;
  return Math.min(supply.capacityBits, supply.levelBits + (supply.rateBitsPerSecond * (nowMs - supply.atMs)) / 1000);
}

/** Brings the store to `nowMs`: what the link produced since its last change, if it was producing. */
export function accrue(supply: KeySupply, nowMs: number, producing: boolean): void {
  if (nowMs <= supply.atMs) return;
  if (producing) {
    const made = (supply.rateBitsPerSecond * (nowMs - supply.atMs)) / 1000;
    const taken = Math.min(made, supply.capacityBits - supply.levelBits);
    supply.levelBits += taken;
    supply.producedBits += taken;
  }
  supply.atMs = nowMs;
}

/** How many of `keys` keys of `keyBits` bits the store could give at `nowMs`, without taking them. */
export function grantableKeys(supply: KeySupply, keys: number, keyBits: number, nowMs: number, producing: boolean): number {
  return Math.max(0, Math.min(keys, Math.floor(levelAt(supply, nowMs, producing) / keyBits)));
}

/** Takes up to `keys` keys of `keyBits` bits from the store at `nowMs`; returns how many it could give. */
export function drawKeys(supply: KeySupply, keys: number, keyBits: number, nowMs: number, producing: boolean): number {
  const granted = grantableKeys(supply, keys, keyBits, nowMs, producing);
  accrue(supply, nowMs, producing);
  supply.levelBits -= granted * keyBits;
  supply.drawnBits += granted * keyBits;
  return granted;
}

/** Why the store's books do not balance (no key from nowhere, I10), or null. */
export function supplyImbalance(supply: KeySupply): string | null {
  const tolerance = 1e-6 * Math.max(1, supply.capacityBits, supply.producedBits);
  if (supply.levelBits < -tolerance || supply.levelBits > supply.capacityBits + tolerance) {
    return `the store holds ${supply.levelBits} bits, outside 0…${supply.capacityBits}`;
  }
  if (Math.abs(supply.initialBits + supply.producedBits - supply.drawnBits - supply.levelBits) > tolerance) {
    return `initial ${supply.initialBits} + produced ${supply.producedBits} − drawn ${supply.drawnBits} ≠ held ${supply.levelBits} bits`;
  }
  return null;
}
