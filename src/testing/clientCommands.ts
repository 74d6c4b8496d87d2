// A model-based command set for a key consumer, for `fc.commands` with `fc.asyncModelRun`, and with
// `fc.scheduler` for interleavings: senders seal messages (alone, or several at once racing for one reader's
// pool), readers open them, the mock's clock moves on, and the engine's faults (a KME restart, a link down, a
// refused request) are played between them. The model is what the client was asked to do; the mock KMEs run
// the kmesim model itself and judge I1…I16, and the run's ledger judges U1…U7. A command may fail where the
// KMEs refused its caller for a reason that is not the client's (busy, short of keys, an injected failure,
// keys past their lifetime): the client reported a refusal, which is its job. Anything else a command
// throws, and an opened message whose bytes differ from those sealed, fails the property.
import fc from 'fast-check';
import type { FaultInput } from '../http/startMockKme.js';
import { messageArb } from './arbitraries.js';
import type { ClientRun } from './clientHarness.js';

/** The client under test, as the commands drive it: `seal` sends a message, `open` reads one. */
export interface KeyConsumer<E> {
  seal(message: string, sender: string, receiver: string, bytes: Uint8Array): Promise<E>;
  open(envelope: E, reader: string): Promise<Uint8Array>;
  /** For a client that seals with the reference OTP: the ciphertext of an envelope, judged byte by byte (U7). */
  ciphertextOf?(envelope: E): Uint8Array;
}

export interface ClientCommandOptions {
  /** SAEs that send (on one KME) and SAEs that read (on another). */
  readonly senders: readonly string[];
  readonly readers: readonly string[];
  /** Bytes per key, and the most keys one message needs (default 4). */
  readonly keyBytes: number;
  readonly maxKeys?: number;
  /**
   * Most senders sealing at once for one reader (default 3, at most the number of senders; 1: no concurrent
   * command). The senders of one such command are distinct, so each refusal belongs to one seal.
   */
  readonly concurrency?: number;
  /** Clock steps a command may take, ms (default one second and one minute; [] for none). */
  readonly advanceMs?: readonly number[];
  /**
   * Faults a command may play, as the admin API takes them (default none). Not `latency`: on the harness's
   * manual clock a delayed answer waits for a clock step that the next command, waiting for it, never makes.
   */
  readonly faults?: readonly FaultInput[];
  /** Most commands in a run (default 12). */
  readonly maxCommands?: number;
}

interface ModelMessage {
  readonly sender: string;
  readonly reader: string;
  readonly bytes: Uint8Array;
  /** The mock's clock, as the commands moved it, when the message was sealed. */
  readonly sealedAtMs: number;
  opened: boolean;
}

/** What the client was asked to do so far: the messages it sealed, which were opened, and the clock. */
export interface ClientModel {
  readonly messages: Map<string, ModelMessage>;
  next: number;
  /** How far the commands moved the mock's clock. */
  elapsedMs: number;
}

export interface ClientReal<E> {
  readonly run: ClientRun;
  readonly consumer: KeyConsumer<E>;
  readonly envelopes: Map<string, E>;
  /** Awaits a command's work, releasing the scheduler's requests when there is one. */
  settle<T>(work: Promise<T>): Promise<T>;
}

export type ClientCommand<E> = fc.AsyncCommand<ClientModel, ClientReal<E>, false>;

/**
 * Whether the KMEs refused `caller` during a command for a reason that is not the client's (the harness
 * knows how its profile words each: see ClientRun.refusedNotForTheClient). A refusal of a malformed body,
 * the wrong peer or a made-up key ID answers the client's own mistake and excuses nothing.
 */
function refusedSince(run: ClientRun, from: number, caller: string, keysMayHaveExpired = false): boolean {
  return run
    .exchanges()
    .slice(from)
    .some((exchange) => exchange.caller === caller && run.refusedNotForTheClient(exchange, keysMayHaveExpired));
}

async function sealOne<E>(model: ClientModel, real: ClientReal<E>, id: string, sender: string, reader: string, bytes: Uint8Array, from: number): Promise<void> {
  try {
    const envelope = await real.consumer.seal(id, sender, reader, bytes);
    real.envelopes.set(id, envelope);
    model.messages.set(id, { sender, reader, bytes, sealedAtMs: model.elapsedMs, opened: false });
    if (real.consumer.ciphertextOf !== undefined) real.run.ledger.enveloped(id, bytes, real.consumer.ciphertextOf(envelope));
  } catch (error) {
    if (!refusedSince(real.run, from, sender)) throw error;
    // The KME refused part of it: the keys it did deliver for this sender and reader are stranded, not unused.
    real.run.ledger.excuse(deliveredSince(real.run, from, sender, reader), `a refused request cut message ${id} short`);
  }
}

function deliveredSince(run: ClientRun, from: number, sender: string, reader: string): string[] {
  return run
    .exchanges()
    .slice(from)
    .filter((exchange) => exchange.route === 'enc_keys' && exchange.status === 200 && exchange.caller === sender && exchange.peer === reader)
    .flatMap((exchange) => exchange.keyIds);
}

async function openOne<E>(model: ClientModel, real: ClientReal<E>, id: string, finalTry: boolean): Promise<void> {
  const message = model.messages.get(id) as ModelMessage;
  const from = real.run.exchanges().length;
  let bytes: Uint8Array;
  try {
    bytes = await real.settle(real.consumer.open(real.envelopes.get(id) as E, message.reader));
  } catch (error) {
    if (!refusedSince(real.run, from, message.reader, model.elapsedMs - message.sealedAtMs >= real.run.keyTtlMs)) throw error;
    // Refused (expired, restarting, a fault): tried again later; after the last try its keys are excused.
    if (finalTry) real.run.ledger.excuse(real.run.ledger.keysOf(id), `the KME refused to hand over the keys of message ${id}`);
    return;
  }
  message.opened = true;
  if (bytes.length !== message.bytes.length || bytes.some((byte, i) => byte !== message.bytes[i])) {
    throw new Error(`${message.reader} opened message ${id} (from ${message.sender}) to other bytes than were sealed`);
  }
}

class SealCommand<E> implements ClientCommand<E> {
  /** The message IDs the last run gave, for the report. */
  private ids: string[] = [];
  constructor(readonly sends: ReadonlyArray<{ readonly sender: string; readonly bytes: Uint8Array }>, readonly reader: string) {}
  check(): boolean {
    return true;
  }
  async run(model: ClientModel, real: ClientReal<E>): Promise<void> {
    const from = real.run.exchanges().length;
    this.ids = this.sends.map(() => `m${++model.next}`);
    const sealed = this.sends.map((send, i) => sealOne(model, real, this.ids[i] as string, send.sender, this.reader, send.bytes, from));
    const results = await real.settle(Promise.allSettled(sealed));
    for (const result of results) if (result.status === 'rejected') throw result.reason;
  }
  toString(): string {
    const sends = this.sends.map((send, i) => `${this.ids[i] === undefined ? '' : `${this.ids[i]} `}${send.sender}:${send.bytes.length}B`).join(', ');
    return this.sends.length === 1 ? `seal(${sends} → ${this.reader})` : `sealAtOnce(${sends} → ${this.reader})`;
  }
}

class OpenCommand<E> implements ClientCommand<E> {
  /** The message the last run opened, for the report. */
  private opened: string | undefined;
  constructor(readonly pick: number) {}
  check(model: ClientModel): boolean {
    return [...model.messages.values()].some((message) => !message.opened);
  }
  async run(model: ClientModel, real: ClientReal<E>): Promise<void> {
    const waiting = [...model.messages].filter(([, message]) => !message.opened).map(([id]) => id);
    this.opened = waiting[this.pick % waiting.length] as string;
    await openOne(model, real, this.opened, false);
  }
  toString(): string {
    return this.opened === undefined ? `open(#${this.pick})` : `open(${this.opened})`;
  }
}

class AdvanceCommand<E> implements ClientCommand<E> {
  constructor(readonly ms: number) {}
  check(): boolean {
    return true;
  }
  async run(model: ClientModel, real: ClientReal<E>): Promise<void> {
    await real.run.mock.advance(this.ms);
    model.elapsedMs += this.ms;
  }
  toString(): string {
    return `advance(${this.ms} ms)`;
  }
}

class FaultCommand<E> implements ClientCommand<E> {
  constructor(readonly fault: FaultInput) {}
  check(): boolean {
    return true;
  }
  async run(_model: ClientModel, real: ClientReal<E>): Promise<void> {
    await real.run.mock.fault(this.fault);
  }
  toString(): string {
    return `fault(${JSON.stringify(this.fault)})`;
  }
}

/** The command set: an arbitrary of command sequences for `fc.asyncModelRun` (or `runClientCommands`). */
export function clientCommands<E>(options: ClientCommandOptions): fc.Arbitrary<Iterable<ClientCommand<E>>> {
  if (options.senders.length === 0 || options.readers.length === 0) throw new RangeError('clientCommands: give at least one sender and one reader');
  const concurrency = options.concurrency ?? 3;
  if (!Number.isSafeInteger(concurrency) || concurrency < 1) throw new RangeError(`clientCommands: concurrency must be a positive integer, got ${String(concurrency)}`);
  if ((options.faults ?? []).some((fault) => fault.type === 'latency')) {
    throw new RangeError('clientCommands: a latency fault would hang the run (on the manual clock a delayed answer waits for a clock step the waiting command cannot make)');
  }
  const message = messageArb({ keyBytes: options.keyBytes, maxKeys: options.maxKeys ?? 4 });
  const sender = fc.constantFrom(...options.senders);
  const reader = fc.constantFrom(...options.readers);
  const send = fc.record({ sender, bytes: message });
  const commands: Array<fc.Arbitrary<ClientCommand<E>>> = [
    fc.tuple(send, reader).map(([one, to]) => new SealCommand<E>([one], to)),
    fc.nat().map((pick) => new OpenCommand<E>(pick)),
  ];
  const atOnce = Math.min(concurrency, options.senders.length);
  if (atOnce > 1) commands.push(fc.tuple(fc.uniqueArray(send, { minLength: 2, maxLength: atOnce, selector: (one) => one.sender }), reader).map(([sends, to]) => new SealCommand<E>(sends, to)));
  const steps = options.advanceMs ?? [1_000, 60_000];
  if (steps.length > 0) commands.push(fc.constantFrom(...steps).map((ms) => new AdvanceCommand<E>(ms)));
  if ((options.faults ?? []).length > 0) commands.push(fc.constantFrom(...(options.faults as FaultInput[])).map((fault) => new FaultCommand<E>(fault)));
  return fc.commands(commands, { maxCommands: options.maxCommands ?? 12 });
}

/**
 * One request on the wire at a time, each started when the scheduler says: the KMEs see the requests of
 * concurrent senders in an order fast-check chose, reports and replays.
 */
export function scheduledFetch(scheduler: fc.Scheduler, next: typeof fetch): typeof fetch {
  let wire: Promise<unknown> = Promise.resolve();
  return async (input, init) => {
    const url = new URL(input instanceof Request ? input.url : String(input));
    await scheduler.schedule(Promise.resolve(), `${init?.method ?? 'GET'} ${url.pathname}${url.search}`);
    const answered = wire.then(() => next(input, init));
    wire = answered.catch(() => undefined);
    return answered;
  };
}

export interface RunClientCommandsOptions {
  /** From `fc.scheduler()`: concurrent requests are ordered by it (and the client is given a scheduled fetch). */
  readonly scheduler?: fc.Scheduler;
}

/**
 * Plays the commands against a client made with the run's fetch, then heals every fault, opens every message
 * still sealed, and judges the run (U1…U7 and I1…I16) as `run.judged` does.
 */
export async function runClientCommands<E>(
  run: ClientRun,
  consumerOf: (fetch: typeof globalThis.fetch) => KeyConsumer<E>,
  commands: Iterable<ClientCommand<E>>,
  options: RunClientCommandsOptions = {},
): Promise<void> {
  const { scheduler } = options;
  const consumer = consumerOf(scheduler === undefined ? run.fetch : scheduledFetch(scheduler, run.fetch));
  const model: ClientModel = { messages: new Map(), next: 0, elapsedMs: 0 };
  const real: ClientReal<E> = { run, consumer, envelopes: new Map(), settle: (work) => (scheduler === undefined ? work : scheduler.waitFor(work)) };
  await run.judged(async () => {
    await fc.asyncModelRun(() => ({ model, real }), commands);
    await run.mock.clearFaults();
    for (const [id, message] of model.messages) if (!message.opened) await openOne(model, real, id, true);
  });
}
