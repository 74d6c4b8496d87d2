// Plays one scenario at one seed in virtual time: users send mail (status → enc_keys from the receiver's
// pool → transmit → dec_keys by the receiver → decrypt and compare), the remote key manager answers
// syncs, faults come and go. Safety phase first (faults on, invariants at every step; the first violation
// stops the run), then liveness (faults healed, no new mail, pending work must finish within the bound).
import { countKeysNeeded, OtpError, openOtp, sealOtp, type OtpEnvelope, type OtpKey } from '../model/otpEnvelope.js';
import { deriveKeyId } from '../model/keyIds.js';
import { deriveKeyBytes, materialOf } from '../model/keyMaterial.js';
import type { DeliveredKey } from '../model/encKeys.js';
import type { KmeCommand } from '../model/kmeCore.js';
import { describePoolState } from '../model/lifecycles.js';
import type { KmeEffect } from '../model/poolOps.js';
import { resolveProfile, type Profile } from '../model/profiles.js';
import { violation, type Violation } from '../model/violation.js';
import { availableKeys, createWorld } from '../model/world.js';
import type { BugName } from '../model/bugs.js';
import { reportCoverage } from './coverageReport.js';
import { formatDuration } from '../engine/duration.js';
import { EventQueue } from '../engine/eventQueue.js';
import { evaluateExpectations, type RunTally } from './expectations.js';
import { createRng } from './rng.js';
import type { RunReport } from './runReport.js';
import type { Fault, Scenario } from './scenarioSchema.js';
import { createSeriesRecorder } from './seriesRecorder.js';
import { createRecipientChooser, createUsers, type SimUser } from './simUsers.js';
import { createSimKme, kmeIdOf, type SimKme } from './simKme.js';
import { contentHash, createTrace } from './trace.js';

export interface RunOptions {
  readonly seed: number;
  /** Where the scenario was read from, for the report and its repro line; never in the trace. */
  readonly file: string;
  /** Bug switches on top of the scenario's own. */
  readonly bugs?: readonly BugName[];
  /** Receives each trace line (JSONL) as it is written. */
  readonly traceSink?: (line: string) => void;
  /** Called once, before the run, with every option derived from the seed. */
  readonly onDerived?: (derived: Readonly<Record<string, unknown>>) => void;
}

interface Message {
  readonly id: number;
  readonly sender: SimUser;
  readonly readers: readonly SimUser[];
  readonly bytes: number;
  readonly createdAtMs: number;
  sentAtMs: number | null;
  sendAttempts: number;
  envelope: OtpEnvelope | null;
  /** Whether this message is sealed with real key bytes; otherwise only its key IDs travel (otpSample). */
  readonly sampled: boolean;
  keyIds: ReadonlyArray<readonly string[]>;
  readonly decryptedBy: Set<number>;
  lost: boolean;
}

type SimEvent =
  | { readonly type: 'mail.next'; readonly user: SimUser }
  | { readonly type: 'mail.send'; readonly message: Message }
  | { readonly type: 'mail.read'; readonly message: Message; readonly reader: SimUser; readonly attempt: number }
  | { readonly type: 'mail.reread'; readonly message: Message; readonly reader: SimUser; readonly otherEnd: boolean }
  | { readonly type: 'mail.eavesdrop'; readonly message: Message; readonly eavesdropper: SimUser }
  | { readonly type: 'sync.answer'; readonly source: number; readonly poolId: string; readonly linkId: string; readonly attempt: number; readonly keyCount: number }
  | { readonly type: 'sync.retry'; readonly source: number; readonly poolId: string; readonly attempt: number }
  | { readonly type: 'sync.scheduled' }
  | { readonly type: 'fault.start'; readonly fault: Fault }
  | { readonly type: 'fault.end'; readonly fault: Fault }
  | { readonly type: 'phase.liveness' };

const DAY_MS = 86_400_000;
const NO_BYTES = new Uint8Array(0);

/** The scenario's profile with its overrides; `baseName` replaces the profile the scenario names. */
export function buildProfile(scenario: Scenario, baseName: string = scenario.world.profile): Profile {
  const { world } = scenario;
  const base = resolveProfile(baseName);
  const overrides: Partial<{ -readonly [K in keyof Profile]: Profile[K] }> = {};
  if (world.pool.capacity !== undefined) overrides.poolCapacity = world.pool.capacity;
  if (world.pool.lowThresholdPct !== undefined) overrides.lowThresholdPct = world.pool.lowThresholdPct;
  if (world.pool.emergencyThresholdPct !== undefined) overrides.emergencyThresholdPct = world.pool.emergencyThresholdPct;
  if (world.keySizeBits !== undefined) {
    overrides.keySizeBits = world.keySizeBits;
    overrides.minKeySizeBits = Math.min(base.minKeySizeBits, world.keySizeBits);
    overrides.maxKeySizeBits = Math.max(base.maxKeySizeBits, world.keySizeBits);
  }
  if (world.maxKeysPerRequest !== undefined) overrides.maxKeysPerRequest = world.maxKeysPerRequest;
  if (world.maxSaeIdCount !== undefined) overrides.maxSaeIdCount = world.maxSaeIdCount;
  if (world.keyTtl !== undefined) overrides.keyTtlMs = world.keyTtl;
  if (world.sync.scheduled !== undefined) overrides.scheduledSyncMs = world.sync.scheduled;
  if (world.sync.backoffBase !== undefined || world.sync.backoffMax !== undefined) {
    overrides.backoff = { baseMs: world.sync.backoffBase ?? base.backoff.baseMs, maxMs: world.sync.backoffMax ?? base.backoff.maxMs };
  }
  return resolveProfile(baseName, overrides);
}

export function runScenario(scenario: Scenario, options: RunOptions): RunReport {
  const wallStart = performance.now();
  const rng = createRng(`${scenario.name}:${options.seed}`);
  const profile = buildProfile(scenario);
  const bugs = [...new Set([...scenario.bugs, ...(options.bugs ?? [])])].sort() as BugName[];
  const users = createUsers(scenario, rng.fork('users'));
  const userByName = new Map(users.map((user) => [user.name, user]));
  const chooseRecipient = createRecipientChooser(scenario, users, rng.fork('recipients'));
  const mailRng = rng.fork('mail');
  const sampleRng = rng.fork('otp-sample');
  const kmeIds = Array.from({ length: scenario.world.kmes }, (_, i) => kmeIdOf(i));
  const endOfSafety = scenario.duration;
  const endOfRun = scenario.duration + scenario.liveness.bound;
  const auditEvery = scenario.auditEvery ?? (users.length <= 50 ? 1 : 5_000);
  const derived = {
    scenario: scenario.name,
    seed: options.seed,
    profile: profile.name,
    bugs,
    users: users.length,
    kmes: kmeIds,
    sources: scenario.world.sources,
    keySizeBits: profile.keySizeBits,
    poolCapacity: profile.poolCapacity,
    thresholds: `${profile.lowThresholdPct}% / ${profile.emergencyThresholdPct}%`,
    keyTtl: formatDuration(profile.keyTtlMs),
    safety: formatDuration(endOfSafety),
    livenessBound: formatDuration(scenario.liveness.bound),
    auditEvery,
    firstUsers: users.slice(0, 3).map((user) => `${user.name} ${user.displayName} <${user.email}> ${user.saeId}@${kmeIds[user.kmeIndex]}`),
  };
  options.onDerived?.(derived);

  const trace = createTrace(options.traceSink);
  // The first line carries everything a replay needs: the scenario itself, the seed, the bug switches.
  // It names the scenario by its name and content hash, not by its file's path, so the same scenario
  // gives the same fingerprint however its path is spelled and wherever a copy of it lies.
  // The faker-made names and addresses of `firstUsers` stay out of the trace (as they stay out of the
  // registrations below): they change nothing in the run, and a new faker release may reword them.
  const { firstUsers: _firstUsers, ...tracedDerived } = derived;
  trace.record({ t: 0, k: 'run.start', scenario: scenario.name, scenarioHash: contentHash(scenario), seed: options.seed, bugs, definition: scenario, derived: tracedDerived });
  const series = createSeriesRecorder(endOfRun);
  const queue = new EventQueue<SimEvent>();
  const safety: Violation[] = [];
  const liveness: Violation[] = [];
  let phase: 'safety' | 'liveness' = 'safety';
  let stopped = false;
  let nowMs = 0;
  const tally: RunTally = {
    messagesSent: 0,
    messagesDecrypted: 0,
    encRefused: {},
    decRefused: {},
    syncsRequested: 0,
    syncsCompleted: 0,
    syncsFailed: 0,
    syncReasons: {},
    keysDelivered: 0,
    keysExpired: 0,
    maxDeliveryMs: 0,
    worstLevel: new Map(),
    undelivered: 0,
  };
  const remoteDown = new Set<string>();
  let latencyMs = 0;

  const onEffects = (source: number, effects: readonly KmeEffect[], at: number): void => {
    for (const effect of effects) {
      switch (effect.type) {
        case 'sync.requested': {
          tally.syncsRequested += 1;
          tally.syncReasons[effect.reason] = (tally.syncReasons[effect.reason] ?? 0) + 1;
          queue.push(at + scenario.world.sync.latency, { type: 'sync.answer', source, poolId: effect.poolId, linkId: effect.linkId, attempt: effect.attempt, keyCount: effect.keyCount });
          break;
        }
        case 'sync.retryScheduled':
          queue.push(effect.atMs, { type: 'sync.retry', source, poolId: effect.poolId, attempt: effect.attempt });
          break;
        case 'sync.completed':
          tally.syncsCompleted += 1;
          series.event(at, 'sync.completed', `${effect.poolId} +${effect.added}`);
          break;
        case 'sync.failed':
          tally.syncsFailed += 1;
          series.event(at, 'sync.failed', effect.poolId);
          break;
        case 'keys.expired':
          tally.keysExpired += effect.count;
          break;
        // Arrivals, discards and level changes are drawn by the pool series from the world, not tallied here.
        case 'keys.arrived':
        case 'keys.discarded':
        case 'pool.levelChanged':
          break;
      }
    }
  };
  const onViolations = (violations: readonly Violation[]): void => {
    (phase === 'safety' ? safety : liveness).push(...violations);
    trace.record({ t: nowMs, k: 'violation', phase, found: violations.map((v) => ({ invariant: v.invariant, message: v.message })) });
    stopped = true;
  };
  const levelOrder = { healthy: 0, low: 1, critical: 2, exhausted: 3 } as const;
  // `${source}:${poolId}` names a pool across sources; made once per pool, not once per step.
  const seriesKeys = new Map<string, string>();
  const seriesKeyOf = (source: number, poolId: string): string => {
    const cacheKey = source === 0 ? poolId : `${source}\u0000${poolId}`;
    let key = seriesKeys.get(cacheKey);
    if (key === undefined) {
      key = `${source}:${poolId}`;
      seriesKeys.set(cacheKey, key);
    }
    return key;
  };
  const onPoolChanged = (source: number, poolId: string, at: number, level: number): void => {
    const key = seriesKeyOf(source, poolId);
    series.recordLevel(key, at, level);
    const pool = sims[source]?.world.pools.get(poolId);
    if (pool === undefined) return;
    const name = userOfSae.get(pool.slaveSaeId)?.name ?? pool.slaveSaeId;
    const severity = levelOrder[describePoolState(pool.state).level];
    if (severity > (tally.worstLevel.get(name) ?? 0)) tally.worstLevel.set(name, severity);
    if (severity === 0) belowSince.delete(key);
    else if (!belowSince.has(key)) belowSince.set(key, at);
  };
  /** When each pool last fell below its low threshold (I16 gives it the liveness bound to recover). */
  const belowSince = new Map<string, number>();

  const userOfSae = new Map(users.map((user) => [user.saeId, user]));
  const sims: SimKme[] = Array.from({ length: scenario.world.sources }, (_, source) => {
    const world = createWorld({ seed: `${scenario.name}:${options.seed}/source-${source}`, profile, kmeIds, bugs: new Set(bugs) });
    return createSimKme(source, world, trace, { onEffects, onViolations, onPoolChanged }, auditEvery);
  });

  // The world at time 0: every user registered, pools full. A user is registered under its scenario name
  // (as listed, or `user-N`), with an address only when the scenario lists it: faker's output is not traced.
  const listedUsers = Array.isArray(scenario.world.users);
  for (const sim of sims) {
    for (const user of users) {
      const registration: KmeCommand = {
        type: 'sae.register',
        saeId: user.saeId,
        kmeId: kmeIds[user.kmeIndex] as string,
        name: user.name,
        ...(listedUsers ? { email: user.email } : {}),
        ...(scenario.world.pool.initialKeys === undefined ? {} : { initialKeys: scenario.world.pool.initialKeys }),
      };
      sim.run(registration, 0);
    }
    for (const pool of sim.world.pools.values()) {
      const slave = userOfSae.get(pool.slaveSaeId);
      const label = `${slave?.name ?? pool.slaveSaeId}${kmeIds.length > 1 || sims.length > 1 ? ` ${pool.linkId}${sims.length > 1 ? ` src${sim.index + 1}` : ''}` : ''}`;
      const capacity = pool.capacity;
      series.trackPool(`${sim.index}:${pool.id}`, label, capacity, (capacity * profile.lowThresholdPct) / 100, (capacity * profile.emergencyThresholdPct) / 100, availableKeys(pool));
    }
  }

  // The agenda: mail streams, bursts, races, faults, scheduled syncs, the liveness phase.
  const meanGapMs = scenario.workload.mailsPerUserPerDay > 0 ? DAY_MS / scenario.workload.mailsPerUserPerDay : Infinity;
  if (Number.isFinite(meanGapMs)) for (const user of users) queue.push(mailRng.exponential(meanGapMs), { type: 'mail.next', user });
  let nextMessageId = 1;
  const newMessage = (sender: SimUser, recipient: SimUser, at: number): Message => {
    const { min, max } = scenario.workload.messageBytes;
    const cc: SimUser[] = [];
    for (let i = 0; i < Math.min(scenario.workload.ccMax, profile.maxSaeIdCount); i++) {
      const candidate = mailRng.pick(users);
      if (candidate.index !== sender.index && candidate.index !== recipient.index && candidate.kmeIndex === recipient.kmeIndex && !cc.includes(candidate)) cc.push(candidate);
    }
    const sampled = scenario.workload.otpSample >= 1 || sampleRng.next() < scenario.workload.otpSample;
    return { id: nextMessageId++, sender, readers: [recipient, ...cc], bytes: mailRng.int(min, max), createdAtMs: at, sentAtMs: null, sendAttempts: 0, envelope: null, sampled, keyIds: [], decryptedBy: new Set(), lost: false };
  };
  const recipientNamed = (name: string): SimUser => {
    const user = userByName.get(name);
    if (user === undefined) throw new Error(`scenario ${scenario.name}: no user "${name}"`);
    return user;
  };
  for (const burst of scenario.workload.bursts) {
    const recipient = recipientNamed(burst.recipient);
    const senders = users.filter((user) => user.index !== recipient.index).slice(0, burst.senders);
    for (const sender of senders) for (let i = 0; i < burst.messages; i++) queue.push(burst.at, { type: 'mail.send', message: newMessage(sender, recipient, burst.at) });
    series.event(burst.at, 'burst', `${senders.length}×${burst.messages} → ${recipient.name}`);
  }
  for (const race of scenario.workload.races) {
    const recipient = recipientNamed(race.recipient);
    const senders = users.filter((user) => user.index !== recipient.index).slice(0, race.senders);
    for (const sender of senders) queue.push(race.at, { type: 'mail.send', message: newMessage(sender, recipient, race.at) });
    series.event(race.at, 'race', `${senders.length} senders → ${recipient.name}`);
  }
  for (const fault of scenario.faults) {
    queue.push('at' in fault ? fault.at : fault.from, { type: 'fault.start', fault });
    if ('to' in fault) queue.push(fault.to, { type: 'fault.end', fault });
  }
  queue.push(profile.scheduledSyncMs, { type: 'sync.scheduled' });
  queue.push(endOfSafety, { type: 'phase.liveness' });

  const kmeOf = (user: SimUser): string => kmeIds[user.kmeIndex] as string;
  const countRefusal = (bucket: Record<string, number>, status: number): void => {
    bucket[String(status)] = (bucket[String(status)] ?? 0) + 1;
  };

  // A message's text derives from the seed; it is kept only while the message is in flight.
  const texts = new Map<Message, Uint8Array>();
  function messageBytes(message: Message): Uint8Array {
    let text = texts.get(message);
    if (text === undefined) {
      text = message.bytes === 0 ? new Uint8Array(0) : deriveKeyBytes(`${scenario.name}:${options.seed}`, 'message', String(message.id), message.bytes * 8);
      texts.set(message, text);
    }
    return text;
  }

  interface SendFlow {
    readonly message: Message;
    readonly needed: number;
    readonly sources: OtpKey[][];
    failed: boolean;
  }

  /** Sends the mails of one instant together: their requests overlap, as concurrent clients' do. */
  function sendBatch(messages: readonly Message[]): void {
    const flows: SendFlow[] = messages.map((message) => {
      message.sendAttempts += 1;
      return { message, needed: countKeysNeeded(message.bytes, profile.keySizeBits), sources: [], failed: false };
    });
    const fail = (flow: SendFlow, status: number): void => {
      flow.failed = true;
      deferSend(flow.message, status);
    };
    for (const sim of sims) {
      for (const flow of flows) {
        const { message } = flow;
        const recipient = message.readers[0] as SimUser;
        if (flow.failed || !scenario.workload.statusFirst) continue;
        const status = sim.call(message.sender.kmeIndex, { type: 'keys.status', kmeId: kmeOf(message.sender), callerSaeId: message.sender.saeId, slaveSaeId: recipient.saeId }, nowMs);
        if (stopped) return;
        const result = status.injected ? null : status.outcome.result;
        const stored = result !== null && result.ok && result.kind === 'status' ? result.status.stored_key_count : -1;
        if (stored < flow.needed) fail(flow, stored < 0 ? status.status : 503);
      }
      if (sim.index === 0) for (const flow of flows) if (!flow.failed) requestOddSize(sim, flow.message);
      if (stopped) return;
      const got = new Map<SendFlow, OtpKey[]>(flows.map((flow) => [flow, []]));
      for (;;) {
        const round = flows.filter((flow) => !flow.failed && (got.get(flow) as OtpKey[]).length < flow.needed);
        if (round.length === 0) break;
        const pending = round.map((flow) => {
          const { message } = flow;
          const cc = message.readers.slice(1).map((user) => user.saeId);
          const number = Math.min(profile.maxKeysPerRequest, flow.needed - (got.get(flow) as OtpKey[]).length);
          const request = { ...(number === 1 ? {} : { number }), ...(cc.length === 0 ? {} : { additional_slave_SAE_IDs: cc }) };
          const command = { type: 'keys.enc', kmeId: kmeOf(message.sender), callerSaeId: message.sender.saeId, slaveSaeId: (message.readers[0] as SimUser).saeId, request } as const;
          return { flow, pending: sim.beginEnc(message.sender.kmeIndex, command, nowMs, message.sampled) };
        });
        for (const { flow, pending: request } of pending) {
          const reply = sim.finishEnc(request, nowMs);
          if (stopped) return;
          if (reply.injected || !reply.outcome.result.ok || reply.outcome.result.kind !== 'keys') {
            fail(flow, reply.status);
            continue;
          }
          const keys = got.get(flow) as OtpKey[];
          const withBytes = flow.message.sampled;
          reply.outcome.result.keys.forEach((key, i) => keys.push({ keyId: key.keyId, bytes: withBytes ? (reply.materials[i] ?? materialOf(sim.world.config.seed, key)) : NO_BYTES }));
          tally.keysDelivered += reply.outcome.result.keys.length;
        }
      }
      for (const flow of flows) if (!flow.failed) flow.sources.push(got.get(flow) as OtpKey[]);
    }
    for (const flow of flows) if (!flow.failed) seal(flow);
  }

  function seal(flow: SendFlow): void {
    const { message } = flow;
    message.keyIds = flow.sources.map((keys) => keys.map((key) => key.keyId));
    try {
      if (message.sampled) message.envelope = sealOtp(messageBytes(message), flow.sources);
    } catch (error) {
      if (!(error instanceof OtpError)) throw error;
      onViolations([violation(error.code === 'repeated-key' ? 'I1' : 'I9', `message ${message.id} cannot be sealed: ${error.message}`, { message: message.id })]);
      return;
    }
    message.sentAtMs = nowMs;
    tally.messagesSent += 1;
    series.count(nowMs, 'sent');
    const arrival = nowMs + latencyMs + mailRng.int(scenario.workload.transmitDelay.min, scenario.workload.transmitDelay.max);
    for (const reader of message.readers) {
      queue.push(arrival + mailRng.int(scenario.workload.readDelay.min, scenario.workload.readDelay.max), { type: 'mail.read', message, reader, attempt: 1 });
    }
    if (misbehave(misbehaviour.eavesdrop)) {
      const reader = message.readers[0] as SimUser;
      const others = users.filter((user) => user.kmeIndex === reader.kmeIndex && user.index !== message.sender.index && !message.readers.includes(user));
      if (others.length > 0) queue.push(arrival, { type: 'mail.eavesdrop', message, eavesdropper: badRng.pick(others) });
    }
  }

  const misbehaviour = scenario.workload.misbehaviour;
  const badRng = rng.fork('misbehaviour');
  const misbehave = (share: number): boolean => share > 0 && badRng.next() < share;

  /** A client asks for a key size that is not a multiple of 8; the KME must refuse it (C21, I9). */
  function requestOddSize(sim: SimKme, message: Message): void {
    if (!misbehave(misbehaviour.oddSize)) return;
    const recipient = message.readers[0] as SimUser;
    const size = profile.keySizeBits - 4;
    sim.call(message.sender.kmeIndex, { type: 'keys.enc', kmeId: kmeOf(message.sender), callerSaeId: message.sender.saeId, slaveSaeId: recipient.saeId, request: { size } }, nowMs);
  }

  function deferSend(message: Message, status: number): void {
    countRefusal(tally.encRefused, status);
    series.count(nowMs, 'encRefused');
    // A mail client queues the mail and tries again later, backing off up to an hour.
    const waitMs = Math.min(3_600_000, 60_000 * 2 ** Math.min(message.sendAttempts - 1, 6));
    queue.push(nowMs + waitMs, { type: 'mail.send', message });
  }

  /** dec_keys for every key of one source, in chunks; the keys' bytes, or the status that refused them. */
  function fetchKeys(sim: SimKme, caller: SimUser, kmeIndex: number, master: SimUser, keyIds: readonly string[], withBytes = true): Map<string, Uint8Array> | number {
    const got = new Map<string, Uint8Array>();
    for (let i = 0; i < keyIds.length; i += profile.maxKeysPerRequest) {
      const chunk = keyIds.slice(i, i + profile.maxKeysPerRequest);
      const reply = sim.call(kmeIndex, { type: 'keys.dec', kmeId: kmeIds[kmeIndex] as string, callerSaeId: caller.saeId, masterSaeId: master.saeId, keyIds: chunk }, nowMs, withBytes);
      if (reply.injected || !reply.outcome.result.ok || reply.outcome.result.kind !== 'keys') return reply.status;
      const materials = reply.materials;
      (reply.outcome.result.keys as readonly DeliveredKey[]).forEach((key, j) => got.set(key.keyId, withBytes ? (materials[j] ?? materialOf(sim.world.config.seed, key)) : NO_BYTES));
    }
    return got;
  }

  function readMessage(message: Message, reader: SimUser, attempt: number): void {
    const envelope = message.envelope;
    if ((message.sampled && envelope === null) || message.sentAtMs === null || message.decryptedBy.has(reader.index)) return;
    const lookups: Array<(keyId: string) => Uint8Array | undefined> = [];
    for (const sim of sims) {
      const keyIds = envelope?.sources[sim.index]?.keyIds ?? message.keyIds[sim.index] ?? [];
      if (sim.index === 0 && attempt === 1 && keyIds.length > 0 && misbehave(misbehaviour.corruptIds)) {
        // A client that mangles one key ID: the KME must refuse the whole request and consume nothing (C38).
        const corrupted = [...keyIds.slice(0, -1), deriveKeyId(`${scenario.name}:${options.seed}`, 'corrupt', message.id)];
        fetchKeys(sim, reader, reader.kmeIndex, message.sender, corrupted);
        if (stopped) return;
      }
      const got = fetchKeys(sim, reader, reader.kmeIndex, message.sender, keyIds, message.sampled);
      if (stopped) return;
      if (typeof got === 'number') {
        countRefusal(tally.decRefused, got);
        series.count(nowMs, 'decRefused');
        if (got === 503) {
          queue.push(nowMs + Math.min(600_000, 30_000 * 2 ** Math.min(attempt - 1, 5)), { type: 'mail.read', message, reader, attempt: attempt + 1 });
        } else {
          // The KME says the keys are gone; the history checker has judged whether it had the right to.
          message.lost = true;
        }
        return;
      }
      lookups.push((keyId) => got.get(keyId));
    }
    if (envelope !== null && !opensToOriginal(message, envelope, lookups, reader)) return;
    message.decryptedBy.add(reader.index);
    if (misbehave(misbehaviour.reread)) queue.push(nowMs + 3_600_000, { type: 'mail.reread', message, reader, otherEnd: false });
    if (kmeIds.length > 1 && misbehave(misbehaviour.rereadOtherEnd)) queue.push(nowMs + 3_600_000, { type: 'mail.reread', message, reader, otherEnd: true });
    if (message.decryptedBy.size === message.readers.length) {
      tally.messagesDecrypted += 1;
      series.count(nowMs, 'decrypted');
      tally.maxDeliveryMs = Math.max(tally.maxDeliveryMs, nowMs - message.createdAtMs);
      inFlight.delete(message);
      texts.delete(message);
    }
  }

  function opensToOriginal(message: Message, envelope: OtpEnvelope, lookups: Array<(keyId: string) => Uint8Array | undefined>, reader: SimUser): boolean {
    let plain: Uint8Array;
    try {
      plain = openOtp(envelope, lookups);
    } catch (error) {
      if (!(error instanceof OtpError)) throw error;
      onViolations([violation('I15', `message ${message.id} does not decrypt for ${reader.name}: ${error.message}`, { message: message.id, reader: reader.name })]);
      return false;
    }
    if (Buffer.compare(Buffer.from(plain), Buffer.from(messageBytes(message))) !== 0) {
      onViolations([violation('I15', `message ${message.id} decrypts to other bytes than were sent`, { message: message.id, reader: reader.name })]);
      return false;
    }
    return true;
  }

  /** Someone fetches a message's keys again: its reader re-opening it, possibly through the other KME of the link. */
  function rereadMessage(message: Message, reader: SimUser, otherEnd: boolean): void {
    const keyIds = message.keyIds[0] ?? [];
    const kmeIndex = otherEnd ? message.sender.kmeIndex : reader.kmeIndex;
    if (keyIds.length === 0 || (otherEnd && kmeIndex === reader.kmeIndex)) return;
    fetchKeys(sims[0] as SimKme, reader, kmeIndex, message.sender, keyIds);
  }

  function setFault(fault: Fault, on: boolean): void {
    switch (fault.type) {
      case 'remote-offline':
      case 'link-down': {
        const link = fault.type === 'link-down' && fault.link !== undefined ? fault.link : undefined;
        const key = link ?? '*';
        if (on) remoteDown.add(key);
        else remoteDown.delete(key);
        for (const sim of sims) sim.run(on ? { type: 'remote.down', ...(link === undefined ? {} : { linkId: link }) } : { type: 'remote.up', ...(link === undefined ? {} : { linkId: link }) }, nowMs);
        series.event(nowMs, on ? 'outage.start' : 'outage.end', link ?? 'remote key manager');
        break;
      }
      case 'kme-restart':
        for (const sim of sims) {
          sim.run({ type: 'kme.restart', kmeId: kmeIds[fault.kme % kmeIds.length] as string }, nowMs);
          if (fault.downtime > 0) sim.downUntil.set(fault.kme % kmeIds.length, nowMs + fault.downtime);
        }
        series.event(nowMs, 'kme.restart', kmeIds[fault.kme % kmeIds.length] as string);
        break;
      case 'latency':
        latencyMs = on ? fault.ms : 0;
        series.event(nowMs, 'fault', on ? `latency ${fault.ms} ms` : 'latency healed');
        break;
      case 'fail-next':
        for (const sim of sims) sim.failNext = { count: fault.count, status: fault.status };
        series.event(nowMs, 'fault', `fail next ${fault.count} with ${fault.status}`);
        break;
    }
  }

  function remoteOnline(linkId: string): boolean {
    return !remoteDown.has('*') && !remoteDown.has(linkId);
  }

  const inFlight = new Set<Message>();
  let steps = 0;
  while (!stopped) {
    const next = queue.pop();
    if (next === undefined || next.atMs > endOfRun) break;
    nowMs = next.atMs;
    steps += 1;
    const event = next.event;
    switch (event.type) {
      case 'mail.next': {
        if (nowMs >= endOfSafety) break;
        const message = newMessage(event.user, chooseRecipient(event.user), nowMs);
        inFlight.add(message);
        sendBatch([message]);
        queue.push(nowMs + mailRng.exponential(meanGapMs), { type: 'mail.next', user: event.user });
        break;
      }
      case 'mail.send': {
        // Every mail scheduled for this same instant goes out together, so their requests overlap.
        const batch = [event.message];
        for (let peer = queue.peek(); peer !== undefined && peer.atMs === nowMs && peer.event.type === 'mail.send'; peer = queue.peek()) {
          batch.push((queue.pop()?.event as Extract<SimEvent, { type: 'mail.send' }>).message);
        }
        for (const message of batch) inFlight.add(message);
        sendBatch(batch);
        break;
      }
      case 'mail.reread':
        rereadMessage(event.message, event.reader, event.otherEnd);
        break;
      case 'mail.eavesdrop': {
        const keyIds = event.message.keyIds[0] ?? [];
        // Key IDs travel in the clear with the mail; someone else on the receiver's KME replays them (C35, I5).
        if (keyIds.length > 0) fetchKeys(sims[0] as SimKme, event.eavesdropper, event.eavesdropper.kmeIndex, event.message.sender, keyIds);
        break;
      }
      case 'mail.read':
        readMessage(event.message, event.reader, event.attempt);
        if (event.message.lost) {
          inFlight.delete(event.message);
          texts.delete(event.message);
        }
        break;
      case 'sync.answer': {
        const sim = sims[event.source] as SimKme;
        const answer: KmeCommand = remoteOnline(event.linkId)
          ? { type: 'sync.complete', poolId: event.poolId, attempt: event.attempt, keyCount: event.keyCount }
          : { type: 'sync.fail', poolId: event.poolId, attempt: event.attempt };
        sim.run(answer, nowMs);
        break;
      }
      case 'sync.retry':
        (sims[event.source] as SimKme).run({ type: 'sync.retry', poolId: event.poolId, attempt: event.attempt }, nowMs);
        break;
      case 'sync.scheduled':
        for (const sim of sims) {
          for (const pool of sim.world.pools.values()) {
            if (!pool.deleted && availableKeys(pool) < pool.capacity) sim.run({ type: 'sync.start', poolId: pool.id, reason: 'scheduled' }, nowMs);
          }
        }
        queue.push(nowMs + profile.scheduledSyncMs, { type: 'sync.scheduled' });
        break;
      case 'fault.start':
        if (nowMs < endOfSafety) setFault(event.fault, true);
        break;
      case 'fault.end':
        if (nowMs <= endOfSafety) setFault(event.fault, false);
        break;
      case 'phase.liveness':
        heal();
        break;
    }
  }

  function heal(): void {
    trace.record({ t: nowMs, k: 'phase.liveness' });
    phase = 'liveness';
    for (const fault of scenario.faults) if (fault.type !== 'kme-restart' && fault.type !== 'fail-next') setFault(fault, false);
    remoteDown.clear();
    for (const sim of sims) {
      sim.run({ type: 'remote.up' }, nowMs);
      sim.failNext = { count: 0, status: 503 };
      sim.downUntil.clear();
    }
    latencyMs = 0;
  }

  if (!stopped) {
    nowMs = Math.max(nowMs, endOfRun);
    for (const sim of sims) {
      sim.run({ type: 'clock.tick' }, nowMs);
      const audit = sim.audit();
      if (audit.length > 0) onViolations(audit);
    }
  }
  if (!stopped) liveness.push(...checkLiveness(scenario, profile, sims, inFlight, belowSince, nowMs));
  tally.undelivered = [...inFlight].filter((message) => !message.lost).length;

  const expectations = evaluateExpectations(scenario, tally, stopped && safety.length > 0);
  const fingerprint = trace.fingerprint();
  const passed = safety.length === 0 && liveness.length === 0 && expectations.every((result) => result.passed);
  const bugFlags = bugs.filter((bug) => !scenario.bugs.includes(bug)).map((bug) => ` --bug ${bug}`).join('');
  const finished = series.finish();
  return {
    scenario: scenario.name,
    file: options.file,
    seed: options.seed,
    bugs,
    passed,
    fingerprint,
    virtualMs: nowMs,
    wallMs: Math.round(performance.now() - wallStart),
    derived,
    safety: { violations: safety, steps },
    liveness: { violations: liveness, steps: 0 },
    expectations,
    stats: {
      users: users.length,
      messagesSent: tally.messagesSent,
      messagesDecrypted: tally.messagesDecrypted,
      messagesPending: tally.undelivered,
      encRefused: tally.encRefused,
      decRefused: tally.decRefused,
      syncsRequested: tally.syncsRequested,
      syncsCompleted: tally.syncsCompleted,
      syncsFailed: tally.syncsFailed,
      keysDelivered: tally.keysDelivered,
      keysExpired: tally.keysExpired,
      maxDeliveryMs: tally.maxDeliveryMs,
    },
    series: finished,
    coverage: reportCoverage(sims.map((sim) => sim.world.coverage)),
    repro: `npx kmesim run ${options.file} --seed ${options.seed}${bugFlags}`,
  };
}

/** I16: faults healed and the bound passed, every delivered message whose keys live is decrypted and no pool is left below its low threshold. */
function checkLiveness(
  scenario: Scenario,
  profile: Profile,
  sims: readonly SimKme[],
  inFlight: ReadonlySet<Message>,
  belowSince: ReadonlyMap<string, number>,
  nowMs: number,
): Violation[] {
  const found: Violation[] = [];
  for (const message of inFlight) {
    // Pending when the faults healed: sent by then, keys still alive. Later sends are new work.
    const sentAtMs = message.sentAtMs;
    if (message.lost || sentAtMs === null || sentAtMs > scenario.duration || sentAtMs + profile.keyTtlMs <= nowMs) continue;
    found.push(
      violation('I16', `message ${message.id} from ${message.sender.name} was not decrypted by every reader within ${formatDuration(scenario.liveness.bound)} of healing`, {
        message: message.id,
        sentAtMs,
        readers: message.readers.map((reader) => reader.name),
        decryptedBy: message.readers.filter((reader) => message.decryptedBy.has(reader.index)).map((reader) => reader.name),
      }),
    );
    if (found.length >= 20) break;
  }
  for (const sim of sims) {
    for (const pool of sim.world.pools.values()) {
      const since = belowSince.get(`${sim.index}:${pool.id}`);
      // Below its threshold for the whole bound since the faults healed (or since it fell, if later).
      if (pool.deleted || since === undefined || Math.max(since, scenario.duration) + scenario.liveness.bound > nowMs) continue;
      found.push(
        violation('I16', `pool ${pool.id} stayed below its low threshold for ${formatDuration(nowMs - Math.max(since, scenario.duration))} after the faults healed`, {
          pool: pool.id,
          stored: availableKeys(pool),
          capacity: pool.capacity,
          belowSinceMs: since,
          source: sim.index,
        }),
      );
    }
  }
  return found;
}
