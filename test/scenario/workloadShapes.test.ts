// Workload shapes the ruin validation needs, each usable on its own: exponentially distributed message
// sizes (workload.messageBytes.mean) and a user's own mail rate (users[].mailsPerDay, 0 for a reader).
import { expect, it } from 'vitest';
import { runScenario } from '../../src/sim/runScenario.js';
import { scenarioSchema } from '../../src/sim/scenarioSchema.js';
import { parseScenario, ScenarioError } from '../../src/sim/loadScenario.js';

const base = {
  name: 'shapes',
  seeds: [1],
  duration: '1h',
  liveness: { bound: '1h' },
  world: { kmes: 2, users: [{ name: 'alice', kme: 0 }, { name: 'bob', kme: 1, mailsPerDay: 0 }], keySizeBits: 64, pool: { capacity: 100_000 } },
  workload: { mailsPerUserPerDay: 24 * 600, messageBytes: { mean: 400 }, otpSample: 1, readDelay: { min: 0, max: 1_000 } },
};

it('draws message sizes with the mean asked for, and a user with no mail rate sends nothing', () => {
  const report = runScenario(scenarioSchema.parse(base), { seed: 1, file: 'shapes.yaml' });
  expect(report.passed, JSON.stringify(report.safety.violations.slice(0, 2))).toBe(true);
  // About 600 messages in the hour, all from alice: bob's pool on KME_B is never asked for keys.
  expect(report.stats.messagesWritten).toBeGreaterThan(500);
  expect(report.stats.messagesWritten).toBeLessThan(700);
  // 8-byte keys: keys delivered ≈ total bytes / 8 (+½ key a message for rounding up). An exponential of mean
  // 400 over ~600 messages has a standard error of about 16 bytes on the mean.
  const meanBytes = (report.stats.keysDelivered / report.stats.messagesSent - 0.5) * 8;
  expect(meanBytes).toBeGreaterThan(350);
  expect(meanBytes).toBeLessThan(450);
  // The pool bob would draw on to write to alice keeps its starting level.
  const toAlice = report.series.pools.find((pool) => pool.poolId === '0:KME_A~KME_B/SAE_ALICE');
  const toBob = report.series.pools.find((pool) => pool.poolId === '0:KME_A~KME_B/SAE_BOB');
  expect(toAlice?.points.every((point) => point[1] === toAlice.points[0]?.[1])).toBe(true);
  expect(toBob?.points.some((point) => point[1] !== toBob.points[0]?.[1])).toBe(true);
});

it('uniform and exponential sizes are one or the other, and the mean is checked', () => {
  expect(() => scenarioSchema.parse({ ...base, workload: { messageBytes: { mean: 0 } } })).toThrow();
  expect(() => scenarioSchema.parse({ ...base, workload: { messageBytes: { min: 1, max: 2, mean: 5 } } })).toThrow();
  expect(() => parseScenario('name: x\nseeds: [1]\nduration: 1h\nworld: { users: { count: 2 } }\nworkload: { messageBytes: { mean: -3 } }\n', 'x.yaml')).toThrow(ScenarioError);
  expect(() => scenarioSchema.parse({ ...base, world: { ...base.world, users: [{ name: 'a', mailsPerDay: -1 }, { name: 'b' }] } })).toThrow();
});
