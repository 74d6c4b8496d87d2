// Black-box tests of `kmesim serve` as a client's CI runs it: each test spawns `node bin/kmesim.js serve …`
// (the compiled CLI in dist/, which `npm test` builds first) from the repo root, reads the one JSON ready
// line from stdout, talks to the KMEs with real fetch on 127.0.0.1, and kills every child it started.
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { createServer, type AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, afterEach, expect, it } from 'vitest';
import { parse } from 'yaml';
import { call, createServeProcesses, decKeys, encKeys, exitOf, keysOf, messageOf, stopServed, urlOf, type Exited, type Key, type ReadyLine } from '../support/serveProcess.js';

const SPEC_NOT_FOUND = 'one or more keys specified are not found on KME';

const processes = createServeProcesses();
const { serve, serveToExit } = processes;
const tempDirs: string[] = [];

afterEach(() => processes.stopAll());

afterAll(async () => {
  await Promise.all(tempDirs.map((dir) => rm(dir, { recursive: true, force: true })));
});

async function freshDir(): Promise<string> {
  const dir = await mkdtemp(join(tmpdir(), 'kmesim-serve-'));
  tempDirs.push(dir);
  return dir;
}

function expectReadyLine(ready: ReadyLine, kmeCount: number): void {
  expect(ready.kmes.map((kme) => kme.id)).toEqual(['KME_A', 'KME_B'].slice(0, kmeCount));
  for (const kme of ready.kmes) {
    expect(kme.url).toMatch(/^http:\/\/127\.0\.0\.1:\d+$/);
    expect(ready.saes.filter((sae) => sae.kme === kme.id).length).toBeGreaterThanOrEqual(2);
  }
  expect(new Set(ready.saes.map((sae) => sae.id)).size).toBe(ready.saes.length);
  expect(Number.isSafeInteger(ready.seed) && ready.seed >= 0).toBe(true);
  expect(ready.profile).toBe('strict');
  expect(ready.auth).toBe('header');
  expect(ready.admin).toBe(`${ready.kmes[0]?.url}/_kmesim`);
  // On loopback the admin API needs no token, so none is printed.
  expect(ready.adminToken).toBeUndefined();
}

function expectUsageError(result: Exited, pattern: RegExp): void {
  expect(result.code, result.stderr).toBe(2);
  expect(result.stdout).toBe('');
  const lines = result.stderr.replace(/\n$/, '').split('\n');
  expect(lines).toHaveLength(1);
  expect(lines[0]).toMatch(/^kmesim: /);
  expect(lines[0]).toMatch(pattern);
}

for (const kmeCount of [1, 2]) {
  it(`prints exactly one JSON ready line with kmes, saes, seed, profile, auth and admin for --kmes ${kmeCount}`, async () => {
    const { child, ready, stdout } = await serve('--kmes', String(kmeCount));
    expectReadyLine(ready, kmeCount);
    for (const kme of ready.kmes) {
      const health = await call(`${kme.url}/health`);
      expect(health).toEqual({ status: 200, body: { status: 'ok', kme_id: kme.id } });
    }
    const state = await call(`${ready.admin}/state`);
    expect((state.body as { saes: unknown }).saes).toEqual(ready.saes);
    child.kill('SIGTERM');
    expect((await exitOf(child)).code).toBe(0);
    const lines = stdout().split('\n');
    expect(lines).toHaveLength(2);
    expect(lines[1]).toBe('');
  });
}

it('serves the same key IDs and bytes for the same seed and request sequence, and others for another seed (I14 determinism)', async () => {
  const playSequence = async (ready: ReadyLine): Promise<Key[]> => {
    const a = urlOf(ready, 'KME_A');
    const b = urlOf(ready, 'KME_B');
    const keys = [
      ...keysOf(await encKeys(a, 'SAE_A1', 'SAE_A2', { number: 3 })),
      ...keysOf(await call(`${a}/api/v1/keys/SAE_B1/enc_keys?number=2&size=512`, { sae: 'SAE_A1' })),
      ...keysOf(await encKeys(b, 'SAE_B2', 'SAE_A1', {})),
    ];
    const first = keys[3] as Key;
    expect(keysOf(await decKeys(b, 'SAE_B1', 'SAE_A1', [first.key_ID]))).toEqual([first]);
    return keys;
  };
  const [first, second, other] = await Promise.all([serve('--kmes', '2', '--seed', '9'), serve('--kmes', '2', '--seed', '9'), serve('--kmes', '2', '--seed', '10')]);
  expect(first.ready.seed).toBe(9);
  const [keysFirst, keysSecond, keysOther] = await Promise.all([playSequence(first.ready), playSequence(second.ready), playSequence(other.ready)]);
  expect(keysFirst).toHaveLength(6);
  expect(keysSecond).toEqual(keysFirst);
  const seen = new Set(keysFirst.flatMap((key) => [key.key_ID, key.key]));
  expect(keysOther.filter((key) => seen.has(key.key_ID) || seen.has(key.key))).toEqual([]);
});

it('exits 0 promptly on SIGTERM, even with a client connection open, and closes every port', async () => {
  const { child, ready } = await serve('--kmes', '2');
  for (const kme of ready.kmes) expect((await call(`${kme.url}/api/v1/keys/SAE_A2/status`, { sae: 'SAE_A1' })).status).toBeLessThan(500);
  const started = performance.now();
  child.kill('SIGTERM');
  const { code, signal } = await exitOf(child);
  expect({ code, signal }).toEqual({ code: 0, signal: null });
  expect(performance.now() - started).toBeLessThan(3_000);
  for (const kme of ready.kmes) await expect(fetch(`${kme.url}/health`)).rejects.toThrow();
});

it('writes a YAML target file with the KMEs and, per SAE, the header and the value that identify it', async () => {
  const target = join(await freshDir(), 'target.yaml');
  const { ready } = await serve('--kmes', '2', '--write-target', target);
  const text = await readFile(target, 'utf8');
  expect(text).toMatch(new RegExp(`^# Written by kmesim serve \\(seed ${ready.seed}\\)`));
  const parsed = parse(text) as { kmes: unknown; saes: unknown; profile: string };
  expect(parsed.kmes).toEqual(ready.kmes);
  expect(parsed.saes).toEqual(ready.saes.map((sae) => ({ id: sae.id, kme: sae.kme, header: 'X-SAE-ID', value: sae.id })));
  expect(parsed.profile).toBe('strict');
});

it('serves qk_ key IDs of 8192 bits and the register, refill, pools, km and delete routes under --profile per-user-pool', async () => {
  const { ready } = await serve('--profile', 'per-user-pool', '--sync-latency', '20');
  expect(ready.profile).toBe('per-user-pool');
  const a = urlOf(ready, 'KME_A');
  const [key] = keysOf(await encKeys(a, 'SAE_A1', 'SAE_A2'));
  expect(key?.key_ID).toMatch(/^qk_SAE_A2_\d{6}$/);
  expect(Buffer.from(key?.key ?? '', 'base64')).toHaveLength(1024);

  const registered = await call(`${a}/api/v1/keys/register`, { method: 'POST', body: { sae_id: 'SAE_NEW', display_name: 'New', user_email: 'new@example.org', initial_pool_size: 50 } });
  expect(registered.status).toBe(200);
  expect(registered.body).toMatchObject({ sae_id: 'SAE_NEW', kme_id: 'KME_A', pools: [{ sae_id: 'SAE_NEW', available_keys: 50, pool_size_limit: 50 }] });
  const delivered = keysOf(await encKeys(a, 'SAE_A1', 'SAE_NEW', { number: 10 }));
  expect(delivered.map((k) => k.key_ID)).toEqual(Array.from({ length: 10 }, (_, i) => `qk_SAE_NEW_${String(i + 1).padStart(6, '0')}`));

  const poolOf = async (saeId: string): Promise<{ available_keys: number } | undefined> =>
    ((await call(`${a}/api/v1/keys/pools`)).body as { pools: Array<{ sae_id: string; available_keys: number }> }).pools.find((pool) => pool.sae_id === saeId);
  expect((await poolOf('SAE_NEW'))?.available_keys).toBe(40);
  // Refill and delete act on one SAE's keys: nobody else may ask.
  // Each 401 says why.
  expect(await call(`${a}/api/v1/keys/SAE_NEW/refill`, { method: 'POST', sae: 'SAE_A1', body: {} })).toEqual({ status: 401, body: { message: 'unauthorized: only SAE_NEW may refill its own pool' } });
  expect(await call(`${a}/api/v1/keys/SAE_NEW`, { method: 'DELETE', sae: 'SAE_A1' })).toEqual({ status: 401, body: { message: 'unauthorized: only SAE_NEW may delete itself' } });
  expect(await call(`${a}/api/v1/keys/km/sync`, { method: 'POST', body: {} })).toEqual({ status: 401, body: { message: 'unauthorized: the caller is not identified' } });
  expect(await call(`${a}/api/v1/keys/km/sync`, { method: 'POST', sae: 'SAE_NOBODY', body: {} })).toEqual({ status: 401, body: { message: 'unauthorized: SAE_NOBODY is not an SAE known to KME_A' } });
  const refill = await call(`${a}/api/v1/keys/SAE_NEW/refill`, { method: 'POST', sae: 'SAE_NEW', body: {} });
  expect(refill).toEqual({ status: 200, body: { sae_id: 'SAE_NEW', syncs_started: 1 } });
  for (let tries = 0; tries < 100 && (await poolOf('SAE_NEW'))?.available_keys !== 50; tries++) await new Promise((resolve) => setTimeout(resolve, 20));
  expect((await poolOf('SAE_NEW'))?.available_keys).toBe(50);

  const km = await call(`${a}/api/v1/keys/km/status`);
  expect(km.status).toBe(200);
  expect(km.body).toMatchObject({ kme_id: 'KME_A', links: [{ link: 'KME_A~KME_A', remote: 'online' }], pools: 3 });
  expect((await call(`${a}/api/v1/keys/km/sync`, { method: 'POST', sae: 'SAE_A1', body: {} })).status).toBe(200);

  expect(await call(`${a}/api/v1/keys/SAE_NEW`, { method: 'DELETE', sae: 'SAE_NEW' })).toEqual({ status: 200, body: { sae_id: 'SAE_NEW', deleted: true } });
  expect(await poolOf('SAE_NEW')).toBeUndefined();
  expect((await encKeys(a, 'SAE_A1', 'SAE_NEW')).status).toBe(400);
  const state = (await call(`${ready.admin}/state`)).body as { pools: Array<{ slave: string; stored: number; reserved: number; deleted: boolean }> };
  expect(state.pools.find((pool) => pool.slave === 'SAE_NEW')).toMatchObject({ stored: 0, reserved: 0, deleted: true });
  // Registered again, it gets its old pool back: the keys delivered before the delete stay gone (I2 ends
  // with the SAE), and new key IDs continue the sequence, never repeating an old one (I1).
  expect((await call(`${a}/api/v1/keys/register`, { method: 'POST', body: { sae_id: 'SAE_NEW' } })).status).toBe(200);
  const refused = await decKeys(a, 'SAE_NEW', 'SAE_A1', [delivered[0]?.key_ID ?? '']);
  expect(refused).toEqual({ status: 400, body: { message: SPEC_NOT_FOUND, details: [{ key_ID: delivered[0]?.key_ID }] } });
  const [fresh] = keysOf(await encKeys(a, 'SAE_A1', 'SAE_NEW'));
  expect(delivered.map((k) => k.key_ID)).not.toContain(fresh?.key_ID);
});

it('refuses to register an SAE under a reserved name such as km with 400', async () => {
  const { ready } = await serve('--profile', 'per-user-pool');
  const a = urlOf(ready, 'KME_A');
  const reply = await call(`${a}/api/v1/keys/register`, { method: 'POST', body: { sae_id: 'km' } });
  expect(reply.status).toBe(400);
  expect(messageOf(reply)).toMatch(/reserved/);
  const saes = ((await call(`${ready.admin}/state`)).body as { saes: Array<{ id: string }> }).saes.map((sae) => sae.id);
  expect(saes).not.toContain('km');
});

it('answers a second dec_keys with the same key and a missing key with 404 Key not found under --profile lenient', async () => {
  const { ready } = await serve('--profile', 'lenient');
  expect(ready.profile).toBe('lenient');
  const a = urlOf(ready, 'KME_A');
  const [key] = keysOf(await encKeys(a, 'SAE_A1', 'SAE_A2'));
  const ids = [key?.key_ID ?? ''];
  expect(keysOf(await decKeys(a, 'SAE_A2', 'SAE_A1', ids))).toEqual([key]);
  expect(keysOf(await decKeys(a, 'SAE_A2', 'SAE_A1', ids))).toEqual([key]);
  const missing = await decKeys(a, 'SAE_A2', 'SAE_A1', ['00000000-0000-4000-8000-000000000000']);
  expect(missing.status).toBe(404);
  expect(messageOf(missing)).toBe('Key not found');
});

it('serves the SAEs of a --scenario file, and keys flow between them', async () => {
  const { ready } = await serve('--scenario', 'scenarios/remote-outage.yaml', '--seed', '1');
  expect(ready.saes.map((sae) => sae.id)).toEqual(Array.from({ length: 8 }, (_, i) => `SAE_0000${i + 1}`));
  expect(new Set(ready.saes.map((sae) => sae.kme))).toEqual(new Set(ready.kmes.map((kme) => kme.id)));
  const [master, slave] = ready.saes.filter((sae) => sae.kme === 'KME_A');
  if (master === undefined || slave === undefined) throw new Error('expected two SAEs on KME_A');
  const a = urlOf(ready, 'KME_A');
  const [key] = keysOf(await encKeys(a, master.id, slave.id));
  expect(keysOf(await decKeys(a, slave.id, master.id, [key?.key_ID ?? '']))).toEqual([key]);
});

it('serves as many KMEs as its --scenario file has when --kmes is not given', async () => {
  const { ready } = await serve('--scenario', 'scenarios/enc-dec-persistence.yaml', '--seed', '1');
  expect(ready.kmes.map((kme) => kme.id)).toEqual(['KME_A', 'KME_B']);
  const [onA, onB] = [ready.saes.find((sae) => sae.kme === 'KME_A'), ready.saes.find((sae) => sae.kme === 'KME_B')];
  if (onA === undefined || onB === undefined) throw new Error('expected an SAE on each KME');
  const [key] = keysOf(await encKeys(urlOf(ready, 'KME_A'), onA.id, onB.id));
  expect(keysOf(await decKeys(urlOf(ready, 'KME_B'), onB.id, onA.id, [key?.key_ID ?? '']))).toEqual([key]);
});

// Regression: `--profile` once defaulted to 'strict' in commander, which hid the scenario's own settings.
it('serves the key size and pool capacity of a --scenario file', async () => {
  const { ready } = await serve('--scenario', 'scenarios/remote-outage.yaml', '--seed', '1');
  const a = urlOf(ready, 'KME_A');
  const status = await call(`${a}/api/v1/keys/SAE_00002/status`, { sae: 'SAE_00001' });
  expect(status.body).toMatchObject({ key_size: 8192, max_key_count: 200, stored_key_count: 200 });
});

it('answers a repeated dec_keys with the same keys under --retry idempotent, and refuses it by default', async () => {
  for (const args of [['--retry', 'idempotent', '--retry-grace', '60000'], []]) {
    const { ready } = await serve(...args);
    const a = urlOf(ready, 'KME_A');
    const sent = (await call(`${a}/api/v1/keys/SAE_A2/enc_keys`, { sae: 'SAE_A1' })).body as { keys: Array<{ key_ID: string }> };
    const ask = (): ReturnType<typeof call> => call(`${a}/api/v1/keys/SAE_A1/dec_keys?key_ID=${sent.keys[0]?.key_ID}`, { sae: 'SAE_A2' });
    const first = await ask();
    expect(first.status).toBe(200);
    expect(await ask()).toEqual(args.length === 0 ? expect.objectContaining({ status: 400 }) : first);
  }
});

const USAGE_ERRORS: ReadonlyArray<{ readonly args: readonly string[]; readonly stderr: RegExp }> = [
  { args: ['--kmes', '3'], stderr: /--kmes must be 1 or 2/ },
  { args: ['--profile', 'nope'], stderr: /unknown profile "nope"/ },
  { args: ['--auth', 'x'], stderr: /--auth must be header or mtls/ },
  { args: ['--bug', 'nope'], stderr: /unknown bug switch "nope"/ },
  { args: ['--port', '70000'], stderr: /--port must be at most 6553[45], got 70000/ },
  // The second KME takes the next port, which 65536 is not.
  { args: ['--kmes', '2', '--port', '65535'], stderr: /--port must be at most 65534/ },
  { args: ['--host', '0.0.0.0'], stderr: /header authentication .*--allow-header-auth/ },
  { args: ['--log-level', 'verbose'], stderr: /--log-level must be one of fatal, error, warn, info, debug, trace, silent, got "verbose"/ },
  { args: ['--retry', 'sometimes'], stderr: /--retry must be burn or idempotent, got "sometimes"/ },
  { args: ['--retry', 'idempotent', '--retry-grace', '-5'], stderr: /--retry-grace must be an integer ≥ 0, got "-5"/ },
  { args: ['--retry-grace', '5000'], stderr: /--retry-grace needs --retry idempotent/ },
];

for (const { args, stderr } of USAGE_ERRORS) {
  it(`exits 2 with one line on stderr for ${args.join(' ')}`, async () => {
    expectUsageError(await serveToExit(...args), stderr);
  });
}

it('starts header auth on 0.0.0.0 with --allow-header-auth, and the admin API answers a loopback caller without its token', async () => {
  const { ready } = await serve('--host', '0.0.0.0', '--allow-header-auth');
  // Bound to every address, it advertises the one a client on this machine can use.
  expect(ready.kmes[0]?.url).toMatch(/^http:\/\/127\.0\.0\.1:\d+$/);
  // Beyond loopback the admin API needs a token, so the ready line prints it.
  expect(ready.adminToken).toMatch(/^[0-9a-f]{32}$/);
  const a = urlOf(ready, 'KME_A');
  // isLoopback judges the caller's address, not the bound one: 127.0.0.1 needs no token.
  const state = await call(`${a}/_kmesim/state`);
  expect(state.status).toBe(200);
  expect((state.body as { kmes: unknown }).kmes).toEqual(['KME_A']);
  expect((await call(`${a}/api/v1/keys/SAE_A2/status`, { sae: 'SAE_A1' })).status).toBe(200);
});

it('exits 2 with one line on stderr when its port is already in use', async () => {
  const blocker = createServer();
  await new Promise<void>((resolve) => blocker.listen(0, '127.0.0.1', resolve));
  try {
    const { port } = blocker.address() as AddressInfo;
    expectUsageError(await serveToExit('--port', String(port)), new RegExp(`port ${port} on 127\\.0\\.0\\.1 is in use`));
  } finally {
    await new Promise((resolve) => blocker.close(resolve));
  }
});

it('logs JSON lines on stderr at --log-level info (startup, one line per request, shutdown), only refusals by default (warn) and nothing with --log-level silent; stdout keeps its one line', async () => {
  const logOf = async (...args: string[]): Promise<{ stdout: string; lines: Array<Record<string, unknown>> }> => {
    const served = await serve('--kmes', '2', ...args);
    const a = urlOf(served.ready, 'KME_A');
    expect((await call(`${a}/api/v1/keys/SAE_B1/status`, { sae: 'SAE_A1' })).status).toBe(200);
    expect((await call(`${a}/api/v1/keys/SAE_B9/status`, { sae: 'SAE_A1' })).status).toBe(400);
    expect((await stopServed(served)).code).toBe(0);
    const text = served.stderr();
    return { stdout: served.stdout(), lines: text.length === 0 ? [] : text.trimEnd().split('\n').map((line) => JSON.parse(line) as Record<string, unknown>) };
  };
  const info = await logOf('--log-level', 'info');
  expect(info.stdout.split('\n')).toHaveLength(2);
  expect(info.lines.map((line) => line['msg'])).toEqual(['kmesim.started', 'request', 'request', 'kmesim.stopping', 'kmesim.stopped']);
  expect(info.lines[1]).toMatchObject({ level: 30, kme: 'KME_A', method: 'GET', path: '/api/v1/keys/SAE_B1/status', status: 200, sae: 'SAE_A1' });
  expect(info.lines[2]).toMatchObject({ level: 40, status: 400, error: 'slave SAE ID is not known to this KME' });
  expect(typeof info.lines[1]?.['ms']).toBe('number');
  expect(JSON.stringify(info.lines[0])).not.toMatch(/adminToken|certs/);
  const byDefault = await logOf();
  expect(byDefault.lines.map((line) => [line['level'], line['msg'], line['status']])).toEqual([[40, 'request', 400]]);
  const silent = await logOf('--log-level', 'silent');
  expect(silent.lines).toEqual([]);
  expect(silent.stdout.split('\n')).toHaveLength(2);
});

// Regression: the SIGTERM handler was installed only after the ready line was written, so a supervisor that
// stopped the server the moment the line arrived killed it by the signal (exit 143, no clean close).
it('exits 0 on a SIGTERM sent the moment its ready line arrives', async () => {
  for (let attempt = 0; attempt < 5; attempt++) {
    const served = await serve('--kmes', '2', '--log-level', 'info');
    const { code, signal } = await stopServed(served);
    expect({ attempt, code, signal }).toEqual({ attempt, code: 0, signal: null });
    expect(served.stderr()).toMatch(/"msg":"kmesim\.stopped"/);
  }
});
