// Sending mail: status first if the scenario says so, then enc_keys on the sender's KME for the
// receiver's pool (one request per source, in chunks), sealing with the keys, and transmitting, which
// queues a read for each reader. A refused send is queued again with backoff, as a mail client does.
import { KEY_WAIT_EDGES_MS } from './expectations.js';
import { transmitLatency } from './faults.js';
import type { SimEventOf } from './agenda.js';
import { countKeysNeeded, OtpError, sealOtp, type OtpKey } from '../model/otpEnvelope.js';
import { materialOf } from '../model/keyMaterial.js';
import { violation } from '../model/violation.js';
import { messageBytes, misbehave, NO_BYTES, newMessage, type Message } from './mailMessage.js';
import { recordViolations, type RunState } from './runState.js';
import { countRefusal } from './runTallies.js';
import type { SimKme } from './simKme.js';
import type { SimUser } from './simUsers.js';

interface SendFlow {
  readonly message: Message;
  readonly needed: number;
  readonly sources: OtpKey[][];
  failed: boolean;
}

/** A user's next mail comes due: it goes out now, and the user's following mail is queued. */
export function sendNextMail(state: RunState, user: SimUser): void {
  const { nowMs } = state;
  if (nowMs >= state.endOfSafety) return;
  const message = newMessage(state, user, state.chooseRecipient(user), nowMs);
  state.inFlight.add(message);
  sendBatch(state, [message]);
  state.queue.push(nowMs + state.mailRng.exponential(user.meanGapMs), { type: 'mail.next', user });
}

/** A queued mail comes due: every mail scheduled for this same instant goes out together, so their requests overlap. */
export function sendDueMails(state: RunState, message: Message): void {
  const { queue, nowMs } = state;
  const batch = [message];
  for (let peer = queue.peek(); peer !== undefined && peer.atMs === nowMs && peer.event.type === 'mail.send'; peer = queue.peek()) {
    batch.push((queue.pop()?.event as SimEventOf<'mail.send'>).message);
  }
  for (const queued of batch) state.inFlight.add(queued);
  sendBatch(state, batch);
}

function kmeOf(state: RunState, user: SimUser): string {
  return state.kmeIds[user.kmeIndex] as string;
}

/** Sends the mails of one instant together: their requests overlap, as concurrent clients' do. */
function sendBatch(state: RunState, messages: readonly Message[]): void {
  const { scenario, profile, tally } = state;
  const flows: SendFlow[] = messages.map((message) => {
    message.sendAttempts += 1;
    return { message, needed: countKeysNeeded(message.bytes, profile.keySizeBits), sources: [], failed: false };
  });
  const fail = (flow: SendFlow, status: number): void => {
    flow.failed = true;
    deferSend(state, flow.message, status);
  };
  for (const sim of state.sims) {
    for (const flow of flows) {
      const { message } = flow;
      const recipient = message.readers[0] as SimUser;
      if (flow.failed || !scenario.workload.statusFirst) continue;
      const status = sim.call(message.sender.kmeIndex, { type: 'keys.status', kmeId: kmeOf(state, message.sender), callerSaeId: message.sender.saeId, slaveSaeId: recipient.saeId }, state.nowMs);
      if (state.stopped) return;
      const result = status.injected ? null : status.outcome.result;
      const stored = result !== null && result.ok && result.kind === 'status' ? result.status.stored_key_count : -1;
      if (stored < flow.needed) fail(flow, stored < 0 ? status.status : 503);
    }
    if (sim.index === 0) for (const flow of flows) if (!flow.failed) requestOddSize(state, sim, flow.message);
    if (state.stopped) return;
    const got = new Map<SendFlow, OtpKey[]>(flows.map((flow) => [flow, []]));
    for (;;) {
      const round = flows.filter((flow) => !flow.failed && (got.get(flow) as OtpKey[]).length < flow.needed);
      if (round.length === 0) break;
      const pending = round.map((flow) => {
        const { message } = flow;
        const cc = message.readers.slice(1).map((user) => user.saeId);
        const number = Math.min(profile.maxKeysPerRequest, flow.needed - (got.get(flow) as OtpKey[]).length);
        const request = { ...(number === 1 ? {} : { number }), ...(cc.length === 0 ? {} : { additional_slave_SAE_IDs: cc }) };
        const command = { type: 'keys.enc', kmeId: kmeOf(state, message.sender), callerSaeId: message.sender.saeId, slaveSaeId: (message.readers[0] as SimUser).saeId, request } as const;
        return { flow, pending: sim.beginEnc(message.sender.kmeIndex, command, state.nowMs, message.sampled) };
      });
      for (const { flow, pending: request } of pending) {
        const reply = sim.finishEnc(request, state.nowMs);
        if (state.stopped) return;
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
  for (const flow of flows) if (!flow.failed) seal(state, flow);
}

/** A client asks for a key size that is not a multiple of 8; the KME must refuse it (C21, I9). */
function requestOddSize(state: RunState, sim: SimKme, message: Message): void {
  if (!misbehave(state, state.misbehaviour.oddSize)) return;
  const recipient = message.readers[0] as SimUser;
  const size = state.profile.keySizeBits - 4;
  sim.call(message.sender.kmeIndex, { type: 'keys.enc', kmeId: kmeOf(state, message.sender), callerSaeId: message.sender.saeId, slaveSaeId: recipient.saeId, request: { size } }, state.nowMs);
}

function deferSend(state: RunState, message: Message, status: number): void {
  const { nowMs } = state;
  countRefusal(state.tally.encRefused, status);
  if (message.sendAttempts === 1) state.tally.messagesDeferred += 1;
  state.series.count(nowMs, 'encRefused');
  // A mail client queues the mail and tries again later, backing off up to an hour.
  const waitMs = Math.min(3_600_000, 60_000 * 2 ** Math.min(message.sendAttempts - 1, 6));
  state.queue.push(nowMs + waitMs, { type: 'mail.send', message });
}

/** Seals the message with the keys of every source and transmits it: each reader's read is queued. */
function seal(state: RunState, flow: SendFlow): void {
  const { message } = flow;
  const { scenario, queue, mailRng, nowMs } = state;
  message.keyIds = flow.sources.map((keys) => keys.map((key) => key.keyId));
  try {
    if (message.sampled) message.envelope = sealOtp(messageBytes(state, message), flow.sources);
  } catch (error) {
    if (!(error instanceof OtpError)) throw error;
    recordViolations(state, [violation(error.code === 'repeated-key' ? 'I1' : 'I9', `message ${message.id} cannot be sealed: ${error.message}`, { message: message.id })]);
    return;
  }
  message.sentAtMs = nowMs;
  state.tally.messagesSent += 1;
  const waitedMs = nowMs - message.createdAtMs;
  for (let i = 0; i < KEY_WAIT_EDGES_MS.length && waitedMs >= (KEY_WAIT_EDGES_MS[i] as number); i++) state.tally.keyWaitOver[i] = (state.tally.keyWaitOver[i] as number) + 1;
  state.series.count(nowMs, 'sent');
  const arrival = nowMs + transmitLatency(state) + mailRng.int(scenario.workload.transmitDelay.min, scenario.workload.transmitDelay.max);
  for (const reader of message.readers) {
    queue.push(arrival + mailRng.int(scenario.workload.readDelay.min, scenario.workload.readDelay.max), { type: 'mail.read', message, reader, attempt: 1 });
  }
  if (misbehave(state, state.misbehaviour.eavesdrop)) {
    const reader = message.readers[0] as SimUser;
    const others = state.users.filter((user) => user.kmeIndex === reader.kmeIndex && user.index !== message.sender.index && !message.readers.includes(user));
    if (others.length > 0) queue.push(arrival, { type: 'mail.eavesdrop', message, eavesdropper: state.badRng.pick(others) });
  }
}
