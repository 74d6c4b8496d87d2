// The simulator (`run`) and the mock KME (`serve`) drive the same core: on one scenario they must do the
// same things at the same virtual times. Pinned here for what used to differ: the scheduled sync (the mock
// never ran it), faults applied at their due time (the mock polled every 200 ms, so a clock advance raced
// them), and the live verdict after a refusal by a KME that is not on the key's link.
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, afterEach, beforeAll, expect, it } from 'vitest';
import { startServer, type RunningServer } from '../../src/http/startServer.js';
import { createSimKme } from '../../src/sim/simKme.js';
import { createTrace } from '../../src/sim/trace.js';
import { loadScenarios } from '../../src/sim/loadScenario.js';
import { runScenario } from '../../src/sim/runScenario.js';
import { createScenarioSetup } from '../../src/sim/scenarioSetup.js';
import type { Violation } from '../../src/model/violation.js';
import { makeWorld } from '../unit/model/coreWorld.js';

const HOUR_MS = 3_600_000;
let dir = '';
let file = '';
const running: RunningServer[] = [];

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'kmesim-drivers-'));
  file = join(dir, 'drivers.yaml');
  await writeFile(
    file,
    [
      'name: drivers-agree',
      'seeds: [1]',
      'duration: 6h',
      'world:',
      '  kmes: 2',
      '  users:',
      '    - { name: a1, kme: 0 }',
      '    - { name: b1, kme: 1 }',
      '  pool: { capacity: 100 }',
      '  sync: { scheduled: 1h, latency: 10s }',
      'workload:',
      '  mailsPerUserPerDay: 96',
      'faults:',
      '  - { type: remote-offline, from: 90m, to: 150m }',
      '',
    ].join('\n'),
  );
});

afterEach(async () => {
  await Promise.all(running.splice(0).map((server) => server.close()));
});

afterAll(async () => {
  await rm(dir, { recursive: true, force: true });
});

type Line = Record<string, unknown> & { t: number; k: string };

/** The simulator's trace of the scenario at seed 1. */
async function simulated(): Promise<Line[]> {
  const [entry] = await loadScenarios(file);
  if (entry === undefined) throw new Error('no scenario');
  const lines: Line[] = [];
  runScenario(entry.scenario, { seed: 1, file, traceSink: (line) => lines.push(JSON.parse(line) as Line) });
  return lines;
}

async function serve(): Promise<{ server: RunningServer; admin: (path: string, body?: unknown) => Promise<unknown> }> {
  const server = await startServer({ port: 0, seed: 1, clock: 'manual', setup: createScenarioSetup(file) });
  running.push(server);
  const admin = async (path: string, body?: unknown): Promise<unknown> => {
    const response = await fetch(`${server.admin}${path}`, body === undefined ? {} : { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify(body) });
    const text = await response.text();
    return path === '/trace' ? text : JSON.parse(text);
  };
  return { server, admin };
}

const timesOf = (lines: readonly Line[], k: string, extra: (line: Line) => boolean = () => true): number[] => [...new Set(lines.filter((line) => line.k === k && extra(line)).map((line) => line.t))];

it('runs the scheduled sync in serve as in run: the first round at 1 h, refilling what was taken', async () => {
  const sim = await simulated();
  const simRounds = timesOf(sim, 'sync.start', (line) => line.reason === 'scheduled');
  expect(simRounds[0]).toBe(HOUR_MS);

  const { server, admin } = await serve();
  const [master, slave] = server.saes;
  const kme = server.kmes.find((candidate) => candidate.id === master?.kme);
  const taken = await fetch(`${kme?.url}/api/v1/keys/${slave?.id}/enc_keys`, { method: 'POST', headers: { 'x-sae-id': master?.id ?? '', 'content-type': 'application/json' }, body: JSON.stringify({ number: 5 }) });
  expect(taken.status).toBe(200);
  await admin('/clock/advance', { ms: 2 * HOUR_MS });
  const served = String(await admin('/trace')).trim().split('\n').map((line) => JSON.parse(line) as Line);
  expect(timesOf(served, 'sync.start', (line) => line.reason === 'scheduled')[0]).toBe(simRounds[0]);
  const state = (await admin('/state')) as { pools: Array<{ stored: number; capacity: number }> };
  expect(state.pools.length).toBeGreaterThan(0);
  for (const pool of state.pools) expect(pool.stored).toBe(pool.capacity);
}, 60_000);

it('applies a scenario fault at its due time in serve as in run, before a clock advance returns', async () => {
  const sim = await simulated();
  const simDown = timesOf(sim, 'remote.down');
  const simUp = timesOf(sim, 'remote.up');
  // The simulator also heals every fault when its liveness phase begins (at 6 h): compare the scenario's own.
  expect(simDown).toEqual([90 * 60_000]);
  expect(simUp[0]).toBe(150 * 60_000);

  const { admin } = await serve();
  await admin('/clock/advance', { ms: 91 * 60_000 });
  // The very next read sees the remote offline: no poll to wait for.
  const during = (await admin('/state')) as { links: Array<{ remote: string }> };
  expect(during.links.length).toBeGreaterThan(0);
  expect(during.links.every((link) => link.remote === 'offline')).toBe(true);
  await admin('/clock/advance', { ms: 60 * 60_000 });
  const after = (await admin('/state')) as { links: Array<{ remote: string }> };
  expect(after.links.every((link) => link.remote === 'online')).toBe(true);
  const served = String(await admin('/trace')).trim().split('\n').map((line) => JSON.parse(line) as Line);
  expect(timesOf(served, 'remote.down')).toEqual(simDown);
  expect(timesOf(served, 'remote.up')).toEqual([simUp[0]]);
}, 60_000);

it('raises no live I2 when a slave asks a KME off its key’s link and then gets the key where it is, in serve as in the simulator', async () => {
  // serve: SAE_A1 → SAE_A2 on KME_A (link KME_A~KME_A); SAE_A2 asks KME_B first, then KME_A.
  const server = await startServer({ port: 0, seed: 1, clock: 'manual', kmes: 2 });
  running.push(server);
  const [kmeA, kmeB] = server.kmes;
  const issued = (await (await fetch(`${kmeA?.url}/api/v1/keys/SAE_A2/enc_keys`, { method: 'POST', headers: { 'x-sae-id': 'SAE_A1', 'content-type': 'application/json' }, body: '{}' })).json()) as { keys: Array<{ key_ID: string }> };
  const keyId = issued.keys[0]?.key_ID ?? '';
  const offLink = await fetch(`${kmeB?.url}/api/v1/keys/SAE_A1/dec_keys?key_ID=${keyId}`, { headers: { 'x-sae-id': 'SAE_A2' } });
  expect(offLink.status).toBeGreaterThanOrEqual(400);
  const onLink = await fetch(`${kmeA?.url}/api/v1/keys/SAE_A1/dec_keys?key_ID=${keyId}`, { headers: { 'x-sae-id': 'SAE_A2' } });
  expect(onLink.status).toBe(200);
  const verdict = (await (await fetch(`${server.admin}/invariants`)).json()) as { holds: boolean; violations: unknown[] };
  expect(verdict.violations).toEqual([]);
  expect(verdict.holds).toBe(true);

  // The simulator's driver on the same commands.
  const world = makeWorld({ kmeIds: ['KME_A', 'KME_B'], saes: { SAE_A1: 'KME_A', SAE_A2: 'KME_A' } });
  const found: Violation[] = [];
  const sim = createSimKme(0, world, createTrace(), { onEffects: () => undefined, onViolations: (violations) => found.push(...violations), onPoolChanged: () => undefined }, 1_000);
  const reply = sim.call(0, { type: 'keys.enc', kmeId: 'KME_A', callerSaeId: 'SAE_A1', slaveSaeId: 'SAE_A2', request: {} }, 0);
  const simKey = reply.injected || !reply.outcome.result.ok || reply.outcome.result.kind !== 'keys' ? '' : (reply.outcome.result.keys[0]?.keyId ?? '');
  expect(sim.call(1, { type: 'keys.dec', kmeId: 'KME_B', callerSaeId: 'SAE_A2', masterSaeId: 'SAE_A1', keyIds: [simKey] }, 1).status).toBeGreaterThanOrEqual(400);
  expect(sim.call(0, { type: 'keys.dec', kmeId: 'KME_A', callerSaeId: 'SAE_A2', masterSaeId: 'SAE_A1', keyIds: [simKey] }, 2).status).toBe(200);
  expect(found).toEqual([]);
});

it('plays a fault posted to the admin API in the scenario schema as the simulator plays it in the scenario file', async () => {
  const sim = await simulated();
  // The same scenario served without its faults; its fault is posted at time 0, times counted from then.
  const bare = join(dir, 'bare.yaml');
  const { readFile } = await import('node:fs/promises');
  await writeFile(bare, (await readFile(file, 'utf8')).replace(/faults:\n.*\n/, ''));
  const server = await startServer({ port: 0, seed: 1, clock: 'manual', setup: createScenarioSetup(bare) });
  running.push(server);
  const post = await fetch(`${server.admin}/faults`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ type: 'remote-offline', from: '90m', to: '150m' }) });
  expect(post.status).toBe(200);
  const advance = (ms: number): Promise<Response> => fetch(`${server.admin}/clock/advance`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ ms }) });
  await advance(100 * 60_000);
  // Keys taken during the outage: the scheduled round at 2 h asks for them, and the remote does not answer.
  const [master, slave] = server.saes;
  const kme = server.kmes.find((candidate) => candidate.id === master?.kme);
  const taken = await fetch(`${kme?.url}/api/v1/keys/${slave?.id}/enc_keys`, { method: 'POST', headers: { 'x-sae-id': master?.id ?? '', 'content-type': 'application/json' }, body: JSON.stringify({ number: 5 }) });
  expect(taken.status).toBe(200);
  await advance(3 * HOUR_MS - 100 * 60_000);
  const served = (await (await fetch(`${server.admin}/trace`)).text()).trim().split('\n').map((line) => JSON.parse(line) as Line);
  expect(timesOf(served, 'remote.down')).toEqual(timesOf(sim, 'remote.down'));
  expect(timesOf(served, 'remote.up')).toEqual([timesOf(sim, 'remote.up')[0]]);
  const failedAt = 2 * HOUR_MS + 10_000;
  expect(timesOf(served, 'sync.fail')[0]).toBe(failedAt);
  expect(timesOf(sim, 'sync.fail')).toContain(failedAt);
}, 60_000);
