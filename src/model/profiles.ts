// Profiles are data: a named set of switches over one core, never a fork of the code.
import type { BackoffPolicy } from './machineTypes.js';

export interface Profile {
  readonly name: string;
  /** `uuid`: PRF-derived canonical UUIDs. `sequential`: `qk_{slave}_{seq:06d}` of the per-user-pool design. */
  readonly keyIdFormat: 'uuid' | 'sequential';
  readonly keySizeBits: number;
  readonly minKeySizeBits: number;
  readonly maxKeySizeBits: number;
  readonly maxKeysPerRequest: number;
  /** 0 disables multicast (`additional_slave_SAE_IDs`). */
  readonly maxSaeIdCount: number;
  readonly poolCapacity: number;
  /**
   * Keys delivered by enc_keys that may wait for their slave in one pool (one slave on one link); beyond
   * it enc_keys is refused with 503 until dec_keys retrieves some. null: no bound (the simulator's worlds;
   * the mock KME bounds it at the pool's capacity unless told otherwise).
   */
  readonly maxWaitingKeys: number | null;
  readonly lowThresholdPct: number;
  readonly emergencyThresholdPct: number;
  /** How long a key may wait in a pool, and how long a delivered key waits for its slaves. */
  readonly keyTtlMs: number;
  /** `false`: dec_keys leaves keys retrievable (a documented quirk of other KMEs). */
  readonly consumeOnDecrypt: boolean;
  readonly keyNotFound: { readonly status: 400 | 404; readonly message: string };
  /** The answer when a pool holds fewer keys than enc_keys asks for (the spec is silent; LATITUDE.md). */
  readonly insufficientKeys: { readonly status: 400 | 503; readonly message: string };
  /**
   * What a dec_keys that repeats an earlier one (its answer lost on the way) gets. `burn`: the keys are
   * gone, the repeat is refused as for unknown keys. `idempotent`: a slave that retrieved a key within the
   * last `retryGraceMs` gets the same key again, and nothing changes.
   */
  readonly retry: RetryMode;
  readonly retryGraceMs: number;
  readonly backoff: BackoffPolicy;
  readonly scheduledSyncMs: number;
  /** Pool details in `status_extension` (the per-user-pool design shows them there). */
  readonly statusExtension: boolean;
  /** The per-user-pool design's extra routes: register, refill, delete, pools, km/status, km/sync. */
  readonly poolRoutes: boolean;
  /**
   * The shapes of those routes' answers. `kmesim`: plain views of the model. `next-door`: the seed KME's
   * documented ones (201 on register with `success` and `keys_generated`, a `summary` of the pools,
   * `local_km_id`, refill by `keys_to_add`).
   */
  readonly poolApi: 'kmesim' | 'next-door';
  /**
   * Where the key routes are served besides `/api/v1/keys` (the seed KME serves its per-user-pool
   * routes, and the ETSI ones beside them, under `/api/v1/user-keys` too).
   */
  readonly extraKeyPrefixes: readonly string[];
  /** Mandatory extensions this KME understands; any other one is refused with spec string 2. */
  readonly supportedMandatoryExtensions: readonly string[];
}

export const RETRY_MODES = ['burn', 'idempotent'] as const;
export type RetryMode = (typeof RETRY_MODES)[number];

export function isRetryMode(mode: string): mode is RetryMode {
  return (RETRY_MODES as readonly string[]).includes(mode);
}

/** The one mandatory extension the model supports: keys must stay retrievable at least this long. */
export const MIN_TTL_EXTENSION = 'kmesim_min_ttl_ms';

const HOUR_MS = 3_600_000;

export const strictProfile: Profile = {
  name: 'strict',
  keyIdFormat: 'uuid',
  keySizeBits: 256,
  minKeySizeBits: 8,
  maxKeySizeBits: 8192,
  maxKeysPerRequest: 128,
  maxSaeIdCount: 0,
  poolCapacity: 1000,
  maxWaitingKeys: null,
  lowThresholdPct: 10,
  emergencyThresholdPct: 5,
  keyTtlMs: 24 * HOUR_MS,
  consumeOnDecrypt: true,
  keyNotFound: { status: 400, message: 'one or more keys specified are not found on KME' },
  insufficientKeys: { status: 503, message: 'not enough keys available' },
  retry: 'burn',
  retryGraceMs: 30_000,
  backoff: { baseMs: 1_000, maxMs: 5 * 60_000 },
  scheduledSyncMs: 24 * HOUR_MS,
  statusExtension: false,
  poolRoutes: false,
  poolApi: 'kmesim',
  extraKeyPrefixes: [],
  supportedMandatoryExtensions: [MIN_TTL_EXTENSION],
};

export const perUserPoolProfile: Profile = {
  ...strictProfile,
  name: 'per-user-pool',
  keyIdFormat: 'sequential',
  keySizeBits: 8192,
  minKeySizeBits: 8192,
  maxKeySizeBits: 8192,
  statusExtension: true,
  poolRoutes: true,
};

/**
 * The seed KME of the per-user-pool design, as its documents describe it: its pool routes' shapes and
 * status codes, under both prefixes, and exhaustion answered 400 `Insufficient keys available`.
 */
export const nextDoorProfile: Profile = {
  ...perUserPoolProfile,
  name: 'next-door',
  insufficientKeys: { status: 400, message: 'Insufficient keys available' },
  poolApi: 'next-door',
  extraKeyPrefixes: ['/api/v1/user-keys'],
};

export const lenientProfile: Profile = {
  ...strictProfile,
  name: 'lenient',
  consumeOnDecrypt: false,
  keyNotFound: { status: 404, message: 'Key not found' },
};

/** Path segments of the per-user-pool routes, which no SAE may be called (routes match in any case). */
export const RESERVED_SAE_IDS: readonly string[] = ['register', 'pools', 'km'];

export function isReservedSaeId(id: string): boolean {
  return RESERVED_SAE_IDS.includes(id.toLowerCase());
}

/** A key size set over a profile: its size range widens to take it (a small world, or a scenario's size). */
export function keySizeOverrides(base: Pick<Profile, 'minKeySizeBits' | 'maxKeySizeBits'>, keySizeBits: number): Pick<Profile, 'keySizeBits' | 'minKeySizeBits' | 'maxKeySizeBits'> {
  return { keySizeBits, minKeySizeBits: Math.min(base.minKeySizeBits, keySizeBits), maxKeySizeBits: Math.max(base.maxKeySizeBits, keySizeBits) };
}

/** The profiles kmesim ships, by name. */
export const PROFILE_NAMES = ['strict', 'per-user-pool', 'next-door', 'lenient'] as const;
export type ProfileName = (typeof PROFILE_NAMES)[number];

export function isProfileName(name: string): name is ProfileName {
  return (PROFILE_NAMES as readonly string[]).includes(name);
}

export const PROFILES: ReadonlyMap<string, Profile> = new Map(
  [strictProfile, perUserPoolProfile, nextDoorProfile, lenientProfile].map((profile) => [profile.name, profile]),
);

export function resolveProfile(name: string, overrides: Partial<Profile> = {}): Profile {
  const base = PROFILES.get(name);
  if (base === undefined) {
    throw new Error(`resolveProfile: unknown profile "${name}" (known: ${[...PROFILES.keys()].join(', ')})`);
  }
  const profile = { ...base, ...overrides };
  assertProfile(profile);
  return profile;
}

export function assertProfile(profile: Profile): void {
  const problems: string[] = [];
  const positiveInt = (name: keyof Profile, value: number): void => {
    if (!Number.isSafeInteger(value) || value <= 0) problems.push(`${name} must be a positive integer`);
  };
  positiveInt('keySizeBits', profile.keySizeBits);
  positiveInt('minKeySizeBits', profile.minKeySizeBits);
  positiveInt('maxKeySizeBits', profile.maxKeySizeBits);
  positiveInt('maxKeysPerRequest', profile.maxKeysPerRequest);
  positiveInt('poolCapacity', profile.poolCapacity);
  positiveInt('keyTtlMs', profile.keyTtlMs);
  if (profile.keySizeBits % 8 !== 0 || profile.minKeySizeBits % 8 !== 0 || profile.maxKeySizeBits % 8 !== 0) {
    problems.push('key sizes must be multiples of 8');
  }
  if (!(profile.minKeySizeBits <= profile.keySizeBits && profile.keySizeBits <= profile.maxKeySizeBits)) {
    problems.push('minKeySizeBits <= keySizeBits <= maxKeySizeBits must hold');
  }
  if (!(profile.emergencyThresholdPct >= 0 && profile.emergencyThresholdPct <= profile.lowThresholdPct && profile.lowThresholdPct <= 100)) {
    problems.push('0 <= emergencyThresholdPct <= lowThresholdPct <= 100 must hold');
  }
  if (!Number.isSafeInteger(profile.retryGraceMs) || profile.retryGraceMs < 0) problems.push('retryGraceMs must be a non-negative integer');
  if (!(RETRY_MODES as readonly string[]).includes(profile.retry)) problems.push(`retry must be one of ${RETRY_MODES.join(', ')}`);
  if (profile.maxWaitingKeys !== null) positiveInt('maxWaitingKeys', profile.maxWaitingKeys);
  if (!Number.isSafeInteger(profile.maxSaeIdCount) || profile.maxSaeIdCount < 0) {
    problems.push('maxSaeIdCount must be a non-negative integer');
  }
  if (problems.length > 0) throw new Error(`profile "${profile.name}": ${problems.join('; ')}`);
}
