// The chart series end where the run ended: a full run keeps every bucket; a run a violation stopped
// draws no time it never played, ends each pool at its level at the stop, and marks the violation there.
import { fileURLToPath } from 'node:url';
import { expect, it } from 'vitest';
import { loadScenarios } from '../../../src/sim/loadScenario.js';
import { runScenario } from '../../../src/sim/runScenario.js';
import { createSeriesRecorder } from '../../../src/sim/seriesRecorder.js';

const HOUR = 3_600_000;

function recorded(): ReturnType<typeof createSeriesRecorder> {
  const series = createSeriesRecorder(100 * HOUR);
  series.trackPool('p', 'bob', 100, 10, 5, 100);
  series.recordLevel('p', 2 * HOUR, 80);
  series.recordLevel('p', 9 * HOUR, 40);
  series.count(9 * HOUR, 'sent');
  return series;
}

it('keeps every bucket of a run that reached its end', () => {
  const { pools, deliveries } = recorded().finish(100 * HOUR);
  expect(deliveries).toHaveLength(400);
  expect(pools[0]?.points).toHaveLength(400);
  expect(pools[0]?.points.at(-1)).toEqual([399 * 15 * 60_000, 40]);
});

it('ends the series of a run stopped early at the moment it stopped, at the level it had then', () => {
  const stopAt = 10 * HOUR + 123;
  const { pools, deliveries } = recorded().finish(stopAt);
  // 15-minute buckets: 0 … 40 reached, then the stop itself.
  expect(deliveries).toHaveLength(41);
  expect(deliveries.at(-1)?.atMs).toBe(40 * 15 * 60_000);
  expect(deliveries.reduce((total, bucket) => total + bucket.sent, 0)).toBe(1);
  expect(pools[0]?.points).toHaveLength(42);
  expect(pools[0]?.points.at(-1)).toEqual([stopAt, 40]);
  expect(Math.max(...(pools[0]?.points.map(([atMs]) => atMs) ?? []))).toBe(stopAt);
});

it('reports a run a bug stopped with series cropped to it and the violation marked where it happened', async () => {
  const file = fileURLToPath(new URL('../../../scenarios/exhaustion.yaml', import.meta.url));
  const [loaded] = await loadScenarios(file);
  const report = runScenario(loaded?.scenario as NonNullable<typeof loaded>['scenario'], { seed: 1, file, bugs: ['pop-on-enc'] });
  expect(report.passed).toBe(false);
  const planned = (loaded?.scenario.duration ?? 0) as number;
  expect(report.virtualMs).toBeLessThan(planned / 10);
  const latest = Math.max(...report.series.pools.flatMap((pool) => pool.points.map(([atMs]) => atMs)), ...report.series.deliveries.map((bucket) => bucket.atMs));
  expect(latest).toBe(report.virtualMs);
  const violation = report.series.events.find((event) => event.kind === 'violation');
  expect(violation).toEqual({ atMs: report.virtualMs, kind: 'violation', label: report.safety.violations[0]?.invariant });
});
