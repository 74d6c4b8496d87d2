// The server's ETSI fast path must answer exactly as the Express app does. Two real HTTP servers on
// 127.0.0.1 hold twin worlds (same seed, same SAEs, manual clock): one listens with createRequestListener
// (fast path, then the app), the other with the bare Express app from createApp. The same raw requests go
// to both, one after the other, and every answer must match: status, body, Content-Type, Content-Length,
// Allow. The requests include what the fast path takes (plain GET and POST) and what it must leave to the
// app (other methods and content types, charsets, byte order marks, chunked and oversized bodies, case and
// trailing-slash variants, broken percent-encoding, paths an extension route shares), since those answers
// must not change.
import { createServer, request, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterEach, expect, it } from 'vitest';
import { createApp, routeContext, type AppOptions } from '../../src/http/createApp.js';
import { createEtsiFastPath } from '../../src/http/etsiFastPath.js';
import { createHostClock } from '../../src/http/hostClock.js';
import { createKmeHost } from '../../src/http/kmeHost.js';
import { resolveProfile } from '../../src/model/profiles.js';
import { createWorld } from '../../src/model/world.js';

interface RawRequest {
  readonly method: string;
  readonly path: string;
  readonly headers?: Record<string, string>;
  readonly body?: Buffer | string;
  /** Send the body chunked (no Content-Length). */
  readonly chunked?: boolean;
}

interface RawResponse {
  readonly status: number;
  readonly headers: Record<string, string | undefined>;
  readonly text: string;
}

const servers: Server[] = [];
const bugs: unknown[] = [];

afterEach(async () => {
  // Neither server met an error of its own (which would have been answered 500).
  expect(bugs.splice(0)).toEqual([]);
  await Promise.all(
    servers.splice(0).map(
      (server) =>
        new Promise((resolve) => {
          server.closeAllConnections();
          server.close(resolve);
        }),
    ),
  );
});

async function listen(listener: Parameters<typeof createServer>[1]): Promise<string> {
  const server = createServer(listener);
  servers.push(server);
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
}

/** One world: two KMEs, SAE_A1 and SAE_A2 on KME_A, SAE_B1 on KME_B; served as KME_A. */
function appOptions(profileName: string): AppOptions {
  const world = createWorld({ seed: 'fast-path', profile: resolveProfile(profileName), kmeIds: ['KME_A', 'KME_B'] });
  const host = createKmeHost({ world, clock: createHostClock('manual') });
  for (const [saeId, kmeId] of [['SAE_A1', 'KME_A'], ['SAE_A2', 'KME_A'], ['SAE_B1', 'KME_B']] as const) host.execute({ type: 'sae.register', saeId, kmeId });
  return { host, kmeId: 'KME_A', auth: { kind: 'header', header: 'X-SAE-ID' }, admin: null, onBug: (error) => bugs.push(error) };
}

/** The requests the fast path took, as `METHOD path`, in order. */
const taken: string[] = [];

/** The fast path in front of the app, as createRequestListener composes them, noting what it takes. */
function fastThenApp(options: AppOptions): Parameters<typeof createServer>[1] {
  const app = createApp(options);
  const fastPath = createEtsiFastPath({ ctx: routeContext(options), bodyLimitBytes: 256 * 1024, onBug: (error) => bugs.push(error) });
  return (req, res) => {
    if (fastPath(req, res)) taken.push(`${req.method ?? ''} ${req.url ?? ''}`);
    else app(req, res);
  };
}

async function twins(profileName = 'strict'): Promise<{ fast: string; app: string }> {
  taken.length = 0;
  return { fast: await listen(fastThenApp(appOptions(profileName))), app: await listen(createApp(appOptions(profileName))) };
}

function send(base: string, raw: RawRequest): Promise<RawResponse> {
  return new Promise((resolve, reject) => {
    const body = raw.body === undefined ? undefined : Buffer.from(raw.body);
    const headers: Record<string, string> = { ...raw.headers };
    if (body !== undefined && raw.chunked !== true) headers['Content-Length'] = String(body.length);
    const req = request(`${base}${raw.path}`, { method: raw.method, headers, agent: false }, (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (chunk: Buffer) => chunks.push(chunk));
      res.on('end', () =>
        resolve({
          status: res.statusCode ?? 0,
          headers: { 'content-type': res.headers['content-type'], 'content-length': res.headers['content-length'], allow: res.headers['allow'] },
          text: Buffer.concat(chunks).toString('utf8'),
        }),
      );
    });
    req.on('error', reject);
    if (body !== undefined) req.write(body);
    req.end();
  });
}

/** Sends each request to both servers and expects the same answer from each; returns the answers. */
async function expectSameAnswers(servers: { fast: string; app: string }, requests: readonly RawRequest[]): Promise<RawResponse[]> {
  const answers: RawResponse[] = [];
  for (const raw of requests) {
    const fast = await send(servers.fast, raw);
    const app = await send(servers.app, raw);
    expect(fast, `${raw.method} ${raw.path} ${JSON.stringify(raw.headers ?? {})} ${String(raw.body ?? '')}`).toEqual(app);
    answers.push(fast);
  }
  return answers;
}

const A1 = { 'X-SAE-ID': 'SAE_A1' };
const JSON_A1 = { ...A1, 'Content-Type': 'application/json' };
const ENC = '/api/v1/keys/SAE_A2/enc_keys';

it('answers enc_keys and status exactly as the app, whichever of them takes the request', async () => {
  const answers = await expectSameAnswers(await twins(), [
    { method: 'POST', path: ENC, headers: JSON_A1, body: '{"number":2}' },
    { method: 'POST', path: ENC, headers: { ...A1, 'Content-Type': 'application/json; charset=UTF-8' }, body: '{"number":1,"size":512}' },
    { method: 'POST', path: ENC, headers: { ...A1, 'Content-Type': 'application/json;charset="utf-8"' }, body: '{}' },
    { method: 'POST', path: ENC, headers: { ...A1, 'Content-Type': 'application/json; charset=latin1' }, body: '{"number":1}' },
    { method: 'POST', path: ENC, headers: { ...A1, 'Content-Type': 'application/json; charset=utf-16le' }, body: Buffer.from('{"number":1}', 'utf16le') },
    { method: 'POST', path: ENC, headers: JSON_A1, body: Buffer.concat([Buffer.from([0xef, 0xbb, 0xbf]), Buffer.from('{"number":1}')]) },
    { method: 'POST', path: ENC, headers: JSON_A1, body: ' \n[1]' },
    { method: 'POST', path: ENC, headers: JSON_A1, body: ' "one"' },
    { method: 'POST', path: ENC, headers: JSON_A1, body: '{"number": 1' },
    { method: 'POST', path: ENC, headers: JSON_A1, body: '{"number":"1"}' },
    { method: 'POST', path: ENC, headers: JSON_A1, body: Buffer.from([0x7b, 0xff, 0xfe, 0x7d]) },
    { method: 'POST', path: ENC, headers: JSON_A1, body: '' },
    { method: 'POST', path: ENC, headers: A1, body: '' },
    { method: 'POST', path: ENC, headers: A1 },
    { method: 'POST', path: ENC, headers: { ...A1, 'Content-Type': 'text/plain' }, body: '{"number":1}' },
    { method: 'POST', path: ENC, headers: A1, body: '{"number":1}' },
    { method: 'POST', path: ENC, headers: { ...JSON_A1, 'Content-Encoding': 'identity' }, body: '{"number":1}' },
    { method: 'POST', path: ENC, headers: { ...JSON_A1, 'Content-Encoding': 'gzip' }, body: '{"number":1}' },
    { method: 'POST', path: ENC, headers: JSON_A1, body: '{"number":1}', chunked: true },
    { method: 'POST', path: ENC, headers: JSON_A1, body: `{"number":1,"pad":"${'x'.repeat(256 * 1024)}"}` },
    { method: 'POST', path: `${ENC}?number=1`, headers: JSON_A1, body: '{}' },
    { method: 'POST', path: ENC, headers: { 'Content-Type': 'application/json' }, body: '{}' },
    { method: 'POST', path: ENC, headers: { ...JSON_A1, 'X-SAE-ID': '' }, body: '{}' },
    { method: 'GET', path: ENC, headers: A1 },
    { method: 'GET', path: `${ENC}?number=2&size=16`, headers: A1 },
    { method: 'GET', path: `${ENC}?number=1&number=2`, headers: A1 },
    { method: 'GET', path: `${ENC}?number=1.5`, headers: A1 },
    { method: 'GET', path: `${ENC}?count=1`, headers: A1 },
    { method: 'GET', path: `${ENC}?number=`, headers: A1 },
    { method: 'GET', path: ENC, headers: JSON_A1, body: '{"number":3}' },
    { method: 'GET', path: ENC, headers: JSON_A1, body: '{oops' },
    { method: 'GET', path: '/api/v1/keys/SAE_B1/enc_keys', headers: A1 },
    { method: 'GET', path: '/api/v1/keys/SAE_X/enc_keys', headers: A1 },
    { method: 'GET', path: '/api/v1/keys/SAE%5FA2/enc_keys', headers: A1 },
    { method: 'GET', path: '/api/v1/keys/SAE%E0%A4%A/enc_keys', headers: A1 },
    { method: 'GET', path: '/API/V1/KEYS/SAE_A2/ENC_KEYS', headers: A1 },
    { method: 'GET', path: `${ENC}/`, headers: A1 },
    { method: 'GET', path: '/api/v1/keys//enc_keys', headers: A1 },
    { method: 'HEAD', path: ENC, headers: A1 },
    { method: 'PUT', path: ENC, headers: JSON_A1, body: '{}' },
    { method: 'GET', path: '/api/v1/keys/SAE_A2/status', headers: A1 },
    { method: 'GET', path: '/api/v1/keys/SAE_A2/status?x=1', headers: A1 },
    { method: 'GET', path: '/api/v1/keys/SAE_B1/status', headers: { 'x-sae-id': 'SAE_A1' } },
    { method: 'POST', path: '/api/v1/keys/SAE_A2/status', headers: JSON_A1, body: '{}' },
    { method: 'GET', path: '/api/v1/keys/SAE_A2/status', headers: { 'X-SAE-ID': 'SAE_B1' } },
    { method: 'GET', path: '/health' },
  ]);
  // The plain requests were served, not refused: keys came back and no two answers shared one.
  const keyIds = answers.filter((answer) => answer.status === 200 && answer.text.includes('key_ID')).flatMap((answer) => (JSON.parse(answer.text) as { keys: Array<{ key_ID: string }> }).keys.map((key) => key.key_ID));
  expect(keyIds.length).toBeGreaterThanOrEqual(10);
  expect(new Set(keyIds).size).toBe(keyIds.length);
  // The fast path took the plain requests and left the rest to the app.
  for (const plain of [`POST ${ENC}`, `GET ${ENC}?number=2&size=16`, `GET ${ENC}?count=1`, 'GET /api/v1/keys/SAE%5FA2/enc_keys', 'GET /api/v1/keys/SAE_A2/status?x=1']) expect(taken, plain).toContain(plain);
  for (const other of ['HEAD', 'PUT']) expect(taken.filter((request) => request.startsWith(other))).toEqual([]);
  for (const odd of ['GET /API/V1/KEYS/SAE_A2/ENC_KEYS', `GET ${ENC}/`, 'GET /api/v1/keys/SAE%E0%A4%A/enc_keys', 'POST /api/v1/keys/SAE_A2/status', 'GET /health']) expect(taken, odd).not.toContain(odd);
});

it('answers dec_keys exactly as the app: the slave once, then not found; the master and others refused', async () => {
  const twin = await twins();
  const [delivered] = await expectSameAnswers(twin, [{ method: 'POST', path: ENC, headers: JSON_A1, body: '{"number":3}' }]);
  const [first, second, third] = (JSON.parse((delivered as RawResponse).text) as { keys: Array<{ key_ID: string }> }).keys.map((key) => key.key_ID) as [string, string, string];
  const dec = '/api/v1/keys/SAE_A1/dec_keys';
  const A2 = { 'X-SAE-ID': 'SAE_A2' };
  const answers = await expectSameAnswers(twin, [
    { method: 'GET', path: `${dec}?key_ID=${first}`, headers: { 'X-SAE-ID': 'SAE_B1' } },
    { method: 'GET', path: `${dec}?key_ID=${first}`, headers: A1 },
    { method: 'GET', path: `${dec}?key_ID=${first}`, headers: A2 },
    { method: 'GET', path: `${dec}?key_ID=${first}`, headers: A2 },
    { method: 'GET', path: dec, headers: A2 },
    { method: 'GET', path: `${dec}?key_ID=${second}&key_ID=${third}`, headers: A2 },
    { method: 'GET', path: `${dec}?key_ID=not-a-uuid`, headers: A2 },
    { method: 'POST', path: dec, headers: { ...A2, 'Content-Type': 'application/json' }, body: JSON.stringify({ key_IDs: [{ key_ID: second }, { key_ID: 'f0f0f0f0-0000-4000-8000-000000000000' }] }) },
    { method: 'POST', path: dec, headers: { ...A2, 'Content-Type': 'application/json' }, body: JSON.stringify({ key_IDs: [{ key_ID: second }, { key_ID: third }] }) },
    { method: 'POST', path: dec, headers: { ...A2, 'Content-Type': 'application/json' }, body: '{"key_IDs":[]}' },
    { method: 'POST', path: dec, headers: { ...A2, 'Content-Type': 'application/json' }, body: '' },
    { method: 'POST', path: dec, headers: A2 },
    { method: 'PATCH', path: dec, headers: A2 },
  ]);
  expect(answers.map((answer) => answer.status)).toEqual([401, 401, 200, 400, 400, 400, 400, 400, 200, 400, 400, 400, 405]);
  expect(taken.filter((request) => request.includes('/dec_keys'))).toHaveLength(12);
});

it('leaves the per-user-pool routes that share the ETSI shape (km/status) to the app', async () => {
  const answers = await expectSameAnswers(await twins('per-user-pool'), [
    { method: 'GET', path: '/api/v1/keys/km/status', headers: A1 },
    { method: 'GET', path: '/api/v1/keys/SAE_A2/status', headers: A1 },
    { method: 'POST', path: ENC, headers: JSON_A1, body: '{}' },
  ]);
  expect(answers.map((answer) => answer.status)).toEqual([200, 200, 200]);
  expect(answers[0]?.text).not.toContain('stored_key_count');
  expect(taken).not.toContain('GET /api/v1/keys/km/status');
  expect(taken).toContain('GET /api/v1/keys/SAE_A2/status');
});
