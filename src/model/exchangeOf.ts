// The exchange a client saw when the core ran one command: what the history checker judges. Shared by
// the simulator, the mock KME's live verdict and the property harness.
import type { Exchange, ObservedKey } from './historyChecker.js';
import type { KmeCommand } from './kmeCore.js';
import type { World } from './world.js';

/**
 * Whether the KME asked had to serve a dec_keys: only KMEs on a key's link hold it (kmesim serves a slave at
 * either end of the link). A refusal by a KME off the link is no loss. Keys the world no longer holds are
 * judged by the history checker alone.
 */
function obligedFor(world: World | undefined, kmeId: string, keyIds: readonly string[]): boolean {
  if (world === undefined) return true;
  return keyIds.every((id) => {
    const key = world.reserved.get(id);
    return key === undefined || key.linkId.split('~').includes(kmeId);
  });
}

/** The exchange for an enc_keys, dec_keys or SAE deletion; null for commands a client does not see. */
export function exchangeOf(
  command: KmeCommand,
  observed: { readonly id: number; readonly atMs: number; readonly status: number; readonly keys: readonly ObservedKey[]; readonly defaultKeySizeBits: number },
  /** The world after the command ran, to tell which KMEs had to serve a refused dec_keys. */
  world?: World,
): Exchange | null {
  const { id, atMs, status, keys } = observed;
  switch (command.type) {
    case 'keys.enc':
      return {
        op: 'enc',
        id,
        atMs,
        kmeId: command.kmeId,
        callerSaeId: command.callerSaeId,
        slaveSaeId: command.slaveSaeId,
        additionalSlaveSaeIds: command.request.additional_slave_SAE_IDs ?? [],
        expectedSizeBits: command.request.size ?? observed.defaultKeySizeBits,
        status,
        keys,
      };
    case 'keys.dec':
      return {
        op: 'dec',
        id,
        atMs,
        kmeId: command.kmeId,
        callerSaeId: command.callerSaeId,
        masterSaeId: command.masterSaeId,
        keyIds: command.keyIds,
        status,
        keys,
        ...(status === 200 || obligedFor(world, command.kmeId, command.keyIds) ? {} : { obliged: false }),
      };
    case 'sae.delete':
      return status === 200 ? { op: 'discard', id, atMs, saeId: command.saeId } : null;
    // Commands no client exchange shows: status reads, time, restarts, the remote, registrations, syncs.
    case 'clock.tick':
    case 'keys.status':
    case 'kme.restart':
    case 'remote.down':
    case 'remote.up':
    case 'sae.register':
    case 'sync.complete':
    case 'sync.fail':
    case 'sync.retry':
    case 'sync.start':
    case 'supply.rate':
      return null;
  }
}
