// `kmesim plan FILE`: runs a plan's grid (every point at seeds 1…n) on worker threads, and reports per point
// the share of messages that waited too long for their keys, with its interval, and the smallest pool that
// meets the objective. `--shard i/n` runs a slice and writes its runs; `--merge DIR…` joins such slices into
// the report a single machine would have written. Exit 0: done; 2: usage or plan error.
import { mkdir, readFile, readdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import cliProgress from 'cli-progress';
import { stringify } from 'yaml';
import { z } from 'zod';
import { contentHash } from '../sim/trace.js';
import { gridPoints, PointError, scenarioAt } from '../sim/plan/planGrid.js';
import type { Scenario } from '../sim/scenarioSchema.js';
import { objectiveOf, planRunOf, summarizePlan, type PlanRun } from '../sim/plan/planResult.js';
import { loadPlan, MAX_SEEDS, PlanError, type Plan } from '../sim/plan/planSchema.js';
import { recommendationLines, renderPlanJson, renderPlanMarkdown } from '../sim/plan/renderPlan.js';
import { renderPlanHtml } from '../sim/plan/renderPlanHtml.js';
import { describeBuild } from './buildInfo.js';
import { checkOutputFolder } from './outputPaths.js';
import type { RunJob } from './runJob.js';
import { runJobs } from './runPool.js';
import { parseInteger, parseShard, UsageError } from './usageError.js';

export interface PlanCommandOptions {
  readonly workers?: string;
  /** Seeds per point instead of the plan's own count. */
  readonly seeds?: string;
  readonly shard?: string;
  readonly merge?: readonly string[];
  readonly out: string;
}

const count = z.number().int().min(0);
const shardSchema = z.object({
  format: z.literal('kmesim-plan-shard/1'),
  plan: z.string(),
  planHash: z.string(),
  shard: z.object({ index: count, count }),
  runs: z.array(
    z
      .object({ point: count, seed: count.min(1), passed: z.boolean(), fingerprint: z.string(), messages: count, waited: count, exhausted: z.boolean(), deferred: z.boolean() })
      .refine((run) => run.waited <= run.messages, { message: 'more messages waited than were written' }),
  ),
});

/** The runs of one shard, as `--shard` writes them and `--merge` reads them back. */
interface ShardFile {
  readonly format: 'kmesim-plan-shard/1';
  readonly plan: string;
  /** The plan and its base scenario, hashed: only slices of the same plan are merged. */
  readonly planHash: string;
  readonly shard: { readonly index: number; readonly count: number };
  readonly runs: readonly PlanRun[];
}

export async function planCommand(file: string, options: PlanCommandOptions, out: NodeJS.WritableStream = process.stdout): Promise<number> {
  const print = (line = ''): void => void out.write(`${line}\n`);
  let loaded;
  try {
    loaded = await loadPlan(file);
  } catch (error) {
    if (error instanceof PlanError) throw new UsageError(error.message);
    throw error;
  }
  const { scenario, scenarioFile } = loaded;
  const plan = options.seeds === undefined ? loaded.plan : { ...loaded.plan, seeds: parseSeeds(options.seeds) };
  const points = gridPoints(plan.vary);
  // Shards of another plan, scenario or build of kmesim would not add up to this plan's results.
  const planHash = contentHash({ plan, scenario, build: describeBuild() });
  if (options.merge !== undefined && options.shard !== undefined) throw new UsageError('give --shard or --merge, not both');
  const workers = options.workers === undefined ? 0 : parseInteger('--workers', options.workers);
  await checkOutputFolder('--out', options.out);

  let variants: Scenario[];
  try {
    variants = points.map((point, index) => scenarioAt(scenario, point, `${plan.name}-${index + 1}`));
  } catch (error) {
    if (error instanceof PointError) throw new UsageError(`${file}: a point of the grid makes no valid scenario: ${error.message}`);
    throw error;
  }

  let runs: PlanRun[];
  if (options.merge !== undefined) {
    runs = await mergeShards(options.merge, plan, planHash, points.length);
    print(`kmesim plan ${file}: ${runs.length} run(s) merged from ${options.merge.length} folder(s)`);
  } else {
    const shard = options.shard === undefined ? { index: 1, count: 1 } : parseShard(options.shard);
    const all = points.flatMap((_, index) => Array.from({ length: plan.seeds }, (_, s) => ({ index, seed: s + 1, scenario: variants[index] as Scenario })));
    const mine = all.filter((_, i) => i % shard.count === shard.index - 1);
    const jobs: RunJob[] = mine.map((job) => ({ file: scenarioFile, seed: job.seed, bugs: [], scenario: job.scenario }));
    print(`kmesim plan ${file}: ${points.length} point(s) × ${plan.seeds} seed(s) = ${all.length} run(s)${shard.count > 1 ? `, shard ${shard.index}/${shard.count}: ${jobs.length}` : ''}${workers > 0 ? `, ${workers} worker(s)` : ''}`);
    const onTerminal = out === process.stdout && process.stdout.isTTY === true;
    const bar = onTerminal ? new cliProgress.SingleBar({ format: 'runs [{bar}] {value}/{total} eta {eta_formatted}', hideCursor: true }, cliProgress.Presets.shades_classic) : null;
    bar?.start(jobs.length, 0);
    const reports = await runJobs(jobs, workers, () => bar?.increment(1));
    bar?.stop();
    runs = reports.map((report, i) => planRunOf(report, (mine[i] as { index: number }).index, objectiveOf(plan)));
    await mkdir(options.out, { recursive: true });
    if (shard.count > 1) {
      const shardFile: ShardFile = { format: 'kmesim-plan-shard/1', plan: plan.name, planHash, shard, runs };
      const path = join(options.out, `plan-shard-${shard.index}-of-${shard.count}.json`);
      await writeFile(path, `${JSON.stringify(shardFile)}\n`);
      print(`shard: ${path} (join the shards with: kmesim plan ${file} --merge DIR…)`);
      return 0;
    }
  }

  const result = summarizePlan(plan, points, runs);
  await mkdir(options.out, { recursive: true });
  await writeFile(join(options.out, 'plan.json'), renderPlanJson(result));
  await writeFile(join(options.out, 'plan.md'), renderPlanMarkdown(result));
  await writeFile(join(options.out, 'plan.html'), renderPlanHtml(result));
  for (const line of recommendationLines(result)) print(`recommendation: ${line}`);
  // A point whose runs failed is written out as a scenario, so that `kmesim run` shows why.
  for (const [index, point] of result.points.entries()) {
    if (point.failedRuns === 0) continue;
    const pointFile = join(options.out, `point-${index + 1}.yaml`);
    await writeFile(pointFile, stringify(variants[index]));
    const seed = runs.find((run) => run.point === index && !run.passed)?.seed ?? 1;
    print(`warning: ${point.label}: ${point.failedRuns} of ${point.runs} run(s) failed; see why: npx kmesim run ${pointFile} --seed ${seed}`);
  }
  print(`reports: ${join(options.out, 'plan.html')} ${join(options.out, 'plan.md')} ${join(options.out, 'plan.json')}`);
  return 0;
}

function parseSeeds(value: string): number {
  const seeds = parseInteger('--seeds', value, 1);
  if (seeds > MAX_SEEDS) throw new UsageError(`--seeds must be at most ${MAX_SEEDS}, got "${value}"`);
  return seeds;
}

/** Reads every shard file in the folders, checks they belong to this plan and cover it once, and joins their runs. */
async function mergeShards(folders: readonly string[], plan: Plan, planHash: string, pointCount: number): Promise<PlanRun[]> {
  const runs: PlanRun[] = [];
  for (const folder of folders) {
    let names: string[];
    try {
      names = (await readdir(folder)).filter((name) => /^plan-shard-\d+-of-\d+\.json$/.test(name)).sort();
    } catch {
      throw new UsageError(`--merge: ${folder}: no such folder`);
    }
    if (names.length === 0) throw new UsageError(`--merge: ${folder}: no plan-shard-*.json in it`);
    for (const name of names) {
      const path = join(folder, name);
      let raw: unknown;
      try {
        raw = JSON.parse(await readFile(path, 'utf8'));
      } catch {
        throw new UsageError(`--merge: ${path}: not a plan shard`);
      }
      const parsed = shardSchema.safeParse(raw);
      if (!parsed.success) throw new UsageError(`--merge: ${path}: not a plan shard (${parsed.error.issues[0]?.path.join('.') || 'file'}: ${parsed.error.issues[0]?.message ?? 'invalid'})`);
      const shard = parsed.data;
      if (shard.planHash !== planHash) throw new UsageError(`--merge: ${path} is a shard of another plan (or of another version of this one)`);
      const stray = shard.runs.find((run) => run.point >= pointCount || run.seed > plan.seeds);
      if (stray !== undefined) throw new UsageError(`--merge: ${path}: a run (point ${stray.point}, seed ${stray.seed}) outside the plan's grid`);
      runs.push(...shard.runs);
    }
  }
  const keys = runs.map((run) => `${run.point}/${run.seed}`);
  if (new Set(keys).size !== keys.length) throw new UsageError('--merge: some runs appear in more than one shard');
  if (runs.length !== pointCount * plan.seeds) throw new UsageError(`--merge: the shards hold ${runs.length} of the plan's ${pointCount * plan.seeds} runs`);
  // The single-machine order: by point, then seed.
  return runs.sort((a, b) => a.point - b.point || a.seed - b.seed);
}
