// Hostile bodies: what an outside probe sent to brick or bloat the mock KME. A body nested thousands deep
// once made the journal's serializer throw, taken for a disk failure, so a `--db` server answered 503 to
// everyone until restarted; refused requests with large bodies were kept whole in the trace, which grew
// the server by hundreds of megabytes and was then answered as one string. Each case runs against a real
// server on 127.0.0.1, over both the fast path and Express (a chunked body always goes to Express).
import { mkdtemp, rm } from 'node:fs/promises';
import { request as httpRequest } from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, afterEach, beforeAll, expect, it } from 'vitest';
import { MAX_BODY_DEPTH } from '../../src/http/bodyDepth.js';
import { createHostClock } from '../../src/http/hostClock.js';
import { createKmeHost, UnjournalableCommand } from '../../src/http/kmeHost.js';
import { openWorldStore } from '../../src/http/worldStore.js';
import type { KmeCommand } from '../../src/model/kmeCore.js';
import { describeWorldState } from '../../src/model/worldDigest.js';
import { strictProfile } from '../../src/model/profiles.js';
import { createWorld } from '../../src/model/world.js';
import { startServer, type RunningServer } from '../../src/http/startServer.js';

let dir = '';
const running: RunningServer[] = [];
beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'kmesim-hostile-'));
});
afterEach(async () => {
  await Promise.all(running.splice(0).map((server) => server.close()));
});
afterAll(async () => {
  await rm(dir, { recursive: true, force: true });
});

interface Answer {
  readonly status: number;
  readonly type: string;
  readonly body: unknown;
}

/** POSTs `body` as JSON; `chunked` sends it without a length, which only Express takes. */
function post(url: string, path: string, body: string, chunked = false, sae = 'SAE_A1'): Promise<Answer> {
  return new Promise((resolve, reject) => {
    const req = httpRequest(`${url}${path}`, { method: 'POST', headers: { 'content-type': 'application/json', 'x-sae-id': sae, ...(chunked ? {} : { 'content-length': Buffer.byteLength(body) }) } }, (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (chunk: Buffer) => chunks.push(chunk));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, type: String(res.headers['content-type']), body: JSON.parse(Buffer.concat(chunks).toString('utf8')) as unknown }));
    });
    req.on('error', reject);
    req.end(body);
  });
}

const ENC = '/api/v1/keys/SAE_A2/enc_keys';
const deep = (levels: number): string => `{"extension_optional":${'['.repeat(levels)}${']'.repeat(levels)}}`;

async function adminJson(server: RunningServer, path: string): Promise<{ status: number; body: unknown }> {
  const response = await fetch(`${server.admin}${path}`);
  return { status: response.status, body: path === '/trace' ? await response.text() : ((await response.json()) as unknown) };
}

it(`refuses a body nested ~4,200 deep with a JSON 400 on both paths, and a --db server keeps serving (depth bound ${MAX_BODY_DEPTH})`, async () => {
  const server = await startServer({ port: 0, seed: 5, clock: 'manual', db: join(dir, 'deep.db') });
  running.push(server);
  const url = server.kmes[0]?.url as string;
  const before = await adminJson(server, '/state');
  for (const chunked of [false, true]) {
    const refused = await post(url, ENC, deep(4_200), chunked);
    expect(refused).toEqual({ status: 400, type: 'application/json; charset=utf-8', body: { message: `request body is nested deeper than ${MAX_BODY_DEPTH} levels` } });
  }
  // Nothing changed, and everything still answers: ETSI, state, trace, the live verdict.
  expect(await adminJson(server, '/state')).toEqual(before);
  const served = await post(url, ENC, '{"number":2}');
  expect(served.status).toBe(200);
  expect((await adminJson(server, '/state')).status).toBe(200);
  const trace = await adminJson(server, '/trace');
  expect(trace.status).toBe(200);
  for (const line of String(trace.body).trim().split('\n')) expect(() => JSON.parse(line) as unknown).not.toThrow();
  expect(((await adminJson(server, '/invariants')).body as { holds: boolean }).holds).toBe(true);
  // A body just within the bound is read as usual (an unknown optional extension is no reason to refuse, C27).
  const within = `{"extension_optional":[{"a":${'['.repeat(MAX_BODY_DEPTH - 3)}${']'.repeat(MAX_BODY_DEPTH - 3)}}]}`;
  expect((await post(url, ENC, within)).status).toBe(200);
  expect((await post(url, ENC, within, true)).status).toBe(200);
});

it('keeps a refused request with a 190 KB body to a short trace line', async () => {
  const server = await startServer({ port: 0, seed: 5, clock: 'manual' });
  running.push(server);
  const url = server.kmes[0]?.url as string;
  const options = Object.fromEntries(Array.from({ length: 4_000 }, (_, i) => [`option_${i}_${'x'.repeat(24)}`, i]));
  const body = JSON.stringify({ number: 0, extension_optional: [options], additional_slave_SAE_IDs: Array.from({ length: 100 }, (_, i) => `SAE_${'y'.repeat(300)}_${i}`) });
  expect(Buffer.byteLength(body)).toBeGreaterThan(190_000);
  for (let i = 0; i < 20; i++) expect((await post(url, ENC, body, i % 2 === 1)).status).toBe(400);
  const lines = server.host.traceLines().filter((line) => line.includes('"keys.enc"'));
  expect(lines).toHaveLength(20);
  for (const line of lines) expect(line.length).toBeLessThan(20_000);
});

it('bounds the trace in characters, dropping the oldest lines, and streams it whole', async () => {
  const server = await startServer({ port: 0, seed: 5, clock: 'manual' });
  running.push(server);
  const url = server.kmes[0]?.url as string;
  for (let i = 0; i < 300; i++) await post(url, ENC, `{"number":${1 + (i % 4)}}`);
  const kept = server.host.traceLines();
  const served = String((await adminJson(server, '/trace')).body);
  expect(served).toBe(kept.map((line) => `${line}\n`).join(''));
  expect(kept.length).toBeGreaterThan(300);

  // A host with a small character budget keeps the newest lines within it.
  const world = createWorld({ seed: 'bound', profile: strictProfile, kmeIds: ['KME_A'] });
  const host = createKmeHost({ world, clock: createHostClock('manual'), traceBytes: 10_000 });
  for (const saeId of ['SAE_M', 'SAE_S']) host.execute({ type: 'sae.register', saeId, kmeId: 'KME_A' });
  for (let i = 0; i < 300; i++) host.execute({ type: 'keys.enc', kmeId: 'KME_A', callerSaeId: 'SAE_M', slaveSaeId: 'SAE_S', request: { number: 1 } });
  const lines = host.traceLines();
  const chars = lines.reduce((sum, line) => sum + line.length, 0);
  expect(chars).toBeLessThanOrEqual(10_000);
  expect(chars).toBeGreaterThan(9_000);
  expect(JSON.parse(lines.at(-1) as string)).toMatchObject({ k: 'keys.enc', status: 200 });
  host.close();
});

it('reads duplicate members as JSON.parse does (the last wins) on both paths', async () => {
  const server = await startServer({ port: 0, seed: 5, clock: 'manual' });
  running.push(server);
  const url = server.kmes[0]?.url as string;
  for (const chunked of [false, true]) {
    const answer = await post(url, ENC, '{"number":5,"number":2}', chunked);
    expect(answer.status).toBe(200);
    expect((answer.body as { keys: unknown[] }).keys).toHaveLength(2);
    expect((await post(url, ENC, '{"number":2,"number":0}', chunked)).status).toBe(400);
  }
});

it('refuses a command the journal cannot write before it runs, and keeps serving: only the disk failing is a storage failure', () => {
  const store = openWorldStore(join(dir, 'unwritable.db'));
  const opened = store.open({ seed: 'journal', profile: strictProfile, kmeIds: ['KME_A'], bugs: [] });
  const host = createKmeHost({ world: opened.world, clock: createHostClock('manual'), journal: store });
  for (const saeId of ['SAE_M', 'SAE_S']) host.execute({ type: 'sae.register', saeId, kmeId: 'KME_A' });
  // What a body past the depth bound would have been: a value JSON.stringify cannot write.
  let deep: unknown = [];
  for (let i = 0; i < 20_000; i++) deep = [deep];
  const before = describeWorldState(host.world);
  const unwritable = { type: 'keys.enc', kmeId: 'KME_A', callerSaeId: 'SAE_M', slaveSaeId: 'SAE_S', request: { extension_optional: [{ deep }] } } as unknown as KmeCommand;
  expect(() => host.execute(unwritable)).toThrow(UnjournalableCommand);
  expect(describeWorldState(host.world)).toBe(before);
  const served = host.execute({ type: 'keys.enc', kmeId: 'KME_A', callerSaeId: 'SAE_M', slaveSaeId: 'SAE_S', request: { number: 2 } });
  expect(served.result.ok).toBe(true);
  host.close();
  store.close();
});
