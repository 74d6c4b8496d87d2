// Hand-built run reports for the report-writer tests: a passing mail run, a failing outage run with
// violations, and a 1,000-user run. Their series follow simple arithmetic, so they are the same every time.
import type { DeliveryBucket, MachineCoverageReport, PoolSeries, RunReport, TimelineEvent } from '../../../src/sim/runReport.js';
import type { ReportMeta } from '../../../src/sim/report/reportMeta.js';

const HOUR_MS = 3_600_000;
const KEY_STATES = ['generated', 'stored', 'reserved', 'consumed', 'expired', 'discarded'];
const POOL_STATES = ['healthy', 'low', 'critical', 'exhausted'].flatMap((level) =>
  ['idle', 'syncing', 'backoff'].flatMap((sync) => ['online', 'offline'].map((remote) => `level.${level}|sync.${sync}|remote.${remote}`)));

export const REPORT_META: ReportMeta = {
  title: 'kmesim nightly',
  command: 'kmesim run scenarios/ --seeds 42,7',
  build: 'kmesim 0.1.0 (test)',
};

export function createPassingRun(): RunReport {
  const hours = 72;
  const pools = ['alice', 'bob', 'carol'].map((name, i) => createPool(name, 1_000, hours, { drainPerHour: 9 + 4 * i, syncEveryHours: 24, offset: i }));
  return {
    scenario: 'mail-steady',
    file: 'scenarios/mail-steady.yaml',
    seed: 42,
    bugs: [],
    passed: true,
    fingerprint: '3f6c1e0a9b7d2c4e5f60718293a4b5c6d7e8f90112233445566778899aabbcc',
    virtualMs: hours * HOUR_MS,
    wallMs: 412.6,
    speed: { kmeSteps: 20_114, stepsPerSecond: 48_749, simToReal: 8_724 },
    derived: { users: 3, mailPerUserPerDay: 120, syncEveryMs: 24 * HOUR_MS },
    safety: { violations: [], steps: 18_240 },
    liveness: { violations: [], steps: 312 },
    expectations: [
      { description: 'every sent message is decrypted within 1 h', passed: true, detail: 'longest 14 min' },
      { description: 'no pool reaches exhausted', passed: true, detail: 'lowest level 312 keys (bob)' },
    ],
    stats: {
      users: 3, messagesSent: 1_080, messagesDecrypted: 1_080, messagesPending: 0, encRefused: {}, decRefused: {},
      syncsRequested: 9, syncsCompleted: 9, syncsFailed: 0, keysDelivered: 2_160, keysExpired: 0, maxDeliveryMs: 14 * 60_000,
      usersExhausted: 0, messagesDeferred: 0, messagesWritten: 1_080, keyWaits: [1_000, 10_000, 60_000, 600_000, 3_600_000].map((overMs) => ({ overMs, messages: 0 })),
    },
    series: {
      pools,
      // A link's key store: drawn down by the pools' syncs, refilled by the link between them.
      stores: [{ ...createPool('store KME_A~KME_B', 4_000, hours, { drainPerHour: 60, syncEveryHours: 24, offset: 3 }), poolId: '0:store:KME_A~KME_B', lowThreshold: 0, emergencyThreshold: 0 }],
      deliveries: createDeliveries(hours, () => ({ refusedEnc: 0, refusedDec: 0 })),
      events: [24, 48].flatMap((h) => ['alice', 'bob', 'carol'].map((name, i) => createEvent(h + i * 0.1, 'sync.completed', `scheduled sync for ${name}`))),
    },
    coverage: createCoverage(0.6),
    repro: 'kmesim run scenarios/mail-steady.yaml --seed 42',
  };
}

export function createFailingRun(): RunReport {
  const hours = 48;
  const outage = { fromHour: 20, toHour: 30 };
  const pools = ['dave', 'erin'].map((name, i) => createPool(name, 500, hours, { drainPerHour: 30 + 10 * i, syncEveryHours: 12, offset: i, outage }));
  return {
    scenario: 'remote-outage',
    file: 'scenarios/remote-outage.yaml',
    seed: 7,
    bugs: ['restart-loses-keys'],
    passed: false,
    fingerprint: 'a1b2c3d4e5f60718293a4b5c6d7e8f9001122334455667788990aabbccddeeff',
    virtualMs: hours * HOUR_MS,
    wallMs: 988.2,
    speed: { kmeSteps: 3_077, stepsPerSecond: 3_114, simToReal: 1_748 },
    derived: { users: 2, outageFromMs: outage.fromHour * HOUR_MS, outageToMs: outage.toHour * HOUR_MS, restartAtMs: 26 * HOUR_MS },
    safety: {
      violations: [{
        invariant: 'I2',
        message: 'key 5d0c…e1 delivered to dave for erin was lost by the restart and dec_keys answered 400',
        evidence: { keyId: '5d0c7a52-8b1e-4f7a-9d1c-2e3f4a5b6ce1', master: 'dave', slave: 'erin', restartAtMs: 26 * HOUR_MS, status: 400 },
      }],
      steps: 9_120,
    },
    liveness: {
      violations: [{
        invariant: 'I16',
        message: 'pool erin stayed below its low threshold for 6 h after faults healed (bound 1 h)',
        evidence: { pool: 'erin', belowSinceMs: 30 * HOUR_MS, boundMs: HOUR_MS },
      }],
      steps: 204,
    },
    expectations: [
      { description: 'every sent message is decrypted within 1 h', passed: false, detail: '3 messages still pending at the end of liveness' },
      { description: "erin's pool reaches exhausted", passed: true, detail: 'at 24.5 h' },
    ],
    stats: {
      users: 2, messagesSent: 640, messagesDecrypted: 598, messagesPending: 3, encRefused: { '503': 39 }, decRefused: { '400': 3 },
      syncsRequested: 11, syncsCompleted: 6, syncsFailed: 5, keysDelivered: 1_238, keysExpired: 12, maxDeliveryMs: 7 * HOUR_MS,
      usersExhausted: 1, messagesDeferred: 88, messagesWritten: 643, keyWaits: [1_000, 10_000, 60_000, 600_000, 3_600_000].map((overMs, i) => ({ overMs, messages: [60, 52, 41, 20, 7][i] as number })),
    },
    series: {
      pools,
      stores: [],
      deliveries: createDeliveries(hours, (h) => (h >= outage.fromHour + 3 && h < outage.toHour ? { refusedEnc: 4 + (h % 3), refusedDec: h === 26 ? 3 : 0 } : { refusedEnc: 0, refusedDec: 0 })),
      events: [
        createEvent(12, 'sync.completed', 'scheduled sync for dave'),
        createEvent(12.1, 'sync.completed', 'scheduled sync for erin'),
        createEvent(outage.fromHour, 'outage.start', 'remote key manager'),
        ...[21, 22.5, 24, 27, 29].map((h) => createEvent(h, 'sync.failed', 'threshold sync for erin: remote offline')),
        createEvent(26, 'kme.restart', 'KME A restarted'),
        createEvent(outage.toHour, 'outage.end', 'remote key manager'),
        createEvent(30.2, 'sync.completed', 'retry sync for dave'),
        createEvent(36, 'sync.completed', 'scheduled sync for dave'),
        createEvent(36.1, 'sync.completed', 'scheduled sync for erin'),
        createEvent(40, 'fault', 'fail the next 2 calls'),
      ],
    },
    coverage: createCoverage(0.85),
    repro: 'kmesim run scenarios/remote-outage.yaml --seed 7 --bug restart-loses-keys',
  };
}

/** A passing run with `users` pools; one pool has 9,000 samples and runs dry, so it is charted and thinned. */
export function createScaleRun(users: number): RunReport {
  const hours = 24;
  const pools: PoolSeries[] = [];
  for (let i = 0; i < users; i++) {
    pools.push(createPool(`user${String(i).padStart(4, '0')}`, 200, hours, { drainPerHour: 2 + ((i * 7919) % 5), syncEveryHours: 12, offset: i % 3 }));
  }
  pools.push(createPool('dense', 200, hours, { drainPerHour: 11, syncEveryHours: 48, offset: 0, samplesPerHour: 375 }));
  const base = createPassingRun();
  return {
    ...base,
    scenario: 'scale-1000',
    file: 'scenarios/scale-1000.yaml',
    seed: 1,
    virtualMs: hours * HOUR_MS,
    derived: { users },
    stats: { ...base.stats, users: users + 1 },
    series: { pools, stores: [], deliveries: createDeliveries(hours, () => ({ refusedEnc: 0, refusedDec: 0 })), events: [createEvent(12, 'sync.completed', 'scheduled syncs')] },
    repro: 'kmesim run scenarios/scale-1000.yaml --seed 1',
  };
}

interface PoolShape {
  readonly drainPerHour: number;
  readonly syncEveryHours: number;
  readonly offset: number;
  readonly outage?: { readonly fromHour: number; readonly toHour: number };
  readonly samplesPerHour?: number;
}

// A saw-tooth: the pool drains steadily and a sync refills it to capacity, except while the remote is down.
function createPool(name: string, capacity: number, hours: number, shape: PoolShape): PoolSeries {
  const perHour = shape.samplesPerHour ?? 6;
  const points: Array<readonly [number, number]> = [];
  let level = capacity;
  let lastSyncHour = 0;
  for (let step = 0; step <= hours * perHour; step++) {
    const hour = step / perHour;
    const down = shape.outage !== undefined && hour >= shape.outage.fromHour && hour < shape.outage.toHour;
    if (!down && (hour - lastSyncHour >= shape.syncEveryHours || (shape.outage && hour === shape.outage.toHour))) {
      level = capacity;
      lastSyncHour = hour;
    }
    const wobble = ((step * 37 + shape.offset * 11) % 5) - 2;
    level = Math.max(0, Math.min(capacity, level - shape.drainPerHour / perHour + wobble / perHour));
    points.push([Math.round(hour * HOUR_MS), Math.round(level)]);
  }
  return {
    poolId: `pool-${name}`,
    label: name,
    capacity,
    lowThreshold: capacity / 10,
    emergencyThreshold: capacity / 20,
    points,
  };
}

function createDeliveries(hours: number, refusals: (hour: number) => { refusedEnc: number; refusedDec: number }): DeliveryBucket[] {
  const buckets: DeliveryBucket[] = [];
  for (let h = 0; h < hours; h++) {
    const sent = 10 + ((h * 13) % 7);
    const { refusedEnc, refusedDec } = refusals(h);
    buckets.push({ atMs: h * HOUR_MS, sent, decrypted: Math.max(0, sent - refusedEnc - refusedDec), encRefused: refusedEnc, decRefused: refusedDec });
  }
  return buckets;
}

function createEvent(hour: number, kind: TimelineEvent['kind'], label: string): TimelineEvent {
  return { atMs: Math.round(hour * HOUR_MS), kind, label };
}

// Takes the first `share` of each machine's declared transitions, each a few times.
function createCoverage(share: number): MachineCoverageReport[] {
  const keyTransitions = [
    ['generated', 'key.store', 'stored'], ['stored', 'key.reserve', 'reserved'], ['reserved', 'key.consume', 'consumed'],
    ['stored', 'key.expire', 'expired'], ['reserved', 'key.retrieve', 'reserved'], ['reserved', 'key.expire', 'expired'],
    ['generated', 'key.discard', 'discarded'], ['stored', 'key.discard', 'discarded'], ['reserved', 'key.discard', 'discarded'],
  ] as const;
  const poolTransitions = POOL_STATES.slice(0, 12).flatMap((from, i) => [
    [from, 'sync.start', POOL_STATES[(i + 2) % POOL_STATES.length] ?? from],
    [from, 'level.low', POOL_STATES[(i + 6) % POOL_STATES.length] ?? from],
  ] as const);
  return [
    splitCoverage('key', KEY_STATES, keyTransitions, share),
    splitCoverage('pool', POOL_STATES, poolTransitions, share),
  ];
}

function splitCoverage(
  machine: 'key' | 'pool',
  states: readonly string[],
  declared: ReadonlyArray<readonly [string, string, string]>,
  share: number,
): MachineCoverageReport {
  const takenCount = Math.round(declared.length * share);
  const taken = declared.slice(0, takenCount).map(([from, event, to], i) => ({ from, event, to, count: 1 + ((i * 97) % 400) }));
  const missed = declared.slice(takenCount).map(([from, event, to]) => ({ from, event, to }));
  const visited = states.filter((state) => taken.some((t) => t.from === state || t.to === state));
  return { machine, states, statesVisited: visited, transitions: taken, transitionsMissed: missed };
}
