// Searching text (a log, a trace, a response body) for key material. A key is looked for in every form a
// careless line could print it in: base64 as served, base64url, hex in either case, and base64 of the bytes
// from the second and third byte on (base64 regroups every three bytes, so with these three alignments any
// contiguous run of the bytes, base64-encoded, shows up). Each form is cut into aligned chunks of CHUNK_CHARS
// characters and the text is scanned once, window by window, against all chunks of all keys: a whole key is
// found, and so is any fragment at least 2 × CHUNK_CHARS − 1 characters long, in time linear in the text.

/** 16 characters: 96 bits of base64, 64 bits of hex; a chance match in megabytes of text is below 1e-7. */
export const CHUNK_CHARS = 16;

/** The smallest key whose every form fills at least one chunk (base64url of 14 bytes is 19 characters). */
export const MIN_KEY_BYTES = 16;

export interface Secret {
  /** What to call it in a finding (a key ID). */
  readonly label: string;
  readonly bytes: Uint8Array;
}

export interface Finding {
  readonly label: string;
  readonly form: string;
  /** Where in the text the matching chunk starts. */
  readonly at: number;
  /** The text around it, for the failure message. */
  readonly context: string;
}

export function formsOf(bytes: Uint8Array): Array<{ readonly form: string; readonly text: string }> {
  const buffer = Buffer.from(bytes);
  const forms = [
    { form: 'hex', text: buffer.toString('hex') },
    { form: 'HEX', text: buffer.toString('hex').toUpperCase() },
  ];
  for (const shift of [0, 1, 2]) {
    const part = buffer.subarray(shift);
    forms.push({ form: `base64+${shift}`, text: part.toString('base64') }, { form: `base64url+${shift}`, text: part.toString('base64url') });
  }
  return forms;
}

export interface KeySearch {
  /** Every chunk of every key found in `text` (none: the text holds no key material). */
  find(text: string): Finding[];
  /** How many keys and chunks are searched for. */
  readonly keys: number;
  readonly chunks: number;
}

export function createKeySearch(secrets: Iterable<Secret>): KeySearch {
  const chunks = new Map<string, { label: string; form: string }>();
  let keys = 0;
  for (const secret of secrets) {
    if (secret.bytes.length < MIN_KEY_BYTES) throw new Error(`key ${secret.label} has ${secret.bytes.length} bytes: too short to search for (at least ${MIN_KEY_BYTES})`);
    keys += 1;
    for (const { form, text } of formsOf(secret.bytes)) {
      // Aligned chunks, and the last CHUNK_CHARS characters so a short tail is covered too.
      for (let at = 0; at + CHUNK_CHARS <= text.length; at += CHUNK_CHARS) chunks.set(text.slice(at, at + CHUNK_CHARS), { label: secret.label, form });
      chunks.set(text.slice(-CHUNK_CHARS), { label: secret.label, form });
    }
  }
  return {
    keys,
    chunks: chunks.size,
    find(text) {
      const found: Finding[] = [];
      for (let at = 0; at + CHUNK_CHARS <= text.length; at++) {
        const owner = chunks.get(text.slice(at, at + CHUNK_CHARS));
        if (owner === undefined) continue;
        found.push({ ...owner, at, context: text.slice(Math.max(0, at - 40), at + CHUNK_CHARS + 40) });
        // One finding per place is enough; skip past this chunk.
        at += CHUNK_CHARS - 1;
      }
      return found;
    },
  };
}
