// The exchange a client saw when the core ran one command: what the history checker judges. Shared by
// the simulator, the mock KME's live verdict and the property harness.
import type { Exchange, ObservedKey } from './historyChecker.js';
import type { KmeCommand } from './kmeCore.js';

/** The exchange for an enc_keys, dec_keys or SAE deletion; null for commands a client does not see. */
export function exchangeOf(
  command: KmeCommand,
  observed: { readonly id: number; readonly atMs: number; readonly status: number; readonly keys: readonly ObservedKey[]; readonly defaultKeySizeBits: number },
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
      return { op: 'dec', id, atMs, kmeId: command.kmeId, callerSaeId: command.callerSaeId, masterSaeId: command.masterSaeId, keyIds: command.keyIds, status, keys };
    case 'sae.delete':
      return status === 200 ? { op: 'discard', id, atMs, saeId: command.saeId } : null;
    default:
      return null;
  }
}
