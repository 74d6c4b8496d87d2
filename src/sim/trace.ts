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

/** Lines are hashed in batches: the digest of the concatenation is the same, at a fraction of the calls. */
const LINES_PER_UPDATE = 512;

export function createTrace(sink?: (line: string) => void): Trace {
  const hash = createHash('sha256');
  let lines = 0;
  let batch = '';
  let batched = 0;
  let done: string | null = null;
  return {
    record(entry) {
      if (done !== null) throw new Error('trace: record after fingerprint');
      const text = JSON.stringify(entry);
      batch += `${text}\n`;
      batched += 1;
      if (batched === LINES_PER_UPDATE) {
        hash.update(batch);
        batch = '';
        batched = 0;
      }
      lines += 1;
      sink?.(text);
    },
    fingerprint() {
      if (done === null) {
        hash.update(batch);
        batch = '';
        done = hash.digest('hex');
      }
      return done;
    },
    get lines() {
      return lines;
    },
  };
}
