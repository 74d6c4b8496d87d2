// The model-based commands: one small object per operation with check / run / toString. Each run sends
// the operation to the core (through every checker) and asserts the outcome the reference expects.
import fc from 'fast-check';
import { createWorld, resolveProfile, type BugName, type KmeCommand, type StepOutcome } from '../../src/index.js';
import { createCheckedWorld, runChecked, type CheckedWorld } from './checkedWorld.js';
import { ReferenceModel, type Expected } from './referenceModel.js';

export const SAES = [
  { id: 'SAE_1', kmeId: 'KME_A' },
  { id: 'SAE_2', kmeId: 'KME_A' },
  { id: 'SAE_3', kmeId: 'KME_B' },
] as const;
const KMES = ['KME_A', 'KME_B'] as const;
const UNKNOWN_KEY_ID = '00000000-0000-4000-8000-000000000000';

const profile = resolveProfile('strict', {
  poolCapacity: 6,
  keyTtlMs: 10_000,
  maxKeysPerRequest: 4,
  maxSaeIdCount: 1,
  backoff: { baseMs: 100, maxMs: 400 },
});

type Model = ReferenceModel;
type Real = CheckedWorld;

function fail(message: string): never {
  throw new Error(`reference: ${message}`);
}

function expectOutcome(what: string, outcome: StepOutcome, expected: Expected, real: Real): void {
  const { result } = outcome;
  if (result.ok !== expected.ok) fail(`${what} answered ${result.ok ? 'ok' : result.error.kind} where ${expected.ok ? 'ok' : expected.status} was expected`);
  if (!result.ok && !expected.ok) {
    const kind = result.error.kind;
    const status = kind === 'unauthorized' ? 401 : kind === 'insufficientKeys' || kind === 'remoteUnavailable' ? 503 : 400;
    if (status !== expected.status) fail(`${what} failed with ${kind} (${status}) where ${expected.status} was expected`);
  }
  void real;
}

class EncCommand implements fc.Command<Model, Real> {
  constructor(
    readonly master: number,
    readonly slave: number,
    readonly count: number,
    readonly sizeBits: number | undefined,
    readonly extra: number | null,
  ) {}
  check(): boolean {
    return true;
  }
  run(model: Model, real: Real): void {
    const master = SAES[this.master % SAES.length] as (typeof SAES)[number];
    const slave = SAES[this.slave % SAES.length] as (typeof SAES)[number];
    const extra = this.extra === null ? [] : [(SAES[this.extra % SAES.length] as (typeof SAES)[number]).id];
    const request = {
      ...(this.count === 1 ? {} : { number: this.count }),
      ...(this.sizeBits === undefined ? {} : { size: this.sizeBits }),
      ...(extra.length === 0 ? {} : { additional_slave_SAE_IDs: extra }),
    };
    const expected = model.expectEnc(master.id, slave.id, this.count, this.sizeBits, extra);
    const outcome = runChecked(real, { type: 'keys.enc', kmeId: master.kmeId, callerSaeId: master.id, slaveSaeId: slave.id, request });
    expectOutcome(this.toString(), outcome, expected, real);
    if (outcome.result.ok && outcome.result.kind === 'keys') {
      if (outcome.result.keys.length !== this.count) fail(`${this} delivered ${outcome.result.keys.length} keys`);
      model.applyEnc(master.id, slave.id, outcome.result.keys.map((key) => key.keyId), extra);
    }
  }
  toString(): string {
    return `enc(${SAES[this.master % 3]?.id}->${SAES[this.slave % 3]?.id} n=${this.count} size=${this.sizeBits ?? 'default'}${this.extra === null ? '' : ` +${SAES[this.extra % 3]?.id}`})`;
  }
}

class DecCommand implements fc.Command<Model, Real> {
  constructor(
    readonly caller: number,
    readonly master: number,
    readonly picks: readonly number[],
    readonly withUnknown: boolean,
    readonly otherEnd: boolean,
    readonly rightful: boolean,
  ) {}
  check(model: Model): boolean {
    return model.issued.length > 0 || this.withUnknown;
  }
  private keyIds(model: Model): string[] {
    const ids = [...new Set(this.picks.map((pick) => model.issued[model.issued.length - 1 - (pick % model.issued.length)]))].filter(
      (id): id is string => id !== undefined,
    );
    return this.withUnknown || ids.length === 0 ? [...ids, UNKNOWN_KEY_ID] : ids;
  }
  private kmeFor(model: Model, keyIds: readonly string[], callerKme: string): string {
    const first = keyIds[0] === undefined ? undefined : model.keys.get(keyIds[0]);
    if (!this.otherEnd || first === undefined) return callerKme;
    return first.linkKmes.find((kme) => kme !== callerKme) ?? callerKme;
  }
  run(model: Model, real: Real): void {
    const keyIds = this.keyIds(model);
    // A rightful request names the first key's master and comes from one of its slaves.
    const first = keyIds[0] === undefined ? undefined : model.keys.get(keyIds[0]);
    const callerId = this.rightful && first !== undefined ? first.slaveSaeIds[this.caller % first.slaveSaeIds.length] : undefined;
    const caller = SAES.find((s) => s.id === callerId) ?? (SAES[this.caller % SAES.length] as (typeof SAES)[number]);
    const master = SAES.find((s) => this.rightful && s.id === first?.masterSaeId) ?? (SAES[this.master % SAES.length] as (typeof SAES)[number]);
    const kmeId = this.kmeFor(model, keyIds, caller.kmeId);
    const expected = model.expectDec(kmeId, caller.id, master.id, keyIds);
    const outcome = runChecked(real, { type: 'keys.dec', kmeId, callerSaeId: caller.id, masterSaeId: master.id, keyIds });
    expectOutcome(`${this} [${keyIds.join(' ')}] on ${kmeId}`, outcome, expected, real);
    if (outcome.result.ok) model.applyDec(caller.id, keyIds);
  }
  toString(): string {
    const who = this.rightful ? 'rightful' : `${SAES[this.caller % 3]?.id} of ${SAES[this.master % 3]?.id}`;
    return `dec(${who} keys=${this.picks.join('/')}${this.withUnknown ? '+unknown' : ''}${this.otherEnd ? ' other-end' : ''})`;
  }
}

class StatusCommand implements fc.Command<Model, Real> {
  constructor(
    readonly master: number,
    readonly slave: number,
  ) {}
  check(): boolean {
    return true;
  }
  run(model: Model, real: Real): void {
    const master = SAES[this.master % SAES.length] as (typeof SAES)[number];
    const slave = SAES[this.slave % SAES.length] as (typeof SAES)[number];
    const outcome = runChecked(real, { type: 'keys.status', kmeId: master.kmeId, callerSaeId: master.id, slaveSaeId: slave.id });
    const { result } = outcome;
    if (!result.ok || result.kind !== 'status') return fail(`${this} was refused`);
    const stored = model.stored(model.poolFor(master.id, slave.id));
    if (result.status.stored_key_count !== stored) fail(`${this} reported ${result.status.stored_key_count} stored keys, reference ${stored}`);
  }
  toString(): string {
    return `status(${SAES[this.master % 3]?.id}->${SAES[this.slave % 3]?.id})`;
  }
}

class AdvanceCommand implements fc.Command<Model, Real> {
  constructor(readonly ms: number) {}
  check(): boolean {
    return true;
  }
  run(model: Model, real: Real): void {
    model.nowMs += this.ms;
    real.nowMs += this.ms;
    runChecked(real, { type: 'clock.tick' });
  }
  toString(): string {
    return `advance(${this.ms}ms)`;
  }
}

class RemoteCommand implements fc.Command<Model, Real> {
  constructor(readonly online: boolean) {}
  check(model: Model): boolean {
    return model.remoteOnline !== this.online;
  }
  run(model: Model, real: Real): void {
    model.remoteOnline = this.online;
    runChecked(real, { type: this.online ? 'remote.up' : 'remote.down' });
  }
  toString(): string {
    return this.online ? 'remote-up' : 'remote-down';
  }
}

/** The remote key manager answers the oldest sync request it has: keys if it is up, a failure if not. */
class AnswerSyncCommand implements fc.Command<Model, Real> {
  check(): boolean {
    return true;
  }
  run(model: Model, real: Real): void {
    const request = real.pendingSyncs.shift();
    if (request === undefined) return;
    const command: KmeCommand = model.remoteOnline
      ? { type: 'sync.complete', poolId: request.poolId, attempt: request.attempt, keyCount: request.keyCount }
      : { type: 'sync.fail', poolId: request.poolId, attempt: request.attempt };
    const outcome = runChecked(real, command);
    const changed = outcome.result.ok && outcome.result.kind === 'done' && outcome.result.changed;
    const completed = outcome.effects.some((effect) => effect.type === 'sync.completed');
    if (changed && completed) model.applySync(request.poolId, request.keyCount);
  }
  toString(): string {
    return 'answer-sync';
  }
}

class RetrySyncCommand implements fc.Command<Model, Real> {
  check(): boolean {
    return true;
  }
  run(_model: Model, real: Real): void {
    const retry = real.pendingRetries.shift();
    if (retry === undefined) return;
    if (retry.atMs > real.nowMs) real.pendingRetries.push(retry);
    else runChecked(real, { type: 'sync.retry', poolId: retry.poolId, attempt: retry.attempt });
  }
  toString(): string {
    return 'retry-sync';
  }
}

class RestartCommand implements fc.Command<Model, Real> {
  constructor(readonly kme: number) {}
  check(): boolean {
    return true;
  }
  run(_model: Model, real: Real): void {
    runChecked(real, { type: 'kme.restart', kmeId: KMES[this.kme % KMES.length] as string });
  }
  toString(): string {
    return `restart(${KMES[this.kme % KMES.length]})`;
  }
}

const sae = fc.nat({ max: SAES.length - 1 });

export const modelCommands = [
  fc.tuple(
    sae,
    sae,
    fc.oneof({ weight: 4, arbitrary: fc.integer({ min: 1, max: 4 }) }, { weight: 1, arbitrary: fc.constantFrom(0, 5) }),
    fc.oneof({ weight: 4, arbitrary: fc.constantFrom(undefined, 8, 256, 8192) }, { weight: 1, arbitrary: fc.constantFrom(12, 1000, 8200) }),
    fc.oneof({ weight: 5, arbitrary: fc.constant(null) }, { weight: 1, arbitrary: sae }),
  ).map(([master, slave, count, size, extra]) => new EncCommand(master, slave, count, size, extra)),
  fc.tuple(
    sae,
    sae,
    fc.array(fc.nat({ max: 8 }), { minLength: 1, maxLength: 3 }),
    fc.boolean(),
    fc.boolean(),
  ).map(([caller, master, picks, otherEnd, rightful]) => new DecCommand(caller, master, picks, false, otherEnd, rightful)),
  fc.tuple(sae, sae, fc.array(fc.nat({ max: 8 }), { minLength: 0, maxLength: 2 }), fc.boolean()).map(
    ([caller, master, picks, otherEnd]) => new DecCommand(caller, master, picks, true, otherEnd, true),
  ),
  fc.tuple(sae, sae).map(([master, slave]) => new StatusCommand(master, slave)),
  fc.oneof({ weight: 6, arbitrary: fc.constantFrom(0, 100, 1_000, 5_000) }, { weight: 1, arbitrary: fc.constant(12_000) }).map((ms) => new AdvanceCommand(ms)),
  fc.boolean().map((online) => new RemoteCommand(online)),
  fc.constant(new AnswerSyncCommand()),
  fc.constant(new RetrySyncCommand()),
  fc.nat({ max: 1 }).map((kme) => new RestartCommand(kme)),
];

/** A fresh pair: the reference, and a checked two-KME world with three registered SAEs. */
export function setupModelRun(seed: string, bugs: readonly BugName[] = []): () => { model: Model; real: Real } {
  return () => {
    const world = createWorld({ seed, profile, kmeIds: KMES, bugs: new Set(bugs) });
    const real = createCheckedWorld(world);
    for (const { id, kmeId } of SAES) runChecked(real, { type: 'sae.register', saeId: id, kmeId });
    const model = new ReferenceModel({
      saes: SAES,
      kmeIds: KMES,
      capacity: profile.poolCapacity,
      ttlMs: profile.keyTtlMs,
      maxKeysPerRequest: profile.maxKeysPerRequest,
      minSizeBits: profile.minKeySizeBits,
      maxSizeBits: profile.maxKeySizeBits,
      defaultSizeBits: profile.keySizeBits,
      maxSaeIdCount: profile.maxSaeIdCount,
    });
    return { model, real };
  };
}
