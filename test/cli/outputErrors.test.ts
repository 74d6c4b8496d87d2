// Paths the CLI cannot write and scenarios that name what their world lacks are usage errors, found
// before anything runs: `node bin/kmesim.js` (the compiled CLI in dist/, which `npm test` builds first)
// must exit 2 with one line on stderr naming the option or the file and field, print nothing on stdout
// (a run prints its first line only once it starts), and leave nothing behind.
import { execFile } from 'node:child_process';
import { mkdir, mkdtemp, readdir, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, afterEach, expect, it } from 'vitest';
import { createServeProcesses, ROOT } from '../support/serveProcess.js';

interface Exited {
  readonly code: number | null;
  readonly stdout: string;
  readonly stderr: string;
}

function kmesim(...args: string[]): Promise<Exited> {
  return new Promise((resolve, reject) => {
    execFile(process.execPath, ['bin/kmesim.js', ...args], { cwd: ROOT, timeout: 60_000 }, (error, stdout, stderr) => {
      if (error !== null && typeof error.code !== 'number') return reject(error);
      resolve({ code: error === null ? 0 : (error.code as number), stdout, stderr });
    });
  });
}

const processes = createServeProcesses();
const dirs: string[] = [];

afterEach(() => processes.stopAll());
afterAll(() => Promise.all(dirs.map((dir) => rm(dir, { recursive: true, force: true }))));

/** A fresh folder holding a regular file `file` and an empty folder `dir`. */
async function workspace(): Promise<string> {
  const dir = await mkdtemp(join(tmpdir(), 'kmesim-output-'));
  dirs.push(dir);
  await writeFile(join(dir, 'file'), 'not a folder\n');
  await mkdir(join(dir, 'dir'));
  return dir;
}

function escape(text: string): string {
  return text.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
}

function expectUsageError(result: Exited, says: RegExp): void {
  expect(result.code, result.stdout + result.stderr).toBe(2);
  expect(result.stdout).toBe('');
  const lines = result.stderr.replace(/\n$/, '').split('\n');
  expect(lines, result.stderr).toHaveLength(1);
  expect(lines[0]).toMatch(/^kmesim: /);
  expect(lines[0]).toMatch(says);
  expect(result.stderr).not.toMatch(/\n\s+at /);
}

const SCENARIO = 'scenarios/race-same-pool.yaml';

const RUN_CASES: ReadonlyArray<{ readonly what: string; readonly args: (dir: string) => string[]; readonly says: (dir: string) => RegExp }> = [
  {
    what: '--trace in a folder that does not exist',
    args: (dir) => ['--trace', join(dir, 'no', 'such', 't.jsonl'), '--out', join(dir, 'out')],
    says: (dir) => new RegExp(`^kmesim: --trace ${escape(join(dir, 'no', 'such', 't.jsonl'))}: no such directory `),
  },
  { what: '--trace naming a folder', args: (dir) => ['--trace', join(dir, 'dir'), '--out', join(dir, 'out')], says: () => /--trace .*: is a directory, not a file$/ },
  { what: '--trace under a regular file', args: (dir) => ['--trace', join(dir, 'file', 't.jsonl'), '--out', join(dir, 'out')], says: () => /--trace .*\/file is not a directory$/ },
  { what: '--out naming a regular file', args: (dir) => ['--out', join(dir, 'file')], says: (dir) => new RegExp(`^kmesim: --out ${escape(join(dir, 'file'))}: is a file, not a directory$`) },
  { what: '--out under a regular file', args: (dir) => ['--out', join(dir, 'file', 'reports')], says: () => /--out .*\/file is not a directory$/ },
];

for (const { what, args, says } of RUN_CASES) {
  it(`run exits 2 with one line, before running, for ${what}`, async () => {
    const dir = await workspace();
    expectUsageError(await kmesim('run', SCENARIO, '--seed', '1', ...args(dir)), says(dir));
    // Nothing written: no reports folder, no trace.
    expect((await readdir(dir)).sort()).toEqual(['dir', 'file']);
    expect(await readdir(join(dir, 'dir'))).toEqual([]);
  });
}

for (const [what, target, says] of [
  ['a folder that does not exist', (dir: string) => join(dir, 'no', 't.yaml'), /--write-target .*: no such directory /],
  ['a folder', (dir: string) => join(dir, 'dir'), /--write-target .*: is a directory, not a file$/],
] as const) {
  it(`serve exits 2 with one line, before it listens, for --write-target in ${what}`, async () => {
    const dir = await workspace();
    expectUsageError(await processes.serveToExit('--write-target', target(dir)), says);
  });
}

const HEADER = ['name: demo', 'seeds: [1]', 'duration: 2h'];

const SCENARIO_CASES: ReadonlyArray<{ readonly what: string; readonly lines: readonly string[]; readonly says: string }> = [
  {
    what: 'a link-down on a link the world does not have',
    lines: [...HEADER, 'world:', '  kmes: 2', '  users: {count: 3}', 'faults:', '  - {type: link-down, from: 10m, to: 1h, link: KME_A~KME_C}'],
    says: ':8:\\d+: faults\\.0\\.link: no link "KME_A~KME_C" in this world',
  },
  {
    what: 'a user on a KME index beyond the KMEs',
    lines: [...HEADER, 'world:', '  kmes: 2', '  users: [{name: alice, kme: 0}, {name: bob, kme: 5}]'],
    says: ':6:\\d+: world\\.users\\.1\\.kme: no KME with index 5',
  },
  {
    what: 'a kme-restart of a KME index beyond the KMEs',
    lines: [...HEADER, 'world:', '  kmes: 2', '  users: {count: 3}', 'faults:', '  - {type: kme-restart, at: 10m, kme: 7}'],
    says: ':8:\\d+: faults\\.0\\.kme: no KME with index 7',
  },
];

for (const { what, lines, says } of SCENARIO_CASES) {
  it(`run and serve --scenario exit 2 with one line naming the file, line and field for ${what}`, async () => {
    const dir = await workspace();
    const file = join(dir, 'scenario.yaml');
    await writeFile(file, `${lines.join('\n')}\n`);
    const pattern = new RegExp(`^kmesim: ${escape(file)}${says}`);
    expectUsageError(await kmesim('run', file, '--out', join(dir, 'out')), pattern);
    expectUsageError(await processes.serveToExit('--scenario', file), pattern);
    expect((await readdir(dir)).sort()).toEqual(['dir', 'file', 'scenario.yaml']);
  });
}
