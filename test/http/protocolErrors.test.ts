// Requests Node's HTTP parser refuses before Express sees them (an unknown method, bytes a URL may not
// hold, headers past the size limit, Content-Length together with Transfer-Encoding, an unknown Expect)
// still get a JSON Error body (C3, C41). Each test writes raw bytes on a TCP socket to a server started
// in-process on port 0, because a well-behaved HTTP client would refuse to send them.
import { connect } from 'node:net';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { startServer, type RunningServer } from '../../src/http/startServer.js';
import { errorSchema } from '../../src/model/wireSchema.js';

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
