// What the fuzzing client knows about the world from the answers it got, kept independently of the
// server: the SAEs that exist (configured or registered, minus deleted) and every key delivered by enc_keys
// and not yet retrieved, and the owner names sequential key IDs of every pool carry. Valid steps draw on
// it; a valid dec_keys of a ledger key must succeed.
import { keyIdOwnerOf, linkIdOf, poolIdOf } from '../../../src/model/world.js';

export interface IssuedKey {
  readonly keyId: string;
  readonly master: string;
  readonly slave: string;
  readonly masterKme: string;
  readonly slaveKme: string;
}

export interface FuzzLedger {
  readonly kmeIds: readonly string[];
  /** Live SAE → its KME, in registration order. */
  readonly saes: Map<string, string>;
  /** SAE IDs ever registered in this run, deleted ones included. */
  readonly everRegistered: Set<string>;
  keyCount(): number;
  keyAt(index: number): IssuedKey;
  key(keyId: string): IssuedKey | undefined;
  addKey(key: IssuedKey): void;
  removeKey(keyId: string): void;
  /** Whether registering this SAE on this KME would make a pool whose qk_ owner another pool has (C19). */
  takesKeyIdOwner(saeId: string, kmeId: string): boolean;
  /** A deleted SAE's waiting keys are discarded with its pools. */
  deleteSae(saeId: string): void;
  registerSae(saeId: string, kmeId: string): void;
}

export function createLedger(kmeIds: readonly string[], saes: ReadonlyArray<{ readonly id: string; readonly kme: string }>): FuzzLedger {
  const live = new Map(saes.map((sae) => [sae.id, sae.kme] as const));
  const everRegistered = new Set(live.keys());
  const keys: IssuedKey[] = [];
  const index = new Map<string, number>();
  // Pools are never forgotten (a deleted SAE's come back if it does), and neither are their owners.
  const owners = new Map<string, string>();
  const newPools = (saeId: string, kmeId: string): Array<[string, string]> =>
    kmeIds.map((other) => [poolIdOf(linkIdOf(kmeId, other), saeId), keyIdOwnerOf(saeId, kmeId, other)] as [string, string]).filter(([poolId]) => !owners.has(poolId));
  for (const [saeId, kmeId] of live) for (const [poolId, owner] of newPools(saeId, kmeId)) owners.set(poolId, owner);
  const removeKey = (keyId: string): void => {
    const at = index.get(keyId);
    if (at === undefined) return;
    const last = keys.pop() as IssuedKey;
    index.delete(keyId);
    if (at < keys.length) {
      keys[at] = last;
      index.set(last.keyId, at);
    }
  };
  return {
    kmeIds,
    saes: live,
    everRegistered,
    keyCount: () => keys.length,
    keyAt: (at) => keys[at] as IssuedKey,
    key: (keyId) => {
      const at = index.get(keyId);
      return at === undefined ? undefined : keys[at];
    },
    addKey(key) {
      if (index.has(key.keyId)) throw new Error(`ledger: key ${key.keyId} was delivered twice by enc_keys (I1)`);
      index.set(key.keyId, keys.length);
      keys.push(key);
    },
    removeKey,
    takesKeyIdOwner(saeId, kmeId) {
      const taken = new Set(owners.values());
      return newPools(saeId, kmeId).some(([, owner]) => taken.has(owner));
    },
    deleteSae(saeId) {
      live.delete(saeId);
      for (const key of keys.filter((k) => k.slave === saeId)) removeKey(key.keyId);
    },
    registerSae(saeId, kmeId) {
      for (const [poolId, owner] of newPools(saeId, kmeId)) owners.set(poolId, owner);
      live.set(saeId, kmeId);
      everRegistered.add(saeId);
    },
  };
}

/** The SAE ID a header-mode server reads from these headers: Node trims each line and joins repeats. */
export function callerFromHeaders(headers: Readonly<Record<string, string | readonly string[]>>, headerName: string): string | null {
  const values = Object.entries(headers)
    .filter(([name]) => name.toLowerCase() === headerName.toLowerCase())
    .flatMap(([, value]) => (typeof value === 'string' ? [value] : [...value]))
    .map((value) => value.replace(/^[ \t]+|[ \t]+$/g, ''));
  if (values.length === 0) return null;
  const joined = values.join(', ');
  return joined.length === 0 ? null : joined;
}

/** Whether an SAE can name itself in a header at all: latin1 without controls, no surrounding blanks. */
export function isHeaderSafe(saeId: string): boolean {
  return /^[\x21-\x7e\x80-\xff](?:[\x20-\x7e\x80-\xff]*[\x21-\x7e\x80-\xff])?$/.test(saeId) && !saeId.includes(', ');
}
