// The run's trace: one JSON line per event and state change, in execution order. Key material never
// appears, only its hash. The SHA-256 of all lines is the run's fingerprint (I14).
import { createHash } from 'node:crypto';

export interface Trace {
  record(line: Readonly<Record<string, unknown>>): void;
  fingerprint(): string;
  readonly lines: number;
}

/**
 * SHA-256 of a value as canonical JSON: object keys sorted at every level, `undefined` members dropped,
 * arrays in order. The run's first trace line records this of the parsed scenario (defaults applied), so
 * the hash follows what the scenario says, not how its file is spelled: comments, whitespace, quoting,
 * key order and the file's path or name leave it unchanged.
 */
export function contentHash(value: unknown): string {
  return createHash('sha256').update(canonicalJson(value)).digest('hex');
}

function canonicalJson(value: unknown): string {
  if (Array.isArray(value)) return `[${value.map((item) => canonicalJson(item === undefined ? null : item)).join(',')}]`;
  if (typeof value === 'object' && value !== null) {
    const entries = Object.entries(value as Record<string, unknown>)
      .filter(([, member]) => member !== undefined)
      .sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0));
    return `{${entries.map(([key, member]) => `${JSON.stringify(key)}:${canonicalJson(member)}`).join(',')}}`;
  }
  return JSON.stringify(value) ?? 'null';
}

/**
 * Lines are hashed in batches: written as UTF-8 into one reused buffer and handed to the hash when it
 * fills, so the digest is that of the concatenated lines at a fraction of the calls and with no string
 * built from them.
 */
const BATCH_BYTES = 1 << 16;
const NEWLINE = 10;

export function createTrace(sink?: (line: string) => void): Trace {
  const hash = createHash('sha256');
  const batch = Buffer.allocUnsafe(BATCH_BYTES);
  let used = 0;
  let lines = 0;
  let done: string | null = null;
  const flush = (): void => {
    if (used > 0) hash.update(batch.subarray(0, used));
    used = 0;
  };
  return {
    record(entry) {
      if (done !== null) throw new Error('trace: record after fingerprint');
      const text = JSON.stringify(entry);
      // A UTF-16 code unit takes at most 3 bytes in UTF-8.
      if (used + text.length * 3 + 1 > BATCH_BYTES) flush();
      if (text.length * 3 + 1 > BATCH_BYTES) hash.update(`${text}\n`);
      else {
        used += batch.write(text, used, 'utf8');
        batch[used++] = NEWLINE;
      }
      lines += 1;
      sink?.(text);
    },
    fingerprint() {
      if (done === null) {
        flush();
        done = hash.digest('hex');
      }
      return done;
    },
    get lines() {
      return lines;
    },
  };
}
