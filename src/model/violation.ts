// What every checker returns: the invariant broken, a sentence, and the evidence behind it.

export const INVARIANT_IDS = [
  'I1', 'I2', 'I3', 'I4', 'I5', 'I6', 'I7', 'I8', 'I9', 'I10', 'I11', 'I12', 'I13', 'I14', 'I15', 'I16',
] as const;
export type InvariantId = (typeof INVARIANT_IDS)[number];

export const INVARIANT_NAMES: Readonly<Record<InvariantId, string>> = {
  I1: 'no-reuse',
  I2: 'enc-dec-persistence',
  I3: 'consume-once',
  I4: 'same-material',
  I5: 'authorized-only',
  I6: 'pool-isolation',
  I7: 'all-or-nothing',
  I8: 'conservation',
  I9: 'exact-size',
  I10: 'provenance',
  I11: 'expiry',
  I12: 'bounded-sync',
  I13: 'no-5xx-from-clients',
  I14: 'determinism',
  I15: 'round-trip',
  I16: 'liveness',
};

export interface Violation {
  readonly invariant: InvariantId;
  readonly message: string;
  readonly evidence: Readonly<Record<string, unknown>>;
}

export function violation(invariant: InvariantId, message: string, evidence: Record<string, unknown>): Violation {
  return { invariant, message, evidence };
}
