// The check command's new options, up to the point where the first request would be sent: where the
// fingerprint key comes from (flag, then KMESIM_FINGERPRINT_KEY, then the default file), and that a bad
// key or a bad --compare path is a one-line usage error (exit 2) before anything reaches the target.
import { mkdtemp, readFile, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, expect, it, vi } from 'vitest';
import { resolveFingerprintKey } from '../../src/cli/checkCommand.js';
import { runCli } from '../../src/cli/main.js';

const ENV_KEY = 'aa'.repeat(16);

afterEach(() => {
  vi.restoreAllMocks();
  vi.unstubAllEnvs();
});

async function tempDir(): Promise<string> {
  return mkdtemp(join(tmpdir(), 'kmesim-check-options-'));
}

/** A target whose only KME nobody answers at: the tests must stop before a request is sent. */
async function writeTarget(dir: string): Promise<string> {
  const file = join(dir, 'target.yaml');
  await writeFile(file, [
    'kmes:',
    '  - { id: KME_1, url: "http://127.0.0.1:9" }',
    'saes:',
    '  - { id: SAE_A, kme: KME_1, header: X-SAE-ID, value: SAE_A }',
    '  - { id: SAE_B, kme: KME_1, header: X-SAE-ID, value: SAE_B }',
    '',
  ].join('\n'));
  return file;
}

async function cli(...argv: string[]): Promise<{ code: number; stderr: string; stdout: string }> {
  let stderr = '';
  let stdout = '';
  vi.spyOn(process.stderr, 'write').mockImplementation((chunk: string | Uint8Array) => {
    stderr += String(chunk);
    return true;
  });
  vi.spyOn(process.stdout, 'write').mockImplementation((chunk: string | Uint8Array) => {
    stdout += String(chunk);
    return true;
  });
  const code = await runCli(argv);
  vi.restoreAllMocks();
  return { code, stderr, stdout };
}

it('takes the key from --fingerprint-key over the environment, and from the environment over the default file', async () => {
  const file = join(await tempDir(), 'my.key');
  const fromFlag = await resolveFingerprintKey(file, { KMESIM_FINGERPRINT_KEY: ENV_KEY });
  expect(fromFlag.secret.toString('hex')).toBe((await readFile(file, 'utf8')).trim());
  const fromEnv = await resolveFingerprintKey(undefined, { KMESIM_FINGERPRINT_KEY: ENV_KEY });
  expect(fromEnv.secret.toString('hex')).toBe(ENV_KEY);
});

it('refuses a bad fingerprint key in one line with exit 2, before sending anything', async () => {
  const dir = await tempDir();
  const target = await writeTarget(dir);
  vi.stubEnv('KMESIM_FINGERPRINT_KEY', 'abcd');
  const { code, stderr, stdout } = await cli('check', '--target', target, '--out', join(dir, 'out'));
  expect(code).toBe(2);
  expect(stderr).toMatch(/^kmesim: --fingerprint-key: KMESIM_FINGERPRINT_KEY: the fingerprint key has 2 bytes, at least 16 are needed\n$/);
  expect(stdout).toBe('');
});

it('refuses a --compare path that holds no fingerprints in one line with exit 2, before sending anything', async () => {
  const dir = await tempDir();
  const target = await writeTarget(dir);
  const key = join(dir, 'fingerprint.key');
  for (const compare of [join(dir, 'nowhere'), dir, target]) {
    const { code, stderr, stdout } = await cli('check', '--target', target, '--fingerprint-key', key, '--compare', compare, '--out', join(dir, 'out'));
    expect(code).toBe(2);
    expect(stderr).toMatch(/^kmesim: --compare: .+\n$/);
    expect(stderr.trimEnd()).not.toContain('\n');
    expect(stdout).toBe('');
  }
});

it('refuses a negative or non-numeric --replays', async () => {
  const dir = await tempDir();
  const target = await writeTarget(dir);
  const { code, stderr } = await cli('check', '--target', target, '--replays', 'many', '--fingerprint-key', join(dir, 'k'));
  expect(code).toBe(2);
  expect(stderr).toBe('kmesim: --replays must be an integer ≥ 0, got "many"\n');
});
