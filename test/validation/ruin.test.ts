// The simulator against ruin theory (issue: capacity planning, validation "ruin"). With key produced at a
// constant rate c, messages arriving as a Poisson stream of rate λ, each needing an exponentially distributed
// amount of key of mean μ, no cap on what is stored, and u bits in store at the start, the probability that
// the store ever runs dry is the Cramér–Lundberg value
//   ψ(u) = (λμ/c) · exp(−(1/μ − λ/c) · u)
// (the compound Poisson model with exponential claims; e.g. Asmussen and Albrecher, "Ruin Probabilities",
// 2nd ed., 2010, chapter IV). The plan in plans/validation/ruin.yaml plays this model in the
// simulator: a run is ruined when a message finds too few keys at its first attempt. Each point's share of
// ruined runs must have ψ(u) inside its 99 % Wilson interval (the plan's confidence, chosen so that four points
// together miss by chance at most about 4 % of the time). CI size: 200 seeds a point; full size
// (`npm run validate`): the plan's 2,000.
import { execFile } from 'node:child_process';
import { mkdtemp, readFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { expect, it } from 'vitest';
import type { PlanResult } from '../../src/sim/plan/planResult.js';
import { bySize } from './validationSize.js';

const ROOT = fileURLToPath(new URL('../..', import.meta.url));
const LAMBDA_PER_SECOND = 1; // workload.mailsPerUserPerDay: 86,400 for the one sender
const MEAN_BITS = 1_024 * 8; // workload.messageBytes.mean
const SUPPLY_BITS_PER_SECOND = 16_384; // world.supply.rate

/** Cramér–Lundberg's probability of ruin from a reserve of u bits, for exponential demand. */
function ruinProbability(u: number): number {
  const load = (LAMBDA_PER_SECOND * MEAN_BITS) / SUPPLY_BITS_PER_SECOND;
  return load * Math.exp(-(1 / MEAN_BITS - LAMBDA_PER_SECOND / SUPPLY_BITS_PER_SECOND) * u);
}

it('the share of runs whose store runs dry matches ψ(u) at every starting level', { timeout: bySize(240_000, 3_600_000) }, async () => {
  const out = await mkdtemp(join(tmpdir(), 'kmesim-ruin-'));
  const seeds = bySize(200, 2_000);
  // The compiled CLI, as a user runs the plan (its worker threads load the build).
  const args = ['bin/kmesim.js', 'plan', 'plans/validation/ruin.yaml', '--seeds', String(seeds), ...bySize<string[]>([], ['--workers', '2']), '--out', out];
  const run = await new Promise<{ code: number; output: string }>((resolve) => {
    execFile(process.execPath, args, { cwd: ROOT }, (error, stdout, stderr) => resolve({ code: error === null ? 0 : Number(error.code), output: stdout + stderr }));
  });
  expect(run.code, run.output).toBe(0);
  const result = JSON.parse(await readFile(join(out, 'plan.json'), 'utf8')) as PlanResult;
  expect(result.points.map((point) => point.point.initialBits)).toEqual([0, 8_192, 16_384, 32_768]);
  const table = result.points.map((point) => ({ u: point.point.initialBits ?? 0, runs: point.trials, share: point.share, psi: ruinProbability(point.point.initialBits ?? 0), ...point.interval }));
  for (const row of table) {
    expect(row.runs).toBe(seeds);
    // The runs themselves broke nothing.
    expect(result.points.every((point) => point.failedRuns === 0)).toBe(true);
    expect(row.psi, JSON.stringify(row)).toBeGreaterThanOrEqual(row.low);
    expect(row.psi, JSON.stringify(row)).toBeLessThanOrEqual(row.high);
  }
  // The theory's values are not trivially inside wide intervals: ψ spans 0.07…0.5 and the shares fall with u.
  for (let i = 1; i < table.length; i++) expect((table[i] as { share: number }).share).toBeLessThan((table[i - 1] as { share: number }).share);
  console.log(table.map((row) => `u=${row.u} runs=${row.runs} share=${row.share.toFixed(4)} psi=${row.psi.toFixed(4)} interval=${row.low.toFixed(4)}…${row.high.toFixed(4)}`).join('\n'));
});
