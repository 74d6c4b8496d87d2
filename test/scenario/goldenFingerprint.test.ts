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
// The file path is part of the first trace line, so these runs use the path the CLI is given.
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
  expect(await fingerprintOf('scenarios/race-same-pool.yaml', 42)).toBe('957214ac8c164abe621a294d9bec2a2d962e9a8f6f264967b3ccf0cf4d6d78e2');
});

it('keeps the fingerprint of misbehaving-clients at seed 7', async () => {
  expect(await fingerprintOf('scenarios/misbehaving-clients.yaml', 7)).toBe('3b8d80a3292c49b012fe53480f0e0c837f56617cb0739839b2814412dbdb12ff');
});
