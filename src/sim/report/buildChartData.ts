// Turns a run's series into what the page's charts draw: virtual time in hours, at most 8 pools (the
// ones that fell lowest), at most 2,000 points per pool series and 200 per message series, outage windows
// paired into bands, and event markers merged where they would overlap on screen. Everything here is
// JSON, embedded in index.html.
import { formatDurationMs } from '../../report/formatNumber.js';
import type { DeliveryBucket, PoolSeries, RunReport, TimelineEvent } from '../runReport.js';
import { downsamplePoints } from './downsamplePoints.js';

export const CHARTED_POOLS_MAX = 8;
export const POINTS_PER_SERIES_MAX = 2_000;
/** Message counts are noisy in fine buckets; about this many wider ones read better. */
export const DELIVERY_POINTS_MAX = 200;

export type MarkerKind = Exclude<TimelineEvent['kind'], 'outage.start' | 'outage.end'>;
/** An outage of the remote key manager on every link, or of one link (its label is the link's ID). */
export type BandKind = 'remote' | 'link';

/** The label the engine gives an outage of every link (src/engine/faults.ts). */
const REMOTE_OUTAGE_LABEL = 'remote key manager';

export interface PoolChartSeries {
  readonly poolId: string;
  readonly label: string;
  readonly capacity: number;
  readonly minLevel: number;
  /** Null when every charted pool was sampled at the same instants: then `pools.x` holds them once. */
  readonly x: readonly number[] | null;
  readonly y: readonly number[];
}

export interface ChartMarkers {
  /** Outage windows as [start h, end h]. */
  /** [from h, to h, kind] */
  readonly bands: ReadonlyArray<readonly [number, number, BandKind]>;
  /** Marker positions in hours, one per distinguishable instant; total counts the events behind them. */
  readonly marks: ReadonlyArray<{ readonly kind: MarkerKind; readonly x: readonly number[]; readonly total: number }>;
}

export interface RunChartData {
  readonly id: string;
  readonly virtualHours: number;
  readonly pools: {
    readonly total: number;
    readonly x: readonly number[] | null;
    readonly series: readonly PoolChartSeries[];
    readonly thresholds: ReadonlyArray<{ readonly kind: 'capacity' | 'low' | 'emergency'; readonly value: number }>;
  };
  /** Each link's key store, when the run had a supply (no thresholds). */
  readonly stores: {
    readonly total: number;
    readonly x: readonly number[] | null;
    readonly series: readonly PoolChartSeries[];
    readonly thresholds: readonly [];
  };
  readonly deliveries: {
    /** How many recorded buckets each point sums, 1 unless the run had more than the point cap. */
    readonly bucketsPerPoint: number;
    readonly yLabel: string;
    readonly x: readonly number[];
    readonly sent: readonly number[];
    readonly decrypted: readonly number[];
    readonly encRefused: readonly number[];
    readonly decRefused: readonly number[];
  };
  readonly markers: ChartMarkers;
}

const MARKER_KINDS: readonly MarkerKind[] = ['sync.completed', 'sync.failed', 'kme.restart', 'fault', 'race', 'burst', 'violation'];

export function buildChartData(run: RunReport, id: string): RunChartData {
  const selected = selectPools(run.series.pools);
  const endMs = findEndMs(run);
  return {
    id,
    virtualHours: toHours(endMs),
    pools: { total: run.series.pools.length, ...shareTimeAxis(selected.map(toPoolChartSeries)), thresholds: collectThresholds(selected) },
    stores: { total: run.series.stores.length, ...shareTimeAxis(selectPools(run.series.stores).map(toPoolChartSeries)), thresholds: [] },
    deliveries: mergeDeliveries(run.series.deliveries),
    markers: { bands: pairOutages(run.series.events, endMs), marks: collectMarks(run.series.events, endMs) },
  };
}

/** The pools that came closest to running dry, relative to their capacity; ties break by pool ID. */
export function selectPools(pools: readonly PoolSeries[]): PoolSeries[] {
  if (pools.length <= CHARTED_POOLS_MAX) return [...pools];
  return pools
    .map((pool, index) => ({ pool, index, min: findMinLevel(pool) }))
    .sort((a, b) =>
      computeRelativeLevel(a.min, a.pool.capacity) - computeRelativeLevel(b.min, b.pool.capacity)
      || a.min - b.min
      || compareStrings(a.pool.poolId, b.pool.poolId)
      || a.index - b.index)
    .slice(0, CHARTED_POOLS_MAX)
    .map((entry) => entry.pool);
}

export function findMinLevel(pool: PoolSeries): number {
  let min = Number.POSITIVE_INFINITY;
  for (const [, level] of pool.points) min = Math.min(min, level);
  return min;
}

export function toHours(ms: number): number {
  return Math.round(ms / 3.6) / 1e6;
}

// Series may run past virtualMs (a sample taken as the run stops); the x axis must still show them.
function findEndMs(run: RunReport): number {
  let endMs = Math.max(0, run.virtualMs);
  for (const pool of run.series.pools) endMs = Math.max(endMs, pool.points[pool.points.length - 1]?.[0] ?? 0);
  for (const bucket of run.series.deliveries) endMs = Math.max(endMs, bucket.atMs);
  for (const event of run.series.events) endMs = Math.max(endMs, event.atMs);
  return endMs;
}

// The recorder samples every pool at the same bucket times; sending those once halves the embedded data.
function shareTimeAxis(series: readonly PoolChartSeries[]): { x: readonly number[] | null; series: readonly PoolChartSeries[] } {
  const first = series[0]?.x;
  if (!first || series.some((s) => !haveSameNumbers(s.x ?? [], first))) return { x: null, series };
  return { x: first, series: series.map((s) => ({ ...s, x: null })) };
}

function haveSameNumbers(a: readonly number[], b: readonly number[]): boolean {
  return a.length === b.length && a.every((value, i) => value === b[i]);
}

function toPoolChartSeries(pool: PoolSeries): PoolChartSeries {
  const points = downsamplePoints(pool.points, POINTS_PER_SERIES_MAX);
  const min = findMinLevel(pool);
  return {
    poolId: pool.poolId,
    label: pool.label,
    capacity: pool.capacity,
    minLevel: Number.isFinite(min) ? min : 0,
    x: points.map(([ms]) => toHours(ms)),
    y: points.map(([, level]) => level),
  };
}

function collectThresholds(pools: readonly PoolSeries[]): RunChartData['pools']['thresholds'] {
  const seen = new Set<string>();
  const out: Array<{ kind: 'capacity' | 'low' | 'emergency'; value: number }> = [];
  for (const pool of pools) {
    for (const [kind, value] of [['capacity', pool.capacity], ['low', pool.lowThreshold], ['emergency', pool.emergencyThreshold]] as const) {
      if (seen.has(`${kind}:${value}`)) continue;
      seen.add(`${kind}:${value}`);
      out.push({ kind, value });
    }
  }
  return out;
}

function mergeDeliveries(buckets: readonly DeliveryBucket[]): RunChartData['deliveries'] {
  const bucketsPerPoint = Math.max(1, Math.ceil(buckets.length / DELIVERY_POINTS_MAX));
  const bucketMs = (buckets[1]?.atMs ?? Number.NaN) - (buckets[0]?.atMs ?? Number.NaN);
  const yLabel = bucketMs > 0 ? `messages per ${formatDurationMs(bucketMs * bucketsPerPoint)}` : 'messages';
  const out = { bucketsPerPoint, yLabel, x: [] as number[], sent: [] as number[], decrypted: [] as number[], encRefused: [] as number[], decRefused: [] as number[] };
  for (let start = 0; start < buckets.length; start += bucketsPerPoint) {
    const group = buckets.slice(start, start + bucketsPerPoint);
    out.x.push(toHours(group[0]?.atMs ?? 0));
    out.sent.push(sumField(group, 'sent'));
    out.decrypted.push(sumField(group, 'decrypted'));
    out.encRefused.push(sumField(group, 'encRefused'));
    out.decRefused.push(sumField(group, 'decRefused'));
  }
  return out;
}

// An outage is a start and an end with the same label (the remote, or a link). Outages of different
// labels may overlap and are drawn as separate bands. One still open when the run ends lasts to the end;
// an end that closes nothing (the runner heals every fault when liveness starts) draws nothing.
function pairOutages(events: readonly TimelineEvent[], endMs: number): Array<readonly [number, number, BandKind]> {
  const bands: Array<readonly [number, number, BandKind]> = [];
  const kindOf = (label: string): BandKind => (label === REMOTE_OUTAGE_LABEL ? 'remote' : 'link');
  const open = new Map<string, { startMs: number; depth: number }>();
  for (const event of sortByTime(events)) {
    const current = open.get(event.label);
    if (event.kind === 'outage.start') {
      if (current) current.depth++;
      else open.set(event.label, { startMs: event.atMs, depth: 1 });
    } else if (event.kind === 'outage.end' && current && --current.depth === 0) {
      bands.push([toHours(current.startMs), toHours(event.atMs), kindOf(event.label)]);
      open.delete(event.label);
    }
  }
  for (const [label, { startMs }] of open) bands.push([toHours(startMs), toHours(endMs), kindOf(label)]);
  return bands.sort((a, b) => a[0] - b[0] || a[1] - b[1]);
}

// Thousands of syncs would paint a solid wall: events closer than one 2,000th of the run share a marker.
function collectMarks(events: readonly TimelineEvent[], endMs: number): ChartMarkers['marks'] {
  const resolutionMs = Math.max(1, endMs / POINTS_PER_SERIES_MAX);
  const sorted = sortByTime(events);
  const marks: Array<ChartMarkers['marks'][number]> = [];
  for (const kind of MARKER_KINDS) {
    const x: number[] = [];
    let lastSlot = Number.NaN;
    let total = 0;
    for (const event of sorted) {
      if (event.kind !== kind) continue;
      total++;
      const slot = Math.floor(event.atMs / resolutionMs);
      if (slot === lastSlot) continue;
      lastSlot = slot;
      x.push(toHours(event.atMs));
    }
    if (total > 0) marks.push({ kind, x, total });
  }
  return marks;
}

function sortByTime(events: readonly TimelineEvent[]): TimelineEvent[] {
  // Array.prototype.sort is stable, so events at the same instant keep their recorded order.
  return [...events].sort((a, b) => a.atMs - b.atMs);
}

function computeRelativeLevel(min: number, capacity: number): number {
  if (!Number.isFinite(min)) return Number.POSITIVE_INFINITY;
  return capacity > 0 ? min / capacity : min;
}

function compareStrings(a: string, b: string): number {
  if (a === b) return 0;
  return a < b ? -1 : 1;
}

function sumField(group: readonly DeliveryBucket[], field: 'sent' | 'decrypted' | 'encRefused' | 'decRefused'): number {
  return group.reduce((total, bucket) => total + bucket[field], 0);
}
