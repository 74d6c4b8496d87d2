// What a plan found: per point of the grid, the share of messages that waited at least the objective's
// threshold for their keys, with its Wilson interval, and per combination of the other parameters the
// smallest pool that meets the objective with the plan's confidence. Everything here is a function of the
// runs' reports, so the same plan and seeds give byte-identical results, however the runs were spread
// over threads or machines.
import type { RunReport } from '../runReport.js';
import { describePoint, linesAlong, type Point } from './planGrid.js';
import type { Plan } from './planSchema.js';
import { wilsonInterval, type Interval } from './wilson.js';

/** One run of one point, as much of its report as the plan needs. */
export interface PlanRun {
  readonly point: number;
  readonly seed: number;
  readonly passed: boolean;
  readonly fingerprint: string;
  readonly messages: number;
  /** Messages that waited at least the objective's threshold (0 under the exhaustion objective). */
  readonly waited: number;
  /** Whether any pool ran empty in the run. */
  readonly exhausted: boolean;
  /** Whether any message could not go out at its first attempt. */
  readonly deferred: boolean;
}

export interface PointResult {
  readonly point: Point;
  readonly label: string;
  readonly runs: number;
  /** Runs that broke an invariant or an expectation: the point cannot be recommended. */
  readonly failedRuns: number;
  /** What the share counts: messages (key wait), or runs (pool exhaustion). */
  readonly trials: number;
  /** Of those, the ones the objective counts against: messages that waited, or runs where a pool ran empty. */
  readonly events: number;
  readonly share: number;
  readonly interval: Interval;
  readonly meets: boolean;
}

export interface Recommendation {
  /** The values of the other parameters, fixed for this line of the grid. */
  readonly given: Point;
  readonly label: string;
  /** The point that meets the objective on this line with the smallest pool, or null when none does. */
  readonly point: Point | null;
  /** Its pool capacity, when the plan varies it (null: none meets, or the scenario's own). */
  readonly poolCapacity: number | null;
  /**
   * What the line runs along: the pool's capacity when the plan varies it, else the stores' starting level
   * when it varies that, else nothing (each point is its own line).
   */
  readonly along: 'poolCapacity' | 'initialBits' | null;
  /** The smallest value along it that meets the objective (null: none does, or the line has one point). */
  readonly value: number | null;
}

export interface PlanResult {
  readonly plan: string;
  readonly objective: PlanObjective;
  readonly seeds: number;
  readonly points: readonly PointResult[];
  readonly recommendations: readonly Recommendation[];
}

/** The objective as the results state it: messages waiting at least a threshold, or runs with a pool run empty. */
export type PlanObjective =
  | { readonly kind: 'keyWait'; readonly keyWaitOverMs: number; readonly atMost: number; readonly confidence: number }
  | { readonly kind: 'poolExhausted' | 'messageDeferred'; readonly atMost: number; readonly confidence: number };

export function objectiveOf(plan: Plan): PlanObjective {
  const { keyWaitOver, anyMessageDeferred, atMost, confidence } = plan.objective;
  if (keyWaitOver !== undefined) return { kind: 'keyWait', keyWaitOverMs: keyWaitOver, atMost, confidence };
  return { kind: anyMessageDeferred === true ? 'messageDeferred' : 'poolExhausted', atMost, confidence };
}

/** What the plan needs of one run's report. */
export function planRunOf(report: RunReport, point: number, objective: PlanObjective): PlanRun {
  const row = objective.kind === 'keyWait' ? report.stats.keyWaits.find((entry) => entry.overMs === objective.keyWaitOverMs) : undefined;
  if (objective.kind === 'keyWait' && row === undefined) throw new Error(`planRunOf: the report counts no key wait over ${objective.keyWaitOverMs} ms`);
  return {
    point,
    seed: report.seed,
    passed: report.passed,
    fingerprint: report.fingerprint,
    messages: report.stats.messagesWritten,
    waited: row?.messages ?? 0,
    exhausted: report.stats.usersExhausted > 0,
    deferred: report.stats.messagesDeferred > 0,
  };
}

export function summarizePlan(plan: Plan, points: readonly Point[], runs: readonly PlanRun[]): PlanResult {
  const objective = objectiveOf(plan);
  const runsOf = points.map((): PlanRun[] => []);
  for (const run of runs) runsOf[run.point]?.push(run);
  const results = points.map((point, index): PointResult => {
    const mine = runsOf[index] ?? [];
    const failedRuns = mine.filter((run) => !run.passed).length;
    const trials = objective.kind === 'keyWait' ? mine.reduce((sum, run) => sum + run.messages, 0) : mine.length;
    const events =
      objective.kind === 'keyWait'
        ? mine.reduce((sum, run) => sum + run.waited, 0)
        : mine.filter((run) => (objective.kind === 'poolExhausted' ? run.exhausted : run.deferred)).length;
    const interval = wilsonInterval(events, trials, objective.confidence);
    return {
      point,
      label: describePoint(point),
      runs: mine.length,
      failedRuns,
      trials,
      events,
      share: trials === 0 ? 0 : events / trials,
      interval,
      meets: mine.length === plan.seeds && failedRuns === 0 && trials > 0 && interval.high <= objective.atMost,
    };
  });
  return {
    plan: plan.name,
    objective,
    seeds: plan.seeds,
    points: results,
    recommendations: recommend(results),
  };
}

/**
 * Per line of the grid (every axis but one fixed), the smallest value of that axis that meets the
 * objective: the pool's capacity when the plan varies it, else the stores' starting level.
 */
function recommend(results: readonly PointResult[]): Recommendation[] {
  const varies = (axis: 'poolCapacity' | 'initialBits'): boolean => results.some((result) => result.point[axis] !== undefined);
  const along = varies('poolCapacity') ? 'poolCapacity' : varies('initialBits') ? 'initialBits' : null;
  return linesAlong(results, along ?? 'poolCapacity').map(({ given, label, items }) => {
    const best = [...items].sort((a, b) => (along === null ? 0 : (a.point[along] ?? 0) - (b.point[along] ?? 0))).find((result) => result.meets);
    const value = along === null ? null : (best?.point[along] ?? null);
    return { given, label, poolCapacity: best?.point.poolCapacity ?? null, point: best?.point ?? null, along, value };
  });
}
