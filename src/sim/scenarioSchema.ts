// The scenario file format (YAML), defined once with zod: the world, the workload, the faults over
// virtual time, and what must hold. Durations are milliseconds or text ("30s", "2h", "7d").
import { z } from 'zod';
import { durationSchema as duration } from '../engine/duration.js';
import { faultSchema } from '../engine/faults.js';
import { BUG_NAMES } from '../model/bugs.js';
import { PROFILE_NAMES } from '../model/profiles.js';

const probability = z.number().min(0).max(1);

const userSchema = z.strictObject({
  name: z.string().min(1),
  email: z.string().optional(),
  sae: z.string().min(1).optional(),
  kme: z.number().int().min(0).optional(),
  /** This user's own mail rate, instead of the workload's mailsPerUserPerDay (0: the user only reads). */
  mailsPerDay: z.number().min(0).optional(),
});

const worldSchema = z.strictObject({
  profile: z.enum(PROFILE_NAMES).default('strict'),
  kmes: z.union([z.literal(1), z.literal(2)]).default(1),
  /** 2: every message is encrypted with keys from two independent sources (k1 XOR k2). */
  sources: z.union([z.literal(1), z.literal(2)]).default(1),
  users: z.union([z.strictObject({ count: z.number().int().min(2).max(100_000) }), z.array(userSchema).min(2)]),
  pool: z
    .strictObject({
      capacity: z.number().int().min(1).optional(),
      initialKeys: z.number().int().min(0).optional(),
      lowThresholdPct: z.number().min(0).max(100).optional(),
      emergencyThresholdPct: z.number().min(0).max(100).optional(),
    })
    .default({}),
  keySizeBits: z.number().int().min(8).optional(),
  maxKeysPerRequest: z.number().int().min(1).optional(),
  maxSaeIdCount: z.number().int().min(0).optional(),
  keyTtl: duration.optional(),
  /**
   * What each QKD link produces (keySupply.ts): `rate` in secret bits per second, or a `link` description
   * whose rate the decoy-state BB84 formula gives (keyRate.ts; unset fields take the GYS experiment's
   * values); the store holds `storeBits` (default: one pool's worth), full at the start unless
   * `initialBits` says otherwise. Absent: the remote key manager is an endless source.
   */
  supply: z
    .strictObject({
      rate: z.number().min(0).optional(),
      link: z
        .strictObject({
          distanceKm: z.number().min(0).max(10_000),
          fibreLossDbPerKm: z.number().min(0).max(10).optional(),
          detectorEfficiency: z.number().gt(0).max(1).optional(),
          darkCountYield: z.number().min(0).max(1).optional(),
          detectorErrorRate: z.number().min(0).max(0.5).optional(),
          errorCorrectionInefficiency: z.number().min(1).max(10).optional(),
          pulseRateHz: z.number().gt(0).max(1e12).optional(),
          meanPhotonNumber: z.number().gt(0).max(10).optional(),
        })
        .optional(),
      storeBits: z.number().gt(0).optional(),
      initialBits: z.number().min(0).optional(),
      /**
       * `sync`: keys reach a pool when it syncs; `continuous`: a pool also takes what the store holds
       * whenever a client asks about it (status, enc_keys), with no sync latency.
       */
      feed: z.enum(['sync', 'continuous']).optional(),
      /** Every `every`, each link's rate is drawn anew, uniformly within ±`spreadPct` % of its mean (seeded). */
      fluctuation: z.strictObject({ every: duration.refine((ms) => ms >= 1_000, { message: 'at least 1s' }), spreadPct: z.number().min(0).max(100) }).optional(),
      /**
       * Each link's quantum channel fails now and then (seeded, exponential times between outages and of their
       * lengths): no key is produced while it is down, though the store can still be drawn from. Outages are
       * faults: they start only in the safety phase, and the liveness phase heals them.
       */
      outages: z.strictObject({ meanEvery: duration.refine((ms) => ms >= 1_000, { message: 'at least 1s' }), meanLength: duration.refine((ms) => ms >= 1, { message: 'at least 1ms' }) }).optional(),
    })
    .refine((supply) => (supply.rate === undefined) !== (supply.link === undefined), { message: 'give either rate (bits per second) or link (a QKD link description)' })
    .refine((supply) => supply.initialBits === undefined || supply.storeBits === undefined || supply.initialBits <= supply.storeBits, { message: 'initialBits must not exceed storeBits' })
    .optional(),
  sync: z
    .strictObject({
      scheduled: duration.optional(),
      latency: duration.default(2_000),
      backoffBase: duration.optional(),
      backoffMax: duration.optional(),
    })
    .default({ latency: 2_000 }),
});

const recipientsSchema = z.union([
  z.literal('uniform'),
  /** A few receivers get most mail (Zipf-like, exponent 1). */
  z.literal('popular'),
  z.strictObject({ hot: z.string().min(1), share: probability }),
]);

const workloadSchema = z.strictObject({
  mailsPerUserPerDay: z.number().min(0).default(20),
  /** Message sizes in bytes: uniform from min to max, or exponentially distributed with the given mean. */
  messageBytes: z
    .union([z.strictObject({ min: z.number().int().min(0), max: z.number().int().min(1) }), z.strictObject({ mean: z.number().min(1).max(1e9) })])
    .default({ min: 200, max: 4_000 }),
  recipients: recipientsSchema.default('uniform'),
  /** Extra recipients per mail (multicast), 0 for none. */
  ccMax: z.number().int().min(0).default(0),
  transmitDelay: z.strictObject({ min: duration, max: duration }).default({ min: 1_000, max: 60_000 }),
  /** How long after arrival the receiver opens the mail (calls dec_keys). */
  readDelay: z.strictObject({ min: duration, max: duration }).default({ min: 0, max: 600_000 }),
  bursts: z
    .array(z.strictObject({ at: duration, senders: z.number().int().min(1), recipient: z.string().min(1), messages: z.number().int().min(1).default(1) }))
    .default([]),
  /**
   * Share of messages sealed and opened with real key bytes (I15). Every key of every message is still
   * judged by the other invariants at every step; the scale scenario samples the byte-level round trip.
   */
  otpSample: probability.default(1),
  /** Clients call status before enc_keys and wait when it shows too few keys; false: they just try. */
  statusFirst: z.boolean().default(true),
  /**
   * Clients that misbehave, as shares of messages (0…1). The KME must refuse each of these requests and
   * lose nothing: a re-read of a consumed key, a re-read through the other KME of the link, a key ID list
   * with one corrupted ID (the client then retries correctly), an eavesdropper replaying sniffed key IDs,
   * and a request for a size that is not a multiple of 8.
   */
  misbehaviour: z
    .strictObject({
      reread: probability.default(0),
      rereadOtherEnd: probability.default(0),
      corruptIds: probability.default(0),
      eavesdrop: probability.default(0),
      oddSize: probability.default(0),
    })
    .default({ reread: 0, rereadOtherEnd: 0, corruptIds: 0, eavesdrop: 0, oddSize: 0 }),
  /** K senders on one receiver's pool at the same virtual instant. */
  races: z.array(z.strictObject({ at: duration, senders: z.number().int().min(2), recipient: z.string().min(1) })).default([]),
});

const expectationSchema = z.union([
  z.strictObject({ pool: z.string().min(1), reaches: z.enum(['healthy', 'low', 'critical', 'exhausted']) }),
  z.strictObject({ everyMessageDecryptedWithin: duration }),
  z.strictObject({ minMessagesDecrypted: z.number().int().min(0) }),
  z.strictObject({ encRefused: z.strictObject({ min: z.number().int().min(0).optional(), max: z.number().int().min(0).optional() }) }),
  z.strictObject({ syncs: z.strictObject({ reason: z.enum(['scheduled', 'threshold', 'emergency', 'manual', 'demand']).optional(), failedMin: z.number().int().min(0).optional(), completedMin: z.number().int().min(0).optional() }) }),
  z.strictObject({ keysExpiredMin: z.number().int().min(0) }),
]);

export const scenarioSchema = z.strictObject({
  name: z.string().regex(/^[a-z0-9][a-z0-9-]*$/, 'lowercase letters, digits and dashes'),
  description: z.string().default(''),
  seeds: z.array(z.number().int().min(0)).min(1),
  /** Virtual time of the safety phase (faults on). */
  duration,
  /** After the safety phase, faults heal: pending work must complete within this bound (I16). */
  liveness: z.strictObject({ bound: duration }).default({ bound: 3_600_000 }),
  world: worldSchema,
  workload: workloadSchema.default(() => workloadSchema.parse({})),
  faults: z.array(faultSchema).default([]),
  bugs: z.array(z.enum(BUG_NAMES)).default([]),
  expect: z.array(expectationSchema).default([]),
  /** Full world audits every N steps (1 = every step); touched pools are always checked. */
  auditEvery: z.number().int().min(1).optional(),
});

export type ScenarioInput = z.input<typeof scenarioSchema>;
export type Scenario = z.output<typeof scenarioSchema>;
export type { Fault } from '../engine/faults.js';
export type Expectation = Scenario['expect'][number];
