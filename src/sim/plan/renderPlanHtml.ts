// plan.html: one self-contained page (uPlot, styles, data and script inlined; it opens offline) with the
// recommendation in its banner, a chart of the share of messages that waited too long against the pool's
// size (one line per line of the grid, the objective as a dashed line), and every point in a table.
import { escapeXmlText as escape } from '../../report/escapeXml.js';
import { REPORT_CSS } from '../../report/reportStyle.js';
import { readChartAssets, type ChartAssets } from '../report/readChartAssets.js';
import { serializeForScript } from '../report/renderHtml.js';
import { linesAlong, variedAxes } from './planGrid.js';
import type { PlanResult } from './planResult.js';
import { describeChoice, describeObjective, shareColumns } from './renderPlan.js';

const DATA_ID = 'plan-data';
const LINE_COLOURS = ['#0969da', '#1a7f37', '#8250df', '#bc4c00', '#1b7c83', '#bf3989', '#6e7781', '#953800'];

interface ChartData {
  readonly xLabel: string;
  readonly yLabel: string;
  readonly x: readonly number[];
  readonly series: ReadonlyArray<{ readonly label: string; readonly y: ReadonlyArray<number | null>; readonly high: ReadonlyArray<number | null> }>;
  readonly objective: number;
  readonly colours: readonly string[];
}

/** The chart's data: x is the pool's capacity (or the last axis the plan varies), one series per line of the grid. */
function chartData(result: PlanResult): ChartData {
  const varied = variedAxes(result.points.map((point) => point.point));
  const xAxis = varied.includes('poolCapacity') ? 'poolCapacity' : (varied[varied.length - 1] ?? 'poolCapacity');
  const x = [...new Set(result.points.map((point) => point.point[xAxis] ?? 0))].sort((a, b) => a - b);
  const lines = linesAlong(result.points, xAxis).map(({ label, items }) => ({ label, at: new Map(items.map((point) => [point.point[xAxis] ?? 0, point])) }));
  return {
    xLabel: xAxis === 'poolCapacity' ? 'pool capacity (keys)' : xAxis,
    yLabel: shareColumns(result).chart,
    x,
    series: lines.map(({ label, at }) => ({
      label,
      y: x.map((value) => (at.has(value) ? (at.get(value)?.share ?? 0) * 100 : null)),
      high: x.map((value) => (at.has(value) ? (at.get(value)?.interval.high ?? 0) * 100 : null)),
    })),
    objective: result.objective.atMost * 100,
    colours: LINE_COLOURS,
  };
}

const SCRIPT = `
(function () {
  var data = JSON.parse(document.getElementById('${DATA_ID}').textContent);
  var target = document.getElementById('plan-chart');
  var series = [{ label: data.xLabel }];
  var columns = [data.x];
  data.series.forEach(function (line, i) {
    var colour = data.colours[i % data.colours.length];
    series.push({ label: line.label, stroke: colour, width: 2, points: { show: true, size: 7 } });
    columns.push(line.y);
    series.push({ label: line.label + ' (interval top)', stroke: colour, width: 1, dash: [2, 3], points: { show: false } });
    columns.push(line.high);
  });
  series.push({ label: 'objective', stroke: '#cf222e', width: 2, dash: [8, 5], points: { show: false } });
  columns.push(data.x.map(function () { return data.objective; }));
  var width = Math.max(320, Math.min(960, target.clientWidth || 960));
  new uPlot({ width: width, height: 380, scales: { x: { time: false } }, axes: [{ label: data.xLabel }, { label: data.yLabel, size: 70 }], series: series }, columns, target);
})();
`;

export function renderPlanHtml(result: PlanResult, assets: ChartAssets = readChartAssets()): string {
  const met = result.recommendations.filter((entry) => entry.point !== null);
  const verdict = met.length === 0 ? 'fail' : 'pass';
  const headline = met.length === 0 ? 'No configuration tried meets the objective' : `${met.length} of ${result.recommendations.length} line(s) of the grid have a pool size that meets the objective`;
  const columns = shareColumns(result);
  const pct = (share: number): string => `${(share * 100).toPrecision(3)} %`;
  return [
    '<!DOCTYPE html>',
    '<html lang="en">',
    '<head>',
    '<meta charset="utf-8">',
    '<meta name="viewport" content="width=device-width, initial-scale=1">',
    `<title>Plan ${escape(result.plan)}</title>`,
    '<link rel="icon" href="data:,">',
    `<style>${assets.style.replace(/<\/style/gi, '<\\/style')}</style>`,
    `<style>${REPORT_CSS}</style>`,
    '</head>',
    '<body>',
    `<header class="banner ${verdict}"><div class="banner-inner"><div class="verdict">PLAN</div><div><div class="headline">${escape(headline)}</div><div class="subline">${escape(result.plan)} · ${escape(describeObjective(result))}</div></div></div></header>`,
    '<main>',
    '<h2>Recommendation</h2>',
    '<table><thead><tr><th>given</th><th>what meets the objective</th></tr></thead><tbody>',
    ...result.recommendations.map((entry) => `<tr><td>${escape(entry.label)}</td><td>${escape(describeChoice(entry))}</td></tr>`),
    '</tbody></table>',
    `<h2>${escape(columns.chart.replace(/^% of /, 'Share of '))}</h2>`,
    '<p class="note">Solid: the share measured over every seed; dotted: the top of its interval; dashed red: the share the objective allows.</p>',
    '<div id="plan-chart"></div>',
    '<h2>Every point</h2>',
    `<table><thead><tr><th>point</th><th>runs</th><th>failed runs</th><th>${escape(columns.trials)}</th><th>${escape(columns.events)}</th><th>share</th><th>interval</th><th>meets</th></tr></thead><tbody>`,
    ...result.points.map(
      (point) =>
        `<tr><td>${escape(point.label)}</td><td>${point.runs}</td><td>${point.failedRuns}</td><td>${point.trials}</td><td>${point.events}</td><td>${pct(point.share)}</td><td>${pct(point.interval.low)} – ${pct(point.interval.high)}</td><td>${point.meets ? 'yes' : 'no'}</td></tr>`,
    ),
    '</tbody></table>',
    '<p class="note">A point meets the objective when every run passed (no invariant broken) and the top of its interval is at most the share allowed.</p>',
    '</main>',
    `<script type="application/json" id="${DATA_ID}">${serializeForScript(chartData(result))}</script>`,
    `<script>${assets.script.replace(/<\/script/gi, '<\\/script')}</script>`,
    `<script>${SCRIPT}</script>`,
    '</body>',
    '</html>',
    '',
  ].join('\n');
}
