// Conditional request headers must not turn an ETSI answer into a bodiless 304: the keys of the answer are
// already reserved or consumed by then. Checked on both server paths (the fast path takes the plain
// request; a text/plain Content-Type without a body sends the same request through Express).
import { request } from 'node:http';
import { afterAll, expect, it } from 'vitest';
import { startServer, type RunningServer } from '../../src/http/startServer.js';

const servers: RunningServer[] = [];

/** A plain node:http GET, so that nothing between the test and the server handles the conditional headers. */
function get(url: string, headers: Record<string, string>): Promise<{ status: number; body: string }> {
  return new Promise((resolve, reject) => {
    const req = request(url, { headers }, (res) => {
      let body = '';
      res.setEncoding('utf8').on('data', (chunk: string) => (body += chunk));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, body }));
    });
    req.on('error', reject);
    req.end();
  });
}
afterAll(async () => {
  await Promise.all(servers.splice(0).map((server) => server.close()));
});

for (const [path, extra] of [
  ['fast path', {}],
  ['Express', { 'Content-Type': 'text/plain' }],
] as const) {
  it(`answers GET enc_keys and dec_keys with If-None-Match: * in full (${path})`, async () => {
    const server = await startServer({ kmes: 2, port: 0, seed: 11, clock: 'manual' });
    servers.push(server);
    const [a, b] = server.kmes.map((kme) => kme.url) as [string, string];
    const conditional = { 'If-None-Match': '*', 'If-Modified-Since': 'Wed, 21 Oct 2099 07:28:00 GMT', ...extra };
    const enc = await get(`${a}/api/v1/keys/SAE_B1/enc_keys`, { 'X-SAE-ID': 'SAE_A1', ...conditional });
    expect(enc.status).toBe(200);
    const keys = (JSON.parse(enc.body) as { keys: Array<{ key_ID: string; key: string }> }).keys;
    expect(keys).toHaveLength(1);
    const keyId = keys[0]?.key_ID as string;
    const dec = await get(`${b}/api/v1/keys/SAE_A1/dec_keys?key_ID=${keyId}`, { 'X-SAE-ID': 'SAE_B1', ...conditional });
    expect(dec.status).toBe(200);
    expect((JSON.parse(dec.body) as { keys: Array<{ key_ID: string; key: string }> }).keys).toEqual(keys);
  });
}
