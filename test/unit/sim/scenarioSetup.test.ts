// A scenario file as a server's setup: its users become SAEs drawn from the server's seed (the same seed,
// the same SAEs), its pool sizes, key size, faults and sync latency carry over, and the server's kmes win.
import { expect, it } from 'vitest';
import { createScenarioSetup } from '../../../src/sim/scenarioSetup.js';

it('resolves a scenario file into the same SAEs for the same seed, and different ones for another', async () => {
  const setup = createScenarioSetup('scenarios/remote-outage.yaml');
  const [first, again, other] = await Promise.all([setup({ seed: 1 }), setup({ seed: 1 }), setup({ seed: 2 })]);
  expect(first.saes.map((sae) => sae.id)).toEqual(Array.from({ length: 8 }, (_, i) => `SAE_0000${i + 1}`));
  expect(again).toEqual(first);
  expect(other.saes.map((sae) => sae.email)).not.toEqual(first.saes.map((sae) => sae.email));
  expect(first.profile).toMatchObject({ name: 'strict', keySizeBits: 8192, poolCapacity: 200 });
  expect(first.faults.map((fault) => fault.type)).toEqual(['remote-offline', 'link-down']);
  expect(first.syncLatencyMs).toBe(10_000);
  expect((await setup({ seed: 1, kmes: 2 })).kmeIds).toEqual(['KME_A', 'KME_B']);
});
