// The handlers of the admin API under /_kmesim: the mock's controls for a client's CI. The route table
// (routeTable.ts) declares them. It shares no path with ETSI routes, and beyond loopback it needs the admin
// token (adminGuard, in front of every path under /_kmesim).
import type { IncomingMessage } from 'node:http';
import { z } from 'zod';
import { describePoolState } from '../model/lifecycles.js';
import { INVARIANT_NAMES } from '../model/violation.js';
import { availableKeys } from '../model/world.js';
import type { TransportError } from './errorTable.js';
import { describeTransport } from '../engine/faults.js';
import { isLoopback } from './identity.js';
import { ETSI_ROUTES } from './requestJournal.js';
import type { AdminOptions, RouteContext, RouteHandler } from './routeTypes.js';

export type { AdminOptions } from './routeTypes.js';

export const clockAdvanceSchema = z.strictObject({ ms: z.number().int().min(0).max(10 * 365 * 86_400_000) });

/** `{}` (or no body) starts over at the seed the world runs with now. */
export const resetSchema = z.strictObject({ seed: z.number().int().min(0).optional() });

/** GET /_kmesim/requests?sae=…&route=…&kme=…&since=… */
export const requestsQuerySchema = z.strictObject({
  sae: z.string().min(1).optional(),
  route: z.enum([...ETSI_ROUTES, 'other']).optional(),
  kme: z.string().min(1).optional(),
  since: z.string().regex(/^\d{1,15}$/, 'a seq: digits only').transform(Number).optional(),
});

function adminOf(ctx: RouteContext): AdminOptions {
  if (ctx.admin === null) throw new Error('an admin route is served without the admin options');
  return ctx.admin;
}

/** Loopback callers, and others with the token as `Authorization: Bearer …`. */
export function adminGuard(ctx: RouteContext, req: IncomingMessage): TransportError | null {
  return isLoopback(req.socket.remoteAddress) || req.headers.authorization === `Bearer ${adminOf(ctx).token}` ? null : { kind: 'adminTokenRequired' };
}

export const adminState: RouteHandler = (ctx, _call, reply) => {
  const { host } = ctx;
  host.tick();
  const world = host.world;
  reply.json(200, {
    nowMs: world.nowMs,
    clock: host.clock.mode,
    profile: world.config.profile.name,
    bugs: [...world.config.bugs],
    kmes: adminOf(ctx).kmeIds,
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
    faults: describeTransport(host.faults),
  });
};

export const advanceClock: RouteHandler = (ctx, call, reply) => {
  const parsed = clockAdvanceSchema.safeParse(call.body);
  if (!parsed.success) return reply.badRequest('body must be {"ms": a non-negative integer}');
  ctx.host.clock.advance(parsed.data.ms);
  ctx.logger.info({ ms: parsed.data.ms }, 'admin.clock.advanced');
  ctx.host.tick();
  return reply.json(200, { nowMs: ctx.host.world.nowMs });
};

export const resetWorld: RouteHandler = (ctx, call, reply) => {
  const parsed = resetSchema.safeParse(call.body ?? {});
  if (!parsed.success) return reply.badRequest('body must be {} or {"seed": a non-negative integer}');
  const seed = adminOf(ctx).reset(parsed.data.seed);
  ctx.logger.info({ seed }, 'admin.reset');
  return reply.json(200, { seed });
};

export const listRequests: RouteHandler = (ctx, call, reply) => {
  const parsed = requestsQuerySchema.safeParse(call.query);
  if (!parsed.success) {
    const named = [...new Set(parsed.error.issues.map((issue) => (issue.path.length > 0 ? String(issue.path[0]) : 'query')))];
    return reply.badRequest(`query parameters: sae, route (${[...ETSI_ROUTES, 'other'].join(', ')}), kme, since (a seq), each at most once`, named.map((parameter) => ({ parameter })));
  }
  const { sae, route, kme, since } = parsed.data;
  const { requests } = adminOf(ctx);
  return reply.json(200, {
    requests: requests.list({ ...(sae === undefined ? {} : { sae }), ...(route === undefined ? {} : { route }), ...(kme === undefined ? {} : { kme }), ...(since === undefined ? {} : { since }) }),
    dropped: requests.dropped,
    limit: requests.limit,
  });
};

export const clearRequests: RouteHandler = (ctx, _call, reply) => {
  adminOf(ctx).requests.clear();
  reply.json(200, { cleared: true });
};

/** GET /_kmesim: what the admin API offers, from the route table, for clients in any language. */
export const adminIndex: RouteHandler = (ctx, _call, reply) => {
  const operations = ctx.routes
    .filter((route) => route.path.startsWith('/_kmesim'))
    .flatMap((route) => Object.entries(route.methods).map(([method, spec]) => ({ method, path: route.path, summary: spec?.summary ?? '' })));
  reply.json(200, { kmes: adminOf(ctx).kmeIds, operations, openapi: '/openapi.json' });
};

export const adminTrace: RouteHandler = (ctx, _call, reply) => {
  reply.lines(200, 'application/x-ndjson; charset=utf-8', ctx.host.traceLines());
};

export const adminInvariants: RouteHandler = (ctx, _call, reply) => {
  ctx.host.tick();
  const { live, audit } = ctx.host.violations();
  const all = [...live, ...audit];
  reply.json(200, {
    holds: all.length === 0,
    invariants: Object.entries(INVARIANT_NAMES).map(([id, name]) => ({ id, name, violations: all.filter((v) => v.invariant === id).length })),
    violations: all.slice(0, 100),
  });
};
