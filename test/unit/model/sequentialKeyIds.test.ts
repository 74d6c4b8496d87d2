// C19 and I1 under the per-user-pool profile, whose key IDs are qk_{owner}_{seq}: the owner is the slave's
// name, with the other KME's appended for a pool on a link between two KMEs. Names can be chosen to make
// two pools' owners coincide ("bob" on kme-b has owner "bob_kme-a" on link kme-a~kme-b; an SAE called
// "bob_kme-a" on kme-a has the same owner on its own link). Such a registration is refused, so no two pools
// ever issue the same key ID, and a pool keeps the owner it was made with.
import { expect, it } from 'vitest';
import { perUserPoolProfile } from '../../../src/model/profiles.js';
import { describeWorldState } from '../../../src/model/worldDigest.js';
import { dec, enc, errorOf, idsOf, KME_A, KME_B, makeWorld, run } from './coreWorld.js';

function twoKmes() {
  return makeWorld({ profile: perUserPoolProfile, kmeIds: [KME_A, KME_B], saes: { alice: KME_A, bob: KME_B } });
}

it('C19 refuses an SAE name whose key IDs would be those of another pool, and changes nothing', () => {
  const world = twoKmes();
  const before = describeWorldState(world);
  const outcome = run(world, { type: 'sae.register', saeId: `bob_${KME_A}`, kmeId: KME_A });
  expect(errorOf(world, outcome).status).toBe(400);
  expect(describeWorldState(world)).toBe(before);
});

it('C19 refuses the reverse order too: a slave whose pool on the shared link would take a registered name', () => {
  const world = makeWorld({ profile: perUserPoolProfile, kmeIds: [KME_A, KME_B], saes: { alice: KME_A, [`carol_${KME_A}`]: KME_A } });
  const outcome = run(world, { type: 'sae.register', saeId: 'carol', kmeId: KME_B });
  expect(errorOf(world, outcome).status).toBe(400);
});

it('I1 keys of distinct pools never share an ID, even for SAE names that extend one another', () => {
  const world = twoKmes();
  expect(run(world, { type: 'sae.register', saeId: 'bob_2', kmeId: KME_A }).result.ok).toBe(true);
  const ids = [...idsOf(enc(world, 'alice', 'bob', { number: 3 })), ...idsOf(enc(world, 'alice', 'bob_2', { number: 3 }))];
  expect(new Set(ids).size).toBe(6);
  expect(world.reserved.size).toBe(6);
});

it('C19 an SAE deleted on one KME cannot come back on another, where its new pool would restart its IDs', () => {
  const world = twoKmes();
  run(world, { type: 'sae.register', saeId: 'carol', kmeId: KME_A });
  const [first] = idsOf(enc(world, 'carol', 'alice')) as [string];
  expect(dec(world, 'alice', 'carol', [first]).result.ok).toBe(true);
  run(world, { type: 'sae.delete', saeId: 'alice' });
  expect(errorOf(world, run(world, { type: 'sae.register', saeId: 'alice', kmeId: KME_B })).status).toBe(400);
  // On its own KME it takes its pools back and goes on from where they were.
  expect(run(world, { type: 'sae.register', saeId: 'alice', kmeId: KME_A }).result.ok).toBe(true);
  expect(idsOf(enc(world, 'carol', 'alice'))).not.toContain(first);
});
