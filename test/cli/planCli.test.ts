// `kmesim plan` as a user runs it: a plan file and its base scenario in a fresh folder, the compiled CLI
// (`node bin/kmesim.js`, built by `npm test`). Same plan, same seeds → the same plan.json bytes, in one
// thread, on two workers, or as two CI shards merged; bad input is one line and exit 2.
import { execFile } from 'node:child_process';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, expect, it } from 'vitest';

const ROOT = fileURLToPath(new URL('../..', import.meta.url));
const TIMEOUT_MS = 120_000;

function kmesim(...args: string[]): Promise<{ code: number; stdout: string; stderr: string }> {
  return new Promise((resolve, reject) => {
    execFile(process.execPath, ['bin/kmesim.js', ...args], { cwd: ROOT, timeout: TIMEOUT_MS }, (error, stdout, stderr) => {
      if (error !== null && typeof error.code !== 'number') return reject(error);
      resolve({ code: error === null ? 0 : (error.code as number), stdout, stderr });
    });
  });
}

let dir = '';
let plan = '';

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'kmesim-plan-'));
  await writeFile(
    join(dir, 'office.yaml'),
    [
      'name: office',
      'seeds: [1]',
      'duration: 6h',
      'liveness: { bound: 1d }',
      'world:',
      '  users: { count: 4 }',
      '  keySizeBits: 256',
      '  supply: { rate: 64, storeBits: 51200 }',
      '  sync: { latency: 1s }',
      'workload: { mailsPerUserPerDay: 200, messageBytes: { min: 10, max: 200 } }',
      '',
    ].join('\n'),
  );
  plan = join(dir, 'plan.yaml');
  await writeFile(plan, ['name: office-pools', 'scenario: office.yaml', 'seeds: 2', 'vary:', '  supplyRate: [8, 256]', '  poolCapacity: [4, 40]', 'objective: { keyWaitOver: 1m, atMost: 0.05 }', ''].join('\n'));
});

afterAll(async () => {
  await rm(dir, { recursive: true, force: true });
});

it('runs the grid, prints a recommendation per line of it, and writes plan.json and plan.md', async () => {
  const out = join(dir, 'one');
  const result = await kmesim('plan', plan, '--out', out);
  expect(result.stderr).toBe('');
  expect(result.code).toBe(0);
  expect(result.stdout).toMatch(/^kmesim plan .*plan\.yaml: 4 point\(s\) × 2 seed\(s\) = 8 run\(s\)\n/);
  expect(result.stdout).toMatch(/^recommendation: supplyRate=8: (pools of \d+ keys|no configuration tried meets the objective)$/m);
  expect(result.stdout).toMatch(/^recommendation: supplyRate=256: pools of (4|40) keys$/m);
  const json = JSON.parse(await readFile(join(out, 'plan.json'), 'utf8')) as { points: Array<{ runs: number; trials: number }> };
  expect(json.points).toHaveLength(4);
  expect(json.points.every((point) => point.runs === 2 && point.trials > 0)).toBe(true);
  expect(await readFile(join(out, 'plan.md'), 'utf8')).toMatch(/^# Plan office-pools\n/);
}, TIMEOUT_MS);

it('gives byte-identical results on two workers and as two merged shards', async () => {
  const single = await readFile(join(dir, 'one', 'plan.json'), 'utf8').catch(async () => {
    await kmesim('plan', plan, '--out', join(dir, 'one'));
    return readFile(join(dir, 'one', 'plan.json'), 'utf8');
  });
  expect((await kmesim('plan', plan, '--workers', '2', '--out', join(dir, 'two'))).code).toBe(0);
  expect(await readFile(join(dir, 'two', 'plan.json'), 'utf8')).toBe(single);
  for (const shard of ['1/2', '2/2']) {
    const result = await kmesim('plan', plan, '--shard', shard, '--out', join(dir, `shard-${shard[0]}`));
    expect(result.code).toBe(0);
    expect(result.stdout).toMatch(/^shard: .*plan-shard-\d-of-2\.json/m);
  }
  // One shard alone is not the plan.
  const partial = await kmesim('plan', plan, '--merge', join(dir, 'shard-1'), '--out', join(dir, 'partial'));
  expect(partial.code).toBe(2);
  expect(partial.stderr).toBe('kmesim: --merge: the shards hold 4 of the plan\'s 8 runs\n');
  const merged = await kmesim('plan', plan, '--merge', join(dir, 'shard-1'), '--merge', join(dir, 'shard-2'), '--out', join(dir, 'merged'));
  expect(merged.code).toBe(0);
  expect(await readFile(join(dir, 'merged', 'plan.json'), 'utf8')).toBe(single);
}, 3 * TIMEOUT_MS);

it('refuses a missing plan, a bad field and shards of another plan with one line and exit 2', async () => {
  const missing = await kmesim('plan', join(dir, 'nope.yaml'));
  expect(missing).toMatchObject({ code: 2, stdout: '' });
  expect(missing.stderr).toMatch(/^kmesim: .*nope\.yaml: no such file\n$/);
  const bad = join(dir, 'bad.yaml');
  await writeFile(bad, 'name: bad\nscenario: office.yaml\nseeds: 2\nvary: { poolCapacity: [4] }\nobjective: { keyWaitOver: 2m, atMost: 0.05 }\n');
  const refused = await kmesim('plan', bad);
  expect(refused.code).toBe(2);
  expect(refused.stderr).toBe('kmesim: ' + bad + ': objective.keyWaitOver: one of 1s, 10s, 1m, 10m, 1h\n');
  const broken = join(dir, 'broken');
  await rm(broken, { recursive: true, force: true });
  await import('node:fs/promises').then(({ mkdir }) => mkdir(broken));
  await writeFile(join(broken, 'plan-shard-1-of-2.json'), 'null\n');
  const notShard = await kmesim('plan', plan, '--merge', broken, '--out', join(dir, 'broken-out'));
  expect(notShard.code).toBe(2);
  expect(notShard.stderr).toMatch(/^kmesim: --merge: .*plan-shard-1-of-2\.json: not a plan shard/);
  const other = join(dir, 'other.yaml');
  await writeFile(other, (await readFile(plan, 'utf8')).replace('seeds: 2', 'seeds: 3'));
  const foreign = await kmesim('plan', other, '--merge', join(dir, 'shard-1'), '--out', join(dir, 'foreign'));
  expect(foreign.code).toBe(2);
  expect(foreign.stderr).toMatch(/^kmesim: --merge: .*plan-shard-1-of-2\.json is a shard of another plan/);
  for (const seeds of ['0', 'x', '10001']) {
    const wrong = await kmesim('plan', plan, '--seeds', seeds, '--out', join(dir, 'wrong-seeds'));
    expect(wrong).toMatchObject({ code: 2, stdout: '' });
    expect(wrong.stderr).toMatch(/^kmesim: --seeds must be (an integer ≥ 1|at most 10000), got "[^"]*"\n$/);
  }
  const noSupply = join(dir, 'no-supply.yaml');
  await writeFile(join(dir, 'endless.yaml'), 'name: endless\nseeds: [1]\nduration: 1h\nworld: { users: { count: 2 } }\n');
  await writeFile(noSupply, 'name: u\nscenario: endless.yaml\nseeds: 2\nvary: { initialBits: [0, 100] }\nobjective: { anyMessageDeferred: true, atMost: 0.1 }\n');
  const unfed = await kmesim('plan', noSupply, '--out', join(dir, 'unfed'));
  expect(unfed.code).toBe(2);
  expect(unfed.stderr).toMatch(/^kmesim: .*no-supply\.yaml: vary\.initialBits: the base scenario has no world\.supply/);
}, 3 * TIMEOUT_MS);

it('--seeds runs each point at seeds 1…n instead of the plan’s count', async () => {
  const out = join(dir, 'three-seeds');
  const result = await kmesim('plan', plan, '--seeds', '3', '--out', out);
  expect(result.code).toBe(0);
  expect(result.stdout).toMatch(/4 point\(s\) × 3 seed\(s\) = 12 run\(s\)/);
  const json = JSON.parse(await readFile(join(out, 'plan.json'), 'utf8')) as { seeds: number; points: Array<{ runs: number }> };
  expect(json.seeds).toBe(3);
  expect(json.points.map((point) => point.runs)).toEqual([3, 3, 3, 3]);
}, TIMEOUT_MS);

it('runs the README’s worked example and prints the recommendation the README shows', async () => {
  const readme = await readFile(join(ROOT, 'README.md'), 'utf8');
  const example = /```sh\n(npx kmesim plan plans\/small-org\.yaml[^\n]*)\n((?:# recommendation: [^\n]*\n)+)```/.exec(readme);
  expect(example).not.toBeNull();
  const shown = (example?.[2] ?? '').trim().split('\n').map((line) => line.replace(/^# /, ''));
  const args = (example?.[1] ?? '').replace(/^npx kmesim /, '').split(' ').map((arg) => (arg === 'reports/plan' ? join(dir, 'readme') : arg));
  const result = await kmesim(...args);
  expect(result.code).toBe(0);
  expect(result.stdout.split('\n').filter((line) => line.startsWith('recommendation: '))).toEqual(shown);
  expect(await readFile(join(dir, 'readme', 'plan.html'), 'utf8')).toMatch(/<title>Plan small-org<\/title>/);
}, TIMEOUT_MS);
