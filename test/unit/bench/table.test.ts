// The bench table: nested figures flattened to dotted names and judged against the targets.
import { expect, it } from 'vitest';
import { flattenFigures, renderBenchTable } from '../../../bench/table.js';

it('flattens nested figures to dotted names', () => {
  expect(flattenFigures('', { sim: { transitionsPerSec: 7, per: { a: 1 } }, totalSeconds: 3 })).toEqual([
    ['sim.transitionsPerSec', 7],
    ['sim.per.a', 1],
    ['totalSeconds', 3],
  ]);
});

it('marks a figure that misses its target, and one that meets it', () => {
  const table = renderBenchTable({ sim: { transitionsPerSec: 6_000_000, yearOfMailSeconds: 61, sweepSeconds: 120 }, http: { p99Ms: 10 } });
  expect(table).toContain('| sim.transitionsPerSec | 6,000,000 | >= 5,000,000 | yes |');
  expect(table).toContain('| sim.yearOfMailSeconds | 61 | <= 60 | no |');
  expect(table).toContain('| sim.sweepSeconds | 120 | <= 120 | yes |');
  // The p99 target is strict: exactly 10 ms misses it.
  expect(table).toContain('| http.p99Ms | 10 | < 10 | no |');
});

it('leaves figures without a target unjudged', () => {
  expect(renderBenchTable({ sim: { yearOfMailFingerprint: 'abc' } })).toContain('| sim.yearOfMailFingerprint | abc |  |  |');
});

it('judges each member of a group against the target of the group', () => {
  const table = renderBenchTable({ checker: { detectMedianMs: { 'no-consume': 40, 'restart-loses-keys': 2_500 } } });
  expect(table).toContain('| checker.detectMedianMs.no-consume | 40 | <= 2,000 | yes |');
  expect(table).toContain('| checker.detectMedianMs.restart-loses-keys | 2,500 | <= 2,000 | no |');
});
