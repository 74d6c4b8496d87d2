// `kmesim check --target FILE`: drive a KME over HTTP, judge it, write the report. Exit 0 clean, 1 when it
// broke an invariant or a checklist item, 2 for usage errors or a target nobody answers at.
import { randomInt } from 'node:crypto';
import { writeCheckReports } from '../check/report/writeCheckReports.js';
import { runCheck, TargetUnreachableError } from '../check/runCheck.js';
import { loadTarget, TargetError } from '../check/targetSchema.js';
import { parseDuration } from '../sim/duration.js';
import { parseInteger, UsageError } from './usageError.js';

export interface CheckCommandOptions {
  readonly target?: string;
  readonly seed?: string;
  readonly runs: string;
  readonly concurrency?: string;
  readonly budget: string;
  readonly out: string;
}

export async function checkCommand(options: CheckCommandOptions, out: NodeJS.WritableStream = process.stdout): Promise<number> {
  const print = (line = ''): void => void out.write(`${line}\n`);
  if (options.target === undefined) throw new UsageError('--target FILE is required (kmesim serve --write-target FILE writes one)');
  const runs = parseInteger('--runs', options.runs, 1);
  let budgetMs: number;
  try {
    budgetMs = parseDuration(options.budget);
  } catch (error) {
    throw new UsageError(`--budget: ${(error as Error).message}`);
  }
  // Entropy enters once, and is printed first.
  const seed = options.seed === undefined ? randomInt(0, 2 ** 31) : parseInteger('--seed', options.seed);
  let target;
  try {
    target = await loadTarget(options.target);
  } catch (error) {
    if (error instanceof TargetError) throw new UsageError(error.message);
    throw error;
  }
  print(`kmesim check ${options.target}: seed ${seed}, ${runs} runs, budget ${options.budget}, ${target.kmes.length} KME(s), ${target.saes.length} SAEs, profile ${target.profile}${target.admin === undefined ? '' : ', admin API'}`);
  let report;
  try {
    const concurrency = options.concurrency === undefined ? undefined : parseInteger('--concurrency', options.concurrency, 2);
    report = await runCheck(target, { file: options.target, seed, runs, budgetMs, ...(concurrency === undefined ? {} : { concurrency }) });
  } catch (error) {
    if (error instanceof TargetUnreachableError) throw new UsageError(error.message);
    throw error;
  }
  const failedItems = report.conformance.filter((result) => result.verdict === 'fail');
  const skipped = report.conformance.filter((result) => result.verdict === 'skip').length;
  print(`conformance: ${report.conformance.length - failedItems.length - skipped} pass, ${failedItems.length} fail, ${skipped} skip`);
  for (const item of failedItems) print(`  ${item.item} ${item.title}: ${item.detail}`);
  print(`properties: ${report.properties.runs} workloads${report.properties.interrupted ? ' (budget reached)' : ''}${report.properties.failed ? `, failing workload shrunk to ${report.properties.shrunkActions} action(s)` : ''}`);
  for (const found of report.findings.slice(0, 10)) print(`finding (${found.kind}): ${found.message}`);
  for (const found of report.violations) {
    print(`${found.invariant} ${found.name}: ${found.message}`);
    print(`  evidence: ${JSON.stringify(found.evidence)}`);
    print(`  transcript (${found.transcript.length} requests):`);
    for (const line of found.transcript) print(`    ${line.curl.split('\n').join('\n    ')}    # ${line.failure ?? line.status}`);
  }
  const paths = await writeCheckReports(report, options.out);
  print(`reports: ${paths.html} ${paths.json} ${paths.markdown} ${paths.junit}`);
  print(report.passed ? 'verdict: clean' : `verdict: ${report.violations.length} violation(s), ${failedItems.length} checklist failure(s), ${report.findings.length} finding(s)`);
  print(`repro: ${report.repro}`);
  return report.passed ? 0 : 1;
}
