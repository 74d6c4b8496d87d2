// `kmesim serve` configured as a CI in another language configures it: KME and SAE IDs on the command line
// or in KMESIM_* environment variables alone (flags win), a ready file to poll, certificates under names a
// client can guess, and 401s that say why. Spawns the compiled CLI and talks to it with real fetch.
import { existsSync, readFileSync } from 'node:fs';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { request as httpsRequest } from 'node:https';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, afterEach, expect, it } from 'vitest';
import { call, createServeProcesses, decKeys, encKeys, keysOf, messageOf, urlOf, type Exited } from '../support/serveProcess.js';

const tempDirs: string[] = [];
const started: Array<ReturnType<typeof createServeProcesses>> = [];

function withEnv(env: Readonly<Record<string, string>>): ReturnType<typeof createServeProcesses> {
  // The test's own environment without any KMESIM_* a developer may have set, plus the variables given.
  const base = Object.fromEntries(Object.entries(process.env).filter(([name]) => !name.startsWith('KMESIM_')));
  const processes = createServeProcesses(['serve'], [], { ...base, ...env });
  started.push(processes);
  return processes;
}

afterEach(async () => {
  await Promise.all(started.splice(0).map((processes) => processes.stopAll()));
});

afterAll(async () => {
  await Promise.all(tempDirs.map((dir) => rm(dir, { recursive: true, force: true })));
});

async function freshDir(): Promise<string> {
  const dir = await mkdtemp(join(tmpdir(), 'kmesim-serve-config-'));
  tempDirs.push(dir);
  return dir;
}

function expectUsageError(result: Exited, expected: string | RegExp): void {
  expect(result.code, result.stderr).toBe(2);
  expect(result.stdout).toBe('');
  const lines = result.stderr.replace(/\n$/, '').split('\n');
  expect(lines).toHaveLength(1);
  if (typeof expected === 'string') expect(lines[0]).toBe(`kmesim: ${expected}`);
  else expect(lines[0]).toMatch(expected);
}

it('takes its KME IDs, SAEs, seed and ready file from the environment alone, and serves a key end to end', async () => {
  const dir = await freshDir();
  const readyFile = join(dir, 'ready.json');
  const { serve } = withEnv({ KMESIM_KME_ID: 'KME_NORTH,KME_SOUTH', KMESIM_SAE: 'alice@KME_NORTH, bob@KME_SOUTH,carol@KME_NORTH', KMESIM_SEED: '17', KMESIM_READY_FILE: readyFile });
  const { ready } = await serve();
  expect(ready.kmes.map((kme) => kme.id)).toEqual(['KME_NORTH', 'KME_SOUTH']);
  expect(ready.saes).toEqual([
    { id: 'alice', kme: 'KME_NORTH' },
    { id: 'bob', kme: 'KME_SOUTH' },
    { id: 'carol', kme: 'KME_NORTH' },
  ]);
  expect(ready.seed).toBe(17);
  // The ready file holds exactly the ready line.
  expect(JSON.parse(await readFile(readyFile, 'utf8'))).toEqual(ready);
  const north = urlOf(ready, 'KME_NORTH');
  const south = urlOf(ready, 'KME_SOUTH');
  const [key] = keysOf(await encKeys(north, 'alice', 'bob', { number: 1 }));
  expect(keysOf(await decKeys(south, 'bob', 'alice', [key?.key_ID as string]))).toEqual([key]);
  // The link between the two is named by their IDs.
  const state = (await call(`${ready.admin}/state`)).body as { links: Array<{ id: string }> };
  expect(state.links.map((link) => link.id)).toContain('KME_NORTH~KME_SOUTH');
});

it('takes an empty environment variable as unset and trims the others, and removes a stale ready file before it is ready', async () => {
  const dir = await freshDir();
  const readyFile = join(dir, 'ready.json');
  await writeFile(readyFile, '{"stale": true}\n');
  const { serve } = withEnv({ KMESIM_DB: '', KMESIM_CERT_DIR: '  ', KMESIM_PORT: ' 0 ', KMESIM_SEED: ' 12', KMESIM_READY_FILE: readyFile });
  const { child, ready } = await serve();
  expect(ready.db).toBeUndefined();
  expect(ready.seed).toBe(12);
  expect(JSON.parse(await readFile(readyFile, 'utf8'))).toEqual(ready);
  // Stopped, it takes its ready file away: a poller never reads a server that is gone.
  child.kill('SIGTERM');
  await new Promise((resolve) => child.once('exit', resolve));
  expect(existsSync(readyFile)).toBe(false);
});

it('lets a flag win over its environment variable', async () => {
  const { serve } = withEnv({ KMESIM_SEED: '5', KMESIM_KME_ID: 'KME_ENV', KMESIM_PROFILE: 'lenient' });
  const { ready } = await serve('--seed', '6', '--kme-id', 'KME_FLAG');
  expect(ready.seed).toBe(6);
  expect(ready.kmes.map((kme) => kme.id)).toEqual(['KME_FLAG']);
  expect(ready.profile).toBe('lenient');
  // Without --sae, two SAEs on the one KME, whatever its name.
  expect(ready.saes).toEqual([
    { id: 'SAE_A1', kme: 'KME_FLAG' },
    { id: 'SAE_A2', kme: 'KME_FLAG' },
  ]);
});

it('says why a 401 was given: an unknown SAE, an SAE of another KME, a caller not named as slave, no identity', async () => {
  const { serve } = withEnv({});
  const { ready } = await serve('--kmes', '2', '--seed', '3');
  const a = urlOf(ready, 'KME_A');
  const b = urlOf(ready, 'KME_B');
  const unknown = await encKeys(a, 'SAE_NOBODY', 'SAE_B1', { number: 1 });
  expect(unknown.status).toBe(401);
  expect(messageOf(unknown)).toBe('unauthorized: SAE_NOBODY is not an SAE known to KME_A');
  const elsewhere = await call(`${b}/api/v1/keys/SAE_B2/status`, { sae: 'SAE_A1' });
  expect(elsewhere.status).toBe(401);
  expect(messageOf(elsewhere)).toBe('unauthorized: SAE_A1 is attached to KME_A, not KME_B');
  const [key] = keysOf(await encKeys(a, 'SAE_A1', 'SAE_B1', { number: 1 }));
  const thief = await decKeys(b, 'SAE_B2', 'SAE_A1', [key?.key_ID as string]);
  expect(thief.status).toBe(401);
  expect(messageOf(thief)).toBe(`unauthorized: SAE_B2 is not named as a slave of key ${key?.key_ID as string}`);
  // The rightful slave still gets it: the refusal took nothing.
  expect(keysOf(await decKeys(b, 'SAE_B1', 'SAE_A1', [key?.key_ID as string]))).toEqual([key]);
  const anonymous = await call(`${a}/api/v1/keys/SAE_A2/status`);
  expect(anonymous.status).toBe(401);
  expect(messageOf(anonymous)).toBe('missing X-SAE-ID header');
});

const REFUSALS: ReadonlyArray<{ args: string[]; env?: Record<string, string>; error: string | RegExp }> = [
  { args: ['--sae', 'alice'], error: '--sae takes SAE_ID@KME_ID (e.g. SAE_1@KME_A), got "alice"' },
  { args: ['--sae', 'alice@KME_B'], error: 'SAE alice is attached to "KME_B", which this server does not run (its KMEs: KME_A)' },
  { args: ['--sae', 'alice@KME_A', '--sae', 'alice@KME_A'], error: 'SAE alice is given twice' },
  { args: ['--sae', 'pools@KME_A'], error: '"pools" is a reserved name and cannot be an SAE ID (a path segment of the per-user-pool routes, which match in any case)' },
  { args: ['--sae', 'KM@KME_A'], error: '"KM" is a reserved name and cannot be an SAE ID (a path segment of the per-user-pool routes, which match in any case)' },
  { args: ['--ready-file', ''], error: '--ready-file must not be empty' },
  { args: ['--cert-dir', ' '], error: '--cert-dir must not be empty' },
  { args: ['--scenario', 'scenarios/enc-dec-persistence.yaml', '--kmes', '1'], error: "the scenario's kme-restart fault cannot be played here: no KME 1 (KMEs: KME_A)" },
  { args: ['--sae', 'a/b@KME_A'], error: /^kmesim: SAE ID "a\/b": use 1 to 64 letters, digits/ },
  { args: ['--kme-id', 'A~B'], error: /^kmesim: KME ID "A~B": use 1 to 64 letters/ },
  { args: ['--kme-id', 'X', '--kme-id', 'Y', '--kme-id', 'Z'], error: 'a server runs 1 or 2 KMEs, got 3 KME IDs' },
  { args: ['--kmes', '2', '--kme-id', 'X'], error: '2 KMEs asked for, but 1 KME IDs given' },
  { args: ['--kme-id', 'X', '--scenario', 'scenarios/expiry.yaml'], error: '--kme-id and --sae cannot be combined with --scenario: the scenario names its KMEs and SAEs' },
  { args: [], env: { KMESIM_ALLOW_HEADER_AUTH: 'maybe' }, error: 'KMESIM_ALLOW_HEADER_AUTH must be 1, true, yes, on or 0, false, no, off, got "maybe"' },
  { args: [], env: { KMESIM_PROFILE: 'strcit' }, error: 'unknown profile "strcit" (known: strict, per-user-pool, next-door, lenient)' },
  { args: [], env: { KMESIM_PORT: 'eighty' }, error: '--port must be an integer ≥ 0, got "eighty" (from KMESIM_PORT)' },
  { args: [], env: { KMESIM_RETRY: 'twice' }, error: '--retry must be burn or idempotent, got "twice" (from KMESIM_RETRY)' },
  // A flag wins over the variable, and its refusal names the flag alone.
  { args: ['--retry', 'twice'], env: { KMESIM_RETRY: 'burn' }, error: '--retry must be burn or idempotent, got "twice"' },
];

for (const refusal of REFUSALS) {
  it(`refuses ${[...Object.entries(refusal.env ?? {}).map(([name, value]) => `${name}=${value}`), ...refusal.args].join(' ')} in one line, exit 2`, async () => {
    const { serveToExit } = withEnv(refusal.env ?? {});
    expectUsageError(await serveToExit(...refusal.args), refusal.error);
  });
}

it('makes mTLS certificates under names a client can guess, and they work', async () => {
  const dir = await freshDir();
  const { serve } = withEnv({ KMESIM_AUTH: 'mtls', KMESIM_CERT_DIR: dir, KMESIM_SAE: 'alice@KME_A,bob@KME_A' });
  const { ready } = await serve();
  for (const name of ['ca.pem', 'alice.pem', 'alice-key.pem', 'bob.pem', 'bob-key.pem']) expect(existsSync(join(dir, name)), name).toBe(true);
  expect(ready.certs?.saes['alice']).toEqual({ cert: join(dir, 'alice.pem'), key: join(dir, 'alice-key.pem') });
  const url = new URL(`${urlOf(ready, 'KME_A')}/api/v1/keys/bob/status`);
  const reply = await new Promise<{ status: number; body: string }>((resolve, reject) => {
    const req = httpsRequest(url, { ca: readFileSync(join(dir, 'ca.pem')), cert: readFileSync(join(dir, 'alice.pem')), key: readFileSync(join(dir, 'alice-key.pem')) }, (res) => {
      let body = '';
      res.setEncoding('utf8').on('data', (chunk: string) => (body += chunk));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, body }));
    });
    req.on('error', reject);
    req.end();
  });
  expect(reply.status).toBe(200);
  expect(JSON.parse(reply.body)).toMatchObject({ master_SAE_ID: 'alice', slave_SAE_ID: 'bob' });
});

it('answers /health without a certificate in every auth mode, at the URL the ready line names', async () => {
  const dir = await freshDir();
  for (const env of [{ KMESIM_AUTH: 'mtls', KMESIM_CERT_DIR: dir, KMESIM_KMES: '2' }, { KMESIM_AUTH: 'header' }]) {
    const { serve } = withEnv(env);
    const { ready } = await serve();
    const health = (ready as unknown as { health: string }).health;
    // A CI probe with no certificate and no identity header.
    const reply = await fetch(health);
    expect(reply.status, env.KMESIM_AUTH).toBe(200);
    expect(await reply.json()).toMatchObject({ status: 'ok' });
    if (env.KMESIM_AUTH === 'mtls') {
      expect(health).toMatch(/^http:\/\/127\.0\.0\.1:\d+\/health$/);
      // Nothing else is served there, and the KMEs still refuse a connection without a certificate.
      expect((await fetch(health.replace('/health', '/api/v1/keys/SAE_A2/status'))).status).toBe(404);
      const handshake = await new Promise<string>((resolve) => {
        const req = httpsRequest(`${urlOf(ready, 'KME_A')}/health`, { ca: readFileSync(join(dir, 'ca.pem')) }, () => resolve('answered'));
        req.on('error', (error) => resolve(`refused: ${(error as NodeJS.ErrnoException).code ?? error.message}`));
        req.end();
      });
      expect(handshake).toMatch(/^refused/);
    }
  }
});


it('runs the Python example: serve started by environment variables alone, a key used end to end', async () => {
  const { execFile } = await import('node:child_process');
  const result = await new Promise<{ code: number; stdout: string; stderr: string }>((resolve, reject) => {
    const env = { ...process.env, KMESIM_COMMAND: `${process.execPath} bin/kmesim.js` };
    execFile('python3', ['examples/python/serve_from_env.py'], { cwd: join(import.meta.dirname, '..', '..'), env, timeout: 60_000 }, (error, stdout, stderr) => {
      if (error !== null && typeof error.code !== 'number') return reject(error);
      resolve({ code: error === null ? 0 : (error.code as number), stdout, stderr });
    });
  });
  expect(result.stderr).toBe('');
  expect(result.code).toBe(0);
  expect(result.stdout).toBe('ok: 2 keys from KME_PARIS reached mail-lyon on KME_LYON (seed 2024)\n');
}, 60_000);

it('documents in the README every environment variable serve reads', async () => {
  const { SERVE_ENV_NAMES } = await import('../../src/cli/serveOptions.js');
  const readme = readFileSync(join(import.meta.dirname, '..', '..', 'README.md'), 'utf8');
  expect(SERVE_ENV_NAMES.length).toBeGreaterThan(20);
  expect(SERVE_ENV_NAMES.filter((name) => !readme.includes(`\`${name}\``))).toEqual([]);
});
