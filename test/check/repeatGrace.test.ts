// Retry after a lost answer (LATITUDE.md): a correct KME may answer a slave's repeated dec_keys with the key
// it already retrieved, within a window. The independent KME (test/fixtures/otherKme) makes that choice
// here. Told the window (`limits.repeatGraceMs`), the checker accepts every such repeat and finds nothing;
// not told, it holds each repeat to the strict reading, a second retrieval (I3, C37).
import { afterAll, beforeAll, expect, it } from 'vitest';
import type { CheckReport } from '../../src/check/checkReport.js';
import { runCheck } from '../../src/check/runCheck.js';
import { targetSchema } from '../../src/check/targetSchema.js';
import { startOtherKme, type RunningOtherKme } from '../fixtures/otherKme/index.js';

const GRACE_MS = 2_000;
let kme: RunningOtherKme;

beforeAll(async () => {
  kme = await startOtherKme({ repeatGraceMs: GRACE_MS });
});

afterAll(async () => {
  await kme.close();
});

async function check(limits: Record<string, number>): Promise<CheckReport> {
  const target = targetSchema.parse({ ...kme.target, limits });
  return (await runCheck(target, { file: 'other-kme.yaml', seed: 5, runs: 5, budgetMs: 60_000, destructive: false, replays: 0 })).report;
}

it('is clean when the target file declares the window: each repeat is the same key to the same slave', async () => {
  const report = await check({ repeatGraceMs: GRACE_MS });
  expect(report.violations).toEqual([]);
  expect(report.conformance.filter((result) => result.verdict === 'fail')).toEqual([]);
  const c37 = report.conformance.filter((result) => result.item === 'C37');
  expect(c37.map((result) => result.detail)).toContainEqual(expect.stringMatching(/re-read within the declared repeat grace \(2000 ms\): answered again to its slave/));
  // And once the grace is over, the key is gone.
  expect(c37.map((result) => result.detail)).toContainEqual(expect.stringMatching(/re-read after the declared repeat grace: 400/));
}, 90_000);

it('reports the repeats as second retrievals when the window is not declared', async () => {
  const report = await check({});
  expect(report.violations.map((violation) => violation.invariant)).toContain('I3');
  expect(report.conformance.filter((result) => result.item === 'C37' && result.verdict === 'fail')).not.toEqual([]);
}, 90_000);

it('still finds a KME that never consumes, when its target file declares a repeat grace', async () => {
  const { startServer } = await import('../../src/http/startServer.js');
  const { describeTarget } = await import('../../src/http/targetFile.js');
  const server = await startServer({ port: 0, seed: 4, kmes: 2, bugs: ['no-consume'], retry: 'idempotent', retryGraceMs: GRACE_MS });
  try {
    const target = targetSchema.parse(describeTarget(server));
    expect(target.limits.repeatGraceMs).toBe(GRACE_MS);
    const { report } = await runCheck(target, { file: 'no-consume.yaml', seed: 5, runs: 3, budgetMs: 60_000, destructive: false, replays: 0 });
    const c37 = report.conformance.find((result) => result.item === 'C37');
    expect(c37?.verdict).toBe('fail');
    expect(c37?.detail).toMatch(/past the declared repeat grace \(2000 ms\)/);
  } finally {
    await server.close();
  }
}, 90_000);
