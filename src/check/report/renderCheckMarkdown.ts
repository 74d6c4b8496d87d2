// check.md: the verdict, the target, the conformance table, then every violation group (how often it was
// seen and how often its transcript reproduced it) and finding with the commands that reproduce it, what
// was not run, and the fingerprints. GitHub-flavoured Markdown, for CI job summaries and pull requests.
import { formatCount, formatPlural, formatWallMs } from '../../report/formatNumber.js';
import { formatCompactJson } from '../../report/formatCompactJson.js';
import type { CheckReport, ConformanceResult, FingerprintSummary, SkippedItem, TranscriptLine } from '../checkReport.js';
import { describeBurst, describeComparison, describeGroupCounts, describeStatus, shortenText } from './describeOutcome.js';
import { escapeMarkdown, formatCodeBlock, formatInlineCode } from './formatMarkdown.js';
import { summarizeCheck, type InvariantSummary } from './summarizeCheck.js';

/** Responses are cut to this in Markdown; check.json and check.html keep what the transcript kept. */
const RESPONSE_CHARS_MAX = 120;

const VERDICT_LABEL = { pass: '✅ pass', fail: '❌ FAIL', skip: '⏭ skip' } as const;
const INVARIANT_LABEL = { held: '✅ held', violated: '❌ VIOLATED', 'not-judged': '' } as const;

export function renderCheckMarkdown(report: CheckReport): string {
  const summary = summarizeCheck(report);
  const verdict = summary.verdict === 'pass' ? '**✅ PASS**' : '**❌ FAIL**';
  const lines = [`# kmesim check: ${escapeMarkdown(report.target.file)}`, '', `${verdict}: ${escapeMarkdown(summary.headline)}.`, ''];
  lines.push('## Target', '', ...renderTarget(report), '');
  lines.push('## Conformance', '', ...renderConformanceTable(report.conformance), '');
  for (const result of report.conformance) {
    if (result.verdict === 'fail' && result.transcript.length > 0) {
      lines.push(`### ${escapeMarkdown(`${result.item} ${result.title}`)}`, '', ...renderTranscript(result.transcript), '');
    }
  }
  lines.push('## Invariants', '', ...renderInvariantTable(summary.judged), '');
  if (report.violations.length > 0) {
    lines.push('## Violations', '');
    for (const v of report.violations) {
      lines.push(`### ${v.invariant} ${escapeMarkdown(v.name)}`, '', escapeMarkdown(v.message), '');
      lines.push(`**${escapeMarkdown(describeGroupCounts(v))}** · group ${formatInlineCode(v.group)}`, '');
      lines.push(`Evidence: ${formatInlineCode(formatCompactJson(v.evidence))}`, '');
      lines.push(...renderTranscript(v.transcript), '', `repro: ${formatInlineCode(report.repro)}`, '');
    }
  }
  if (report.findings.length > 0) {
    lines.push('## Findings', '');
    report.findings.forEach((finding, i) => {
      lines.push(`### Finding ${i + 1} (${finding.kind})`, '', escapeMarkdown(finding.message), '', ...renderTranscript(finding.transcript), '');
    });
  }
  if (report.skipped.length > 0) lines.push('## Not run', '', ...renderSkipped(report.skipped), '');
  lines.push('## Property phase', '', ...renderProperties(report), '');
  if (report.fingerprints !== null) lines.push('## Fingerprints', '', ...renderFingerprints(report.fingerprints), '');
  lines.push('## Reproduce', '', ...formatCodeBlock(report.repro, 'sh'), '');
  if (report.note !== '') lines.push(escapeMarkdown(report.note), '');
  return `${lines.join('\n').trimEnd()}\n`;
}

function renderTarget(report: CheckReport): string[] {
  const { target } = report;
  const kmes = target.kmes.map((kme) => `${formatInlineCode(kme.id)} at ${formatInlineCode(kme.url)}`);
  return [
    `- File: ${formatInlineCode(target.file)}`,
    `- KMEs: ${kmes.length > 0 ? kmes.join(', ') : 'none'}`,
    `- SAEs: ${target.saes.length > 0 ? target.saes.map((sae) => formatInlineCode(sae)).join(', ') : 'none'}`,
    `- Profile: ${formatInlineCode(target.profile)}`,
    `- Seed ${report.seed}, ${formatPlural(report.runs, 'run')}, budget ${formatWallMs(report.budgetMs)} ms, wall ${formatWallMs(report.wallMs)} ms`,
    `- Destructive items: ${report.destructive ? 'run (--destructive)' : 'not run'}`,
  ];
}

function renderSkipped(skipped: readonly SkippedItem[]): string[] {
  return skipped.map((s) => `- ${formatInlineCode(s.item)}: ${escapeMarkdown(s.why)}`);
}

function renderFingerprints(fingerprints: FingerprintSummary): string[] {
  const comparison = describeComparison(fingerprints);
  return [
    `- File: ${fingerprints.file === null ? 'not written' : formatInlineCode(fingerprints.file)}`,
    `- Fingerprint key: ${formatInlineCode(fingerprints.keyId)}, ${formatPlural(fingerprints.keys, 'key')} fingerprinted`,
    `- Compared: ${comparison === null ? 'with no earlier check' : escapeMarkdown(comparison)}`,
  ];
}

function renderConformanceTable(results: readonly ConformanceResult[]): string[] {
  if (results.length === 0) return ['No conformance items were checked.'];
  const rows = results.map((r) => `| ${[escapeMarkdown(r.item), escapeMarkdown(r.title), VERDICT_LABEL[r.verdict], escapeMarkdown(r.detail)].join(' | ')} |`);
  return ['| item | title | verdict | detail |', '| --- | --- | --- | --- |', ...rows];
}

function renderInvariantTable(judged: readonly InvariantSummary[]): string[] {
  const rows = judged.map((i) => `| ${i.id} | ${escapeMarkdown(i.name)} | ${INVARIANT_LABEL[i.verdict]} | ${formatCount(i.violations.length)} | ${formatCount(i.occurrences)} |`);
  return ['| ID | invariant | verdict | groups | seen |', '| --- | --- | --- | ---: | ---: |', ...rows];
}

// Each command is a fenced block inside its list item, indented to the item's content so that the list
// does not end at the fence; the answer follows on the item's next line. A request sent at once with
// others says so on the item's first line, above its command.
function renderTranscript(transcript: readonly TranscriptLine[]): string[] {
  if (transcript.length === 0) return ['No requests were recorded.'];
  return transcript.flatMap((line, i) => {
    const marker = `${i + 1}.`;
    const indent = ' '.repeat(marker.length + 1);
    const block = formatCodeBlock(line.curl, 'sh', indent);
    const response = shortenText(line.response, RESPONSE_CHARS_MAX);
    const answer = `→ ${escapeMarkdown(describeStatus(line))}${response === '' ? '' : ` ${formatInlineCode(response)}`}`;
    const burst = describeBurst(line);
    if (burst !== null) return [`${marker} ⇉ **${escapeMarkdown(burst)}**`, ...block, `${indent}${answer}`];
    const [first = '', ...rest] = block;
    return [`${marker} ${first.trimStart()}`, ...rest, `${indent}${answer}`];
  });
}

function renderProperties(report: CheckReport): string[] {
  const { properties } = report;
  const shrunk = properties.shrunkActions === null ? 'none' : formatPlural(properties.shrunkActions, 'action');
  return [
    `- Runs: ${formatCount(properties.runs)}${properties.interrupted ? ' (interrupted: the budget ran out)' : ''}`,
    `- Result: ${properties.failed ? '❌ a workload broke an invariant' : '✅ no workload broke an invariant'}`,
    `- Shrunk counterexample: ${shrunk}`,
  ];
}
