// One conversation with a target KME: every request and response recorded (the transcript), every
// enc_keys and dec_keys judged by the history checker (I1–I5, I7, I9), every answer to client input
// judged for I13 (no 5xx but 503, errors as JSON Error bodies). Transport failures are findings.
import { createHistoryChecker, type Exchange, type HistoryChecker, type ObservedKey } from '../model/historyChecker.js';
import { violation, type Violation } from '../model/violation.js';
import { BudgetExhausted, HANG_TIMEOUTS, type CheckContext } from './checkContext.js';
import { sendEtsi, type EtsiRequest, type EtsiResponse } from './etsiClient.js';
import { decPath, encPath, statusPath } from './etsiPaths.js';
import { redactKeys } from './redact.js';
import type { Target, TargetSae } from './targetSchema.js';

/** What a request meant, so that a transcript can be replayed on fresh keys and judged again. */
export type Meaning =
  | { readonly op: 'enc'; readonly master: string; readonly slave: string; readonly request: EncShape; readonly method: 'GET' | 'POST' }
  | { readonly op: 'dec'; readonly caller: string; readonly master: string; readonly keyIds: readonly string[]; readonly kme: string; readonly method: 'GET' | 'POST' }
  | { readonly op: 'status'; readonly master: string; readonly slave: string }
  | { readonly op: 'restart'; readonly kme: string }
  | { readonly op: 'raw' };

export interface EncShape {
  readonly number?: number;
  readonly size?: number;
  readonly additional?: readonly string[];
}

export interface TranscriptEntry {
  readonly id: number;
  readonly request: EtsiRequest;
  readonly response: EtsiResponse;
  /** The answer's body with every key's material replaced by its size and a short keyed hash. */
  readonly shown: string;
  /** Entries with the same burst number were sent at once. */
  readonly burst?: number;
  readonly meaning: Meaning;
  /** performance.now() when the answer (or the transport failure) came back. */
  readonly receivedAtMs: number;
}

export interface Finding {
  readonly kind: 'transport' | 'format' | 'hang';
  readonly message: string;
  readonly entry: TranscriptEntry;
}

export type BurstRequest =
  | { readonly kind: 'enc'; readonly master: string; readonly slave: string; readonly request: EncShape }
  | { readonly kind: 'dec'; readonly caller: string; readonly master: string; readonly keyIds: readonly string[]; readonly kme?: string };

export type SessionViolation = Violation & { readonly entries: readonly number[]; readonly replayable?: boolean };

export interface KeyHandle {
  readonly keyId: string;
  readonly master: string;
  readonly slaves: readonly string[];
  readonly sizeBits: number;
}

export interface CheckSession {
  readonly target: Target;
  readonly context: CheckContext;
  readonly transcript: TranscriptEntry[];
  /** Violations with the entries that show them; `replayable` where replaying those entries judges them again. */
  readonly violations: SessionViolation[];
  readonly findings: Finding[];
  readonly keys: KeyHandle[];
  sae(id: string): TargetSae;
  kmeUrl(kmeId: string): string;
  /**
   * Sends one request, records it, judges I13; does not feed the history checker. Paths are given in the
   * spec's form (/api/v1/keys/…) and sent under the KME's URL prefix and keys path. Throws BudgetExhausted
   * once the check's deadline has passed.
   */
  send(request: Omit<EtsiRequest, 'timeoutMs'>, meaning?: Meaning, burst?: number): Promise<TranscriptEntry>;
  enc(master: string, slave: string, request: EncShape, method?: 'GET' | 'POST'): Promise<TranscriptEntry>;
  dec(caller: string, master: string, keyIds: readonly string[], options?: { kme?: string; method?: 'GET' | 'POST' }): Promise<TranscriptEntry>;
  status(master: string, slave: string): Promise<TranscriptEntry>;
  /** Sends several requests at once; their exchanges are judged together once all have answered. */
  burst(requests: readonly BurstRequest[]): Promise<TranscriptEntry[]>;
  keySize(master: string, slave: string): Promise<number | undefined>;
  /** A KME was restarted (through an admin API): keys lost from here on are the restart's doing (I2). */
  restarted(kmeId: string, entry?: TranscriptEntry): void;
  /** Whether the KME asked had to serve this caller's dec_keys (where the target file says so, or its own KME). */
  obliged(caller: string, kmeId: string): boolean;
  /** Delivered keys some named slave has not retrieved yet, oldest first, with the slaves still waiting. */
  waitingKeys(): Array<{ keyId: string; master: string; waitingFor: readonly string[] }>;
}

function keysOf(entry: TranscriptEntry, context: CheckContext): ObservedKey[] {
  const json = entry.response.json as { keys?: unknown } | undefined;
  if (entry.response.status !== 200 || !Array.isArray(json?.keys)) return [];
  return json.keys.flatMap((key: unknown) => {
    const { key_ID: keyId, key: material } = (key ?? {}) as { key_ID?: unknown; key?: unknown };
    if (typeof keyId !== 'string' || typeof material !== 'string') return [];
    const bytes = Buffer.from(material, 'base64');
    return [{ keyId, materialHash: `h:${context.hashMaterial(material)}`, sizeBits: bytes.length * 8 }];
  });
}

/** The URL prefix and keys path of a target KME, so that /api/v1/keys/… paths reach it wherever it serves them. */
function routeOf(target: Target, kmeUrl: string): { origin: string; keys: string; prefix: string } | null {
  const kme = target.kmes.find((candidate) => candidate.url === kmeUrl);
  if (kme === undefined) return null;
  const url = new URL(kme.url);
  return { origin: url.origin, prefix: url.pathname.replace(/\/+$/, ''), keys: kme.keysPath ?? target.keysPath };
}

const SPEC_KEYS_PATH = '/api/v1/keys';

export function createCheckSession(target: Target, context: CheckContext): CheckSession {
  const history: HistoryChecker = createHistoryChecker({
    ...(target.limits.keyTtlMs === undefined ? {} : { keyTtlMs: target.limits.keyTtlMs }),
    consumeOnDecrypt: target.profile !== 'lenient',
    // The KME times its grace from when it served the first retrieval, the checker from when the answer
    // arrived: a margin keeps a repeat the KME rightly served near the edge from being called an I3.
    ...(target.limits.repeatGraceMs === undefined || target.limits.repeatGraceMs === 0 ? {} : { repeatGraceMs: target.limits.repeatGraceMs + Math.max(1_000, Math.ceil(target.limits.repeatGraceMs / 10)) }),
    attributeLosses: true,
    masterMayReadBack: true,
  });
  const transcript: TranscriptEntry[] = [];
  const violations: SessionViolation[] = [];
  const findings: Finding[] = [];
  const keys: KeyHandle[] = [];
  const exchangeOf = new Map<number, { exchange: Exchange; entry: TranscriptEntry }>();
  const startedAt = performance.now();
  const defaultSizes = new Map<string, number>();

  const sae = (id: string): TargetSae => {
    const found = target.saes.find((candidate) => candidate.id === id);
    if (found === undefined) throw new Error(`check: no SAE ${id} in the target`);
    return found;
  };
  const kmeUrl = (kmeId: string): string => {
    const found = target.kmes.find((kme) => kme.id === kmeId);
    if (found === undefined) throw new Error(`check: no KME ${kmeId} in the target`);
    return found.url;
  };

  /** The request as sent: the KME's origin, and the path under its URL prefix and keys path. */
  function resolve(request: Omit<EtsiRequest, 'timeoutMs'>): Omit<EtsiRequest, 'timeoutMs'> {
    const route = routeOf(target, request.kmeUrl);
    if (route === null) return request;
    const path = request.path.startsWith(SPEC_KEYS_PATH) ? `${route.keys}${request.path.slice(SPEC_KEYS_PATH.length)}` : request.path;
    return { ...request, kmeUrl: route.origin, path: `${route.prefix}${path}` };
  }

  /** A finding goes to the session and, once per kind of problem, to the whole check. */
  function report(finding: Finding): void {
    findings.push(finding);
    context.noteFinding(finding);
  }

  async function send(plain: Omit<EtsiRequest, 'timeoutMs'>, meaning: Meaning = { op: 'raw' }, burst?: number): Promise<TranscriptEntry> {
    const remaining = context.deadlineAt - performance.now();
    if (remaining <= 0) throw new BudgetExhausted();
    const request = resolve(plain);
    const hung = (context.timeouts.get(request.kmeUrl) ?? 0) >= HANG_TIMEOUTS;
    const timeoutMs = Math.max(1, Math.min(target.limits.requestTimeoutMs, Math.ceil(remaining)));
    const response: EtsiResponse = hung
      ? { status: 0, failure: 'timeout', failureDetail: 'not sent: the KME stopped answering earlier in this check', contentType: '', text: '', json: undefined, elapsedMs: 0 }
      : await sendEtsi({ ...request, timeoutMs });
    const entry: TranscriptEntry = {
      id: transcript.length + 1,
      request: { ...request, timeoutMs },
      response,
      shown: redactKeys(response.text, context.hashMaterial),
      ...(burst === undefined ? {} : { burst }),
      meaning,
      receivedAtMs: performance.now(),
    };
    transcript.push(entry);
    if (hung) return entry;
    if (response.failure === 'timeout' && timeoutMs < target.limits.requestTimeoutMs) {
      // Cut by the deadline, not by the target: the budget is spent.
      throw new BudgetExhausted();
    }
    if (response.failure === 'timeout') {
      context.timeouts.set(request.kmeUrl, (context.timeouts.get(request.kmeUrl) ?? 0) + 1);
      const kmeId = target.kmes.find((kme) => new URL(kme.url).origin === request.kmeUrl)?.id ?? request.kmeUrl;
      if (!context.hangReported.has(request.kmeUrl)) {
        context.hangReported.add(request.kmeUrl);
        report({ kind: 'hang', message: `${kmeId} did not answer ${request.method} ${request.path} within ${timeoutMs} ms: the request was in flight when it stopped answering`, entry });
      }
      return entry;
    }
    context.timeouts.delete(request.kmeUrl);
    if (response.failure !== undefined) {
      report({ kind: 'transport', message: `${request.method} ${request.path}: ${response.failure} (${response.failureDetail ?? ''})`, entry });
    } else {
      if (response.status >= 500 && response.status !== 503) {
        violations.push({ ...violation('I13', `${request.method} ${request.path} answered ${response.status}`, { status: response.status, body: entry.shown.slice(0, 200) }), entries: [entry.id], replayable: true });
      }
      if (response.status !== 200 && !isErrorBody(response.json)) {
        report({ kind: 'format', message: `${request.method} ${request.path} answered ${response.status} with a body that is not an ETSI Error object (C41): ${entry.shown.slice(0, 80)}`, entry });
      }
    }
    return entry;
  }

  function judge(exchanges: ReadonlyArray<{ exchange: Exchange; entry: TranscriptEntry }>): void {
    // Concurrent exchanges linearize with successes first: a refusal that raced a success is no loss.
    const ordered = [...exchanges].sort((a, b) => Number(b.entry.response.status === 200) - Number(a.entry.response.status === 200) || a.entry.id - b.entry.id);
    for (const { exchange, entry } of ordered) {
      exchangeOf.set(exchange.id, { exchange, entry });
      for (const found of history.observe(exchange)) {
        const related = [found.evidence['firstExchange'], found.evidence['issuedIn'], found.evidence['refusedRequest'], found.evidence['firstRetrieval']]
          .filter((id): id is number => typeof id === 'number')
          .map((id) => exchangeOf.get(id)?.entry.id)
          .filter((id): id is number => id !== undefined);
        violations.push({ ...found, entries: [...new Set([...related, entry.id])].sort((a, b) => a - b), replayable: true });
      }
    }
  }

  const atMs = (): number => Math.round(performance.now() - startedAt);
  let bursts = 0;

  /** Keys delivered by enc_keys, with what an earlier check of the same target was delivered (I1 across checks). */
  function remember(entry: TranscriptEntry, observed: readonly ObservedKey[]): void {
    for (const key of observed) {
      const idHash = context.hashId(key.keyId);
      const materialHash = key.materialHash.slice(2);
      // Short keys collide by chance: only material of 64 bits or more is evidence of reuse.
      const material = key.sizeBits >= 64;
      context.delivered.ids.add(idHash);
      if (material) context.delivered.material.add(materialHash);
      const previous = context.previous;
      if (previous === null) continue;
      const sameId = previous.ids.has(idHash);
      const sameMaterial = material && previous.material.has(materialHash);
      if (sameId || sameMaterial) {
        const what = sameId && sameMaterial ? 'key ID and key material' : sameId ? 'key ID' : 'key material';
        violations.push({
          ...violation('I1', `enc_keys delivered a ${what} that an earlier check of this target was already delivered (key ${key.keyId})`, { keyId: key.keyId, material: `#${materialHash.slice(0, 8)}`, exchange: entry.id }),
          entries: [entry.id],
        });
      }
    }
  }

  function encExchange(entry: TranscriptEntry, master: string, slave: string, additional: readonly string[], expectedSizeBits: number | undefined): { exchange: Exchange; entry: TranscriptEntry } | null {
    if (entry.response.failure !== undefined) return null;
    const observed = keysOf(entry, context);
    for (const key of observed) keys.push({ keyId: key.keyId, master, slaves: [slave, ...additional], sizeBits: key.sizeBits });
    remember(entry, observed);
    return {
      entry,
      exchange: { op: 'enc', id: entry.id, atMs: atMs(), kmeId: sae(master).kme, callerSaeId: master, slaveSaeId: slave, additionalSlaveSaeIds: additional, expectedSizeBits, status: entry.response.status, keys: observed },
    };
  }

  async function keySize(master: string, slave: string): Promise<number | undefined> {
    if (!defaultSizes.has(`${master}>${slave}`)) await status(master, slave);
    return defaultSizes.get(`${master}>${slave}`);
  }

  async function status(master: string, slave: string): Promise<TranscriptEntry> {
    const entry = await send(statusRequest(master, slave), { op: 'status', master, slave });
    const size = (entry.response.json as { key_size?: unknown } | undefined)?.key_size;
    if (entry.response.status === 200 && typeof size === 'number') defaultSizes.set(`${master}>${slave}`, size);
    return entry;
  }

  const statusRequest = (master: string, slave: string): Omit<EtsiRequest, 'timeoutMs'> => ({ kmeUrl: kmeUrl(sae(master).kme), sae: sae(master), ...statusPath(slave) });
  const encRequest = (master: string, slave: string, request: EncShape, method: 'GET' | 'POST'): Omit<EtsiRequest, 'timeoutMs'> => ({ kmeUrl: kmeUrl(sae(master).kme), sae: sae(master), ...encPath(slave, request, method) });
  const decRequest = (caller: string, master: string, keyIds: readonly string[], kme: string, method: 'GET' | 'POST'): Omit<EtsiRequest, 'timeoutMs'> => ({ kmeUrl: kmeUrl(kme), sae: sae(caller), ...decPath(master, keyIds, method) });

  async function enc(master: string, slave: string, request: EncShape, method: 'GET' | 'POST' = 'POST'): Promise<TranscriptEntry> {
    const expected = request.size ?? (await keySize(master, slave));
    const entry = await send(encRequest(master, slave, request, method), { op: 'enc', master, slave, request, method });
    const judged = encExchange(entry, master, slave, request.additional ?? [], expected);
    if (judged !== null) judge([judged]);
    return entry;
  }

  const obliged = (caller: string, kmeId: string): boolean => target.decKeys === 'either-kme' || target.saes.find((candidate) => candidate.id === caller)?.kme === kmeId;

  function decExchange(entry: TranscriptEntry, caller: string, master: string, keyIds: readonly string[], kme: string): { exchange: Exchange; entry: TranscriptEntry } | null {
    if (entry.response.failure !== undefined) return null;
    return { entry, exchange: { op: 'dec', id: entry.id, atMs: atMs(), kmeId: kme, callerSaeId: caller, masterSaeId: master, keyIds, status: entry.response.status, keys: keysOf(entry, context), obliged: obliged(caller, kme) } };
  }

  async function dec(caller: string, master: string, keyIds: readonly string[], options: { kme?: string; method?: 'GET' | 'POST' } = {}): Promise<TranscriptEntry> {
    const kme = options.kme ?? sae(caller).kme;
    const method = options.method === 'GET' && keyIds.length === 1 ? 'GET' : 'POST';
    const entry = await send(decRequest(caller, master, keyIds, kme, method), { op: 'dec', caller, master, keyIds, kme, method });
    const judged = decExchange(entry, caller, master, keyIds, kme);
    if (judged !== null) judge([judged]);
    return entry;
  }

  return {
    target,
    context,
    transcript,
    violations,
    findings,
    keys,
    sae,
    kmeUrl,
    send,
    enc,
    dec,
    status,
    keySize,
    obliged,
    restarted(kmeId) {
      history.observe({ op: 'restart', id: transcript.length, atMs: atMs(), kmeId });
    },
    waitingKeys() {
      return history.pendingKeys().map((key) => ({ keyId: key.keyId, master: key.masterSaeId, waitingFor: key.waitingFor }));
    },
    async burst(requests) {
      for (const request of requests) if (request.kind === 'enc' && request.request.size === undefined) await keySize(request.master, request.slave);
      bursts += 1;
      const burst = bursts;
      const entries = await Promise.all(
        requests.map((request) => {
          if (request.kind === 'enc') return send(encRequest(request.master, request.slave, request.request, 'POST'), { op: 'enc', master: request.master, slave: request.slave, request: request.request, method: 'POST' }, burst);
          const kme = request.kme ?? sae(request.caller).kme;
          return send(decRequest(request.caller, request.master, request.keyIds, kme, 'POST'), { op: 'dec', caller: request.caller, master: request.master, keyIds: request.keyIds, kme, method: 'POST' }, burst);
        }),
      );
      const judged = requests.map((request, i) => {
        const entry = entries[i] as TranscriptEntry;
        return request.kind === 'enc'
          ? encExchange(entry, request.master, request.slave, request.request.additional ?? [], request.request.size ?? defaultSizes.get(`${request.master}>${request.slave}`))
          : decExchange(entry, request.caller, request.master, request.keyIds, request.kme ?? sae(request.caller).kme);
      });
      judge(judged.filter((item): item is { exchange: Exchange; entry: TranscriptEntry } => item !== null));
      return entries;
    },
  };
}

/** When a violation became visible: the answer of the last request it names came back (performance.now()). */
export function detectedAtMs(session: CheckSession, entries: readonly number[]): number {
  return Math.max(...entries.map((id) => session.transcript[id - 1]?.receivedAtMs ?? Number.NEGATIVE_INFINITY));
}

function isErrorBody(json: unknown): boolean {
  if (typeof json !== 'object' || json === null || Array.isArray(json)) return false;
  const { message, details } = json as { message?: unknown; details?: unknown };
  return typeof message === 'string' && (details === undefined || (Array.isArray(details) && details.every((d) => typeof d === 'object' && d !== null && !Array.isArray(d))));
}
