// Concurrency: fast-check's scheduler interleaves concurrent enc_keys requests on one pool through the
// async KME service. The check-then-act variant (check availability, await, reserve) must be caught
// delivering one key twice (I1); the real service, which checks and reserves in one step, never is.
import fc from 'fast-check';
import { expect, it } from 'vitest';
import {
  createHistoryChecker,
  createKmeService,
  createWorld,
  hashKeyBytes,
  materialOf,
  resolveProfile,
  type BugName,
  type Violation,
} from '../../src/index.js';

const profile = resolveProfile('strict', { poolCapacity: 8, maxKeysPerRequest: 3 });

function concurrentEncProperty(bugs: readonly BugName[], judge: 'client' | 'service' = 'client') {
  return fc.asyncProperty(fc.scheduler(), fc.array(fc.integer({ min: 1, max: 3 }), { minLength: 2, maxLength: 4 }), async (s, counts) => {
    const world = createWorld({ seed: 'scheduler', profile, kmeIds: ['KME_A'], bugs: new Set(bugs) });
    const service = createKmeService({ world, nowMs: () => 0, pause: () => s.schedule(Promise.resolve()) });
    for (const saeId of ['SAE_M', 'SAE_S']) service.execute({ type: 'sae.register', saeId, kmeId: 'KME_A' });
    const history = createHistoryChecker();
    const violations: Violation[] = [];
    const request = s.scheduleFunction((number: number) =>
      service.request({ type: 'keys.enc', kmeId: 'KME_A', callerSaeId: 'SAE_M', slaveSaeId: 'SAE_S', request: { number } }),
    );
    const calls = counts.map(async (number, i) => {
      const result = await request(number);
      const keys = result.ok && result.kind === 'keys' ? result.keys : [];
      violations.push(
        ...history.observe({
          op: 'enc',
          id: i + 1,
          atMs: 0,
          kmeId: 'KME_A',
          callerSaeId: 'SAE_M',
          slaveSaeId: 'SAE_S',
          additionalSlaveSaeIds: [],
          expectedSizeBits: profile.keySizeBits,
          status: result.ok ? 200 : 503,
          keys: keys.map((key) => ({ keyId: key.keyId, materialHash: hashKeyBytes(materialOf(world.config.seed, key)), sizeBits: key.sizeBits })),
        }),
      );
    });
    await s.waitFor(Promise.all(calls));
    // The service judges its own steps on the engine's stepper, as the simulator and the mock KME do.
    if (judge === 'service') violations.splice(0, violations.length, ...service.violations());
    if (violations.length > 0) throw new Error(violations.map((v) => `${v.invariant} ${v.message}`).join('; '));
  });
}

it('I1 catches check-then-act when concurrent enc_keys interleave between check and reserve', async () => {
  const details = await fc.check(concurrentEncProperty(['check-then-act']), { numRuns: 200, seed: 42 });
  expect(details.failed).toBe(true);
  expect(String(details.errorInstance)).toMatch(/I1 key .* was delivered by enc_keys twice/);
  const [scheduler, counts] = details.counterexample ?? [];
  // Two requests are the least that can race.
  expect(counts).toHaveLength(2);
  expect(String(scheduler)).toMatch(/resolved/);
});

it('the real service never delivers one key twice under any interleaving', async () => {
  await fc.assert(concurrentEncProperty([]), { numRuns: 200, seed: 42 });
});

it('the service\'s own verdict (the engine stepper) catches the same race, and passes the real service', async () => {
  const details = await fc.check(concurrentEncProperty(['check-then-act'], 'service'), { numRuns: 200, seed: 42 });
  expect(details.failed).toBe(true);
  expect(String(details.errorInstance)).toMatch(/I1 /);
  await fc.assert(concurrentEncProperty([], 'service'), { numRuns: 100, seed: 7 });
});
