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
  const { keyWaitOverMs, atMost, confidence } = result.objective;
  return `at most ${percent(atMost)} of messages wait ${formatDuration(keyWaitOverMs)} or longer for their keys, judged on the upper end of the ${confidence * 100} % Wilson interval, ${result.seeds} seed(s) per point`;
}

/** What a line of the grid gets: the smallest pool that meets the objective, or that nothing tried does. */
export function describeChoice(entry: Recommendation): string {
  if (entry.point === null) return 'no configuration tried meets the objective';
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
  const over = formatDuration(result.objective.keyWaitOverMs);
  lines.push('', '## Every point', '', `| point | runs | failed runs | messages | waited ≥ ${over} | share | ${result.objective.confidence * 100} % interval | meets |`, '| --- | --- | --- | --- | --- | --- | --- | --- |');
  for (const point of result.points) {
    lines.push(
      `| ${point.label} | ${point.runs} | ${point.failedRuns} | ${point.messages} | ${point.waited} | ${percent(point.share)} | ${percent(point.interval.low)} – ${percent(point.interval.high)} | ${point.meets ? 'yes' : 'no'} |`,
    );
  }
  lines.push(
    '',
    'A point meets the objective when every one of its runs passed (no invariant broken) and the upper end of its interval is at most the share allowed. The interval treats messages as independent trials; messages of one run share its pools, so read it as a guide, and add seeds where a point is close to the line.',
    '',
  );
  return lines.join('\n');
}

export function renderPlanJson(result: PlanResult): string {
  return `${JSON.stringify(result, null, 2)}\n`;
}
