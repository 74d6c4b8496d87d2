// Pipelined requests with a hostile one at the end: a few sequences of valid ETSI requests (enc_keys on the
// fast path, through the Express app and by GET; dec_keys; status) written in one TCP write, followed by a
// request the server refuses at the protocol level (garbage, a malformed request line, Content-Length with
// Transfer-Encoding, no Host, CONNECT, a head past the size limit) or by a well-formed last request. Every
// valid request must get its own answer, in order, before the refusal; and the keys the world counts as
// taken (reserved or consumed, from /_kmesim/state) must be exactly the keys that reached the client.
import { afterAll, beforeAll, expect, it } from 'vitest';
import { startServer, type RunningServer } from '../../src/http/startServer.js';
import { errorSchema } from '../../src/model/wireSchema.js';
import { rawChunkedRequest, rawRequest, sendPipelined, type PipelinedReply } from '../http/pipelinedRequests.js';

const ENC = '/api/v1/keys/SAE_A2/enc_keys';
const DEC = '/api/v1/keys/SAE_A1/dec_keys';
const STATUS = '/api/v1/keys/SAE_A2/status';

let server: RunningServer;
let port: number;

beforeAll(async () => {
  server = await startServer({ kmes: 1, port: 0, seed: 13, clock: 'manual' });
  port = Number(new URL((server.kmes[0] as { url: string }).url).port);
});

afterAll(() => server.close());

interface Taken {
  /** Keys enc_keys took from SAE_A2's pool (reserved and waiting, or since consumed). */
  readonly taken: number;
  readonly consumed: number;
}

async function pool(): Promise<Taken> {
  const state = (await (await fetch(`${server.admin}/state`)).json()) as { pools: Array<{ id: string; reserved: number; consumed: number }> };
  const found = state.pools.find((entry) => entry.id === 'KME_A~KME_A/SAE_A2');
  if (found === undefined) throw new Error('no pool for SAE_A2');
  return { taken: found.reserved + found.consumed, consumed: found.consumed };
}

function keyIdsOf(reply: PipelinedReply | undefined): string[] {
  return (JSON.parse(reply?.body ?? '{}') as { keys?: Array<{ key_ID: string }> }).keys?.map((key) => key.key_ID) ?? [];
}

/** One key reserved beforehand on its own connection, for a dec_keys in a pipeline. */
async function reserveOne(): Promise<string> {
  const [reply] = await sendPipelined(port, [rawRequest('POST', ENC, 'SAE_A1', { number: 1 }, 'Connection: close\r\n')]);
  const [keyId] = keyIdsOf(reply);
  if (keyId === undefined) throw new Error(`no key reserved: ${reply?.status} ${reply?.body}`);
  return keyId;
}

const CLOSE = 'Connection: close\r\n';

/** Requests after which the server closes the connection, and the status each is answered with. */
const ENDINGS: ReadonlyArray<{ readonly name: string; readonly request: string; readonly status: number }> = [
  { name: 'garbage bytes', request: '\x00\x01\xfe\xff garbage\r\n\r\n', status: 400 },
  { name: 'an unknown method', request: 'FOO / HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n', status: 400 },
  { name: 'Content-Length with Transfer-Encoding', request: `POST ${ENC} HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Length: 2\r\nTransfer-Encoding: chunked\r\n\r\n2\r\n{}\r\n0\r\n\r\n`, status: 400 },
  { name: 'no Host', request: `POST ${ENC} HTTP/1.1\r\nX-SAE-ID: SAE_A1\r\nContent-Type: application/json\r\nContent-Length: 12\r\n\r\n{"number":1}`, status: 400 },
  { name: 'CONNECT', request: 'CONNECT 127.0.0.1:443 HTTP/1.1\r\nHost: 127.0.0.1:443\r\n\r\n', status: 405 },
  { name: 'a head past the size limit', request: `GET /api/v1/keys/${'x'.repeat(20_000)}/status HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n`, status: 431 },
  { name: 'a body that is not JSON, asking to close', request: rawRequest('POST', ENC, 'SAE_A1', undefined, `Content-Type: application/json\r\nContent-Length: 5\r\n${CLOSE}`) + '{"n":', status: 400 },
];

interface Sequence {
  readonly name: string;
  /** The valid requests, with the status and the number of keys each answer must carry. */
  readonly valid: (keyId: string) => ReadonlyArray<{ readonly request: string; readonly status: number; readonly keys: number }>;
}

const SEQUENCES: readonly Sequence[] = [
  { name: 'one enc_keys', valid: () => [{ request: rawRequest('POST', ENC, 'SAE_A1', { number: 2 }), status: 200, keys: 2 }] },
  {
    name: 'enc_keys then dec_keys',
    valid: (keyId) => [
      { request: rawRequest('POST', ENC, 'SAE_A1', { number: 3 }), status: 200, keys: 3 },
      { request: rawRequest('POST', DEC, 'SAE_A2', { key_IDs: [{ key_ID: keyId }] }), status: 200, keys: 1 },
    ],
  },
  {
    name: 'three valid requests (fast path, Express, GET)',
    valid: () => [
      { request: rawRequest('POST', ENC, 'SAE_A1', { number: 1 }), status: 200, keys: 1 },
      { request: rawChunkedRequest('POST', ENC, 'SAE_A1', { number: 2 }), status: 200, keys: 2 },
      { request: rawRequest('GET', `${ENC}?number=4`, 'SAE_A1'), status: 200, keys: 4 },
    ],
  },
  { name: 'status then enc_keys', valid: () => [{ request: rawRequest('GET', STATUS, 'SAE_A1'), status: 200, keys: 0 }, { request: rawRequest('POST', ENC, 'SAE_A1', {}), status: 200, keys: 1 }] },
];

for (const sequence of SEQUENCES) {
  it(`answers every request of ${sequence.name} in order before each refusal, and every key taken reached the client`, async () => {
    const delivered = new Set<string>();
    for (const ending of ENDINGS) {
      const keyId = await reserveOne();
      delivered.add(keyId);
      const before = await pool();
      const valid = sequence.valid(keyId);
      const replies = await sendPipelined(port, [...valid.map((step) => step.request), ending.request]);
      const context = `${sequence.name}, then ${ending.name}`;
      expect(replies.map((reply) => reply.status), context).toEqual([...valid.map((step) => step.status), ending.status]);
      const last = replies[replies.length - 1] as PipelinedReply;
      expect(last.headers.get('content-type'), context).toBe('application/json; charset=utf-8');
      expect(errorSchema.strict().safeParse(JSON.parse(last.body)).success, context).toBe(true);
      let received = 0;
      let decrypted = 0;
      for (const [index, step] of valid.entries()) {
        const ids = keyIdsOf(replies[index]);
        expect(ids, context).toHaveLength(step.keys);
        if (step.request.includes('/dec_keys')) {
          expect(ids, context).toEqual([keyId]);
          decrypted += ids.length;
          continue;
        }
        for (const id of ids) {
          expect(delivered.has(id), `${context}: ${id} delivered twice`).toBe(false);
          delivered.add(id);
        }
        received += ids.length;
      }
      const after = await pool();
      // Nothing taken that was not answered, and nothing answered that was not taken.
      expect(after.taken - before.taken, context).toBe(received);
      expect(after.consumed - before.consumed, context).toBe(decrypted);
    }
  });
}
