// Requests Node's HTTP parser refuses before Express sees them (an unknown method, bytes a URL may not
// hold, headers past the size limit, Content-Length together with Transfer-Encoding, an unknown Expect, an
// HTTP/1.1 request without Host, CONNECT) still get a JSON Error body (C3, C41), and only after the answers
// to the requests pipelined before them on the same connection. Each test writes raw bytes on a TCP
// socket to a server started in-process on port 0, because a well-behaved HTTP client would refuse to
// send them.
import { connect } from 'node:net';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { startServer, type RunningServer } from '../../src/http/startServer.js';
import { errorSchema } from '../../src/model/wireSchema.js';
import { rawChunkedRequest, rawRequest, sendPipelined, type PipelinedReply } from './pipelinedRequests.js';

interface RawReply {
  readonly status: number;
  readonly headers: ReadonlyMap<string, string>;
  readonly body: string;
}

let server: RunningServer;
let port: number;

beforeAll(async () => {
  server = await startServer({ kmes: 1, port: 0, seed: 1, clock: 'manual' });
  port = Number(new URL((server.kmes[0] as { url: string }).url).port);
});

afterAll(() => server.close());

/** Writes `head` (latin1) and reads until the server closes the connection. */
function sendRaw(head: string): Promise<RawReply> {
  return new Promise((resolve, reject) => {
    const socket = connect(port, '127.0.0.1');
    const chunks: Buffer[] = [];
    socket.setTimeout(5_000, () => socket.destroy(new Error('no answer within 5 s')));
    socket.on('data', (chunk) => chunks.push(chunk));
    socket.on('error', reject);
    socket.on('close', () => {
      const text = Buffer.concat(chunks).toString('utf8');
      const split = text.indexOf('\r\n\r\n');
      const [statusLine = '', ...headerLines] = text.slice(0, split < 0 ? text.length : split).split('\r\n');
      const headers = new Map(
        headerLines.map((line) => [line.slice(0, line.indexOf(':')).trim().toLowerCase(), line.slice(line.indexOf(':') + 1).trim()] as const),
      );
      resolve({ status: Number(statusLine.split(' ')[1]), headers, body: split < 0 ? '' : text.slice(split + 4) });
    });
    socket.end(Buffer.from(head, 'latin1'));
  });
}

function expectJsonError(reply: RawReply, status: number): void {
  expect(reply.status).toBe(status);
  expect(reply.headers.get('content-type')).toBe('application/json; charset=utf-8');
  expect(Number(reply.headers.get('content-length'))).toBe(Buffer.byteLength(reply.body));
  expect(errorSchema.strict().safeParse(JSON.parse(reply.body)).success).toBe(true);
}

const HOST = 'Host: 127.0.0.1\r\nX-SAE-ID: SAE_A1\r\n';

it('C41 answers an unknown method with a JSON 400', async () => {
  expectJsonError(await sendRaw(`FOO /api/v1/keys/SAE_A2/status HTTP/1.1\r\n${HOST}\r\n`), 400);
});

it('C41 answers raw non-ASCII bytes in the path with a JSON 400', async () => {
  expectJsonError(await sendRaw(`GET /api/v1/keys/\xe9\xff/status HTTP/1.1\r\n${HOST}\r\n`), 400);
});

it('C41 answers Content-Length together with Transfer-Encoding with a JSON 400', async () => {
  const head = `POST /api/v1/keys/SAE_A2/enc_keys HTTP/1.1\r\n${HOST}Content-Type: application/json\r\nContent-Length: 2\r\nTransfer-Encoding: chunked\r\n\r\n2\r\n{}\r\n0\r\n\r\n`;
  expectJsonError(await sendRaw(head), 400);
});

it('C41 answers a path beyond the header size limit with a JSON 431', async () => {
  expectJsonError(await sendRaw(`GET /api/v1/keys/${'x'.repeat(20_000)}/status HTTP/1.1\r\n${HOST}\r\n`), 431);
});

it('C41 answers an unknown Expect with a JSON 417', async () => {
  expectJsonError(await sendRaw(`GET /api/v1/keys/SAE_A2/status HTTP/1.1\r\n${HOST}Expect: something-else\r\nConnection: close\r\n\r\n`), 417);
});

it('still answers a well-formed request on the same server', async () => {
  const reply = await sendRaw(`GET /api/v1/keys/SAE_A2/status HTTP/1.1\r\n${HOST}Connection: close\r\n\r\n`);
  expect(reply.status).toBe(200);
  expect((JSON.parse(reply.body) as { slave_SAE_ID: string }).slave_SAE_ID).toBe('SAE_A2');
});

// Pipelining: requests in one write, the last of them refused by the server's protocol-level answers. Each
// request before the refusal keeps its own answer, in order, and the keys an enc_keys reserved reach the client.

const ENC = '/api/v1/keys/SAE_A2/enc_keys';

interface PoolCounts {
  readonly id: string;
  readonly reserved: number;
  readonly consumed: number;
}

/** Keys reserved or consumed so far in SAE_A2's pool: every key an enc_keys has taken from it. */
async function keysTaken(): Promise<number> {
  const state = (await (await fetch(`${server.admin}/state`)).json()) as { pools: PoolCounts[] };
  const pool = state.pools.find((entry) => entry.id === 'KME_A~KME_A/SAE_A2');
  if (pool === undefined) throw new Error('no pool for SAE_A2');
  return pool.reserved + pool.consumed;
}

function keysIn(reply: PipelinedReply): string[] {
  return (JSON.parse(reply.body) as { keys: Array<{ key_ID: string }> }).keys.map((key) => key.key_ID);
}

function expectPipelinedJsonError(reply: PipelinedReply | undefined, status: number): void {
  expect(reply?.status).toBe(status);
  expect(reply?.headers.get('content-type')).toBe('application/json; charset=utf-8');
  expect(errorSchema.strict().safeParse(JSON.parse(reply?.body ?? '')).success).toBe(true);
}

for (const [path, enc] of [
  ['the ETSI fast path', rawRequest('POST', ENC, 'SAE_A1', { number: 2 })],
  ['the Express app (chunked body)', rawChunkedRequest('POST', ENC, 'SAE_A1', { number: 2 })],
] as const) {
  it(`answers an enc_keys served by ${path} before the JSON 400 of a malformed request pipelined after it, with the keys it reserved`, async () => {
    const before = await keysTaken();
    const replies = await sendPipelined(port, [enc, 'FOO / HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n']);
    expect(replies.map((reply) => reply.status)).toEqual([200, 400]);
    expect(keysIn(replies[0] as PipelinedReply)).toHaveLength(2);
    expectPipelinedJsonError(replies[1], 400);
    expect(await keysTaken()).toBe(before + 2);
  });
}

it('C41 answers an HTTP/1.1 request without Host with a JSON 400, and serves an HTTP/1.0 one', async () => {
  expectJsonError(await sendRaw('GET /api/v1/keys/SAE_A2/status HTTP/1.1\r\nX-SAE-ID: SAE_A1\r\n\r\n'), 400);
  const old = await sendRaw('GET /api/v1/keys/SAE_A2/status HTTP/1.0\r\nX-SAE-ID: SAE_A1\r\n\r\n');
  expect(old.status).toBe(200);
});

it('C41 answers a pipelined enc_keys, then the JSON 400 of the request after it that lacks Host, and takes no keys for that one', async () => {
  const before = await keysTaken();
  const replies = await sendPipelined(port, [rawRequest('POST', ENC, 'SAE_A1', { number: 1 }), `POST ${ENC} HTTP/1.1\r\nX-SAE-ID: SAE_A1\r\nContent-Length: 0\r\n\r\n`]);
  expect(replies.map((reply) => reply.status)).toEqual([200, 400]);
  expectPipelinedJsonError(replies[1], 400);
  expect(await keysTaken()).toBe(before + keysIn(replies[0] as PipelinedReply).length);
});

it('C41 answers CONNECT with a JSON 405 and an empty Allow instead of closing the connection in silence', async () => {
  const reply = await sendRaw('CONNECT example.org:443 HTTP/1.1\r\nHost: example.org:443\r\n\r\n');
  expectJsonError(reply, 405);
  expect(reply.headers.get('allow')).toBe('');
});

it('answers a pipelined enc_keys before the JSON 405 of a CONNECT after it, with the keys it reserved', async () => {
  const before = await keysTaken();
  const replies = await sendPipelined(port, [rawRequest('POST', ENC, 'SAE_A1', { number: 3 }), 'CONNECT example.org:443 HTTP/1.1\r\nHost: example.org:443\r\n\r\n']);
  expect(replies.map((reply) => reply.status)).toEqual([200, 405]);
  expectPipelinedJsonError(replies[1], 405);
  expect(await keysTaken()).toBe(before + 3);
});
