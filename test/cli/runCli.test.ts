// Black-box tests of the `kmesim` command line: each test spawns `node bin/kmesim.js` (the compiled CLI
// in dist/, which `npm test` builds first) from the repo root, writes every output under a fresh temp
// folder, and judges the exit code (0 all held, 1 a violation, 2 a usage or scenario error), stdout,
// stderr and the files left behind.
import { execFile } from 'node:child_process';
import { copyFile, mkdtemp, readFile, rm, stat, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, expect, it } from 'vitest';
import { loadScenarios } from '../../src/sim/loadScenario.js';
import { runScenario } from '../../src/sim/runScenario.js';

const ROOT = fileURLToPath(new URL('../..', import.meta.url));
const TIMEOUT_MS = 90_000;

interface CliResult {
  readonly code: number;
  readonly stdout: string;
  readonly stderr: string;
}

function kmesim(...args: string[]): Promise<CliResult> {
  return new Promise((resolve, reject) => {
    execFile(process.execPath, ['bin/kmesim.js', ...args], { cwd: ROOT, timeout: TIMEOUT_MS, maxBuffer: 64 * 1024 * 1024 }, (error, stdout, stderr) => {
      if (error !== null && typeof error.code !== 'number') return reject(error);
      resolve({ code: error === null ? 0 : (error.code as number), stdout, stderr });
    });
  });
}

function linesOf(text: string): string[] {
  return text.replace(/\n$/, '').split('\n');
}

const tempDirs: string[] = [];
async function freshDir(): Promise<string> {
  const dir = await mkdtemp(join(tmpdir(), 'kmesim-cli-'));
  tempDirs.push(dir);
  return dir;
}

afterAll(async () => {
  await Promise.all(tempDirs.map((dir) => rm(dir, { recursive: true, force: true })));
});

const PARTIAL_CONSUME_REPRO = 'npx kmesim run scenarios/misbehaving-clients.yaml --seed 2 --bug partial-consume';

// Two tests read the same failing run (one its report, one the shrunk file it wrote): run it once.
let failingRun: Promise<CliResult & { out: string }> | undefined;
function runPartialConsume(): Promise<CliResult & { out: string }> {
  failingRun ??= freshDir().then(async (out) => ({ out, ...(await kmesim('run', 'scenarios/misbehaving-clients.yaml', '--seed', '2', '--bug', 'partial-consume', '--out', out)) }));
  return failingRun;
}

it('exits 0 and prints the summary table for a passing run', async () => {
  const out = await freshDir();
  const { code, stdout, stderr } = await kmesim('run', 'scenarios/race-same-pool.yaml', '--seed', '1', '--out', out);
  expect(code, stderr).toBe(0);
  expect(stdout).toMatch(/^kmesim run scenarios\/race-same-pool\.yaml: 1 run\(s\)$/m);
  expect(stdout).toMatch(/^scenario +seed +verdict +sent +decrypted\b.*\bfingerprint$/m);
  expect(stdout).toMatch(/^race-same-pool +1 +pass +\d+ +\d+\b/m);
  expect(stdout).toMatch(/^1\/1 runs passed$/m);
  expect(stdout).not.toMatch(/^FAIL|^repro:/m);
});

it('prints in its summary the fingerprint an in-process run of the same seed gives (I14 determinism)', async () => {
  const out = await freshDir();
  const [loaded] = await loadScenarios(join(ROOT, 'scenarios/race-same-pool.yaml'));
  if (loaded === undefined) throw new Error('no scenario in scenarios/race-same-pool.yaml');
  const { fingerprint } = runScenario(loaded.scenario, { seed: 1, file: 'scenarios/race-same-pool.yaml' });
  const { code, stdout } = await kmesim('run', 'scenarios/race-same-pool.yaml', '--seed', '1', '--out', out);
  expect(code).toBe(0);
  expect(stdout).toMatch(new RegExp(`^race-same-pool +1 +pass .* ${fingerprint.slice(0, 16)}$`, 'm'));
});

it('exits 1 for a bug it catches, naming the invariant, the events, the shrunk file and the repro on the last line (I7 all-or-nothing)', async () => {
  const { code, stdout, stderr } = await runPartialConsume();
  expect(code, stderr).toBe(1);
  expect(stdout).toMatch(/^FAIL misbehaving-clients seed 2$/m);
  expect(stdout).toMatch(/^ {2}I7 all-or-nothing: /m);
  expect(stdout).toMatch(/^ {2}evidence \(this run\): \{/m);
  expect(stdout).toMatch(/^ {2}evidence \(shrunk run\): I7 \{/m);
  expect(stdout).toMatch(/^ {2}events \(shrunk run\):\n( {4}\{.*\n)+/m);
  const shrunk = /^ {2}shrunk in \d+ runs? to .*: (\S+\.yaml)$/m.exec(stdout)?.[1];
  expect(shrunk, stdout).toBeDefined();
  expect((await stat(shrunk as string)).isFile()).toBe(true);
  expect(linesOf(stdout).at(-1)).toBe(`repro: ${PARTIAL_CONSUME_REPRO}`);
});

it('puts the shrunk run, its evidence, events, scenario and command in every report format', async () => {
  const { out } = await runPartialConsume();
  const run = (JSON.parse(await readFile(join(out, 'report.json'), 'utf8')) as { runs: Array<{ shrunk?: { file: string; scenarioYaml: string; violation: { invariant: string } | null; events: string[]; repro: string } }> }).runs[0];
  const shrunk = run?.shrunk;
  if (shrunk === undefined) throw new Error('report.json has no shrunk run');
  expect(shrunk.violation?.invariant).toBe('I7');
  expect(shrunk.events.length).toBeGreaterThan(0);
  expect(await readFile(shrunk.file, 'utf8')).toBe(shrunk.scenarioYaml);
  expect(shrunk.repro).toBe(`npx kmesim run ${shrunk.file} --seed 2 --bug partial-consume`);
  const summary = await readFile(join(out, 'summary.md'), 'utf8');
  expect(summary).toContain('### Shrunk');
  expect(summary).toContain('Evidence (shrunk run): **I7**');
  expect(summary).toContain(shrunk.events[0]);
  const junit = await readFile(join(out, 'junit.xml'), 'utf8');
  expect(junit).toContain('evidence (shrunk run): I7');
  expect(junit).toContain(`reproduce the shrunk run: ${shrunk.repro}`);
  const html = await readFile(join(out, 'index.html'), 'utf8');
  expect(html).toContain('<h3>Shrunk</h3>');
  expect(html).toContain('evidence (shrunk run)');
});

it('writes a shrunk scenario that still breaks I7 all-or-nothing at the same seed and bug', async () => {
  const { stdout, out } = await runPartialConsume();
  const shrunk = /^ {2}shrunk in \d+ runs? to .*: (\S+\.yaml)$/m.exec(stdout)?.[1];
  if (shrunk === undefined) throw new Error(`no shrunk file in:\n${stdout}`);
  const again = await kmesim('run', shrunk, '--seed', '2', '--bug', 'partial-consume', '--no-shrink', '--out', join(out, 'again'));
  expect(again.code, again.stderr).toBe(1);
  expect(again.stdout).toMatch(/^ {2}I7 all-or-nothing: /m);
  expect(again.stdout).not.toMatch(/shrunk in/);
  expect(linesOf(again.stdout).at(-1)).toBe(`repro: npx kmesim run ${shrunk} --seed 2 --bug partial-consume`);
});

it('writes byte-identical traces for the same run twice, and replay confirms the fingerprint (I14 determinism)', async () => {
  const out = await freshDir();
  const first = join(out, 'first.jsonl');
  const second = join(out, 'second.jsonl');
  for (const trace of [first, second]) {
    const run = await kmesim('run', 'scenarios/race-same-pool.yaml', '--seed', '1', '--trace', trace, '--out', out);
    expect(run.code, run.stderr).toBe(0);
    expect(run.stdout).toContain(`trace: ${trace}`);
  }
  const bytes = await readFile(first);
  expect(bytes.length).toBeGreaterThan(0);
  expect(bytes.equals(await readFile(second))).toBe(true);
  const replay = await kmesim('replay', first);
  expect(replay.code, replay.stdout + replay.stderr).toBe(0);
  expect(replay.stdout).toMatch(/fingerprint [0-9a-f]{64} confirmed/);
});

it('writes the same trace for three spellings of the scenario path and a copy elsewhere, and replays it with the file gone (I14 determinism)', async () => {
  const out = await freshDir();
  const copy = join(out, 'expiry.yaml');
  await copyFile(join(ROOT, 'scenarios', 'expiry.yaml'), copy);
  const spellings = ['scenarios/expiry.yaml', './scenarios/expiry.yaml', join(ROOT, 'scenarios', 'expiry.yaml'), copy];
  const traces = await Promise.all(
    spellings.map(async (spelling, i) => {
      const trace = join(out, `run-${i}.jsonl`);
      const run = await kmesim('run', spelling, '--seed', '1', '--trace', trace, '--out', join(out, `out-${i}`));
      expect(run.code, run.stderr).toBe(0);
      // The report still says where the file was; the trace does not.
      expect(await readFile(join(out, `out-${i}`, 'report.json'), 'utf8')).toContain(JSON.stringify(spelling));
      return readFile(trace);
    }),
  );
  for (const [i, bytes] of traces.entries()) expect(bytes.equals(traces[0] as Buffer), spellings[i]).toBe(true);
  await rm(copy);
  const replay = await kmesim('replay', join(out, 'run-3.jsonl'));
  expect(replay.code, replay.stdout + replay.stderr).toBe(0);
  expect(replay.stdout).toMatch(/fingerprint [0-9a-f]{64} confirmed \(expiry seed 1, passed\)/);
});

it('exits 1 with MISMATCH when replaying a tampered trace (I14 determinism)', async () => {
  const out = await freshDir();
  const trace = join(out, 'trace.jsonl');
  expect((await kmesim('run', 'scenarios/race-same-pool.yaml', '--seed', '1', '--trace', trace, '--out', out)).code).toBe(0);
  const lines = linesOf(await readFile(trace, 'utf8'));
  const index = Math.floor(lines.length / 2);
  const entry = JSON.parse(lines[index] as string) as { t: number };
  lines[index] = JSON.stringify({ ...entry, t: entry.t + 1 });
  const tampered = join(out, 'tampered.jsonl');
  await writeFile(tampered, `${lines.join('\n')}\n`);
  const replay = await kmesim('replay', tampered);
  expect(replay.code).toBe(1);
  expect(replay.stdout).toContain(`MISMATCH at line ${index + 1}`);
});

it('exits 0 and reports runs identical with --check-determinism on one worker (I14 determinism)', async () => {
  const out = await freshDir();
  const { code, stdout, stderr } = await kmesim('run', 'scenarios/race-same-pool.yaml', '--seed', '1', '--check-determinism', '--workers', '1', '--out', out);
  expect(code, stderr).toBe(0);
  expect(stdout).toMatch(/^determinism: 1\/1 runs identical\b/m);
  expect(stdout).not.toMatch(/^I14/m);
});

it('covers every run of a folder exactly once across --shard 1/2 and --shard 2/2', async () => {
  const dir = await freshDir();
  for (const name of ['expiry', 'misbehaving-clients', 'race-same-pool']) await copyFile(join(ROOT, 'scenarios', `${name}.yaml`), join(dir, `${name}.yaml`));
  const expected = (await loadScenarios(dir)).flatMap(({ file, scenario }) => scenario.seeds.map((seed) => `seed ${seed}: ${file}`));
  const shards = await Promise.all(['1', '2'].map((index) => kmesim('run', dir, '--shard', `${index}/2`, '--out', join(dir, `out-${index}`))));
  const listed = shards.map(({ code, stdout, stderr }) => {
    expect(code, stderr).toBe(0);
    return [...stdout.matchAll(/^seed \d+: .+$/gm)].map((match) => match[0]);
  });
  expect(listed[0]?.length).toBeGreaterThan(0);
  expect(listed[1]?.length).toBeGreaterThan(0);
  expect(listed.flat().sort()).toEqual([...expected].sort());
});

const USAGE_ERRORS: ReadonlyArray<{ what: string; args: (dir: string) => Promise<string[]>; says: (dir: string) => RegExp }> = [
  { what: 'an unknown bug name', args: async () => ['run', 'scenarios/race-same-pool.yaml', '--bug', 'no-such-bug'], says: () => /unknown bug switch "no-such-bug"/ },
  { what: 'a missing file', args: async (dir) => ['run', join(dir, 'missing.yaml')], says: (dir) => new RegExp(`${escape(join(dir, 'missing.yaml'))}: .*no such file`) },
  {
    what: 'a scenario with an error, naming file:line',
    args: async (dir) => {
      const file = join(dir, 'broken.yaml');
      await writeFile(file, ['name: broken', 'seeds: [1]', 'duration: 1h', 'world:', '  users: { count: 1 }', ''].join('\n'));
      return ['run', file];
    },
    says: (dir) => new RegExp(`${escape(join(dir, 'broken.yaml'))}:5:\\d+: world\\.users\\.count: `),
  },
  { what: '--shard 3/2', args: async () => ['run', 'scenarios/race-same-pool.yaml', '--shard', '3/2'], says: () => /--shard .*"3\/2"/ },
  { what: '--seed x', args: async () => ['run', 'scenarios/race-same-pool.yaml', '--seed', 'x'], says: () => /--seed .*"x"/ },
  { what: 'an unknown option', args: async () => ['run', 'scenarios/race-same-pool.yaml', '--no-such-option'], says: () => /--no-such-option/ },
];

function escape(text: string): string {
  return text.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
}

for (const { what, args, says } of USAGE_ERRORS) {
  it(`exits 2 with a one-line message on stderr for ${what}`, async () => {
    const dir = await freshDir();
    const { code, stdout, stderr } = await kmesim(...(await args(dir)), '--out', join(dir, 'out'));
    expect(code, stdout + stderr).toBe(2);
    expect(linesOf(stderr), stderr).toHaveLength(1);
    expect(stderr).toMatch(says(dir));
    expect(stdout).toBe('');
  });
}

it('writes index.html, report.json, summary.md and junit.xml with one testcase per run', async () => {
  const out = await freshDir();
  const { code, stdout, stderr } = await kmesim('run', 'scenarios/race-same-pool.yaml', '--out', out);
  expect(code, stderr).toBe(0);
  expect(stdout).toMatch(/^3\/3 runs passed$/m);
  for (const name of ['index.html', 'report.json', 'summary.md', 'junit.xml']) expect((await stat(join(out, name))).size, name).toBeGreaterThan(0);
  const junit = await readFile(join(out, 'junit.xml'), 'utf8');
  expect(junit.match(/<testcase\b/g)).toHaveLength(3);
  for (const seed of [1, 2, 3]) expect(junit).toContain(`<testcase name="seed ${seed}"`);
});

it('records in every report the whole command line, the version and, in a checkout, the commit', async () => {
  const out = join(await freshDir(), "it's here");
  const { code, stderr } = await kmesim('run', 'scenarios/expiry.yaml', '--seed', '2', '--no-shrink', '--out', out);
  expect(code, stderr).toBe(0);
  const version = (JSON.parse(await readFile(join(ROOT, 'package.json'), 'utf8')) as { version: string }).version;
  const build = new RegExp(`^kmesim ${version.replace(/\./g, '\\.')}( \\(commit [0-9a-f]{12}(, uncommitted changes)?\\))?$`);
  const command = `kmesim run scenarios/expiry.yaml --seed 2 --no-shrink --out '${out.replace("'", "'\\''")}'`;
  const meta = (JSON.parse(await readFile(join(out, 'report.json'), 'utf8')) as { meta: { command: string; build: string } }).meta;
  expect(meta.command).toBe(command);
  expect(meta.build).toMatch(build);
  const summary = await readFile(join(out, 'summary.md'), 'utf8');
  expect(summary).toContain(`- Command: \`${command}\``);
  expect(summary).toContain(`- Build: \`${meta.build}\``);
  expect(await readFile(join(out, 'junit.xml'), 'utf8')).toContain(`name="build" value="${meta.build}"`);
});
