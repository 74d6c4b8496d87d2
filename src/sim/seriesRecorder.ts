// Records what the report charts: each pool's stored-key count over virtual time (bucketed, keeping each
// bucket's minimum so exhaustion is never smoothed away), each link's key store the same way (when the
// scenario has a supply), deliveries per bucket, and timeline events.
import type { DeliveryBucket, PoolSeries, TimelineEvent } from './runReport.js';

const BUCKETS = 400;
const NONE: readonly number[] = [];

interface PoolTrack {
  readonly label: string;
  readonly capacity: number;
  readonly low: number;
  readonly emergency: number;
  readonly min: Float64Array;
  readonly last: Float64Array;
  readonly initial: number;
}

export interface SeriesRecorder {
  trackPool(poolId: string, label: string, capacity: number, low: number, emergency: number, level: number): void;
  recordLevel(poolId: string, atMs: number, level: number): void;
  /** A link's key store, in whole keys, charted like a pool without thresholds. */
  trackStore(storeId: string, label: string, capacity: number, level: number): void;
  recordStore(storeId: string, atMs: number, level: number): void;
  /**
   * The start times of the buckets time has entered since the last call, up to the one holding `atMs` (none
   * when it is still in the same one): when to sample what changes by itself, such as a filling store.
   */
  bucketsEntered(atMs: number): readonly number[];
  count(atMs: number, field: Exclude<keyof DeliveryBucket, 'atMs'>): void;
  event(atMs: number, kind: TimelineEvent['kind'], label: string): void;
  /** The series up to `endMs`, when the run ended (early, when a violation stopped it). */
  finish(endMs: number): { pools: PoolSeries[]; stores: PoolSeries[]; deliveries: DeliveryBucket[]; events: TimelineEvent[] };
}

export function createSeriesRecorder(totalMs: number): SeriesRecorder {
  const bucketMs = Math.max(1, Math.ceil(totalMs / BUCKETS));
  const bucketOf = (atMs: number): number => Math.min(BUCKETS - 1, Math.max(0, Math.floor(atMs / bucketMs)));
  const pools = new Map<string, PoolTrack>();
  const stores = new Map<string, PoolTrack>();
  let lastBucket = -1;
  const newTrack = (label: string, capacity: number, low: number, emergency: number, level: number): PoolTrack => ({
    label,
    capacity,
    low,
    emergency,
    min: new Float64Array(BUCKETS).fill(Number.NaN),
    last: new Float64Array(BUCKETS).fill(Number.NaN),
    initial: level,
  });
  const record = (track: PoolTrack | undefined, atMs: number, level: number): void => {
    if (track === undefined) return;
    const b = bucketOf(atMs);
    const min = track.min[b] as number;
    if (Number.isNaN(min) || level < min) track.min[b] = level;
    track.last[b] = level;
  };
  const deliveries = Array.from({ length: BUCKETS }, (_, i) => ({ atMs: i * bucketMs, sent: 0, decrypted: 0, encRefused: 0, decRefused: 0 }));
  const events: TimelineEvent[] = [];
  return {
    trackPool(poolId, label, capacity, low, emergency, level) {
      pools.set(poolId, newTrack(label, capacity, low, emergency, level));
    },
    recordLevel(poolId, atMs, level) {
      record(pools.get(poolId), atMs, level);
    },
    trackStore(storeId, label, capacity, level) {
      stores.set(storeId, newTrack(label, capacity, 0, 0, level));
    },
    recordStore(storeId, atMs, level) {
      record(stores.get(storeId), atMs, level);
    },
    bucketsEntered(atMs) {
      const b = bucketOf(atMs);
      if (b <= lastBucket) return NONE;
      const starts: number[] = [];
      for (let j = lastBucket + 1; j <= b; j++) starts.push(j * bucketMs);
      lastBucket = b;
      return starts;
    },
    count(atMs, field) {
      (deliveries[bucketOf(atMs)] as Record<typeof field, number>)[field] += 1;
    },
    event(atMs, kind, label) {
      if (events.length < 5_000) events.push({ atMs, kind, label });
    },
    finish(endMs) {
      // Buckets the run reached; a run stopped early draws no time it never played.
      const reached = endMs >= totalMs ? BUCKETS : bucketOf(endMs) + 1;
      return { pools: toSeries(pools, reached, endMs), stores: toSeries(stores, reached, endMs), deliveries: deliveries.slice(0, reached), events };
    },
  };

  function toSeries(tracks: ReadonlyMap<string, PoolTrack>, reached: number, endMs: number): PoolSeries[] {
    const series: PoolSeries[] = [];
    for (const [poolId, track] of tracks) {
      const points: Array<readonly [number, number]> = [];
      let carried = track.initial;
      for (let b = 0; b < reached; b++) {
        const min = track.min[b] as number;
        points.push([b * bucketMs, Number.isNaN(min) ? carried : Math.min(min, carried)]);
        const last = track.last[b] as number;
        if (!Number.isNaN(last)) carried = last;
      }
      // Where a run stopped inside a bucket, its last level at the moment it stopped.
      if (reached < BUCKETS && endMs > (reached - 1) * bucketMs) points.push([endMs, carried]);
      series.push({ poolId, label: track.label, capacity: track.capacity, lowThreshold: track.low, emergencyThreshold: track.emergency, points });
    }
    return series;
  }
}
