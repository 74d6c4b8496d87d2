// The per-user-pool design's extension routes (profile switch `poolRoutes`): register, refill, delete,
// pools, km/status, km/sync. They reserve three names no SAE may take: `register`, `pools` and `km`.
import { Router } from 'express';
import { z } from 'zod';
import { describePoolState } from '../model/lifecycles.js';
import { availableKeys, type World } from '../model/world.js';
import { methodNotAllowed, sendError, sendJson, sendKmeError } from './httpErrors.js';
import { identifyCaller, type AuthMode } from './identity.js';
import type { KmeHost } from './kmeHost.js';

export const RESERVED_SAE_IDS: readonly string[] = ['register', 'pools', 'km'];

const registerSchema = z.object({
  sae_id: z.string().min(1).max(256),
  user_email: z.string().max(256).optional(),
  display_name: z.string().max(256).optional(),
  initial_pool_size: z.number().int().min(1).max(1_000_000).optional(),
});

const refillSchema = z.object({ count: z.number().int().min(1).optional() }).optional();

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

export function createPoolRouter(host: KmeHost, kmeId: string, auth: AuthMode): Router {
  const router = Router({ strict: true });
  const profile = () => host.world.config.profile;
  /** Refill and delete act on one SAE's keys: only that SAE may ask. */
  const callerIs = (req: Parameters<typeof identifyCaller>[0], saeId: string): boolean => identifyCaller(req, auth) === saeId;

  router.post('/api/v1/keys/register', (req, res) => {
    const parsed = registerSchema.safeParse(req.body);
    if (!parsed.success) return sendError(res, 400, 'bad request format', parsed.error.issues.map((issue) => ({ parameter: issue.path.join('.'), error: issue.message })));
    const { sae_id: saeId, user_email: email, display_name: name, initial_pool_size: capacity } = parsed.data;
    if (RESERVED_SAE_IDS.includes(saeId)) return sendError(res, 400, `"${saeId}" is a reserved name`, [{ sae_id: saeId }]);
    const outcome = host.execute({
      type: 'sae.register',
      saeId,
      kmeId,
      ...(email === undefined ? {} : { email }),
      ...(name === undefined ? {} : { name }),
      ...(capacity === undefined ? {} : { capacity }),
    });
    if (!outcome.result.ok) return sendError(res, 400, 'SAE already registered or not acceptable', [{ sae_id: saeId }]);
    return sendJson(res, 200, { sae_id: saeId, kme_id: kmeId, pools: describePools(host.world, kmeId).filter((pool) => pool.sae_id === saeId) });
  });

  router.get('/api/v1/keys/pools', (_req, res) => sendJson(res, 200, { pools: describePools(host.world, kmeId) }));

  router.get('/api/v1/keys/km/status', (_req, res) => {
    const world = host.world;
    const links = [...world.links.values()].filter((link) => link.kmeIds.includes(kmeId)).map((link) => ({ link: link.id, remote: link.remote }));
    const pools = describePools(world, kmeId);
    return sendJson(res, 200, {
      kme_id: kmeId,
      links,
      pools: pools.length,
      syncing: pools.filter((pool) => pool.sync !== 'idle').length,
      below_low_threshold: pools.filter((pool) => pool.level !== 'healthy').length,
    });
  });

  router.post('/api/v1/keys/km/sync', (req, res) => {
    const caller = identifyCaller(req, auth);
    if (caller === null || !host.world.saes.has(caller)) return sendKmeError(res, { kind: 'unauthorized' }, profile());
    let started = 0;
    for (const pool of [...host.world.pools.values()]) {
      if (pool.deleted || !host.world.links.get(pool.linkId)?.kmeIds.includes(kmeId)) continue;
      const outcome = host.execute({ type: 'sync.start', poolId: pool.id, reason: 'manual' });
      if (outcome.result.ok && outcome.result.kind === 'done' && outcome.result.changed) started += 1;
    }
    return sendJson(res, 200, { syncs_started: started });
  });

  router.post('/api/v1/keys/:sae/refill', (req, res) => {
    const parsed = refillSchema.safeParse(req.body);
    if (!parsed.success) return sendError(res, 400, 'bad request format');
    const saeId = req.params['sae'] as string;
    if (!callerIs(req, saeId)) return sendKmeError(res, { kind: 'unauthorized' }, profile());
    if (!host.world.saes.has(saeId)) return sendKmeError(res, { kind: 'unknownSlave', details: [{ sae_id: saeId }] }, profile());
    // Keys only ever come from the remote key manager: a refill asks it for keys, it makes up none.
    let started = 0;
    for (const pool of [...host.world.pools.values()]) {
      if (pool.slaveSaeId !== saeId || !host.world.links.get(pool.linkId)?.kmeIds.includes(kmeId)) continue;
      const outcome = host.execute({ type: 'sync.start', poolId: pool.id, reason: 'manual' });
      if (outcome.result.ok && outcome.result.kind === 'done' && outcome.result.changed) started += 1;
    }
    return sendJson(res, 200, { sae_id: saeId, syncs_started: started });
  });

  router.delete('/api/v1/keys/:sae', (req, res) => {
    const saeId = req.params['sae'] as string;
    if (!callerIs(req, saeId)) return sendKmeError(res, { kind: 'unauthorized' }, profile());
    const outcome = host.execute({ type: 'sae.delete', saeId });
    if (!outcome.result.ok) return sendKmeError(res, outcome.result.error, profile());
    return sendJson(res, 200, { sae_id: saeId, deleted: true });
  });

  // Any other method on these paths (OPTIONS included, which Express would answer in text/plain) is a JSON
  // 405. The fixed names come before `:sae`, which would otherwise claim them.
  router.all(['/api/v1/keys/register', '/api/v1/keys/km/sync', '/api/v1/keys/:sae/refill'], methodNotAllowed('POST'));
  router.all(['/api/v1/keys/pools', '/api/v1/keys/km/status'], methodNotAllowed('GET'));
  router.all('/api/v1/keys/:sae', methodNotAllowed('DELETE'));

  return router;
}
