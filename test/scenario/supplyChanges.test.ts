// A link's production over time (world.supply.fluctuation and .outages): seeded, traced, judged, healed in
// the liveness phase, and visible in the report (timeline bands, stats.supply). Key made while the channel
// is down would be key from nowhere; the store's books (I10) are audited at every step.
import { expect, it } from 'vitest';
import { runScenario } from '../../src/sim/runScenario.js';
import { scenarioSchema } from '../../src/sim/scenarioSchema.js';

const RATE = 100;
const HOURS = 24;

function linkScenario(supply: Record<string, unknown>) {
  return scenarioSchema.parse({
    name: 'production',
    seeds: [1],
    duration: `${HOURS}h`,
    liveness: { bound: '1h' },
    // One link between two KMEs with a store too large to fill: everything the link makes is kept.
    world: { kmes: 2, users: [{ name: 'alice', kme: 0 }, { name: 'bob', kme: 1 }], keySizeBits: 256, pool: { capacity: 50 }, supply: { rate: RATE, storeBits: 1e12, initialBits: 0, ...supply } },
    workload: { mailsPerUserPerDay: 100, messageBytes: { min: 10, max: 30 }, readDelay: { min: 0, max: 1_000 } },
  });
}

const run = (supply: Record<string, unknown>, seed = 1) => runScenario(linkScenario(supply), { seed, file: 'production.yaml' });

/** Bits produced by the A~B link (three links with a store: A~A, A~B, B~B; each makes RATE when up). */
const produced = (report: ReturnType<typeof run>) => report.stats.supply?.producedBits ?? Number.NaN;

it('without changes, every link makes its rate over the whole run', () => {
  const steady = run({});
  expect(steady.passed).toBe(true);
  expect(produced(steady)).toBeCloseTo((3 * RATE * steady.virtualMs) / 1_000, 3);
  const { producedBits, drawnBits, heldBits } = steady.stats.supply ?? { producedBits: 0, drawnBits: 0, heldBits: 0 };
  expect(producedBits - drawnBits).toBeCloseTo(heldBits, 3);
});

it('outages stop production while the channel is down, come and go by the seed, and heal in the liveness phase', () => {
  const outages = { meanEvery: '2h', meanLength: '2h' };
  const report = run({ outages });
  expect(report.passed, JSON.stringify(report.safety.violations.slice(0, 2))).toBe(true);
  const starts = report.series.events.filter((event) => event.kind === 'outage.start' && event.label.startsWith('quantum channel '));
  const ends = report.series.events.filter((event) => event.kind === 'outage.end' && event.label.startsWith('quantum channel '));
  expect(starts.length).toBeGreaterThan(3);
  expect(ends.length).toBe(starts.length);
  expect(starts.every((event) => event.atMs < HOURS * 3_600_000)).toBe(true);
  // Up about half the time: production well below the steady link's, and above nothing.
  const share = produced(report) / ((3 * RATE * report.virtualMs) / 1_000);
  expect(share).toBeGreaterThan(0.25);
  expect(share).toBeLessThan(0.8);
  // Seeded: the same seed, the same outages; another seed, others.
  expect(run({ outages }).fingerprint).toBe(report.fingerprint);
  expect(run({ outages }, 2).series.events.filter((event) => event.kind === 'outage.start').map((event) => event.atMs)).not.toEqual(starts.map((event) => event.atMs));
});

it('fluctuation draws each period’s rate within the spread; over a day it averages near the mean', () => {
  const report = run({ fluctuation: { every: '10m', spreadPct: 50 } });
  expect(report.passed).toBe(true);
  const share = produced(report) / ((3 * RATE * report.virtualMs) / 1_000);
  // 150 periods a link, each rate uniform in ±50 %: the mean of 450 draws is within a few % of 1.
  expect(share).toBeGreaterThan(0.93);
  expect(share).toBeLessThan(1.07);
  expect(share).not.toBe(1);
});

it('refuses fluctuation and outages it cannot play', () => {
  expect(() => linkScenario({ fluctuation: { every: '10ms', spreadPct: 10 } })).toThrow(/at least 1s/);
  expect(() => linkScenario({ fluctuation: { every: '1h', spreadPct: 150 } })).toThrow();
  expect(() => linkScenario({ outages: { meanEvery: '1h' } })).toThrow();
});

it('charts the stores to the end of the run, the buckets after the last event included', () => {
  // One hour of little mail, then a quiet liveness phase of a day: the store fills long after the last event.
  const report = runScenario(
    scenarioSchema.parse({
      name: 'quiet-end',
      seeds: [1],
      duration: '1h',
      liveness: { bound: '1d' },
      // No scheduled sync within the run: nothing happens after the last mail is read.
      world: { kmes: 2, users: [{ name: 'alice', kme: 0 }, { name: 'bob', kme: 1, mailsPerDay: 0 }], keySizeBits: 256, pool: { capacity: 10 }, supply: { rate: 1, storeBits: 1e6, initialBits: 0 }, sync: { scheduled: '30d' } },
      workload: { mailsPerUserPerDay: 48, messageBytes: { min: 10, max: 30 }, readDelay: { min: 0, max: 1_000 } },
    }),
    { seed: 1, file: 'quiet-end.yaml' },
  );
  const store = report.series.stores.find((series) => series.poolId === '0:store:KME_A~KME_B');
  const points = store?.points ?? [];
  const last = points[points.length - 1];
  // 1 bit/s: about 25 h × 3,600 / 256 ≈ 350 keys made, less what the pools drew at the start.
  expect(last?.[0]).toBeGreaterThan(20 * 3_600_000);
  expect(last?.[1]).toBeGreaterThan(250);
  expect(report.stats.supply && Math.floor(report.stats.supply.heldBits / 256 / 3)).toBeGreaterThan(0);
});
