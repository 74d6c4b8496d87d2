// One test per point where ETSI GS QKD 014 leaves a KME a choice (docs/checker-latitude.md): the second KME
// (test/fixtures/otherKme) takes the choice kmesim does not, and the checker must accept it, item by item,
// with the choice named in the verdict. One check of it is shared by the tests.
import { afterAll, beforeAll, expect, it } from 'vitest';
import type { CheckReport, ConformanceResult } from '../../src/check/checkReport.js';
import { runCheck } from '../../src/check/runCheck.js';
import { targetSchema } from '../../src/check/targetSchema.js';
import { startOtherKme, type RunningOtherKme } from '../fixtures/otherKme/index.js';

let kme: RunningOtherKme;
let report: CheckReport;

beforeAll(async () => {
  // No background refill, so that the drain reaches an empty pool and C31 is judged.
  kme = await startOtherKme({ prefix: '/vendor/qkd', refillPerSecond: 0, poolSize: 120 });
  ({ report } = await runCheck(targetSchema.parse(kme.target), { file: 'other-kme.yaml', seed: 3, runs: 10, budgetMs: 60_000, destructive: true, replays: 0 }));
}, 90_000);

afterAll(async () => {
  await kme.close();
});

function item(id: string): ConformanceResult {
  const found = report.conformance.find((result) => result.item === id);
  if (found === undefined) throw new Error(`no result for ${id}`);
  return found;
}

it('is clean as a whole: no violation, no checklist failure, no finding', () => {
  expect(report.violations).toEqual([]);
  expect(report.conformance.filter((result) => result.verdict === 'fail')).toEqual([]);
  expect(report.findings).toEqual([]);
});

it('dec_keys served only at the slave’s own KME: a refusal at the master’s KME is no loss (C37 re-read, no I2)', () => {
  expect(item('C37').verdict).toBe('pass');
  expect(item('C37').detail).toMatch(/re-read through KME-ALPHA: 401/);
});

it('keys of a dec_keys answer in an order of the KME’s own (C34): sorted by key ID, whatever order was asked', () => {
  // The fixture sorts by key ID; the IDs are random, so the sorted order matches the one asked for now
  // and then. Either way C34 passes, and when the order differed it says so.
  expect(item('C34').verdict).toBe('pass');
  expect(item('C34').detail).toMatch(/POST with \d+ IDs in reverse issue order: identical( \(in another order than asked: the spec fixes none\))?/);
});

it('a POST enc_keys without a body refused with 400 (C16)', () => {
  expect(item('C16').verdict).toBe('pass');
  expect(item('C16').detail).toMatch(/POST without a body: refused with 400 \(allowed/);
});

it('400 with a free text when keys run out, where kmesim answers 503 (C31)', () => {
  expect(item('C31').verdict).toBe('pass');
  expect(item('C31').detail).toMatch(/status showed 0 keys; enc_keys\(1\) answered 400/);
});

it('404 for an unknown slave SAE (C15), which C42 accepts as an answer about something that does not exist', () => {
  expect(item('C15').verdict).toBe('pass');
  expect(item('C15').detail).toMatch(/: 404/);
  expect(item('C42').verdict).toBe('pass');
});

it('key IDs that are UUIDs of another version than 4 (C19)', () => {
  expect(item('C19').verdict).toBe('pass');
  expect(kme.served().length).toBeGreaterThan(0);
});

it('extra members in status beside the eleven mandatory ones (C9) and a status_extension object (C44)', () => {
  expect(item('C9').verdict).toBe('pass');
  expect(item('C44').verdict).toBe('pass');
});

it('multicast offered (max_SAE_ID_count 2): every additional slave gets the key once (C28, C29)', () => {
  expect(item('C28').verdict).toBe('pass');
  expect(item('C29').verdict).toBe('pass');
});

it('a master that may read back its own key: the slave still gets it (C33), and it is no I5', () => {
  expect(item('C33').verdict).toBe('pass');
  expect(item('C33').detail).toMatch(/after alice-1 asked for its own key \(served\)/);
});

it('Error bodies without details (C41) and identity in a header of the KME’s own naming (C1)', () => {
  expect(item('C41').verdict).toBe('pass');
  expect(item('C1').verdict).toBe('pass');
  expect(item('C1').detail).toMatch(/X-Client-Id: kmesim-probe-unknown-sae: 401/);
});

it('the API under a URL prefix, reached on every request', () => {
  expect(report.target.kmes[0]?.url).toMatch(/\/vendor\/qkd$/);
  expect(JSON.stringify(report)).not.toContain('no route');
});
