// The verdicts and counts every check report shows, computed once so that check.md, check-junit.xml and
// check.html can never disagree about what a check found.
import { INVARIANT_IDS, INVARIANT_NAMES, type InvariantId } from '../../model/violation.js';
import { formatCount, formatPlural } from '../../report/formatNumber.js';
import type { CheckReport, CheckViolation, ConformanceResult } from '../checkReport.js';

/** The invariants that HTTP traffic alone can show (INVARIANTS.md); the others need the model's view. */
export const BLACK_BOX_INVARIANT_IDS: readonly InvariantId[] = ['I1', 'I2', 'I3', 'I4', 'I5', 'I7', 'I9', 'I10', 'I13'];

export type InvariantVerdict = 'held' | 'violated' | 'not-judged';

export interface InvariantSummary {
  readonly id: InvariantId;
  readonly name: string;
  readonly verdict: InvariantVerdict;
  /** This invariant's violation groups, most severe first. */
  readonly violations: readonly CheckViolation[];
  /** How many violations of it were seen over the whole check, all groups together. */
  readonly occurrences: number;
}

export interface CheckSummary {
  readonly verdict: 'pass' | 'fail';
  readonly conformance: Readonly<Record<ConformanceResult['verdict'], number>>;
  /** I1–I16 in order. */
  readonly invariants: readonly InvariantSummary[];
  /** The invariants the check judged: the black-box ones, and any other that a violation names. */
  readonly judged: readonly InvariantSummary[];
  readonly violated: readonly InvariantId[];
  /** One sentence for a banner or a verdict line. */
  readonly headline: string;
}

export function summarizeCheck(report: CheckReport): CheckSummary {
  const conformance = { pass: 0, fail: 0, skip: 0 };
  for (const result of report.conformance) conformance[result.verdict]++;
  const invariants = INVARIANT_IDS.map((id): InvariantSummary => {
    const violations = report.violations.filter((v) => v.invariant === id);
    const verdict = violations.length > 0 ? 'violated' : BLACK_BOX_INVARIANT_IDS.includes(id) ? 'held' : 'not-judged';
    const occurrences = violations.reduce((sum, v) => sum + v.occurrences, 0);
    return { id, name: INVARIANT_NAMES[id], verdict, violations, occurrences };
  });
  const judged = invariants.filter((i) => i.verdict !== 'not-judged');
  const violated = invariants.filter((i) => i.verdict === 'violated').map((i) => i.id);
  const parts = [
    `${conformance.pass} of ${formatPlural(report.conformance.length, 'conformance item')} passed`
      + (conformance.fail > 0 ? `, ${conformance.fail} failed` : '')
      + (conformance.skip > 0 ? `, ${conformance.skip} skipped` : ''),
    violated.length === 0
      ? `${judged.length} invariants held`
      : `${formatPlural(report.violations.length, 'violation group')} (${violated.join(', ')})`,
    formatPlural(report.findings.length, 'finding'),
    ...(report.skipped.length === 0 ? [] : [`${formatCount(report.skipped.length)} not run`]),
  ];
  return { verdict: report.passed ? 'pass' : 'fail', conformance, invariants, judged, violated, headline: parts.join(' · ') };
}
