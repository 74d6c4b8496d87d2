// `kmesim run --merge` as a CI matrix uses it: two `--shard i/2` jobs write their reports, and merging them
// gives the runs a single machine gives for the whole selection, in the same order, with the same verdicts
// and fingerprints (only wall-clock figures differ); slices of another selection, a missing slice or a
// folder without a report are refused with one line and exit 2.
import { execFile } from 'node:child_process';
import { cp, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, expect, it } from 'vitest';

const ROOT = fileURLToPath(new URL('../..', import.meta.url));
const TIMEOUT_MS = 120_000;
const SCENARIO = 'scenarios/expiry.yaml';

function kmesim(...args: string[]): Promise<{ code: number; stdout: string; stderr: string }> {
  return new Promise((resolve, reject) => {
    execFile(process.execPath, ['bin/kmesim.js', ...args], { cwd: ROOT, timeout: TIMEOUT_MS }, (error, stdout, stderr) => {
      if (error !== null && typeof error.code !== 'number') return reject(error);
      resolve({ code: error === null ? 0 : (error.code as number), stdout, stderr });
    });
  });
}

/** The runs of a report.json without what the wall clock decides. */
async function runsOf(folder: string): Promise<unknown[]> {
  const report = JSON.parse(await readFile(join(folder, 'report.json'), 'utf8')) as { runs: Array<Record<string, unknown>> };
  return report.runs.map(({ wallMs: _wall, speed: _speed, ...rest }) => rest);
}

let dir = '';

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'kmesim-run-merge-'));
  const runs = await Promise.all([
    kmesim('run', SCENARIO, '--seeds', '5', '--out', join(dir, 'single')),
    kmesim('run', SCENARIO, '--seeds', '5', '--shard', '1/2', '--out', join(dir, 'a')),
    kmesim('run', SCENARIO, '--seeds', '5', '--shard', '2/2', '--out', join(dir, 'b')),
  ]);
  for (const run of runs) expect(run.code, run.stderr).toBe(0);
}, TIMEOUT_MS);

afterAll(async () => {
  await rm(dir, { recursive: true, force: true });
});

it('joins the slices into the runs one machine gives, in its order', { timeout: TIMEOUT_MS }, async () => {
  const merged = await kmesim('run', SCENARIO, '--seeds', '5', '--merge', join(dir, 'b'), '--merge', join(dir, 'a'), '--out', join(dir, 'merged'));
  expect(merged.stderr).toBe('');
  expect(merged.code).toBe(0);
  expect(merged.stdout).toMatch(/^kmesim run scenarios\/expiry\.yaml: 5 run\(s\) merged from 2 folder\(s\)\n/);
  expect(merged.stdout).toMatch(/^5\/5 runs passed$/m);
  const single = await runsOf(join(dir, 'single'));
  expect(single).toHaveLength(5);
  expect(await runsOf(join(dir, 'merged'))).toEqual(single);
  // Field for field in the same order: the runs as the shards wrote them.
  expect(JSON.stringify(await runsOf(join(dir, 'merged')))).toBe(JSON.stringify(single));
  // Every report format is written for the whole selection.
  const junit = await readFile(join(dir, 'merged', 'junit.xml'), 'utf8');
  expect(junit.match(/<testcase /g)).toHaveLength(5);
});

it('refuses slices of another selection, a missing slice and a folder without a report', { timeout: TIMEOUT_MS }, async () => {
  const other = await kmesim('run', SCENARIO, '--seeds', '4', '--merge', join(dir, 'a'), '--merge', join(dir, 'b'), '--out', join(dir, 'x1'));
  expect(other).toMatchObject({ code: 2, stdout: '' });
  expect(other.stderr).toMatch(/^kmesim: --merge: .*report\.json holds runs of another selection/);
  const missing = await kmesim('run', SCENARIO, '--seeds', '5', '--merge', join(dir, 'a'), '--out', join(dir, 'x2'));
  expect(missing.code).toBe(2);
  expect(missing.stderr).toBe('kmesim: --merge: slice(s) 2/2 missing\n');
  const twice = await kmesim('run', SCENARIO, '--seeds', '5', '--merge', join(dir, 'a'), '--merge', join(dir, 'a'), '--out', join(dir, 'x3'));
  expect(twice.stderr).toBe('kmesim: --merge: slice 1/2 appears more than once\n');
  const empty = await kmesim('run', SCENARIO, '--seeds', '5', '--merge', dir, '--out', join(dir, 'x4'));
  expect(empty.stderr).toMatch(/^kmesim: --merge: .*report\.json: no such file\n$/);
  const mixed = await kmesim('run', SCENARIO, '--seeds', '5', '--shard', '1/2', '--merge', join(dir, 'a'), '--out', join(dir, 'x5'));
  expect(mixed.code).toBe(2);
  expect(mixed.stderr).toBe('kmesim: --merge joins reports already run: give it without --shard, --trace or --check-determinism\n');
});

it('finds a shrunk scenario in the folder being merged, though the shard wrote it elsewhere, and points the run to its copy', { timeout: TIMEOUT_MS }, async () => {
  // A CI artifact: slice 1's folder, downloaded somewhere else than the --out it was written to, with a
  // shrunk scenario beside its reports (as a failing run leaves one).
  const moved = join(dir, 'artifact-1');
  await cp(join(dir, 'a'), moved, { recursive: true });
  const report = JSON.parse(await readFile(join(moved, 'report.json'), 'utf8')) as { runs: Array<Record<string, unknown>> };
  const written = join(dir, 'gone', 'shrunk-expiry-seed1.yaml');
  (report.runs[0] as Record<string, unknown>)['shrunk'] = { file: written, repro: `npx kmesim run ${written} --seed 1`, scenarioYaml: 'name: x\n', shrinkRuns: 1, messages: 1, faults: 0, violation: null, events: [] };
  await writeFile(join(moved, 'report.json'), JSON.stringify(report));
  await writeFile(join(moved, 'shrunk-expiry-seed1.yaml'), 'name: shrunk\n');
  const out = join(dir, 'merged-artifacts');
  const merged = await kmesim('run', SCENARIO, '--seeds', '5', '--merge', moved, '--merge', join(dir, 'b'), '--out', out);
  expect(merged.stderr).toBe('');
  const first = (JSON.parse(await readFile(join(out, 'report.json'), 'utf8')) as { runs: Array<{ shrunk?: { file: string; repro: string } }> }).runs[0];
  expect(first?.shrunk?.file).toBe(join(out, 'shrunk-expiry-seed1.yaml'));
  expect(first?.shrunk?.repro).toBe(`npx kmesim run ${join(out, 'shrunk-expiry-seed1.yaml')} --seed 1`);
  expect(await readFile(join(out, 'shrunk-expiry-seed1.yaml'), 'utf8')).toBe('name: shrunk\n');
});

it('writes an empty slice when there are more slices than runs, and merges it with the others', { timeout: TIMEOUT_MS }, async () => {
  const slices = await Promise.all([1, 2, 3].map((i) => kmesim('run', SCENARIO, '--seeds', '2', '--shard', `${i}/3`, '--out', join(dir, `three-${i}`))));
  expect(slices.map((slice) => slice.code)).toEqual([0, 0, 0]);
  expect(slices[2]?.stdout).toMatch(/shard 3\/3 has none of the 2 run\(s\)/);
  // The target named another way (absolute, with ./) is the same selection.
  const merged = await kmesim('run', join(ROOT, SCENARIO), '--seeds', '2', ...[1, 2, 3].flatMap((i) => ['--merge', join(dir, `three-${i}`)]), '--out', join(dir, 'three'));
  expect(merged.stderr).toBe('');
  expect(merged.stdout).toMatch(/^2\/2 runs passed$/m);
});
