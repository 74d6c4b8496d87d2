// summary.md: one table to scan, then, for every failing run, what broke and the command that replays it.
// Meant for CI job summaries and pull-request comments, so it is GitHub-flavoured Markdown.
import { formatCount, formatPlural, formatRatio, formatWallMs } from '../../report/formatNumber.js';
import { formatCompactJson } from '../../report/formatCompactJson.js';
import type { RunReport, ShrunkRun } from '../runReport.js';
import type { ReportMeta } from './reportMeta.js';
import { describeSpeed, summarizeRun, summarizeVerdict } from './summarizeRun.js';

const VERDICT_LABEL = { pass: '✅ pass', fail: '❌ FAIL' } as const;

export function renderMarkdown(reports: readonly RunReport[], meta: ReportMeta): string {
  const lines: string[] = [`# ${escapeMarkdown(meta.title)}`, '', describeVerdict(reports), ''];
  lines.push(`- Command: ${formatInlineCode(meta.command)}`, `- Build: ${formatInlineCode(meta.build)}`);
  if (reports.length > 0) lines.push(`- Time: ${describeSpeed(reports)}`);
  lines.push('');
  if (reports.length > 0) lines.push(...renderSummaryTable(reports), '');
  for (const run of reports) {
    if (!run.passed) lines.push(...renderFailure(run));
  }
  return `${lines.join('\n').trimEnd()}\n`;
}

function describeVerdict(reports: readonly RunReport[]): string {
  const overall = summarizeVerdict(reports);
  const scope = `${formatPlural(overall.runs, 'run')} of ${formatPlural(overall.scenarios, 'scenario')}`;
  if (overall.verdict === 'empty') return '**No runs.**';
  if (overall.verdict === 'pass') return `**✅ PASS**: all ${scope} passed.`;
  return `**❌ FAIL**: ${overall.failed} of ${scope} failed.`;
}

function renderSummaryTable(reports: readonly RunReport[]): string[] {
  const rows = reports.map((run) => {
    const summary = summarizeRun(run);
    const cells = [
      escapeMarkdown(run.scenario),
      String(run.seed),
      VERDICT_LABEL[summary.verdict],
      formatCount(run.stats.messagesSent),
      formatCount(run.stats.messagesDecrypted),
      formatCount(summary.refusals),
      `${formatCount(run.stats.syncsCompleted)} / ${formatCount(run.stats.syncsFailed)}`,
      formatInlineCode(summary.fingerprintPrefix).replace(/\|/g, '\\|'),
      formatWallMs(run.wallMs),
      formatCount(run.speed.stepsPerSecond),
      formatRatio(run.speed.simToReal),
    ];
    return `| ${cells.join(' | ')} |`;
  });
  return [
    '| scenario | seed | verdict | sent | decrypted | refusals | syncs ok / failed | fingerprint | wall ms | steps/s | sim:real |',
    '| --- | ---: | --- | ---: | ---: | ---: | ---: | --- | ---: | ---: | ---: |',
    ...rows,
  ];
}

function renderFailure(run: RunReport): string[] {
  const summary = summarizeRun(run);
  const lines = [`## ❌ ${escapeMarkdown(run.scenario)}, seed ${run.seed}`, ''];
  if (run.bugs.length > 0) lines.push(`Injected bugs: ${run.bugs.map(formatInlineCode).join(', ')}.`, '');
  if (summary.violations.length > 0) {
    lines.push('### Violations', '');
    for (const v of summary.violations) {
      lines.push(`- **${v.invariant} ${v.name}** (${v.phase}): ${escapeMarkdown(v.message)}`);
      lines.push(`  ${formatInlineCode(formatCompactJson(v.evidence))}`);
    }
    lines.push('');
  }
  if (summary.failedExpectations.length > 0) {
    lines.push('### Failed expectations', '');
    for (const e of summary.failedExpectations) lines.push(`- ${escapeMarkdown(e.description)}: ${escapeMarkdown(e.detail)}`);
    lines.push('');
  }
  lines.push('### Reproduce', '', ...formatCodeBlock(run.repro, 'sh'), '');
  if (run.shrunk !== undefined) lines.push(...renderShrunk(run.shrunk));
  return lines;
}

/** The shrunk run: its size, its own evidence and events (labelled as the shrunk run's), its scenario and command. */
function renderShrunk(shrunk: ShrunkRun): string[] {
  const lines = [
    '### Shrunk',
    '',
    `Shrunk in ${formatPlural(shrunk.shrinkRuns, 'run')} to ${formatPlural(shrunk.messages, 'message')} and ${formatPlural(shrunk.faults, 'fault')}: ${formatInlineCode(shrunk.file)}.`,
    '',
  ];
  if (shrunk.violation !== null) lines.push(`Evidence (shrunk run): **${shrunk.violation.invariant}** ${escapeMarkdown(shrunk.violation.message)} ${formatInlineCode(formatCompactJson(shrunk.violation.evidence))}`, '');
  if (shrunk.events.length > 0) lines.push('Events (shrunk run):', '', ...formatCodeBlock(shrunk.events.join('\n'), 'json'), '');
  lines.push('Scenario (shrunk):', '', ...formatCodeBlock(shrunk.scenarioYaml.trimEnd(), 'yaml'), '', ...formatCodeBlock(shrunk.repro, 'sh'), '');
  return lines;
}

// Backslash-escaping ASCII punctuation is always literal in CommonMark, so user text cannot open a link,
// emphasis, raw HTML or a table cell; newlines would end a list item or a row.
function escapeMarkdown(text: string): string {
  return text.replace(/\r?\n|\r/g, ' ').replace(/[\\`*_{}[\]()<>#+!|~&]/g, '\\$&');
}

// A code span's fence must be longer than any backtick run inside it. Inside a table a pipe would still
// end the cell, so the table escapes pipes itself.
function formatInlineCode(text: string): string {
  const flat = text.replace(/\r?\n|\r/g, ' ');
  const fence = '`'.repeat(findLongestBacktickRun(flat) + 1);
  const pad = flat.startsWith('`') || flat.endsWith('`') ? ' ' : '';
  return `${fence}${pad}${flat}${pad}${fence}`;
}

function formatCodeBlock(text: string, language: string): string[] {
  const fence = '`'.repeat(Math.max(3, findLongestBacktickRun(text) + 1));
  return [`${fence}${language}`, text, fence];
}

function findLongestBacktickRun(text: string): number {
  let longest = 0;
  for (const run of text.match(/`+/g) ?? []) longest = Math.max(longest, run.length);
  return longest;
}
