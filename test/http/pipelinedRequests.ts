// Requests pipelined on one TCP connection, as raw bytes in a single write, and the answers read back in
// order until the server closes the connection. Each answer is split off by its Content-Length (or its
// chunks), so a test can tell which request an answer belongs to and whether any is missing.
import { connect } from 'node:net';

export interface PipelinedReply {
  readonly status: number;
  /** Header names in lower case. */
  readonly headers: ReadonlyMap<string, string>;
  readonly body: string;
}

const HEAD_END = '\r\n\r\n';

/** The answers in `bytes`, in order; bytes that do not make a whole answer are ignored. */
export function parseReplies(bytes: Buffer): PipelinedReply[] {
  const replies: PipelinedReply[] = [];
  let at = 0;
  while (at < bytes.length) {
    const headEnd = bytes.indexOf(HEAD_END, at, 'latin1');
    if (headEnd < 0) break;
    const [statusLine = '', ...lines] = bytes.subarray(at, headEnd).toString('latin1').split('\r\n');
    const headers = new Map(lines.map((line) => [line.slice(0, line.indexOf(':')).trim().toLowerCase(), line.slice(line.indexOf(':') + 1).trim()] as const));
    let bodyAt = headEnd + HEAD_END.length;
    let body: Buffer;
    if (headers.get('transfer-encoding')?.toLowerCase() === 'chunked') {
      const chunks: Buffer[] = [];
      for (;;) {
        const sizeEnd = bytes.indexOf('\r\n', bodyAt, 'latin1');
        if (sizeEnd < 0) return replies;
        const size = Number.parseInt(bytes.subarray(bodyAt, sizeEnd).toString('latin1'), 16);
        bodyAt = sizeEnd + 2 + size + 2;
        if (size === 0) break;
        chunks.push(bytes.subarray(sizeEnd + 2, sizeEnd + 2 + size));
      }
      body = Buffer.concat(chunks);
    } else {
      const length = Number(headers.get('content-length') ?? 0);
      body = bytes.subarray(bodyAt, bodyAt + length);
      bodyAt += length;
    }
    replies.push({ status: Number(statusLine.split(' ')[1]), headers, body: body.toString('utf8') });
    at = bodyAt;
  }
  return replies;
}

/**
 * Writes `requests` (latin1) in one write on a fresh connection to 127.0.0.1:`port` and reads until the
 * server closes it (the last request should close the connection: a refusal does, or `Connection: close`).
 */
export function sendPipelined(port: number, requests: readonly string[]): Promise<PipelinedReply[]> {
  return new Promise((resolve, reject) => {
    const socket = connect(port, '127.0.0.1');
    const chunks: Buffer[] = [];
    socket.setTimeout(10_000, () => socket.destroy(new Error('the server did not close the connection within 10 s')));
    socket.on('data', (chunk) => chunks.push(chunk));
    socket.on('error', reject);
    socket.on('close', () => resolve(parseReplies(Buffer.concat(chunks))));
    socket.write(Buffer.from(requests.join(''), 'latin1'));
  });
}

/** A raw HTTP/1.1 request with a JSON body (or none), identified by the X-SAE-ID header. */
export function rawRequest(method: string, path: string, sae: string, body?: unknown, extraHeaders = ''): string {
  const text = body === undefined ? '' : JSON.stringify(body);
  const bodyHeaders = body === undefined ? '' : `Content-Type: application/json\r\nContent-Length: ${Buffer.byteLength(text)}\r\n`;
  return `${method} ${path} HTTP/1.1\r\nHost: 127.0.0.1\r\nX-SAE-ID: ${sae}\r\n${bodyHeaders}${extraHeaders}\r\n${text}`;
}

/** The same request with its JSON body in chunks, which the ETSI fast path leaves to the Express app. */
export function rawChunkedRequest(method: string, path: string, sae: string, body: unknown): string {
  const text = JSON.stringify(body);
  const half = Math.floor(text.length / 2);
  const chunk = (part: string): string => `${Buffer.byteLength(part).toString(16)}\r\n${part}\r\n`;
  return (
    `${method} ${path} HTTP/1.1\r\nHost: 127.0.0.1\r\nX-SAE-ID: ${sae}\r\nContent-Type: application/json\r\nTransfer-Encoding: chunked\r\n\r\n` +
    `${chunk(text.slice(0, half))}${chunk(text.slice(half))}0\r\n\r\n`
  );
}
