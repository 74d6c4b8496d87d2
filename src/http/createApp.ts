// One KME as an Express app (no listen: startServer binds ports). Every answer, errors included, is JSON.
import express, { type Express, type NextFunction, type Request, type Response } from 'express';
import type { IncomingMessage, ServerResponse } from 'node:http';
import { createAdminRouter, type AdminOptions } from './adminRoutes.js';
import { createEtsiFastPath } from './etsiFastPath.js';
import { announcesBody, createEtsiRouter } from './etsiRoutes.js';
import { createErrorHandler, sendError, sendJson } from './httpErrors.js';
import type { AuthMode } from './identity.js';
import type { KmeHost } from './kmeHost.js';
import { createRequestLogger, logRequestLine, SILENT_LOGGER, type Logger } from './logging.js';
import { buildOpenApiDocument } from './openApi.js';
import { createPoolRouter } from './poolRoutes.js';

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

function requireJson(req: Request, res: Response, next: NextFunction): void {
  if (announcesBody(req.headers) && req.method !== 'GET' && !req.is('application/json')) return sendError(res, 415, 'request bodies must be application/json');
  next();
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
  const app = createApp(options);
  const logger = (options.logger ?? SILENT_LOGGER).child({ kme: options.kmeId });
  const fastPath = createEtsiFastPath({
    host: options.host,
    kmeId: options.kmeId,
    auth: options.auth,
    bodyLimitBytes: limitInBytes(options.bodyLimit ?? DEFAULT_BODY_LIMIT),
    onBug: options.onBug ?? reportBug(logger),
  });
  return (req, res) => {
    logRequestLine(logger, options.auth, req, res);
    if (!fastPath(req, res)) app(req, res);
  };
}

export function createApp(options: AppOptions): Express {
  const logger = (options.logger ?? SILENT_LOGGER).child({ kme: options.kmeId });
  const app = express();
  app.disable('x-powered-by');
  app.set('etag', false);
  app.set('query parser', 'simple');
  app.use(createRequestLogger(logger, options.auth));
  app.use(requireJson);
  app.use(express.json({ limit: options.bodyLimit ?? DEFAULT_BODY_LIMIT, strict: true, type: 'application/json' }));
  app.get('/health', (_req, res) => sendJson(res, 200, { status: 'ok', kme_id: options.kmeId }));
  app.get('/openapi.json', (_req, res) => sendJson(res, 200, buildOpenApiDocument()));
  if (options.admin !== null) app.use(createAdminRouter(options.admin, logger));
  if (options.host.world.config.profile.poolRoutes) app.use(createPoolRouter(options.host, options.kmeId, options.auth));
  app.use(createEtsiRouter({ host: options.host, kmeId: options.kmeId, auth: options.auth }));
  app.use((req, res) => sendError(res, 404, `no route ${req.method} ${req.path}`));
  app.use(createErrorHandler(options.onBug ?? reportBug(logger)));
  return app;
}
