// One run's collapsible section: verdict and what broke first, then the figures, charts, timeline and
// coverage behind it. Failing runs open by default; the charts are drawn by chartScript when opened.
import { escapeXmlAttribute, escapeXmlText as escape } from '../../report/escapeXml.js';
import { formatCount, formatDurationMs, formatPlural, formatHoursAt, formatRatio, formatWallMs } from '../../report/formatNumber.js';
import { formatCompactJson } from '../../report/formatCompactJson.js';
import type { RunReport, ShrunkRun, TimelineEvent } from '../runReport.js';
import type { RunChartData } from './buildChartData.js';
import { renderChartKey } from './renderChartKey.js';
import { renderCoverage } from './renderCoverage.js';
import { summarizeRun, type RunSummary } from './summarizeRun.js';

/** Rows of the timeline table; sync completions are left out of it (they are on the charts). */
export const TIMELINE_ROWS_MAX = 40;

export function renderRunSection(run: RunReport, chart: RunChartData): string {
  const summary = summarizeRun(run);
  const failed = summary.verdict === 'fail';
  const attributes = `class="run ${summary.verdict}" id="${escapeXmlAttribute(chart.id)}"${failed ? ' open' : ''}`;
  return [
    `<details ${attributes}>`,
    `<summary>${renderBadge(summary.verdict)}<span class="run-title">${escape(run.scenario)}</span>`
      + `<span class="run-seed">seed ${run.seed}</span><span class="run-gist${failed ? ' fail' : ''}">${escape(describeGist(run, summary))}</span></summary>`,
    '<div class="run-body">',
    run.bugs.length > 0 ? `<p>Injected bugs: <span class="chips">${run.bugs.map((b) => `<span class="chip bug">${escape(b)}</span>`).join('')}</span></p>` : '',
    failed ? renderFailure(run, summary) : '',
    renderFigures(run, summary),
    renderExpectations(run),
    renderCharts(chart),
    renderTimeline(run.series.events),
    '<h3>Machine coverage</h3>',
    renderCoverage(run.coverage),
    renderDerived(run.derived),
    failed ? '' : `<h3>Reproduce</h3><pre>${escape(run.repro)}</pre>`,
    `<p class="note">Scenario file <code>${escape(run.file)}</code> · fingerprint <code>${escape(run.fingerprint)}</code></p>`,
    '</div>',
    '</details>',
  ].filter((part) => part !== '').join('\n');
}

export function renderBadge(verdict: 'pass' | 'fail'): string {
  return `<span class="badge ${verdict}">${verdict === 'pass' ? 'PASS' : 'FAIL'}</span>`;
}

function describeGist(run: RunReport, summary: RunSummary): string {
  if (summary.verdict === 'pass') {
    return `${formatCount(run.stats.messagesDecrypted)} of ${formatCount(run.stats.messagesSent)} messages decrypted, `
      + `${formatCount(run.stats.syncsCompleted)} syncs, ${formatDurationMs(run.virtualMs)} virtual`;
  }
  const parts: string[] = [];
  if (summary.violations.length > 0) {
    const ids = [...summary.violationsByInvariant.keys()].map((id) => `${id} ${summary.violations.find((v) => v.invariant === id)?.name ?? ''}`);
    parts.push(`${formatPlural(summary.violations.length, 'violation')}: ${ids.join(', ')}`);
  }
  if (summary.failedExpectations.length > 0) parts.push(formatPlural(summary.failedExpectations.length, 'failed expectation'));
  return parts.length > 0 ? parts.join(' · ') : 'failed';
}

function renderFailure(run: RunReport, summary: RunSummary): string {
  const cards = summary.violations.map((v) => [
    '<div class="violation">',
    `<div class="what"><span class="inv">${v.invariant}</span>${escape(v.name)}<span class="phase">${v.phase}</span></div>`,
    `<div>${escape(v.message)}</div>`,
    `<pre>${escape(formatCompactJson(v.evidence))}</pre>`,
    '</div>',
  ].join(''));
  return [
    summary.violations.length > 0 ? `<h3>Violations (${summary.violations.length})</h3>${cards.join('\n')}` : '',
    `<h3>Reproduce</h3><pre>${escape(run.repro)}</pre>`,
    run.shrunk === undefined ? '' : renderShrunk(run.shrunk),
  ].join('\n');
}

/** The shrunk run, its evidence and events labelled as its own, its scenario and the command that replays it. */
function renderShrunk(shrunk: ShrunkRun): string {
  return [
    '<h3>Shrunk</h3>',
    `<p>Shrunk in ${escape(formatPlural(shrunk.shrinkRuns, 'run'))} to ${escape(formatPlural(shrunk.messages, 'message'))} and ${escape(formatPlural(shrunk.faults, 'fault'))}: <code>${escape(shrunk.file)}</code></p>`,
    shrunk.violation === null ? '' : `<div class="violation"><div class="what"><span class="inv">${shrunk.violation.invariant}</span>evidence (shrunk run)</div><div>${escape(shrunk.violation.message)}</div><pre>${escape(formatCompactJson(shrunk.violation.evidence))}</pre></div>`,
    shrunk.events.length === 0 ? '' : `<p>Events (shrunk run)</p><pre class="events">${escape(shrunk.events.join('\n'))}</pre>`,
    `<details class="scenario"><summary>Scenario (shrunk)</summary><pre>${escape(shrunk.scenarioYaml)}</pre></details>`,
    `<pre>${escape(shrunk.repro)}</pre>`,
  ].filter((part) => part !== '').join('\n');
}

function renderFigures(run: RunReport, summary: RunSummary): string {
  const s = run.stats;
  const figures: Array<[string, string, boolean]> = [
    [formatCount(s.users), 'users', false],
    [formatCount(s.messagesSent), 'messages sent', false],
    [formatCount(s.messagesDecrypted), 'messages decrypted', false],
    [formatCount(s.messagesPending), 'messages pending', false],
    [formatCount(summary.encRefusals), `enc_keys refused${describeReasons(s.encRefused)}`, false],
    [formatCount(summary.decRefusals), `dec_keys refused${describeReasons(s.decRefused)}`, false],
    [`${formatCount(s.syncsCompleted)} / ${formatCount(s.syncsRequested)}`, 'syncs completed / requested', false],
    [formatCount(s.syncsFailed), 'syncs failed', false],
    [formatCount(s.keysDelivered), 'keys delivered', false],
    [formatCount(s.keysExpired), 'keys expired', false],
    [formatDurationMs(s.maxDeliveryMs), 'longest send → decrypt', false],
    [formatDurationMs(run.virtualMs), 'virtual time', false],
    [`${formatWallMs(run.wallMs)} ms`, 'wall time', false],
    [formatCount(run.speed.stepsPerSecond), `KME steps per second (${formatCount(run.speed.kmeSteps)} steps)`, false],
    [formatRatio(run.speed.simToReal), 'simulated : real', false],
    [formatCount(summary.violations.length), 'violations', summary.violations.length > 0],
  ];
  const cells = figures.map(([value, label, bad]) =>
    `<div class="figure${bad ? ' bad' : ''}"><div class="value">${escape(value)}</div><div class="label">${escape(label)}</div></div>`);
  return `<div class="figures">${cells.join('')}</div>`;
}

function describeReasons(counts: Readonly<Record<string, number>>): string {
  const reasons = Object.entries(counts).filter(([, n]) => n > 0);
  return reasons.length === 0 ? '' : ` (${reasons.map(([reason, n]) => `${reason}: ${formatCount(n)}`).join(', ')})`;
}

function renderExpectations(run: RunReport): string {
  if (run.expectations.length === 0) return '<h3>Expectations</h3><p class="note">The scenario states no expectations beyond the invariants.</p>';
  const passed = run.expectations.filter((e) => e.passed).length;
  const rows = run.expectations.map((e) =>
    `<tr${e.passed ? '' : ' class="fail"'}><td class="${e.passed ? 'ok' : 'ko'}">${e.passed ? '✓' : '✗'}</td><td>${escape(e.description)}</td><td>${escape(e.detail)}</td></tr>`);
  return `<h3>Expectations (${passed} of ${run.expectations.length} met)</h3>`
    + `<table><thead><tr><th></th><th>expectation</th><th>detail</th></tr></thead><tbody>${rows.join('')}</tbody></table>`;
}

function renderCharts(chart: RunChartData): string {
  const runAttribute = escapeXmlAttribute(chart.id);
  const { total, series } = chart.pools;
  const poolNote = total > series.length
    ? `Showing the ${series.length} of ${formatCount(total)} pools with the lowest minimum level (relative to capacity).`
    : `${formatPlural(total, 'pool')}.`;
  const pools = series.length === 0
    ? '<p class="note">No pool samples were recorded.</p>'
    : `<p class="note">${escape(poolNote)} Stored keys over virtual time; drag to zoom, double-click to reset.</p>`
      + `<div class="chart" data-chart="pools" data-run="${runAttribute}"></div>${renderChartKey(chart, true)}`;
  const deliveries = chart.deliveries.x.length === 0
    ? '<p class="note">No deliveries were recorded.</p>'
    : `<div class="chart" data-chart="deliveries" data-run="${runAttribute}"></div>${renderChartKey(chart, false)}`;
  const stores = chart.stores.series.length === 0
    ? ''
    : `\n<h3>Key stores</h3><p class="note">${escape(`${formatPlural(chart.stores.total, 'link')}.`)} Whole keys in each link's store: the link fills it, pools draw from it.</p>`
      + `<div class="chart" data-chart="stores" data-run="${runAttribute}"></div>`;
  return `<h3>Pool levels</h3>${pools}${stores}\n<h3>Messages and refusals</h3>${deliveries}`;
}

function renderTimeline(events: readonly TimelineEvent[]): string {
  // Stable sort: events recorded at the same instant keep their order.
  const notable = events.filter((e) => e.kind !== 'sync.completed').sort((a, b) => a.atMs - b.atMs);
  if (notable.length === 0) return '<h3>Timeline</h3><p class="note">No outages, restarts, faults or failed syncs.</p>';
  const rows = notable.slice(0, TIMELINE_ROWS_MAX).map((e) =>
    `<tr><td class="num">${formatHoursAt(e.atMs)}</td><td class="mono">${escape(e.kind)}</td><td>${escape(e.label)}</td></tr>`);
  const more = notable.length > TIMELINE_ROWS_MAX ? `<p class="note">… and ${formatCount(notable.length - TIMELINE_ROWS_MAX)} more (see report.json).</p>` : '';
  return `<h3>Timeline</h3><div class="scroll"><table><thead><tr><th class="num">at</th><th>event</th><th>detail</th></tr></thead>`
    + `<tbody>${rows.join('')}</tbody></table></div>${more}`;
}

function renderDerived(derived: Readonly<Record<string, unknown>>): string {
  const keys = Object.keys(derived);
  if (keys.length === 0) return '';
  const rows = keys.map((key) => `<tr><td class="mono">${escape(key)}</td><td class="mono">${escape(formatCompactJson(derived[key]))}</td></tr>`);
  return `<details class="more"><summary>Options derived from the seed (${keys.length})</summary>`
    + `<table><tbody>${rows.join('')}</tbody></table></details>`;
}
