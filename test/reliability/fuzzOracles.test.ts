// The API fuzzing's three oracles can each fail: against a server with one bug switch on, the same
// fuzzing (fixed seed, short budget) stops with the oracle that bug breaks. size-rounding accepts sizes
// that are not a multiple of 8 (oracle 1: a status the request may not get), partial-consume consumes
// keys in a refused dec_keys (oracle 2: a refusal changed the world), count-drift reports delivered keys as
// stored (oracle 3: the live invariants, I8).
import { expect, it } from 'vitest';
import type { BugName } from '../../src/model/bugs.js';
import { startServer } from '../../src/http/startServer.js';
import { fuzzServer } from './fuzz/runFuzz.js';

const CASES: ReadonlyArray<{ readonly bug: BugName; readonly oracle: string; readonly message: RegExp }> = [
  { bug: 'size-rounding', oracle: 'oracle 1, an unexpected status', message: /status 200, expected 400/ },
  { bug: 'partial-consume', oracle: 'oracle 2, a refusal that changed the world', message: /a refused request changed the world/ },
  { bug: 'count-drift', oracle: 'oracle 3, a broken live invariant', message: /invariants broken[^]*"invariant":"I8"/ },
];

for (const { bug, oracle, message } of CASES) {
  it(`stops on the ${bug} bug with ${oracle}`, async () => {
    const server = await startServer({ kmes: 2, port: 0, seed: 7, clock: 'manual', auth: 'header', bugs: [bug] });
    try {
      const fuzzing = fuzzServer({ server, profile: server.host.world.config.profile, requests: 3_000, seed: 20_250_707, shrinkMs: 2_000, quiet: true });
      await expect(fuzzing).rejects.toThrow(message);
    } finally {
      await server.close();
    }
  });
}
