// The handlers of the per-user-pool design's extension routes (profile switch `poolRoutes`): register,
// refill, delete, pools, km/status, km/sync. The route table (routeTable.ts) declares them. They reserve
// three names no SAE may take: `register`, `pools` and `km`, the literal segments of these routes where
// others have an SAE ID.
import { z } from 'zod';
import { shortId, unknownCaller } from '../model/kmeError.js';
import { isReservedSaeId } from '../model/profiles.js';
import { describePoolState } from '../model/lifecycles.js';
import { availableKeys, type Pool, type World } from '../model/world.js';
import { identifyCaller } from './identity.js';
import type { RouteCall, RouteContext, RouteHandler } from './routeTypes.js';


export const registerSchema = z.object({
  sae_id: z.string().min(1).max(256),
  user_email: z.string().max(256).optional(),
  display_name: z.string().max(256).optional(),
  initial_pool_size: z.number().int().min(1).max(1_000_000).optional(),
});

export const refillSchema = z.object({ count: z.number().int().min(1).optional() }).optional();

function describePools(world: World, kmeId: string) {
  return [...world.pools.values()]
    .filter((pool) => !pool.deleted && world.links.get(pool.linkId)?.kmeIds.includes(kmeId))
    .map((pool) => {
      const state = describePoolState(pool.state);
      return {
        sae_id: pool.slaveSaeId,
        link: pool.linkId,
        available_keys: availableKeys(pool),
        reserved_keys: pool.reserved,
        used_keys: pool.consumed,
        expired_keys: pool.expired,
        pool_size_limit: pool.capacity,
        level: state.level,
        sync: state.sync,
        remote: state.remote,
        last_sync_ms: pool.lastSyncAtMs,
      };
    });
}

function saeOf(call: RouteCall): string {
  const value = call.params['SAE_ID'];
  if (value === undefined) throw new Error('the route has no SAE_ID parameter');
  return value;
}

/** Refill and delete act on one SAE's keys: only that SAE may ask. */
function callerIs(ctx: RouteContext, call: RouteCall, saeId: string): boolean {
  return identifyCaller(call.req, ctx.auth) === saeId;
}

/** Starts a manual sync of every pool of this KME that `include` picks; returns how many started. */
function startSyncs(ctx: RouteContext, include: (pool: Pool) => boolean): number {
  const world = ctx.host.world;
  let started = 0;
  for (const pool of [...world.pools.values()]) {
    if (!include(pool) || !world.links.get(pool.linkId)?.kmeIds.includes(ctx.kmeId)) continue;
    const outcome = ctx.host.execute({ type: 'sync.start', poolId: pool.id, reason: 'manual' });
    if (outcome.result.ok && outcome.result.kind === 'done' && outcome.result.changed) started += 1;
  }
  return started;
}

export const register: RouteHandler = (ctx, call, reply) => {
  const parsed = registerSchema.safeParse(call.body);
  if (!parsed.success) return reply.badRequest('bad request format', parsed.error.issues.map((issue) => ({ parameter: issue.path.join('.'), error: issue.message })));
  const { sae_id: saeId, user_email: email, display_name: name, initial_pool_size: capacity } = parsed.data;
  if (isReservedSaeId(saeId)) return reply.badRequest(`"${saeId}" is a reserved name`, [{ sae_id: saeId }]);
  const outcome = ctx.host.execute({
    type: 'sae.register',
    saeId,
    kmeId: ctx.kmeId,
    ...(email === undefined ? {} : { email }),
    ...(name === undefined ? {} : { name }),
    ...(capacity === undefined ? {} : { capacity }),
  });
  if (!outcome.result.ok) return reply.badRequest('SAE already registered or not acceptable', [{ sae_id: saeId }]);
  return reply.json(200, { sae_id: saeId, kme_id: ctx.kmeId, pools: describePools(ctx.host.world, ctx.kmeId).filter((pool) => pool.sae_id === saeId) });
};

export const listPools: RouteHandler = (ctx, _call, reply) => reply.json(200, { pools: describePools(ctx.host.world, ctx.kmeId) });

export const kmStatus: RouteHandler = (ctx, _call, reply) => {
  const world = ctx.host.world;
  const links = [...world.links.values()].filter((link) => link.kmeIds.includes(ctx.kmeId)).map((link) => ({ link: link.id, remote: link.remote }));
  const pools = describePools(world, ctx.kmeId);
  reply.json(200, {
    kme_id: ctx.kmeId,
    links,
    pools: pools.length,
    syncing: pools.filter((pool) => pool.sync !== 'idle').length,
    below_low_threshold: pools.filter((pool) => pool.level !== 'healthy').length,
  });
};

export const kmSync: RouteHandler = (ctx, call, reply) => {
  const caller = identifyCaller(call.req, ctx.auth);
  if (caller === null || !ctx.host.world.saes.has(caller)) {
    return reply.error(caller === null ? { kind: 'unauthorized', reason: 'the caller is not identified' } : unknownCaller(caller, ctx.kmeId));
  }
  return reply.json(200, { syncs_started: startSyncs(ctx, (pool) => !pool.deleted) });
};

export const refill: RouteHandler = (ctx, call, reply) => {
  const parsed = refillSchema.safeParse(call.body);
  if (!parsed.success) return reply.badRequest('bad request format');
  const saeId = saeOf(call);
  if (!callerIs(ctx, call, saeId)) return reply.error({ kind: 'unauthorized', reason: `only ${shortId(saeId)} may refill its own pool` });
  if (!ctx.host.world.saes.has(saeId)) return reply.error({ kind: 'unknownSlave', details: [{ sae_id: saeId }] });
  // Keys only ever come from the remote key manager: a refill asks it for keys, it makes up none.
  return reply.json(200, { sae_id: saeId, syncs_started: startSyncs(ctx, (pool) => pool.slaveSaeId === saeId) });
};

export const deleteSae: RouteHandler = (ctx, call, reply) => {
  const saeId = saeOf(call);
  if (!callerIs(ctx, call, saeId)) return reply.error({ kind: 'unauthorized', reason: `only ${shortId(saeId)} may delete itself` });
  const outcome = ctx.host.execute({ type: 'sae.delete', saeId });
  if (!outcome.result.ok) return reply.error(outcome.result.error);
  return reply.json(200, { sae_id: saeId, deleted: true });
};
