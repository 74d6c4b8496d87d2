// junit.xml: one <testsuite> per scenario, one <testcase> per seed, so CI dashboards list failing seeds by
// name; a failure carries the violations, the failed expectations and the command that replays the run.
import { escapeXmlText, formatAttributes, formatSeconds } from '../../report/escapeXml.js';
import { formatCompactJson } from '../../report/formatCompactJson.js';
import type { RunReport } from '../runReport.js';
import type { ReportMeta } from './reportMeta.js';
import { groupByScenario, summarizeRun, type RunSummary } from './summarizeRun.js';

export function renderJunit(reports: readonly RunReport[], meta: ReportMeta): string {
  const failures = reports.filter((r) => !r.passed).length;
  const lines = [
    '<?xml version="1.0" encoding="UTF-8"?>',
    `<testsuites ${formatAttributes({ name: meta.title, tests: reports.length, failures, errors: 0, time: formatSeconds(sumWallMs(reports)) })}>`,
  ];
  for (const [scenario, runs] of groupByScenario(reports)) lines.push(...renderSuite(scenario, runs, meta));
  lines.push('</testsuites>');
  return `${lines.join('\n')}\n`;
}

function renderSuite(scenario: string, runs: readonly RunReport[], meta: ReportMeta): string[] {
  const attributes = {
    name: scenario,
    tests: runs.length,
    failures: runs.filter((r) => !r.passed).length,
    errors: 0,
    skipped: 0,
    time: formatSeconds(sumWallMs(runs)),
    file: runs[0]?.file ?? '',
  };
  return [
    `  <testsuite ${formatAttributes(attributes)}>`,
    '    <properties>',
    `      <property ${formatAttributes({ name: 'build', value: meta.build })}/>`,
    `      <property ${formatAttributes({ name: 'command', value: meta.command })}/>`,
    '    </properties>',
    ...runs.flatMap(renderTestCase),
    '  </testsuite>',
  ];
}

function renderTestCase(run: RunReport): string[] {
  const summary = summarizeRun(run);
  const attributes = { name: `seed ${run.seed}`, classname: `kmesim.${run.scenario}`, time: formatSeconds(run.wallMs) };
  const lines = [`    <testcase ${formatAttributes(attributes)}>`];
  if (!run.passed) {
    const failure = { message: describeFailure(summary), type: 'kmesim.run.failed' };
    lines.push(`      <failure ${formatAttributes(failure)}>${escapeXmlText(detailFailure(run, summary))}</failure>`);
  }
  const out = [
    `repro: ${run.repro}`,
    `fingerprint: ${run.fingerprint}`,
    `virtual ms: ${run.virtualMs}`,
    `wall ms: ${run.wallMs}`,
    `KME steps: ${run.speed.kmeSteps}`,
    `steps/s: ${run.speed.stepsPerSecond}`,
    `sim:real: ${run.speed.simToReal}:1`,
  ];
  if (run.bugs.length > 0) out.push(`bugs: ${run.bugs.join(', ')}`);
  lines.push(`      <system-out>${escapeXmlText(out.join('\n'))}</system-out>`, '    </testcase>');
  return lines;
}

function describeFailure(summary: RunSummary): string {
  const first = summary.violations[0];
  const headline = first
    ? `${first.invariant} ${first.name}: ${first.message}`
    : `expectation failed: ${summary.failedExpectations[0]?.description ?? 'run did not pass'}`;
  const others = summary.violations.length + summary.failedExpectations.length - 1;
  return others > 0 ? `${headline} (+${others} more)` : headline;
}

function detailFailure(run: RunReport, summary: RunSummary): string {
  const lines: string[] = [];
  if (summary.violations.length > 0) {
    lines.push('Violations:');
    for (const v of summary.violations) {
      lines.push(`  [${v.phase}] ${v.invariant} ${v.name}: ${v.message}`, `    evidence: ${formatCompactJson(v.evidence)}`);
    }
  }
  if (summary.failedExpectations.length > 0) {
    lines.push('Failed expectations:');
    for (const e of summary.failedExpectations) lines.push(`  ${e.description}: ${e.detail}`);
  }
  lines.push('Reproduce:', `  ${run.repro}`);
  const { shrunk } = run;
  if (shrunk !== undefined) {
    lines.push(`Shrunk in ${shrunk.shrinkRuns} runs to ${shrunk.messages} message(s) and ${shrunk.faults} fault(s): ${shrunk.file}`);
    if (shrunk.violation !== null) lines.push(`  evidence (shrunk run): ${shrunk.violation.invariant} ${formatCompactJson(shrunk.violation.evidence)}`);
    if (shrunk.events.length > 0) lines.push('  events (shrunk run):', ...shrunk.events.map((event) => `    ${event}`));
    lines.push(`  reproduce the shrunk run: ${shrunk.repro}`);
  }
  return `\n${lines.join('\n')}\n      `;
}


function sumWallMs(runs: readonly RunReport[]): number {
  return runs.reduce((total, run) => total + run.wallMs, 0);
}
