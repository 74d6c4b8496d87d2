// A plan's results for people (Markdown) and for programs (canonical JSON: the same plan and seeds give the
// same bytes).
import { formatDuration } from '../../engine/duration.js';
import type { PlanResult, Recommendation } from './planResult.js';

function percent(share: number): string {
  if (share === 0) return '0 %';
  const value = share * 100;
  return `${value >= 1 ? value.toFixed(1) : value.toPrecision(2)} %`;
}

/** The objective in one sentence. */
export function describeObjective(result: PlanResult): string {
  const { objective } = result;
  const what =
    objective.kind === 'keyWait'
      ? `at most ${percent(objective.atMost)} of messages wait ${formatDuration(objective.keyWaitOverMs)} or longer for their keys`
      : objective.kind === 'poolExhausted'
        ? `at most ${percent(objective.atMost)} of runs see any pool run empty`
        : `at most ${percent(objective.atMost)} of runs have any message that could not go out at once`;
  return `${what}, judged on the upper end of the ${objective.confidence * 100} % Wilson interval, ${result.seeds} seed(s) per point`;
}

/** Column headings for what a point's share counts: its trials, and the events among them. */
export function shareColumns(result: PlanResult): { readonly trials: string; readonly events: string; readonly chart: string } {
  const { objective } = result;
  if (objective.kind !== 'keyWait') {
    return objective.kind === 'poolExhausted'
      ? { trials: 'runs judged', events: 'runs with a pool empty', chart: '% of runs with a pool run empty' }
      : { trials: 'runs judged', events: 'runs with a message deferred', chart: '% of runs with a message deferred' };
  }
  const over = formatDuration(objective.keyWaitOverMs);
  return { trials: 'messages', events: `waited ≥ ${over}`, chart: `% of messages waiting ≥ ${over}` };
}

/** What a line of the grid gets: the smallest pool that meets the objective, or that nothing tried does. */
export function describeChoice(entry: Recommendation): string {
  if (entry.point === null) return 'no configuration tried meets the objective';
  if (entry.along === 'initialBits' && entry.value !== null) return `stores starting with ${entry.value} bits or more`;
  return entry.poolCapacity === null ? 'meets the objective with the scenario\'s pools' : `pools of ${entry.poolCapacity} keys`;
}

/** One line per line of the grid: its smallest pool, or that none of the sizes tried is enough. */
export function recommendationLines(result: PlanResult): string[] {
  return result.recommendations.map((entry) => `${entry.label}: ${describeChoice(entry)}`);
}

export function renderPlanMarkdown(result: PlanResult): string {
  const lines = [`# Plan ${result.plan}`, '', `Objective: ${describeObjective(result)}.`, '', '## Recommendation', ''];
  lines.push('| given | what meets the objective |', '| --- | --- |');
  for (const entry of result.recommendations) lines.push(`| ${entry.label} | ${describeChoice(entry)} |`);
  const columns = shareColumns(result);
  lines.push('', '## Every point', '', `| point | runs | failed runs | ${columns.trials} | ${columns.events} | share | ${result.objective.confidence * 100} % interval | meets |`, '| --- | --- | --- | --- | --- | --- | --- | --- |');
  for (const point of result.points) {
    lines.push(
      `| ${point.label} | ${point.runs} | ${point.failedRuns} | ${point.trials} | ${point.events} | ${percent(point.share)} | ${percent(point.interval.low)} – ${percent(point.interval.high)} | ${point.meets ? 'yes' : 'no'} |`,
    );
  }
  lines.push(
    '',
    `A point meets the objective when every one of its runs passed (no invariant broken) and the upper end of its interval is at most the share allowed. ${
      result.objective.kind === 'keyWait'
        ? 'The interval treats messages as independent trials; messages of one run share its pools, so read it as a guide, and add seeds where a point is close to the line.'
        : result.objective.kind === 'poolExhausted'
          ? 'Each run is one trial (its own seed); a pool counts as run empty only while the workload runs, not in the liveness phase after it.'
          : 'Each run is one trial (its own seed); a message is deferred when its first attempt to get keys is refused and it is queued again.'
    }`,
    '',
  );
  return lines.join('\n');
}

export function renderPlanJson(result: PlanResult): string {
  return `${JSON.stringify(result, null, 2)}\n`;
}
