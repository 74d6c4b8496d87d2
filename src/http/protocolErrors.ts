// What Node's HTTP server answers by itself, before Express sees a request: a request line or header it
// cannot parse (400), a request head past the size limit (431), an Expect it does not know (417), a
// request too slow to arrive (408). Node sends those without a body; here they carry the same JSON Error
// body as every other answer, so a client never meets an empty or non-JSON error (C3, C41).
import type { IncomingMessage, Server, ServerResponse } from 'node:http';
import type { Duplex } from 'node:stream';
import { errorBody } from './httpErrors.js';

interface ProtocolAnswer {
  readonly status: number;
  readonly reason: string;
  readonly message: string;
}

// The same codes Node picks by default, keyed by its parser's error codes.
const PARSER_ANSWERS: Readonly<Record<string, ProtocolAnswer>> = {
  HPE_HEADER_OVERFLOW: { status: 431, reason: 'Request Header Fields Too Large', message: 'request line and headers are too large' },
  HPE_CHUNK_EXTENSIONS_OVERFLOW: { status: 413, reason: 'Payload Too Large', message: 'chunk extensions are too large' },
  ERR_HTTP_REQUEST_TIMEOUT: { status: 408, reason: 'Request Timeout', message: 'request timed out' },
};
const MALFORMED: ProtocolAnswer = { status: 400, reason: 'Bad Request', message: 'malformed HTTP request' };

function errorJson(message: string): string {
  return JSON.stringify(errorBody(message));
}

/** Makes the server's own protocol-level answers JSON Error bodies. Call once per server, before listen. */
export function answerProtocolErrorsAsJson(server: Server): void {
  server.on('clientError', (error: NodeJS.ErrnoException, socket: Duplex) => {
    // Nothing can be said to a peer that reset the connection, nor once a response has begun on it.
    const inFlight = (socket as Duplex & { _httpMessage?: ServerResponse | null })._httpMessage;
    if (error.code === 'ECONNRESET' || !socket.writable || inFlight?.headersSent === true) {
      socket.destroy();
      return;
    }
    const answer = PARSER_ANSWERS[error.code ?? ''] ?? MALFORMED;
    const body = errorJson(answer.message);
    socket.end(
      `HTTP/1.1 ${answer.status} ${answer.reason}\r\nContent-Type: application/json; charset=utf-8\r\n` +
        `Content-Length: ${Buffer.byteLength(body)}\r\nConnection: close\r\n\r\n${body}`,
    );
  });
  // With a listener Node leaves unknown expectations to us instead of sending a bare 417.
  server.on('checkExpectation', (_req: IncomingMessage, res: ServerResponse) => {
    const body = errorJson('unsupported Expect header (only 100-continue is supported)');
    res.writeHead(417, { 'Content-Type': 'application/json; charset=utf-8', 'Content-Length': Buffer.byteLength(body), Connection: 'close' });
    res.end(body);
  });
}
