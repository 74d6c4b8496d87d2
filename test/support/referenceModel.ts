// A small reference for the KME core, written without its code: plain counts and key records that say
// which outcome each request must have. The model-based properties compare the core against it.
import { linkIdOf, poolIdOf } from '../../src/index.js';

export interface RefKey {
  readonly keyId: string;
  readonly masterSaeId: string;
  readonly slaveSaeIds: readonly string[];
  readonly linkKmes: readonly string[];
  readonly expiresAtMs: number;
  readonly retrievedBy: Set<string>;
}

export interface RefSetup {
  readonly saes: ReadonlyArray<{ readonly id: string; readonly kmeId: string }>;
  readonly kmeIds: readonly string[];
  readonly capacity: number;
  readonly ttlMs: number;
  readonly maxKeysPerRequest: number;
  readonly minSizeBits: number;
  readonly maxSizeBits: number;
  readonly defaultSizeBits: number;
  readonly maxSaeIdCount: number;
}

export type Expected = { readonly ok: true } | { readonly ok: false; readonly status: 400 | 401 | 503 };

export class ReferenceModel {
  nowMs = 0;
  remoteOnline = true;
  readonly keys = new Map<string, RefKey>();
  readonly issued: string[] = [];
  private readonly batches = new Map<string, Array<{ count: number; expiresAtMs: number }>>();

  constructor(readonly setup: RefSetup) {
    for (const sae of setup.saes) {
      for (const kme of setup.kmeIds) {
        this.batches.set(poolIdOf(linkIdOf(sae.kmeId, kme), sae.id), [{ count: setup.capacity, expiresAtMs: setup.ttlMs }]);
      }
    }
  }

  kmeOf(saeId: string): string {
    const sae = this.setup.saes.find((s) => s.id === saeId);
    if (sae === undefined) throw new Error(`reference: no SAE ${saeId}`);
    return sae.kmeId;
  }

  poolFor(masterSaeId: string, slaveSaeId: string): string {
    return poolIdOf(linkIdOf(this.kmeOf(masterSaeId), this.kmeOf(slaveSaeId)), slaveSaeId);
  }

  stored(poolId: string): number {
    const batches = this.liveBatches(poolId);
    return batches.reduce((sum, batch) => sum + batch.count, 0);
  }

  private liveBatches(poolId: string): Array<{ count: number; expiresAtMs: number }> {
    const batches = this.batches.get(poolId);
    if (batches === undefined) throw new Error(`reference: no pool ${poolId}`);
    while (batches.length > 0 && (batches[0] as { expiresAtMs: number }).expiresAtMs <= this.nowMs) batches.shift();
    return batches;
  }

  expectEnc(masterSaeId: string, slaveSaeId: string, count: number, sizeBits: number | undefined, extra: readonly string[]): Expected {
    const size = sizeBits ?? this.setup.defaultSizeBits;
    // No SAE is its own slave (C28); the core checks this before the request's values.
    if (slaveSaeId === masterSaeId) return { ok: false, status: 400 };
    if (count < 1 || count > this.setup.maxKeysPerRequest) return { ok: false, status: 400 };
    if (size % 8 !== 0 || size < this.setup.minSizeBits || size > this.setup.maxSizeBits) return { ok: false, status: 400 };
    if (extra.length > this.setup.maxSaeIdCount || extra.includes(masterSaeId) || extra.includes(slaveSaeId)) return { ok: false, status: 400 };
    if (extra.some((id) => this.kmeOf(id) !== this.kmeOf(slaveSaeId))) return { ok: false, status: 400 };
    if (this.stored(this.poolFor(masterSaeId, slaveSaeId)) < count) return { ok: false, status: 503 };
    return { ok: true };
  }

  applyEnc(masterSaeId: string, slaveSaeId: string, keyIds: readonly string[], extra: readonly string[]): void {
    const poolId = this.poolFor(masterSaeId, slaveSaeId);
    let left = keyIds.length;
    for (const batch of this.liveBatches(poolId)) {
      const take = Math.min(left, batch.count);
      batch.count -= take;
      left -= take;
    }
    this.batches.set(poolId, this.liveBatches(poolId).filter((batch) => batch.count > 0));
    const link = linkIdOf(this.kmeOf(masterSaeId), this.kmeOf(slaveSaeId)).split('~');
    for (const keyId of keyIds) {
      this.keys.set(keyId, {
        keyId,
        masterSaeId,
        slaveSaeIds: [slaveSaeId, ...extra],
        linkKmes: link,
        expiresAtMs: this.nowMs + this.setup.ttlMs,
        retrievedBy: new Set(),
      });
      this.issued.push(keyId);
    }
  }

  expectDec(kmeId: string, callerSaeId: string, masterSaeId: string, keyIds: readonly string[]): Expected {
    let forbidden = false;
    let missing = false;
    for (const id of keyIds) {
      const key = this.keys.get(id);
      // Expired and fully consumed keys no longer exist, whoever asks.
      const gone = key === undefined || key.expiresAtMs <= this.nowMs || key.slaveSaeIds.every((s) => key.retrievedBy.has(s));
      if (gone || !key.linkKmes.includes(kmeId) || key.masterSaeId !== masterSaeId) missing = true;
      else if (!key.slaveSaeIds.includes(callerSaeId)) forbidden = true;
      else if (key.retrievedBy.has(callerSaeId)) missing = true;
    }
    if (forbidden) return { ok: false, status: 401 };
    if (missing) return { ok: false, status: 400 };
    return { ok: true };
  }

  applyDec(callerSaeId: string, keyIds: readonly string[]): void {
    for (const id of keyIds) this.keys.get(id)?.retrievedBy.add(callerSaeId);
  }

  applySync(poolId: string, keyCount: number): void {
    const room = this.setup.capacity - this.stored(poolId);
    const added = Math.max(0, Math.min(keyCount, room));
    if (added > 0) this.liveBatches(poolId).push({ count: added, expiresAtMs: this.nowMs + this.setup.ttlMs });
  }
}
