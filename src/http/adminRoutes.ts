// The admin API under /_kmesim: the mock's controls for a client's CI. It shares no path with ETSI routes,
// and beyond loopback it needs the admin token.
import { Router, type NextFunction, type Request, type Response } from 'express';
import { z } from 'zod';
import { INVARIANT_NAMES } from '../model/violation.js';
import { availableKeys } from '../model/world.js';
import { describePoolState } from '../model/lifecycles.js';
import { methodNotAllowed, sendError, sendJson } from './httpErrors.js';
import { isLoopback } from './identity.js';
import type { KmeHost } from './kmeHost.js';
import { SILENT_LOGGER, type Logger } from './logging.js';

export interface AdminOptions {
  readonly host: KmeHost;
  /** Required (as `Authorization: Bearer …`) for callers that are not on loopback. */
  readonly token: string;
  readonly kmeIds: readonly string[];
  readonly reset: (seed: number) => void;
}

const faultSchema = z.strictObject({
  remote: z.enum(['online', 'offline']).optional(),
  link: z.strictObject({ id: z.string(), remote: z.enum(['online', 'offline']) }).optional(),
  latencyMs: z.number().int().min(0).max(60_000).optional(),
  failNext: z.strictObject({ count: z.number().int().min(0).max(1_000_000), status: z.number().int().min(400).max(599) }).optional(),
  restart: z.strictObject({ kme: z.string(), downtimeMs: z.number().int().min(0).max(3_600_000).default(0) }).optional(),
});

export function createAdminRouter(options: AdminOptions, logger: Logger = SILENT_LOGGER): Router {
  const router = Router({ strict: true });
  const { host } = options;
  const guard = (req: Request, res: Response, next: NextFunction): void => {
    if (isLoopback(req.socket.remoteAddress) || req.get('authorization') === `Bearer ${options.token}`) return next();
    res.setHeader('WWW-Authenticate', 'Bearer');
    sendError(res, 401, 'the admin API needs its token');
  };
  router.use('/_kmesim', guard);

  router.get('/_kmesim/state', (_req, res) => {
    host.tick();
    const world = host.world;
    sendJson(res, 200, {
      nowMs: world.nowMs,
      clock: host.clock.mode,
      profile: world.config.profile.name,
      bugs: [...world.config.bugs],
      kmes: options.kmeIds,
      saes: [...world.saes.values()].map((sae) => ({ id: sae.id, kme: sae.kmeId })),
      links: [...world.links.values()].map((link) => ({ id: link.id, remote: link.remote })),
      pools: [...world.pools.values()].map((pool) => ({
        id: pool.id,
        slave: pool.slaveSaeId,
        stored: availableKeys(pool),
        reserved: pool.reserved,
        consumed: pool.consumed,
        expired: pool.expired,
        discarded: pool.discarded,
        generated: pool.generated,
        capacity: pool.capacity,
        ...describePoolState(pool.state),
        deleted: pool.deleted,
      })),
      waitingKeys: world.reserved.size,
      faults: { latencyMs: host.faults.latencyMs, failNext: host.faults.failNext, downUntil: Object.fromEntries(host.faults.downUntil) },
    });
  });

  router.post('/_kmesim/clock/advance', (req, res) => {
    const parsed = z.strictObject({ ms: z.number().int().min(0).max(10 * 365 * 86_400_000) }).safeParse(req.body);
    if (!parsed.success) return sendError(res, 400, 'body must be {"ms": a non-negative integer}');
    host.clock.advance(parsed.data.ms);
    logger.info({ ms: parsed.data.ms }, 'admin.clock.advanced');
    host.tick();
    return sendJson(res, 200, { nowMs: host.world.nowMs });
  });

  router.post('/_kmesim/faults', (req, res) => {
    const parsed = faultSchema.safeParse(req.body);
    if (!parsed.success) return sendError(res, 400, 'bad fault', parsed.error.issues.map((issue) => ({ parameter: issue.path.join('.'), error: issue.message })));
    const fault = parsed.data;
    if (fault.link !== undefined && !host.world.links.has(fault.link.id)) return sendError(res, 400, `no link ${fault.link.id}`);
    if (fault.restart !== undefined && !options.kmeIds.includes(fault.restart.kme)) return sendError(res, 400, `no KME ${fault.restart.kme}`);
    logger.info({ fault }, 'admin.fault.applied');
    if (fault.remote !== undefined) host.execute({ type: fault.remote === 'online' ? 'remote.up' : 'remote.down' });
    if (fault.link !== undefined) host.execute({ type: fault.link.remote === 'online' ? 'remote.up' : 'remote.down', linkId: fault.link.id });
    if (fault.latencyMs !== undefined) host.faults.latencyMs = fault.latencyMs;
    if (fault.failNext !== undefined) host.faults.failNext = { ...fault.failNext };
    if (fault.restart !== undefined) {
      host.execute({ type: 'kme.restart', kmeId: fault.restart.kme });
      if (fault.restart.downtimeMs > 0) host.faults.downUntil.set(fault.restart.kme, host.clock.now() + fault.restart.downtimeMs);
    }
    return sendJson(res, 200, { applied: fault });
  });

  router.post('/_kmesim/reset', (req, res) => {
    const parsed = z.strictObject({ seed: z.number().int().min(0) }).safeParse(req.body ?? {});
    if (!parsed.success) return sendError(res, 400, 'body must be {"seed": a non-negative integer}');
    logger.info({ seed: parsed.data.seed }, 'admin.reset');
    options.reset(parsed.data.seed);
    return sendJson(res, 200, { seed: parsed.data.seed });
  });

  router.get('/_kmesim/trace', (_req, res) => {
    res.status(200).type('application/x-ndjson; charset=utf-8').send(host.traceLines().map((line) => `${line}\n`).join(''));
  });

  router.get('/_kmesim/invariants', (_req, res) => {
    host.tick();
    const { live, audit } = host.violations();
    const all = [...live, ...audit];
    sendJson(res, 200, {
      holds: all.length === 0,
      invariants: Object.entries(INVARIANT_NAMES).map(([id, name]) => ({ id, name, violations: all.filter((v) => v.invariant === id).length })),
      violations: all.slice(0, 100),
    });
  });

  // Any other method on these paths (OPTIONS included, which Express would answer in text/plain) is a JSON 405.
  for (const path of ['/_kmesim/state', '/_kmesim/trace', '/_kmesim/invariants']) router.all(path, methodNotAllowed('GET'));
  for (const path of ['/_kmesim/clock/advance', '/_kmesim/faults', '/_kmesim/reset']) router.all(path, methodNotAllowed('POST'));

  return router;
}
