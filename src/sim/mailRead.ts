// Reading mail: the reader's dec_keys for the message's keys on its own KME (one request per source, in
// chunks), then opening the envelope, whose bytes must be the ones sent (I15). A busy KME (503) is asked
// again with backoff; any other refusal loses the message. Misbehaving clients ask with a mangled key ID,
// ask again after reading, through the other KME of the link, or replay another reader's key IDs.
import type { DeliveredKey } from '../model/encKeys.js';
import { deriveKeyId } from '../model/keyIds.js';
import { materialOf } from '../model/keyMaterial.js';
import { OtpError, openOtp, type OtpEnvelope } from '../model/otpEnvelope.js';
import { violation } from '../model/violation.js';
import { forgetMessage, messageBytes, misbehave, NO_BYTES, type Message } from './mailMessage.js';
import { recordViolations, type RunState } from './runState.js';
import { countRefusal } from './runTallies.js';
import type { SimKme } from './simKme.js';
import type { SimUser } from './simUsers.js';

type KeyLookup = (keyId: string) => Uint8Array | undefined;

/** A reader's read comes due; a message the KME says is gone is no longer followed. */
export function readMail(state: RunState, message: Message, reader: SimUser, attempt: number): void {
  readMessage(state, message, reader, attempt);
  if (message.lost) forgetMessage(state, message);
}

/** Someone fetches a message's keys again: its reader re-opening it, possibly through the other KME of the link. */
export function rereadMessage(state: RunState, message: Message, reader: SimUser, otherEnd: boolean): void {
  const keyIds = message.keyIds[0] ?? [];
  const kmeIndex = otherEnd ? message.sender.kmeIndex : reader.kmeIndex;
  if (keyIds.length === 0 || (otherEnd && kmeIndex === reader.kmeIndex)) return;
  fetchKeys(state, state.sims[0] as SimKme, reader, kmeIndex, message.sender, keyIds);
}

/** Key IDs travel in the clear with the mail; someone else on the receiver's KME replays them (C35, I5). */
export function eavesdrop(state: RunState, message: Message, eavesdropper: SimUser): void {
  const keyIds = message.keyIds[0] ?? [];
  if (keyIds.length > 0) fetchKeys(state, state.sims[0] as SimKme, eavesdropper, eavesdropper.kmeIndex, message.sender, keyIds);
}

/** dec_keys for every key of one source, in chunks; the keys' bytes, or the status that refused them. */
function fetchKeys(state: RunState, sim: SimKme, caller: SimUser, kmeIndex: number, master: SimUser, keyIds: readonly string[], withBytes = true): Map<string, Uint8Array> | number {
  const { maxKeysPerRequest } = state.profile;
  const got = new Map<string, Uint8Array>();
  for (let i = 0; i < keyIds.length; i += maxKeysPerRequest) {
    const chunk = keyIds.slice(i, i + maxKeysPerRequest);
    const reply = sim.call(kmeIndex, { type: 'keys.dec', kmeId: state.kmeIds[kmeIndex] as string, callerSaeId: caller.saeId, masterSaeId: master.saeId, keyIds: chunk }, state.nowMs, withBytes);
    if (reply.injected || !reply.outcome.result.ok || reply.outcome.result.kind !== 'keys') return reply.status;
    const materials = reply.materials;
    (reply.outcome.result.keys as readonly DeliveredKey[]).forEach((key, j) => got.set(key.keyId, withBytes ? (materials[j] ?? materialOf(sim.world.config.seed, key)) : NO_BYTES));
  }
  return got;
}

function readMessage(state: RunState, message: Message, reader: SimUser, attempt: number): void {
  const envelope = message.envelope;
  if ((message.sampled && envelope === null) || message.sentAtMs === null || message.decryptedBy.has(reader.index)) return;
  const { misbehaviour, queue, tally } = state;
  const lookups: KeyLookup[] = [];
  for (const sim of state.sims) {
    const keyIds = envelope?.sources[sim.index]?.keyIds ?? message.keyIds[sim.index] ?? [];
    if (sim.index === 0 && attempt === 1 && keyIds.length > 0 && misbehave(state, misbehaviour.corruptIds)) {
      // A client that mangles one key ID: the KME must refuse the whole request and consume nothing (C38).
      const corrupted = [...keyIds.slice(0, -1), deriveKeyId(state.runSeed, 'corrupt', message.id)];
      fetchKeys(state, sim, reader, reader.kmeIndex, message.sender, corrupted);
      if (state.stopped) return;
    }
    const got = fetchKeys(state, sim, reader, reader.kmeIndex, message.sender, keyIds, message.sampled);
    if (state.stopped) return;
    if (typeof got === 'number') {
      countRefusal(tally.decRefused, got);
      state.series.count(state.nowMs, 'decRefused');
      if (got === 503) {
        queue.push(state.nowMs + Math.min(600_000, 30_000 * 2 ** Math.min(attempt - 1, 5)), { type: 'mail.read', message, reader, attempt: attempt + 1 });
      } else {
        // The KME says the keys are gone; the history checker has judged whether it had the right to.
        message.lost = true;
      }
      return;
    }
    lookups.push((keyId) => got.get(keyId));
  }
  if (envelope !== null && !opensToOriginal(state, message, envelope, lookups, reader)) return;
  const { nowMs } = state;
  message.decryptedBy.add(reader.index);
  if (misbehave(state, misbehaviour.reread)) queue.push(nowMs + 3_600_000, { type: 'mail.reread', message, reader, otherEnd: false });
  if (state.kmeIds.length > 1 && misbehave(state, misbehaviour.rereadOtherEnd)) queue.push(nowMs + 3_600_000, { type: 'mail.reread', message, reader, otherEnd: true });
  if (message.decryptedBy.size === message.readers.length) {
    tally.messagesDecrypted += 1;
    state.series.count(nowMs, 'decrypted');
    tally.maxDeliveryMs = Math.max(tally.maxDeliveryMs, nowMs - message.createdAtMs);
    forgetMessage(state, message);
  }
}

function opensToOriginal(state: RunState, message: Message, envelope: OtpEnvelope, lookups: readonly KeyLookup[], reader: SimUser): boolean {
  let plain: Uint8Array;
  try {
    plain = openOtp(envelope, lookups);
  } catch (error) {
    if (!(error instanceof OtpError)) throw error;
    recordViolations(state, [violation('I15', `message ${message.id} does not decrypt for ${reader.name}: ${error.message}`, { message: message.id, reader: reader.name })]);
    return false;
  }
  if (Buffer.compare(Buffer.from(plain), Buffer.from(messageBytes(state, message))) !== 0) {
    recordViolations(state, [violation('I15', `message ${message.id} decrypts to other bytes than were sent`, { message: message.id, reader: reader.name })]);
    return false;
  }
  return true;
}
