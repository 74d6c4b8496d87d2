// What every session of one check shares: the deadline (the budget is a hard bound), the keyed hash that
// stands for key material wherever evidence or a transcript would show it, the KMEs that stopped
// answering, and the keys an earlier check of the same target saw (--compare).
import { createHmac, randomBytes } from 'node:crypto';
import type { Finding } from './checkSession.js';

export class BudgetExhausted extends Error {
  constructor() {
    super('the check budget ran out');
  }
}

export interface CheckContext {
  /** performance.now() after which no request is sent (and requests in flight are cut). */
  readonly deadlineAt: number;
  /** A short keyed hash of key material given as base64: evidence without the bytes. */
  hashMaterial(materialBase64: string): string;
  /** A keyed hash of a key ID, for fingerprints. */
  hashId(keyId: string): string;
  /** KME URL → consecutive timeouts; at HANG_TIMEOUTS the KME counts as hung and is not asked again. */
  readonly timeouts: Map<string, number>;
  /** KMEs whose hang has been reported (once each). */
  readonly hangReported: Set<string>;
  /** Keyed hashes of what an earlier check of this target was delivered, when comparing. */
  readonly previous: { readonly ids: ReadonlySet<string>; readonly material: ReadonlySet<string> } | null;
  /** Keyed hashes of everything enc_keys delivered in this check. */
  readonly delivered: { readonly ids: Set<string>; readonly material: Set<string> };
  /** Transport, format and hang findings of every session, one per kind of problem, with a count. */
  readonly findings: ReadonlyMap<string, { readonly finding: Finding; count: number }>;
  noteFinding(finding: Finding): void;
  /** The same context with a later deadline (the time kept back for shrinking transcripts and replays). */
  withDeadline(deadlineAt: number): CheckContext;
}

/** Consecutive timeouts after which a KME is taken to have stopped answering. */
export const HANG_TIMEOUTS = 2;

export interface CheckContextOptions {
  readonly budgetMs: number;
  /** The secret of the keyed hashes; a fresh random one when fingerprints are not kept. */
  readonly secret?: Buffer;
  readonly previous?: { readonly ids: readonly string[]; readonly material: readonly string[] } | null;
}

export function createCheckContext(options: CheckContextOptions): CheckContext {
  const secret = options.secret ?? randomBytes(32);
  const hash = (label: string, data: Buffer | string, hexChars: number): string => createHmac('sha256', secret).update(label).update(data).digest('hex').slice(0, hexChars);
  const findings = new Map<string, { finding: Finding; count: number }>();
  const shared = {
    timeouts: new Map<string, number>(),
    hangReported: new Set<string>(),
    previous: options.previous === undefined || options.previous === null ? null : { ids: new Set(options.previous.ids), material: new Set(options.previous.material) },
    delivered: { ids: new Set<string>(), material: new Set<string>() },
    findings,
  };
  const make = (deadlineAt: number): CheckContext => ({
    ...shared,
    deadlineAt,
    hashMaterial: (material) => hash('material', Buffer.from(material, 'base64'), 16),
    hashId: (keyId) => hash('id', keyId, 16),
    noteFinding(finding) {
      // One finding per kind of problem: the same malformed answer in every workload is one finding.
      const key = `${finding.kind} ${finding.message.replace(/[0-9a-f]{8}-[0-9a-f-]{27}/gi, '#').replace(/\d+/g, 'N')}`;
      const seen = findings.get(key);
      if (seen === undefined) findings.set(key, { finding, count: 1 });
      else seen.count += 1;
    },
    withDeadline: (later) => make(later),
  });
  return make(performance.now() + options.budgetMs);
}
