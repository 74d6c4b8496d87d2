// Key material never leaves the server except in an answer to its master or slave: not in the log, at any
// level, and not in a trace, which holds key IDs and hashes only. For each log level the real CLI is spawned
// (`serve --kmes 2 --log-level L`, header identity), given traffic in both directions across the link and on
// each KME (enc_keys by GET and POST, dec_keys by GET and POST, sizes from 128 to 8192 bits, refusals, admin
// reads), and every key it delivered is then searched for in everything the process wrote (keySearch.ts:
// base64, base64url, hex, shifted alignments and fragments). The log must be non-trivial where it can be, so
// the search is meaningful, and the search itself is shown to find a planted key. The admin trace and a
// simulator trace (`kmesim run --trace`, its keys derived again through the model) get the same search.
import { execFile } from 'node:child_process';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { afterAll, afterEach, expect, it } from 'vitest';
import { deriveKeyBytes, hashKeyBytes, keyedKeyHash, materialOf } from '../../src/model/keyMaterial.js';
import { executeCommand, type KmeCommand } from '../../src/model/kmeCore.js';
import { createWorld, type World } from '../../src/model/world.js';
import { buildProfile } from '../../src/sim/scenarioProfile.js';
import { scenarioSchema } from '../../src/sim/scenarioSchema.js';
import { kmeIdOf } from '../../src/sim/simKme.js';
import { LOG_LEVELS, type LogLevel } from '../../src/http/logging.js';
import { callRaw, createServeProcesses, ROOT, stopServed, urlOf, type CallInit, type Key, type RawReply, type ReadyLine } from '../support/serveProcess.js';
import { createKeySearch, formsOf, type Finding, type Secret } from './keySearch.js';
import { recordReliability, type ReliabilityRow } from './record.js';

const processes = createServeProcesses();
const tempDirs: string[] = [];
const rows: ReliabilityRow[] = [];

afterEach(() => processes.stopAll());
afterAll(async () => {
  await Promise.all(tempDirs.map((dir) => rm(dir, { recursive: true, force: true })));
  recordReliability('secrets', rows);
});

const describeFindings = (findings: readonly Finding[]): string =>
  findings
    .slice(0, 5)
    .map((f) => `${f.label} as ${f.form} at ${f.at}: …${f.context}…`)
    .join('\n');

it('the key search finds a planted key in every form and as a fragment, and nothing in clean text', () => {
  const planted = deriveKeyBytes('secrets-test', 'planted', 'key-1', 512);
  const other = deriveKeyBytes('secrets-test', 'planted', 'key-2', 512);
  const search = createKeySearch([{ label: 'key-1', bytes: planted }]);
  const buffer = Buffer.from(planted);
  const line = (value: string): string => `{"level":30,"msg":"request","path":"/api/v1/keys/SAE_B1/enc_keys","value":"${value}"}\n`;
  const leaks = [
    buffer.toString('base64'),
    buffer.toString('base64url'),
    buffer.toString('hex'),
    buffer.toString('hex').toUpperCase(),
    // Fragments: bytes 5 to 45 in base64 (an alignment the whole key's base64 does not share), bytes 3 to 30 in hex.
    buffer.subarray(5, 45).toString('base64'),
    buffer.subarray(3, 30).toString('hex'),
  ];
  for (const leak of leaks) {
    const found = search.find(`${line('ok')}${line(leak)}${line('ok')}`);
    expect(found.length, leak).toBeGreaterThan(0);
    expect(found.every((f) => f.label === 'key-1')).toBe(true);
  }
  // Clean text: key IDs, the trace's hash of this very key, and another key's material.
  const clean = [line('5b9d2c4e-8f1a-4c3b-9d7e-2f6a1b0c3d4e'), line(hashKeyBytes(planted)), line(Buffer.from(other).toString('base64')), line(Buffer.from(other).toString('hex'))].join('');
  expect(search.find(clean)).toEqual([]);
  expect(formsOf(planted).map((f) => f.form)).toEqual(['hex', 'HEX', 'base64+0', 'base64url+0', 'base64+1', 'base64url+1', 'base64+2', 'base64url+2']);
  rows.push({ area: 'secrets', tried: 'key search against a planted 512-bit key: 4 whole forms, 2 fragments, 1 clean text', count: leaks.length + 1, result: `${leaks.length} of ${leaks.length} leaks found, clean text clean` });
});

interface Traffic {
  /** Every key as served (base64), by key ID. */
  readonly delivered: Map<string, string>;
  /** Each request: its path and status (for the expected request lines). */
  readonly requests: Array<{ readonly path: string; readonly status: number }>;
  readonly traceText: string;
}

const SIZES = [128, undefined, 512, 1024, 8192] as const;
const PAIRS = [
  { master: 'SAE_A1', slave: 'SAE_B1' },
  { master: 'SAE_B2', slave: 'SAE_A2' },
  { master: 'SAE_A1', slave: 'SAE_A2' },
  { master: 'SAE_B1', slave: 'SAE_B2' },
] as const;
const KEYS_PER_RUN = PAIRS.reduce((sum, _pair, p) => sum + SIZES.reduce((inner, _size, i) => inner + 1 + ((p + i) % 3), 0), 0);
const KME_OF: Readonly<Record<string, string>> = { SAE_A1: 'KME_A', SAE_A2: 'KME_A', SAE_B1: 'KME_B', SAE_B2: 'KME_B' };

/** Traffic in both directions across the link and on each KME, with refusals and admin reads. */
async function driveTraffic(ready: ReadyLine): Promise<Traffic> {
  const delivered = new Map<string, string>();
  const requests: Array<{ path: string; status: number }> = [];
  const send = async (url: string, init: CallInit = {}): Promise<RawReply> => {
    const reply = await callRaw(url, init);
    requests.push({ path: new URL(url).pathname, status: reply.status });
    return reply;
  };
  const keysIn = (reply: RawReply, what: string): Key[] => {
    expect(reply.status, `${what}: ${reply.text}`).toBe(200);
    const keys = (reply.body as { keys: Key[] }).keys;
    for (const key of keys) {
      const known = delivered.get(key.key_ID);
      if (known !== undefined) expect(key.key, `both ends of ${key.key_ID} get the same bytes`).toBe(known);
      delivered.set(key.key_ID, key.key);
    }
    return keys;
  };
  for (const [p, { master, slave }] of PAIRS.entries()) {
    const masterKme = urlOf(ready, KME_OF[master] as string);
    const slaveKme = urlOf(ready, KME_OF[slave] as string);
    for (const [i, size] of SIZES.entries()) {
      const number = 1 + ((p + i) % 3);
      const request = { number, ...(size === undefined ? {} : { size }) };
      const enc =
        (p + i) % 2 === 0
          ? await send(`${masterKme}/api/v1/keys/${slave}/enc_keys`, { method: 'POST', sae: master, body: request })
          : await send(`${masterKme}/api/v1/keys/${slave}/enc_keys?${new URLSearchParams(Object.entries(request).map(([k, v]): [string, string] => [k, String(v)])).toString()}`, { sae: master });
      const keys = keysIn(enc, `enc_keys ${master}→${slave} ${JSON.stringify(request)}`);
      // A third SAE on the slave's KME asks for them first: refused, nothing consumed.
      const third = Object.keys(KME_OF).find((sae) => sae !== master && sae !== slave && KME_OF[sae] === KME_OF[slave]);
      if (third !== undefined) expect((await send(`${slaveKme}/api/v1/keys/${master}/dec_keys?key_ID=${keys[0]?.key_ID}`, { sae: third })).status).toBe(401);
      if (keys.length === 1) {
        keysIn(await send(`${slaveKme}/api/v1/keys/${master}/dec_keys?key_ID=${keys[0]?.key_ID}`, { sae: slave }), 'dec_keys GET');
      } else {
        keysIn(await send(`${slaveKme}/api/v1/keys/${master}/dec_keys`, { method: 'POST', sae: slave, body: { key_IDs: keys.map((key) => ({ key_ID: key.key_ID })) } }), 'dec_keys POST');
      }
      // Asked again: consumed, so not found.
      expect((await send(`${slaveKme}/api/v1/keys/${master}/dec_keys?key_ID=${keys[0]?.key_ID}`, { sae: slave })).status).toBe(400);
    }
    expect((await send(`${masterKme}/api/v1/keys/${slave}/status`, { sae: master })).status).toBe(200);
  }
  const a = urlOf(ready, 'KME_A');
  const refusals: ReadonlyArray<readonly [string, CallInit, number]> = [
    [`${a}/api/v1/keys/SAE_A2/enc_keys`, { method: 'POST', sae: 'SAE_A1', body: { size: 100 } }, 400],
    [`${a}/api/v1/keys/SAE_A2/enc_keys`, { method: 'POST', sae: 'SAE_A1', body: { number: 0 } }, 400],
    [`${a}/api/v1/keys/SAE_NOBODY/enc_keys`, { method: 'POST', sae: 'SAE_A1', body: {} }, 400],
    [`${a}/api/v1/keys/SAE_A2/enc_keys`, { method: 'POST', body: {} }, 401],
    [`${a}/api/v1/keys/SAE_A2/enc_keys`, { method: 'POST', sae: 'SAE_A1', raw: '{"number":' }, 400],
    [`${a}/api/v1/keys/SAE_A2/enc_keys`, { method: 'PUT', sae: 'SAE_A1', body: {} }, 405],
    [`${a}/api/v1/keys/SAE_A1/dec_keys`, { method: 'POST', sae: 'SAE_A2', body: { key_IDs: [{ key_ID: 'not-a-key-id' }] } }, 400],
    [`${a}/nowhere`, {}, 404],
  ];
  for (const [url, init, status] of refusals) expect((await send(url, init)).status, `${init.method ?? 'GET'} ${url}`).toBe(status);
  expect((await send(`${ready.admin}/state`)).status).toBe(200);
  const trace = await send(`${ready.admin}/trace`);
  expect(trace.status).toBe(200);
  return { delivered, requests, traceText: trace.text };
}

function secretsOf(delivered: ReadonlyMap<string, string>): Secret[] {
  return [...delivered].map(([keyId, key]) => ({ label: keyId, bytes: Buffer.from(key, 'base64') }));
}

/** Every key the trace names carries the hash of its bytes, and only that. */
function expectTraceHashes(traceText: string, delivered: ReadonlyMap<string, string>, worldSeed: string): number {
  const hashes = new Map<string, string>();
  for (const line of traceText.split('\n').filter((l) => l.length > 0)) {
    const entry = JSON.parse(line) as { keys?: Array<Record<string, unknown>> };
    for (const key of entry.keys ?? []) {
      expect(Object.keys(key).sort()).toEqual(['hash', 'id']);
      expect(key['hash']).toMatch(/^hmac:[0-9a-f]{16}$/);
      const known = hashes.get(key['id'] as string);
      if (known !== undefined) expect(key['hash']).toBe(known);
      hashes.set(key['id'] as string, key['hash'] as string);
    }
  }
  // Keyed from the run's seed: the same bytes under another seed hash otherwise, so a short key cannot be
  // found by hashing every value without the seed.
  for (const [keyId, key] of delivered) {
    expect(hashes.get(keyId), keyId).toBe(keyedKeyHash(worldSeed, Buffer.from(key, 'base64')));
    expect(hashes.get(keyId), keyId).not.toBe(keyedKeyHash('another seed', Buffer.from(key, 'base64')));
  }
  return hashes.size;
}

const LEVELS = ['trace', 'debug', 'info', 'warn', 'error'] as const satisfies readonly LogLevel[];

for (const [index, level] of LEVELS.entries()) {
  it(`serve --log-level ${level}: no delivered key, in any form, in anything the process wrote, nor in the admin trace`, async () => {
    expect(LOG_LEVELS).toContain(level);
    const served = await processes.serve('--kmes', '2', '--seed', String(700 + index), '--log-level', level);
    const traffic = await driveTraffic(served.ready);
    expect((await stopServed(served)).code).toBe(0);
    const stdout = served.stdout();
    const stderr = served.stderr();
    const search = createKeySearch(secretsOf(traffic.delivered));
    expect(search.keys).toBe(traffic.delivered.size);
    expect(search.keys).toBe(KEYS_PER_RUN);

    const inOutput = search.find(`${stdout}\n${stderr}`);
    expect(inOutput, describeFindings(inOutput)).toEqual([]);
    const inTrace = search.find(traffic.traceText);
    expect(inTrace, describeFindings(inTrace)).toEqual([]);
    const hashed = expectTraceHashes(traffic.traceText, traffic.delivered, `serve:${700 + index}`);

    // The search is only worth something if the log said what it could.
    expect(stdout.split('\n')).toHaveLength(2);
    const lines = stderr.length === 0 ? [] : stderr.trimEnd().split('\n').map((line) => JSON.parse(line) as Record<string, unknown>);
    const requestLines = lines.filter((line) => line['msg'] === 'request');
    const refused = traffic.requests.filter((r) => r.status >= 500 || (r.status >= 400 && (r.status === 401 || r.path.startsWith('/api/'))));
    if (level === 'trace' || level === 'debug' || level === 'info') {
      expect(requestLines).toHaveLength(traffic.requests.length);
    } else if (level === 'warn') {
      expect(requestLines.map((line) => line['status'])).toEqual(refused.map((r) => r.status));
      expect(requestLines.every((line) => line['level'] === 40 && typeof line['error'] === 'string')).toBe(true);
    } else {
      // Nothing failed inside the server: at error the log is empty.
      expect(lines).toEqual([]);
    }
    if (level === 'trace' || level === 'debug') {
      const logged = new Set(lines.filter((line) => line['msg'] === 'keys.enc' || line['msg'] === 'keys.dec').flatMap((line) => (line['keyIds'] as string[] | undefined) ?? []));
      for (const keyId of traffic.delivered.keys()) expect(logged.has(keyId), `${keyId} in the ${level} log`).toBe(true);
    }
    rows.push({
      area: 'secrets',
      tried: `serve --log-level ${level}: ${traffic.requests.length} requests (${refused.length} refused), every delivered key searched for in stdout+stderr (${lines.length} log lines, ${stderr.length} bytes) and in the admin trace (${hashed} keys hashed)`,
      count: search.keys,
      result: `${inOutput.length + inTrace.length} found; trace hashes = sha256 of the bytes`,
    });
  });
}

/** The keys a simulator trace says were delivered, derived again by replaying its commands through the model. */
function replaySimulatorTrace(lines: ReadonlyArray<Record<string, unknown>>): { secrets: Secret[]; keyLines: number } {
  const start = lines[0] as { k: string; seed: number; bugs: string[]; definition: unknown };
  expect(start.k).toBe('run.start');
  const scenario = scenarioSchema.parse(start.definition);
  expect(start.bugs).toEqual([]);
  const profile = buildProfile(scenario);
  const kmeIds = Array.from({ length: scenario.world.kmes }, (_, i) => kmeIdOf(i));
  const worlds = new Map<number, World>();
  const worldOf = (source: number): World => {
    let world = worlds.get(source);
    if (world === undefined) {
      world = createWorld({ seed: `${scenario.name}:${start.seed}/source-${source}`, profile, kmeIds, bugs: new Set() });
      worlds.set(source, world);
    }
    return world;
  };
  const secrets = new Map<string, Secret>();
  let keyLines = 0;
  for (const line of lines.slice(1)) {
    const { t, src, k, status, error: _error, keys, stored: _stored, effects: _effects, ...rest } = line as Record<string, unknown> & { t: number; src?: number; k: string };
    if (src === undefined) continue;
    let command: KmeCommand;
    if (k === 'keys.enc') command = { type: k, kmeId: rest['kme'] as string, callerSaeId: rest['master'] as string, slaveSaeId: rest['slave'] as string, request: rest['req'] as object };
    else if (k === 'keys.dec') command = { type: k, kmeId: rest['kme'] as string, callerSaeId: rest['slave'] as string, masterSaeId: rest['master'] as string, keyIds: rest['ids'] as string[] };
    else if (k === 'keys.status') command = { type: k, kmeId: rest['kme'] as string, callerSaeId: rest['master'] as string, slaveSaeId: rest['slave'] as string };
    else if (k.startsWith('transport.')) continue;
    else command = { type: k, ...rest } as KmeCommand;
    const world = worldOf(src);
    const outcome = executeCommand(world, command, t);
    expect(outcome.result.ok ? 200 : 'error', `${k} at ${t}`).toBe(status === 200 ? 200 : 'error');
    if (outcome.result.ok && outcome.result.kind === 'keys') {
      // The replay hands out exactly the key IDs the run did: the bytes derived here are the run's.
      expect(outcome.result.keys.map((key) => key.keyId)).toEqual(keys);
      keyLines += 1;
      for (const key of outcome.result.keys) secrets.set(`${src}:${key.keyId}`, { label: key.keyId, bytes: materialOf(world.config.seed, key) });
    }
  }
  return { secrets: [...secrets.values()], keyLines };
}

it('kmesim run --trace: the simulator trace names keys without their material', async () => {
  const dir = await mkdtemp(join(tmpdir(), 'kmesim-secrets-'));
  tempDirs.push(dir);
  const traceFile = join(dir, 'run.jsonl');
  const run = await promisify(execFile)(process.execPath, ['bin/kmesim.js', 'run', 'scenarios/misbehaving-clients.yaml', '--seed', '3', '--trace', traceFile, '--out', join(dir, 'reports')], {
    cwd: ROOT,
    encoding: 'utf8',
    maxBuffer: 64 * 1024 * 1024,
  });
  const traceText = await readFile(traceFile, 'utf8');
  const lines = traceText
    .split('\n')
    .filter((line) => line.length > 0)
    .map((line) => JSON.parse(line) as Record<string, unknown>);
  const { secrets, keyLines } = replaySimulatorTrace(lines);
  expect(secrets.length).toBeGreaterThanOrEqual(100);
  const search = createKeySearch(secrets);
  const inTrace = search.find(traceText);
  expect(inTrace, describeFindings(inTrace)).toEqual([]);
  const inOutput = search.find(`${run.stdout}\n${run.stderr}`);
  expect(inOutput, describeFindings(inOutput)).toEqual([]);
  // And the same search does find them where they are: in the bytes the model derives.
  const sample = secrets[0] as Secret;
  const planted = search.find(`${traceText}${Buffer.from(sample.bytes).toString('base64')}`);
  expect(planted.length).toBeGreaterThan(0);
  expect(new Set(planted.map((f) => f.label))).toEqual(new Set([sample.label]));
  rows.push({
    area: 'secrets',
    tried: `kmesim run misbehaving-clients --seed 3 --trace: ${lines.length} trace lines replayed through the model (${keyLines} with keys, IDs matched), every key's bytes searched for in the trace and the run's output`,
    count: secrets.length,
    result: `${inTrace.length + inOutput.length} found`,
  });
});
