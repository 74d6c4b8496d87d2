// The run's trace: one JSON line per event and state change, in execution order. Key material never
// appears, only its hash. The SHA-256 of all lines is the run's fingerprint (I14).
import { createHash } from 'node:crypto';

export interface Trace {
  record(line: Readonly<Record<string, unknown>>): void;
  fingerprint(): string;
  readonly lines: number;
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
