// `kmesim check` as a KME's authors run it, against the second KME pair started here: it writes no key
// byte anywhere, keeps its budget when the target hangs, leaves the target's pools alone unless told
// otherwise, and finds key material handed out again after a fresh start (--compare).
import { execFile } from 'node:child_process';
import { mkdtemp, readdir, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, afterEach, expect, it } from 'vitest';
import { stringify } from 'yaml';
import { startOtherKme, type OtherKmeOptions, type RunningOtherKme } from '../fixtures/otherKme/index.js';

const ROOT = fileURLToPath(new URL('../..', import.meta.url));
const running: RunningOtherKme[] = [];
const dirs: string[] = [];

afterEach(async () => {
  await Promise.all(running.splice(0).map((kme) => kme.close()));
});
afterAll(async () => {
  await Promise.all(dirs.map((dir) => rm(dir, { recursive: true, force: true })));
});

interface CliResult {
  readonly code: number;
  readonly stdout: string;
  readonly stderr: string;
  readonly wallMs: number;
}

function kmesim(args: readonly string[], env: NodeJS.ProcessEnv = {}): Promise<CliResult> {
  const started = performance.now();
  return new Promise((resolve, reject) => {
    execFile(process.execPath, ['bin/kmesim.js', ...args], { cwd: ROOT, timeout: 90_000, maxBuffer: 32 * 1024 * 1024, env: { ...process.env, ...env } }, (error, stdout, stderr) => {
      if (error !== null && typeof error.code !== 'number') return reject(error);
      resolve({ code: error === null ? 0 : (error.code as number), stdout, stderr, wallMs: performance.now() - started });
    });
  });
}

async function setUp(options: OtherKmeOptions = {}): Promise<{ kme: RunningOtherKme; dir: string; target: string }> {
  const dir = await mkdtemp(join(tmpdir(), 'kmesim-check-harm-'));
  dirs.push(dir);
  const kme = await startOtherKme(options);
  running.push(kme);
  const target = join(dir, 'target.yaml');
  await writeFile(target, stringify(kme.target));
  return { kme, dir, target };
}

/** Every file a check wrote, as text. */
async function writtenIn(dir: string): Promise<string> {
  const names = await readdir(dir, { recursive: true, withFileTypes: true });
  const texts = await Promise.all(names.filter((entry) => entry.isFile()).map((entry) => readFile(join(entry.parentPath, entry.name), 'utf8')));
  return texts.join('\n');
}

it('writes no byte of any key the target served: not to stdout, stderr or any report, in base64 or hex', async () => {
  // Bugs on, so that violations, transcripts, evidence and findings all have something to show.
  const { kme, dir, target } = await setUp({ defects: ['swap-bytes', 'wrong-master-accepted', 'crash-on-bad-json', 'dec-race'] });
  const result = await kmesim(['check', '--target', target, '--seed', '2', '--runs', '10', '--budget', '30s', '--destructive', '--out', join(dir, 'reports'), '--fingerprint-key', join(dir, 'fp.key')]);
  expect(result.code, result.stderr).toBe(1);
  const everything = `${result.stdout}\n${result.stderr}\n${await writtenIn(join(dir, 'reports'))}`;
  const served = kme.served();
  expect(served.length).toBeGreaterThan(100);
  const leaked = served.filter((material) => {
    const hex = Buffer.from(material, 'base64').toString('hex');
    return everything.includes(material) || everything.includes(material.replace(/=+$/, '')) || everything.includes(hex);
  });
  expect(leaked).toEqual([]);
  // The transcripts still say what came back: the size and a keyed hash in place of the bytes.
  expect(everything).toMatch(/<redacted \d+ bits #[0-9a-f]+/);
}, 120_000);

it('keeps a 20 s budget against a KME that stops answering after its 50th request: done within 30 s, exit 1, the hung request named', async () => {
  const { dir, target } = await setUp({ defects: ['hang-after'], hangAfter: 50 });
  const result = await kmesim(['check', '--target', target, '--seed', '1', '--runs', '25', '--budget', '20s', '--out', join(dir, 'reports')]);
  expect(result.code, result.stdout).toBe(1);
  expect(result.wallMs).toBeLessThan(30_000);
  expect(result.stdout).toMatch(/^finding \(hang\): KME-(ALPHA|BETA) did not answer (GET|POST) \/api\/v1\/keys\/\S+ within \d+ ms: the request was in flight when it stopped answering$/m);
}, 60_000);

it('leaves the target’s pools alone without --destructive, and says what it did not run and why', async () => {
  const { dir, target } = await setUp();
  const result = await kmesim(['check', '--target', target, '--seed', '1', '--runs', '3', '--budget', '20s', '--out', join(dir, 'reports')]);
  expect(result.code, result.stdout).toBe(0);
  expect(result.stdout).toMatch(/^not run: C14, C31 \(the drain\) \(drains a pool of the target .*--destructive/m);
  const report = JSON.parse(await readFile(join(dir, 'reports', 'check.json'), 'utf8')) as { destructive: boolean; conformance: Array<{ item: string; verdict: string; detail: string }> };
  expect(report.destructive).toBe(false);
  expect(report.conformance.find((result) => result.item === 'C14')).toMatchObject({ verdict: 'skip', detail: expect.stringMatching(/^not run/) });
}, 60_000);

it('flags key IDs and material that an earlier check of the same target was handed, after the target started afresh (--compare)', async () => {
  const first = await setUp({ defects: ['static-material'] });
  const key = join(first.dir, 'fp.key');
  const before = await kmesim(['check', '--target', first.target, '--seed', '1', '--runs', '3', '--budget', '20s', '--out', join(first.dir, 'before'), '--fingerprint-key', key]);
  expect(before.code, before.stdout).toBe(0);
  const fingerprints = await readFile(join(first.dir, 'before', 'check-fingerprints.json'), 'utf8');
  // Keyed hashes only: neither a key ID nor key material of the target is in the file.
  for (const material of first.kme.served()) expect(fingerprints).not.toContain(material);
  await first.kme.close();
  running.splice(0);

  // The same KME started again: it hands out the same keys in the same order.
  const again = await startOtherKme({ defects: ['static-material'] });
  running.push(again);
  await writeFile(first.target, stringify(again.target));
  const after = await kmesim(['check', '--target', first.target, '--seed', '1', '--runs', '3', '--budget', '20s', '--out', join(first.dir, 'after'), '--fingerprint-key', key, '--compare', join(first.dir, 'before')]);
  expect(after.code, after.stdout).toBe(1);
  expect(after.stdout).toMatch(/^I1 no-reuse: enc_keys delivered a key ID and key material that an earlier check of this target was already delivered/m);

  // A correct KME, restarted, is not flagged.
  const fresh = await setUp();
  const one = await kmesim(['check', '--target', fresh.target, '--seed', '1', '--runs', '3', '--budget', '20s', '--out', join(fresh.dir, 'one'), '--fingerprint-key', key]);
  expect(one.code, one.stdout).toBe(0);
  const two = await kmesim(['check', '--target', fresh.target, '--seed', '1', '--runs', '3', '--budget', '20s', '--out', join(fresh.dir, 'two'), '--fingerprint-key', key, '--compare', join(fresh.dir, 'one', 'check.json')]);
  expect(two.code, two.stdout).toBe(0);
}, 120_000);
