// Model-based properties of the KME core: fast-check generates command sequences over a two-KME world
// (enc_keys, dec_keys by right and wrong callers on either end of the link, status, time, remote
// outages, sync answers, restarts), checks every invariant after every command and compares each
// outcome with an independent reference. Small pools (6 keys) make runs reach exhaustion.
import fc from 'fast-check';
import { expect, it } from 'vitest';
import { modelCommands, setupModelRun } from '../support/modelCommands.js';

const commandsArb = fc.commands(modelCommands, { size: 'large', maxCommands: 60 });

it('the strict core keeps every invariant and agrees with the reference over random command sequences', () => {
  fc.assert(
    fc.property(commandsArb, (commands) => {
      fc.modelRun(setupModelRun('property-strict'), commands);
    }),
    { numRuns: 400, seed: 20261122 },
  );
});

it('runs reach pool exhaustion, retrievals and syncs, so the property above has teeth', () => {
  const tally = { exhausted: 0, retrieved: 0, synced: 0 };
  fc.assert(
    fc.property(commandsArb, (commands) => {
      const setup = setupModelRun('property-coverage');
      let last: ReturnType<typeof setup> | undefined;
      fc.modelRun(() => (last = setup()), commands);
      for (const pool of last?.real.world.pools.values() ?? []) {
        if (pool.headSeq === pool.tailSeq) tally.exhausted += 1;
        if (pool.consumed > 0) tally.retrieved += 1;
        if (pool.generated > pool.capacity) tally.synced += 1;
      }
    }),
    { numRuns: 100, seed: 7 },
  );
  expect(tally.exhausted).toBeGreaterThan(10);
  expect(tally.retrieved).toBeGreaterThan(10);
  expect(tally.synced).toBeGreaterThan(10);
});
