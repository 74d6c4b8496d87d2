// The key-supply model in the simulator (issue: capacity planning, validation "conservation"): over a long
// run, key delivered ≤ key produced; with demand well above supply, the rate at which keys reach senders
// converges to the link's rate; without a supply nothing changes (the remote is an endless source).
// CI size: a 6 h run worked off in its liveness phase, and 24 h for the rate, within 5 %; full size
// (`npm run validate`): a day, and three days within 3 %.
import { expect, it } from 'vitest';
import { runScenario } from '../../src/sim/runScenario.js';
import { scenarioSchema } from '../../src/sim/scenarioSchema.js';
import { supplyRateOf } from '../../src/sim/supply.js';
import { bySize } from './validationSize.js';

const KEY_BITS = 256;
const RATE_BITS_PER_SECOND = 64; // one 256-bit key every 4 s
// Larger than what the link makes while a pool backs off after finding the store empty (at most 5 min),
// so that no production is lost to a full store.
const STORE_BITS = 400 * KEY_BITS;
const POOL_KEYS = 20;

/** `liveness`: long enough to work off the backlog (every message sent and opened), or short where only the safety phase is read. */
function starved(hours: number, liveness = '30d') {
  return scenarioSchema.parse({
    name: 'supply-starved',
    seeds: [1],
    duration: `${hours}h`,
    liveness: { bound: liveness },
    world: {
      kmes: 1,
      users: { count: 4 },
      keySizeBits: KEY_BITS,
      pool: { capacity: POOL_KEYS },
      supply: { rate: RATE_BITS_PER_SECOND, storeBits: STORE_BITS },
      sync: { latency: '1s' },
    },
    // About 56 messages a minute across the four users, each needing one key: some 3.7× the supply.
    workload: { mailsPerUserPerDay: 20_000, messageBytes: { min: 10, max: 32 }, readDelay: { min: 0, max: 1_000 }, transmitDelay: { min: 100, max: 1_000 } },
  });
}

it('delivers no more key than the links produced, and no invariant breaks (I10 included)', { timeout: bySize(60_000, 1_800_000) }, () => {
  const hours = bySize(6, 24);
  const report = runScenario(starved(hours), { seed: 1, file: 'supply-starved.yaml' });
  expect(report.passed, JSON.stringify([report.safety, report.liveness])).toBe(true);
  // Every key that reached a pool came from the store: at most what it held at the start, plus what the
  // link produced over the run (the safety phase and the liveness phase after it).
  const producedAtMost = STORE_BITS + (RATE_BITS_PER_SECOND * report.virtualMs) / 1000;
  // Each of the four pools also starts full, drawn from that same store.
  expect(report.stats.keysDelivered * KEY_BITS).toBeLessThanOrEqual(producedAtMost);
  // The store's own books say the same, more sharply: what reached senders was drawn, and what was drawn was held or made.
  const supply = report.stats.supply;
  expect(supply).toBeDefined();
  expect(report.stats.keysDelivered * KEY_BITS).toBeLessThanOrEqual(supply?.drawnBits ?? 0);
  expect(supply?.drawnBits ?? Infinity).toBeLessThanOrEqual(STORE_BITS + (supply?.producedBits ?? 0));
  expect(supply?.producedBits ?? Infinity).toBeLessThanOrEqual((RATE_BITS_PER_SECOND * report.virtualMs) / 1000 + 1e-6);
  // Demand outran supply: the mail of the safety phase was opened only well into the liveness phase.
  expect(report.virtualMs).toBeGreaterThan(2 * hours * 3_600_000);
});

it('with demand above supply, keys reach senders at the link’s rate', { timeout: bySize(60_000, 1_800_000) }, () => {
  const hours = bySize(24, 72);
  const tolerance = bySize(0.05, 0.03);
  // Only the safety phase is read: the backlog of unsent mail is not worked off afterwards.
  const report = runScenario(starved(hours, '1h'), { seed: 1, file: 'supply-starved.yaml' });
  // Messages of at most 32 bytes take one 256-bit key each: messages opened per second in the second half
  // of the safety phase (the start's full store long spent) are keys per second.
  const from = (hours / 2) * 3_600_000;
  const to = hours * 3_600_000;
  const all = report.series.deliveries;
  const width = (all[1]?.atMs ?? 0) - (all[0]?.atMs ?? 0);
  // Whole buckets (each [atMs, atMs + width)) inside the window.
  const buckets = all.filter((bucket) => bucket.atMs >= from && bucket.atMs + width <= to);
  expect(buckets.length).toBeGreaterThanOrEqual(4);
  const opened = buckets.reduce((sum, bucket) => sum + bucket.decrypted, 0);
  const bitsPerSecond = (opened * KEY_BITS) / ((buckets.length * width) / 1000);
  expect(bitsPerSecond / RATE_BITS_PER_SECOND).toBeGreaterThan(1 - tolerance);
  expect(bitsPerSecond / RATE_BITS_PER_SECOND).toBeLessThan(1 + tolerance);
});

it('derives the rate from a link description by the decoy-state formula (unset fields: GYS)', () => {
  expect(supplyRateOf({ link: { distanceKm: 50 } })).toBeGreaterThan(100);
  expect(supplyRateOf({ link: { distanceKm: 160 } })).toBe(0);
  expect(supplyRateOf({ rate: 12 })).toBe(12);
  expect(() => scenarioSchema.parse({ ...starved(1), world: { users: { count: 2 }, supply: { storeBits: 10 } } })).toThrow(/give either rate/);
});

it('counts users whose pools ran empty while the workload ran, not keys expiring in the idle liveness phase after it', () => {
  const starvedRun = runScenario(starved(6, '1h'), { seed: 1, file: 'supply-starved.yaml' });
  expect(starvedRun.stats.usersExhausted).toBeGreaterThan(0);
  // Plenty of supply, little mail: the pools hold. In the day after the workload their keys expire
  // (24 h TTL), which empties them, but that is not the operating period the count is about.
  const calm = scenarioSchema.parse({
    name: 'calm',
    seeds: [1],
    duration: '6h',
    liveness: { bound: '1d' },
    world: { kmes: 1, users: { count: 4 }, keySizeBits: 256, pool: { capacity: 400 } },
    workload: { mailsPerUserPerDay: 200, messageBytes: { min: 10, max: 200 } },
  });
  const calmRun = runScenario(calm, { seed: 1, file: 'calm.yaml' });
  expect(calmRun.passed).toBe(true);
  expect(calmRun.stats.usersExhausted).toBe(0);
  expect(Math.min(...calmRun.series.pools.flatMap((pool) => pool.points.map((point) => point[1])))).toBe(0);
});
