// Judges a client's use of keys, not only the KME: which key IDs the sender sealed each message with (in
// order), which the readers opened it with (in the order they applied them), and what the recorded ETSI
// traffic shows the KMEs delivered and the readers retrieved. Each finding names a client invariant
// (U1…U7, listed in docs/invariants.md) and the requests that show it.
import { namedKeyIds, type RecordedExchange } from './etsiRecorder.js';

export type ClientInvariantId = 'U1' | 'U2' | 'U3' | 'U4' | 'U5' | 'U6' | 'U7';

export const CLIENT_INVARIANTS: Readonly<Record<ClientInvariantId, string>> = {
  U1: 'one key, one message: no key ID seals two messages, or one message twice',
  U2: 'the reader applies the sender’s keys in the sender’s order',
  U3: 'the reader opens a message with exactly the keys the sender sealed it with',
  U4: 'the reader gets every key it opens with from dec_keys, as itself, naming the sender',
  U5: 'every key the sender fetched with enc_keys seals a message',
  U6: 'every key that sealed a message is retrieved by a reader (consumed at the KME)',
  U7: 'the pad is the sealing keys’ bytes in order, each byte once (the reference OTP: ciphertext = plaintext XOR the keys)',
};

export interface ClientFinding {
  readonly invariant: ClientInvariantId;
  readonly message: string;
  /** The messages involved, as the client named them. */
  readonly messages: readonly string[];
  readonly keyIds: readonly string[];
  /** The recorded requests that show it (seq numbers), oldest first. */
  readonly requests: readonly number[];
}

export interface ClientLedger {
  /** The sender sealed `message` with these keys, in this order (call it from the client's sealing code). */
  sealed(message: string, sender: string, keyIds: readonly string[]): void;
  /** `reader` opened `message` applying these keys, in this order. */
  opened(message: string, reader: string, keyIds: readonly string[]): void;
  /**
   * The sender's plaintext and ciphertext of `message`, for a client that seals with the reference OTP
   * (byte i of the ciphertext is byte i of the plaintext XOR byte i of its keys, laid end to end). U7 opens
   * the envelope with the bytes the KME delivered for the keys it was sealed with. Kept in memory only.
   */
  enveloped(message: string, plaintext: Uint8Array, ciphertext: Uint8Array): void;
  /**
   * Keys a refusal stranded (a seal the KME cut short, a message whose keys the KME would not hand over):
   * U5 and U6 do not count them. U1…U4 still do.
   */
  excuse(keyIds: readonly string[], reason: string): void;
  /** The keys the sender said it sealed `message` with, in order ([] when it said nothing). */
  keysOf(message: string): readonly string[];
  /** What the client did against what the traffic shows; [] when it kept every rule. */
  /**
   * `finished: false` for a run that stopped early (its body threw): U5 and U6, which ask what became of
   * every key by the end of a run, are not judged then; the other rules are.
   */
  judge(exchanges: readonly RecordedExchange[], keyBytes?: (keyId: string) => Uint8Array | undefined, options?: { readonly finished?: boolean }): ClientFinding[];
  clear(): void;
}

interface Sealing {
  readonly message: string;
  readonly sender: string;
  readonly keyIds: readonly string[];
}

interface Envelope {
  readonly plaintext: Uint8Array;
  readonly ciphertext: Uint8Array;
}

interface Opening {
  readonly message: string;
  readonly reader: string;
  readonly keyIds: readonly string[];
}

export function createClientLedger(): ClientLedger {
  let sealings: Sealing[] = [];
  let openings: Opening[] = [];
  let excused = new Map<string, string>();
  let envelopes = new Map<string, Envelope>();
  return {
    sealed(message, sender, keyIds) {
      sealings.push({ message, sender, keyIds: [...keyIds] });
    },
    opened(message, reader, keyIds) {
      openings.push({ message, reader, keyIds: [...keyIds] });
    },
    enveloped(message, plaintext, ciphertext) {
      envelopes.set(message, { plaintext: Uint8Array.from(plaintext), ciphertext: Uint8Array.from(ciphertext) });
    },
    excuse(keyIds, reason) {
      for (const id of keyIds) if (!excused.has(id)) excused.set(id, reason);
    },
    keysOf(message) {
      // The last report wins, as in the judge.
      for (let i = sealings.length - 1; i >= 0; i--) if ((sealings[i] as Sealing).message === message) return (sealings[i] as Sealing).keyIds;
      return [];
    },
    judge(exchanges, keyBytes, options) {
      const carrying = carryingIndex(exchanges);
      const found = judgeClient(sealings, openings, exchanges, excused, carrying, options?.finished ?? true);
      return keyBytes === undefined ? found : [...found, ...judgePads(sealings, envelopes, keyBytes, carrying)];
    },
    clear() {
      sealings = [];
      openings = [];
      excused = new Map();
      envelopes = new Map();
    },
  };
}

type Carrying = (keyIds: readonly string[]) => number[];

/** The requests that carried or named each key ID (a refused dec_keys among them), indexed once: seq numbers, oldest first. */
function carryingIndex(exchanges: readonly RecordedExchange[]): Carrying {
  const seqsOf = new Map<string, number[]>();
  const note = (id: string, seq: number): void => {
    const list = seqsOf.get(id);
    if (list === undefined) seqsOf.set(id, [seq]);
    else if (list[list.length - 1] !== seq) list.push(seq);
  };
  for (const exchange of exchanges) {
    if (exchange.status === 200) for (const id of exchange.keyIds) note(id, exchange.seq);
    for (const id of namedKeyIds(exchange)) note(id, exchange.seq);
  }
  return (keyIds) => [...new Set(keyIds.flatMap((id) => seqsOf.get(id) ?? []))].sort((a, b) => a - b);
}

function judgeClient(
  sealings: readonly Sealing[],
  openings: readonly Opening[],
  exchanges: readonly RecordedExchange[],
  excused: ReadonlyMap<string, string>,
  carrying: Carrying,
  finished: boolean,
): ClientFinding[] {
  const found: ClientFinding[] = [];
  const ok = exchanges.filter((exchange) => exchange.status === 200);
  const delivered = ok.filter((exchange) => exchange.route === 'enc_keys');
  const retrieved = ok.filter((exchange) => exchange.route === 'dec_keys');
  // Indexes built once: the keys each reader retrieved, from each sender and from anyone.
  const retrievedFrom = new Map<string, Set<string>>();
  const retrievedBy = new Map<string, Set<string>>();
  const add = (index: Map<string, Set<string>>, key: string, ids: readonly string[]): void => {
    let set = index.get(key);
    if (set === undefined) index.set(key, (set = new Set()));
    for (const id of ids) set.add(id);
  };
  for (const exchange of retrieved) {
    add(retrievedFrom, `${exchange.caller ?? ''}\u0000${exchange.peer ?? ''}`, exchange.keyIds);
    add(retrievedBy, exchange.caller ?? '', exchange.keyIds);
  }
  const NONE = new Set<string>();

  // U1: a key ID in two sealings, or twice in one.
  const sealedBy = new Map<string, string[]>();
  for (const sealing of sealings) {
    for (const id of sealing.keyIds) {
      const messages = sealedBy.get(id);
      if (messages === undefined) sealedBy.set(id, [sealing.message]);
      else messages.push(sealing.message);
    }
  }
  for (const [id, messages] of sealedBy) {
    if (messages.length < 2) continue;
    found.push({ invariant: 'U1', message: `key ${id} sealed ${messages.length} times (messages ${[...new Set(messages)].join(', ')})`, messages: [...new Set(messages)], keyIds: [id], requests: carrying([id]) });
  }

  const sealingOf = new Map(sealings.map((sealing) => [sealing.message, sealing]));
  for (const opening of openings) {
    const sealing = sealingOf.get(opening.message);
    if (sealing === undefined) {
      // U3: no sender said it sealed this message (a reader naming it otherwise than the sender did, or one
      // it made up); U4 still asks whether its keys came from the reader's own dec_keys, from anyone.
      found.push({
        invariant: 'U3',
        message: `${opening.reader} opened message ${opening.message}, which no sender reported sealing (name the message the same at both ends)`,
        messages: [opening.message],
        keyIds: [...opening.keyIds],
        requests: carrying(opening.keyIds),
      });
      const fromAnyone = retrievedBy.get(opening.reader) ?? NONE;
      const unfetched = opening.keyIds.filter((id) => !fromAnyone.has(id));
      if (unfetched.length > 0) {
        found.push({ invariant: 'U4', message: `${opening.reader} opened message ${opening.message} with ${unfetched.length} key(s) it never retrieved with dec_keys`, messages: [opening.message], keyIds: unfetched, requests: carrying(unfetched) });
      }
      continue;
    }
    // The same keys, each as often (a key applied twice in place of another is not the sender's keys).
    const sealedSorted = [...sealing.keyIds].sort();
    const sameKeys = opening.keyIds.length === sealing.keyIds.length && [...opening.keyIds].sort().every((id, i) => id === sealedSorted[i]);
    if (!sameKeys) {
      // U3: other keys than the sender's.
      const foreign = opening.keyIds.filter((id) => !sealing.keyIds.includes(id));
      const missing = sealing.keyIds.filter((id) => !opening.keyIds.includes(id));
      found.push({
        invariant: 'U3',
        message: `${opening.reader} opened message ${opening.message} with ${opening.keyIds.length} key(s) (${foreign.length} not the sender's, ${missing.length} of the sender's left out)`,
        messages: [opening.message],
        keyIds: [...foreign, ...missing],
        requests: carrying([...opening.keyIds, ...sealing.keyIds]),
      });
    } else if (opening.keyIds.some((id, i) => id !== sealing.keyIds[i])) {
      // U2: the sender's keys in another order.
      const first = opening.keyIds.findIndex((id, i) => id !== sealing.keyIds[i]);
      found.push({
        invariant: 'U2',
        message: `${opening.reader} applied the keys of message ${opening.message} in another order than the sender (first difference at key ${first + 1} of ${sealing.keyIds.length})`,
        messages: [opening.message],
        keyIds: [opening.keyIds[first] as string, sealing.keyIds[first] as string],
        requests: carrying(sealing.keyIds),
      });
    }
    // U4: every key applied came from the reader's own dec_keys, naming the sender.
    const fetched = retrievedFrom.get(`${opening.reader}\u0000${sealing.sender}`) ?? NONE;
    const unfetched = opening.keyIds.filter((id) => !fetched.has(id));
    if (unfetched.length > 0) {
      found.push({
        invariant: 'U4',
        message: `${opening.reader} opened message ${opening.message} with ${unfetched.length} key(s) it never retrieved with dec_keys from ${sealing.sender}`,
        messages: [opening.message],
        keyIds: unfetched,
        requests: carrying(unfetched),
      });
    }
  }

  if (!finished) return found;
  // U5: keys delivered to a sender that sealed nothing.
  const unused = delivered.flatMap((exchange) => exchange.keyIds).filter((id) => !sealedBy.has(id) && !excused.has(id));
  if (unused.length > 0) {
    found.push({ invariant: 'U5', message: `${unused.length} key(s) fetched with enc_keys sealed no message`, messages: [], keyIds: unused, requests: carrying(unused) });
  }
  // U6: keys that sealed a message and that no reader retrieved.
  const consumed = new Set(retrieved.flatMap((exchange) => exchange.keyIds));
  for (const sealing of sealings) {
    const left = sealing.keyIds.filter((id) => !consumed.has(id) && !excused.has(id));
    if (left.length === 0) continue;
    found.push({ invariant: 'U6', message: `${left.length} of the ${sealing.keyIds.length} key(s) of message ${sealing.message} were never retrieved by a reader`, messages: [sealing.message], keyIds: left, requests: carrying(left) });
  }
  return found;
}

/** U7: each enveloped message opened with the reference OTP and the bytes the KME delivered for its keys. */
function judgePads(sealings: readonly Sealing[], envelopes: ReadonlyMap<string, Envelope>, keyBytes: (keyId: string) => Uint8Array | undefined, carrying: Carrying): ClientFinding[] {
  const found: ClientFinding[] = [];
  const sealingOf = new Map(sealings.map((sealing) => [sealing.message, sealing]));
  for (const [message, envelope] of envelopes) {
    const sealing = sealingOf.get(message);
    if (sealing === undefined) {
      found.push({ invariant: 'U7', message: `an envelope was handed over for message ${message}, which no sender reported sealing: it cannot be opened`, messages: [message], keyIds: [], requests: [] });
      continue;
    }
    const keys = sealing.keyIds.map((id) => keyBytes(id));
    // Keys whose bytes no answer carried are U4/U1 matters (or a KME's); U7 judges only what it can open.
    if (keys.some((bytes) => bytes === undefined)) continue;
    const pad = Uint8Array.from(envelope.plaintext, (byte, i) => byte ^ (envelope.ciphertext[i] ?? 0));
    const sizes = (keys as Uint8Array[]).map((bytes) => bytes.length);
    const total = sizes.reduce((sum, size) => sum + size, 0);
    let wrong = envelope.ciphertext.length !== envelope.plaintext.length ? Math.min(envelope.ciphertext.length, envelope.plaintext.length) : -1;
    if (wrong < 0 && pad.length > total) wrong = total;
    if (wrong < 0) {
      let keyIndex = 0;
      let offset = 0;
      for (let i = 0; i < pad.length; i++) {
        while (offset >= (sizes[keyIndex] as number)) {
          keyIndex++;
          offset = 0;
        }
        if (pad[i] !== (keys[keyIndex] as Uint8Array)[offset]) {
          wrong = i;
          break;
        }
        offset++;
      }
    }
    if (wrong < 0) continue;
    const ids = sealing.keyIds;
    found.push({
      invariant: 'U7',
      message: `message ${message} is not its plaintext XOR the bytes of its ${ids.length} key(s) in order: ${describeWrongByte(wrong, envelope, total)}`,
      messages: [message],
      keyIds: [...ids],
      requests: carrying(ids),
    });
  }
  return found;
}

function describeWrongByte(wrong: number, envelope: Envelope, total: number): string {
  if (envelope.ciphertext.length !== envelope.plaintext.length) return `the ciphertext has ${envelope.ciphertext.length} byte(s), the plaintext ${envelope.plaintext.length}`;
  if (wrong >= total) return `the message has ${envelope.plaintext.length} byte(s), its keys only ${total}`;
  return `byte ${wrong + 1} of ${envelope.plaintext.length} is padded with other key bytes`;
}
