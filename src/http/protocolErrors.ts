// What Node's HTTP server answers by itself, before Express sees a request: a request line or header it
// cannot parse (400), a request head past the size limit (431), an Expect it does not know (417), a
// request too slow to arrive (408), an HTTP/1.1 request without Host (400), and CONNECT (which it meets by
// closing the connection without a word). Node sends those without a body; here they carry the status,
// message and JSON Error body of the one error table (errorTable.ts), so a client never meets an empty or
// non-JSON error (C3, C41).
//
// A refusal that ends the connection waits for the answers to the requests before it on that connection
// (pipelined in the same write): those requests may have reserved keys, and their answers are the only
// way the keys reach the client. Only once every earlier answer is on the wire does the refusal follow.
import { STATUS_CODES, type IncomingMessage, type RequestListener, type Server, type ServerResponse } from 'node:http';
import type { Duplex } from 'node:stream';
import { parserError, transportAnswer, type TransportError } from './errorTable.js';
import { JSON_CONTENT_TYPE, sendJson } from './httpErrors.js';

/** A socket of Node's HTTP server: the response being written on it, if any (later ones wait their turn). */
type HttpSocket = Duplex & { _httpMessage?: ServerResponse | null };

/** The whole answer as bytes for a socket the HTTP machinery has let go of, closing the connection. */
function rawAnswer(error: TransportError): string {
  const { status, body, headers } = transportAnswer(error);
  const text = JSON.stringify(body);
  const extra = Object.entries(headers)
    .map(([name, value]) => `${name}: ${value}\r\n`)
    .join('');
  return (
    `HTTP/1.1 ${status} ${STATUS_CODES[status] ?? ''}\r\n${extra}Content-Type: ${JSON_CONTENT_TYPE}\r\n` +
    `Content-Length: ${Buffer.byteLength(text)}\r\nConnection: close\r\n\r\n${text}`
  );
}

/**
 * Calls `then` once no answer to an earlier, completely received request on this socket is still to be
 * written: at once when there is none, else when the last of them has finished (Node hands the socket to
 * the next queued response as each one finishes) or the connection has closed under them. A response to
 * a request the error cut short is no earlier answer: its request will never complete.
 */
function afterEarlierAnswers(socket: Duplex, then: () => void): void {
  const pending = (socket as HttpSocket)._httpMessage;
  if (pending === null || pending === undefined || !pending.req.complete) {
    then();
    return;
  }
  let settled = false;
  const next = (): void => {
    if (settled) return;
    settled = true;
    // Node detaches a finished response from its socket before this listener runs (its own came first).
    if ((socket as HttpSocket)._httpMessage === pending) then();
    else afterEarlierAnswers(socket, then);
  };
  pending.once('finish', next);
  pending.once('close', next);
}

/** Writes `error` once the earlier answers are out, and ends the connection. */
function refuseAfterEarlierAnswers(socket: Duplex, error: TransportError): void {
  afterEarlierAnswers(socket, () => {
    // Nothing can be said once an answer has begun on the connection and will not be completed.
    const cut = (socket as HttpSocket)._httpMessage;
    if (socket.writable && cut?.headersSent !== true) socket.end(rawAnswer(error));
    else socket.destroy();
  });
}

/** Answers through the response (in its turn on the connection) and closes the connection after it. */
function answerAndClose(res: ServerResponse, error: TransportError): void {
  const { status, body, headers } = transportAnswer(error);
  sendJson(res, status, body, { ...headers, Connection: 'close' });
}

function lacksHost(req: IncomingMessage): boolean {
  return req.httpVersionMajor === 1 && req.httpVersionMinor === 1 && req.headers.host === undefined;
}

/**
 * Answers an HTTP/1.1 request without Host in JSON instead of Node's empty 400: Node's own check is
 * switched off and this one put in front of the request listeners already attached, in the response
 * queue of its connection like any other answer.
 */
function answerMissingHost(server: Server): void {
  const listeners = server.listeners('request') as RequestListener[];
  if (listeners.length === 0) throw new Error('answerProtocolErrorsAsJson: attach the request listener first');
  // The instance property behind http.createServer's requireHostHeader option, read at every request.
  (server as Server & { requireHostHeader: boolean }).requireHostHeader = false;
  server.removeAllListeners('request');
  server.on('request', (req: IncomingMessage, res: ServerResponse) => {
    if (lacksHost(req)) answerAndClose(res, { kind: 'missingHost' });
    else for (const listener of listeners) listener.call(server, req, res);
  });
}

/**
 * Makes the server's own protocol-level answers JSON Error bodies. Call once per server, after its
 * request listener is attached and before it listens.
 */
export function answerProtocolErrorsAsJson(server: Server): void {
  answerMissingHost(server);
  // Sockets whose refusal is decided (it may be waiting for earlier answers): later parser errors add nothing.
  const refused = new WeakSet<Duplex>();
  server.on('clientError', (error: NodeJS.ErrnoException, socket: Duplex) => {
    if (refused.has(socket)) return;
    // Nothing can be said to a peer that reset the connection.
    if (error.code === 'ECONNRESET' || !socket.writable) {
      socket.destroy();
      return;
    }
    refused.add(socket);
    refuseAfterEarlierAnswers(socket, parserError(error.code));
  });
  // With a listener Node leaves unknown expectations to us instead of sending a bare 417.
  server.on('checkExpectation', (req: IncomingMessage, res: ServerResponse) => {
    // Node checks Host before Expect; so does this.
    answerAndClose(res, lacksHost(req) ? { kind: 'missingHost' } : { kind: 'unsupportedExpect' });
  });
  // Without a listener Node closes a CONNECT's connection without an answer. Node has let go of the
  // socket here: it needs its own error handling, and what the client sends after is read and dropped so
  // that its end closes the connection.
  server.on('connect', (_req: IncomingMessage, socket: Duplex) => {
    socket.on('error', () => socket.destroy());
    socket.resume();
    refuseAfterEarlierAnswers(socket, { kind: 'connectNotSupported' });
  });
}
