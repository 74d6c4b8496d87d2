// A method a route does not take is answered 405 with an Allow header and a JSON Error body on every
// route, admin and per-user-pool ones included (C41, C42). OPTIONS matters most: left to Express it gets
// an automatic 200 text/plain answer. The server runs in-process on port 0 with the per-user-pool profile.
import { afterAll, beforeAll, expect, it } from 'vitest';
import { startServer, type RunningServer } from '../../src/http/startServer.js';
import { errorSchema } from '../../src/model/wireSchema.js';

let server: RunningServer;
let base: string;

beforeAll(async () => {
  server = await startServer({ kmes: 2, port: 0, seed: 1, clock: 'manual', profile: 'per-user-pool' });
  base = (server.kmes[0] as { url: string }).url;
});

afterAll(() => server.close());

const ROUTES: ReadonlyArray<{ readonly path: string; readonly allow: string }> = [
  { path: '/_kmesim/state', allow: 'GET' },
  { path: '/_kmesim/invariants', allow: 'GET' },
  { path: '/_kmesim/trace', allow: 'GET' },
  { path: '/_kmesim/clock/advance', allow: 'POST' },
  { path: '/_kmesim/faults', allow: 'GET, POST, DELETE' },
  { path: '/_kmesim/reset', allow: 'POST' },
  { path: '/api/v1/keys/register', allow: 'POST' },
  { path: '/api/v1/keys/pools', allow: 'GET' },
  { path: '/api/v1/keys/km/status', allow: 'GET' },
  { path: '/api/v1/keys/km/sync', allow: 'POST' },
  { path: '/api/v1/keys/SAE_A1/refill', allow: 'POST' },
  { path: '/api/v1/keys/SAE_A1', allow: 'DELETE' },
];

for (const { path, allow } of ROUTES) {
  for (const method of ['OPTIONS', 'PUT', 'PATCH']) {
    it(`C42 answers ${method} ${path} with a JSON 405 allowing ${allow}`, async () => {
      const response = await fetch(`${base}${path}`, { method, headers: { 'X-SAE-ID': 'SAE_A1' } });
      expect(response.status).toBe(405);
      expect(response.headers.get('allow')).toBe(allow);
      expect(response.headers.get('content-type')).toBe('application/json; charset=utf-8');
      expect(errorSchema.strict().safeParse(await response.json()).success).toBe(true);
    });
  }
}

it('still serves the routes themselves, HEAD on a GET route included', async () => {
  expect((await fetch(`${base}/_kmesim/state`)).status).toBe(200);
  expect((await fetch(`${base}/_kmesim/state`, { method: 'HEAD' })).status).toBe(200);
  expect((await fetch(`${base}/api/v1/keys/pools`)).status).toBe(200);
  const refill = await fetch(`${base}/api/v1/keys/SAE_A1/refill`, { method: 'POST', headers: { 'X-SAE-ID': 'SAE_A1' } });
  expect(refill.status).toBe(200);
});
