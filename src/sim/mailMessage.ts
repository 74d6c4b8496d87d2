// A mail message as the simulator follows it from creation to its last reader, and what every step of
// its way shares: how it is made (readers, size, whether its bytes are sealed for real), its text, and the
// seeded draws that make a client misbehave.
import { deriveKeyBytes } from '../model/keyMaterial.js';
import type { OtpEnvelope } from '../model/otpEnvelope.js';
import type { Rng } from './rng.js';
import type { RunState } from './runState.js';
import type { SimUser } from './simUsers.js';

/** The bytes of a key whose bytes the client does not use (a message that is not sampled). */
export const NO_BYTES = new Uint8Array(0);

export interface Message {
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

/** A new message from sender to recipient, with CC readers on the recipient's KME drawn from the mail stream. */
export function newMessage(state: RunState, sender: SimUser, recipient: SimUser, at: number): Message {
  const { scenario, users, mailRng } = state;
  const sizes = scenario.workload.messageBytes;
  const cc: SimUser[] = [];
  for (let i = 0; i < Math.min(scenario.workload.ccMax, state.profile.maxSaeIdCount); i++) {
    const candidate = mailRng.pick(users);
    if (candidate.index !== sender.index && candidate.index !== recipient.index && candidate.kmeIndex === recipient.kmeIndex && !cc.includes(candidate)) cc.push(candidate);
  }
  const sampled = scenario.workload.otpSample >= 1 || state.sampleRng.next() < scenario.workload.otpSample;
  return { id: state.nextMessageId++, sender, readers: [recipient, ...cc], bytes: 'mean' in sizes ? exponentialBytes(mailRng, sizes.mean) : mailRng.int(sizes.min, sizes.max), createdAtMs: at, sentAtMs: null, sendAttempts: 0, envelope: null, sampled, keyIds: [], decryptedBy: new Set(), lost: false };
}

/** An exponentially distributed size with the given mean, rounded to whole bytes (0 and up). */
function exponentialBytes(rng: Rng, mean: number): number {
  return Math.round(-mean * Math.log(1 - rng.next()));
}

/** A message's text: derived from the seed, kept only while the message is in flight. */
export function messageBytes(state: RunState, message: Message): Uint8Array {
  let text = state.texts.get(message);
  if (text === undefined) {
    text = message.bytes === 0 ? new Uint8Array(0) : deriveKeyBytes(state.runSeed, 'message', String(message.id), message.bytes * 8);
    state.texts.set(message, text);
  }
  return text;
}

/** A message no longer followed: decrypted by every reader, or lost. */
export function forgetMessage(state: RunState, message: Message): void {
  state.inFlight.delete(message);
  state.texts.delete(message);
}

/** Whether a client misbehaves this time, for a misbehaviour with the given share. */
export function misbehave(state: RunState, share: number): boolean {
  return share > 0 && state.badRng.next() < share;
}
