// Golden fingerprints: the SHA-256 of the whole trace of two pinned runs, written out below.
//
// A fingerprint is what a user quotes in a bug report and what `kmesim replay` confirms; CI compares it
// across machines and worker threads (I14 determinism). If one of these values changes, every recorded
// trace and every fingerprint in an old report stops matching, so a change here must be deliberate: a
// change of the trace format (a field added, renamed or reordered, a new default in the scenario
// definition the first line carries), of key or key-ID derivation, or of scheduling (the order of events,
// the draws of a random sub-stream). Then update the value and say which of these it was in the commit
// message. A change you cannot name is a determinism bug: find it, do not paste the new value.
//
// Last changed when the first trace line stopped recording the scenario file's path: it now names the
// scenario by its name and content hash (SHA-256 of the parsed scenario as canonical JSON), so the path's
// spelling and the file's location no longer reach the fingerprint. At the same time faker's names and
// addresses left the trace (the `firstUsers` of the first line, the name and email of each `sae.register`
// of a generated user, which now registers as `user-N`); every other line is unchanged.
// test/scenario/fingerprintByContent.test.ts checks that the path does not matter.
import { fileURLToPath } from 'node:url';
import { expect, it } from 'vitest';
import { loadScenarios } from '../../src/sim/loadScenario.js';
import { runScenario } from '../../src/sim/runScenario.js';

async function fingerprintOf(file: string, seed: number): Promise<string> {
  const [entry] = await loadScenarios(fileURLToPath(new URL(`../../${file}`, import.meta.url)));
  if (entry === undefined) throw new Error(`no scenario in ${file}`);
  return runScenario(entry.scenario, { seed, file }).fingerprint;
}

it('keeps the fingerprint of race-same-pool at seed 42', async () => {
  expect(await fingerprintOf('scenarios/race-same-pool.yaml', 42)).toBe('5f7f371ee7b25d94e15df1bc8405d92b7de8233dcc8e1513f6099d39ea047569');
});

it('keeps the fingerprint of misbehaving-clients at seed 7', async () => {
  expect(await fingerprintOf('scenarios/misbehaving-clients.yaml', 7)).toBe('24e852c337b3767963d3847505124e25d128994fa3147d1be498712c0cbcbff4');
});
