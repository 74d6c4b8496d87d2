// `kmesim check --target FILE`: drive a KME over HTTP, judge it, write the report and the keyed fingerprints
// of what it saw. Exit 0 clean, 1 when it broke an invariant or a checklist item or a finding came up, 2 for
// usage errors or a target nobody answers at. Nothing printed here carries key bytes: transcripts are
// redacted before they reach the report, and keys are only ever named by ID or keyed hash.
import { randomInt } from 'node:crypto';
import { FingerprintError, loadFingerprintKey, readFingerprintFile, renderFingerprintFile, type FingerprintFile, type FingerprintKey } from '../check/fingerprints.js';
import type { CheckReport } from '../check/checkReport.js';
import { describeComparison, describeGroupCounts } from '../check/report/describeOutcome.js';
import { writeCheckReports } from '../check/report/writeCheckReports.js';
import { runCheck, TargetUnreachableError } from '../check/runCheck.js';
import { loadTarget, TargetError } from '../check/targetSchema.js';
import { parseDuration } from '../engine/duration.js';
import { parseInteger, UsageError } from './usageError.js';

/** Where the fingerprint key is kept when neither --fingerprint-key nor KMESIM_FINGERPRINT_KEY names one. */
export const DEFAULT_FINGERPRINT_KEY_FILE = '.kmesim/fingerprint.key';

export interface CheckCommandOptions {
  readonly target?: string;
  readonly seed?: string;
  readonly runs: string;
  readonly concurrency?: string;
  readonly budget: string;
  readonly out: string;
  readonly destructive?: boolean;
  readonly compare?: string;
  readonly fingerprintKey?: string;
  readonly replays: string;
}

/** The flag names a file and wins; otherwise the environment's key, otherwise the default file. */
export async function resolveFingerprintKey(flag: string | undefined, env: NodeJS.ProcessEnv): Promise<FingerprintKey> {
  try {
    return flag === undefined
      ? await loadFingerprintKey({ env: env['KMESIM_FINGERPRINT_KEY'], file: DEFAULT_FINGERPRINT_KEY_FILE })
      : await loadFingerprintKey({ file: flag });
  } catch (error) {
    if (error instanceof FingerprintError) throw new UsageError(`--fingerprint-key: ${error.message}`);
    throw error;
  }
}

async function loadCompared(path: string | undefined): Promise<(FingerprintFile & { path: string }) | null> {
  if (path === undefined) return null;
  try {
    return await readFingerprintFile(path);
  } catch (error) {
    if (error instanceof FingerprintError) throw new UsageError(`--compare: ${error.message}`);
    throw error;
  }
}

export async function checkCommand(options: CheckCommandOptions, out: NodeJS.WritableStream = process.stdout, env: NodeJS.ProcessEnv = process.env): Promise<number> {
  const print = (line = ''): void => void out.write(`${line}\n`);
  if (options.target === undefined) throw new UsageError('--target FILE is required (kmesim serve --write-target FILE writes one)');
  const runs = parseInteger('--runs', options.runs, 1);
  const replays = parseInteger('--replays', options.replays, 0);
  const concurrency = options.concurrency === undefined ? undefined : parseInteger('--concurrency', options.concurrency, 2);
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
  // Everything that can be wrong with the command line is found before the first request is sent.
  const fingerprintKey = await resolveFingerprintKey(options.fingerprintKey, env);
  const compare = await loadCompared(options.compare);
  const destructive = options.destructive === true;
  print(`kmesim check ${options.target}: seed ${seed}, ${runs} runs, budget ${options.budget}, ${target.kmes.length} KME(s), ${target.saes.length} SAEs, profile ${target.profile}${target.admin === undefined ? '' : ', admin API'}${destructive ? ', destructive' : ''}, ${replays} replays, fingerprint key ${fingerprintKey.id}`);
  if (compare !== null) {
    print(`comparing with ${compare.path}: ${compare.ids.length} key IDs of seed ${compare.seed} on ${compare.target}`);
    if (compare.keyId !== fingerprintKey.id) print(`  warning: it was made with fingerprint key ${compare.keyId}, not ${fingerprintKey.id}: nothing can be compared`);
  }
  let result: { report: CheckReport; fingerprints: FingerprintFile };
  try {
    result = await runCheck(target, { file: options.target, seed, runs, budgetMs, ...(concurrency === undefined ? {} : { concurrency }), destructive, replays, fingerprintKey, compare });
  } catch (error) {
    if (error instanceof TargetUnreachableError) throw new UsageError(error.message);
    throw error;
  }
  const { report } = result;
  printReport(report, print);
  const paths = await writeCheckReports(report, options.out, { fingerprints: renderFingerprintFile(result.fingerprints) });
  print(`reports: ${paths.html} ${paths.json} ${paths.markdown} ${paths.junit}${paths.fingerprints === undefined ? '' : ` ${paths.fingerprints}`}`);
  const failedItems = report.conformance.filter((item) => item.verdict === 'fail').length;
  print(report.passed ? 'verdict: clean' : `verdict: ${report.violations.length} violation group(s), ${failedItems} checklist failure(s), ${report.findings.length} finding(s)`);
  if (report.note !== '') print(`note: ${report.note}`);
  print(`repro: ${report.repro}`);
  return report.passed ? 0 : 1;
}

function printReport(report: CheckReport, print: (line?: string) => void): void {
  const failedItems = report.conformance.filter((result) => result.verdict === 'fail');
  const skipped = report.conformance.filter((result) => result.verdict === 'skip').length;
  print(`conformance: ${report.conformance.length - failedItems.length - skipped} pass, ${failedItems.length} fail, ${skipped} skip`);
  for (const item of failedItems) print(`  ${item.item} ${item.title}: ${item.detail}`);
  print(`properties: ${report.properties.runs} workloads${report.properties.interrupted ? ' (budget reached)' : ''}${report.properties.failed ? `, failing workload shrunk to ${report.properties.shrunkActions} action(s)` : ''}`);
  if (report.skipped.length > 0) print(`not run: ${report.skipped.map((s) => `${s.item} (${s.why})`).join('; ')}`);
  for (const found of report.findings.slice(0, 10)) print(`finding (${found.kind}): ${found.message}`);
  if (report.findings.length > 10) print(`  and ${report.findings.length - 10} more finding(s) in the report`);
  if (report.fingerprints !== null) {
    const comparison = describeComparison(report.fingerprints);
    print(`fingerprints: ${report.fingerprints.keys} key(s) under key ${report.fingerprints.keyId}${comparison === null ? '' : `; ${comparison}`}`);
  }
  for (const found of report.violations) {
    print(`${found.invariant} ${found.name}: ${found.message}`);
    print(`  ${describeGroupCounts(found)}`);
    print(`  evidence: ${JSON.stringify(found.evidence, (_key, value: unknown) => (typeof value === 'bigint' ? value.toString() : value))}`);
    print(`  transcript (${found.transcript.length} requests, answers redacted):`);
    for (const line of found.transcript) print(`    ${line.curl.split('\n').join('\n    ')}    # ${line.failure ?? line.status}${line.burst === undefined ? '' : ` (concurrent, burst ${line.burst})`}`);
  }
}
