// check-junit.xml: a "conformance" suite with a test case per checklist item, an "invariants" suite with one
// per invariant the check judged, a "transport" suite with a failing case per transport, format or hang
// finding, and a "not-run" suite with a skipped case per item the check left out, so CI dashboards name
// what broke. Every failure carries its transcript (key material redacted) and the repro line.
import { escapeXmlText, formatAttributes, formatSeconds } from '../../report/escapeXml.js';
import { formatCompactJson } from '../../report/formatCompactJson.js';
import type { CheckFinding, CheckReport, ConformanceResult, SkippedItem, TranscriptLine } from '../checkReport.js';
import { describeBurst, describeGroupCounts, describeOccurrences, describeReproduction, describeStatus, shortenText } from './describeOutcome.js';
import { summarizeCheck, type InvariantSummary } from './summarizeCheck.js';

const CLASS_PREFIX = 'kmesim.check';
const RESPONSE_CHARS_MAX = 200;

interface TestCase {
  readonly lines: readonly string[];
  readonly outcome: 'pass' | 'fail' | 'skip';
}

export function renderCheckJunit(report: CheckReport): string {
  const summary = summarizeCheck(report);
  const suites = [
    { name: 'conformance', cases: report.conformance.map((r) => renderConformanceCase(r, report.repro)) },
    { name: 'invariants', cases: summary.judged.map((i) => renderInvariantCase(i, report.repro)) },
    { name: 'transport', cases: report.findings.map((f, i) => renderFindingCase(f, i, report.repro)) },
    { name: 'not-run', cases: report.skipped.map(renderSkippedCase) },
  ];
  const all = suites.flatMap((suite) => suite.cases);
  const lines = [
    '<?xml version="1.0" encoding="UTF-8"?>',
    `<testsuites ${formatAttributes({ name: `kmesim check ${report.target.file}`, ...countOutcomes(all), time: formatSeconds(report.wallMs) })}>`,
  ];
  for (const suite of suites) {
    lines.push(
      `  <testsuite ${formatAttributes({ name: suite.name, ...countOutcomes(suite.cases), file: report.target.file })}>`,
      '    <properties>',
      `      <property ${formatAttributes({ name: 'profile', value: report.target.profile })}/>`,
      `      <property ${formatAttributes({ name: 'seed', value: report.seed })}/>`,
      `      <property ${formatAttributes({ name: 'repro', value: report.repro })}/>`,
      `      <property ${formatAttributes({ name: 'destructive', value: String(report.destructive) })}/>`,
      '    </properties>',
      ...suite.cases.flatMap((c) => c.lines),
      '  </testsuite>',
    );
  }
  lines.push('</testsuites>');
  return `${lines.join('\n')}\n`;
}

function renderConformanceCase(result: ConformanceResult, repro: string): TestCase {
  const name = `${result.item} ${result.title}`;
  const open = `    <testcase ${formatAttributes({ name, classname: `${CLASS_PREFIX}.conformance` })}>`;
  if (result.verdict === 'pass') return { outcome: 'pass', lines: [open.replace(/>$/, '/>')] };
  if (result.verdict === 'skip') {
    return { outcome: 'skip', lines: [open, `      <skipped ${formatAttributes({ message: result.detail })}/>`, '    </testcase>'] };
  }
  const body = [result.detail, ...formatTranscript(result.transcript), `repro: ${repro}`];
  return { outcome: 'fail', lines: [open, renderFailure(result.detail, `${CLASS_PREFIX}.conformance.${result.item}`, body), '    </testcase>'] };
}

function renderInvariantCase(invariant: InvariantSummary, repro: string): TestCase {
  const name = `${invariant.id} ${invariant.name}`;
  const open = `    <testcase ${formatAttributes({ name, classname: `${CLASS_PREFIX}.invariants` })}>`;
  const [first, ...others] = invariant.violations;
  if (first === undefined) return { outcome: 'pass', lines: [open.replace(/>$/, '/>')] };
  const counts = `${describeOccurrences(first.occurrences)}, ${describeReproduction(first.reproduced)}`;
  const message = `${first.message} (${counts})${others.length > 0 ? ` (+${others.length} more group${others.length === 1 ? '' : 's'})` : ''}`;
  const body = invariant.violations.flatMap((v, i) => [
    `Violation group ${i + 1} (${v.group}): ${v.message}`,
    describeGroupCounts(v),
    `evidence: ${formatCompactJson(v.evidence)}`,
    ...formatTranscript(v.transcript),
  ]);
  body.push(`repro: ${repro}`);
  return { outcome: 'fail', lines: [open, renderFailure(message, `${CLASS_PREFIX}.${invariant.id}`, body), '    </testcase>'] };
}

function renderFindingCase(finding: CheckFinding, index: number, repro: string): TestCase {
  const name = `${finding.kind} ${index + 1}: ${shortenText(finding.message, 100)}`;
  const open = `    <testcase ${formatAttributes({ name, classname: `${CLASS_PREFIX}.transport` })}>`;
  const body = [finding.message, ...formatTranscript(finding.transcript), `repro: ${repro}`];
  return { outcome: 'fail', lines: [open, renderFailure(finding.message, `${CLASS_PREFIX}.${finding.kind}`, body), '    </testcase>'] };
}

function renderSkippedCase(item: SkippedItem): TestCase {
  const open = `    <testcase ${formatAttributes({ name: item.item, classname: `${CLASS_PREFIX}.not-run` })}>`;
  return { outcome: 'skip', lines: [open, `      <skipped ${formatAttributes({ message: item.why })}/>`, '    </testcase>'] };
}

function renderFailure(message: string, type: string, body: readonly string[]): string {
  return `      <failure ${formatAttributes({ message, type })}>${escapeXmlText(`\n${body.join('\n')}\n`)}      </failure>`;
}

function formatTranscript(transcript: readonly TranscriptLine[]): string[] {
  return transcript.flatMap((line, i) => [
    `${i + 1}. ${line.burst === undefined ? '' : `[${describeBurst(line) ?? ''}] `}${line.curl}`,
    `   -> ${describeStatus(line)} ${shortenText(line.response, RESPONSE_CHARS_MAX)}`.trimEnd(),
  ]);
}

function countOutcomes(cases: readonly TestCase[]): { tests: number; failures: number; errors: number; skipped: number } {
  return {
    tests: cases.length,
    failures: cases.filter((c) => c.outcome === 'fail').length,
    errors: 0,
    skipped: cases.filter((c) => c.outcome === 'skip').length,
  };
}

