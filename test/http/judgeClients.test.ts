// `kmesim serve --judge-clients` as a non-Node project's CI uses it: the compiled CLI in a child process,
// a Python OTP client (examples/python-client) talking to the recording proxies and reporting its keys to
// the ledger over HTTP, and the verdict naming the client rule each planted bug breaks. Also the ledger's
// answers to bad input, its reset of the mock, and the usage errors.
import { execFile } from 'node:child_process';
import { connect } from 'node:net';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createServeProcesses, ROOT, type Served } from '../support/serveProcess.js';

const run = promisify(execFile);
const processes = createServeProcesses();
let served: Served;
let ready: { kmes: Array<{ id: string; url: string }>; upstream: Array<{ id: string; url: string }>; ledger: string; admin: string };

beforeAll(async () => {
  served = await processes.serve('--kmes', '2', '--judge-clients', '--pool-capacity', '32', '--key-size', '64', '--clock', 'manual', '--seed', '3');
  ready = served.ready as unknown as typeof ready;
});

afterAll(async () => {
  await processes.stopAll();
});

interface Verdict {
  holds: boolean;
  findings: Array<{ invariant: string; rule: string; transcript: string[] }>;
  violations: unknown[];
  exchanges: number;
}

async function python(...args: string[]): Promise<{ code: number; verdict: Verdict }> {
  const script = `${ROOT}examples/python-client/otp_client.py`;
  try {
    const { stdout } = await run('python3', [script, JSON.stringify(ready), ...args]);
    return { code: 0, verdict: JSON.parse(stdout) as Verdict };
  } catch (error) {
    const failed = error as { code: number; stdout: string };
    return { code: failed.code, verdict: JSON.parse(failed.stdout) as Verdict };
  }
}

async function post(url: string, body: string): Promise<{ status: number; body: { message?: string } }> {
  const answer = await fetch(url, { method: 'POST', headers: { 'Content-Type': 'application/json' }, body });
  return { status: answer.status, body: (await answer.json()) as { message?: string } };
}

describe('serve --judge-clients', () => {
  it('puts a proxy in front of each KME and names its ledger in the ready line', () => {
    expect(ready.kmes.map((kme) => kme.id)).toEqual(['KME_A', 'KME_B']);
    expect(ready.upstream.map((kme) => kme.id)).toEqual(['KME_A', 'KME_B']);
    expect(ready.kmes.map((kme) => kme.url)).not.toEqual(ready.upstream.map((kme) => kme.url));
    expect(ready.ledger).toBe(`${ready.kmes[0]?.url}/_client`);
  });

  it('a correct Python client keeps every rule', async () => {
    const { code, verdict } = await python('--messages', '6');
    expect(verdict.findings).toEqual([]);
    expect(verdict.violations).toEqual([]);
    expect(verdict.exchanges).toBe(12);
    expect(verdict.holds).toBe(true);
    expect(code).toBe(0);
  });

  for (const [bug, invariant] of [
    ['reuse', 'U1'],
    ['reverse', 'U2'],
    ['skip-dec', 'U4'],
    ['no-consume', 'U5'],
    ['stretch', 'U7'],
  ] as const) {
    it(`names the ${bug} bug of a Python client as ${invariant}, with the requests that show it`, async () => {
      const { code, verdict } = await python('--messages', '6', '--bug', bug);
      expect(code).toBe(1);
      expect(verdict.holds).toBe(false);
      const finding = verdict.findings.find((found) => found.invariant === invariant);
      expect(finding?.rule).toMatch(/\w/);
      expect(finding?.transcript.length).toBeGreaterThan(0);
      expect(finding?.transcript[0]).toMatch(/^#\d+ SAE_[AB]1 POST \/api\/v1\/keys\/SAE_[AB]1\/(enc|dec)_keys /);
    });
  }

  it('passes requests on as they are: the same status, body and content type as the KME answers', async () => {
    const [proxied, direct] = [ready.kmes[0]?.url, ready.upstream[0]?.url];
    const cases: Array<[string, RequestInit]> = [
      ['/api/v1/keys/SAE_B1/status', { headers: { 'X-SAE-ID': 'SAE_A1' } }],
      ['/api/v1/keys/SAE_B1/status', {}],
      ['/api/v1/keys/SAE_B1/enc_keys?number=0', { headers: { 'X-SAE-ID': 'SAE_A1' } }],
      ['/api/v1/keys/SAE_A1/dec_keys?key_ID=00000000-0000-0000-0000-000000000000', { headers: { 'X-SAE-ID': 'SAE_B1' } }],
      ['/api/v1/nothing', { headers: { 'X-SAE-ID': 'SAE_A1' } }],
      ['/api/v1/keys/SAE_B1/enc_keys', { method: 'POST', headers: { 'X-SAE-ID': 'SAE_A1', 'Content-Type': 'application/json' }, body: '{"number":' }],
      ['/api/v1/keys/%zz/status', { headers: { 'X-SAE-ID': 'SAE_A1' } }],
      ['/api/v1/keys/SAE_B1/status', { method: 'HEAD', headers: { 'X-SAE-ID': 'SAE_A1' } }],
    ];
    for (const [path, init] of cases) {
      const [viaProxy, straight] = await Promise.all([fetch(`${proxied}${path}`, init), fetch(`${direct}${path}`, init)]);
      const seen = (answer: Response) => [path, init.method ?? 'GET', answer.status, answer.headers.get('content-type'), answer.headers.get('content-length')];
      expect(seen(viaProxy)).toEqual(seen(straight));
      expect(await viaProxy.text()).toBe(await straight.text());
    }
  });

  it('answers what Node cannot parse, and a target that is no path, with an ETSI Error body', async () => {
    const { port, hostname } = new URL(ready.kmes[0]?.url ?? '');
    for (const raw of ['GET /api/v1/keys/SAE_B1/status HTTP/1.1\r\nHost: x\r\nBad Header\r\n\r\n', 'GET //elsewhere/api HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n']) {
      const answer = await new Promise<string>((resolve, reject) => {
        const socket = connect(Number(port), hostname, () => socket.end(raw));
        let text = '';
        socket.setEncoding('utf8').on('data', (chunk: string) => (text += chunk));
        socket.on('close', () => resolve(text));
        socket.on('error', reject);
      });
      expect(answer).toMatch(/^HTTP\/1\.1 400 /);
      expect(JSON.parse(answer.slice(answer.indexOf('\r\n\r\n') + 4))).toMatchObject({ message: expect.any(String) });
    }
  });

  it('answers bad ledger input with an ETSI Error body and records nothing', async () => {
    await post(`${ready.ledger}/reset`, '{}');
    expect((await post(`${ready.ledger}/enveloped`, '{"message":"m1","plaintext":"not base64!","ciphertext":""}')).status).toBe(400);
    for (const body of ['{', '{"message":"m1"}', '{"message":"m1","sae":"SAE_A1","keyIds":[1]}', '[]', '{"message":"","sae":"SAE_A1","keyIds":[]}']) {
      const answer = await post(`${ready.ledger}/sealed`, body);
      expect(answer.status).toBe(400);
      expect(answer.body.message).toMatch(/body/);
    }
    expect((await post(`${ready.ledger}/sealed`, 'x'.repeat(2 << 20))).status).toBe(413);
    // What was wrong is named: an unknown field, a list past its bound.
    expect((await post(`${ready.ledger}/sealed`, '{"message":"m1","sae":"SAE_A1","keyIds":[],"extra":1}')).body.message).toMatch(/unknown field\(s\) extra/);
    expect((await post(`${ready.ledger}/sealed`, JSON.stringify({ message: 'm1', sae: 'SAE_A1', keyIds: Array.from({ length: 5_000 }, (_, i) => `k${i}`) }))).body.message).toMatch(/at most 4,096 key IDs.*keyIds/);
    expect((await post(`${ready.ledger}/nothing`, '{}')).status).toBe(404);
    const verdict = (await (await fetch(`${ready.ledger}/verdict`)).json()) as Verdict;
    expect(verdict).toMatchObject({ holds: true, findings: [], exchanges: 0 });
  });

  it('resets the mock with the ledger: full pools and the seed asked for', async () => {
    await python('--messages', '4');
    const before = (await (await fetch(`${ready.admin}/state`)).json()) as { pools: Array<{ stored: number; capacity: number }> };
    expect(before.pools.some((pool) => pool.stored < pool.capacity)).toBe(true);
    expect(await post(`${ready.ledger}/reset`, '{"seed":9}')).toEqual({ status: 200, body: { reset: true, seed: 9 } });
    const after = (await (await fetch(`${ready.admin}/state`)).json()) as { pools: Array<{ stored: number; capacity: number }> };
    expect(after.pools.every((pool) => pool.stored === pool.capacity)).toBe(true);
  });

  it('refuses --judge-clients with mTLS or beyond loopback, with exit 2', async () => {
    const mtls = await processes.serveToExit('--judge-clients', '--auth', 'mtls');
    expect(mtls.code).toBe(2);
    expect(mtls.stderr).toMatch(/--judge-clients needs --auth header/);
    const wide = await processes.serveToExit('--judge-clients', '--host', '0.0.0.0', '--allow-header-auth');
    expect(wide.code).toBe(2);
    expect(wide.stderr).toMatch(/--judge-clients serves on loopback only/);
  });
});
