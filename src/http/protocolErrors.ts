// What Node's HTTP server answers by itself, before Express sees a request: a request line or header it
// cannot parse (400), a request head past the size limit (431), an Expect it does not know (417), a
// request too slow to arrive (408). Node sends those without a body; here they carry the status, message
// and JSON Error body of the one error table (errorTable.ts), so a client never meets an empty or
// non-JSON error (C3, C41).
import { STATUS_CODES, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { Duplex } from 'node:stream';
import { parserError, transportAnswer, type TransportError } from './errorTable.js';
import { JSON_CONTENT_TYPE } from './httpErrors.js';

function answerOf(error: TransportError): { readonly status: number; readonly text: string } {
  const { status, body } = transportAnswer(error);
  return { status, text: JSON.stringify(body) };
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
    const { status, text } = answerOf(parserError(error.code));
    socket.end(
      `HTTP/1.1 ${status} ${STATUS_CODES[status] ?? ''}\r\nContent-Type: ${JSON_CONTENT_TYPE}\r\n` +
        `Content-Length: ${Buffer.byteLength(text)}\r\nConnection: close\r\n\r\n${text}`,
    );
  });
  // With a listener Node leaves unknown expectations to us instead of sending a bare 417.
  server.on('checkExpectation', (_req: IncomingMessage, res: ServerResponse) => {
    const { status, text } = answerOf({ kind: 'unsupportedExpect' });
    res.writeHead(status, { 'Content-Type': JSON_CONTENT_TYPE, 'Content-Length': Buffer.byteLength(text), Connection: 'close' });
    res.end(text);
  });
}
