// Shows that each bug switch (but check-then-act, which needs concurrency and is tested elsewhere) changes the core's behaviour in the way bugs.ts documents, by running one small scenario on a strict world and on the same world with the switch on.
import { expect, it } from 'vitest';
import { BUG_DESCRIPTIONS, type BugName } from '../../../src/model/bugs.js';
import type { StepOutcome } from '../../../src/model/kmeCore.js';
import { deriveKeyId } from '../../../src/model/keyIds.js';
import type { World } from '../../../src/model/world.js';
import { dec, enc, errorOf, idsOf, KME_A, KME_B, keysOf, makeWorld, poolOf, run, statusOf, type WorldSpec } from './coreWorld.js';

interface BugScenario {
  /** What the switch makes the core do, as a test name. */
  readonly does: string;
  readonly world?: WorldSpec;
  readonly observe: (world: World) => unknown;
  readonly strict: unknown;
  readonly bugged: unknown;
}

function replyStatus(world: World, outcome: StepOutcome): number {
  return outcome.result.ok ? 200 : errorOf(world, outcome).status;
}

const STRANGER_ID = deriveKeyId('another-seed', 'nowhere', 1);

// A Record over every switch but one, so that adding a switch without a scenario fails to compile.
const SCENARIOS: Readonly<Record<Exclude<BugName, 'check-then-act'>, BugScenario>> = {
  'pop-on-enc': {
    does: 'the slave cannot retrieve a key its master was given',
    observe: (world) => replyStatus(world, dec(world, 'bob', 'alice', idsOf(enc(world, 'alice', 'bob')))),
    strict: 200,
    bugged: 400,
  },
  'no-consume': {
    does: 'a second dec_keys succeeds',
    observe: (world) => {
      const ids = idsOf(enc(world, 'alice', 'bob'));
      return [replyStatus(world, dec(world, 'bob', 'alice', ids)), replyStatus(world, dec(world, 'bob', 'alice', ids))];
    },
    strict: [200, 400],
    bugged: [200, 200],
  },
  'double-delivery': {
    does: 'the other KME of the link delivers a retrieved key again, once',
    world: { kmeIds: [KME_A, KME_B], saes: { alice: KME_A, bob: KME_B } },
    observe: (world) => {
      const ids = idsOf(enc(world, 'alice', 'bob'));
      return [KME_B, KME_A, KME_B, KME_A].map((kmeId) => replyStatus(world, dec(world, 'bob', 'alice', ids, kmeId)));
    },
    strict: [200, 400, 400, 400],
    bugged: [200, 200, 400, 400],
  },
  'partial-consume': {
    does: 'a failed dec_keys consumes the keys it found',
    observe: (world) => {
      const ids = idsOf(enc(world, 'alice', 'bob'));
      const failed = replyStatus(world, dec(world, 'bob', 'alice', [...ids, STRANGER_ID]));
      return [failed, poolOf(world, 'bob').consumed, replyStatus(world, dec(world, 'bob', 'alice', ids))];
    },
    strict: [400, 0, 200],
    bugged: [400, 1, 400],
  },
  'size-rounding': {
    does: 'a size that is not a multiple of 8 is rounded up to whole bytes',
    observe: (world) => {
      const outcome = enc(world, 'alice', 'bob', { size: 100 });
      return outcome.result.ok ? keysOf(outcome).map((key) => key.sizeBits) : replyStatus(world, outcome);
    },
    strict: 400,
    bugged: [104],
  },
  'third-party-read': {
    does: 'an SAE not named as slave retrieves the key',
    world: { saes: { alice: KME_A, bob: KME_A, carol: KME_A } },
    observe: (world) => {
      const ids = idsOf(enc(world, 'alice', 'bob'));
      return [replyStatus(world, dec(world, 'carol', 'alice', ids)), replyStatus(world, dec(world, 'bob', 'alice', ids))];
    },
    strict: [401, 200],
    bugged: [200, 200],
  },
  'synthetic-fallback': {
    does: 'enc_keys makes up keys locally while the remote is down',
    world: { capacity: 10 },
    observe: (world) => {
      keysOf(enc(world, 'alice', 'bob', { number: 9 }));
      run(world, { type: 'remote.down' });
      const outcome = enc(world, 'alice', 'bob', { number: 3 });
      const origins = outcome.result.ok ? keysOf(outcome).map((key) => key.origin) : [];
      return { status: replyStatus(world, outcome), origins, synthetic: poolOf(world, 'bob').synthetic };
    },
    strict: { status: 503, origins: [], synthetic: 0 },
    bugged: { status: 200, origins: ['remote', 'local', 'local'], synthetic: 2 },
  },
  'count-drift': {
    does: 'status stored_key_count also counts delivered keys waiting for their slave',
    world: { capacity: 10 },
    observe: (world) => {
      keysOf(enc(world, 'alice', 'bob', { number: 3 }));
      return statusOf(world, 'alice', 'bob').stored_key_count;
    },
    strict: 7,
    bugged: 10,
  },
  'restart-loses-keys': {
    does: 'a restart loses delivered keys, so their slave cannot retrieve them',
    world: { kmeIds: [KME_A, KME_B], saes: { alice: KME_A, bob: KME_B } },
    observe: (world) => {
      const ids = idsOf(enc(world, 'alice', 'bob', { number: 2 }));
      run(world, { type: 'kme.restart', kmeId: KME_B });
      return replyStatus(world, dec(world, 'bob', 'alice', ids));
    },
    strict: 200,
    bugged: 400,
  },
  'no-demand-sync': {
    does: 'an enc_keys refused for want of keys above the low threshold asks the remote for nothing',
    observe: (world) => {
      // 7 × 128 of 1,000 leaves 104, above the 10 % mark: no threshold sync; the next 128 is refused.
      for (let i = 0; i < 7; i++) enc(world, 'alice', 'bob', { number: 128 });
      const refused = enc(world, 'alice', 'bob', { number: 128 });
      return [replyStatus(world, refused), refused.effects.filter((effect) => effect.type === 'sync.requested' && effect.reason === 'demand').length];
    },
    strict: [503, 1],
    bugged: [503, 0],
  },
};

for (const [bug, scenario] of Object.entries(SCENARIOS) as Array<[BugName, BugScenario]>) {
  it(`${bug}: ${scenario.does} (breaks ${BUG_DESCRIPTIONS[bug].breaks}), and the strict core does not`, () => {
    const strict = scenario.observe(makeWorld(scenario.world));
    const bugged = scenario.observe(makeWorld({ ...scenario.world, bugs: [bug] }));
    expect(strict).toEqual(scenario.strict);
    expect(bugged).toEqual(scenario.bugged);
    expect(bugged).not.toEqual(strict);
  });
}
