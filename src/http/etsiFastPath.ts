// The route table's fast operations (the ETSI routes) without Express, for the requests that need none of
// it: the server hands every request here first, and whatever this does not take goes to the Express app,
// untouched. Its matcher is derived from the table: it takes a request only for an operation the table
// marks `fast`, on the path as written (no case or trailing-slash variants), when no other route the app
// serves could match the same path (`/api/v1/keys/km/status` under the per-user-pool profile), with no body
// or a JSON body (UTF-8, with a Content-Length within the limit, not compressed). Everything else (HEAD and
// other methods, chunked or compressed bodies, other content types, odd URLs) is the app's, with its 405,
// 413, 415 and 404 answers. The handlers, the answers and the error table are the same.
import { MAX_BODY_DEPTH, nestsDeeperThan } from './bodyDepth.js';
import type { IncomingMessage, ServerResponse } from 'node:http';
import { parse as parseQuery } from 'node:querystring';
import { replyTo, sendTransportError } from './httpErrors.js';
import { literalPrefix, operationsOf, pathParameters, pathPattern, templatesOverlap } from './routePaths.js';
import type { Operation, RouteCall, RouteContext, RouteDef } from './routeTypes.js';

export interface EtsiFastPathOptions {
  /** The app's context: its routes decide what the fast path may take. */
  readonly ctx: RouteContext;
  /** Largest accepted body in bytes; a larger one is left to the app (which answers 413). */
  readonly bodyLimitBytes: number;
  /** Told about any error that is the server's own bug (answered 500 with a JSON body, as the app does). */
  readonly onBug: (error: unknown) => void;
}

/** Takes the request (true) or leaves it to the app (false) without reading anything from it. */
export type EtsiFastPath = (req: IncomingMessage, res: ServerResponse) => boolean;

interface FastRoute {
  /** The path as written, parameters captured raw. */
  readonly pattern: RegExp;
  readonly parameters: readonly string[];
  readonly operations: ReadonlyMap<string, Operation>;
  /** Other routes' paths that can match the same requests (as Express matches: ignoring case): the app's. */
  readonly shadows: readonly RegExp[];
}

/** The fast path's routes: those of `routes` with a fast operation, each with only its fast operations. */
export function fastRoutes(routes: readonly RouteDef[]): FastRoute[] {
  return routes.flatMap((route) => {
    const operations = new Map(operationsOf(route).filter(([, operation]) => operation.fast === true));
    if (operations.size === 0) return [];
    const shadows = routes.filter((other) => other !== route && templatesOverlap(other.path, route.path)).map((other) => pathPattern(other.path, true));
    return [{ pattern: pathPattern(route.path, false), parameters: pathParameters(route.path), operations, shadows }];
  });
}

// Characters for which Express's URL parsing (parseurl) leaves its fast path, and anything beyond ASCII.
const UNUSUAL_URL = /[\s#\u007f-\uffff]/;
// `application/json`, optionally with charset UTF-8: what the app's JSON parser reads as UTF-8.
const JSON_TYPE = /^application\/json(?:[ \t]*;[ \t]*charset=(?:utf-8|"utf-8"))?$/i;
const DIGITS = /^\d+$/;

function decodeSegment(segment: string): string | null {
  if (!segment.includes('%')) return segment;
  try {
    return decodeURIComponent(segment);
  } catch {
    return null;
  }
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

interface Match {
  readonly operation: Operation;
  readonly params: Record<string, string>;
}

/** The fast operation and decoded parameters for this method and raw path, or null when the app must answer. */
function matchRoute(routes: readonly FastRoute[], method: string, path: string): Match | null {
  for (const route of routes) {
    const found = route.pattern.exec(path);
    if (found === null) continue;
    const operation = route.operations.get(method);
    if (operation === undefined || route.shadows.some((shadow) => shadow.test(path))) return null;
    const params: Record<string, string> = {};
    for (const [i, name] of route.parameters.entries()) {
      const value = decodeSegment(found[i + 1] as string);
      if (value === null) return null;
      params[name] = value;
    }
    return { operation, params };
  }
  return null;
}

/** The longest text every fast route's path starts with, before its first parameter. */
function commonPrefix(routes: readonly RouteDef[]): string {
  const prefixes = routes.map((route) => literalPrefix(route.path));
  const first = prefixes[0] ?? '';
  let length = first.length;
  for (const prefix of prefixes) while (!prefix.startsWith(first.slice(0, length))) length -= 1;
  return first.slice(0, length);
}

export function createEtsiFastPath(options: EtsiFastPathOptions): EtsiFastPath {
  const { ctx } = options;
  const routes = fastRoutes(ctx.routes);
  const methods = new Set<string>(routes.flatMap((route) => [...route.operations.keys()]));
  const prefix = commonPrefix(ctx.routes.filter((route) => operationsOf(route).some(([, operation]) => operation.fast === true)));
  const profile = () => ctx.host.world.config.profile;
  return (req, res) => {
    const { method, url, headers } = req;
    if (routes.length === 0 || method === undefined || !methods.has(method) || url === undefined || !url.startsWith(prefix) || UNUSUAL_URL.test(url)) return false;
    const queryAt = url.indexOf('?');
    const match = matchRoute(routes, method, queryAt < 0 ? url : url.slice(0, queryAt));
    if (match === null) return false;
    if (headers['transfer-encoding'] !== undefined || headers['content-encoding'] !== undefined) return false;
    const contentType = headers['content-type'];
    const isJson = contentType !== undefined && JSON_TYPE.test(contentType);
    if (contentType !== undefined && !isJson) return false;
    const contentLength = headers['content-length'];
    if (contentLength !== undefined && !DIGITS.test(contentLength)) return false;
    const length = contentLength === undefined ? 0 : Number(contentLength);
    if (length > 0 && (method === 'GET' || !isJson || length > options.bodyLimitBytes)) return false;

    const serve = (body: unknown): void => {
      const call: RouteCall = { method, params: match.params, query: parseQuery(queryAt < 0 ? '' : url.slice(queryAt + 1)), body, hasBody: length > 0, req };
      const answered = async (): Promise<void> => match.operation.handler(ctx, call, replyTo(res, profile));
      answered().catch((error: unknown) => {
        options.onBug(error);
        if (res.headersSent) res.destroy();
        else sendTransportError(res, { kind: 'internal' });
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
      if (!res.headersSent) sendTransportError(res, { kind: 'bodyUnreadable' });
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
        sendTransportError(res, { kind: 'notJson' });
        return;
      }
      if (nestsDeeperThan(body, MAX_BODY_DEPTH)) {
        sendTransportError(res, { kind: 'bodyTooDeep', max: MAX_BODY_DEPTH });
        return;
      }
      serve(body);
    });
    return true;
  };
}
