// The library entry point refuses a number of KMEs it cannot start, with a RangeError that says so,
// instead of starting another number; the numbers it supports start exactly that many KMEs.
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
