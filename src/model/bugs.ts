// The bug catalogue: switches that each break one rule on purpose, to prove the harness finds them.
// None is ever on by default.

export const BUG_NAMES = [
  'pop-on-enc',
  'no-consume',
  'double-delivery',
  'partial-consume',
  'check-then-act',
  'size-rounding',
  'third-party-read',
  'synthetic-fallback',
  'count-drift',
  'restart-loses-keys',
  'no-demand-sync',
] as const;

export type BugName = (typeof BUG_NAMES)[number];

export const BUG_DESCRIPTIONS: Readonly<Record<BugName, { readonly breaks: string; readonly what: string }>> = {
  'pop-on-enc': { breaks: 'I2', what: 'enc_keys removes the key, so its slave cannot retrieve it' },
  'no-consume': { breaks: 'I3', what: 'dec_keys leaves the key retrievable' },
  'double-delivery': { breaks: 'I3', what: 'consumption is recorded per KME, so the other KME of the link delivers the key again' },
  'partial-consume': { breaks: 'I7', what: 'a failed dec_keys consumes the keys it did find' },
  'check-then-act': { breaks: 'I1', what: 'enc_keys checks availability, awaits, then reserves, so concurrent calls can deliver one key twice' },
  'size-rounding': { breaks: 'I9', what: 'sizes that are not a multiple of 8 are rounded up to whole bytes instead of refused' },
  'third-party-read': { breaks: 'I5', what: 'dec_keys does not check that the caller was named as slave' },
  'synthetic-fallback': { breaks: 'I10', what: 'a pool is refilled locally when the remote key manager is down' },
  'count-drift': { breaks: 'I8', what: 'status stored_key_count also counts delivered keys that wait for their slave' },
  'restart-loses-keys': { breaks: 'I2', what: 'reservations are not persisted across a restart' },
  'no-demand-sync': { breaks: 'I16', what: 'an enc_keys refused for want of keys asks the remote for nothing, so a pool above its threshold stays too low for the requests it gets' },
};

export function isBugName(value: string): value is BugName {
  return (BUG_NAMES as readonly string[]).includes(value);
}

export function parseBugNames(names: readonly string[]): ReadonlySet<BugName> {
  const unknown = names.filter((name) => !isBugName(name));
  if (unknown.length > 0) {
    throw new Error(`unknown bug switch ${unknown.map((n) => `"${n}"`).join(', ')} (known: ${BUG_NAMES.join(', ')})`);
  }
  return new Set(names as BugName[]);
}
