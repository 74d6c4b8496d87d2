// The few numbers and lists every report format shows for a run, computed once so that summary.md,
// junit.xml and index.html can never disagree about a verdict or a count.
import { formatCount, formatDurationMs, formatRatio, formatWallMs } from '../../report/formatNumber.js';
import { INVARIANT_NAMES, type InvariantId, type Violation } from '../../model/violation.js';
import type { ExpectationResult, RunReport } from '../runReport.js';

export type Phase = 'safety' | 'liveness';

export interface PhasedViolation extends Violation {
  readonly phase: Phase;
  readonly name: string;
}

export interface RunSummary {
  readonly verdict: 'pass' | 'fail';
  readonly refusals: number;
  readonly encRefusals: number;
  readonly decRefusals: number;
  readonly fingerprintPrefix: string;
  readonly violations: readonly PhasedViolation[];
  readonly failedExpectations: readonly ExpectationResult[];
  readonly violationsByInvariant: ReadonlyMap<InvariantId, number>;
}

export interface OverallVerdict {
  readonly verdict: 'pass' | 'fail' | 'empty';
  readonly runs: number;
  readonly failed: number;
  readonly scenarios: number;
}

const FINGERPRINT_PREFIX_LENGTH = 12;

export function summarizeRun(run: RunReport): RunSummary {
  const violations: PhasedViolation[] = [
    ...run.safety.violations.map((v) => ({ ...v, phase: 'safety' as const, name: INVARIANT_NAMES[v.invariant] })),
    ...run.liveness.violations.map((v) => ({ ...v, phase: 'liveness' as const, name: INVARIANT_NAMES[v.invariant] })),
  ];
  const violationsByInvariant = new Map<InvariantId, number>();
  for (const v of violations) violationsByInvariant.set(v.invariant, (violationsByInvariant.get(v.invariant) ?? 0) + 1);
  const encRefusals = sumValues(run.stats.encRefused);
  const decRefusals = sumValues(run.stats.decRefused);
  return {
    verdict: run.passed ? 'pass' : 'fail',
    refusals: encRefusals + decRefusals,
    encRefusals,
    decRefusals,
    fingerprintPrefix: run.fingerprint.slice(0, FINGERPRINT_PREFIX_LENGTH),
    violations,
    failedExpectations: run.expectations.filter((e) => !e.passed),
    violationsByInvariant,
  };
}

export function summarizeVerdict(reports: readonly RunReport[]): OverallVerdict {
  const failed = reports.filter((r) => !r.passed).length;
  const scenarios = new Set(reports.map((r) => r.scenario)).size;
  if (reports.length === 0) return { verdict: 'empty', runs: 0, failed: 0, scenarios };
  return { verdict: failed === 0 ? 'pass' : 'fail', runs: reports.length, failed, scenarios };
}

export interface SpeedSummary {
  readonly wallMs: number;
  readonly virtualMs: number;
  readonly kmeSteps: number;
  readonly stepsPerSecond: number;
  readonly simToReal: number;
}

/** Wall time, KME steps per second and simulated-to-real ratio over some runs, as if run one after another. */
export function summarizeSpeed(reports: readonly RunReport[]): SpeedSummary {
  let wallMs = 0;
  let virtualMs = 0;
  let kmeSteps = 0;
  for (const run of reports) {
    wallMs += run.wallMs;
    virtualMs += run.virtualMs;
    kmeSteps += run.speed.kmeSteps;
  }
  const wall = Math.max(1, wallMs);
  return { wallMs, virtualMs, kmeSteps, stepsPerSecond: Math.round((kmeSteps * 1_000) / wall), simToReal: Math.round(virtualMs / wall) };
}

/** "3.2 h virtual in 1,204 ms of runs: 41,800 KME steps/s, 9,568:1", the runs' times added up. */
export function describeSpeed(reports: readonly RunReport[]): string {
  const speed = summarizeSpeed(reports);
  return `${formatDurationMs(speed.virtualMs)} virtual in ${formatWallMs(speed.wallMs)} ms of runs: ${formatCount(speed.kmeSteps)} KME steps, ${formatCount(speed.stepsPerSecond)} steps/s, ${formatRatio(speed.simToReal)} simulated to real`;
}

/** Groups runs by scenario, scenarios in order of first appearance, runs in input order. */
export function groupByScenario(reports: readonly RunReport[]): ReadonlyMap<string, readonly RunReport[]> {
  const groups = new Map<string, RunReport[]>();
  for (const run of reports) {
    const group = groups.get(run.scenario);
    if (group) group.push(run);
    else groups.set(run.scenario, [run]);
  }
  return groups;
}

function sumValues(counts: Readonly<Record<string, number>>): number {
  let total = 0;
  for (const key of Object.keys(counts)) total += counts[key] ?? 0;
  return total;
}
