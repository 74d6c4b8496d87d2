// check.html: one self-contained page, no script and nothing fetched, that says in its banner whether the
// target passed and what broke, then lists each violation group (how often seen, how often reproduced) and
// finding with commands to paste, what was not run, and the fingerprints.
import { escapeXmlAttribute, escapeXmlText as escape } from '../../report/escapeXml.js';
import { formatCount, formatPlural, formatWallMs } from '../../report/formatNumber.js';
import { REPORT_CSS } from '../../report/reportStyle.js';
import { formatCompactJson } from '../../report/formatCompactJson.js';
import type { CheckReport, ConformanceResult, FingerprintSummary, TranscriptLine } from '../checkReport.js';
import { transcriptScript } from '../renderCurl.js';
import { describeBurst, describeComparison, describeOccurrences, describeReproduction, describeStatus } from './describeOutcome.js';
import { summarizeCheck, type CheckSummary, type InvariantSummary } from './summarizeCheck.js';

const BANNER_FAILURES_MAX = 5;

// Additions to the simulator's stylesheet for what only a check has: skipped items, transcripts, findings.
const CHECK_CSS = `
.badge.skip { background: var(--muted); }
tr.skip td { color: var(--muted); }
ol.transcript { margin: 6px 0 8px; padding-left: 28px; }
ol.transcript > li { margin: 0 0 6px; }
pre.curl { background: #fff; user-select: all; -webkit-user-select: all; }
.answer { color: var(--muted); font-size: 12.5px; word-break: break-all; }
.answer .status { font-family: var(--mono); font-weight: 700; color: var(--fg); }
.answer .status.bad { color: var(--fail); }
.inv-table td.not-judged { color: var(--muted); text-align: center; }
.inv-table th.verdict { text-align: center; width: 120px; }
.finding { border: 1px solid #d4a72c; background: #fff8c5; border-radius: 6px; padding: 8px 12px; margin: 0 0 8px; }
.finding .kind { font-weight: 800; color: var(--warn); margin-right: 6px; }
.finding pre.curl { background: #fff; }
.counts { margin: 2px 0 6px; font-size: 12.5px; }
.counts .seen, .counts .rate { font-weight: 700; }
.counts .group { font-family: var(--mono); color: var(--muted); }
ol.transcript > li.concurrent { border-left: 3px solid var(--warn); padding-left: 8px; }
.concurrent-tag { display: inline-block; font-size: 11.5px; font-weight: 700; color: var(--warn); text-transform: uppercase; letter-spacing: 0.04em; }
ul.skipped { margin: 4px 0 8px; padding-left: 22px; }
`;

export function renderCheckHtml(report: CheckReport): string {
  const summary = summarizeCheck(report);
  const verdictWord = summary.verdict === 'pass' ? 'PASS' : 'FAIL';
  return [
    '<!DOCTYPE html>',
    '<html lang="en">',
    '<head>',
    '<meta charset="utf-8">',
    '<meta name="viewport" content="width=device-width, initial-scale=1">',
    `<title>${verdictWord} · kmesim check · ${escape(report.target.file)}</title>`,
    // Without an icon of its own the browser would ask the file system or a server for /favicon.ico.
    '<link rel="icon" href="data:,">',
    `<style>${REPORT_CSS}${CHECK_CSS}</style>`,
    '</head>',
    '<body>',
    renderBanner(report, summary, verdictWord),
    '<main>',
    renderMeta(report),
    '<h2>Invariants</h2>',
    '<p class="note">✓ held (no violation seen) · ✗ violated · — not judged: HTTP traffic alone cannot show it.</p>',
    renderInvariantTable(summary.invariants),
    '<h2>Violations</h2>',
    ...renderViolations(report),
    '<h2>Conformance</h2>',
    renderConformance(report.conformance),
    '<h2>Findings</h2>',
    ...renderFindings(report),
    ...renderSkipped(report),
    '<h2>Property phase</h2>',
    renderProperties(report),
    ...renderFingerprints(report.fingerprints),
    '<h2>Reproduce</h2>',
    `<pre class="curl">${escape(report.repro)}</pre>`,
    ...(report.note === '' ? [] : [`<p class="note">${escape(report.note)}</p>`]),
    '</main>',
    '</body>',
    '</html>',
    '',
  ].join('\n');
}

function renderBanner(report: CheckReport, summary: CheckSummary, verdictWord: string): string {
  return [
    `<header class="banner ${summary.verdict}"><div class="banner-inner">`,
    `<div class="verdict">${verdictWord}</div>`,
    `<div><div class="headline">kmesim check of ${escape(report.target.file)}</div><div class="subline">${escape(summary.headline)}</div>`,
    renderFailingList(report),
    '</div></div></header>',
  ].join('');
}

/** The first few things that broke, linked: the banner alone should say where to look. */
function renderFailingList(report: CheckReport): string {
  const failing = [
    ...report.violations.map((v, i) => ({ href: `#violation-${i + 1}`, label: `${v.invariant} ${v.name}`, text: `${v.message} (${describeOccurrences(v.occurrences)})` })),
    ...report.conformance.flatMap((r, i) => (r.verdict === 'fail' ? [{ href: `#conformance-${i + 1}`, label: `${r.item} ${r.title}`, text: r.detail }] : [])),
    ...report.findings.map((f, i) => ({ href: `#finding-${i + 1}`, label: `${f.kind} finding`, text: f.message })),
  ];
  if (failing.length === 0) return '';
  const items = failing.slice(0, BANNER_FAILURES_MAX)
    .map((f) => `<li><a href="${escapeXmlAttribute(f.href)}">${escape(f.label)}</a>: ${escape(f.text)}</li>`);
  const more = failing.length > BANNER_FAILURES_MAX ? `<li>and ${formatCount(failing.length - BANNER_FAILURES_MAX)} more</li>` : '';
  return `<ul class="failing">${items.join('')}${more}</ul>`;
}

function renderMeta(report: CheckReport): string {
  const { target } = report;
  const kmes = target.kmes.map((kme) => `${escape(kme.id)} · ${escape(kme.url)}`).join('<br>');
  const rows: ReadonlyArray<readonly [string, string]> = [
    ['Target', escape(target.file)],
    ['KMEs', kmes === '' ? 'none' : kmes],
    ['SAEs', target.saes.length === 0 ? 'none' : escape(target.saes.join(', '))],
    ['Profile', escape(target.profile)],
    ['Seed', String(report.seed)],
    ['Time', escape(`${formatPlural(report.runs, 'run')}, budget ${formatWallMs(report.budgetMs)} ms, ${formatWallMs(report.wallMs)} ms wall`)],
    ['Destructive', report.destructive ? 'run (--destructive)' : 'not run'],
  ];
  return `<dl class="meta">${rows.map(([term, value]) => `<dt>${term}</dt><dd>${value}</dd>`).join('')}</dl>`;
}

function renderInvariantTable(invariants: readonly InvariantSummary[]): string {
  const rows = invariants.map((i) => {
    const cell = i.verdict === 'held'
      ? '<td class="held" title="held">✓</td>'
      : i.verdict === 'violated'
        ? `<td class="violated" title="${formatPlural(i.violations.length, 'violation group')}, ${describeOccurrences(i.occurrences)}">✗ ${formatCount(i.violations.length)}</td>`
        : '<td class="not-judged" title="not judged by black-box checking">—</td>';
    return `<tr><td class="id">${i.id}</td><td>${escape(i.name)}</td>${cell}</tr>`;
  });
  return `<table class="inv-table"><thead><tr><th>ID</th><th>invariant</th><th class="verdict">verdict</th></tr></thead><tbody>${rows.join('\n')}</tbody></table>`;
}

function renderViolations(report: CheckReport): string[] {
  if (report.violations.length === 0) return ['<p class="note">No invariant was violated.</p>'];
  return report.violations.map((v, i) => [
    `<div class="violation" id="violation-${i + 1}">`,
    `<div class="what"><span class="inv">${v.invariant}</span>${escape(v.name)}</div>`,
    `<p>${escape(v.message)}</p>`,
    `<p class="counts"><span class="seen">${escape(describeOccurrences(v.occurrences))}</span> · phase ${escape(v.phase)} · <span class="rate">${escape(describeReproduction(v.reproduced))}</span> · <span class="group">${escape(v.group)}</span></p>`,
    `<p class="note">Evidence</p><pre>${escape(formatCompactJson(v.evidence))}</pre>`,
    renderTranscript(v.transcript),
    '</div>',
  ].join('\n'));
}

function renderConformance(results: readonly ConformanceResult[]): string {
  if (results.length === 0) return '<p class="note">No conformance items were checked.</p>';
  const rows = results.map((r, i) => `<tr id="conformance-${i + 1}"${r.verdict === 'pass' ? '' : ` class="${r.verdict}"`}>`
    + `<td class="mono">${escape(r.item)}</td><td>${escape(r.title)}</td><td>${renderBadge(r.verdict)}</td><td>${escape(r.detail)}</td></tr>`);
  const failed = results.filter((r) => r.verdict === 'fail' && r.transcript.length > 0).map((r) => [
    '<div class="violation">',
    `<div class="what"><span class="inv">${escape(r.item)}</span>${escape(r.title)}</div>`,
    `<p>${escape(r.detail)}</p>`,
    renderTranscript(r.transcript),
    '</div>',
  ].join('\n'));
  const table = `<table><thead><tr><th>item</th><th>title</th><th>verdict</th><th>detail</th></tr></thead><tbody>${rows.join('\n')}</tbody></table>`;
  return failed.length === 0 ? table : [table, '<h3>Failed items</h3>', ...failed].join('\n');
}

function renderFindings(report: CheckReport): string[] {
  if (report.findings.length === 0) return ['<p class="note">No transport or format findings.</p>'];
  return report.findings.map((f, i) => [
    `<div class="finding" id="finding-${i + 1}">`,
    `<div class="what"><span class="kind">${escape(f.kind)}</span>${escape(f.message)}</div>`,
    renderTranscript(f.transcript),
    '</div>',
  ].join('\n'));
}

function renderSkipped(report: CheckReport): string[] {
  if (report.skipped.length === 0) return [];
  const items = report.skipped.map((s) => `<li><span class="mono">${escape(s.item)}</span>: ${escape(s.why)}</li>`);
  return ['<h2>Not run</h2>', `<ul class="skipped">${items.join('')}</ul>`];
}

function renderFingerprints(fingerprints: FingerprintSummary | null): string[] {
  if (fingerprints === null) return [];
  const rows: ReadonlyArray<readonly [string, string]> = [
    ['File', fingerprints.file === null ? 'not written' : escape(fingerprints.file)],
    ['Fingerprint key', escape(fingerprints.keyId)],
    ['Keys', formatCount(fingerprints.keys)],
    ['Compared', escape(describeComparison(fingerprints) ?? 'with no earlier check')],
  ];
  return ['<h2>Fingerprints</h2>', `<dl class="meta">${rows.map(([term, value]) => `<dt>${term}</dt><dd>${value}</dd>`).join('')}</dl>`];
}

function renderProperties(report: CheckReport): string {
  const { properties } = report;
  const rows: ReadonlyArray<readonly [string, string]> = [
    ['Runs', `${formatCount(properties.runs)}${properties.interrupted ? ' (interrupted: the budget ran out)' : ''}`],
    ['Result', properties.failed ? '<span class="ko">a workload broke an invariant</span>' : '<span class="ok">no workload broke an invariant</span>'],
    ['Shrunk counterexample', properties.shrunkActions === null ? 'none' : formatPlural(properties.shrunkActions, 'action')],
  ];
  return `<dl class="meta">${rows.map(([term, value]) => `<dt>${term}</dt><dd>${value}</dd>`).join('')}</dl>`;
}

// One <pre> per command, so each can be copied alone; a longer transcript also comes as one script.
function renderTranscript(transcript: readonly TranscriptLine[]): string {
  if (transcript.length === 0) return '<p class="note">No requests were recorded.</p>';
  const items = transcript.map((line) => {
    const bad = line.status === 0 || line.status >= 500 || line.failure !== undefined;
    const response = line.response === '' ? '' : ` <code>${escape(line.response)}</code>`;
    const burst = describeBurst(line);
    const open = burst === null ? '<li>' : `<li class="concurrent"><span class="concurrent-tag">⇉ ${escape(burst)}</span>`;
    return `${open}<pre class="curl">${escape(line.curl)}</pre><div class="answer">→ <span class="status${bad ? ' bad' : ''}">${escape(describeStatus(line))}</span>${response}</div></li>`;
  });
  const script = transcript.length > 1
    ? `<details class="more"><summary>All ${formatCount(transcript.length)} commands as one script</summary><pre class="curl">${escape(transcriptScript(transcript).trimEnd())}</pre></details>`
    : '';
  return `<ol class="transcript">${items.join('\n')}</ol>${script}`;
}

function renderBadge(verdict: ConformanceResult['verdict']): string {
  return `<span class="badge ${verdict}">${verdict.toUpperCase()}</span>`;
}
