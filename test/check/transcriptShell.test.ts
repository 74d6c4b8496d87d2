// A rendered transcript run for real, in sh (dash) and in bash, against a small HTTP server that hands out
// fresh random key IDs and key bytes: the statuses print as recorded, the later dec_keys use the key ID the
// server issued in this run, the burst is in flight all at once at the server, and no key byte reaches stdout.
import { execFile } from 'node:child_process';
import { randomBytes, randomUUID } from 'node:crypto';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterAll, beforeAll, expect, it } from 'vitest';
import type { TranscriptEntry } from '../../src/check/checkSession.js';
import type { EtsiRequest } from '../../src/check/etsiClient.js';
import { renderTranscript, toTranscriptLine, transcriptScript } from '../../src/check/renderCurl.js';
import type { TargetSae } from '../../src/check/targetSchema.js';

// Long enough that three curl processes started together overlap even on a loaded machine.
const HOLD_MS = 1_000;
const RECORDED_KEY_ID = '11111111-2222-4333-8444-555555555555';
const RECORDED_KEY = Buffer.alloc(32, 7).toString('base64');

// Key material where a line-by-line or quote-to-quote redaction would miss it: an escaped quote inside the
// value, the member split over lines, a body cut before the closing quote.
const TRICKY_PARTS = ['QUJD', 'REVG', 'R0hJ', 'SktM'];
const TRICKY_BODY = `<pre>{"keys":[{"key_ID":"t1","key":"${TRICKY_PARTS[0]}\\"${TRICKY_PARTS[1]}"},{"key_ID":"t2","key"\n :\r\n\t"${TRICKY_PARTS[2]}"},{"key":"${TRICKY_PARTS[3]}`;

interface Seen {
  readonly path: string;
  readonly body: string;
}

const issued = new Map<string, string>();
const seen: Seen[] = [];
let inFlight = 0;
let maxInFlight = 0;
let server: Server;
let kmeUrl = '';

function answer(res: ServerResponse, status: number, body: unknown): void {
  const text = JSON.stringify(body, null, 1);
  res.writeHead(status, { 'content-type': 'application/json', 'content-length': Buffer.byteLength(text) });
  res.end(text);
}

function keysFor(ids: readonly string[]): { status: number; body: unknown } {
  const keys = ids.map((id) => ({ key_ID: id, key: issued.get(id) }));
  if (keys.some((key) => key.key === undefined)) return { status: 404, body: { message: 'unknown key_ID' } };
  return { status: 200, body: { keys } };
}

function handle(req: IncomingMessage, res: ServerResponse, body: string): void {
  const url = new URL(req.url ?? '/', 'http://localhost');
  seen.push({ path: `${url.pathname}${url.search}`, body });
  if (url.pathname.endsWith('/tricky')) {
    res.writeHead(500, { 'content-type': 'text/plain' });
    res.end(TRICKY_BODY);
    return;
  }
  if (url.pathname.endsWith('/status')) return answer(res, 200, { key_size: 256, stored_key_count: 10 });
  if (url.pathname.endsWith('/enc_keys')) {
    const id = randomUUID();
    issued.set(id, randomBytes(32).toString('base64'));
    return answer(res, 200, { keys: [{ key_ID: id, key: issued.get(id) }] });
  }
  if (url.pathname.endsWith('/dec_keys')) {
    const ids = req.method === 'GET' ? url.searchParams.getAll('key_ID') : ((JSON.parse(body) as { key_IDs: Array<{ key_ID: string }> }).key_IDs.map((k) => k.key_ID));
    // Held a while, so that requests sent at once are all here together.
    inFlight += 1;
    maxInFlight = Math.max(maxInFlight, inFlight);
    setTimeout(() => {
      inFlight -= 1;
      const { status, body: reply } = keysFor(ids);
      answer(res, status, reply);
    }, HOLD_MS);
    return;
  }
  answer(res, 404, { message: 'no such route' });
}

beforeAll(async () => {
  server = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (chunk: Buffer) => chunks.push(chunk));
    req.on('end', () => handle(req, res, Buffer.concat(chunks).toString('utf8')));
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  kmeUrl = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
});

afterAll(async () => {
  await new Promise<void>((resolve) => server.close(() => resolve()));
});

function sae(id: string): TargetSae {
  return { id, kme: 'KME_1', header: 'X-SAE-ID', value: id, insecure: false };
}

function entry(id: number, request: Omit<EtsiRequest, 'kmeUrl' | 'timeoutMs'>, status: number, body: unknown, burst?: number): TranscriptEntry {
  const text = JSON.stringify(body);
  return {
    id,
    request: { ...request, kmeUrl, timeoutMs: 5_000 },
    response: { status, contentType: 'application/json', text, json: body, elapsedMs: 3 },
    receivedAtMs: id,
    meaning: { op: 'raw' },
    shown: text.replace(/("key":")[^"]*"/g, '$1<redacted 256 bits #abcd>"'),
    ...(burst === undefined ? {} : { burst }),
  };
}

function decBody(keyId: string): string {
  return JSON.stringify({ key_IDs: [{ key_ID: keyId }] });
}

function createEntries(): TranscriptEntry[] {
  const recordedKeys = { keys: [{ key_ID: RECORDED_KEY_ID, key: RECORDED_KEY }] };
  return [
    entry(1, { sae: sae('SAE_A'), method: 'POST', path: '/api/v1/keys/SAE_B/enc_keys', body: '{"number":1}' }, 200, recordedKeys),
    entry(2, { sae: sae('SAE_B'), method: 'GET', path: `/api/v1/keys/SAE_A/dec_keys?key_ID=${RECORDED_KEY_ID}` }, 200, recordedKeys),
    entry(3, { sae: sae('SAE_B'), method: 'POST', path: '/api/v1/keys/SAE_A/dec_keys', body: decBody(RECORDED_KEY_ID) }, 200, recordedKeys, 1),
    entry(4, { sae: sae('SAE_B'), method: 'POST', path: '/api/v1/keys/SAE_A/dec_keys', body: decBody(RECORDED_KEY_ID) }, 200, recordedKeys, 1),
    entry(5, { sae: sae('SAE_B'), method: 'POST', path: '/api/v1/keys/SAE_A/dec_keys', body: decBody(RECORDED_KEY_ID) }, 200, recordedKeys, 1),
    entry(6, { sae: sae('SAE_A'), method: 'GET', path: '/api/v1/keys/SAE_B/status' }, 200, { key_size: 256, stored_key_count: 10 }),
  ];
}

function run(shell: 'sh' | 'bash', script: string): Promise<{ stdout: string; stderr: string }> {
  return new Promise((resolve, reject) => {
    execFile(shell, ['-c', script], { timeout: 20_000 }, (error, stdout, stderr) => (error === null ? resolve({ stdout, stderr }) : reject(new Error(`${shell} failed: ${error.message}\n${stderr}`))));
  });
}

/** The status lines of the printout: each answer ends with its HTTP status alone on a line. */
function statusesOf(stdout: string): number[] {
  return stdout.split('\n').filter((line) => /^\d{3}$/.test(line)).map(Number);
}

it('renders each line with the redacted answer, the burst number, and no key bytes in any command', () => {
  const lines = renderTranscript(createEntries());
  expect(lines.map((line) => line.id)).toEqual([1, 2, 3, 4, 5, 6]);
  expect(lines.map((line) => line.burst)).toEqual([undefined, undefined, 1, 1, 1, undefined]);
  for (const line of lines) {
    expect(line.curl).not.toContain(RECORDED_KEY);
    expect(line.response).not.toContain(RECORDED_KEY);
  }
  expect(lines[0]?.response).toContain('<redacted 256 bits #abcd>');
  expect(lines[0]?.curl.split('\n')[1]).toMatch(/^K1_0=\$\(printf '%s' "\$R1" \| grep /);
  expect(lines[1]?.curl).toContain(`dec_keys?key_ID='"$K1_0"`);
  expect(lines[2]?.curl).toMatch(/^T=\$\(mktemp -d\); curl .* > "\$T\/3" &$/);
  expect(lines[3]?.curl).toMatch(/^curl .* > "\$T\/4" &$/);
  expect(lines[4]?.curl.split('\n').slice(1, 2)).toEqual(['wait']);
  expect(toTranscriptLine(createEntries()[0] as TranscriptEntry).curl).toMatch(/^R1=\$\(curl -sS -w '\\n%\{http_code\}' .*\); printf '%s\\n' "\$R1" \| sed -E /);
});

it('cuts a long answer to 400 characters from the redacted text', () => {
  const long = { ...(createEntries()[5] as TranscriptEntry), shown: 'x'.repeat(1_000) };
  expect(toTranscriptLine(long).response).toBe(`${'x'.repeat(397)}...`);
});

for (const shell of ['sh', 'bash'] as const) {
  it(`runs in ${shell} against a live server: same statuses, the key ID of this run, a concurrent burst, no key bytes printed`, async () => {
    issued.clear();
    seen.length = 0;
    maxInFlight = 0;
    const lines = renderTranscript(createEntries());
    const { stdout } = await run(shell, transcriptScript(lines));
    expect(statusesOf(stdout)).toEqual(lines.map((line) => line.status));
    const [issuedId, ...others] = [...issued.keys()];
    expect(issuedId).toBeDefined();
    expect(others).toEqual([]);
    // The dec_keys (one GET, three in the burst) asked for the key this server issued, never the recorded one.
    const decs = seen.filter((request) => request.path.includes('/dec_keys'));
    expect(decs).toHaveLength(4);
    for (const request of decs) expect(`${request.path} ${request.body}`).toContain(issuedId);
    expect(seen.some((request) => `${request.path} ${request.body}`.includes(RECORDED_KEY_ID))).toBe(false);
    expect(maxInFlight).toBe(3);
    for (const material of issued.values()) expect(stdout).not.toContain(material);
    expect(stdout.match(/"key": "<redacted>"/g)).toHaveLength(5);
    expect(stdout).toContain(`"key_ID": "${issuedId}"`);
  });
}

it('prints no key bytes of a hostile answer: escaped quotes, a member split over lines, a cut body', async () => {
  const tricky = entry(1, { sae: sae('SAE_A'), method: 'GET', path: '/api/v1/keys/SAE_B/tricky' }, 500, {});
  for (const shell of ['sh', 'bash'] as const) {
    const { stdout } = await run(shell, transcriptScript([toTranscriptLine(tricky)]));
    for (const part of TRICKY_PARTS) expect(stdout).not.toContain(part);
    expect(stdout.match(/<redacted>/g)).toHaveLength(3);
    expect(stdout).toContain('"key_ID":"t2"');
    expect(stdout.trimEnd().split('\n').at(-1)).toBe('500');
  }
});
