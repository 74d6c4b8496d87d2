// One KME as an Express app (no listen: startServer binds ports), derived from the route table
// (routeTable.ts). Every answer, errors included, is JSON, its errors from the one error table.
import { MAX_BODY_DEPTH, nestsDeeperThan } from './bodyDepth.js';
import express, { Router, type Express, type NextFunction, type Request, type RequestHandler, type Response } from 'express';
import type { IncomingMessage, ServerResponse } from 'node:http';
import { createEtsiFastPath } from './etsiFastPath.js';
import { announcesBody } from './etsiRoutes.js';
import { createErrorHandler, replyTo, sendTransportError } from './httpErrors.js';
import type { AuthMode } from './identity.js';
import type { KmeHost } from './kmeHost.js';
import { createRequestLogger, logRequestLine, SILENT_LOGGER, type Logger } from './logging.js';
import { expressPath, operationsOf } from './routePaths.js';
import { enabledRoutes, isEnabled, ROUTE_GUARDS, switchesOf } from './routeTable.js';
import type { AdminOptions, Operation, RouteContext } from './routeTypes.js';

export type { AdminOptions } from './routeTypes.js';

export interface AppOptions {
  readonly host: KmeHost;
  readonly kmeId: string;
  readonly auth: AuthMode;
  /** The admin API, or null to leave it out. */
  readonly admin: AdminOptions | null;
  /** Largest accepted request body (default 256 KiB); larger ones get 413. */
  readonly bodyLimit?: string;
  /** Told about any error that is the server's own bug (they are answered 500 with a JSON body). */
  readonly onBug?: (error: unknown) => void;
  /** Request lines, refusals and internal errors (default: none; see logging.ts). */
  readonly logger?: Logger;
}

/** What the handlers of this app work with, and the routes it serves (its profile's and its admin API's). */
export function routeContext(options: AppOptions): RouteContext {
  const { host, kmeId, auth, admin } = options;
  const logger = (options.logger ?? SILENT_LOGGER).child({ kme: kmeId });
  return { host, kmeId, auth, admin, logger, routes: enabledRoutes(switchesOf(host, admin)) };
}

/** Internal errors are logged with their stack; with no logger at error level they still reach stderr. */
function reportBug(logger: Logger): (error: unknown) => void {
  return (error) => {
    if (logger.isLevelEnabled('error')) logger.error({ err: error }, 'internal error');
    else process.stderr.write(`kmesim: internal error: ${error instanceof Error ? (error.stack ?? error.message) : String(error)}\n`);
  };
}

const DEFAULT_BODY_LIMIT = '256kb';
const UNITS: Readonly<Record<string, number>> = { b: 1, kb: 1024, mb: 1024 ** 2, gb: 1024 ** 3 };

/** A body limit such as `256kb` in bytes, as the JSON parser reads it; 0 when it is not of that form. */
function limitInBytes(limit: string): number {
  const match = /^(\d+(?:\.\d+)?) *(b|kb|mb|gb)?$/i.exec(limit);
  return match === null ? 0 : Math.floor(Number(match[1]) * (UNITS[(match[2] ?? 'b').toLowerCase()] ?? 0));
}

/**
 * What a server listens with: the ETSI routes' fast path first (plain requests, no Express), then the app for
 * everything else. Answers are the same either way.
 */
export function createRequestListener(options: AppOptions): (req: IncomingMessage, res: ServerResponse) => void {
  const ctx = routeContext(options);
  const app = appOf(ctx, options);
  const fastPath = createEtsiFastPath({ ctx, bodyLimitBytes: limitInBytes(options.bodyLimit ?? DEFAULT_BODY_LIMIT), onBug: options.onBug ?? reportBug(ctx.logger) });
  const now = (): number => ctx.host.clock.now();
  return (req, res) => {
    logRequestLine(ctx.logger, options.auth, req, res);
    options.admin?.requests.track(req, res, ctx.kmeId, options.auth, now);
    if (!fastPath(req, res)) app(req, res);
  };
}

export function createApp(options: AppOptions): Express {
  return appOf(routeContext(options), options);
}

function requireJson(req: Request, res: Response, next: NextFunction): void {
  if (announcesBody(req.headers) && req.method !== 'GET' && !req.is('application/json')) return sendTransportError(res, { kind: 'unsupportedMediaType' });
  next();
}

function serve(ctx: RouteContext, operation: Operation): RequestHandler {
  const profile = () => ctx.host.world.config.profile;
  // A rejection reaches the error handler (Express 5 passes it on): a 500.
  return (req, res) => {
    // The table's paths have named parameters only (no wildcards): each is one decoded string.
    const params = req.params as Readonly<Record<string, string>>;
    return operation.handler(ctx, { method: req.method, params, query: req.query, body: req.body as unknown, hasBody: announcesBody(req.headers), req }, replyTo(res, profile));
  };
}

function refuse(allow: readonly string[]): RequestHandler {
  return (_req, res) => sendTransportError(res, { kind: 'methodNotAllowed', allow });
}

/** The table's routes this app serves, behind their guards, as one router. */
function tableRouter(ctx: RouteContext): Router {
  const router = Router({ strict: true });
  const on = switchesOf(ctx.host, ctx.admin);
  for (const guard of ROUTE_GUARDS) {
    if (!isEnabled(on, guard.enabledBy)) continue;
    router.use(guard.prefix, (req, res, next) => {
      const refusal = guard.admit(ctx, req);
      if (refusal === null) next();
      else sendTransportError(res, refusal);
    });
  }
  for (const route of ctx.routes) {
    const path = expressPath(route.path);
    // Express answers HEAD with the GET handler and drops the body: on these routes that would reserve or consume keys nobody sees.
    if (route.refuseHead === true) router.head(path, refuse(operationsOf(route).map(([method]) => method)));
    for (const [method, operation] of operationsOf(route)) {
      const handler = serve(ctx, operation);
      if (method === 'GET') router.get(path, handler);
      else if (method === 'POST') router.post(path, handler);
      else router.delete(path, handler);
    }
  }
  // Any other method on a route's path (OPTIONS included, which Express would answer in text/plain) is a JSON
  // 405. These come after every route's own methods: a path with a literal segment can also match a route
  // with a parameter there (DELETE /api/v1/keys/{SAE_ID} on /api/v1/keys/pools), which keeps its method.
  for (const route of ctx.routes) router.all(expressPath(route.path), refuse(operationsOf(route).map(([method]) => method)));
  return router;
}

function appOf(ctx: RouteContext, options: AppOptions): Express {
  const app = express();
  app.disable('x-powered-by');
  app.set('etag', false);
  app.set('query parser', 'simple');
  app.use(createRequestLogger(ctx.logger, options.auth));
  app.use(requireJson);
  app.use(express.json({ limit: options.bodyLimit ?? DEFAULT_BODY_LIMIT, strict: true, type: 'application/json' }));
  app.use((req, res, next) => (nestsDeeperThan(req.body, MAX_BODY_DEPTH) ? sendTransportError(res, { kind: 'bodyTooDeep', max: MAX_BODY_DEPTH }) : next()));
  app.use(tableRouter(ctx));
  app.use((req, res) => sendTransportError(res, { kind: 'unknownRoute', method: req.method, path: req.path }));
  app.use(createErrorHandler(options.onBug ?? reportBug(ctx.logger)));
  return app;
}
