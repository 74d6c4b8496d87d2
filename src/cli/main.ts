// argv → command. Usage errors print one line and exit 2.
import { readFileSync } from 'node:fs';
import { Command, CommanderError, Option } from 'commander';
import type { CheckCommandOptions } from './checkCommand.js';
import type { PlanCommandOptions } from './planCommand.js';
import type { RunCommandOptions } from './runCommand.js';
import type { ServeCommandOptions } from './serveCommand.js';
import { formatCommandLine } from './buildInfo.js';
import { declareServe, normalizeServeEnvironment } from './serveOptions.js';
import { UsageError } from './usageError.js';

// Each command's modules load when that command runs, so `serve` starts without the simulator's reports
// or the checker, and `run` without Express.

function readVersion(): string {
  const manifest = JSON.parse(readFileSync(new URL('../../package.json', import.meta.url), 'utf8')) as { version: string };
  return manifest.version;
}

/** A scenario file error (only the commands that load scenarios can throw one, and they loaded its module). */
async function isScenarioError(error: unknown): Promise<boolean> {
  const { ScenarioError } = await import('../sim/loadScenario.js');
  return error instanceof ScenarioError;
}

const collect = (value: string, previous: string[] = []): string[] => [...previous, value];

export async function runCli(argv: readonly string[]): Promise<number> {
  normalizeServeEnvironment(process.env);
  let exitCode = 0;
  const program = new Command('kmesim')
    .description('Deterministic simulator, mock KME and black-box checker for ETSI GS QKD 014 key management')
    .version(readVersion())
    .exitOverride()
    // Every usage error is one line, prefixed like the others: `kmesim: unknown option '--x'`.
    .configureOutput({ outputError: (text, write) => write(`kmesim: ${text.replace(/^error: /, '').trimEnd()}\n`) });

  program
    .command('run')
    .description('play scenarios in virtual time, check every invariant, write reports')
    .argument('<target>', 'a scenario file, or a folder of them')
    .option('--seed <n>', 'run this seed only (overrides the pinned seeds)')
    .option('--seeds <n>', 'sweep seeds 1..n')
    .option('--shard <i/n>', 'run only the i-th of n slices of the runs (for CI matrices)')
    .option('--workers <n>', 'run on n worker threads')
    .option('--bug <name>', 'switch on a catalogue bug (repeatable)', collect)
    .option('--trace <file>', 'write the JSONL trace of the (single) run')
    .option('--out <dir>', 'where to write reports', 'reports')
    .option('--check-determinism', 'run every seed again in a worker thread and compare trace hashes')
    .option('--merge <dir>', 'join the reports that --shard runs of this same selection wrote in these folders (repeatable)', collect)
    .addOption(new Option('--no-shrink', 'do not shrink failing runs'))
    .action(async (target: string, options: RunCommandOptions) => {
      const { runCommand } = await import('./runCommand.js');
      exitCode = await runCommand(target, options, process.stdout, formatCommandLine(argv));
    });

  declareServe(program, async (options: ServeCommandOptions) => {
    const { serveCommand } = await import('./serveCommand.js');
    exitCode = await serveCommand(options);
  });

  program
    .command('check')
    .description('drive seeded workloads against any ETSI GS QKD 014 KME over HTTP and judge the invariants')
    .option('--target <file>', 'the target file (YAML): KMEs, SAEs and how each SAE identifies itself')
    .option('--seed <n>', 'seed of the workloads (default: random, printed)')
    .option('--runs <n>', 'random workloads to run', '25')
    .option('--concurrency <n>', 'the widest concurrent burst of requests', '8')
    .option('--budget <duration>', 'stop generating workloads after this long', '60s')
    .option('--out <dir>', 'where to write the check reports and check-fingerprints.json', 'reports')
    .option('--destructive', 'also run the items that drain key pools or change the target\'s state through its admin API')
    .option('--compare <path>', 'an earlier check\'s report folder, check.json or check-fingerprints.json: flag key IDs or key material delivered again')
    .option('--fingerprint-key <file>', 'the secret that keys the fingerprints (default: $KMESIM_FINGERPRINT_KEY, else .kmesim/fingerprint.key, made when missing)')
    .option('--replays <n>', 'replay each violation\'s transcript n times on fresh keys to measure how often it reproduces (0: never)', '5')
    .action(async (options: CheckCommandOptions) => {
      const { checkCommand } = await import('./checkCommand.js');
      exitCode = await checkCommand(options);
    });

  program
    .command('plan')
    .description('size pools: run a plan\'s grid of scenarios over seeds and find the smallest pool that meets its objective')
    .argument('<file>', 'a plan file (YAML): base scenario, parameters to vary, seeds per point, objective')
    .option('--workers <n>', 'run on n worker threads')
    .option('--seeds <n>', "seeds 1…n per point instead of the plan's own count")
    .option('--shard <i/n>', 'run only the i-th of n slices of the runs and write them for --merge (for CI matrices)')
    .option('--merge <dir>', 'join the shards written in these folders into one report (repeatable)', collect)
    .option('--out <dir>', 'where to write plan.json and plan.md', 'reports')
    .action(async (file: string, options: PlanCommandOptions) => {
      const { planCommand } = await import('./planCommand.js');
      exitCode = await planCommand(file, options);
    });

  program
    .command('replay')
    .description('re-execute a trace and confirm its fingerprint')
    .argument('<trace>', 'a JSONL trace written by run --trace')
    .action(async (trace: string) => {
      const { replayCommand } = await import('./replayCommand.js');
      exitCode = await replayCommand(trace);
    });

  try {
    await program.parseAsync([...argv], { from: 'user' });
    return exitCode;
  } catch (error) {
    if (error instanceof CommanderError) {
      return error.code === 'commander.helpDisplayed' || error.code === 'commander.version' || error.exitCode === 0 ? 0 : 2;
    }
    if (error instanceof UsageError || (await isScenarioError(error))) {
      process.stderr.write(`kmesim: ${(error as Error).message}\n`);
      return 2;
    }
    throw error;
  }
}
