// The library entry point refuses a number of KMEs it cannot start, or a profile it does not have, with a
// RangeError that says so, instead of starting something else; what it supports starts as asked.
import { expect, it } from 'vitest';
import { startMockKme } from '../../src/http/startMockKme.js';
import type { ServerOptions } from '../../src/http/startServer.js';

for (const kmes of [3, 0, -1, 1.5, '2', null]) {
  it(`rejects kmes: ${JSON.stringify(kmes)} with a RangeError naming the supported values`, async () => {
    // What a caller from JavaScript may pass, past the type.
    const options = { kmes } as unknown as ServerOptions;
    await expect(startMockKme(options)).rejects.toThrow(RangeError);
    await expect(startMockKme(options)).rejects.toThrow(/^startMockKme: kmes must be 1 or 2, got /);
  });
}

for (const profile of ['strcit', 'STRICT', '', 7]) {
  it(`rejects profile: ${JSON.stringify(profile)} with a RangeError naming the profiles there are`, async () => {
    const options = { profile } as unknown as ServerOptions;
    await expect(startMockKme(options)).rejects.toThrow(/^startMockKme: profile must be one of strict, per-user-pool, next-door, lenient, got /);
  });
}

it('names the profiles in the type, so that a typo does not compile', () => {
  // @ts-expect-error: 'strcit' is not a profile (npm test type-checks this file)
  const typo: ServerOptions = { profile: 'strcit' };
  const known: ServerOptions[] = [{ profile: 'strict' }, { profile: 'per-user-pool' }, { profile: 'next-door' }, { profile: 'lenient' }];
  expect([typo, ...known].map((options) => options.profile)).toEqual(['strcit', 'strict', 'per-user-pool', 'next-door', 'lenient']);
});

for (const kmes of [1, 2] as const) {
  it(`starts exactly ${kmes} KME(s) for kmes: ${kmes}`, async () => {
    const kme = await startMockKme({ kmes, seed: 1 });
    try {
      expect(kme.kmes.map((entry) => entry.id)).toEqual(['KME_A', 'KME_B'].slice(0, kmes));
    } finally {
      await kme.close();
    }
  });
}
