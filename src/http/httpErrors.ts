// How answers are written, on either of the server's paths (the Express app or the ETSI fast path): every
// one as JSON with its length, errors from the one error table (errorTable.ts), so a client never meets
// HTML or text, and both paths send the same bytes for the same answer.
import type { ErrorRequestHandler } from 'express';
import type { ServerResponse } from 'node:http';
import type { KmeError } from '../model/kmeError.js';
import type { Profile } from '../model/profiles.js';
import type { ErrorBody } from '../model/wireSchema.js';
import { errorAnswer, requestReadError, transportAnswer, type TransportError } from './errorTable.js';
import { noteErrorAnswer } from './logging.js';
import type { Reply } from './routeTypes.js';

export const JSON_CONTENT_TYPE = 'application/json; charset=utf-8';

/** Every JSON answer; an error's message is noted for the request line (logging.ts). */
export function sendJson(res: ServerResponse, status: number, body: unknown, headers: Readonly<Record<string, string>> = {}): void {
  noteErrorAnswer(res, status, body);
  // Not Express's res.send: it answers 304 with no body to a GET with If-None-Match: *, after the handler
  // has already reserved or consumed the keys of the answer.
  const text = JSON.stringify(body);
  res.writeHead(status, { ...headers, 'Content-Type': JSON_CONTENT_TYPE, 'Content-Length': Buffer.byteLength(text) });
  res.end(text);
}

/** The ETSI Error body: a message, and details when there are any. */
export function errorBody(message: string, details?: ReadonlyArray<Record<string, unknown>>): ErrorBody {
  return details === undefined || details.length === 0 ? { message } : { message, details: details.map((d) => ({ ...d })) };
}

export function sendTransportError(res: ServerResponse, error: TransportError): void {
  const { status, body, headers } = transportAnswer(error);
  sendJson(res, status, body, headers);
}

/** The handlers' way to answer (routeTypes.ts), the same on both paths. */
/** Characters of lines written at once by `lines`. */
const LINES_CHUNK = 64 * 1024;

export function replyTo(res: ServerResponse, profile: () => Profile): Reply {
  return {
    json: (status, body) => sendJson(res, status, body),
    error: (error: KmeError | TransportError) => {
      const { status, body, headers } = errorAnswer(error, profile());
      sendJson(res, status, body, headers);
    },
    badRequest: (message, details) => sendJson(res, 400, errorBody(message, details)),
    text: (status, contentType, text) => {
      res.writeHead(status, { 'Content-Type': contentType, 'Content-Length': Buffer.byteLength(text) });
      res.end(text);
    },
    lines: (status, contentType, lines) => {
      res.writeHead(status, { 'Content-Type': contentType });
      let next = 0;
      const pump = (): void => {
        while (next < lines.length) {
          if (res.destroyed) return;
          let chunk = '';
          while (next < lines.length && chunk.length < LINES_CHUNK) chunk += `${lines[next++] as string}\n`;
          // A full socket buffer: go on once the client has read it, other requests are served meanwhile.
          if (!res.write(chunk)) {
            res.once('drain', pump);
            return;
          }
        }
        res.end();
      };
      pump();
    },
  };
}

/** Errors raised while reading a request become their table answer; anything else is our bug: a 500 with JSON. */
export function createErrorHandler(onBug: (error: unknown) => void): ErrorRequestHandler {
  return (error: unknown, _req, res, next) => {
    if (res.headersSent) return next(error);
    const refusal = requestReadError(error);
    if (refusal !== null) return sendTransportError(res, refusal);
    onBug(error);
    return sendTransportError(res, { kind: 'internal' });
  };
}
