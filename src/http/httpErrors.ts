// The one place HTTP errors take shape: domain errors through the KmeError table, transport and format
// errors (404, 405, 413, 415, malformed JSON) as the same ETSI Error body, so a client never meets HTML.
import type { ErrorRequestHandler, Request, Response } from 'express';
import { toEtsiError, type KmeError } from '../model/kmeError.js';
import type { Profile } from '../model/profiles.js';
import type { ErrorBody } from '../model/wireSchema.js';
import { noteErrorAnswer } from './logging.js';

/** Every JSON answer; an error's message is noted for the request line (logging.ts). */
export function sendJson(res: Response, status: number, body: unknown): void {
  noteErrorAnswer(res, status, body);
  // Not res.send: it answers 304 with no body to a GET with If-None-Match: *, after the handler has
  // already reserved or consumed the keys of the answer.
  const text = JSON.stringify(body);
  res.status(status).set('Content-Type', 'application/json; charset=utf-8').set('Content-Length', String(Buffer.byteLength(text))).end(text);
}

/** The ETSI Error body: a message, and details when there are any. */
export function errorBody(message: string, details?: ReadonlyArray<Record<string, unknown>>): ErrorBody {
  return details === undefined || details.length === 0 ? { message } : { message, details: details.map((d) => ({ ...d })) };
}

export function sendError(res: Response, status: number, message: string, details?: ReadonlyArray<Record<string, unknown>>): void {
  sendJson(res, status, errorBody(message, details));
}

/** A handler for every method a route does not take: 405, its Allow header and an Error body. */
export function methodNotAllowed(allow: string) {
  return (_req: Request, res: Response): void => {
    res.setHeader('Allow', allow);
    sendError(res, 405, `method not allowed (allowed: ${allow})`);
  };
}

export function sendKmeError(res: Response, error: KmeError, profile: Profile): void {
  const { status, body } = toEtsiError(error, profile);
  sendJson(res, status, body);
}

interface BodyParserError {
  readonly type?: string;
  readonly status?: number;
}

/** Errors from body parsing become 400/413/415 Error bodies; anything else is our bug: a 500 with JSON. */
export function createErrorHandler(onBug: (error: unknown) => void): ErrorRequestHandler {
  return (error: unknown, _req, res, next) => {
    if (res.headersSent) return next(error);
    const parser = error as BodyParserError;
    switch (parser.type) {
      case 'entity.parse.failed':
        return sendError(res, 400, 'request body is not valid JSON');
      case 'entity.too.large':
        return sendError(res, 413, 'request body too large');
      case 'encoding.unsupported':
      case 'charset.unsupported':
        return sendError(res, 415, 'unsupported body encoding');
      case 'request.aborted':
      case 'request.size.invalid':
      case 'stream.encoding.set':
        return sendError(res, 400, 'request body could not be read');
      // Not a body parser's error, or a kind not named above: judged by its status below.
      case undefined:
      default:
        break;
    }
    if (parser.status !== undefined && parser.status >= 400 && parser.status < 500) return sendError(res, parser.status, 'bad request');
    onBug(error);
    return sendError(res, 500, 'internal error');
  };
}
