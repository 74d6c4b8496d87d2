// The server's own switches over a setup's profile: the bound on keys waiting for their slave, the retry
// behaviour of dec_keys, and the small world property tests ask for (pool capacity, key size, keys per request).
import type { ServerSetup } from '../engine/serverSetup.js';
import { keySizeOverrides, resolveProfile } from '../model/profiles.js';
import { ServerStartError, type ServerOptions } from './startServer.js';

/**
 * The server's own switches over its setup's profile: it bounds keys waiting for their slave (memory a
 * client could otherwise fill) unless told not to, and answers repeated dec_keys as asked.
 */
export function withServerTuning(setup: ServerSetup, options: ServerOptions): ServerSetup {
  const { keySizeBits } = options;
  const small = {
    ...(options.poolCapacity === undefined ? {} : { poolCapacity: options.poolCapacity }),
    ...(options.maxKeysPerRequest === undefined ? {} : { maxKeysPerRequest: options.maxKeysPerRequest }),
    ...(keySizeBits === undefined ? {} : keySizeOverrides(setup.profile, keySizeBits)),
  };
  const bound = options.maxWaitingKeys;
  const poolCapacity = small.poolCapacity ?? setup.profile.poolCapacity;
  const maxWaitingKeys = bound === undefined ? (setup.profile.maxWaitingKeys ?? poolCapacity) : bound;
  const overrides = {
    ...setup.profile,
    ...small,
    maxWaitingKeys,
    ...(options.retry === undefined ? {} : { retry: options.retry }),
    ...(options.retryGraceMs === undefined ? {} : { retryGraceMs: options.retryGraceMs }),
  };
  try {
    return { ...setup, profile: resolveProfile(setup.profile.name, overrides) };
  } catch (error) {
    throw new ServerStartError((error as Error).message);
  }
}
