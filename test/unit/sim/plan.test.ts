// The pure parts of `kmesim plan`: the Wilson interval against published values, the grid's order and
// the scenario a point makes, and the recommendation (the smallest pool that meets the objective, never a
// point whose runs broke an invariant).
import { expect, it } from 'vitest';
import { gridPoints, scenarioAt } from '../../../src/sim/plan/planGrid.js';
import { summarizePlan, type PlanRun } from '../../../src/sim/plan/planResult.js';
import { planSchema } from '../../../src/sim/plan/planSchema.js';
import { recommendationLines } from '../../../src/sim/plan/renderPlan.js';
import { wilsonInterval } from '../../../src/sim/plan/wilson.js';
import { scenarioSchema } from '../../../src/sim/scenarioSchema.js';

it('Wilson intervals match the published ones (Newcombe, Stat. Med. 17 (1998) 857, table I)', () => {
  // Newcombe's examples at 95 %: 81/263 → 0.2553–0.3662; 15/148 → 0.0624–0.1605; 0/20 → 0–0.1611; 1/29 → 0.0061–0.1718.
  const cases: Array<[number, number, number, number]> = [
    [81, 263, 0.2553, 0.3662],
    [15, 148, 0.0624, 0.1605],
    [0, 20, 0, 0.1611],
    [1, 29, 0.0061, 0.1718],
  ];
  for (const [successes, trials, low, high] of cases) {
    const interval = wilsonInterval(successes, trials, 0.95);
    expect(interval.low).toBeCloseTo(low, 4);
    expect(interval.high).toBeCloseTo(high, 4);
  }
  expect(wilsonInterval(0, 0, 0.95)).toEqual({ low: 0, high: 1 });
  expect(wilsonInterval(0, 40_000, 0.95).low).toBe(0);
  expect(wilsonInterval(7, 7, 0.95).high).toBe(1);
  expect(wilsonInterval(0, 40_000, 0.99).high).toBeGreaterThan(wilsonInterval(0, 40_000, 0.95).high);
  expect(() => wilsonInterval(3, 2, 0.95)).toThrow(RangeError);
  expect(() => wilsonInterval(1, 2, 0.8)).toThrow(RangeError);
});

const base = scenarioSchema.parse({
  name: 'base',
  seeds: [1],
  duration: '1h',
  world: { users: { count: 4 }, pool: { capacity: 10, initialKeys: 8 }, supply: { link: { distanceKm: 10 } } },
  expect: [{ minMessagesDecrypted: 1 }],
});

it('nests the grid in a fixed order, the pool capacity varying fastest', () => {
  const points = gridPoints({ poolCapacity: [10, 20], distanceKm: [25, 50], users: [4] });
  expect(points).toEqual([
    { distanceKm: 25, users: 4, poolCapacity: 10 },
    { distanceKm: 25, users: 4, poolCapacity: 20 },
    { distanceKm: 50, users: 4, poolCapacity: 10 },
    { distanceKm: 50, users: 4, poolCapacity: 20 },
  ]);
});

it('puts a point into the base scenario, keeping what it does not vary, dropping its expectations', () => {
  const scenario = scenarioAt(base, { poolCapacity: 5, distanceKm: 80, users: 6, mailsPerUserPerDay: 7, syncPeriod: 3_600_000 }, 'base-2');
  expect(scenario.name).toBe('base-2');
  expect(scenario.world.pool).toMatchObject({ capacity: 5, initialKeys: 5 });
  expect(scenario.world.supply).toEqual({ link: { distanceKm: 80 } });
  expect(scenario.world.users).toEqual({ count: 6 });
  expect(scenario.workload.mailsPerUserPerDay).toBe(7);
  expect(scenario.world.sync.scheduled).toBe(3_600_000);
  expect(scenario.expect).toEqual([]);
  expect(scenarioAt(base, { supplyRate: 300 }, 'x').world.supply).toEqual({ rate: 300 });
  expect(base.world.pool.capacity).toBe(10);
});

it('recommends per line of the grid the smallest pool whose interval meets the objective, never one whose runs failed', () => {
  const plan = planSchema.parse({ name: 'p', scenario: 'base.yaml', seeds: 2, vary: { distanceKm: [25, 50], poolCapacity: [10, 20, 40] }, objective: { keyWaitOver: '1m', atMost: 0.001 } });
  const points = gridPoints(plan.vary);
  // Per point: [waited, passed] for each of the two seeds, 20,000 messages a run.
  const outcomes: Array<[number, boolean]> = [
    [500, true], // 25 km, 10 keys: too many wait
    [0, false], // 25 km, 20 keys: nobody waits, but a run broke an invariant
    [1, true], // 25 km, 40 keys: meets
    [900, true], // 50 km: nothing meets
    [300, true],
    [60, true],
  ];
  const runs: PlanRun[] = points.flatMap((_, point) =>
    [1, 2].map((seed) => ({ point, seed, passed: seed === 1 || (outcomes[point] as [number, boolean])[1], fingerprint: 'f', messages: 20_000, waited: (outcomes[point] as [number, boolean])[0], exhausted: false, deferred: false })),
  );
  const result = summarizePlan(plan, points, runs);
  expect(result.recommendations).toEqual([
    { given: { distanceKm: 25 }, label: 'distanceKm=25', poolCapacity: 40, point: { distanceKm: 25, poolCapacity: 40 }, along: 'poolCapacity', value: 40 },
    { given: { distanceKm: 50 }, label: 'distanceKm=50', poolCapacity: null, point: null, along: 'poolCapacity', value: null },
  ]);
  expect(result.points[1]).toMatchObject({ failedRuns: 1, events: 0, trials: 40_000, meets: false });
  expect(result.points[2]?.interval.high).toBeLessThanOrEqual(0.001);
});

it('recommends a point that meets the objective when the plan does not vary the pool', () => {
  const plan = planSchema.parse({ name: 'p', scenario: 'base.yaml', seeds: 1, vary: { supplyRate: [100, 1_000] }, objective: { keyWaitOver: '1m', atMost: 0.01 } });
  const points = gridPoints(plan.vary);
  const result = summarizePlan(plan, points, [
    { point: 0, seed: 1, passed: true, fingerprint: 'f', messages: 10_000, waited: 5_000, exhausted: false, deferred: false },
    { point: 1, seed: 1, passed: true, fingerprint: 'f', messages: 10_000, waited: 0, exhausted: false, deferred: false },
  ]);
  expect(result.recommendations.map((entry) => [entry.label, entry.point, entry.poolCapacity])).toEqual([
    ['supplyRate=100', null, null],
    ['supplyRate=1000', { supplyRate: 1_000 }, null],
  ]);
  expect(recommendationLines(result)).toEqual(['supplyRate=100: no configuration tried meets the objective', "supplyRate=1000: meets the objective with the scenario's pools"]);
});

it('judges the exhaustion objective on runs: the share of runs in which any pool ran empty', () => {
  const plan = planSchema.parse({ name: 'p', scenario: 'base.yaml', seeds: 40, vary: { poolCapacity: [10, 80] }, objective: { anyPoolExhausted: true, atMost: 0.2 } });
  const points = gridPoints(plan.vary);
  // 10 keys: every run empties a pool; 80 keys: none does.
  const runs = points.flatMap((_, point) => Array.from({ length: 40 }, (_, s) => ({ point, seed: s + 1, passed: true, fingerprint: 'f', messages: 100, waited: 0, exhausted: point === 0, deferred: false })));
  const result = summarizePlan(plan, points, runs);
  expect(result.objective).toEqual({ kind: 'poolExhausted', atMost: 0.2, confidence: 0.95 });
  expect(result.points.map((point) => [point.trials, point.events, point.meets])).toEqual([
    [40, 40, false],
    [40, 0, true],
  ]);
  expect(result.recommendations[0]?.poolCapacity).toBe(80);
  expect(planSchema.safeParse({ ...plan, objective: { atMost: 0.1 } }).success).toBe(false);
  expect(planSchema.safeParse({ ...plan, objective: { anyPoolExhausted: true, keyWaitOver: '1m', atMost: 0.1 } }).success).toBe(false);
});

it('refuses a plan that varies nothing, an objective threshold it does not count, or two ways to rate a link', () => {
  const plan = { name: 'p', scenario: 's.yaml', seeds: 2, objective: { keyWaitOver: '1m', atMost: 0.01 } };
  expect(planSchema.safeParse({ ...plan, vary: {} }).success).toBe(false);
  expect(planSchema.safeParse({ ...plan, vary: { poolCapacity: [1] }, objective: { keyWaitOver: '2m', atMost: 0.01 } }).success).toBe(false);
  expect(planSchema.safeParse({ ...plan, vary: { supplyRate: [1], distanceKm: [2] } }).success).toBe(false);
  expect(planSchema.safeParse({ ...plan, vary: { poolCapacity: [1] } }).success).toBe(true);
});

it('varies the store’s starting level, and judges the deferral objective on runs', () => {
  expect(scenarioAt(base, { initialBits: 2_048 }, 'x').world.supply).toEqual({ link: { distanceKm: 10 }, initialBits: 2_048 });
  // Above the store (one pool's worth here: 10 keys of 256 bits) is refused before anything runs.
  expect(() => scenarioAt(base, { initialBits: 4_096 }, 'x')).toThrow(/must not exceed the store/);
  const plan = planSchema.parse({ name: 'p', scenario: 'base.yaml', seeds: 10, vary: { initialBits: [0, 2_048] }, objective: { anyMessageDeferred: true, atMost: 0.5 } });
  const points = gridPoints(plan.vary);
  expect(points).toEqual([{ initialBits: 0 }, { initialBits: 2_048 }]);
  for (const [i, point] of points.entries()) expect(scenarioAt(base, point, `p-${i + 1}`).world.supply?.initialBits).toBe(point.initialBits);
  // Pools never run empty here, but at u = 0 every run defers a message and at 2,048 bits one in ten does.
  const runs = points.flatMap((_, point) =>
    Array.from({ length: 10 }, (_, s) => ({ point, seed: s + 1, passed: true, fingerprint: 'f', messages: 50, waited: 0, exhausted: false, deferred: point === 0 || s === 0 })),
  );
  const result = summarizePlan(plan, points, runs);
  expect(result.objective).toEqual({ kind: 'messageDeferred', atMost: 0.5, confidence: 0.95 });
  expect(result.points.map((point) => [point.trials, point.events])).toEqual([
    [10, 10],
    [10, 1],
  ]);
  expect(result.points.map((point) => point.meets)).toEqual([false, true]);
  // Without pool sizes to choose from, the line runs along the starting level: the smallest that meets it.
  expect(result.recommendations).toEqual([{ given: {}, label: 'the base scenario', poolCapacity: null, point: { initialBits: 2_048 }, along: 'initialBits', value: 2_048 }]);
  expect(recommendationLines(result)).toEqual(['the base scenario: stores starting with 2048 bits or more']);
  expect(planSchema.safeParse({ ...plan, objective: { anyMessageDeferred: true, anyPoolExhausted: true, atMost: 0.1 } }).success).toBe(false);
});
