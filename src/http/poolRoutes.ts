// The handlers of the per-user-pool design's extension routes (profile switch `poolRoutes`): register,
// refill, delete, pools, km/status, km/sync. The route table (routeTable.ts) declares them. They reserve
// three names no SAE may take: `register`, `pools` and `km`, the literal segments of these routes where
// others have an SAE ID. The profile's `poolApi` picks the answers' shapes: kmesim's plain views, or the
// seed KME's documented ones (`next-door`: 201 on register, `success`, `keys_generated`, a `summary`,
// `local_km_id`, refill by `keys_to_add`). Errors are ETSI Error bodies either way.
import { z } from 'zod';
import { SAE_ID_PATTERN } from '../engine/serverSetup.js';
import { shortId, unknownCaller, type KmeError } from '../model/kmeError.js';
import { isReservedSaeId } from '../model/profiles.js';
import { describePoolState } from '../model/lifecycles.js';
import { availableKeys, type Pool, type World } from '../model/world.js';
import { identifyCaller } from './identity.js';
import type { TransportError } from './errorTable.js';
import type { RouteCall, RouteContext, RouteHandler } from './routeTypes.js';


export const registerSchema = z.object({
  // The same rule as --sae: the ID appears in paths, headers and certificate names.
  sae_id: z.string().regex(SAE_ID_PATTERN, "1 to 64 letters, digits, '.', '_', ':', '~' or '-', starting with a letter or digit"),
  user_email: z.string().max(256).optional(),
  display_name: z.string().max(256).optional(),
  initial_pool_size: z.number().int().min(1).max(1_000_000).optional(),
});

const REFILL_MAX = 1_000_000;
/** `keys_to_add` (the seed KME's name) or `count`: at most this many keys asked of the remote. */
export const refillSchema = z.object({ count: z.number().int().min(1).max(REFILL_MAX).optional(), keys_to_add: z.number().int().min(1).max(REFILL_MAX).optional() }).optional();

function isNextDoor(ctx: RouteContext): boolean {
  return ctx.host.world.config.profile.poolApi === 'next-door';
}


function describePools(world: World, kmeId: string) {
  const { lowThresholdPct } = world.config.profile;
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
        low_threshold: Math.ceil((pool.capacity * lowThresholdPct) / 100),
      };
    });
}

function saeOf(call: RouteCall): string {
  const value = call.params['SAE_ID'];
  if (value === undefined) throw new Error('the route has no SAE_ID parameter');
  return value;
}

/**
 * Refill and delete act on one SAE's keys: only that SAE may ask. The refusal, or null: a request without
 * an identity is told so, another caller that only the SAE itself may ask.
 */
function notTheSae(ctx: RouteContext, call: RouteCall, saeId: string, what: string): TransportError | KmeError | null {
  const caller = identifyCaller(call.req, ctx.auth);
  if (caller === null) return { kind: 'noIdentity', auth: ctx.auth };
  return caller === saeId ? null : { kind: 'unauthorized', reason: `only ${shortId(saeId)} may ${what}` };
}

/** Starts a manual sync of every pool of this KME that `include` picks: how many started, and how many keys they ask for. */
function startSyncs(ctx: RouteContext, include: (pool: Pool) => boolean, atMost?: number): { started: number; keys: number } {
  const world = ctx.host.world;
  let started = 0;
  let keys = 0;
  for (const pool of [...world.pools.values()]) {
    if (!include(pool) || !world.links.get(pool.linkId)?.kmeIds.includes(ctx.kmeId)) continue;
    const outcome = ctx.host.execute({ type: 'sync.start', poolId: pool.id, reason: 'manual', ...(atMost === undefined ? {} : { keyCount: atMost }) });
    if (!outcome.result.ok || outcome.result.kind !== 'done' || !outcome.result.changed) continue;
    started += 1;
    for (const effect of outcome.effects) if (effect.type === 'sync.requested') keys += effect.keyCount;
  }
  return { started, keys };
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
  const pools = describePools(ctx.host.world, ctx.kmeId).filter((pool) => pool.sae_id === saeId);
  if (!isNextDoor(ctx)) return reply.json(200, { sae_id: saeId, kme_id: ctx.kmeId, pools });
  const { profile } = ctx.host.world.config;
  return reply.json(201, {
    success: true,
    message: `SAE ${saeId} registered`,
    sae_id: saeId,
    ...(email === undefined ? {} : { user_email: email }),
    ...(name === undefined ? {} : { display_name: name }),
    kme_id: ctx.kmeId,
    keys_generated: pools.reduce((sum, pool) => sum + pool.available_keys, 0),
    pool_size: capacity ?? profile.poolCapacity,
    key_size: profile.keySizeBits / 8,
    pools,
  });
};

export const listPools: RouteHandler = (ctx, _call, reply) => {
  const pools = describePools(ctx.host.world, ctx.kmeId);
  if (!isNextDoor(ctx)) return reply.json(200, { pools });
  const sum = (field: 'available_keys' | 'used_keys' | 'reserved_keys'): number => pools.reduce((total, pool) => total + pool[field], 0);
  return reply.json(200, {
    success: true,
    pools: pools.map((pool) => ({ ...pool, total_keys: pool.available_keys + pool.reserved_keys + pool.used_keys })),
    summary: {
      total_pools: pools.length,
      total_available_keys: sum('available_keys'),
      total_reserved_keys: sum('reserved_keys'),
      total_used_keys: sum('used_keys'),
      pools_below_threshold: pools.filter((pool) => pool.level !== 'healthy').length,
    },
  });
};

export const kmStatus: RouteHandler = (ctx, _call, reply) => {
  const world = ctx.host.world;
  const links = [...world.links.values()].filter((link) => link.kmeIds.includes(ctx.kmeId)).map((link) => ({ link: link.id, remote: link.remote }));
  const pools = describePools(world, ctx.kmeId);
  const status = {
    kme_id: ctx.kmeId,
    links,
    pools: pools.length,
    syncing: pools.filter((pool) => pool.sync !== 'idle').length,
    below_low_threshold: pools.filter((pool) => pool.level !== 'healthy').length,
  };
  if (!isNextDoor(ctx)) return reply.json(200, status);
  const remoteOnline = links.every((link) => link.remote === 'online');
  return reply.json(200, {
    success: true,
    local_km_id: ctx.kmeId,
    status: 'running',
    remote_km_status: remoteOnline ? 'online' : 'offline',
    total_available_keys: pools.reduce((sum, pool) => sum + pool.available_keys, 0),
    ...status,
  });
};

export const kmSync: RouteHandler = (ctx, call, reply) => {
  const caller = identifyCaller(call.req, ctx.auth);
  if (caller === null || !ctx.host.world.saes.has(caller)) {
    return reply.error(caller === null ? { kind: 'unauthorized', reason: 'the caller is not identified' } : unknownCaller(caller, ctx.kmeId));
  }
  const { started } = startSyncs(ctx, (pool) => !pool.deleted);
  return reply.json(200, isNextDoor(ctx) ? { success: true, syncs_started: started } : { syncs_started: started });
};

export const refill: RouteHandler = (ctx, call, reply) => {
  const parsed = refillSchema.safeParse(call.body);
  if (!parsed.success) return reply.badRequest('bad request format', parsed.error.issues.map((issue) => ({ parameter: issue.path.join('.'), error: issue.message })));
  const saeId = saeOf(call);
  const refused = notTheSae(ctx, call, saeId, 'refill its own pool');
  if (refused !== null) return reply.error(refused);
  if (!ctx.host.world.saes.has(saeId)) return reply.error({ kind: 'unknownSlave', details: [{ sae_id: saeId }] });
  const atMost = parsed.data?.keys_to_add ?? parsed.data?.count;
  // Keys only ever come from the remote key manager: a refill asks it for keys (at most `atMost` per
  // pool), which arrive after the sync latency; it makes up none.
  // A full pool asks for nothing: no sync is started for it.
  const { started, keys } = startSyncs(ctx, (pool) => pool.slaveSaeId === saeId && !pool.deleted && availableKeys(pool) < pool.capacity, atMost);
  if (!isNextDoor(ctx)) return reply.json(200, { sae_id: saeId, syncs_started: started });
  return reply.json(200, {
    success: true,
    message: started === 0 ? 'no refill started: the pool is full or a sync is already in flight' : 'refill requested from the remote key manager',
    sae_id: saeId,
    keys_requested: keys,
    syncs_started: started,
  });
};

export const deleteSae: RouteHandler = (ctx, call, reply) => {
  const saeId = saeOf(call);
  const refused = notTheSae(ctx, call, saeId, 'delete itself');
  if (refused !== null) return reply.error(refused);
  const outcome = ctx.host.execute({ type: 'sae.delete', saeId });
  if (!outcome.result.ok) return reply.error(outcome.result.error);
  return reply.json(200, isNextDoor(ctx) ? { success: true, message: `SAE ${saeId} deleted`, sae_id: saeId, deleted: true } : { sae_id: saeId, deleted: true });
};
