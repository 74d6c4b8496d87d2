// `kmesim run TARGET --merge DIR…`: joins the report.json files that `run --shard i/n` jobs wrote (on one
// machine or in a CI matrix) into the reports one machine would have written for the whole selection: the
// same runs in the same order, with their verdicts, fingerprints and shrunk repros. The shards must be
// slices of the same selection (scenarios, seeds, bugs and build, hashed), cover it exactly once, and be
// asked for with the same target and options as the shards were run with.
import { copyFile, mkdir, readFile } from 'node:fs/promises';
import { basename, join } from 'node:path';
import { z } from 'zod';
import { REPORT_SCHEMA_VERSION } from '../sim/report/renderJson.js';
import type { ReportMeta } from '../sim/report/reportMeta.js';
import type { RunReport } from '../sim/runReport.js';
import { UsageError } from './usageError.js';

const count = z.number().int().min(0);
const reportFileSchema = z.object({
  schemaVersion: z.literal(REPORT_SCHEMA_VERSION),
  meta: z.object({ slice: z.object({ index: count.min(1), count: count.min(1), runs: count, selection: z.string() }).optional() }).passthrough(),
  runs: z.array(z.object({ scenario: z.string(), seed: count, file: z.string(), passed: z.boolean(), fingerprint: z.string() }).passthrough()),
});

/**
 * The runs of every shard in the folders, in the order a single machine runs the selection: run i of
 * the selection is run ⌊i / n⌋ of shard (i mod n) + 1, as `--shard` deals them out.
 */
export async function mergeRunReports(folders: readonly string[], slice: NonNullable<ReportMeta['slice']>, outDir: string): Promise<RunReport[]> {
  const shards = new Map<number, { readonly folder: string; readonly runs: RunReport[] }>();
  let count: number | undefined;
  for (const folder of folders) {
    const path = join(folder, 'report.json');
    let raw: unknown;
    try {
      raw = JSON.parse(await readFile(path, 'utf8'));
    } catch (error) {
      throw new UsageError(`--merge: ${path}: ${(error as NodeJS.ErrnoException).code === 'ENOENT' ? 'no such file' : 'not a report.json'}`);
    }
    const parsed = reportFileSchema.safeParse(raw);
    if (!parsed.success) throw new UsageError(`--merge: ${path}: not a kmesim run report (${parsed.error.issues[0]?.path.join('.') || 'file'}: ${parsed.error.issues[0]?.message ?? 'invalid'})`);
    const found = parsed.data.meta.slice;
    if (found === undefined) throw new UsageError(`--merge: ${path} was written without the slice it holds (by a kmesim older than run --merge): run the shards again`);
    if (found.selection !== slice.selection || found.runs !== slice.runs) {
      throw new UsageError(`--merge: ${path} holds runs of another selection (scenarios, seeds, bugs or build differ from this command's)`);
    }
    if (count !== undefined && found.count !== count) throw new UsageError(`--merge: ${path} is a slice of ${found.count}, the others of ${count}`);
    count = found.count;
    if (shards.has(found.index)) throw new UsageError(`--merge: slice ${found.index}/${found.count} appears more than once`);
    // The runs as the shard wrote them (the parse above only checks them), field order included.
    shards.set(found.index, { folder, runs: (raw as { runs: RunReport[] }).runs });
  }
  if (count === undefined) throw new UsageError('--merge: no folders given');
  const missing = Array.from({ length: count }, (_, i) => i + 1).filter((index) => !shards.has(index));
  if (missing.length > 0) throw new UsageError(`--merge: slice(s) ${missing.map((index) => `${index}/${count}`).join(', ')} missing`);
  const merged: Array<{ readonly run: RunReport; readonly folder: string }> = [];
  for (let i = 0; i < slice.runs; i++) {
    const shard = shards.get((i % count) + 1);
    const run = shard?.runs[Math.floor(i / count)];
    if (shard === undefined || run === undefined) throw new UsageError(`--merge: the slices hold fewer runs than the selection's ${slice.runs}`);
    merged.push({ run, folder: shard.folder });
  }
  const held = [...shards.values()].reduce((sum, shard) => sum + shard.runs.length, 0);
  if (held !== slice.runs) throw new UsageError(`--merge: the slices hold ${held} runs, the selection ${slice.runs}`);
  return Promise.all(merged.map(({ run, folder }) => withShrunkCopied(run, folder, outDir)));
}

/**
 * A shrunk scenario was written beside its shard's reports: it is copied beside the merged ones, and the
 * run points there. It is looked for in the folder being merged (a CI artifact may sit elsewhere than the
 * shard's --out), then where the shard wrote it.
 */
async function withShrunkCopied(run: RunReport, folder: string, outDir: string): Promise<RunReport> {
  const { shrunk } = run;
  if (shrunk === undefined) return run;
  const file = join(outDir, basename(shrunk.file));
  const from = [join(folder, basename(shrunk.file)), shrunk.file];
  await mkdir(outDir, { recursive: true });
  for (const source of from) {
    try {
      await copyFile(source, file);
      return { ...run, shrunk: { ...shrunk, file, repro: shrunk.repro.split(shrunk.file).join(file) } };
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code !== 'ENOENT') throw new UsageError(`--merge: cannot copy ${source} to ${file}: ${(error as Error).message}`);
    }
  }
  // Neither holds it any more: the run keeps pointing where it was written.
  return run;
}
