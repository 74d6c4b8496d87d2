// `kmesim run <file|dir>`: plays scenarios at their pinned seeds (or --seed / --seeds), writes reports,
// and on a violation shrinks the run and prints the repro line. Exit 0: all held; 1: a violation or a
// failed expectation; 2: usage or scenario error.
import { createWriteStream } from 'node:fs';
import { relative, resolve } from 'node:path';
import cliProgress from 'cli-progress';
import { parseBugNames, type BugName } from '../model/bugs.js';
import { INVARIANT_NAMES } from '../model/violation.js';
import { loadScenarios } from '../sim/loadScenario.js';
import { writeReports } from '../sim/report/writeReports.js';
import { formatCount, formatRatio } from '../report/formatNumber.js';
import type { RunJob } from './runJob.js';
import { runJobs } from './runPool.js';
import type { RunReport } from '../sim/runReport.js';
import { runScenario, type RunProgress } from '../sim/runScenario.js';
import { formatDuration } from '../engine/duration.js';
import { describeBuild } from './buildInfo.js';
import { shrinkFailure } from './shrinkFailure.js';
import { checkOutputFile, checkOutputFolder } from './outputPaths.js';
import { mergeRunReports } from './mergeRuns.js';
import { parseInteger, parseShard, UsageError } from './usageError.js';
import { contentHash } from '../sim/trace.js';
import type { ReportMeta } from '../sim/report/reportMeta.js';

export interface RunCommandOptions {
  readonly seed?: string;
  readonly seeds?: string;
  readonly shard?: string;
  readonly workers?: string;
  readonly bug?: readonly string[];
  readonly trace?: string;
  readonly out: string;
  readonly checkDeterminism?: boolean;
  readonly shrink: boolean;
  /** Folders of `--shard` runs to join into one report instead of running. */
  readonly merge?: readonly string[];
}

export async function runCommand(target: string, options: RunCommandOptions, out: NodeJS.WritableStream = process.stdout, commandLine = `kmesim run ${target}`): Promise<number> {
  const print = (line = ''): void => void out.write(`${line}\n`);
  let bugs: BugName[];
  try {
    bugs = [...parseBugNames(options.bug ?? [])];
  } catch (error) {
    throw new UsageError((error as Error).message);
  }
  if (options.seed !== undefined && options.seeds !== undefined) throw new UsageError('give --seed or --seeds, not both');
  const workers = options.workers === undefined ? 0 : parseInteger('--workers', options.workers);
  const shard = options.shard === undefined ? { index: 1, count: 1 } : parseShard(options.shard);
  const scenarios = await loadScenarios(target);
  const sweep = options.seeds === undefined ? undefined : parseInteger('--seeds', options.seeds, 1);
  const oneSeed = options.seed === undefined ? undefined : parseInteger('--seed', options.seed);
  const selected: RunJob[] = scenarios.flatMap(({ file, scenario }) => {
    const seeds = oneSeed !== undefined ? [oneSeed] : sweep !== undefined ? Array.from({ length: sweep }, (_, i) => i + 1) : scenario.seeds;
    return seeds.map((seed) => ({ file, seed, bugs }));
  });
  // What the selection is, so that `--merge` joins only slices of this same selection.
  const build = describeBuild();
  // Paths relative to where kmesim runs: shards given ./scenarios, scenarios/ or an absolute path agree.
  const selection = contentHash({ runs: selected.map((job) => [relative(process.cwd(), resolve(job.file)), job.seed]), scenarios: scenarios.map((entry) => entry.scenario), bugs, build });
  if (options.merge !== undefined) {
    if (options.shard !== undefined || options.trace !== undefined || options.checkDeterminism === true) throw new UsageError('--merge joins reports already run: give it without --shard, --trace or --check-determinism');
    await checkOutputFolder('--out', options.out);
    const reports = await mergeRunReports(options.merge, { index: 1, count: 1, runs: selected.length, selection }, options.out);
    print(`kmesim run ${target}: ${reports.length} run(s) merged from ${options.merge.length} folder(s)`);
    return finish(reports, { title: `kmesim run ${target}`, command: commandLine, build, slice: { index: 1, count: 1, runs: selected.length, selection } }, options.out, print);
  }
  const jobs = selected.filter((_, i) => i % shard.count === shard.index - 1);
  if (selected.length === 0) throw new UsageError('no runs selected');
  const slice = { index: shard.index, count: shard.count, runs: selected.length, selection };
  if (jobs.length === 0) {
    // More slices than runs: this one is empty, and says so in a report that --merge counts like the others.
    await checkOutputFolder('--out', options.out);
    print(`kmesim run ${target}: shard ${shard.index}/${shard.count} has none of the ${selected.length} run(s)`);
    return finish([], { title: `kmesim run ${target}`, command: commandLine, build, slice }, options.out, print);
  }
  if (options.trace !== undefined && jobs.length !== 1) throw new UsageError(`--trace needs exactly one run, this selects ${jobs.length}`);
  // Where the run writes is checked before it starts, not found wanting once it has ended.
  if (options.trace !== undefined) await checkOutputFile('--trace', options.trace);
  await checkOutputFolder('--out', options.out);

  print(`kmesim run ${target}: ${jobs.length} run(s)${bugs.length > 0 ? `, bugs: ${bugs.join(', ')}` : ''}${workers > 0 ? `, ${workers} worker(s)` : ''}${shard.count > 1 ? `, shard ${shard.index}/${shard.count}` : ''}`);
  let reports: RunReport[];
  // Progress bars go to a terminal only: quiet in CI, in pipes and when the caller gives its own stream.
  const onTerminal = process.stdout.isTTY === true && out === process.stdout;
  if (jobs.length === 1) {
    // One run: in this thread, so the seed and every option derived from it print before it starts.
    const job = jobs[0] as RunJob;
    const scenario = scenarios.find((entry) => entry.file === job.file)?.scenario;
    if (scenario === undefined) throw new Error('runCommand: scenario vanished');
    const stream = options.trace === undefined ? null : createWriteStream(options.trace);
    // Virtual time reached, events per second and an ETA.
    const progress = onTerminal ? createRunProgress() : null;
    const report = runScenario(scenario, {
      seed: job.seed,
      file: job.file,
      bugs,
      ...(stream === null ? {} : { traceSink: (line: string) => void stream.write(`${line}\n`) }),
      onDerived: (derived) => print(`seed ${job.seed}: ${JSON.stringify(derived)}`),
      wallClock: () => performance.now(),
      ...(progress === null ? {} : { onProgress: progress.update }),
    });
    progress?.stop();
    if (stream !== null) {
      await new Promise<void>((resolve, reject) => stream.end((error?: Error | null) => (error ? reject(error) : resolve())));
      print(`trace: ${options.trace}`);
    }
    reports = [report];
  } else {
    for (const job of jobs.slice(0, 20)) print(`seed ${job.seed}: ${job.file}`);
    if (jobs.length > 20) print(`… and ${jobs.length - 20} more`);
    const bar = onTerminal ? new cliProgress.SingleBar({ format: 'runs [{bar}] {value}/{total} {scenario}', hideCursor: true }, cliProgress.Presets.shades_classic) : null;
    bar?.start(jobs.length, 0, { scenario: '' });
    reports = await runJobs(jobs, workers, (report) => bar?.increment(1, { scenario: `${report.scenario}@${report.seed}` }));
    bar?.stop();
  }

  if (options.checkDeterminism === true) {
    const again = await runJobs(jobs, Math.max(1, workers));
    const differing = reports.filter((report, i) => report.fingerprint !== again[i]?.fingerprint);
    for (const report of differing) print(`I14 determinism: ${report.scenario} seed ${report.seed} gave a different trace in a worker thread`);
    print(`determinism: ${reports.length - differing.length}/${reports.length} runs identical in the main thread and a worker thread`);
    if (differing.length > 0) return 1;
  }

  printSummary(reports, print);
  // Failing runs are shrunk before the reports are written, so every report format carries the result.
  if (options.shrink) {
    const shrunk: RunReport[] = [];
    for (const report of reports) {
      const source = report.passed ? undefined : scenarios.find((entry) => entry.file === report.file);
      const result = source === undefined || (report.safety.violations.length === 0 && report.liveness.violations.length === 0) ? null : await shrinkFailure(report, source.scenario, options.out);
      shrunk.push(result === null ? report : { ...report, shrunk: result });
    }
    reports = shrunk;
  }
  return finish(reports, { title: `kmesim run ${target}`, command: commandLine, build, slice }, options.out, print, false);
}

/** Writes the reports, explains every failure and gives the exit code (0: all held, 1: a run failed). */
async function finish(reports: readonly RunReport[], meta: ReportMeta, outDir: string, print: (line?: string) => void, summarize = true): Promise<number> {
  if (summarize) printSummary(reports, print);
  const paths = await writeReports(reports, outDir, meta);
  print(`reports: ${paths.html} ${paths.json} ${paths.markdown} ${paths.junit}`);
  const failed = reports.filter((report) => !report.passed);
  for (const report of failed) explainFailure(report, print);
  return failed.length === 0 ? 0 : 1;
}

function printSummary(reports: readonly RunReport[], print: (line?: string) => void): void {
  print();
  print('scenario               seed  verdict  sent      decrypted  refused  syncs ok/failed  wall ms    steps/s   sim:real  fingerprint');
  for (const report of reports) {
    const refused = Object.values(report.stats.encRefused).reduce((a, b) => a + b, 0);
    print(
      [
        report.scenario.padEnd(22),
        String(report.seed).padStart(4),
        (report.passed ? 'pass' : 'FAIL').padEnd(7),
        String(report.stats.messagesSent).padStart(9),
        String(report.stats.messagesDecrypted).padStart(10),
        String(refused).padStart(8),
        `${report.stats.syncsCompleted}/${report.stats.syncsFailed}`.padStart(16),
        String(report.wallMs).padStart(8),
        formatCount(report.speed.stepsPerSecond).padStart(10),
        formatRatio(report.speed.simToReal).padStart(9),
        report.fingerprint.slice(0, 16),
      ].join('  '),
    );
  }
  const passed = reports.filter((report) => report.passed).length;
  print(`${passed}/${reports.length} runs passed`);
  print();
}

function explainFailure(report: RunReport, print: (line?: string) => void): void {
  const violation = report.safety.violations[0] ?? report.liveness.violations[0];
  print(`FAIL ${report.scenario} seed ${report.seed}`);
  if (violation === undefined) {
    for (const expectation of report.expectations.filter((e) => !e.passed)) print(`  expectation failed: ${expectation.description} (${expectation.detail})`);
    print(`repro: ${report.repro}`);
    return;
  }
  print(`  ${violation.invariant} ${INVARIANT_NAMES[violation.invariant]}: ${violation.message}`);
  print(`  evidence (this run): ${JSON.stringify(violation.evidence)}`);
  const { shrunk } = report;
  if (shrunk !== undefined) {
    print(`  shrunk in ${shrunk.shrinkRuns} runs to ${shrunk.messages} message(s), ${shrunk.faults} fault(s): ${shrunk.file}`);
    if (shrunk.violation !== null) print(`  evidence (shrunk run): ${shrunk.violation.invariant} ${JSON.stringify(shrunk.violation.evidence)}`);
    print('  events (shrunk run):');
    for (const line of shrunk.events) print(`    ${line}`);
    print(`  the shrunk scenario reproduces it: ${shrunk.repro}`);
  }
  print(`repro: ${report.repro}`);
}

/** A progress bar over one run's virtual time; drawn only once the run has gone on for a while. */
function createRunProgress(): { update: (progress: RunProgress) => void; stop: () => void } {
  const bar = new cliProgress.SingleBar(
    { format: 'virtual time [{bar}] {percentage}% {virtual} of {end} | {rate} events/s | ETA {eta_formatted}', hideCursor: true, etaBuffer: 20 },
    cliProgress.Presets.shades_classic,
  );
  let started = false;
  const began = performance.now();
  return {
    update({ virtualMs, endMs, events }) {
      const seconds = (performance.now() - began) / 1000;
      const payload = { virtual: formatDuration(Math.floor(virtualMs / 60_000) * 60_000), end: formatDuration(endMs), rate: Math.round(events / Math.max(seconds, 1e-3)).toLocaleString('en-US') };
      if (!started && seconds >= 1) {
        bar.start(endMs, virtualMs, payload);
        started = true;
      } else if (started) bar.update(virtualMs, payload);
    },
    stop() {
      if (started) bar.stop();
    },
  };
}
