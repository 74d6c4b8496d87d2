// Sends one fuzzed request exactly as planned: the path goes out byte for byte (no URL normalisation, so
// `..`, `%2e%2e` and `//` reach the server), headers may repeat, bodies carry their own Content-Length or
// go chunked. Requests a well-behaved client refuses to send (unknown methods, raw high bytes in the path,
// Content-Length with Transfer-Encoding) go over a bare TCP socket instead.
import { Agent, request, type IncomingHttpHeaders } from 'node:http';
import { connect } from 'node:net';

export interface RawRequest {
  /** Index of the KME (in RunningServer.kmes) the request goes to. */
  readonly kme: number;
  readonly method: string;
  readonly path: string;
  readonly headers: Readonly<Record<string, string | readonly string[]>>;
  readonly body?: Buffer;
  readonly chunked?: boolean;
  /** Write these bytes on a fresh TCP connection instead (the request line and headers are in them). */
  readonly wire?: Buffer;
}

export interface RawReply {
  readonly status: number;
  readonly headers: IncomingHttpHeaders;
  readonly body: Buffer;
}

export interface RawClient {
  send(req: RawRequest): Promise<RawReply>;
  close(): void;
}

const TIMEOUT_MS = 15_000;

function parseWireReply(bytes: Buffer): RawReply {
  const split = bytes.indexOf('\r\n\r\n');
  const head = bytes.subarray(0, split < 0 ? bytes.length : split).toString('latin1');
  const [statusLine = '', ...lines] = head.split('\r\n');
  const headers: IncomingHttpHeaders = {};
  for (const line of lines) {
    const colon = line.indexOf(':');
    if (colon > 0) headers[line.slice(0, colon).trim().toLowerCase()] = line.slice(colon + 1).trim();
  }
  return { status: Number(statusLine.split(' ')[1] ?? 0), headers, body: split < 0 ? Buffer.alloc(0) : bytes.subarray(split + 4) };
}

function sendWire(port: number, wire: Buffer): Promise<RawReply> {
  return new Promise((resolve, reject) => {
    const socket = connect(port, '127.0.0.1');
    const chunks: Buffer[] = [];
    socket.setTimeout(TIMEOUT_MS, () => socket.destroy(new Error(`no answer within ${TIMEOUT_MS} ms`)));
    socket.on('data', (chunk: Buffer) => chunks.push(chunk));
    socket.on('error', reject);
    socket.on('close', () => resolve(parseWireReply(Buffer.concat(chunks))));
    socket.end(wire);
  });
}

export function createRawClient(urls: readonly string[]): RawClient {
  const ports = urls.map((url) => Number(new URL(url).port));
  const agent = new Agent({ keepAlive: true, maxSockets: 8 });

  function once(req: RawRequest, port: number): Promise<RawReply & { retry?: boolean }> {
    return new Promise((resolve, reject) => {
      const headers: Record<string, string | string[]> = { Host: `127.0.0.1:${port}` };
      for (const [name, value] of Object.entries(req.headers)) headers[name] = typeof value === 'string' ? value : [...value];
      if (req.body !== undefined && req.chunked !== true) headers['Content-Length'] = String(req.body.length);
      if (req.chunked === true) headers['Transfer-Encoding'] = 'chunked';
      const outgoing = request({ host: '127.0.0.1', port, method: req.method, path: req.path, headers, agent, setHost: false }, (res) => {
        const chunks: Buffer[] = [];
        res.on('data', (chunk: Buffer) => chunks.push(chunk));
        res.on('end', () => resolve({ status: res.statusCode ?? 0, headers: res.headers, body: Buffer.concat(chunks) }));
        res.on('error', reject);
      });
      outgoing.setTimeout(TIMEOUT_MS, () => outgoing.destroy(new Error(`no answer within ${TIMEOUT_MS} ms`)));
      outgoing.on('error', (error: NodeJS.ErrnoException) => {
        // A kept-alive socket the server closed while idle: the request never reached it (Node's advice).
        if (outgoing.reusedSocket && error.code === 'ECONNRESET') resolve({ status: 0, headers: {}, body: Buffer.alloc(0), retry: true });
        else reject(error);
      });
      if (req.body === undefined) {
        outgoing.end();
      } else if (req.chunked === true) {
        // Several chunks, so the server sees a body whose length it learns only at the end.
        const step = Math.max(1, Math.ceil(req.body.length / 4));
        for (let at = 0; at < req.body.length; at += step) outgoing.write(req.body.subarray(at, at + step));
        outgoing.end();
      } else {
        outgoing.end(req.body);
      }
    });
  }

  return {
    async send(req) {
      const port = ports[req.kme] as number;
      if (req.wire !== undefined) return sendWire(port, req.wire);
      const first = await once(req, port);
      if (first.retry !== true) return first;
      return once(req, port);
    },
    close() {
      agent.destroy();
    },
  };
}
