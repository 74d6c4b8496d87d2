// The mock KME's log (src/http/logging.ts) written into memory: the redact paths as the second line of
// defence, request lines and their levels, the command log at debug and trace, and internal errors with
// their stack; real servers on 127.0.0.1, real fetch.
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterEach, expect, it } from 'vitest';
import { createApp } from '../../../src/http/createApp.js';
import { createHostClock } from '../../../src/http/hostClock.js';
import { createKmeHost } from '../../../src/http/kmeHost.js';
import { createLogger, isLogLevel, LOG_LEVELS, type LogLevel } from '../../../src/http/logging.js';
import { startServer, type RunningServer } from '../../../src/http/startServer.js';
import { resolveProfile } from '../../../src/model/profiles.js';
import { createWorld } from '../../../src/model/world.js';
import { createMemoryLog, type MemoryLog } from '../../support/memoryLog.js';
import { createRequestJournal } from '../../../src/http/requestJournal.js';

const running: Array<{ close(): Promise<void> | void }> = [];
afterEach(async () => {
  for (const item of running.splice(0)) await item.close();
});

async function serveWithLog(level: LogLevel): Promise<{ server: RunningServer; log: MemoryLog; a: string; b: string }> {
  const log = createMemoryLog();
  const server = await startServer({ port: 0, kmes: 2, seed: 5, clock: 'manual', logger: createLogger(level, log.stream) });
  running.push(server);
  const [a, b] = server.kmes.map((kme) => kme.url) as [string, string];
  return { server, log, a, b };
}

async function post(url: string, sae: string, body: unknown): Promise<{ status: number; body: unknown }> {
  const response = await fetch(url, { method: 'POST', headers: { 'X-SAE-ID': sae, 'Content-Type': 'application/json' }, body: JSON.stringify(body) });
  return { status: response.status, body: (await response.json()) as unknown };
}

it('knows exactly the seven pino levels', () => {
  expect(LOG_LEVELS).toEqual(['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent']);
  expect(LOG_LEVELS.every(isLogLevel)).toBe(true);
  for (const bad of ['verbose', 'INFO', '', '30']) expect(isLogLevel(bad)).toBe(false);
});

it('censors key fields that reach the logger, at the top level, in a key container and one level down', () => {
  const log = createMemoryLog();
  const logger = createLogger('trace', log.stream);
  logger.info({ key: 'PLANTED-1', keys: [{ key_ID: 'id-1', key: 'PLANTED-2' }] }, 'container');
  logger.debug({ reply: { key: 'PLANTED-3', keys: [{ key_ID: 'id-2', key: 'PLANTED-4' }] }, adminToken: 'PLANTED-5' }, 'nested');
  expect(log.text()).not.toMatch(/PLANTED/);
  expect(log.text().match(/\[redacted\]/g)).toHaveLength(5);
  // What is not secret stays readable.
  expect(log.text()).toContain('id-1');
  expect(log.text()).toContain('id-2');
});

it('logs the command and its key IDs at debug, never the bytes the client got', async () => {
  const { log, a, b } = await serveWithLog('debug');
  const enc = await post(`${a}/api/v1/keys/SAE_B1/enc_keys`, 'SAE_A1', { number: 3, size: 512 });
  expect(enc.status).toBe(200);
  const keys = (enc.body as { keys: Array<{ key_ID: string; key: string }> }).keys;
  expect((await post(`${b}/api/v1/keys/SAE_A1/dec_keys`, 'SAE_B1', { key_IDs: [{ key_ID: keys[0]?.key_ID }] })).status).toBe(200);
  const encLine = log.lines().find((line) => line['msg'] === 'keys.enc');
  expect(encLine).toMatchObject({ level: 20, kme: 'KME_A', master: 'SAE_A1', slave: 'SAE_B1', keyIds: keys.map((key) => key.key_ID), sizesBits: [512], count: 3 });
  expect(encLine?.['pools']).toEqual([{ id: 'KME_A~KME_B/SAE_B1', stored: 997, level: 'healthy', sync: 'idle', remote: 'online' }]);
  expect(log.lines().find((line) => line['msg'] === 'keys.dec')).toMatchObject({ kme: 'KME_B', slave: 'SAE_B1', master: 'SAE_A1', keyIds: [keys[0]?.key_ID] });
  for (const key of keys) {
    expect(log.text()).not.toContain(key.key);
    expect(log.text()).not.toContain(Buffer.from(key.key, 'base64').toString('hex'));
  }
});

it('adds full pool counts and idle clock ticks at trace, and leaves both out at debug', async () => {
  const traced = await serveWithLog('trace');
  const debug = await serveWithLog('debug');
  for (const { a, server } of [traced, debug]) {
    expect((await post(`${a}/api/v1/keys/SAE_A2/enc_keys`, 'SAE_A1', {})).status).toBe(200);
    expect((await fetch(`${server.admin}/state`)).status).toBe(200);
  }
  const poolsOf = (log: MemoryLog) => log.lines().find((line) => line['msg'] === 'keys.enc')?.['pools'] as Array<Record<string, unknown>>;
  expect(poolsOf(traced.log)[0]).toMatchObject({ reserved: 1, consumed: 0, capacity: 1000, generated: 1000 });
  expect(poolsOf(debug.log)[0]).not.toHaveProperty('reserved');
  expect(traced.log.lines().some((line) => line['msg'] === 'clock.tick' && line['level'] === 10)).toBe(true);
  expect(debug.log.lines().some((line) => line['msg'] === 'clock.tick')).toBe(false);
});

it('writes request lines at info, refusals under /api/ at warn with the Error message, and only those at warn', async () => {
  for (const level of ['info', 'warn'] as const) {
    const { log, a } = await serveWithLog(level);
    expect((await post(`${a}/api/v1/keys/SAE_A2/enc_keys`, 'SAE_A1', { number: 1 })).status).toBe(200);
    expect((await post(`${a}/api/v1/keys/SAE_A2/enc_keys`, 'SAE_A1', { number: -1 })).status).toBe(400);
    expect((await fetch(`${a}/nowhere`)).status).toBe(404);
    const requests = log.lines().filter((line) => line['msg'] === 'request');
    const refusal = { level: 40, method: 'POST', path: '/api/v1/keys/SAE_A2/enc_keys', status: 400, sae: 'SAE_A1', kme: 'KME_A' };
    if (level === 'info') {
      expect(requests.map((line) => [line['level'], line['status']])).toEqual([[30, 200], [40, 400], [30, 404]]);
      expect(requests[1]).toMatchObject(refusal);
      expect(requests[1]?.['error']).toMatch(/number/);
    } else {
      expect(requests).toHaveLength(1);
      expect(requests[0]).toMatchObject(refusal);
    }
  }
});

it('writes a 503 (a KME that cannot serve now) at warn with its message, not at error', async () => {
  const { log, a, server } = await serveWithLog('warn');
  expect((await post(`${server.admin}/faults`, 'SAE_A1', { failNext: { count: 1, status: 503 } })).status).toBe(200);
  expect((await post(`${a}/api/v1/keys/SAE_A2/enc_keys`, 'SAE_A1', {})).status).toBe(503);
  expect(log.lines().filter((line) => line['msg'] === 'request')).toEqual([expect.objectContaining({ level: 40, status: 503, error: 'injected failure' })]);
});

it('logs an internal error at error with its stack, and answers 500 with a JSON body', async () => {
  const log = createMemoryLog();
  const kmeIds = ['KME_A'];
  const host = createKmeHost({ world: createWorld({ seed: 'log', profile: resolveProfile('strict'), kmeIds }), clock: createHostClock('manual') });
  const reset = (): number => {
    throw new Error('reset exploded');
  };
  const app = createApp({ host, kmeId: 'KME_A', auth: { kind: 'header', header: 'X-SAE-ID' }, admin: { host, token: 't', kmeIds, reset, requests: createRequestJournal() }, logger: createLogger('error', log.stream) });
  const server: Server = createServer(app);
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  running.push({ close: () => new Promise<void>((resolve) => server.close(() => resolve())) }, { close: () => host.close() });
  const response = await fetch(`http://127.0.0.1:${(server.address() as AddressInfo).port}/_kmesim/reset`, {
    method: 'POST',
    headers: { 'Content-Type': 'application/json' },
    body: JSON.stringify({ seed: 1 }),
  });
  expect(response.status).toBe(500);
  expect(await response.json()).toEqual({ message: 'internal error' });
  const [bug, request] = log.lines();
  expect(bug).toMatchObject({ level: 50, msg: 'internal error', kme: 'KME_A', err: { type: 'Error', message: 'reset exploded' } });
  expect((bug?.['err'] as { stack: string }).stack).toMatch(/reset exploded\n\s+at /);
  expect(request).toMatchObject({ level: 50, msg: 'request', status: 500, path: '/_kmesim/reset' });
});

it('writes one request line per request on either path: the ETSI fast path and Express', async () => {
  const { log, a } = await serveWithLog('info');
  // A plain enc_keys and a refused one go the fast path; a PUT and an unknown route go through Express.
  expect((await post(`${a}/api/v1/keys/SAE_B1/enc_keys`, 'SAE_A1', { number: 1 })).status).toBe(200);
  expect((await post(`${a}/api/v1/keys/SAE_B1/enc_keys`, 'SAE_A1', { number: -1 })).status).toBe(400);
  expect((await fetch(`${a}/api/v1/keys/SAE_B1/enc_keys`, { method: 'PUT', headers: { 'X-SAE-ID': 'SAE_A1' } })).status).toBe(405);
  expect((await fetch(`${a}/nowhere`)).status).toBe(404);
  await new Promise((resolve) => setTimeout(resolve, 50));
  const requests = log.lines().filter((line) => line['msg'] === 'request');
  expect(requests.map((line) => [line['method'], line['path'], line['status']])).toEqual([
    ['POST', '/api/v1/keys/SAE_B1/enc_keys', 200],
    ['POST', '/api/v1/keys/SAE_B1/enc_keys', 400],
    ['PUT', '/api/v1/keys/SAE_B1/enc_keys', 405],
    ['GET', '/nowhere', 404],
  ]);
  // Refusals carry their Error message whichever path answered them.
  expect(requests[1]).toMatchObject({ level: 40, sae: 'SAE_A1' });
  expect(typeof requests[1]?.['error']).toBe('string');
  expect(typeof requests[2]?.['error']).toBe('string');
});
