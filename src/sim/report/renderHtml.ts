// index.html: one self-contained page (uPlot, styles, data and script inlined) that answers "did this
// pass?" in its banner and lets a reader drill down to each run's charts, violations and coverage.
import { escapeXmlAttribute, escapeXmlText as escape } from '../../report/escapeXml.js';
import { formatCount, formatDurationMs, formatPlural, formatRatio, formatWallMs } from '../../report/formatNumber.js';
import { REPORT_CSS } from '../../report/reportStyle.js';
import type { RunReport } from '../runReport.js';
import { buildChartData } from './buildChartData.js';
import { CHART_THEME } from './chartTheme.js';
import { CHART_SCRIPT, REPORT_DATA_ELEMENT_ID } from './chartScript.js';
import { readChartAssets, type ChartAssets } from './readChartAssets.js';
import { renderInvariantTable, RUN_COLUMNS_MAX } from './renderInvariantTable.js';
import { renderBadge, renderRunSection } from './renderRunSection.js';
import type { ReportMeta } from './reportMeta.js';
import { describeSpeed, summarizeRun, summarizeVerdict } from './summarizeRun.js';

const BANNER_FAILURES_MAX = 5;

export function renderHtml(reports: readonly RunReport[], meta: ReportMeta, assets: ChartAssets = readChartAssets()): string {
  // Anchors are positions, not names: scenario names come from user files and need not be valid IDs.
  const runIds = reports.map((_, i) => `run-${i}`);
  const charts = reports.map((run, i) => buildChartData(run, `run-${i}`));
  const overall = summarizeVerdict(reports);
  const verdictWord = { pass: 'PASS', fail: 'FAIL', empty: 'NO RUNS' }[overall.verdict];
  return [
    '<!DOCTYPE html>',
    '<html lang="en">',
    '<head>',
    '<meta charset="utf-8">',
    '<meta name="viewport" content="width=device-width, initial-scale=1">',
    `<title>${verdictWord} · ${escape(meta.title)}</title>`,
    // Without an icon of its own the browser would ask the file system or a server for /favicon.ico.
    '<link rel="icon" href="data:,">',
    `<style>${guardRawText(assets.style, 'style')}</style>`,
    `<style>${REPORT_CSS}</style>`,
    '</head>',
    '<body>',
    renderBanner(reports, runIds, meta, overall.verdict, verdictWord),
    '<main>',
    renderMeta(reports, meta),
    reports.length === 0 ? '<p class="note">No runs were reported.</p>' : renderRunTable(reports, runIds),
    '<h2>Invariants</h2>',
    `<p class="note">✓ held (no violation recorded) · ✗ violated, with the number of violations.${reports.length > RUN_COLUMNS_MAX ? ` ${formatCount(reports.length)} runs: totals only.` : ''}</p>`,
    renderInvariantTable(reports, runIds),
    '<h2>Run details</h2>',
    '<div class="toolbar"><button type="button" id="expand-all">Expand all</button><button type="button" id="collapse-all">Collapse all</button></div>',
    ...charts.map((chart, i) => renderRunSection(reports[i] as RunReport, chart)),
    '</main>',
    `<script type="application/json" id="${REPORT_DATA_ELEMENT_ID}">${serializeForScript({ theme: CHART_THEME, runs: charts })}</script>`,
    `<script>${guardRawText(assets.script, 'script')}</script>`,
    `<script>${CHART_SCRIPT}</script>`,
    '</body>',
    '</html>',
    '',
  ].join('\n');
}

/** JSON that cannot end its <script> element early: every "<" becomes \u003c, which JSON.parse reads back. */
export function serializeForScript(value: unknown): string {
  return JSON.stringify(value).replace(/</g, '\\u003c');
}

function renderBanner(reports: readonly RunReport[], runIds: readonly string[], meta: ReportMeta, verdict: string, verdictWord: string): string {
  const overall = summarizeVerdict(reports);
  const violations = reports.reduce((total, run) => total + summarizeRun(run).violations.length, 0);
  const headline = overall.verdict === 'pass'
    ? `All ${formatPlural(overall.runs, 'run')} passed`
    : overall.verdict === 'fail' ? `${formatCount(overall.failed)} of ${formatPlural(overall.runs, 'run')} failed` : 'Nothing was run';
  const details = [formatPlural(overall.scenarios, 'scenario'), formatPlural(violations, 'invariant violation')];
  return [
    `<header class="banner ${verdict}"><div class="banner-inner">`,
    `<div class="verdict">${verdictWord}</div>`,
    `<div><div class="headline">${escape(headline)}</div><div class="subline">${escape(meta.title)} · ${escape(details.join(' · '))}</div>`,
    renderFailingList(reports, runIds),
    '</div></div></header>',
  ].join('');
}

/** The first few failing runs, linked, with what broke: the banner alone should say where to look. */
function renderFailingList(reports: readonly RunReport[], runIds: readonly string[]): string {
  const failing = reports.flatMap((run, i) => (run.passed ? [] : [{ run, id: runIds[i] ?? '' }]));
  if (failing.length === 0) return '';
  const items = failing.slice(0, BANNER_FAILURES_MAX).map(({ run, id }) => {
    const summary = summarizeRun(run);
    const what = summary.violationsByInvariant.size > 0
      ? [...summary.violationsByInvariant.keys()].join(', ')
      : formatPlural(summary.failedExpectations.length, 'failed expectation');
    return `<li><a href="#${escapeXmlAttribute(id)}">${escape(run.scenario)} · seed ${run.seed}</a>: ${escape(what)}</li>`;
  });
  const more = failing.length > BANNER_FAILURES_MAX ? `<li>and ${formatCount(failing.length - BANNER_FAILURES_MAX)} more</li>` : '';
  return `<ul class="failing">${items.join('')}${more}</ul>`;
}

function renderMeta(reports: readonly RunReport[], meta: ReportMeta): string {
  return `<dl class="meta"><dt>Command</dt><dd>${escape(meta.command)}</dd><dt>Build</dt><dd>${escape(meta.build)}</dd>`
    + `<dt>Time</dt><dd>${escape(describeSpeed(reports))}</dd></dl>`;
}

function renderRunTable(reports: readonly RunReport[], runIds: readonly string[]): string {
  const rows = reports.map((run, i) => {
    const summary = summarizeRun(run);
    const failed = summary.verdict === 'fail';
    const cells = [
      renderBadge(summary.verdict),
      `<a href="#${escapeXmlAttribute(runIds[i] ?? '')}">${escape(run.scenario)}</a>`,
      `<span class="mono">${run.seed}</span>`,
    ].map((cell) => `<td>${cell}</td>`);
    const numbers = [
      run.stats.messagesSent,
      run.stats.messagesDecrypted,
      summary.refusals,
    ].map((n) => `<td class="num">${formatCount(n)}</td>`);
    return `<tr${failed ? ' class="fail"' : ''}>${cells.join('')}${numbers.join('')}`
      + `<td class="num">${formatCount(run.stats.syncsCompleted)} / ${formatCount(run.stats.syncsFailed)}</td>`
      + `<td class="num${summary.violations.length > 0 ? ' violated' : ''}">${formatCount(summary.violations.length)}</td>`
      + `<td class="num${summary.failedExpectations.length > 0 ? ' violated' : ''}">${formatCount(summary.failedExpectations.length)}</td>`
      + `<td class="mono">${escape(summary.fingerprintPrefix)}</td>`
      + `<td class="num">${escape(formatDurationMs(run.virtualMs))}</td><td class="num">${formatWallMs(run.wallMs)}</td>`
      + `<td class="num">${formatCount(run.speed.stepsPerSecond)}</td><td class="num">${formatRatio(run.speed.simToReal)}</td></tr>`;
  });
  const header = '<tr><th>verdict</th><th>scenario</th><th>seed</th><th class="num">sent</th><th class="num">decrypted</th>'
    + '<th class="num">refusals</th><th class="num">syncs ok / failed</th><th class="num">violations</th>'
    + '<th class="num">failed expectations</th><th>fingerprint</th><th class="num">virtual</th><th class="num">wall ms</th>'
    + '<th class="num">steps/s</th><th class="num">sim:real</th></tr>';
  return `<h2>Runs</h2><table><thead>${header}</thead><tbody>${rows.join('\n')}</tbody></table>`;
}

// Inlined library text must not contain the end tag of the element it sits in.
function guardRawText(text: string, element: 'script' | 'style'): string {
  return text.replace(new RegExp(`</${element}`, 'gi'), `<\\/${element}`);
}
