// The ETSI routes without Express, for the requests that need none of it: the server hands every request
// here first, and whatever this does not take goes to the Express app, untouched. It takes only requests
// whose answer it can give exactly as the app would: GET on /api/v1/keys/{SAE}/status, GET or POST on
// /api/v1/keys/{SAE}/enc_keys|dec_keys as written (no case or trailing-slash variants), no body or a JSON body (UTF-8, with a
// Content-Length within the limit, not compressed). Everything else (HEAD and other methods, chunked or
// compressed bodies, other content types, odd URLs, reserved names) is the app's, with its 405, 413, 415
// and 404 answers. The handlers are the same (etsiRoutes.ts), so are the JSON answers and their headers.
import type { IncomingMessage, ServerResponse } from 'node:http';
import { parse as parseQuery } from 'node:querystring';
import { handleEtsi, type EtsiCall, type EtsiRouteOptions } from './etsiRoutes.js';
import { noteErrorAnswer } from './logging.js';
import { RESERVED_SAE_IDS } from './poolRoutes.js';

export interface EtsiFastPathOptions extends EtsiRouteOptions {
  /** Largest accepted body in bytes; a larger one is left to the app (which answers 413). */
  readonly bodyLimitBytes: number;
  /** Told about any error that is the server's own bug (answered 500 with a JSON body, as the app does). */
  readonly onBug: (error: unknown) => void;
}

/** Takes the request (true) or leaves it to the app (false) without reading anything from it. */
export type EtsiFastPath = (req: IncomingMessage, res: ServerResponse) => boolean;

const ROUTE = /^\/api\/v1\/keys\/([^/]+)\/(status|enc_keys|dec_keys)$/;
// Characters for which Express's URL parsing (parseurl) leaves its fast path, and anything beyond ASCII.
const UNUSUAL_URL = /[\s#\u007f-\uffff]/;
// `application/json`, optionally with charset UTF-8: what the app's JSON parser reads as UTF-8.
const JSON_TYPE = /^application\/json(?:[ \t]*;[ \t]*charset=(?:utf-8|"utf-8"))?$/i;
const DIGITS = /^\d+$/;
const CONTENT_TYPE = 'application/json; charset=utf-8';

function decodeSegment(segment: string): string | null {
  if (!segment.includes('%')) return segment;
  try {
    return decodeURIComponent(segment);
  } catch {
    return null;
  }
}

function sendJson(res: ServerResponse, status: number, body: unknown): void {
  noteErrorAnswer(res, status, body);
  const text = JSON.stringify(body);
  res.writeHead(status, { 'Content-Type': CONTENT_TYPE, 'Content-Length': Buffer.byteLength(text) });
  res.end(text);
}

/** The body as the app's JSON parser (body-parser, strict) reads it; throws where it answers 400. */
function parseJsonBody(bytes: Buffer): unknown {
  let text = bytes.toString('utf8');
  // The parser's UTF-8 decoder drops a byte order mark.
  if (text.charCodeAt(0) === 0xfeff) text = text.slice(1);
  if (text.length === 0) return {};
  if (text[0] !== '{' && text[0] !== '[') {
    const first = /^[\x20\x09\x0a\x0d]*([^\x20\x09\x0a\x0d]|$)/.exec(text)?.[1];
    if (first !== '{' && first !== '[') throw new SyntaxError('strict violation');
  }
  return JSON.parse(text) as unknown;
}

export function createEtsiFastPath(options: EtsiFastPathOptions): EtsiFastPath {
  return (req, res) => {
    const { method, url, headers } = req;
    if ((method !== 'GET' && method !== 'POST') || url === undefined || !url.startsWith('/api/v1/keys/') || UNUSUAL_URL.test(url)) return false;
    const queryAt = url.indexOf('?');
    const match = ROUTE.exec(queryAt < 0 ? url : url.slice(0, queryAt));
    // status is GET only: its 405 is the app's.
    if (match === null || (match[2] === 'status' && method !== 'GET')) return false;
    const sae = decodeSegment(match[1] as string);
    if (sae === null || RESERVED_SAE_IDS.includes(sae)) return false;
    if (headers['transfer-encoding'] !== undefined || headers['content-encoding'] !== undefined) return false;
    const contentType = headers['content-type'];
    const isJson = contentType !== undefined && JSON_TYPE.test(contentType);
    if (contentType !== undefined && !isJson) return false;
    const contentLength = headers['content-length'];
    if (contentLength !== undefined && !DIGITS.test(contentLength)) return false;
    const length = contentLength === undefined ? 0 : Number(contentLength);
    if (length > 0 && (method === 'GET' || !isJson || length > options.bodyLimitBytes)) return false;

    const route = match[2] as EtsiCall['route'];
    const reply = (status: number, body: unknown): void => sendJson(res, status, body);
    const serve = (body: unknown): void => {
      const call: EtsiCall = { route, method, sae, query: parseQuery(queryAt < 0 ? '' : url.slice(queryAt + 1)), body, hasBody: length > 0, req };
      handleEtsi(options, call, reply).catch((error: unknown) => {
        options.onBug(error);
        if (res.headersSent) res.destroy();
        else sendJson(res, 500, { message: 'internal error' });
      });
    };
    if (length === 0) {
      // An empty body announced as JSON parses to {}, as in the app; none at all leaves it undefined.
      serve(contentLength !== undefined && isJson ? {} : undefined);
      return true;
    }
    const chunks: Buffer[] = [];
    let received = 0;
    let failed = false;
    const fail = (): void => {
      if (failed) return;
      failed = true;
      if (!res.headersSent) sendJson(res, 400, { message: 'request body could not be read' });
    };
    req.on('data', (chunk: Buffer) => {
      chunks.push(chunk);
      received += chunk.length;
    });
    req.on('error', fail);
    req.on('aborted', fail);
    req.once('end', () => {
      if (failed) return;
      if (received !== length) return fail();
      let body: unknown;
      try {
        body = parseJsonBody(chunks.length === 1 ? (chunks[0] as Buffer) : Buffer.concat(chunks, received));
      } catch {
        sendJson(res, 400, { message: 'request body is not valid JSON' });
        return;
      }
      serve(body);
    });
    return true;
  };
}
