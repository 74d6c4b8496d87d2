// The admin API under /_kmesim, the mock KME's controls for a client's CI: each test starts startServer
// in-process on port 0 with a manual clock (time moves only through clock/advance), drives it with real
// fetch on 127.0.0.1, and judges what the ETSI routes answer before and after each control.
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { networkInterfaces } from 'node:os';
import { afterEach, expect, it } from 'vitest';
import { createApp } from '../../src/http/createApp.js';
import { startServer, type RunningServer, type ServerOptions } from '../../src/http/startServer.js';
import { createRequestJournal } from '../../src/http/requestJournal.js';

const SPEC_NOT_FOUND = 'one or more keys specified are not found on KME';
const DAY_MS = 86_400_000;

interface Reply {
  readonly status: number;
  readonly body: unknown;
}

interface Key {
  readonly key_ID: string;
  readonly key: string;
}

interface PoolView {
  readonly slave: string;
  readonly stored: number;
  readonly reserved: number;
  readonly consumed: number;
  readonly capacity: number;
}

const running: RunningServer[] = [];
const extraServers: Server[] = [];

afterEach(async () => {
  await Promise.all(running.splice(0).map((server) => server.close()));
  await Promise.all(extraServers.splice(0).map((server) => new Promise((resolve) => server.close(resolve))));
});

async function start(options: ServerOptions = {}): Promise<RunningServer> {
  const server = await startServer({ port: 0, seed: 1, clock: 'manual', ...options });
  running.push(server);
  return server;
}

function urlOf(server: RunningServer, kmeId = 'KME_A'): string {
  const kme = server.kmes.find((k) => k.id === kmeId);
  if (kme === undefined) throw new Error(`no KME ${kmeId}`);
  return kme.url;
}

async function call(url: string, init: { method?: string; sae?: string; body?: unknown; headers?: Record<string, string> } = {}): Promise<Reply> {
  const headers: Record<string, string> = { ...init.headers };
  if (init.sae !== undefined) headers['X-SAE-ID'] = init.sae;
  if (init.body !== undefined) headers['Content-Type'] = 'application/json';
  const response = await fetch(url, { method: init.method ?? 'GET', headers, ...(init.body === undefined ? {} : { body: JSON.stringify(init.body) }) });
  const text = await response.text();
  return { status: response.status, body: text.length === 0 ? null : (JSON.parse(text) as unknown) };
}

function admin(server: RunningServer, path: string, body?: unknown): Promise<Reply> {
  return call(`${server.admin}/${path}`, body === undefined ? {} : { method: 'POST', body });
}

function encKeys(kmeUrl: string, master: string, slave: string, request: Record<string, unknown> = {}): Promise<Reply> {
  return call(`${kmeUrl}/api/v1/keys/${slave}/enc_keys`, { method: 'POST', sae: master, body: request });
}

function decKeys(kmeUrl: string, slave: string, master: string, keyIds: readonly string[]): Promise<Reply> {
  return call(`${kmeUrl}/api/v1/keys/${master}/dec_keys`, { method: 'POST', sae: slave, body: { key_IDs: keyIds.map((key_ID) => ({ key_ID })) } });
}

async function storedKeyCount(kmeUrl: string, master: string, slave: string): Promise<number> {
  const reply = await call(`${kmeUrl}/api/v1/keys/${slave}/status`, { sae: master });
  if (reply.status !== 200) throw new Error(`status: ${reply.status} ${JSON.stringify(reply.body)}`);
  return (reply.body as { stored_key_count: number }).stored_key_count;
}

function keysOf(reply: Reply): Key[] {
  if (reply.status !== 200) throw new Error(`expected 200 with keys, got ${reply.status} ${JSON.stringify(reply.body)}`);
  return (reply.body as { keys: Key[] }).keys;
}

async function poolsOf(server: RunningServer): Promise<PoolView[]> {
  return ((await admin(server, 'state')).body as { pools: PoolView[] }).pools;
}

/** Takes `count` keys from SAE_A1's pool for SAE_A2, in requests of at most 128. */
async function drain(kmeUrl: string, count: number): Promise<Key[]> {
  const keys: Key[] = [];
  for (let left = count; left > 0; left -= 128) keys.push(...keysOf(await encKeys(kmeUrl, 'SAE_A1', 'SAE_A2', { number: Math.min(128, left) })));
  return keys;
}

function expectErrorBody(reply: Reply, status: number): void {
  expect(reply.status).toBe(status);
  expect(typeof (reply.body as { message?: unknown }).message).toBe('string');
}

it('expires a delivered key once clock/advance moves past its TTL, so its slave is refused with 400 (I11 expiry)', async () => {
  const server = await start();
  const a = urlOf(server);
  const [kept, expiring] = keysOf(await encKeys(a, 'SAE_A1', 'SAE_A2', { number: 2 }));
  expect(await admin(server, 'clock/advance', { ms: DAY_MS - 1 })).toEqual({ status: 200, body: { nowMs: DAY_MS - 1 } });
  expect(keysOf(await decKeys(a, 'SAE_A2', 'SAE_A1', [kept?.key_ID ?? '']))).toEqual([kept]);
  await admin(server, 'clock/advance', { ms: 1 });
  expect(await decKeys(a, 'SAE_A2', 'SAE_A1', [expiring?.key_ID ?? ''])).toEqual({ status: 400, body: { message: SPEC_NOT_FOUND, details: [{ key_ID: expiring?.key_ID }] } });
  const pool = (await poolsOf(server)).find((p) => p.slave === 'SAE_A2');
  expect(pool).toMatchObject({ reserved: 0, consumed: 1 });
});

it('answers a sync exactly syncLatencyMs after a pool falls below its low threshold', async () => {
  // The drained keys are never retrieved: no bound on waiting keys, so status shows the pool itself.
  const server = await start({ syncLatencyMs: 5_000, maxWaitingKeys: null });
  const a = urlOf(server);
  // Capacity 1000, low threshold 10 %: 99 left is below it.
  await drain(a, 901);
  expect(await storedKeyCount(a, 'SAE_A1', 'SAE_A2')).toBe(99);
  await admin(server, 'clock/advance', { ms: 4_999 });
  expect(await storedKeyCount(a, 'SAE_A1', 'SAE_A2')).toBe(99);
  await admin(server, 'clock/advance', { ms: 1 });
  expect(await storedKeyCount(a, 'SAE_A1', 'SAE_A2')).toBe(1000);
});

it('drains pools while the remote is offline, answers enc_keys beyond stock with 503, and refills once it is online again', async () => {
  // The drained keys are never retrieved: no bound on waiting keys, so only stock decides (waitingBound.test.ts has the bound).
  const server = await start({ maxWaitingKeys: null });
  const a = urlOf(server);
  expect((await admin(server, 'faults', { remote: 'offline' })).status).toBe(200);
  await drain(a, 1000);
  expect(await storedKeyCount(a, 'SAE_A1', 'SAE_A2')).toBe(0);
  // Syncs fail and back off while the remote is down; no key is made up locally (I10).
  await admin(server, 'clock/advance', { ms: 60_000 });
  expect(await storedKeyCount(a, 'SAE_A1', 'SAE_A2')).toBe(0);
  expectErrorBody(await encKeys(a, 'SAE_A1', 'SAE_A2'), 503);
  expect((await admin(server, 'faults', { remote: 'online' })).status).toBe(200);
  await admin(server, 'clock/advance', { ms: 1_000 });
  expect(await storedKeyCount(a, 'SAE_A1', 'SAE_A2')).toBe(1000);
  expect(keysOf(await encKeys(a, 'SAE_A1', 'SAE_A2'))).toHaveLength(1);
});

it('fails exactly the next two ETSI requests after failNext {count 2, status 503} with an Error body, changing nothing (I7)', async () => {
  const server = await start();
  const a = urlOf(server);
  const before = await poolsOf(server);
  const traceBefore = await (await fetch(`${server.admin}/trace`)).text();
  expect((await admin(server, 'faults', { failNext: { count: 2, status: 503 } })).status).toBe(200);
  expectErrorBody(await encKeys(a, 'SAE_A1', 'SAE_A2'), 503);
  expectErrorBody(await call(`${a}/api/v1/keys/SAE_A2/status`, { sae: 'SAE_A1' }), 503);
  // The trace first: reading the state ticks the clock, which the trace records.
  expect(await (await fetch(`${server.admin}/trace`)).text()).toBe(traceBefore);
  expect(await poolsOf(server)).toEqual(before);
  const [key] = keysOf(await encKeys(a, 'SAE_A1', 'SAE_A2'));
  // The first key the pool hands out is the one a fresh server with the same seed hands out first.
  const twin = await start();
  expect(keysOf(await encKeys(urlOf(twin), 'SAE_A1', 'SAE_A2'))).toEqual([key]);
});

it('delays every ETSI answer by latencyMs, in real time on the real clock', async () => {
  // (On the manual clock a latency holds the answer until the clock is advanced: mockKmeClient.test.ts.)
  const server = await start({ clock: 'real' });
  const a = urlOf(server);
  await admin(server, 'faults', { latencyMs: 300 });
  let started = performance.now();
  expect((await call(`${a}/api/v1/keys/SAE_A2/status`, { sae: 'SAE_A1' })).status).toBe(200);
  // Timers never fire early, but performance.now and the timer clock may round apart by a millisecond.
  expect(performance.now() - started).toBeGreaterThanOrEqual(299);
  started = performance.now();
  expect(keysOf(await encKeys(a, 'SAE_A1', 'SAE_A2'))).toHaveLength(1);
  expect(performance.now() - started).toBeGreaterThanOrEqual(299);
  await admin(server, 'faults', { latencyMs: 0 });
  started = performance.now();
  expect((await call(`${a}/api/v1/keys/SAE_A2/status`, { sae: 'SAE_A1' })).status).toBe(200);
  expect(performance.now() - started).toBeLessThan(300);
});

it('answers 503 on a restarting KME until its downtime has passed, and its delivered keys survive the restart (I2)', async () => {
  const server = await start({ kmes: 2 });
  const a = urlOf(server, 'KME_A');
  const b = urlOf(server, 'KME_B');
  const [key] = keysOf(await encKeys(b, 'SAE_B1', 'SAE_A1'));
  expect((await admin(server, 'faults', { restart: { kme: 'KME_A', downtimeMs: 60_000 } })).status).toBe(200);
  expectErrorBody(await decKeys(a, 'SAE_A1', 'SAE_B1', [key?.key_ID ?? '']), 503);
  expect((await call(`${b}/api/v1/keys/SAE_B2/status`, { sae: 'SAE_B1' })).status).toBe(200);
  await admin(server, 'clock/advance', { ms: 59_999 });
  expectErrorBody(await call(`${a}/api/v1/keys/SAE_A2/status`, { sae: 'SAE_A1' }), 503);
  await admin(server, 'clock/advance', { ms: 1 });
  expect(keysOf(await decKeys(a, 'SAE_A1', 'SAE_B1', [key?.key_ID ?? '']))).toEqual([key]);
});

it('gives a fresh world on reset {seed}: the same SAEs, full pools, nothing delivered, and the new seed\'s keys', async () => {
  const server = await start({ kmes: 2 });
  const a = urlOf(server);
  const [old] = keysOf(await encKeys(a, 'SAE_A1', 'SAE_A2', { number: 5 }));
  const saesBefore = ((await admin(server, 'state')).body as { saes: unknown }).saes;
  expect(await admin(server, 'reset', { seed: 77 })).toEqual({ status: 200, body: { seed: 77 } });
  const state = (await admin(server, 'state')).body as { saes: unknown; pools: PoolView[]; waitingKeys: number };
  expect(state.saes).toEqual(saesBefore);
  expect(state.waitingKeys).toBe(0);
  for (const pool of state.pools) expect(pool).toMatchObject({ stored: pool.capacity, reserved: 0, consumed: 0 });
  expect((await decKeys(a, 'SAE_A2', 'SAE_A1', [old?.key_ID ?? ''])).status).toBe(400);
  const afterReset = keysOf(await encKeys(a, 'SAE_A1', 'SAE_B1', { number: 2 }));
  const twin = await start({ kmes: 2, seed: 77 });
  expect(keysOf(await encKeys(urlOf(twin), 'SAE_A1', 'SAE_B1', { number: 2 }))).toEqual(afterReset);
});

it('serves a JSONL trace that names delivered keys by ID and hash and never contains their bytes, in base64 or hex', async () => {
  const server = await start({ kmes: 2 });
  const a = urlOf(server, 'KME_A');
  const b = urlOf(server, 'KME_B');
  const keys = [...keysOf(await encKeys(a, 'SAE_A1', 'SAE_B1', { number: 3 })), ...keysOf(await encKeys(a, 'SAE_A1', 'SAE_A2', { size: 1024 }))];
  keys.push(...keysOf(await decKeys(b, 'SAE_B1', 'SAE_A1', keys.slice(0, 2).map((key) => key.key_ID))));
  const response = await fetch(`${server.admin}/trace`);
  expect(response.headers.get('content-type')).toMatch(/^application\/x-ndjson/);
  const text = await response.text();
  const lines = text.replace(/\n$/, '').split('\n').map((line) => JSON.parse(line) as { keys?: Array<{ id: string; hash: string }> });
  const traced = new Map(lines.flatMap((line) => line.keys ?? []).map((key) => [key.id, key.hash]));
  for (const key of keys) {
    expect(traced.get(key.key_ID)).toMatch(/^hmac:[0-9a-f]{16}$/);
    const bytes = Buffer.from(key.key, 'base64');
    for (const form of [key.key, key.key.replace(/=+$/, ''), bytes.toString('base64url'), bytes.toString('hex'), bytes.toString('hex').toUpperCase()]) {
      expect(text.includes(form), `trace contains key ${key.key_ID} as ${form}`).toBe(false);
    }
  }
});

it('reports holds:true from invariants after a clean workload', async () => {
  const server = await start({ kmes: 2 });
  const a = urlOf(server, 'KME_A');
  const b = urlOf(server, 'KME_B');
  const keys = keysOf(await encKeys(a, 'SAE_A1', 'SAE_B1', { number: 4 }));
  keysOf(await decKeys(b, 'SAE_B1', 'SAE_A1', keys.slice(0, 2).map((key) => key.key_ID)));
  expect((await decKeys(b, 'SAE_B1', 'SAE_A1', [keys[0]?.key_ID ?? ''])).status).toBe(400);
  expect((await encKeys(a, 'SAE_A1', 'SAE_B1', { size: 7 })).status).toBe(400);
  expect((await decKeys(b, 'SAE_B2', 'SAE_A1', [keys[2]?.key_ID ?? ''])).status).toBe(401);
  await admin(server, 'clock/advance', { ms: 2 * DAY_MS });
  const report = (await admin(server, 'invariants')).body as { holds: boolean; violations: unknown[]; invariants: Array<{ id: string }> };
  expect(report.violations).toEqual([]);
  expect(report.holds).toBe(true);
  expect(report.invariants.map((invariant) => invariant.id)).toContain('I3');
});

it('reports holds:false with an I3 violation after a double dec_keys on a server with the no-consume bug', async () => {
  const server = await start({ bugs: ['no-consume'] });
  const a = urlOf(server);
  const [key] = keysOf(await encKeys(a, 'SAE_A1', 'SAE_A2'));
  keysOf(await decKeys(a, 'SAE_A2', 'SAE_A1', [key?.key_ID ?? '']));
  expect(keysOf(await decKeys(a, 'SAE_A2', 'SAE_A1', [key?.key_ID ?? '']))).toEqual([key]);
  const report = (await admin(server, 'invariants')).body as { holds: boolean; violations: Array<{ invariant: string }>; invariants: Array<{ id: string; violations: number }> };
  expect(report.holds).toBe(false);
  expect(report.violations.map((violation) => violation.invariant)).toContain('I3');
  expect(report.invariants.find((invariant) => invariant.id === 'I3')?.violations).toBeGreaterThan(0);
});

/** An IPv4 address of this machine that is not loopback, if it has one. */
function nonLoopbackAddress(): string | undefined {
  return Object.values(networkInterfaces())
    .flatMap((entries) => entries ?? [])
    .find((entry) => entry.family === 'IPv4' && !entry.internal)?.address;
}

/**
 * The admin API's origin as a non-loopback caller reaches it: through the machine's own non-loopback
 * address when it has one, or else through a copy of the KME's app whose sockets claim a remote address
 * beyond loopback (the guard reads nothing else).
 */
async function reachFromBeyondLoopback(server: RunningServer): Promise<string> {
  const address = nonLoopbackAddress();
  if (address !== undefined) return `http://${address}:${new URL(urlOf(server)).port}`;
  const app = createApp({
    host: server.host,
    kmeId: 'KME_A',
    auth: { kind: 'header', header: 'X-SAE-ID' },
    admin: { host: server.host, token: server.adminToken ?? '', kmeIds: ['KME_A'], reset: () => 0, requests: createRequestJournal() },
  });
  const injected = createServer(app);
  injected.on('connection', (socket) => Object.defineProperty(socket, 'remoteAddress', { value: '203.0.113.7' }));
  extraServers.push(injected);
  await new Promise<void>((resolve) => injected.listen(0, '127.0.0.1', resolve));
  return `http://127.0.0.1:${(injected.address() as AddressInfo).port}`;
}

it('refuses a non-loopback caller of the admin API without its token with 401, and accepts it with Authorization: Bearer <token>', async () => {
  const server = await start({ host: '0.0.0.0', allowHeaderAuthBeyondLoopback: true });
  const token = server.adminToken;
  expect(token).toMatch(/^[0-9a-f]{32}$/);
  const origin = await reachFromBeyondLoopback(server);
  const refused = await fetch(`${origin}/_kmesim/state`);
  expect(refused.status).toBe(401);
  expect(refused.headers.get('www-authenticate')).toBe('Bearer');
  expect(await refused.json()).toEqual({ message: 'the admin API needs its token' });
  expect((await call(`${origin}/_kmesim/clock/advance`, { method: 'POST', body: { ms: DAY_MS } })).status).toBe(401);
  expect((await call(`${origin}/_kmesim/state`, { headers: { Authorization: 'Bearer wrong' } })).status).toBe(401);
  const accepted = await call(`${origin}/_kmesim/state`, { headers: { Authorization: `Bearer ${token}` } });
  expect(accepted.status).toBe(200);
  expect((accepted.body as { nowMs: number }).nowMs).toBe(0);
  // The ETSI routes are another matter: reachable beyond loopback in header mode, as allowed at start.
  expect((await call(`${origin}/api/v1/keys/SAE_A2/status`, { sae: 'SAE_A1' })).status).toBe(200);
});

it('keeps the admin paths out of /api/v1/keys: _kmesim there is an SAE ID, never the admin state', async () => {
  const server = await start();
  const a = urlOf(server);
  const asStatus = await call(`${a}/api/v1/keys/_kmesim/status`, { sae: 'SAE_A1' });
  expect(asStatus.status).toBe(400);
  expect(asStatus.body).toMatchObject({ details: [{ slave_SAE_ID: '_kmesim' }] });
  expectErrorBody(await call(`${a}/api/v1/keys/_kmesim/status`), 401);
  for (const path of ['/api/v1/keys/_kmesim/state', '/api/v1/_kmesim/state', '/api/v1/keys/_kmesim/invariants']) {
    const reply = await call(`${a}${path}`, { sae: 'SAE_A1' });
    expect([400, 401, 404], path).toContain(reply.status);
    expect(reply.body, path).not.toHaveProperty('pools');
    expect(typeof (reply.body as { message?: unknown }).message, path).toBe('string');
  }
});

it('plays a fault of the scenario schema posted for later at its time, lists it planned then in force, and DELETE ends it', async () => {
  const server = await start({ kmes: 2 });
  const b = urlOf(server, 'KME_B');
  const posted = await admin(server, 'faults', { type: 'kme-restart', at: '10m', kme: 'KME_B', downtime: '5m' });
  expect(posted.status).toBe(200);
  expect((posted.body as { faults: Array<{ edges: unknown[] }> }).faults[0]?.edges).toEqual([{ edge: 'start', atMs: 600_000 }]);
  const listed = async (): Promise<Array<{ state: string }>> => ((await admin(server, 'faults')).body as { faults: Array<{ state: string }> }).faults;
  expect((await listed()).map((fault) => fault.state)).toEqual(['planned']);
  expect(await storedKeyCount(b, 'SAE_B1', 'SAE_B2')).toBe(1000);
  await admin(server, 'clock/advance', { ms: 600_000 });
  expectErrorBody(await call(`${b}/api/v1/keys/SAE_B2/status`, { sae: 'SAE_B1' }), 503);
  expect((await listed()).map((fault) => fault.state)).toEqual(['played']);
  await admin(server, 'clock/advance', { ms: 300_000 });
  expect(await storedKeyCount(b, 'SAE_B1', 'SAE_B2')).toBe(1000);

  expect((await admin(server, 'faults', { type: 'remote-offline', from: '1m' })).status).toBe(200);
  await admin(server, 'clock/advance', { ms: 60_000 });
  expect((await listed()).map((fault) => fault.state)).toEqual(['played', 'in force']);
  expect(((await admin(server, 'state')).body as { links: Array<{ remote: string }> }).links.every((link) => link.remote === 'offline')).toBe(true);
  const cleared = await call(`${server.admin}/faults`, { method: 'DELETE' });
  expect(cleared.status).toBe(200);
  expect(await listed()).toEqual([]);
  expect(((await admin(server, 'state')).body as { links: Array<{ remote: string }> }).links.every((link) => link.remote === 'online')).toBe(true);
});

it('takes a list of faults whole or not at all: one unknown KME refuses the list with 400 and plays none', async () => {
  const server = await start();
  const before = (await admin(server, 'state')).body;
  const refused = await admin(server, 'faults', [{ type: 'latency', ms: 500 }, { type: 'kme-restart', kme: 'KME_Q' }]);
  expectErrorBody(refused, 400);
  expect((refused.body as { message: string }).message).toMatch(/no KME KME_Q/);
  expectErrorBody(await admin(server, 'faults', [{ type: 'latency', ms: 500 }, { type: 'meteor' }]), 400);
  expectErrorBody(await admin(server, 'faults', { type: 'latency', from: '2m', to: '1m', ms: 5 }), 400);
  expect((await admin(server, 'state')).body).toEqual(before);
  expect(((await admin(server, 'faults')).body as { faults: unknown[] }).faults).toEqual([]);
});
